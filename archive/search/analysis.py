"""The search analyzer: stored text and queries to the terms every engine indexes.

One analyzer feeds the embedded engine and OpenSearch alike (DESIGN.md,
"Cantonese text, one analyzer for every engine"; issue 7 part 1), so both
find the same documents for the same query.

**Folding.** :func:`fold` is :func:`archive.text.normalise_for_search` (width,
case, OpenCC to one Traditional Hong Kong representative, 着/著) followed by
the search-only variant table ``data/variants.tsv`` (old printed forms such as
靑/青 and 淸/清 common in Dadian text, 鬥/鬭/闘, 妳/你 ...: only pairs that
the normaliser keeps apart) and by NFKC on the Kangxi radicals (U+2F00 to
U+2FDF; PDF and OCR text writes ⼈ for 人). Every step maps one character to
one character, so offsets into the folded text are offsets into the stored
text and hits can be highlighted in what the archive stores.

**Units and positions.** The folded text is read as *units*: a CJK character
(Han, kana, hangul; 〇 included), or a word of letters and digits (Latin,
Greek, Cyrillic ...). Everything else (punctuation, symbols, emoji) is
dropped. Each unit takes the next position; a run of dropped characters
between two units adds one extra position, so a phrase does not match
across a comma. Whitespace adds nothing: Chinese is written without spaces,
so a space or line break between two CJK characters (Whisper's pauses, a
Dadian column break) does not split a word. Positions are shared by all
fields, which lets an engine match a phrase whose terms lie in different
fields (``1938年``: a word then a unigram; OpenSearch ``field_masking_span``,
or one positional field with field-prefixed terms).

**Fields** (:class:`Field`), one term per token:

- ``cjk1``: every CJK character (unigrams), so a one-character query matches.
- ``cjk2``: every pair of neighbouring CJK characters (overlapping bigrams,
  at the position of the first). A query of two or more characters becomes
  its bigrams, so any substring matches, and a run of them at consecutive
  positions is an exact phrase. This is Lucene's ``CJKBigramFilter`` with
  ``outputUnigrams`` (unigrams and bigrams sharing positions), with the two
  kinds in separate fields so that ranking can weigh a bigram hit (a
  two-character word) above scattered single characters, and so that an
  engine without position lengths needs no special case. Lucene joins only
  characters that touch; this analyzer also joins across whitespace, as
  above.
- ``word``: Latin words and numbers, case-folded and ASCII-folded
  (``Café`` → ``cafe``, ``ß`` → ``ss``).
- ``jyutping``, ``jyutping_toneless``: the syllable of each CJK character,
  with tone (``gwong2``) and without (``gwong``), at the character's position;
  ``jyutping_word``: each word's syllables joined without tones (``gwongzau``),
  at the position of its first character. See :mod:`archive.search.jyutping`.

If the output changes for any input, raise :data:`ANALYZER_VERSION`;
:func:`analyzer_fingerprint` also covers the normaliser, the variant table
and the OpenCC and pycantonese versions, so an index can tell it is stale.
"""

from __future__ import annotations

import enum
import hashlib
import re
import unicodedata
from collections.abc import Sequence
from functools import cache, lru_cache, partial
from importlib import resources
from itertools import chain, compress, repeat
from operator import add, itemgetter, sub
from typing import NamedTuple

from archive.search.jyutping import run_words, to_hong_kong, toneless, word_syllables
from archive.text import NORMALISER_VERSION, fold_char

#: Raised whenever :func:`analyze` gives different tokens for some input.
ANALYZER_VERSION = 2


class Field(enum.StrEnum):
    """The indexed fields; every engine maps these names to its own."""

    CJK1 = "cjk1"
    CJK2 = "cjk2"
    WORD = "word"
    JYUTPING = "jyutping"
    JYUTPING_TONELESS = "jyutping_toneless"
    JYUTPING_WORD = "jyutping_word"


