"""Page text with coordinates from plain text, ALTO and hOCR (ingest/ocr.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

import ingest
from ingest.ocr import (
    Line,
    PageText,
    PageTextError,
    Word,
    alto_read,
    hocr_read,
    page_text_check,
    page_text_read,
    plain_read,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "ocr"
ALTO4 = DATA / "gzfz-juan1-alto4.xml"
HOCR = DATA / "gzfz-juan1.hocr"
SANZIJING = Path(ingest.__file__).parent / "sample" / "dadian" / "sanzijing-v1"

GZFZ_COLUMNS = ["廣州府志卷一", "輿地略一", "廣州府領縣十四", "南海番禺順德東莞"]

ALTO_NS = {
    "v4": "http://www.loc.gov/standards/alto/ns-v4#",
    "v3": "http://www.loc.gov/standards/alto/ns-v3#",
    "v2": "http://www.loc.gov/standards/alto/ns-v2#",
    "none": None,
}


def alto_doc(
    body: str,
    *,
    ns: str | None = ALTO_NS["v4"],
    unit: str | None = "pixel",
    page: str = 'WIDTH="1000" HEIGHT="1500"',
) -> bytes:
    """A minimal ALTO document around ``body`` (TextLines)."""
    xmlns = f' xmlns="{ns}"' if ns else ""
    description = (
        f"<Description><MeasurementUnit>{unit}</MeasurementUnit></Description>"
        if unit is not None
        else ""
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<alto{xmlns}>{description}'
        f'<Layout><Page ID="p1" {page}><PrintSpace><TextBlock ID="b1">'
        f"{body}</TextBlock></PrintSpace></Page></Layout></alto>"
    ).encode()


LATIN_LINES = (
    '<TextLine ID="l1" HPOS="100" VPOS="100" WIDTH="700" HEIGHT="40">'
    '<String CONTENT="Canton" HPOS="100" VPOS="100" WIDTH="180" HEIGHT="40"/>'
    '<SP HPOS="280" VPOS="100" WIDTH="20"/>'
    '<String CONTENT="Customs" HPOS="300" VPOS="100" WIDTH="200" HEIGHT="40"/>'
    '<SP HPOS="500" VPOS="100" WIDTH="20"/>'
    '<String CONTENT="Ho" HPOS="520" VPOS="100" WIDTH="60" HEIGHT="40"'
    ' SUBS_TYPE="HypPart1" SUBS_CONTENT="House"/>'
    '<HYP CONTENT="-" HPOS="580" VPOS="100" WIDTH="10"/>'
    "</TextLine>"
    '<TextLine ID="l2" HPOS="100" VPOS="150" WIDTH="300" HEIGHT="40">'
    '<String CONTENT="use" HPOS="100" VPOS="150" WIDTH="90" HEIGHT="40"'
    ' SUBS_TYPE="HypPart2" SUBS_CONTENT="House"/>'
    '<SP HPOS="190" VPOS="150" WIDTH="20"/>'
    '<String CONTENT="1860" HPOS="210" VPOS="150" WIDTH="110" HEIGHT="40"/>'
    "</TextLine>"
)


def hocr_doc(body: str, *, page_bbox: str = "0 0 1000 1500") -> bytes:
    """A minimal hOCR document around ``body`` (lines and words)."""
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>t</title></head><body>"
        f"<div class='ocr_page' id='page_1' title='image \"p.tif\"; bbox {page_bbox}'>"
        f"{body}</div></body></html>"
    ).encode()


def hocr_word(text: str, bbox: str = "10 10 70 70", id_: str = "w1") -> str:
    return f"<span class='ocrx_word' id='{id_}' title='bbox {bbox}; x_wconf 95'>{text}</span>"


# ----------------------------------------------------------------------- ALTO


def test_alto_v4_vertical_columns_right_to_left():
    page = alto_read(ALTO4.read_bytes())
    assert [line.text for line in page.lines] == GZFZ_COLUMNS
    assert page.text == "\n".join(GZFZ_COLUMNS)
    assert (page.width, page.height) == (1000, 1500)
    # one String per character; columns go right to left, characters top to bottom
    assert [len(line.words) for line in page.lines] == [6, 4, 7, 8]
    assert [line.words[0].x for line in page.lines] == [790, 650, 510, 370]
    assert page.lines[2].words[6] == Word("四", 510, 740, 60, 60)


def test_alto_fractional_coordinates_are_rounded_half_up():
    # the fixture's first String is HPOS="789.6" VPOS="199.5" WIDTH="60.4" HEIGHT="60"
    assert alto_read(ALTO4.read_bytes()).lines[0].words[0] == Word(
        "廣", 790, 200, 60, 60
    )
    # half up, not to even (round(10.5) would give 10)
    body = '<TextLine><String CONTENT="州" HPOS="10.5" VPOS="11.5" WIDTH="20.4" HEIGHT="20.6"/>'
    word = alto_read(alto_doc(body + "</TextLine>")).lines[0].words[0]
    assert word == Word("州", 11, 12, 20, 21)


def test_alto_with_several_pages_refused():
    two = alto_doc(LATIN_LINES).replace(b"</Page>", b'</Page><Page ID="p2"/>')
    with pytest.raises(PageTextError, match="2 Page elements; expected one"):
        alto_read(two)


@pytest.mark.parametrize("version", list(ALTO_NS))
def test_alto_namespaces_v2_v3_v4_and_none(version):
    page = alto_read(alto_doc(LATIN_LINES, ns=ALTO_NS[version]))
    assert page.text == "Canton Customs Ho\nuse 1860"


def test_alto_latin_words_spaced_sp_and_hyp_ignored():
    page = alto_read(alto_doc(LATIN_LINES))
    assert [w.text for w in page.lines[0].words] == ["Canton", "Customs", "Ho"]
    assert page.lines[0].text == "Canton Customs Ho"
    assert page.lines[1].words[1] == Word("1860", 210, 150, 110, 40)


def test_alto_unknown_namespace_or_root_refused():
    with pytest.raises(PageTextError, match="unknown ALTO namespace"):
        alto_read(alto_doc(LATIN_LINES, ns="http://example.org/alto-ns-v9#"))
    with pytest.raises(PageTextError, match="not an ALTO document.*<html>"):
        alto_read("<html><body>廣州</body></html>".encode())


@pytest.mark.parametrize("unit", ["mm10", "inch1200"])
def test_alto_non_pixel_measurement_unit_refused(unit):
    with pytest.raises(PageTextError) as err:
        alto_read(alto_doc(LATIN_LINES, unit=unit))
    assert str(err.value) == (
        f"ALTO MeasurementUnit {unit} is not supported; give coordinates in pixels"
    )


def test_alto_measurement_unit_absent_is_pixels():
    assert alto_read(alto_doc(LATIN_LINES, unit=None)).lines[0].words[0].w == 180


def test_alto_without_page_size():
    page = alto_read(alto_doc(LATIN_LINES, page=""))
    assert (page.width, page.height) == (None, None)


def test_alto_string_without_or_with_bad_coordinates_is_named():
    no_vpos = '<TextLine><String ID="s7" CONTENT="廣" HPOS="1" WIDTH="2" HEIGHT="3"/></TextLine>'
    with pytest.raises(PageTextError, match=r"ALTO String '廣' \(ID s7\) has no VPOS"):
        alto_read(alto_doc(no_vpos))
    bad = '<TextLine><String CONTENT="州" HPOS="1" VPOS="x" WIDTH="2" HEIGHT="3"/></TextLine>'
    with pytest.raises(PageTextError, match=r"ALTO String '州' has VPOS='x'"):
        alto_read(alto_doc(bad))


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE alto [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<alto xmlns="http://www.loc.gov/standards/alto/ns-v4#"><Layout><Page><PrintSpace>
<TextBlock><TextLine><String CONTENT="&lol4;" HPOS="1" VPOS="1" WIDTH="1" HEIGHT="1"/>
</TextLine></TextBlock></PrintSpace></Page></Layout></alto>"""


