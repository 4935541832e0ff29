"""Synthetic Cantonese transcript segments and query sets for the search benchmark.

``bench/search.py`` indexes what :func:`segments` makes and times what
:func:`query_sets` draws from it; tests may import both (plain functions, no
Django). Everything is deterministic for a given ``seed``, numpy version and
pycantonese version.

**The text.** A word bigram model (with unigram back-off) learnt from:

- the project's own sample texts: the reference texts of the sample archive
  (``ingest/sample/*/*/reference.txt``), the oral history written for the
  transcription benchmark (``TEXT`` in ``bench/transcribe.py``) and the
  colloquial column of ``archive/search/data/aliases.tsv``; weighted
  :data:`SAMPLE_WEIGHT` times, so the archive's subjects (茶樓, 西關, 防空洞,
  涼茶舖) and its register (嘅 咗 喺 冇 佢 啲 嘢) dominate;
- the Hong Kong Cantonese Corpus (HKCanCor) bundled with pycantonese:
  transcribed conversation, about 150,000 words. The sample texts alone hold
  some 900 distinct words, and a corpus of 100,000 segments made from them
  would repeat a few hundred bigrams, so every query would match a large
  share of it; HKCanCor gives the long tail of vocabulary real transcripts
  have.

Words are segmented with ``pycantonese.segment`` (HKCanCor comes segmented).
HKCanCor's ASCII punctuation is written full-width, as Whisper and the
archive's editors write it, its 𡃉 as 㗎, and words with Latin letters or
digits are left out. Segments are 60 to 90 characters (uniform), end on
punctuation and never start with it; a clause is at least :data:`MIN_CLAUSE`
characters.

**Rare words.** One segment in :data:`RARE_SHARE` also names a person or a
street (``陳麗芳``, ``寶華正街``) from a list of :data:`RARE_COUNT` made-up
names and places drawn with a Zipf law, so that a four-character query can
be selective (a few to a few hundred segments in 100,000).

**Queries** (:func:`query_sets`), drawn from the corpus so they hit:
``1-char`` and ``2-char`` (characters and two-character words, half among
the most frequent, half from the rest of the vocabulary), ``4-char`` (half
four-character windows of segments, half rare place names), ``phrase``
(quoted windows of 3 to 6 characters), ``jyutping`` (a word's toned
syllables, ``gwong2 zau1``) and ``jyutping-toneless`` (joined, ``gwongzau``),
read from segments with the project analyzer's own Jyutping so that they
match what the index holds.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from functools import cache
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

SEED = 7_2026
#: How many times a word pair of the project's sample texts counts against HKCanCor's.
SAMPLE_WEIGHT = 20
#: Share of steps that draw from the unigram distribution instead of the bigram one.
BACKOFF = 0.08
#: Segment length in characters (punctuation included), uniform.
MIN_CHARS, MAX_CHARS = 60, 90
#: Made-up names and places, and the share of segments that mention one.
RARE_COUNT, RARE_SHARE = 4000, 0.2
#: Words drawn per segment; enough for MAX_CHARS (a word is 1.3 characters on average).
WORDS_PER_SEGMENT = 90
#: Punctuation is left out after fewer characters than this (HKCanCor has many
#: one-word utterances, which would make runs of "少。𠻹。").
MIN_CLAUSE = 4

#: The query classes, in the order the benchmark reports them.
QUERY_CLASSES = (
    "1-char",
    "2-char",
    "4-char",
    "phrase",
    "jyutping",
    "jyutping-toneless",
)

PUNCTUATION = frozenset("，。？！、")
_ASCII_PUNCTUATION = {",": "，", ".": "。", "?": "？", "!": "！"}
_SENTENCE_END = "。"
_CJK = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f]+$")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f]+")
_SPLIT = re.compile(
    r"([\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f]+|[，。？！、])"
)

_SURNAMES = (*"陳李張黃何梁林劉吳鄭關譚馮蔡鍾麥區盧葉朱余郭羅伍潘霍", "司徒", "歐陽")
_GIVEN = "麗芳美玲珍寶華明偉強志國家榮輝文德英秀蘭月嬌少卿耀祖炳坤錦燦冠球惠嫻"
_PLACE_HEADS = "寶華多寶恩寧龍津逢源蓬萊光復長壽荔灣西華上下九泮塘沙基文昌清平和平"
_PLACE_TAILS = ("正街", "大街", "新街", "直街", "橫街", "西路", "東約", "北約", "大押")


# ---------------------------------------------------------------------------
# Source texts


def sample_texts() -> list[str]:
    """The project's Cantonese sample texts (see the module docstring), as found in the repo."""
    texts = [
        path.read_text("utf-8")
        for path in sorted((ROOT / "ingest" / "sample").glob("*/*/reference.txt"))
    ]
    transcribe = ROOT / "bench" / "transcribe.py"
    if transcribe.exists():
        # Read the constant without importing the module (and numpy, faster-whisper ...).
        for node in ast.parse(transcribe.read_text("utf-8")).body:
            if (
                isinstance(node, ast.Assign)
                and any(getattr(t, "id", "") == "TEXT" for t in node.targets)
                and isinstance(node.value, ast.Constant)
            ):
                texts.append(node.value.value)
    aliases = ROOT / "archive" / "search" / "data" / "aliases.tsv"
    if aliases.exists():
        rows = [
            line.split("\t")
            for line in aliases.read_text("utf-8").splitlines()[1:]
            if line and not line.startswith("#")
        ]
        texts.append("，".join(row[0] for row in rows[1:] if _CJK.match(row[0])) + "。")
    return texts