class Token(NamedTuple):
    """One indexed term.

    Attributes:
        field: the :class:`Field` it belongs to.
        term: the folded term (``廣州``, ``gwong2``, ``cafe``).
        position: its position, shared across fields (see the module docstring).
        start: offset of its first character in the text given to :func:`analyze`.
        end: offset just past its last character, so ``text[start:end]`` is
            what to highlight.
    """

    field: Field
    term: str
    position: int
    start: int
    end: int


class Chunk(NamedTuple):
    """A run of CJK characters that bigram together, or one word.

    Attributes:
        is_cjk: True for a CJK run, False for a word.
        text: the folded CJK characters (spaces left out), or the folded word.
        position: the position of the first unit; a CJK run's characters take
            consecutive positions from here.
        spans: ``(start, end)`` offsets into the original text, one per CJK
            character, or one for the word.
    """

    is_cjk: bool
    text: str
    position: int
    spans: tuple[tuple[int, int], ...]

    @property
    def start(self) -> int:
        """Offset of the chunk's first character."""
        return self.spans[0][0]

    @property
    def end(self) -> int:
        """Offset just past the chunk's last character."""
        return self.spans[-1][1]


# ---------------------------------------------------------------------------
# Folding


def load_table(name: str) -> list[list[str]]:
    """Rows of a tab-separated file in ``data/``: no comments, no header line."""
    text = resources.files("archive.search").joinpath("data", name).read_text("utf-8")
    rows = []
    lines = (line for line in text.splitlines() if line and not line.startswith("#"))
    next(lines, None)  # the header
    for line in lines:
        rows.append(line.split("\t"))
    return rows


def _variants_bytes() -> bytes:
    path = resources.files("archive.search").joinpath("data", "variants.tsv")
    return path.read_bytes()


@cache
def search_variants() -> dict[str, str]:
    """The variant table, folded: folded variant → folded form (loaded once).

    Returns:
        A mapping of single characters; a row whose two sides already fold
        together, or that is not one character each side, is left out.
    """
    table: dict[str, str] = {}
    for row in load_table("variants.tsv"):
        if len(row) < 2:
            continue
        variant, form = (fold_char(side) if len(side) == 1 else "" for side in row[:2])
        if variant and form and variant != form:
            table[variant] = form
    # Follow chains (a form that is itself a variant) to their end.
    for variant, form in table.items():
        seen = {variant}
        while form in table and form not in seen:
            seen.add(form)
            form = table[form]
        table[variant] = form
    return table


def _fold_one(char: str) -> str:
    code = ord(char)
    if 0x2F00 <= code <= 0x2FDF:  # Kangxi radicals: ⼈ → 人
        normal = unicodedata.normalize("NFKC", char)
        if len(normal) == 1:
            char = normal
    folded = fold_char(char)
    return search_variants().get(folded, folded)


class _SearchFoldTable(dict):
    """``str.translate`` table filled on demand: each code point is folded once."""

    def __missing__(self, code: int) -> str:
        folded = _fold_one(chr(code))
        self[code] = folded
        return folded


_FOLD = _SearchFoldTable()


def fold(text: str) -> str:
    """Fold text for search: the shared normaliser, then the search-only variants.

    Args:
        text: any text.

    Returns:
        A string of the same length, character ``i`` being the fold of input
        character ``i``.
    """
    return text.translate(_FOLD)


# ---------------------------------------------------------------------------
# Character classes

#: One letter per character class, so that a whole text is classified with one
#: ``str.translate`` and its units found with one regular expression.
_CJK, _WORD, _MARK, _SPACE, _OTHER = "c", "w", "m", "s", "o"


def _classify(char: str) -> str:
    code = ord(char)
    category = unicodedata.category(char)
    if category[0] == "M":
        return _MARK
    if code >= 0x2E80 and category in ("Lo", "Lm", "Nl"):
        return _CJK
    if char.isalnum():
        return _WORD
    # Invisible format characters (zero-width space, joiners) separate nothing.
    if char.isspace() or category == "Cf":
        return _SPACE
    return _OTHER


