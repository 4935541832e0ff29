"""Jyutping for search: readings of stored text, and recognising Jyutping in a query.

Documents: :func:`run_words` splits a run of CJK characters into words
(:func:`segment_words`: longest match against pycantonese's own lexicon,
rime-cantonese and HKCanCor) and :func:`word_syllables` reads each word with
``pycantonese.characters_to_jyutping``, falling back to one character at a
time when a word has no reading, so that 廣州 is indexed as ``gwong2 zau1``.
The text is first converted with OpenCC's phrase-level ``s2hk``
(:func:`to_hong_kong`, once per text):
pycantonese's data is Hong Kong Traditional, and the phrase conversion keeps
readings that the search fold would lose (the fold writes 著名 as 着名 and
乾淨 as 幹淨, which pycantonese reads zoek6 meng4 and gon3 zing6). Both steps
are cached with :func:`functools.lru_cache` (per run, and per word): words
repeat far more often than segments do.

Queries: :func:`parse_syllables` decides whether a Latin word typed in the
search box is Jyutping (``gwong2``, ``zau1``, ``gwongzau``, ``gwong2zau1``)
and splits it into syllables, using the syllables attested in pycantonese's
rime-cantonese character table as the inventory (811 toneless syllables).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import cache, lru_cache

#: Runs longer than this are read without caching (a page of classical text
#: with no punctuation would only fill the cache with one-off entries).
CACHED_RUN_CHARS = 64

#: A word longer than this (letters and tone digits) is never taken for Jyutping.
MAX_JYUTPING_WORD = 48

#: At most this many ways of splitting one query word into syllables are kept.
MAX_SEGMENTATIONS = 4

_SYLLABLE = re.compile(r"[a-z]+[1-6]")
_TONED_GROUP = re.compile(r"([a-z]+)([1-6]?)")
_TONE_DIGITS = "123456"

_opencc_lock = threading.Lock()


@cache
def _s2hk():
    import opencc

    return opencc.OpenCC("s2hk")


#: Kangxi radicals (U+2F00 to U+2FDF, which PDF and OCR text writes for the
#: ordinary characters: ⼈ for 人) mapped to the characters they stand for,
#: so they get a reading as the search fold already matches them.
_KANGXI = {
    code: unicodedata.normalize("NFKC", chr(code))
    for code in range(0x2F00, 0x2FE0)
    if len(unicodedata.normalize("NFKC", chr(code))) == 1
}

#: Characters s2hk would rewrite although they are already Traditional and
#: read differently: 涌 (cung1, a creek: 東濠涌, 荔枝灣涌) is not 湧 (jung2).
_KEEP_AS_WRITTEN = frozenset("涌")


def to_hong_kong(text: str) -> str | None:
    """The text in Hong Kong Traditional (OpenCC ``s2hk``, phrase by phrase).

    Kangxi radicals are read as their ordinary characters first, and the
    characters of ``_KEEP_AS_WRITTEN`` stay as written.

    Args:
        text: text as stored, in any script.

    Returns:
        The converted text, or None if the conversion changed its length
        (readings are mapped back to characters by index, so it must not).
    """
    source = text.translate(_KANGXI)
    converter = _s2hk()
    with _opencc_lock:
        converted = converter.convert(source)
    if len(converted) != len(text):
        return None
    if any(char in _KEEP_AS_WRITTEN for char in source):
        converted = "".join(
            original if original in _KEEP_AS_WRITTEN else new
            for original, new in zip(source, converted, strict=True)
        )
    return converted


#: The longest dictionary word that segmentation looks for.
MAX_WORD_CHARS = 8


#: Held while pycantonese is imported (see :func:`pycantonese_module`).
_PYCANTONESE_IMPORT = threading.Lock()


def pycantonese_module():
    """pycantonese, imported on first use and never by two threads at once.

    It is imported lazily (seconds of start-up that most processes never
    need). pycantonese's package and its data module import each other, so two
    threads importing them from different ends at once (``import pycantonese``
    in one, ``from pycantonese.data.rime_cantonese import …`` in the other)
    deadlock; Python then fails one import with ``_DeadlockError``. That was
    seen under the app server's two threads (bench/search.py, granian). Every
    use in the project goes through here, or through :func:`rime_readings`.
    """
    with _PYCANTONESE_IMPORT:
        import pycantonese
        import pycantonese.data.rime_cantonese  # noqa: F401 (loaded under the lock)

    return pycantonese


def rime_readings() -> dict[str, str]:
    """rime-cantonese's characters-to-Jyutping table, as pycantonese ships it."""
    pycantonese_module()
    from pycantonese.data.rime_cantonese import CHARS_TO_JYUTPING

    return CHARS_TO_JYUTPING