def test_alto_doctype_and_entities_refused():
    with pytest.raises(PageTextError, match="<!DOCTYPE is refused"):
        alto_read(BILLION_LAUGHS)
    # a harmless-looking internal entity is refused too: nothing is expanded
    small = alto_doc(
        '<TextLine><String CONTENT="&g;" HPOS="1" VPOS="1" WIDTH="9" HEIGHT="9"/>'
        "</TextLine>"
    ).replace(b"<alto", b'<!DOCTYPE alto [<!ENTITY g "\xe5\xbb\xa3">]>\n<alto', 1)
    with pytest.raises(PageTextError, match="<!DOCTYPE is refused"):
        alto_read(small)
    # an entity declaration smuggled without a DOCTYPE
    with pytest.raises(PageTextError, match="<!ENTITY is refused"):
        alto_read(b'<!ENTITY g "x"><alto/>')


def test_alto_not_xml_not_utf8_or_empty_refused():
    with pytest.raises(PageTextError, match="not well-formed XML"):
        alto_read(b"<alto><Layout></alto>")
    with pytest.raises(PageTextError, match="not well-formed XML"):
        alto_read("廣州府志卷一".encode())
    big5 = ALTO4.read_text(encoding="utf-8").replace("UTF-8", "Big5").encode("big5")
    with pytest.raises(PageTextError, match="not UTF-8"):
        alto_read(big5)
    # valid UTF-8 bytes but declared otherwise: the parser would misread them
    with pytest.raises(PageTextError, match="declares encoding 'ISO-8859-1'"):
        alto_read(ALTO4.read_bytes().replace(b"UTF-8", b"ISO-8859-1", 1))
    with pytest.raises(PageTextError, match="no text lines"):
        alto_read(alto_doc(""))
    with pytest.raises(PageTextError, match="no text lines"):
        alto_read(
            alto_doc('<TextLine><String CONTENT="" HPOS="1" VPOS="1"/></TextLine>')
        )


