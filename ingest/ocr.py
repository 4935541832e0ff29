"""Page text with coordinates, read from plain text, ALTO XML or hOCR.

Dadian page scans (vertical classical Chinese, columns right to left) may come
with text. Whatever the format, it is read into one small structure: a page
of lines, each line a tuple of words, each word with its box in pixels of the
full page image. Search and IIIF Content Search draw hits from these boxes.

Pure Python on purpose (no Django): it is called from ingest, from checks and
from tests alike. Errors are ``PageTextError`` whose message names the
problem; the caller adds the file name.

Safety: stdlib ElementTree does not refuse entity declarations, so ALTO
documents containing ``<!DOCTYPE`` or ``<!ENTITY`` are refused before parsing
(no billion laughs, no external entities). hOCR is read with ``html.parser``,
which never expands declared entities; there only ``<!ENTITY`` is refused,
since hOCR written by Tesseract and others begins with an XHTML ``<!DOCTYPE``.
"""

from __future__ import annotations

import math
import re
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html.parser import HTMLParser

__all__ = [
    "KINDS",
    "Line",
    "PageText",
    "PageTextError",
    "Word",
    "alto_read",
    "hocr_read",
    "page_text_check",
    "page_text_read",
    "plain_read",
]

KINDS = ("text", "alto", "hocr")

ALTO_NAMESPACES = (
    "http://www.loc.gov/standards/alto/ns-v4#",
    "http://www.loc.gov/standards/alto/ns-v3#",
    "http://www.loc.gov/standards/alto/ns-v2#",
    "",  # no namespace
)

HOCR_LINE_CLASSES = frozenset(
    {"ocr_line", "ocrx_line", "ocr_textfloat", "ocr_caption", "ocr_header"}
)

# Boxes may reach this fraction of the image size beyond its edges.
CHECK_SLACK = 0.01
# page_text_check reports at most this many bad boxes one by one, then a count.
CHECK_MAX_BOX_PROBLEMS = 10


class PageTextError(Exception):
    """Page text that cannot be read; the message names the problem, not the file."""


# --------------------------------------------------------------------------- model


def _no_space_char(ch: str) -> bool:
    """Whether text around ``ch`` is written without spaces (CJK and the like).

    East Asian Wide and Fullwidth characters (hanzi, kana, CJK punctuation,
    fullwidth forms, U+3000), and the Geometric Shapes block, whose □ and ○
    stand for lost and blank characters in transcribed Chinese texts.
    """
    return unicodedata.east_asian_width(ch) in ("W", "F") or "\u25a0" <= ch <= "\u25ff"


def _words_join(texts: list[str]) -> str:
    """Join word texts: no separator next to CJK, one space between Latin words."""
    out: list[str] = []
    for text in texts:
        if not text:
            continue
        if out and not (_no_space_char(out[-1][-1]) or _no_space_char(text[0])):
            out.append(" ")
        out.append(text)
    return "".join(out)


@dataclass(frozen=True)
class Word:
    """One word (for Chinese usually one character) and its box.

    ``x, y`` is the top left corner, ``w, h`` the size, in pixels of the full
    page image (or of the page size the file gives, see ``PageText.scaled``).
    Text without coordinates (plain text) has ``x = y = w = h = 0``.
    """

    text: str
    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class Line:
    """A line of text; in vertical Chinese, one column."""

    words: tuple[Word, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "words", tuple(self.words))

    @property
    def text(self) -> str:
        return _words_join([w.text for w in self.words])


