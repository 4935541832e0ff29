"""Where a stretch of a page's text lies on the page image: character offsets to boxes.

A page's ``text_layout`` (written at ingest by ``ingest.ocr.PageText.to_json``)
holds its lines and words with pixel boxes of the full page image::

    {"width": 1200, "height": 1800,
     "lines": [[["人", 996, 240, 79, 71], ["之", 996, 318, 79, 70], ...], ...]}

In vertical Chinese a line is a column and a word is usually one character.
Search hits are offsets into ``PageImage.text`` (:func:`archive.search.highlight.spans`),
so this module lines the stored text up with the layout's characters and
answers, for each hit, one box per line it crosses: the union of the boxes of
its characters there. The search page links hits to ``#page=N&xywh=...``
with them and IIIF Content Search targets ``canvas#xywh=...``.

The stored text need not be the layout's own text: a delivery may bring plain
text beside its ALTO (with other line breaks, or a corrected character).
Characters are matched ignoring whitespace and after search folding (so a
Simplified form in one and the Traditional in the other still line up); when
the two differ, :class:`difflib.SequenceMatcher` pairs the runs they share
and characters found only in the stored text get no box.

A word of several CJK characters with one box (a column set as one ALTO
``String``) is shared out along its long side, one equal step per character;
a Latin word's characters all take the word's box (highlighting part of a
word highlights the word). Pure reading: nothing here writes.
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass

from archive.search.analysis import fold

#: A box in pixels of the full page image: x, y, width, height.
Box = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class LinePiece:
    """The part of a span that lies on one line of the page, and its box.

    Attributes:
        start: offset in ``PageImage.text`` of the piece's first character.
        end: offset just past its last character.
        line: the line's index in the layout (0-based, reading order).
        box: the union of its characters' boxes.
    """

    start: int
    end: int
    line: int
    box: Box


@dataclass(frozen=True, slots=True)
class _Glyph:
    char: str
    line: int
    box: Box


def _is_wide(char: str) -> bool:
    """CJK and other characters written without spaces (one box each in a word)."""
    return unicodedata.east_asian_width(char) in ("W", "F")


def _word_glyphs(text: str, x: int, y: int, w: int, h: int, line: int) -> list[_Glyph]:
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return []
    if len(chars) == 1 or not all(_is_wide(c) for c in chars):
        return [_Glyph(c, line, (x, y, w, h)) for c in chars]
    # A run of CJK characters in one box: share the box out along its long side.
    n = len(chars)
    glyphs = []
    for i, char in enumerate(chars):
        if h >= w:  # vertical: top to bottom
            top, bottom = y + round(h * i / n), y + round(h * (i + 1) / n)
            glyphs.append(_Glyph(char, line, (x, top, w, bottom - top)))
        else:
            left, right = x + round(w * i / n), x + round(w * (i + 1) / n)
            glyphs.append(_Glyph(char, line, (left, y, right - left, h)))
    return glyphs


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _glyphs(layout) -> list[_Glyph]:
    """The layout's characters in reading order; empty when it has no usable boxes."""
    if not isinstance(layout, dict) or not isinstance(layout.get("lines"), list):
        return []
    glyphs: list[_Glyph] = []
    for n, line in enumerate(layout["lines"]):
        if not isinstance(line, list | tuple):
            continue
        for word in line:
            if not (
                isinstance(word, list | tuple)
                and len(word) == 5
                and isinstance(word[0], str)
                and all(_is_int(v) for v in word[1:])
            ):
                continue
            text, x, y, w, h = word
            glyphs += _word_glyphs(text, x, y, max(w, 0), max(h, 0), n)
    # Plain text stored as a layout has every box at 0, 0, 0, 0: no coordinates.
    if not any(g.box[2] or g.box[3] for g in glyphs):
        return []
    return glyphs


def _alignment(text: str, glyphs: list[_Glyph]) -> dict[int, _Glyph]:
    """Offsets in ``text`` -> the layout character they are, for every one found."""
    offsets = [i for i, char in enumerate(text) if not char.isspace()]
    mine = fold("".join(text[i] for i in offsets))
    theirs = fold("".join(g.char for g in glyphs))
    if mine == theirs:  # the usual case: the same text, other line breaks at most
        return dict(zip(offsets, glyphs, strict=True))
    found: dict[int, _Glyph] = {}
    matcher = difflib.SequenceMatcher(None, mine, theirs, autojunk=False)
    for a, b, size in matcher.get_matching_blocks():
        for k in range(size):
            found[offsets[a + k]] = glyphs[b + k]
    return found


def _union(boxes: list[Box]) -> Box:
    left = min(b[0] for b in boxes)
    top = min(b[1] for b in boxes)
    right = max(b[0] + b[2] for b in boxes)
    bottom = max(b[1] + b[3] for b in boxes)
    return (left, top, right - left, bottom - top)


def _clip(box: Box, width: int, height: int) -> Box | None:
    x, y, w, h = box
    if width > 0 and height > 0:
        left, top = max(0, min(x, width)), max(0, min(y, height))
        right, bottom = max(0, min(x + w, width)), max(0, min(y + h, height))
        x, y, w, h = left, top, right - left, bottom - top
    return (x, y, w, h) if w > 0 and h > 0 else None


def span_pieces(page, spans: list[tuple[int, int]]) -> list[list[LinePiece]]:
    """For each span of ``page.text``, its pieces line by line, in reading order.

    Args:
        page: a ``PageImage`` (its ``text``, ``text_layout``, ``width`` and
            ``height`` are read).
        spans: ``(start, end)`` offsets into ``page.text``.

    Returns:
        One list per span, in the order given: a :class:`LinePiece` for each
        line the span crosses, empty when the page has no layout or none of
        the span's characters could be placed on it.
    """
    glyphs = _glyphs(getattr(page, "text_layout", None))
    if not glyphs:
        return [[] for _ in spans]
    text = page.text or ""
    placed = _alignment(text, glyphs)
    width, height = page.width or 0, page.height or 0
    result = []
    for start, end in spans:
        lines: dict[int, list[int]] = {}
        for offset in range(max(start, 0), min(end, len(text))):
            glyph = placed.get(offset)
            if glyph is not None and (glyph.box[2] or glyph.box[3]):
                lines.setdefault(glyph.line, []).append(offset)
        pieces = []
        for line, offsets in lines.items():
            box = _clip(_union([placed[i].box for i in offsets]), width, height)
            if box is not None:
                pieces.append(LinePiece(offsets[0], offsets[-1] + 1, line, box))
        pieces.sort(key=lambda piece: piece.start)
        result.append(pieces)
    return result


def boxes_for_spans(page, spans: list[tuple[int, int]]) -> list[Box]:
    """The boxes (x, y, w, h) of spans of ``page.text`` on the page image.

    One box per line each span crosses (the union of the boxes of its
    characters on that line), spans in the order given; empty when the page
    has no layout. Offsets are those of :func:`archive.search.highlight.spans`.
    """
    return [piece.box for pieces in span_pieces(page, spans) for piece in pieces]