# ----------------------------------------------------------------------- hOCR


def test_hocr_vertical_columns_and_latin_caption():
    page = hocr_read(HOCR.read_bytes())
    assert [line.text for line in page.lines] == [
        *GZFZ_COLUMNS,
        "Guangzhou Library & Archives",
    ]
    assert (page.width, page.height) == (1000, 1500)
    # bbox x0 y0 x1 y1 becomes x, y, w, h
    assert page.lines[4].words[0] == Word("Guangzhou", 80, 1380, 140, 40)
    assert page.lines[1].words[3] == Word("一", 650, 470, 60, 60)


def test_hocr_matches_alto_of_the_same_page():
    assert hocr_read(HOCR.read_bytes()).lines[:4] == alto_read(ALTO4.read_bytes()).lines


def test_hocr_is_read_as_html_not_xml():
    # unclosed <p>, <br>, a stray end tag, an unquoted attribute and a bare &
    # are all fine in HTML
    body = (
        "<p class='ocr_par'><span class=ocr_line title='bbox 0 0 200 40'>"
        + hocr_word("Pe</b>arl", "0 0 90 40", "w1")
        + "<br>"
        + hocr_word("R&D", "100 0 200 40", "w2")
        + "</span><p>"
    )
    assert hocr_read(hocr_doc(body)).text == "Pearl R&D"


@pytest.mark.parametrize(
    "cls", ["ocr_line", "ocrx_line", "ocr_textfloat", "ocr_caption", "ocr_header"]
)
def test_hocr_line_classes(cls):
    # two lines of that class in one paragraph, the second without ocrx_word
    body = (
        f"<p class='ocr_par'><span class='{cls}' title='bbox 0 0 60 200'>"
        f"{hocr_word('粵', '10 10 70 70')}{hocr_word('藏', '10 80 70 140')}</span>"
        f"<span class='{cls}' title='bbox 90 10 150 70'>堂</span>"
        "</p>"
    )
    assert hocr_read(hocr_doc(body)).lines == (
        Line((Word("粵", 10, 10, 60, 60), Word("藏", 10, 80, 60, 60))),
        Line((Word("堂", 90, 10, 60, 60),)),
    )


def test_hocr_words_outside_lines_make_one_line_per_parent():
    body = (
        "<p class='ocr_par'>"
        + hocr_word("Pearl", "0 0 90 40")
        + "<br>"
        + hocr_word("River", "100 0 200 40")
        + "</p><p class='ocr_par'>"
        + hocr_word("1950s", "0 50 90 90")
        + "</p>"
    )
    assert hocr_read(hocr_doc(body)).text == "Pearl River\n1950s"


def test_hocr_empty_words_ignored():
    body = (
        "<span class='ocr_line' title='bbox 0 0 60 200'>"
        + hocr_word("廣")
        + "<span class='ocrx_word' title='x_wconf 0'> </span>"
        + hocr_word("州", "10 80 70 140")
        + "</span>"
    )
    assert hocr_read(hocr_doc(body)).text == "廣州"


def test_hocr_with_several_pages_refused():
    line = (
        "<span class='ocr_line' title='bbox 0 0 60 200'>" + hocr_word("廣") + "</span>"
    )
    doc = hocr_doc(line + "</div><div class='ocr_page' title='bbox 0 0 10 10'>" + line)
    with pytest.raises(PageTextError, match="2 ocr_page elements; expected one"):
        hocr_read(doc)


def test_hocr_line_without_words_is_one_word():
    body = "<span class='ocr_line' title='bbox 5 6 65 606'>三字經</span>"
    assert hocr_read(hocr_doc(body)).lines == (Line((Word("三字經", 5, 6, 60, 600),)),)