@cache
def _lexicon() -> dict[str, bool]:
    """pycantonese's words (True) and their beginnings (False), for longest matching.

    Words of two to :data:`MAX_WORD_CHARS` CJK characters from rime-cantonese
    and HKCanCor (the data behind ``characters_to_jyutping``), so every word
    found has a reading of its own. Knowing the beginnings lets a match stop
    as soon as no longer word can follow.
    """
    hkcancor = pycantonese_module().hkcancor
    CHARS_TO_JYUTPING = rime_readings()  # noqa: N806 (pycantonese's name)

    def usable(word: str) -> bool:
        return 2 <= len(word) <= MAX_WORD_CHARS and all(
            ord(char) >= 0x2E80 for char in word
        )

    words = {word for word in CHARS_TO_JYUTPING if usable(word)}
    words.update(word for word in hkcancor().words() if usable(word))
    table: dict[str, bool] = {}
    for word in words:
        for size in range(2, len(word)):
            table.setdefault(word[:size], False)
    table.update(dict.fromkeys(words, True))
    return table


def warm_up() -> None:
    """Build the word list, the converter and the syllables now, once per process.

    Called as the WSGI application loads when ``SEARCH_WARM_AT_START`` is on,
    so no visitor's search waits for it (about 10 s, in each app server
    worker), and before a reindex forks its analysis processes. It also loads pycantonese's
    reading tables (the first :func:`word_syllables`).
    """
    _lexicon()
    _s2hk()
    syllable_inventory()
    word_syllables("粵")


def segment_words(run: str) -> list[str]:
    """Split a run of CJK characters into dictionary words, longest match first.

    Forward maximum matching over pycantonese's lexicon; a character that
    starts no word stands alone. pycantonese's own segmenter
    (``pycantonese.segment``) is a statistical model and costs about 0.2 ms
    per 77-character segment, which alone would use most of the indexing
    budget (issue 7: 3,000 segments a second); this costs about a tenth of
    that, agrees with it on 98.7% of the syllables of HKCanCor (the model's
    own training data) and keeps dictionary words apart in Standard Written
    and classical text, where the model tends to glue unknown stretches into
    one "word" (行長在街上行).

    Args:
        run: CJK characters, no spaces or punctuation.

    Returns:
        The words, in order; they concatenate to ``run``.
    """
    lookup = _lexicon().get
    result = []
    index = 0
    size = len(run)
    while index < size:
        take = 1
        end = index + 2
        while end <= size:
            found = lookup(run[index:end])
            if found is None:  # no word begins like this
                break
            if found:
                take = end - index
            end += 1
        result.append(run[index : index + take])
        index += take
    return result


@lru_cache(maxsize=200_000)
def word_syllables(word: str) -> tuple[str | None, ...]:
    """The toned Jyutping syllable of each character of a word (None where unknown).

    The word's own reading from ``pycantonese.characters_to_jyutping`` is
    used when it has one syllable per character (so 行 in 銀行 reads hong4,
    not haang4); otherwise each character is read alone.

    Args:
        word: CJK characters, one word of :func:`segment_words`.

    Returns:
        One entry per character: a syllable such as ``"gwong2"``, or None.
    """
    characters_to_jyutping = pycantonese_module().characters_to_jyutping

    reading = characters_to_jyutping([word])[0][1]
    if reading:
        syllables = reading.split()
        if len(syllables) == len(word) and all(
            _SYLLABLE.fullmatch(syllable) for syllable in syllables
        ):
            return tuple(syllables)
    if len(word) == 1:
        return (None,)
    return tuple(word_syllables(char)[0] for char in word)