def _segment_text(text: str) -> list[str]:
    """Words and punctuation of a text (pycantonese segments runs of characters)."""
    import pycantonese

    words: list[str] = []
    for piece in _SPLIT.findall(text):
        if piece in PUNCTUATION:
            words.append(piece)
        else:
            words += pycantonese.segment(piece)
    return words


def _hkcancor_utterances() -> list[list[str]]:
    import pycantonese

    utterances = []
    for utterance in pycantonese.hkcancor().words(by_utterance=True):
        words = []
        for word in utterance:
            word = _ASCII_PUNCTUATION.get(word, word).replace("𡃉", "㗎")
            if word in PUNCTUATION:
                if words and words[-1] not in PUNCTUATION:
                    words.append(word)
            elif _CJK.match(word):
                words.append(word)
        if words:
            if words[-1] not in PUNCTUATION:
                words.append(_SENTENCE_END)
            utterances.append(words)
    return utterances


class _Model:
    """Word bigram counts as arrays, for drawing many segments at once."""

    def __init__(self, sequences: list[tuple[list[str], int]]) -> None:
        pairs: Counter[tuple[str, str]] = Counter()
        unigrams: Counter[str] = Counter()
        for words, weight in sequences:
            for a, b in zip(words, words[1:], strict=False):
                pairs[a, b] += weight
            for word in words:
                unigrams[word] += weight
        self.vocab = sorted(unigrams)
        ids = {word: i for i, word in enumerate(self.vocab)}
        self.is_punct = np.array([w in PUNCTUATION for w in self.vocab])
        counts = np.array([unigrams[w] for w in self.vocab], dtype=np.float64)
        self.unigram_cum = np.cumsum(counts) / counts.sum()
        # Successors of each word, as one array sorted by (word, successor);
        # each word's cumulative probabilities are offset by its id, so that
        # searchsorted(keys, id + u) draws a successor of ``id``.
        items = sorted((ids[a], ids[b], n) for (a, b), n in pairs.items())
        prev = np.array([i[0] for i in items], dtype=np.int64)
        self.successor = np.array([i[1] for i in items], dtype=np.int64)
        weights = np.array([i[2] for i in items], dtype=np.float64)
        totals = np.bincount(prev, weights=weights, minlength=len(self.vocab))
        cum = np.cumsum(weights)
        starts = np.searchsorted(prev, np.arange(len(self.vocab)))
        before = np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0.0)
        self.keys = prev + (cum - before[prev]) / totals[prev]
        self.has_successor = totals > 0

    def draw(self, rng: np.random.Generator, n: int, steps: int) -> np.ndarray:
        """``n`` word sequences of ``steps`` word ids, each starting after a full stop."""
        out = np.empty((n, steps), dtype=np.int64)
        state = np.full(n, self.vocab.index(_SENTENCE_END), dtype=np.int64)
        for step in range(steps):
            u = rng.random(n) * (1 - 1e-9)
            bigram = self.successor[
                np.minimum(
                    np.searchsorted(self.keys, state + u, side="right"),
                    len(self.successor) - 1,
                )
            ]
            unigram = np.searchsorted(self.unigram_cum, rng.random(n), side="right")
            unigram = np.minimum(unigram, len(self.vocab) - 1)
            backoff = (rng.random(n) < BACKOFF) | ~self.has_successor[state]
            state = np.where(backoff, unigram, bigram)
            out[:, step] = state
        return out