def test_hocr_word_without_bbox_is_named():
    body = (
        "<span class='ocr_line' title='bbox 0 0 60 200'>"
        + hocr_word("廣")
        + "<span class='ocrx_word' id='word_1_9' title='x_wconf 80'>州</span></span>"
    )
    with pytest.raises(PageTextError) as err:
        hocr_read(hocr_doc(body))
    assert str(err.value) == "hOCR word '州' (id word_1_9) has no bbox in its title"


@pytest.mark.parametrize("bbox", ["10 10 70", "10 10 seventy 70", "10 10 70 70 80"])
def test_hocr_bad_bbox_refused(bbox):
    body = f"<span class='ocr_line' title='bbox 0 0 60 200'>{hocr_word('府', bbox, 'w3')}</span>"
    with pytest.raises(PageTextError, match=r"hOCR word '府' \(id w3\) has a bad bbox"):
        hocr_read(hocr_doc(body))


def test_hocr_entity_declaration_refused_but_doctype_allowed():
    assert hocr_read(
        HOCR.read_bytes()
    ).lines  # the fixture starts with an XHTML DOCTYPE
    doc = hocr_doc(
        "<span class='ocr_line' title='bbox 0 0 60 200'>" + hocr_word("&x;") + "</span>"
    ).replace(b"<!DOCTYPE html>", b'<!DOCTYPE html [<!ENTITY x "\xe5\xbb\xa3">]>')
    with pytest.raises(PageTextError, match="<!ENTITY"):
        hocr_read(doc)


def test_hocr_empty_or_not_utf8_refused():
    with pytest.raises(PageTextError, match="no text lines"):
        hocr_read(hocr_doc(""))
    with pytest.raises(PageTextError, match="no text lines"):
        hocr_read(ALTO4.read_bytes())
    with pytest.raises(PageTextError, match="not UTF-8"):
        hocr_read(HOCR.read_text(encoding="utf-8").encode("gb18030"))


# ----------------------------------------------------------------------- plain


def test_plain_text_lines_without_coordinates():
    data = (
        "\ufeff廣州府志卷一  \r\n\r\n   \n輿地略一\t\nCanton Customs House\n".encode()
    )
    page = plain_read(data)
    assert page.text == "廣州府志卷一\n輿地略一\nCanton Customs House"
    assert page.lines[0] == Line((Word("廣州府志卷一", 0, 0, 0, 0),))
    assert (page.width, page.height) == (None, None)
    assert not page.has_coordinates


def test_plain_text_empty_or_not_utf8_refused():
    with pytest.raises(PageTextError, match="no text lines"):
        plain_read(b"\n  \n\t\n")
    with pytest.raises(PageTextError, match=r"not UTF-8.*byte 0xbc at offset 0"):
        plain_read("廣州".encode("big5"))


def test_page_text_read_dispatches_on_kind():
    assert page_text_read(ALTO4.read_bytes(), "alto").text == "\n".join(GZFZ_COLUMNS)
    assert (
        page_text_read(HOCR.read_bytes(), "hocr").lines[4].text.startswith("Guangzhou")
    )
    assert page_text_read("粵藏\n".encode(), "text").text == "粵藏"
    with pytest.raises(ValueError, match="unknown page text kind 'pdf'"):
        page_text_read(b"%PDF", "pdf")


# ----------------------------------------------------------------------- model


@pytest.mark.parametrize(
    ("words", "text"),
    [
        (["廣", "州", "府", "志"], "廣州府志"),
        (["Canton", "Customs", "House"], "Canton Customs House"),
        (["光緒", "10", "年"], "光緒10年"),
        (["Canton", "（廣州）", "1860"], "Canton（廣州）1860"),
        (["□", "□", "海"], "□□海"),  # lacunae marks stay together
        (["café", "au", "lait"], "café au lait"),
    ],
)
def test_line_text_joins_cjk_without_and_latin_with_spaces(words, text):
    assert Line(tuple(Word(w, 0, 0, 1, 1) for w in words)).text == text