class _ClassTable(dict):
    """``str.translate`` table: code point → its class letter, filled on demand."""

    def __missing__(self, code: int) -> str:
        kind = _classify(chr(code))
        self[code] = kind
        return kind


_CLASSES = _ClassTable()

#: A CJK run (characters with their marks, spaces allowed between them), a
#: word (letters, digits and marks), or a stretch of dropped characters.
_UNIT = re.compile(r"(cm*(?:s*cm*)*)|(w[wm]*)|([om]+)")
_CJK_CHAR = re.compile(r"cm*")

#: ASCII folding of letters beyond what NFKD and mark stripping give (as
#: Lucene's ASCIIFoldingFilter does for these).
_ASCII_EXTRA = {"æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l", "þ": "th", "ð": "d"}


def _ascii_fold(char: str) -> str:
    if char.isascii():
        return char
    lowered = char.casefold()
    if lowered in _ASCII_EXTRA:
        return _ASCII_EXTRA[lowered]
    decomposed = unicodedata.normalize("NFKD", lowered)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    if stripped and stripped.isascii() and stripped.isalnum():
        return stripped.lower()
    # Combining marks inside a word are dropped ("e" + U+0301 is "e").
    return "" if unicodedata.combining(char) else lowered


class _AsciiTable(dict):
    def __missing__(self, code: int) -> str:
        folded = _ascii_fold(chr(code))
        self[code] = folded
        return folded


_ASCII = _AsciiTable()


# ---------------------------------------------------------------------------
# Tokenising


def chunks(text: str, *, folded: str | None = None) -> list[Chunk]:
    """Split text into CJK runs and words, with positions and original offsets.

    Args:
        text: the text as stored (or as typed).
        folded: ``fold(text)`` if the caller already has it.

    Returns:
        The chunks in order of position.
    """
    if folded is None:
        folded = fold(text)
    classes = folded.translate(_CLASSES)
    result: list[Chunk] = []
    position = 0
    gap = False  # dropped characters since the last unit
    for match in _UNIT.finditer(classes):
        start, end = match.span()
        if match.lastindex == 3:
            gap = True
            continue
        if gap and position:
            position += 1
        gap = False
        if match.lastindex == 1:
            if classes.count("c", start, end) == end - start:  # the usual case
                run = folded[start:end]
                spans = tuple(
                    zip(range(start, end), range(start + 1, end + 1), strict=True)
                )
            else:
                spans = tuple(m.span() for m in _CJK_CHAR.finditer(classes, start, end))
                run = "".join([folded[i] for i, _ in spans])
            result.append(Chunk(True, run, position, spans))
            position += len(spans)
        else:
            word = folded[start:end].translate(_ASCII)
            if word:
                result.append(Chunk(False, word, position, ((start, end),)))
                position += 1
    return result


#: A one-letter code for each field, for an engine that keeps every field's
#: terms in one positional field (the embedded engine: ``2廣州``, ``jgwong2``).
LETTER: dict[Field, str] = {
    Field.CJK1: "1",
    Field.CJK2: "2",
    Field.WORD: "w",
    Field.JYUTPING: "j",
    Field.JYUTPING_TONELESS: "t",
    Field.JYUTPING_WORD: "J",
}


#: The letter of a pair of neighbouring toned syllables joined (``pgwong2zau1``),
#: which :func:`columns` gives in place of the toneless syllables.
PAIR_LETTER = "p"


class Columns(NamedTuple):
    """The tokens of a text as parallel lists (what :func:`columns` gives).

    Token ``k`` is ``(fields[k], terms[k], positions[k], starts[k], ends[k])``.
    Lettered columns (:func:`columns`, for indexing) have only ``terms``, each
    starting with its field's :data:`LETTER`, and ``positions``; ``fields``,
    ``starts`` and ``ends`` are empty (an index needs no offsets: hits are
    highlighted by analysing the stored text again). Building lists instead of
    one tuple per token is what makes indexing cheap: most of the work is done
    in C loops.
    """

    fields: list[Field]
    terms: list[str]
    positions: list[int]
    starts: list[int]
    ends: list[int]