@cache
def _model() -> _Model:
    sequences = [(_segment_text(text), SAMPLE_WEIGHT) for text in sample_texts()]
    sequences += [(words, 1) for words in _hkcancor_utterances()]
    return _Model(sequences)


def rare_words(seed: int = SEED) -> list[str]:
    """Made-up people and streets (three and four characters), rarest last."""
    rng = np.random.default_rng(seed + 1)
    heads = [_PLACE_HEADS[i : i + 2] for i in range(0, len(_PLACE_HEADS) - 1, 2)]
    found: dict[str, None] = {}
    while len(found) < RARE_COUNT:
        if rng.random() < 0.5:
            surname = _SURNAMES[rng.integers(len(_SURNAMES))]
            given = "".join(_GIVEN[k] for k in rng.integers(len(_GIVEN), size=2))
            word = (surname + given)[:4]
        else:
            head = heads[rng.integers(len(heads))]
            word = head + _PLACE_TAILS[rng.integers(len(_PLACE_TAILS))]
        found.setdefault(word)
    return list(found)


# ---------------------------------------------------------------------------
# Segments


def segments(n: int, *, seed: int = SEED) -> list[str]:
    """``n`` synthetic transcript segments (Traditional, colloquial Cantonese).

    Args:
        n: how many.
        seed: the same seed gives the same segments.

    Returns:
        The texts, 60 to 90 characters each.
    """
    model = _model()
    rng = np.random.default_rng(seed)
    drawn = model.draw(rng, n, WORDS_PER_SEGMENT)
    lengths = rng.integers(MIN_CHARS, MAX_CHARS + 1, size=n)
    rare = rare_words(seed)
    zipf = 1.0 / np.arange(1, len(rare) + 1)
    rare_pick = rng.choice(len(rare), size=n, p=zipf / zipf.sum())
    rare_at = np.where(rng.random(n) < RARE_SHARE, rng.integers(2, 30, size=n), -1)
    vocab, is_punct = model.vocab, model.is_punct
    texts = []
    for row, length, pick, at in zip(drawn, lengths, rare_pick, rare_at, strict=True):
        words: list[str] = []
        size = 0
        since = 0  # characters since the last punctuation
        previous_punct = True  # no punctuation at the start
        for k, word_id in enumerate(row):
            punct = bool(is_punct[word_id])
            if punct and (previous_punct or since < MIN_CLAUSE):
                continue
            if size >= length - 1 and not punct:
                break
            word = vocab[word_id]
            if k == at and not punct:
                words.append(rare[pick])
                size += len(rare[pick])
            words.append(word)
            size += len(word)
            since = 0 if punct else since + len(word)
            previous_punct = punct
            if size >= length and punct:
                break
        if not previous_punct:
            words.append(_SENTENCE_END)
        texts.append("".join(words))
    return texts


# ---------------------------------------------------------------------------
# Queries