def _run_words(run: str) -> tuple[tuple[int, str], ...]:
    result = []
    index = 0
    for word in segment_words(run):
        result.append((index, word))
        index += len(word)
    return tuple(result)


_run_words_cached = lru_cache(maxsize=65_536)(_run_words)


def run_words(run: str) -> tuple[tuple[int, str], ...]:
    """The words of a run of CJK characters (cached :func:`segment_words`).

    Args:
        run: consecutive CJK characters in Hong Kong Traditional
            (:func:`to_hong_kong`), no spaces or punctuation.

    Returns:
        ``(index of the word's first character, word)`` pairs.
    """
    if len(run) > CACHED_RUN_CHARS:
        return _run_words(run)
    return _run_words_cached(run)


def toneless(syllable: str) -> str:
    """The syllable without its tone digit (``gwong2`` → ``gwong``)."""
    return syllable.rstrip(_TONE_DIGITS)


@cache
def syllable_inventory() -> frozenset[str]:
    """Every toneless syllable that rime-cantonese (shipped with pycantonese) uses."""
    CHARS_TO_JYUTPING = rime_readings()  # noqa: N806 (pycantonese's name)

    syllables = set()
    for reading in CHARS_TO_JYUTPING.values():
        for syllable in reading.split():
            if _SYLLABLE.fullmatch(syllable):
                syllables.add(toneless(syllable))
    return frozenset(syllables)


@cache
def _longest_syllable() -> int:
    return max(len(syllable) for syllable in syllable_inventory())


def _split_letters(letters: str) -> list[tuple[str, ...]]:
    """Ways to write ``letters`` as inventory syllables, fewest syllables first."""
    inventory = syllable_inventory()
    longest = _longest_syllable()
    size = len(letters)
    # ways[i]: up to MAX_SEGMENTATIONS splits of letters[i:], fewest syllables first.
    ways: list[list[tuple[str, ...]]] = [[] for _ in range(size + 1)]
    ways[size] = [()]
    for start in range(size - 1, -1, -1):
        found: list[tuple[str, ...]] = []
        for end in range(start + 1, min(size, start + longest) + 1):
            head = letters[start:end]
            if head in inventory:
                found.extend((head, *rest) for rest in ways[end])
        found.sort(key=len)
        ways[start] = found[:MAX_SEGMENTATIONS]
    return ways[0]


def parse_syllables(word: str) -> list[tuple[str, ...]]:
    """Read a query word as Jyutping, if it is Jyutping.

    Tone digits are optional and end a syllable: ``gwong2zau1``,
    ``gwongzau`` and ``gwong2`` are all accepted; a joined toneless word is
    split with the syllable inventory (``gwongzau`` → ``gwong``, ``zau``).

    Args:
        word: a lower-case ASCII word (letters and digits) from the query.

    Returns:
        Up to :data:`MAX_SEGMENTATIONS` readings, all with the fewest
        syllables possible (``sinai`` is si + nai or sin + ai); each a tuple of
        syllables, toned (``gwong2``) where the query gave a tone. Empty when
        the word is not Jyutping.
    """
    if not word or len(word) > MAX_JYUTPING_WORD or not word.isascii():
        return []
    groups = []
    position = 0
    for match in _TONED_GROUP.finditer(word):
        if match.start() != position:
            return []
        position = match.end()
        letters, tone = match.groups()
        splits = _split_letters(letters)
        if not splits:
            return []
        # Only the readings with the fewest syllables: gwong is gwong, not
        # gwo + ng (a syllabic nasal), though both are in the inventory.
        splits = [split for split in splits if len(split) == len(splits[0])]
        if tone:
            splits = [(*split[:-1], split[-1] + tone) for split in splits]
        groups.append(splits)
    if position != len(word) or not groups:
        return []
    # Combine group by group, keeping the shortest few: a full product of
    # many ambiguous groups would grow exponentially.
    readings: list[tuple[str, ...]] = [()]
    for splits in groups:
        readings = [reading + split for reading in readings for split in splits]
        readings.sort(key=len)
        del readings[MAX_SEGMENTATIONS:]
    return readings