class _Reading(NamedTuple):
    """One word's Jyutping, one entry per character (None: no reading)."""

    toned: tuple[str | None, ...]
    bare: tuple[str | None, ...]
    joined: str  # the toneless syllables joined, for a word of two or more


@lru_cache(maxsize=200_000)
def _reading(word: str) -> _Reading:
    """The Jyutping of one word (Hong Kong Traditional), character by character."""
    toned = tuple(word_syllables(word))
    bare = tuple(None if syllable is None else toneless(syllable) for syllable in toned)
    joined = "".join(bare) if len(toned) > 1 and None not in toned else ""  # type: ignore[arg-type]
    return _Reading(toned, bare, joined)


#: :func:`sequences`: the kinds of term, a position with no term of a kind, and
#: what joins a sequence's terms (the analyzer drops control characters, and
#: every term is its letter and at least one character more, so no term is
#: GAP or holds SEPARATOR).
SEQUENCE_KINDS = ("1", "2", "j", "p")
GAP = "_"
SEPARATOR = "\x1f"

_make_token = partial(tuple.__new__, Token)  # Token from a tuple of its fields


def _pad(slots: list[str], position: int) -> None:
    """Fill ``slots`` with gaps up to ``position`` (never back over a term)."""
    if position < len(slots):
        raise ValueError(f"two terms of one kind at position {position}")
    slots += repeat(GAP, position - len(slots))


def _lettered_readings(
    toned: list[str | None], at: list[int]
) -> tuple[list[str], list[str], list[int]]:
    """The toned syllables (lettered), each pair of neighbours joined (lettered)
    and the pairs' positions; ``at`` holds the rising positions of the
    characters with a reading."""
    syllables = list(compress(toned, toned))
    adjacent = list(map((1).__eq__, map(sub, at[1:], at)))
    pairs = compress(map(add, syllables, syllables[1:]), adjacent)
    return (
        list(map(add, repeat(LETTER[Field.JYUTPING]), syllables)),
        list(map(add, repeat(PAIR_LETTER), pairs)),
        list(compress(at, adjacent)),
    )


def _place_readings(
    slots: tuple[list[str], ...], toned: list[str | None], at: list[int]
) -> None:
    """Toned syllables and pairs of neighbours into their sequences (see :func:`sequences`)."""
    syllables, pairs, paired = _lettered_readings(toned, at)
    held = slots[2]
    _pad(held, at[-1] + 1)
    any(map(held.__setitem__, at, syllables))
    if paired:
        held = slots[3]
        _pad(held, paired[-1] + 1)
        any(map(held.__setitem__, paired, pairs))