def _stratified(
    rng: np.random.Generator, ranked: list[str], count: int, top: int
) -> list[str]:
    """Half of ``count`` among the ``top`` most frequent, half from the rest."""
    head, tail = ranked[:top], ranked[top:]
    half = count // 2
    picked = list(rng.choice(head, size=min(half, len(head)), replace=False))
    rest = count - len(picked)
    picked += list(rng.choice(tail, size=min(rest, len(tail)), replace=False))
    return [str(p) for p in picked]


def _windows(
    rng: np.random.Generator, texts: list[str], size: int, count: int
) -> list[str]:
    """``count`` distinct runs of ``size`` CJK characters taken from random segments."""
    found: dict[str, None] = {}
    while len(found) < count:
        runs = [r for r in _CJK_RUN.findall(texts[rng.integers(len(texts))])]
        runs = [r for r in runs if len(r) >= size]
        if runs:
            run = runs[rng.integers(len(runs))]
            start = rng.integers(len(run) - size + 1)
            found.setdefault(run[start : start + size])
    return list(found)


def query_sets(
    texts: list[str], *, per_class: int = 50, seed: int = SEED
) -> dict[str, list[str]]:
    """Queries for each of :data:`QUERY_CLASSES`, drawn from ``texts`` so that they hit.

    Args:
        texts: the corpus (from :func:`segments`).
        per_class: queries per class.
        seed: the same seed and texts give the same queries.

    Returns:
        Class name -> queries, as a person would type them.
    """
    from archive.search.analysis import Field, jyutping_terms

    rng = np.random.default_rng(seed + 2)
    chars: Counter[str] = Counter()
    model = _model()
    for text in texts[: min(len(texts), 20_000)]:
        for run in _CJK_RUN.findall(text):
            chars.update(run)
    unigram = np.diff(np.concatenate([[0.0], model.unigram_cum]))
    two = sorted(
        (w for w in model.vocab if len(w) == 2 and _CJK.match(w)),
        key=lambda w: -unigram[model.vocab.index(w)],
    )
    one = [c for c, _ in chars.most_common() if chars[c] >= 3]
    queries: dict[str, list[str]] = {
        "1-char": _stratified(rng, one, per_class, 300),
        "2-char": _stratified(rng, two, per_class, 300),
    }
    corpus_text = "\n".join(texts)
    rare_places = [w for w in rare_words(seed) if len(w) == 4 and w in corpus_text]
    four = _windows(rng, texts, 4, per_class - per_class // 2)
    four += [
        str(w)
        for w in rng.choice(
            rare_places, size=min(per_class // 2, len(rare_places)), replace=False
        )
    ]
    queries["4-char"] = four
    phrases: dict[str, None] = {}
    for size in rng.integers(3, 7, size=per_class * 2):
        phrases.setdefault(f'"{_windows(rng, texts, int(size), 1)[0]}"')
        if len(phrases) == per_class:
            break
    queries["phrase"] = list(phrases)
    toned: dict[str, None] = {}
    joined: dict[str, None] = {}
    while len(toned) < per_class or len(joined) < per_class:
        tokens = jyutping_terms(texts[rng.integers(len(texts))])
        by_position = {t.position: t.term for t in tokens if t.field == Field.JYUTPING}
        multi = [t for t in tokens if t.field == Field.JYUTPING_WORD]
        if not multi:
            continue
        token = multi[rng.integers(len(multi))]
        size = sum(
            1
            for t in tokens
            if t.field == Field.JYUTPING_TONELESS and token.start <= t.start < token.end
        )
        syllables = [by_position.get(token.position + i) for i in range(size)]
        if len(toned) < per_class and all(syllables):
            toned.setdefault(" ".join(syllables))
        if len(joined) < per_class:
            joined.setdefault(token.term)
    queries["jyutping"] = list(toned)
    queries["jyutping-toneless"] = list(joined)
    return queries


if __name__ == "__main__":
    # ``make bench`` runs every bench/*.py: show what the corpus looks like.
    import sys

    sys.path.insert(0, str(ROOT))
    sample = segments(2000)
    for text in sample[:5]:
        print(text)  # noqa: T201
    for name, drawn in query_sets(sample, per_class=6).items():
        print(f"{name}: {' | '.join(drawn)}")  # noqa: T201