def test_json_round_trip_is_compact():
    page = alto_read(ALTO4.read_bytes())
    data = page.to_json()
    assert data["width"] == 1000 and data["height"] == 1500
    assert data["lines"][0][:2] == [["廣", 790, 200, 60, 60], ["州", 790, 290, 60, 60]]
    assert PageText.from_json(json.loads(json.dumps(data, ensure_ascii=False))) == page
    plain = plain_read("三字經\n".encode())
    assert plain.to_json() == {
        "width": None,
        "height": None,
        "lines": [[["三字經", 0, 0, 0, 0]]],
    }
    assert PageText.from_json(plain.to_json()) == plain


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"width": 1},
        {"lines": [[["廣", 1, 2, 3]]]},
        {"lines": [[["廣", 1, 2, 3, "4"]]]},
        {"lines": [[[7, 1, 2, 3, 4]]]},
        {"lines": ["廣"]},
        {"width": "1000", "lines": []},
    ],
)
def test_json_of_wrong_shape_refused(data):
    with pytest.raises(PageTextError, match="page text JSON"):
        PageText.from_json(data)


# ----------------------------------------------------------------------- checks


def test_check_clean_page_has_no_problems():
    assert page_text_check(alto_read(ALTO4.read_bytes()), width=1000, height=1500) == []
    assert page_text_check(hocr_read(HOCR.read_bytes()), width=1000, height=1500) == []
    assert page_text_check(plain_read("廣州\n".encode()), width=10, height=10) == []


def page_of(
    *words: Word, width: int | None = 1000, height: int | None = 1500
) -> PageText:
    return PageText((Line(words),), width, height)


def test_check_out_of_bounds_with_one_percent_slack():
    inside_slack = page_of(Word("廣", 950, 1450, 59, 64))  # reaches 1009 × 1514
    assert page_text_check(inside_slack, width=1000, height=1500) == []
    outside = page_of(Word("廣", 10, 10, 50, 50), Word("州", 950, 1450, 61, 50))
    assert page_text_check(outside, width=1000, height=1500) == [
        "line 1 word 2 '州' (x=950 y=1450 w=61 h=50) lies outside the 1000x1500 image"
    ]
    above = page_of(Word("府", 10, -16, 50, 50))
    assert len(page_text_check(above, width=1000, height=1500)) == 1


def test_check_empty_boxes():
    page = page_of(Word("廣", 10, 10, 0, 50), Word("州", 10, 70, 50, -3))
    assert page_text_check(page, width=1000, height=1500) == [
        "line 1 word 1 '廣' (x=10 y=10 w=0 h=50) has an empty box",
        "line 1 word 2 '州' (x=10 y=70 w=50 h=-3) has an empty box",
    ]


def test_check_page_size_mismatch_and_many_boxes_counted():
    page = page_of(
        *(Word("字", 1100, 100 * k, 60, 60) for k in range(15)), width=2000, height=3000
    )
    problems = page_text_check(page, width=1000, height=1500)
    assert problems[0].startswith(
        "the coordinates refer to a 2000x3000 page but the image is 1000x1500"
    )
    assert len(problems) == 1 + 10 + 1
    assert problems[-1].startswith("… and 5 more boxes")


def test_scaled_to_image_size():
    page = alto_read(ALTO4.read_bytes())
    big = page.scaled(2000, 3000)
    assert (big.width, big.height) == (2000, 3000)
    assert big.lines[0].words[0] == Word("廣", 1580, 400, 120, 120)
    assert big.text == page.text
    assert page_text_check(big, width=1000, height=1500)  # now the file is too big
    assert big.scaled(1000, 1500) == page
    # uneven factors scale edges, so neighbouring boxes stay adjacent
    row = page_of(
        Word("a", 0, 0, 1, 3),
        Word("b", 1, 0, 1, 3),
        Word("c", 2, 0, 1, 3),
        width=3,
        height=3,
    ).scaled(4, 6)
    assert row.lines[0].words == (
        Word("a", 0, 0, 1, 6),
        Word("b", 1, 0, 2, 6),
        Word("c", 3, 0, 1, 6),
    )
    with pytest.raises(PageTextError, match="no page size"):
        plain_read("廣\n".encode()).scaled(1000, 1500)


# ----------------------------------------------------------------------- sample archive


@pytest.mark.parametrize("name", [f"{n:04d}" for n in range(1, 11)])
def test_sample_alto_gives_the_sample_text(name):
    alto = alto_read((SANZIJING / "alto" / f"{name}.xml").read_bytes())
    text = (SANZIJING / "text" / f"{name}.txt").read_text(encoding="utf-8")
    assert alto.text.split("\n") == text.splitlines()
    assert alto.text == plain_read(text.encode()).text
    with Image.open(SANZIJING / "pages" / f"{name}.jpg") as image:
        width, height = image.size
    assert (alto.width, alto.height) == (width, height)
    assert page_text_check(alto, width=width, height=height) == []