def _columns(
    text: str,
    *,
    cjk: bool,
    jyutping: bool,
    lettered: bool,
    slots: tuple[list[str], ...] | None = None,
) -> Columns:
    fields: list[Field] = []
    terms: list[str] = []
    positions: list[int] = []
    starts_out: list[int] = []
    ends_out: list[int] = []
    offsets = not lettered
    letter1, letter2, letter_word = (
        LETTER[Field.CJK1],
        LETTER[Field.CJK2],
        LETTER[Field.WORD],
    )
    # Jyutping reads the text in Hong Kong Traditional, converted phrase by
    # phrase in one call (see archive.search.jyutping); it is read after the
    # loop, for all the CJK characters at once.
    hong_kong = to_hong_kong(text) if jyutping else None
    runs: list[str] = []  # each CJK run, as Jyutping reads it
    char_positions: list[int] = []  # every CJK character's position ...
    char_starts: list[int] = []  # ... and offsets (with offsets only)
    char_ends: list[int] = []
    for chunk in chunks(text):
        position = chunk.position
        spans = chunk.spans
        if not chunk.is_cjk:
            if cjk:
                start, end = spans[0]
                if slots is not None:
                    _pad(slots[0], position)
                    slots[0].append(letter_word + chunk.text)
                    continue
                if lettered:
                    terms.append(letter_word + chunk.text)
                else:
                    fields.append(Field.WORD)
                    terms.append(chunk.text)
                    starts_out.append(start)
                    ends_out.append(end)
                positions.append(position)
            continue
        folded = chunk.text
        size = len(spans)
        first, last = spans[0][0], spans[-1][1]
        contiguous = last - first == size  # the usual case
        if contiguous:
            starts: Sequence[int] = range(first, last)
            ends: Sequence[int] = range(first + 1, last + 1)
        else:
            starts = [start for start, _ in spans]
            ends = [end for _, end in spans]
        if cjk:
            # Unigrams, then bigrams (at the position of their first character).
            bigrams = map(add, folded, folded[1:])
            if slots is not None:
                one, two = slots[0], slots[1]
                _pad(one, position)
                one += map(add, repeat(letter1, size), folded)
                if size > 1:
                    _pad(two, position)
                    two += map(add, repeat(letter2, size - 1), bigrams)
            elif lettered:
                terms += map(add, repeat(letter1, size), folded)
                terms += map(add, repeat(letter2, size - 1), bigrams)
            else:
                fields += repeat(Field.CJK1, size)
                fields += repeat(Field.CJK2, size - 1)
                terms += folded
                terms += bigrams
                starts_out += starts
                starts_out += starts[:-1]
                ends_out += ends
                ends_out += ends[1:]
            if slots is None:
                positions += range(position, position + size)
                positions += range(position, position + size - 1)
        if jyutping:
            if hong_kong is None:
                run = "".join([text[start] for start in starts])
                run = to_hong_kong(run) or run
            elif contiguous:
                run = hong_kong[first:last]
            else:
                run = "".join([hong_kong[start] for start in starts])
            runs.append(run)
            char_positions += range(position, position + size)
            if offsets:
                char_starts += starts
                char_ends += ends
    if runs:
        # The readings of every word, then of every character, in C loops.
        words = list(map(itemgetter(1), chain.from_iterable(map(run_words, runs))))
        readings = list(map(_reading, words))
        toned = list(chain.from_iterable(map(itemgetter(0), readings)))
        read = list(compress(range(len(toned)), toned))  # characters with a reading
        count = len(read)
        at = list(map(char_positions.__getitem__, read))
        if slots is not None:
            if count:
                _place_readings(slots, toned, at)
        elif lettered:
            # Toned syllables, and each pair of neighbours joined (no toneless
            # syllables: see columns()).
            syllables, pairs, paired = _lettered_readings(toned, at)
            terms += syllables
            positions += at
            terms += pairs
            positions += paired
        else:
            bare = chain.from_iterable(map(itemgetter(1), readings))
            fields += repeat(Field.JYUTPING, count)
            fields += repeat(Field.JYUTPING_TONELESS, count)
            terms += compress(toned, toned)
            terms += compress(bare, toned)
            positions += at
            positions += at
            at = list(map(char_starts.__getitem__, read))
            starts_out += at
            starts_out += at
            at = list(map(char_ends.__getitem__, read))
            ends_out += at
            ends_out += at
        # Words of two syllables or more, joined without tones.
        letter = LETTER[Field.JYUTPING_WORD]
        index = 0
        joined: list[str] = []
        for word, reading in zip(words, readings, strict=True):
            if reading.joined:
                if slots is not None:
                    joined.append(letter + reading.joined)
                    index += len(word)
                    continue
                if lettered:
                    terms.append(letter + reading.joined)
                else:
                    fields.append(Field.JYUTPING_WORD)
                    terms.append(reading.joined)
                    starts_out.append(char_starts[index])
                    ends_out.append(char_ends[index + len(word) - 1])
                positions.append(char_positions[index])
            index += len(word)
        if slots is not None and joined:
            # Never in a phrase: after the characters, weighed by their length.
            slots[0].extend((GAP, *joined))
    return Columns(fields, terms, positions, starts_out, ends_out)


