"""The search box's query language, parsed into a structure every engine can run.

Issue 7 part 1. What a person may type (all of it may be mixed, e.g.
``茶樓 -飲茶 kind:oral_history "一九三八"``):

- **Terms**, separated by spaces, all required (implicit AND). A run of CJK
  characters must match all its bigrams (one character: its unigram), so
  西關茶樓 finds the four characters together or, less likely, its bigrams
  apart; engines should rank the exact run first (phrase boost with the
  same terms). Latin words and numbers match words.
- **Aliases.** CJK terms are expanded with :mod:`archive.search.aliases`
  (我哋 → 我哋 OR 我們), so either register finds both.
- **Jyutping.** Consecutive Latin words that are all Jyutping syllables
  (``gwong2 zau1``, ``gwong zau``, ``gwongzau``, ``gwong2zau1``) also match
  the Jyutping fields, as a phrase of syllables (toned where a tone was
  typed) and, when no tone was typed, as the joined word ``gwongzau``. The
  words still match as words too, because ``hong kong`` and ``man`` are
  valid syllables and valid English. A lone toneless syllable (``man``,
  ``sin``) is taken as a word only: as Jyutping it would match nearly
  every document.
- **Phrases** in ``"..."``, ``“...”``, ``「...」`` or ``『...』``: an exact run,
  without alias expansion (quotes ask for these very words). Spaces inside
  are ignored between CJK characters, so ``"西關 茶樓"`` is the run 西關茶樓.
- **Exclusion**: ``-term`` or ``-"a phrase"`` (or ``-kind:...``). Excluded
  terms are not alias-expanded: an exclusion widened by 係/是 would silently
  remove most Standard Written Chinese documents. Jyutping is still
  recognised (``-gwongzau`` excludes 廣州).
- **Filters**: ``kind:``, ``place:``, ``theme:``, ``dialect:``,
  ``collection:``, ``decade:``, with the value quoted if it has spaces
  (``place:"西關 荔灣"``). Values are folded like text (广州 = 廣州, case);
  ``decade:`` takes a decade (1930s, 1930年代, 一九三〇年代) or a year in it
  (1938), read by :func:`archive.dates.parse_date`, and gives ``"1930"``.
  Several values of one field mean any of them; different fields must all
  hold.

:func:`parse` never raises: whatever it cannot use it reports in
:attr:`Query.warnings` (codes in :data:`WARNING_CODES`, for the view to
translate) and carries on. Input beyond :data:`MAX_QUERY_CHARS` characters
is not read.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from itertools import islice, product

from archive.dates import parse_date_or_none
from archive.search.aliases import alias_pieces
from archive.search.analysis import Chunk, Field, chunks, fold
from archive.search.jyutping import MAX_SEGMENTATIONS, parse_syllables, segment_words

logger = logging.getLogger(__name__)

#: Field filters the query language knows; any other ``name:value`` is text.
FILTER_FIELDS = ("kind", "place", "theme", "dialect", "collection", "decade")

#: Only this many characters of a query are read (a search box, not a document).
MAX_QUERY_CHARS = 500

#: At most this many clauses (required, phrases and exclusions together).
MAX_CLAUSES = 32

#: Opening quote → closing quote (full-width ＂ is folded to ").
QUOTES = {'"': '"', "“": "”", "「": "」", "『": "』"}

#: The warnings :func:`parse` may give, and what each means.
WARNING_CODES = {
    "truncated": "the query is longer than MAX_QUERY_CHARS; the rest was not read",
    "unclosed_quote": "a quote was not closed; the phrase or value runs to the end",
    "empty_phrase": "a quoted phrase has nothing searchable in it",
    "lone_minus": "a minus sign with nothing after it",
    "empty_filter": "a filter such as kind: has no value",
    "invalid_decade": "a decade: value that is not a decade or year",
    "ignored": "a term with nothing searchable in it (punctuation, emoji)",
    "too_many_terms": "more than MAX_CLAUSES terms; the rest were left out",
    "internal_error": "the parser failed (logged); the query finds nothing",
}

_FILTER_PREFIX = re.compile(r"(" + "|".join(FILTER_FIELDS) + r"):")
_SPACES = re.compile(r"\s+")


class Source:
    """Where an :class:`Alternative` comes from."""

    LITERAL = "literal"
    ALIAS = "alias"
    JYUTPING = "jyutping"
    #: The run's dictionary words, apart (``_words_apart``).
    WORDS = "words"


@dataclass(frozen=True, slots=True)
class Term:
    """One term to look up in one field.

    Attributes:
        field: the analyzer's field (:class:`archive.search.analysis.Field`).
        text: the folded term.
        offset: its position relative to the alternative's first term (positions
            are shared by all fields, so a phrase may mix fields).
    """

    field: Field
    text: str
    offset: int


@dataclass(frozen=True, slots=True)
class Alternative:
    """One way a clause can match: all its terms, optionally as an exact run.

    Attributes:
        terms: every term must occur in the document.
        phrase: the terms must also sit at their relative offsets (an exact run).
        source: :class:`Source`: the typed form, an alias or a Jyutping reading.
        text: the form this alternative stands for (``我們``, ``gwong2 zau1``),
            for explaining a hit or suggesting a query.
    """

    terms: tuple[Term, ...]
    phrase: bool
    source: str
    text: str


@dataclass(frozen=True, slots=True)
class Clause:
    """One required (or excluded) thing: it matches if any alternative matches.

    Attributes:
        text: the folded query text it comes from.
        alternatives: the first is the text as typed; the others are alias and
            Jyutping readings of it.
    """

    text: str
    alternatives: tuple[Alternative, ...]


@dataclass(frozen=True, slots=True)
class Filter:
    """A field filter such as ``kind:oral_history``.

    Attributes:
        field: one of :data:`FILTER_FIELDS`.
        value: the folded value (``decade``: the first year, e.g. ``"1930"``).
        negated: written with a minus (``-kind:...``): exclude these.
        raw: the value as typed.
    """

    field: str
    value: str
    negated: bool
    raw: str


@dataclass(frozen=True, slots=True)
class ParseWarning:
    """Something in the query that could not be used as written.

    Attributes:
        code: a key of :data:`WARNING_CODES`.
        text: the fragment concerned, as typed.
        position: its offset in the query.
    """

    code: str
    text: str
    position: int


@dataclass(frozen=True)
class Query:
    """A parsed query: what must match, as phrases, must not match, and filters.

    Attributes:
        raw: the query as typed.
        must: required clauses (implicit AND), with alias and Jyutping alternatives.
        phrases: required quoted phrases (exact runs).
        excluded: clauses no hit may match (``-term``, ``-"phrase"``).
        filters: field filters, negated ones included.
        warnings: what could not be used as written.
    """

    raw: str
    must: tuple[Clause, ...] = ()
    phrases: tuple[Clause, ...] = ()
    excluded: tuple[Clause, ...] = ()
    filters: tuple[Filter, ...] = ()
    warnings: tuple[ParseWarning, ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        """Whether nothing at all was asked (no terms, phrases, exclusions or filters)."""
        return not (self.must or self.phrases or self.excluded or self.filters)

    def filter_values(self, name: str, *, negated: bool = False) -> tuple[str, ...]:
        """The values of one filter field (any of them may match), in query order."""
        return tuple(
            f.value for f in self.filters if f.field == name and f.negated == negated
        )

    @property
    def warning_codes(self) -> tuple[str, ...]:
        """The codes of :attr:`warnings`, in order."""
        return tuple(warning.code for warning in self.warnings)


# ---------------------------------------------------------------------------
# Turning analysed text into terms


def _chunk_terms(chunk: Chunk, base: int) -> list[Term]:
    offset = chunk.position - base
    if not chunk.is_cjk:
        return [Term(Field.WORD, chunk.text, offset)]
    text = chunk.text
    if len(text) == 1:
        return [Term(Field.CJK1, text, offset)]
    return [Term(Field.CJK2, text[i : i + 2], offset + i) for i in range(len(text) - 1)]


def _terms(parts: list[Chunk]) -> tuple[Term, ...]:
    """The terms of analysed chunks, offsets relative to the first chunk."""
    if not parts:
        return ()
    base = parts[0].position
    return tuple(term for chunk in parts for term in _chunk_terms(chunk, base))


def _cjk_text_terms(text: str) -> tuple[Term, ...]:
    """Terms of a folded CJK string (an alias form or part of a run)."""
    return _terms(chunks(text, folded=text))


def _literal(parts: list[Chunk], text: str, *, phrase: bool) -> Alternative:
    terms = _terms(parts)
    return Alternative(terms, phrase and len(terms) > 1, Source.LITERAL, text)


# ---------------------------------------------------------------------------
# Jyutping


def _readings(words: list[str]) -> list[tuple[str, ...]]:
    """Syllable readings of consecutive words, the shortest few (empty if any is not Jyutping)."""
    readings: list[tuple[str, ...]] = [()]
    for word in words:
        splits = parse_syllables(word)
        if not splits:
            return []
        readings = [reading + split for reading in readings for split in splits]
        readings.sort(key=len)
        del readings[MAX_SEGMENTATIONS:]
    return readings


def _is_jyutping(words: list[str], readings: list[tuple[str, ...]]) -> bool:
    """Whether words with these readings should be searched as Jyutping."""
    if not readings:
        return False
    toned = any(char.isdigit() for word in words for char in word)
    return toned or len(readings[0]) >= 2


def _jyutping_alternatives(
    words: list[str], readings: list[tuple[str, ...]]
) -> list[Alternative]:
    alternatives = []
    for reading in readings:
        terms = tuple(
            Term(
                Field.JYUTPING if syllable[-1].isdigit() else Field.JYUTPING_TONELESS,
                syllable,
                offset,
            )
            for offset, syllable in enumerate(reading)
        )
        alternatives.append(
            Alternative(terms, len(terms) > 1, Source.JYUTPING, " ".join(reading))
        )
    toned = any(char.isdigit() for word in words for char in word)
    if not toned and len(readings[0]) > 1:
        joined = "".join(words)
        alternatives.append(
            Alternative(
                (Term(Field.JYUTPING_WORD, joined, 0),), False, Source.JYUTPING, joined
            )
        )
    return alternatives


def _word_clauses(words: list[Chunk]) -> list[Clause]:
    """Clauses for a stretch of consecutive words: Jyutping runs and plain words."""
    clauses: list[Clause] = []
    texts = [chunk.text for chunk in words]
    index = 0
    while index < len(words):
        # The longest run from here whose words are all Jyutping syllables.
        end = index
        while end < len(words) and parse_syllables(texts[end]):
            end += 1
        run = texts[index:end]
        readings = _readings(run)
        if end > index and _is_jyutping(run, readings):
            text = " ".join(run)
            alternatives = [_literal(words[index:end], text, phrase=False)]
            alternatives += _jyutping_alternatives(run, readings)
            clauses.append(Clause(text, tuple(alternatives)))
            index = end
            continue
        # Not Jyutping (or a lone toneless syllable): a plain word.
        word = words[index]
        clauses.append(Clause(word.text, (_literal([word], word.text, phrase=False),)))
        index += 1
    return clauses


# ---------------------------------------------------------------------------
# Clauses from the pieces of a query


#: At most this many alias combinations of one CJK run.
MAX_ALIAS_FORMS = 16


def _words_apart(text: str) -> Alternative | None:
    """The run's dictionary words, each required but not next to each other.

    蝦餃燒賣 also finds 蝦餃、燒賣 and 西關茶樓 finds 西關嘅茶樓; neighbouring
    single characters stay together. None when the run is one word.
    """
    groups: list[tuple[str, bool]] = []
    for word in segment_words(text):
        if groups and len(word) == 1 and groups[-1][1]:
            groups[-1] = (groups[-1][0] + word, True)
        else:
            groups.append((word, len(word) == 1))
    words = [word for word, _single in groups]
    if len(words) < 2:
        return None
    terms: list[Term] = []
    offset = 0
    for word in words:
        if len(word) == 1:
            terms.append(Term(Field.CJK1, word, offset))
        else:
            terms += [
                Term(Field.CJK2, word[i : i + 2], offset + i)
                for i in range(len(word) - 1)
            ]
        offset += len(word)
    return Alternative(tuple(terms), False, Source.WORDS, " ".join(words))


def _cjk_clauses(chunk: Chunk) -> list[Clause]:
    """One required clause for a CJK run: as typed, its alias forms, its words apart.

    The alias table's forms are combined over the whole run (佢哋好多 →
    他們好多 ...; at most ``MAX_ALIAS_FORMS``), so every alternative still
    needs the run's pieces side by side. A run without aliases also matches
    its dictionary words apart (ranked below the exact run).
    """
    pieces = alias_pieces(chunk.text)
    combinations = islice(product(*(piece.forms for piece in pieces)), MAX_ALIAS_FORMS)
    alternatives: list[Alternative] = []
    for number, forms in enumerate(combinations):
        text = "".join(forms)
        terms = _cjk_text_terms(text)
        if terms:
            source = Source.LITERAL if number == 0 else Source.ALIAS
            alternatives.append(Alternative(terms, False, source, text))
    if len(alternatives) == 1:
        apart = _words_apart(chunk.text)
        if apart is not None:
            alternatives.append(apart)
    return [Clause(chunk.text, tuple(alternatives))] if alternatives else []


def _required_clauses(parts: list[Chunk]) -> list[Clause]:
    """Clauses for consecutive bare terms: CJK runs, words and Jyutping runs."""
    clauses: list[Clause] = []
    words: list[Chunk] = []
    for chunk in parts:
        if chunk.is_cjk:
            clauses += _word_clauses(words)
            words = []
            clauses += _cjk_clauses(chunk)
        else:
            words.append(chunk)
    clauses += _word_clauses(words)
    return clauses


def _whole_clause(parts: list[Chunk], text: str, *, phrase: bool) -> Clause:
    """One clause for a phrase or an excluded term: literal, plus Jyutping if all words."""
    alternatives = [_literal(parts, text, phrase=phrase)]
    if parts and not any(chunk.is_cjk for chunk in parts):
        words = [chunk.text for chunk in parts]
        readings = _readings(words)
        if _is_jyutping(words, readings):
            alternatives += _jyutping_alternatives(words, readings)
    return Clause(text, tuple(alternatives))


def _decade(value: str) -> str | None:
    parsed = parse_date_or_none(value)
    if parsed is None or parsed.year_from // 10 != parsed.year_to // 10:
        return None
    return str(parsed.year_from // 10 * 10)


# ---------------------------------------------------------------------------
# The parser


class _Parser:
    def __init__(self, raw: str) -> None:
        self.raw = raw
        self.text = raw[:MAX_QUERY_CHARS]
        self.folded = fold(self.text)
        self.must: list[Clause] = []
        self.phrases: list[Clause] = []
        self.excluded: list[Clause] = []
        self.filters: list[Filter] = []
        self.warnings: list[ParseWarning] = []
        self.bare: list[
            Chunk
        ] = []  # consecutive bare terms not yet turned into clauses
        if len(raw) > MAX_QUERY_CHARS:
            self.warn("truncated", raw[MAX_QUERY_CHARS : MAX_QUERY_CHARS + 20], 0)

    def warn(self, code: str, text: str, position: int) -> None:
        self.warnings.append(ParseWarning(code, text, position))

    def chunks_of(self, start: int, end: int) -> list[Chunk]:
        return chunks(self.text[start:end], folded=self.folded[start:end])

    def flush_bare(self) -> None:
        if self.bare:
            self.must += _required_clauses(self.bare)
            self.bare = []

    def quoted(self, opening: int) -> tuple[int, int, int]:
        """(start, end) of the quoted text opening at ``opening``, and where to go on."""
        closing = self.folded.find(QUOTES[self.folded[opening]], opening + 1)
        if closing < 0:
            self.warn("unclosed_quote", self.text[opening : opening + 20], opening)
            return opening + 1, len(self.folded), len(self.folded)
        return opening + 1, closing, closing + 1

    def run(self) -> Query:
        folded = self.folded
        size = len(folded)
        index = 0
        while index < size:
            char = folded[index]
            if char.isspace():
                index += 1
                continue
            start = index
            negated = False
            if char == "-":
                while index < size and folded[index] == "-":
                    index += 1
                if index == size or folded[index].isspace():
                    self.warn("lone_minus", self.text[start:index], start)
                    continue
                negated = True
                char = folded[index]
            if char in QUOTES:
                begin, end, index = self.quoted(index)
                self.phrase(begin, end, negated=negated, position=start)
                continue
            end = index
            while (
                end < size and not folded[end].isspace() and folded[end] not in QUOTES
            ):
                end += 1
            match = _FILTER_PREFIX.match(folded, index, end)
            if match:
                index = self.filter(match, end, negated=negated)
                continue
            self.term(index, end, negated=negated, position=start)
            index = end
        self.flush_bare()
        return self.result()

    def phrase(self, begin: int, end: int, *, negated: bool, position: int) -> None:
        self.flush_bare()
        parts = self.chunks_of(begin, end)
        if not parts:
            self.warn("empty_phrase", self.text[position:end], position)
            return
        text = _SPACES.sub(" ", self.folded[begin:end].strip())
        clause = _whole_clause(parts, text, phrase=True)
        (self.excluded if negated else self.phrases).append(clause)

    def term(self, begin: int, end: int, *, negated: bool, position: int) -> None:
        parts = self.chunks_of(begin, end)
        if not parts:
            self.warn("ignored", self.text[position:end], position)
            return
        if negated:
            self.flush_bare()
            clause = _whole_clause(parts, self.folded[begin:end], phrase=False)
            self.excluded.append(clause)
            return
        if self.bare:
            # Number on from the previous bare term, as the analyzer would in
            # one text, so offsets within a clause that spans terms increase.
            last = self.bare[-1]
            base = last.position + (len(last.text) if last.is_cjk else 1)
            parts = [chunk._replace(position=chunk.position + base) for chunk in parts]
        self.bare += parts

    def filter(self, match: re.Match, end: int, *, negated: bool) -> int:
        """Read ``name:value`` (value quoted or not); return where to go on."""
        self.flush_bare()
        name = match.group(1)
        begin = match.end()
        after = end
        if begin == end and end < len(self.folded) and self.folded[end] in QUOTES:
            begin, end, after = self.quoted(end)
        raw = self.text[begin:end].strip()
        value = _SPACES.sub(" ", self.folded[begin:end].strip())
        if not value:
            self.warn("empty_filter", self.text[match.start() : after], match.start())
            return after
        if name == "decade":
            decade = _decade(value)
            if decade is None:
                self.warn("invalid_decade", raw, begin)
                return after
            value = decade
        self.filters.append(Filter(name, value, negated, raw))
        return after

    def result(self) -> Query:
        seen: set[tuple[str, tuple[Alternative, ...]]] = set()
        kept: dict[str, list[Clause]] = {"must": [], "phrases": [], "excluded": []}
        count = 0
        codes: set[str] = set()
        for kind, clauses in (
            ("phrases", self.phrases),
            ("must", self.must),
            ("excluded", self.excluded),
        ):
            for clause in clauses:
                key = (kind, clause.alternatives)
                if key in seen:
                    continue
                if count == MAX_CLAUSES:
                    if "too_many_terms" not in codes:
                        self.warn("too_many_terms", clause.text[:20], 0)
                        codes.add("too_many_terms")
                    continue
                seen.add(key)
                kept[kind].append(clause)
                count += 1
        return Query(
            raw=self.raw,
            must=tuple(kept["must"]),
            phrases=tuple(kept["phrases"]),
            excluded=tuple(kept["excluded"]),
            filters=tuple(dict.fromkeys(self.filters)),
            warnings=tuple(self.warnings),
        )


def parse(text: str) -> Query:
    """Parse what a person typed into the search box.

    Args:
        text: the query as typed; anything at all (``None`` counts as empty).

    Returns:
        The parsed :class:`Query`. Never raises: what cannot be used is
        reported in :attr:`Query.warnings`, and a failure of the parser
        itself is logged and gives an empty query with the warning
        ``internal_error``.
    """
    raw = "" if text is None else str(text)
    try:
        return _Parser(raw).run()
    except Exception:
        # A search box must answer whatever is typed; a parser bug is logged
        # for us, and the person gets a query that finds nothing.
        logger.exception("search query parser failed on %r", raw[:200])
        return Query(raw=raw, warnings=(ParseWarning("internal_error", "", 0),))