@dataclass(frozen=True)
class PageText:
    """The text of one page: lines in reading order, and the page size they refer to."""

    lines: tuple[Line, ...]
    width: int | None = None
    height: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def has_coordinates(self) -> bool:
        """False for text without boxes (plain text: every box is 0, 0, 0, 0)."""
        return any(w.x or w.y or w.w or w.h for line in self.lines for w in line.words)

    def to_json(self) -> dict:
        """Compact form: ``{"width", "height", "lines": [[[text, x, y, w, h], ...], ...]}``."""
        return {
            "width": self.width,
            "height": self.height,
            "lines": [
                [[w.text, w.x, w.y, w.w, w.h] for w in line.words]
                for line in self.lines
            ],
        }

    @classmethod
    def from_json(cls, data: dict) -> PageText:
        """The inverse of ``to_json``; PageTextError when ``data`` is not of that shape."""
        if not isinstance(data, dict) or not isinstance(data.get("lines"), list):
            raise PageTextError("page text JSON must be an object with a list 'lines'")
        size = []
        for key in ("width", "height"):
            value = data.get(key)
            if value is not None and not _is_int(value):
                raise PageTextError(f"page text JSON: {key} must be an integer or null")
            size.append(value)
        lines = []
        for i, raw_line in enumerate(data["lines"], 1):
            if not isinstance(raw_line, list | tuple):
                raise PageTextError(f"page text JSON: line {i} is not a list")
            words = []
            for j, raw in enumerate(raw_line, 1):
                if not (
                    isinstance(raw, list | tuple)
                    and len(raw) == 5
                    and isinstance(raw[0], str)
                    and all(_is_int(v) for v in raw[1:])
                ):
                    raise PageTextError(
                        f"page text JSON: line {i} word {j} is not [text, x, y, w, h]"
                    )
                words.append(Word(raw[0], *raw[1:]))
            lines.append(Line(tuple(words)))
        return cls(tuple(lines), size[0], size[1])

    def scaled(self, width: int, height: int) -> PageText:
        """The same text with boxes rescaled from the file's page size to ``width`` × ``height``.

        Use it when the file's coordinates refer to another rendering of the
        page (OCR run on a larger or smaller scan). PageTextError when the file
        gives no page size to scale from.
        """
        if (self.width or 0) <= 0 or (self.height or 0) <= 0:
            raise PageTextError(
                "the page text gives no page size, so its coordinates cannot be scaled"
            )
        if width <= 0 or height <= 0:
            raise ValueError(f"cannot scale to {width}x{height}")
        if (width, height) == (self.width, self.height):
            return self
        sx, sy = width / self.width, height / self.height

        def word_scaled(w: Word) -> Word:
            x0, y0 = _round(w.x * sx), _round(w.y * sy)
            x1, y1 = _round((w.x + w.w) * sx), _round((w.y + w.h) * sy)
            return Word(w.text, x0, y0, x1 - x0, y1 - y0)

        return PageText(
            tuple(
                Line(tuple(word_scaled(w) for w in line.words)) for line in self.lines
            ),
            width,
            height,
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _round(value: float) -> int:
    """Round half up (not to even), so that boxes round the same way everywhere."""
    return int(math.floor(value + 0.5))


def _number(value: str | None) -> float | None:
    """A finite number from an attribute, or None when it is not one."""
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _page_text(
    lines: list[Line], width: int | None, height: int | None, what: str
) -> PageText:
    lines = [line for line in lines if line.words]
    if not lines:
        raise PageTextError(f"no text lines found ({what})")
    return PageText(tuple(lines), width, height)


def _decode(data: bytes) -> str:
    """UTF-8 text (a byte order mark is dropped), or PageTextError."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PageTextError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start} "
            "is not valid UTF-8); save the file as UTF-8"
        ) from None


# --------------------------------------------------------------------------- plain


def plain_read(data: bytes) -> PageText:
    """Plain UTF-8 text: each non-blank line one Line of one Word without coordinates."""
    text = _decode(data)
    lines = [line.rstrip() for line in text.splitlines()]
    return _page_text(
        [Line((Word(line, 0, 0, 0, 0),)) for line in lines if line],
        None,
        None,
        "the text is empty",
    )


# --------------------------------------------------------------------------- ALTO

_XML_DECL = re.compile(r"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")
_DTD = re.compile(r"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def _xml_root(data: bytes) -> ET.Element:
    """Parse UTF-8 XML without DTDs; PageTextError on anything else."""
    text = _decode(data)
    declared = _XML_DECL.match(text)
    if declared and declared.group(1).strip().lower().replace("_", "-") not in (
        "utf-8",
        "utf8",
    ):
        raise PageTextError(
            f"the XML declares encoding {declared.group(1)!r}; only UTF-8 is supported"
        )
    dtd = _DTD.search(text)
    if dtd:
        raise PageTextError(
            f"XML with <!{dtd.group(1).upper()} is refused (DTDs and entity declarations "
            "are not allowed, to rule out entity expansion attacks)"
        )
    parser = ET.XMLParser()
    try:
        parser.feed(data)
        return parser.close()
    except ET.ParseError as exc:
        raise PageTextError(f"not well-formed XML: {exc}") from None


def alto_read(data: bytes) -> PageText:
    """ALTO v4 (also v2, v3 and no namespace), coordinates in pixels.

    ``TextLine`` → Line, ``String`` → Word (``CONTENT``, ``HPOS``, ``VPOS``,
    ``WIDTH``, ``HEIGHT``; fractions rounded half up). ``SP`` and ``HYP`` are
    ignored, as are Strings with empty CONTENT. The page size is ``Page``
    ``WIDTH``/``HEIGHT`` when given.
    """
    root = _xml_root(data)
    ns, _, local = (
        root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    )
    if local != "alto":
        raise PageTextError(f"not an ALTO document: the root element is <{local}>")
    if ns not in ALTO_NAMESPACES:
        raise PageTextError(
            f"unknown ALTO namespace {ns!r}; expected ALTO v2, v3 or v4 "
            "(http://www.loc.gov/standards/alto/ns-v4#)"
        )
    q = (lambda name: f"{{{ns}}}{name}") if ns else (lambda name: name)

    unit_el = root.find(f"{q('Description')}/{q('MeasurementUnit')}")
    unit = (unit_el.text or "").strip() if unit_el is not None else ""
    if unit not in ("", "pixel"):
        raise PageTextError(
            f"ALTO MeasurementUnit {unit} is not supported; give coordinates in pixels"
        )

    pages = list(root.iter(q("Page")))
    if len(pages) > 1:
        raise PageTextError(
            f"the ALTO file has {len(pages)} Page elements; expected one"
        )
    width = height = None
    if pages:
        width, height = (
            _alto_size(pages[0], "WIDTH"),
            _alto_size(pages[0], "HEIGHT"),
        )

    lines = []
    for text_line in root.iter(q("TextLine")):
        words = []
        for string in text_line.iter(q("String")):
            content = (string.get("CONTENT") or "").strip()
            if content:
                words.append(_alto_word(string, content))
        lines.append(Line(tuple(words)))
    return _page_text(
        lines, width, height, "the ALTO file has no TextLine with a String"
    )


def _alto_size(page: ET.Element, attr: str) -> int | None:
    raw = page.get(attr)
    if raw is None:
        return None
    number = _number(raw)
    if number is None:
        raise PageTextError(f"ALTO Page {attr}={raw!r} is not a number")
    return _round(number)


def _alto_word(string: ET.Element, content: str) -> Word:
    box = []
    for attr in ("HPOS", "VPOS", "WIDTH", "HEIGHT"):
        raw = string.get(attr)
        number = _number(raw)
        if number is None:
            label = f"ALTO String {content!r}"
            if string.get("ID"):
                label += f" (ID {string.get('ID')})"
            if raw is None:
                raise PageTextError(f"{label} has no {attr}")
            raise PageTextError(f"{label} has {attr}={raw!r}, which is not a number")
        box.append(_round(number))
    return Word(content, *box)


# --------------------------------------------------------------------------- hOCR

_VOID = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()
)


class _Element:
    __slots__ = ("tag", "kind", "title", "id", "words", "text", "line", "orphans")

    def __init__(self, tag: str, kind: str | None, title: str, id_: str) -> None:
        self.tag = tag
        self.kind = kind  # "page", "line", "word" or None
        self.title = title
        self.id = id_
        self.words: list[Word] = []  # of a line
        self.text: list[str] = []  # of a word, or a line's own text
        self.line: _Element | None = None  # the line a word belongs to
        self.orphans: _Element | None = None  # the line of words outside lines in it


def _title_props(title: str) -> dict[str, str]:
    """hOCR properties from a title: ``bbox 0 0 10 10; x_wconf 93`` → {"bbox": "0 0 10 10", …}."""
    props: dict[str, str] = {}
    for part in re.findall(r'(?:"[^"]*"|[^;"])+', title):
        name, _, value = part.strip().partition(" ")
        if name:
            props.setdefault(name, value.strip())
    return props


class _HocrParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[_Element] = []
        self.root = _Element("", None, "", "")
        self.lines: list[_Element] = []  # in document order (of their start)
        self.page_boxes: list[tuple[int, int, int, int] | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = set(a.get("class", "").split())
        if "ocrx_word" in classes:
            kind = "word"
        elif classes & HOCR_LINE_CLASSES:
            kind = "line"
        elif "ocr_page" in classes:
            kind = "page"
        else:
            kind = None
        element = _Element(tag, kind, a.get("title", ""), a.get("id", ""))
        if kind == "line":
            self.lines.append(element)
        elif kind == "word":
            element.line = self._line_for_word()
        elif kind == "page":
            self.page_boxes.append(self._bbox(element, "page", required=False))
        if tag not in _VOID:
            self.stack.append(element)
        else:
            self._close(element)

    def _line_for_word(self) -> _Element:
        for element in reversed(self.stack):
            if element.kind == "line":
                return element
        # a word outside any line: the words of one parent element make one line
        parent = self.stack[-1] if self.stack else self.root
        if parent.orphans is None:
            parent.orphans = _Element(parent.tag, "line", "", "")
            self.lines.append(parent.orphans)
        return parent.orphans

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i].tag == tag:
                while len(self.stack) > i:
                    self._close(self.stack.pop())
                return

    def handle_data(self, data: str) -> None:
        for element in reversed(self.stack):
            if element.kind in ("word", "line"):
                element.text.append(data)
                return

    def close(self) -> None:
        super().close()
        while self.stack:
            self._close(self.stack.pop())

    def _close(self, element: _Element) -> None:
        if element.kind == "word":
            text = " ".join("".join(element.text).split())
            if text and element.line is not None:
                x0, y0, x1, y1 = self._bbox(element, "word", required=True, text=text)
                element.line.words.append(Word(text, x0, y0, x1 - x0, y1 - y0))
        elif element.kind == "line" and not element.words:
            # a line without ocrx_word children: its text is one word
            text = " ".join("".join(element.text).split())
            if text:
                x0, y0, x1, y1 = self._bbox(element, "line", required=True, text=text)
                element.words.append(Word(text, x0, y0, x1 - x0, y1 - y0))

    @staticmethod
    def _bbox(element: _Element, what: str, *, required: bool, text: str = ""):
        label = f"hOCR {what}{f' {text!r}' if text else ''}"
        if element.id:
            label += f" (id {element.id})"
        raw = _title_props(element.title).get("bbox")
        if raw is None:
            if required:
                raise PageTextError(f"{label} has no bbox in its title")
            return None
        numbers = [_number(v) for v in raw.split()]
        if len(numbers) != 4 or None in numbers:
            raise PageTextError(
                f"{label} has a bad bbox {raw!r}; expected four numbers"
            )
        return tuple(_round(n) for n in numbers)


def hocr_read(data: bytes) -> PageText:
    """hOCR (HTML or XHTML, UTF-8), read with ``html.parser``.

    Elements of class ``ocr_line``, ``ocrx_line``, ``ocr_textfloat``,
    ``ocr_caption`` or ``ocr_header`` are lines; ``ocrx_word`` elements in
    them are words, boxed by ``title="bbox x0 y0 x1 y1; …"``. A line with no
    words is one word boxed by the line's bbox; words outside any line form
    one line per parent element. The page size is the ``ocr_page`` bbox.
    """
    text = _decode(data)
    if re.search(r"<!ENTITY", text, re.IGNORECASE):
        raise PageTextError(
            "hOCR with <!ENTITY declarations is refused (entity expansion is not allowed)"
        )
    parser = _HocrParser()
    parser.feed(text)
    parser.close()
    if len(parser.page_boxes) > 1:
        raise PageTextError(
            f"the hOCR file has {len(parser.page_boxes)} ocr_page elements; expected one"
        )
    width = height = None
    if parser.page_boxes and parser.page_boxes[0] is not None:
        x0, y0, x1, y1 = parser.page_boxes[0]
        width, height = x1 - x0, y1 - y0
    return _page_text(
        [Line(tuple(line.words)) for line in parser.lines],
        width,
        height,
        "no element of class ocr_line, ocrx_line, ocr_textfloat, ocr_caption or "
        "ocr_header with text",
    )


# --------------------------------------------------------------------------- both


def page_text_read(data: bytes, kind: str) -> PageText:
    """Read page text of ``kind`` "text", "alto" or "hocr" (ValueError for another kind)."""
    readers = {"text": plain_read, "alto": alto_read, "hocr": hocr_read}
    if kind not in readers:
        raise ValueError(f"unknown page text kind {kind!r}; expected one of {KINDS}")
    return readers[kind](data)


def page_text_check(text: PageText, *, width: int, height: int) -> list[str]:
    """Problems of page text against a ``width`` × ``height`` page image; [] when none.

    Reports a page size in the file that differs from the image's (the caller
    may use ``text.scaled(width, height)`` instead), boxes with zero or
    negative width or height, and boxes outside the image by more than 1 % of
    its size. Text without coordinates (plain text) has no box problems. Bad
    boxes are named one by one up to ``CHECK_MAX_BOX_PROBLEMS``, then counted.
    """
    problems: list[str] = []
    if (text.width is not None and text.width != width) or (
        text.height is not None and text.height != height
    ):
        given = f"{'?' if text.width is None else text.width}x" + (
            "?" if text.height is None else str(text.height)
        )
        problems.append(
            f"the coordinates refer to a {given} page but the image is {width}x{height}; "
            "scale them (PageText.scaled) or fix the file"
        )
    if not text.has_coordinates:
        return problems
    slack_x, slack_y = width * CHECK_SLACK, height * CHECK_SLACK
    box_problems = []
    for i, line in enumerate(text.lines, 1):
        for j, w in enumerate(line.words, 1):
            where = f"line {i} word {j} {w.text!r} (x={w.x} y={w.y} w={w.w} h={w.h})"
            if w.w <= 0 or w.h <= 0:
                box_problems.append(f"{where} has an empty box")
            elif (
                w.x < -slack_x
                or w.y < -slack_y
                or w.x + w.w > width + slack_x
                or w.y + w.h > height + slack_y
            ):
                box_problems.append(f"{where} lies outside the {width}x{height} image")
    problems += box_problems[:CHECK_MAX_BOX_PROBLEMS]
    if len(box_problems) > CHECK_MAX_BOX_PROBLEMS:
        problems.append(
            f"… and {len(box_problems) - CHECK_MAX_BOX_PROBLEMS} more boxes that are "
            "empty or outside the image"
        )
    return problems
