"""Where a query matched a stored text, and the snippet to show around it.

Engine-independent: the text is analysed again (the same analyzer), and each
token whose term a clause of the query asks for is marked. Offsets are the
stored text's (folding maps one character to one), so the highlight falls
on the text as the source writes it, never on a normalised copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import compress

from archive.search.analysis import analyze_columns
from archive.search.query import Query, Source

#: Characters of context on each side of the first hit in a snippet.
CONTEXT = 36

#: A snippet of a text without hits (a filter-only search) shows this much.
LEAD = 80


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of snippet text, highlighted or not."""

    text: str
    hit: bool


def query_terms(query: Query) -> set[tuple[str, str]]:
    """The (field, term) pairs the query looks for (every alternative of every clause)."""
    wanted: set[tuple[str, str]] = set()
    for clause in (*query.must, *query.phrases):
        for alternative in clause.alternatives:
            for term in alternative.terms:
                wanted.add((str(term.field), term.text))
    return wanted


def spans(text: str, query: Query) -> list[tuple[int, int]]:
    """The ``(start, end)`` offsets in ``text`` of what the query matched, merged.

    Terms of an alternative that must match as a run (a quoted phrase, a
    Jyutping reading) are marked only where the whole run is; the terms of
    other alternatives wherever they occur (each is required anyway).
    """
    wanted = query_terms(query)
    if not wanted or not text:
        return []
    jyutping = any(field.startswith("jyutping") for field, _ in wanted)
    at: dict[tuple[str, str], dict[int, tuple[int, int]]] = {}
    value = analyze_columns(text, jyutping=jyutping)
    terms = value.terms
    # Most tokens are not asked for: pick out those whose term is, in C.
    asked = {term for _field, term in wanted}
    for i in compress(range(len(terms)), map(asked.__contains__, terms)):
        key = (str(value.fields[i]), terms[i])
        if key in wanted:
            at.setdefault(key, {})[value.positions[i]] = (
                value.starts[i],
                value.ends[i],
            )
    found: list[tuple[int, int]] = []
    for clause in (*query.must, *query.phrases):
        for alternative in clause.alternatives:
            terms = [((str(t.field), t.text), t.offset) for t in alternative.terms]
            if not terms:
                continue
            if alternative.phrase or alternative.source == Source.JYUTPING:
                first, first_offset = terms[0]
                for position in at.get(first, {}):
                    base = position - first_offset
                    hits = [at.get(key, {}).get(base + offset) for key, offset in terms]
                    if all(hits):
                        found += hits
            else:
                for key, _offset in terms:
                    found += at.get(key, {}).values()
    merged: list[list[int]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def pieces(text: str, marks: list[tuple[int, int]]) -> list[Piece]:
    """``text`` cut into plain and highlighted pieces."""
    out: list[Piece] = []
    at = 0
    for start, end in marks:
        if start > at:
            out.append(Piece(text[at:start], False))
        out.append(Piece(text[start:end], True))
        at = end
    if at < len(text):
        out.append(Piece(text[at:], False))
    return out


def snippet(text: str, query: Query, *, context: int = CONTEXT) -> list[Piece]:
    """A short window of ``text`` around its first hit, with the hits marked.

    The window is widened to hold the hits close to the first one; an
    ellipsis marks text left out at either end.
    """
    text = " ".join(text.split())
    marks = spans(text, query)
    if not marks:
        short = text[:LEAD]
        return (
            [Piece(short + ("…" if len(text) > LEAD else ""), False)] if short else []
        )
    first = marks[0][0]
    begin = max(0, first - context)
    end = min(len(text), max(marks[0][1], first) + context * 2)
    window = [
        (max(a, begin) - begin, min(b, end) - begin)
        for a, b in marks
        if a < end and b > begin
    ]
    out = pieces(text[begin:end], window)
    if begin > 0:
        out.insert(0, Piece("…", False))
    if end < len(text):
        out.append(Piece("…", False))
    return out