def columns(text: str) -> Columns:
    """The terms of a document's text for an index of lettered terms (the embedded engine).

    :func:`analyze`'s terms and positions, in the same order, each prefixed
    with its field's :data:`LETTER`, without offsets (see :class:`Columns`),
    with one difference in the Jyutping: each pair of neighbouring toned
    syllables is joined into one term (:data:`PAIR_LETTER`, ``pgwong2zau1``, at
    the position of the first), and the toneless syllables are left out, so
    the number of terms stays the same. A query of syllables is then a phrase
    of pairs, and two syllables a single term, instead of a phrase over two of
    the commonest terms of the index; a toneless syllable is matched by a
    regular expression over the toned ones (``gwong[1-6]``).
    """
    return _columns(text, cjk=True, jyutping=True, lettered=True)


def sequences(text: str) -> tuple[str, ...] | None:
    """:func:`columns`' terms as one string per kind, for positional fields.

    Per kind of :data:`SEQUENCE_KINDS` (unigrams with Latin words, bigrams,
    toned syllables, pairs), its terms joined by :data:`SEPARATOR`, the term
    at each position or :data:`GAP`; words' joined readings (``Jgwongzau``,
    never in a phrase) follow the first kind's terms after a gap. An index
    splits the strings itself (the embedded engine: one field per kind),
    which costs far less than a token object per term. None for a text with
    no terms.
    """
    slots: tuple[list[str], ...] = ([], [], [], [])
    _columns(text, cjk=True, jyutping=True, lettered=True, slots=slots)
    if not slots[0]:
        return None
    return tuple(map(SEPARATOR.join, slots))


def _tokens(text: str, *, cjk: bool, jyutping: bool) -> list[Token]:
    result = _columns(text, cjk=cjk, jyutping=jyutping, lettered=False)
    return list(map(_make_token, zip(*result, strict=True)))


def analyze_columns(text: str, *, jyutping: bool = True) -> Columns:
    """:func:`analyze`'s tokens as parallel lists (:class:`Columns`), offsets
    included: for a caller that looks for a few terms among many, without
    building a tuple for each token."""
    return _columns(text, cjk=True, jyutping=jyutping, lettered=False)


def analyze(text: str, *, jyutping: bool = True) -> list[Token]:
    """The tokens of a text, for indexing a document or matching a query.

    Args:
        text: the text as stored (or as typed); never modified.
        jyutping: include the Jyutping fields (documents); queries written in
            characters do not need them.

    Returns:
        The tokens, each field's in order of position (words, unigrams and
        bigrams chunk by chunk, then the Jyutping of the whole text);
        ``text[token.start:token.end]`` is the stored text each stands for.
    """
    return _tokens(text, cjk=True, jyutping=jyutping)


def jyutping_terms(text: str) -> list[Token]:
    """Only the Jyutping tokens of a text (the three ``jyutping*`` fields).

    廣州 gives ``gwong2``, ``zau1`` (field ``jyutping``), ``gwong``, ``zau``
    (``jyutping_toneless``) and ``gwongzau`` (``jyutping_word``), with the
    positions and offsets :func:`analyze` gives them.

    Args:
        text: the text as stored.

    Returns:
        The tokens, each field's in order of position.
    """
    return _tokens(text, cjk=False, jyutping=True)


@cache
def analyzer_fingerprint() -> str:
    """What an index built now depends on; a different value means reindex.

    Returns:
        A short string naming the analyzer and normaliser versions, a hash of
        the variant table and the OpenCC and pycantonese versions.
    """
    from importlib.metadata import PackageNotFoundError, version

    def package(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "?"

    variants = hashlib.sha256(_variants_bytes()).hexdigest()[:12]
    return (
        f"analyzer={ANALYZER_VERSION};normaliser={NORMALISER_VERSION};"
        f"variants={variants};opencc={package('OpenCC')};"
        f"pycantonese={package('pycantonese')}"
    )
