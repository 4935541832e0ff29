"""Colloquial Cantonese ↔ Standard Written Chinese, applied to queries only.

An oral history transcribed as spoken says 我哋 and 佢哋; the same account
written up in Standard Written Chinese says 我們 and 他們. The table in
``data/aliases.tsv`` (colloquial, standard, scope, note) lets a query in
either register find both: each query form recognised in the table becomes
an OR of itself and its partners on the rows it appears in (one hop: 他
finds 佢, but not 她 by way of 佢).

Why at query time, and never by rewriting documents:

- Stored text and its offsets stay exactly as written, so a hit is
  highlighted on the word the speaker used, and the index holds what the
  documents say; an exact-form hit can be ranked above an alias hit.
- Many pairs are not safe everywhere. 食 "eat" is also the 食 of 食物 "food"
  and 糧食 (Standard Written Chinese too), 係 is inside 關係, 在 inside 現在,
  了 inside 了解. Rewriting documents would mangle those words for good; a
  query is short, and here it is segmented into words (pycantonese) so a
  risky form is expanded only where it stands as a word of its own. The
  ``scope`` column says which forms are safe inside longer words.
- The table can change without a reindex: it is not part of
  :func:`archive.search.analysis.analyzer_fingerprint`.
- Both engines receive the same expanded query, so they agree.

How a run of query characters is read (:func:`alias_pieces`): the run is
segmented into words, and neighbouring words that together make a form are
joined again (冇 + 問題 → 冇問題); a word that is a form is expanded whole;
an unknown word (not in pycantonese's dictionary) made up entirely of table
forms is split into them (他不是 → 他 + 不是, 食咗 → 食 + 咗); otherwise
only forms allowed inside longer words are looked for, longest first (睇戲 →
睇 + 戲, but 食物 and 關係 stay as they are). Everything here works on folded
text (:func:`archive.search.analysis.fold`), so 我们 and 我們 are one form.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from archive.search.analysis import fold, load_table
from archive.search.jyutping import pycantonese_module, rime_readings

#: Scope values of the table (see the header of ``data/aliases.tsv``).
SCOPES = ("both", "colloquial", "standard", "word")


@dataclass(frozen=True, slots=True)
class AliasPiece:
    """A stretch of a query run and the forms it may match.

    Attributes:
        text: the folded characters of the stretch.
        forms: ``text`` first, then its alias partners (just ``(text,)`` when
            the stretch is not an alias).
    """

    text: str
    forms: tuple[str, ...]

    @property
    def is_alias(self) -> bool:
        """Whether the stretch has partners."""
        return len(self.forms) > 1


@dataclass(frozen=True, slots=True)
class _Entry:
    partner: str
    inside_words: bool  # this form may be recognised inside a longer word


@dataclass(frozen=True)
class AliasTable:
    """The folded table: each form and its partners."""

    entries: dict[str, tuple[_Entry, ...]]
    longest: int

    def partners(self, form: str, *, whole_word: bool) -> tuple[str, ...]:
        """The partners of a form, where it stands as a word or inside a longer one."""
        found: list[str] = []
        for entry in self.entries.get(form, ()):
            if (whole_word or entry.inside_words) and entry.partner not in found:
                found.append(entry.partner)
        return tuple(found)


@cache
def alias_table() -> AliasTable:
    """The alias table, folded and indexed both ways (loaded once).

    Returns:
        The table; rows with an unknown scope or an empty side are skipped
        (``tests/archive/search/test_aliases.py`` checks there are none).
    """
    entries: dict[str, list[_Entry]] = {}
    for row in load_table("aliases.tsv"):
        if len(row) < 3 or row[2] not in SCOPES:
            continue
        colloquial, standard = fold(row[0].strip()), fold(row[1].strip())
        if not colloquial or not standard or colloquial == standard:
            continue
        scope = row[2]
        entries.setdefault(colloquial, []).append(
            _Entry(standard, scope in ("both", "colloquial"))
        )
        entries.setdefault(standard, []).append(
            _Entry(colloquial, scope in ("both", "standard"))
        )
    longest = max((len(form) for form in entries), default=0)
    return AliasTable({k: tuple(v) for k, v in entries.items()}, longest)


def expand_aliases(query_terms: Iterable[str]) -> list[tuple[str, ...]]:
    """The forms each query term may match: itself, then its alias partners.

    Each term is taken as a whole word (a term the person typed with spaces
    around it), so every row it appears in applies, whatever its scope.

    Args:
        query_terms: terms as typed, in either script.

    Returns:
        One tuple per term, the folded term first: ``["我哋"]`` gives
        ``[("我哋", "我們")]`` and ``["我們"]`` gives ``[("我們", "我哋")]``.
    """
    table = alias_table()
    result = []
    for term in query_terms:
        folded = fold(term)
        result.append((folded, *table.partners(folded, whole_word=True)))
    return result


@cache
def _known_words() -> frozenset[str]:
    return frozenset(word for word in rime_readings() if len(word) > 1)


def _segment(run: str) -> list[str]:
    words = pycantonese_module().segment(run)
    return words if "".join(words) == run else [run]


def _cover(word: str, table: AliasTable) -> list[str] | None:
    """Split a word entirely into table forms (longest first), or None."""
    pieces = []
    index = 0
    while index < len(word):
        for size in range(min(table.longest, len(word) - index), 0, -1):
            if word[index : index + size] in table.entries:
                pieces.append(word[index : index + size])
                index += size
                break
        else:
            return None
    return pieces


def _word_pieces(word: str, table: AliasTable) -> list[AliasPiece]:
    if word in table.entries:
        return [AliasPiece(word, (word, *table.partners(word, whole_word=True)))]
    if len(word) > 1 and word not in _known_words():
        cover = _cover(word, table)
        if cover:
            return [
                AliasPiece(piece, (piece, *table.partners(piece, whole_word=True)))
                for piece in cover
            ]
    pieces: list[AliasPiece] = []
    plain_from = 0
    index = 0
    while index < len(word):
        for size in range(min(table.longest, len(word) - index), 0, -1):
            form = word[index : index + size]
            partners = table.partners(form, whole_word=False)
            if partners:
                if plain_from < index:
                    text = word[plain_from:index]
                    pieces.append(AliasPiece(text, (text,)))
                pieces.append(AliasPiece(form, (form, *partners)))
                index += size
                plain_from = index
                break
        else:
            index += 1
    if plain_from < len(word):
        text = word[plain_from:]
        pieces.append(AliasPiece(text, (text,)))
    return pieces


def _join_segmented_forms(words: list[str], table: AliasTable) -> list[str]:
    """Rejoin neighbouring words that together are one table form (冇 + 問題 → 冇問題)."""
    joined: list[str] = []
    index = 0
    while index < len(words):
        take = 1
        text = words[index]
        for count in range(2, len(words) - index + 1):
            candidate = "".join(words[index : index + count])
            if len(candidate) > table.longest:
                break
            if candidate in table.entries:
                take, text = count, candidate
        joined.append(text)
        index += take
    return joined


def alias_pieces(run: str) -> list[AliasPiece]:
    """Split a folded run of query characters into alias stretches and plain ones.

    Neighbouring plain stretches are joined again, so a run with no alias in
    it comes back as one piece (and keeps all its bigrams).

    Args:
        run: folded CJK characters, as :func:`archive.search.analysis.chunks`
            gives a query's runs.

    Returns:
        The pieces in order; their texts concatenate to ``run``.
    """
    if not run:
        return []
    table = alias_table()
    pieces: list[AliasPiece] = []
    for word in _join_segmented_forms(_segment(run), table):
        for piece in _word_pieces(word, table):
            if not piece.is_alias and pieces and not pieces[-1].is_alias:
                text = pieces[-1].text + piece.text
                pieces[-1] = AliasPiece(text, (text,))
            else:
                pieces.append(piece)
    return pieces
