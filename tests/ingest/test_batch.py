"""Batch format version 2: YAML, new page fields, found pages, pages.csv, volumes.csv.

Deliveries are built in ``tmp_path`` with tiny page files: the reader only checks
that files exist and are not empty, so no database and no real images are needed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ingest.batch import (
    FORMAT_V1,
    FORMAT_V2,
    ItemRecord,
    filename_decode,
    find_item_folders,
    parse_authors,
    parse_toc,
    read_delivery,
    read_item,
    read_volumes_csv,
    validate_item,
)

PAGE_KEYS = {
    "file",
    "label",
    "folio",
    "blank",
    "text",
    "alto",
    "hocr",
    "image_id",
    "original_filename",
}

VOLUMES_HEADER = (
    "folder,id,kind,institution,collection,work_id,work_title,work_title_zh_hans,"
    "class,subclass,edition,authors,volume,title,date,language,rights_uri,"
    "rights_statement_zh_hant,access,themes,toc\n"
)


def touch(path: Path, content: bytes = b"page") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def base(**changes) -> dict:
    """A valid version-2 volume without pages."""
    data = {
        "format": FORMAT_V2,
        "id": "gzdd-dongshu-v1",
        "kind": "book_volume",
        "institution": "gzlib",
        "collection": "gzdd-zi",
        "work": {
            "id": "gzdd-dongshu",
            "title": {"original": "東塾讀書記"},
            "class": "子",
            "agents": [
                {"name": {"original": "陳澧"}, "role": "author", "dynasty": "清"}
            ],
        },
        "volume": 1,
        "title": {"original": "東塾讀書記 卷一"},
        "language": ["lzh"],
        "rights": {"uri": "http://creativecommons.org/publicdomain/mark/1.0/"},
        "access": "public",
    }
    data.update(changes)
    return data


def write_json(folder: Path, data: dict, name: str = "volume.json") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def messages(record_or_problems) -> list[str]:
    problems = getattr(record_or_problems, "problems", record_or_problems)
    return [str(p) for p in problems]


def has(problems: list[str], *parts: str) -> bool:
    """Whether one problem mentions every part."""
    return any(all(part in m for part in parts) for m in problems)


# --------------------------------------------------------------------------
# 1. YAML metadata


YAML_VOLUME = """\
format: yuecang-batch/2
id: gzdd-dongshu-v1
kind: book_volume
institution: gzlib
work:
  id: gzdd-dongshu
  title: {original: 東塾讀書記}
  agents:
    - {name: {original: 陳澧}, role: author, dynasty: 清}
volume: 1
title: {original: 東塾讀書記 卷一}
language: [lzh]
rights: {uri: "http://creativecommons.org/publicdomain/mark/1.0/"}
access: embargoed
embargo_until: 2030-01-01
pages:
  - {file: pages/0001.jpg, label: 內封, blank: false}
  - {file: pages/0002.jpg, label: 卷一 葉三, folio: "三"}
toc:
  - {label: 卷一, first: 2, last: 2}
"""


@pytest.mark.parametrize("name", ["volume.yaml", "volume.yml", "item.yaml", "item.yml"])
def test_yaml_metadata_reads_like_json(tmp_path, name):
    folder = tmp_path / "dongshu-v1"
    touch(folder / "pages/0001.jpg")
    touch(folder / "pages/0002.jpg")
    # A byte-order mark (as some Windows editors write) is allowed.
    (folder / name).write_text("\ufeff" + YAML_VOLUME, encoding="utf-8")
    assert find_item_folders(tmp_path) == [folder]
    record = read_item(folder)
    assert record.ok, messages(record)
    assert record.metadata_path == folder / name
    assert record.data["work"]["agents"][0]["dynasty"] == "清"
    # YAML reads an unquoted date as a date; the schema keeps text, as JSON does.
    assert record.data["embargo_until"] == "2030-01-01"
    assert [p["label"] for p in record.data["pages"]] == ["內封", "卷一 葉三"]
    assert record.data["pages"][1]["folio"] == "三"


def test_yaml_error_names_the_file_and_line(tmp_path):
    folder = tmp_path / "v"
    folder.mkdir()
    meta = folder / "volume.yaml"
    meta.write_text(
        "format: yuecang-batch/2\nkind: book_volume\ntitle:\n  original: [卷一\n"
        "institution: gzlib\n",
        encoding="utf-8",
    )
    record = read_item(folder)
    assert not record.ok
    problem = record.problems[0]
    assert problem.path == meta
    assert "invalid YAML" in problem.message
    # PyYAML marks where it gave up; the line is problem_mark.line + 1.
    assert problem.field.startswith("line 5"), str(problem)


def test_yaml_top_level_must_be_a_mapping(tmp_path):
    folder = tmp_path / "v"
    folder.mkdir()
    (folder / "item.yml").write_text("- 卷一\n- 卷二\n", encoding="utf-8")
    assert has(messages(read_item(folder)), "item.yml", "top level must be a YAML")


def test_yaml_needs_version_2(tmp_path):
    folder = tmp_path / "v"
    touch(folder / "pages/0001.jpg")
    (folder / "volume.yaml").write_text(
        YAML_VOLUME.replace("yuecang-batch/2", FORMAT_V1), encoding="utf-8"
    )
    assert has(messages(read_item(folder)), "volume.yaml: format", "needs")


def test_yaml_number_where_text_is_expected_is_a_problem(tmp_path):
    folder = tmp_path / "v"
    touch(folder / "pages/0001.jpg")
    touch(folder / "pages/0002.jpg")
    text = YAML_VOLUME.replace("volume: 1\n", "volume: 1\ndate: 1884\n")
    text = text.replace('folio: "三"', "folio: 12")
    (folder / "volume.yaml").write_text(text, encoding="utf-8")
    problems = messages(read_item(folder))
    assert has(problems, "volume.yaml: date: must be text", "quotes")
    assert has(problems, "volume.yaml: pages[1].folio: must be text")


def test_two_metadata_files_in_one_folder_are_a_problem(tmp_path):
    folder = tmp_path / "v"
    touch(folder / "pages/0001.jpg")
    write_json(folder, base(pages=[{"file": "pages/0001.jpg"}]))
    (folder / "volume.yaml").write_text(YAML_VOLUME, encoding="utf-8")
    record = read_item(folder)
    assert has(messages(record), "volume.json and volume.yaml", "one metadata file")
    one = tmp_path / "w"
    touch(one / "pages/0001.jpg")
    write_json(one, base(pages=[{"file": "pages/0001.jpg"}]))
    assert read_item(one).ok


# --------------------------------------------------------------------------
# 2. New page fields


def test_version_2_page_fields_are_read(tmp_path):
    folder = tmp_path / "v"
    for n in (1, 2, 3):
        touch(folder / f"pages/{n:04}.tif")
    touch(folder / "hocr/0002.html", b"<html/>")
    pages = [
        {"file": "pages/0001.tif", "label": "內封"},
        {"file": "pages/0002.tif", "label": "卷一 葉三", "folio": "三"},
        {"file": "pages/0003.tif", "blank": True},
    ]
    pages[1]["hocr"] = "hocr/0002.html"
    write_json(folder, base(pages=pages))
    record = read_item(folder)
    assert record.ok, messages(record)
    got = record.data["pages"]
    assert all(set(p) == PAGE_KEYS for p in got)
    assert got[0] == {
        "file": "pages/0001.tif",
        "label": "內封",
        "folio": "",
        "blank": False,
        "text": None,
        "alto": None,
        "hocr": None,
        "image_id": None,
        "original_filename": "0001.tif",
    }
    assert got[1]["folio"] == "三" and got[1]["hocr"] == "hocr/0002.html"
    assert got[2]["blank"] is True


def test_version_2_page_fields_in_a_version_1_file_are_problems(tmp_path):
    folder = tmp_path / "v"
    touch(folder / "pages/0001.jpg")
    touch(folder / "hocr/0001.hocr")
    page = {
        "file": "pages/0001.jpg",
        "folio": "三",
        "blank": False,
        "hocr": "hocr/0001.hocr",
        "page": 1,
    }
    meta = write_json(folder, base(format=FORMAT_V1, pages=[page]))
    problems = messages(read_item(folder))
    for key in ("folio", "blank", "hocr", "page"):
        assert has(problems, f"{meta}: pages[0].{key}: needs 'yuecang-batch/2'"), key
    # The same page in a version-2 file is fine.
    write_json(folder, base(pages=[page]))
    assert read_item(folder).ok


def test_page_field_types_and_hocr_file_are_checked(tmp_path):
    folder = tmp_path / "v"
    touch(folder / "pages/0001.jpg")
    pages = [
        {"file": "pages/0001.jpg", "folio": 3, "blank": "是", "hocr": "hocr/0001.html"}
    ]
    meta = write_json(folder, base(pages=pages))
    problems = messages(read_item(folder))
    assert has(problems, f"{meta}: pages[0].folio: must be text")
    assert has(problems, f"{meta}: pages[0].blank: must be true or false")
    assert has(problems, f"{meta}: pages[0].hocr: hocr/0001.html does not exist")


def test_pages_are_sorted_by_page_number(tmp_path):
    folder = tmp_path / "v"
    for n in (1, 2, 3):
        touch(folder / f"p{n}.jpg")
    pages = [
        {"file": "p3.jpg", "page": 3, "label": "葉二"},
        {"file": "p1.jpg", "page": 1, "label": "內封"},
        {"file": "p2.jpg", "page": 2, "label": "葉一"},
    ]
    write_json(
        folder, base(pages=pages, toc=[{"label": "卷一", "first": 2, "last": 3}])
    )
    record = read_item(folder)
    assert record.ok, messages(record)
    assert [p["file"] for p in record.data["pages"]] == ["p1.jpg", "p2.jpg", "p3.jpg"]
    assert [p["label"] for p in record.data["pages"]] == ["內封", "葉一", "葉二"]


def test_page_numbers_duplicate_missing_or_below_one(tmp_path):
    folder = tmp_path / "v"
    for n in range(1, 6):
        touch(folder / f"p{n}.jpg")
    pages = [
        {"file": "p1.jpg", "page": 2},
        {"file": "p2.jpg", "page": 1},
        {"file": "p3.jpg", "page": 2},
        {"file": "p4.jpg"},
        {"file": "p5.jpg", "page": 0},
    ]
    meta = write_json(folder, base(pages=pages))
    record = read_item(folder)
    problems = messages(record)
    assert has(
        problems,
        f"{meta}: pages[2].page: duplicate page number 2: pages[0] and pages[2]",
    )
    assert has(problems, f"{meta}: pages[3].page: is missing")
    assert has(problems, f"{meta}: pages[4].page: must be a whole number ≥ 1")
    # With problems in the numbers the order is left as listed.
    assert [p["file"] for p in record.data["pages"]][:2] == ["p1.jpg", "p2.jpg"]


# --------------------------------------------------------------------------
# 3. Pages found from the image files


def test_pages_left_out_are_the_image_files_in_natural_order(tmp_path):
    folder = tmp_path / "v"
    for name in ("10.jpg", "2.JPG", "1.tif", "3.jp2", "4.TIFF", "5.png", "6.jpeg"):
        touch(folder / "pages" / name)
    touch(folder / "pages" / "notes.txt")  # not an image: ignored
    touch(folder / "pages" / "._2.JPG")  # macOS resource fork: ignored
    touch(folder / "cover-99.jpg")  # beside pages/: not a page when pages/ exists
    touch(folder / "text" / "2.txt", "卷一".encode())
    touch(folder / "alto" / "2.xml", b"<alto/>")
    touch(folder / "hocr" / "10.hocr", b"<html/>")
    write_json(folder, base(toc=[{"label": "卷一", "first": 2, "last": 7}]))
    record = read_item(folder)
    assert record.ok, messages(record)
    pages = record.data["pages"]
    assert [p["file"] for p in pages] == [
        "pages/1.tif",
        "pages/2.JPG",
        "pages/3.jp2",
        "pages/4.TIFF",
        "pages/5.png",
        "pages/6.jpeg",
        "pages/10.jpg",
    ]
    assert pages[1]["text"] == "text/2.txt" and pages[1]["alto"] == "alto/2.xml"
    assert pages[6]["hocr"] == "hocr/10.hocr"
    assert pages[0]["text"] is None and pages[0]["label"] == ""
    assert all(set(p) == PAGE_KEYS for p in pages)


def test_pages_in_the_item_folder_itself(tmp_path):
    folder = tmp_path / "v"
    touch(folder / "卷一 葉三 0003.jpg")
    touch(folder / "卷一 葉一 0001.jpg")
    write_json(folder, base())
    record = read_item(folder)
    assert record.ok, messages(record)
    assert [p["file"] for p in record.data["pages"]] == [
        "卷一 葉一 0001.jpg",
        "卷一 葉三 0003.jpg",
    ]


@pytest.mark.parametrize(
    ("first", "second"), [("0001.jpg", "0001.tif"), ("001.jpg", "1.jpg")]
)
def test_two_files_with_one_page_number_are_a_problem(tmp_path, first, second):
    folder = tmp_path / "v"
    touch(folder / "pages" / first)
    touch(folder / "pages" / second)
    touch(folder / "pages" / "0002.jpg")
    write_json(folder, base())
    problems = messages(read_item(folder))
    assert has(
        problems,
        str(folder / "pages"),
        f"duplicate page number 1: {first} and {second}",
    ), problems


def test_page_number_is_the_last_run_of_digits(tmp_path):
    folder = tmp_path / "v"
    for name in (
        "IMG_2024_0002.jpg",
        "IMG_2024_0001.jpg",
        "卷1 葉10.tif",
        "卷1 葉9.tif",
    ):
        touch(folder / "pages" / name)
    write_json(folder, base())
    record = read_item(folder)
    assert record.ok, messages(record)
    assert [p["original_filename"] for p in record.data["pages"]] == [
        "IMG_2024_0001.jpg",
        "IMG_2024_0002.jpg",
        "卷1 葉9.tif",
        "卷1 葉10.tif",
    ]


def test_found_page_without_digits_or_empty_is_a_problem(tmp_path):
    folder = tmp_path / "v"
    touch(folder / "pages/封面.jpg")
    touch(folder / "pages/0001.jpg", b"")
    touch(folder / "pages/0002.jpg")
    write_json(folder, base())
    problems = messages(read_item(folder))
    assert has(problems, str(folder / "pages"), "封面.jpg has no page number")
    assert has(problems, "pages/0001.jpg is empty (0 bytes)")


def test_no_page_images_is_a_problem(tmp_path):
    folder = tmp_path / "v"
    touch(folder / "pages/readme.txt")
    write_json(folder, base())
    assert has(messages(read_item(folder)), "no pages", "in pages/")


def test_pages_are_found_only_for_version_2_volumes_and_image_sets(tmp_path):
    v1 = tmp_path / "v1"
    touch(v1 / "pages/0001.jpg")
    write_json(v1, base(format=FORMAT_V1))
    assert "pages" not in read_item(v1).data
    recording = tmp_path / "oh"
    touch(recording / "0001.jpg")
    touch(recording / "interview.flac")
    write_json(
        recording,
        base(kind="oral_history", work=None, media=[{"file": "interview.flac"}]),
        "item.json",
    )
    assert "pages" not in read_item(recording).data
    images = tmp_path / "images"
    touch(images / "0001.png")
    write_json(images, base(kind="image_set", work=None), "item.json")
    assert [p["file"] for p in read_item(images).data["pages"]] == ["0001.png"]


# --------------------------------------------------------------------------
# 4. pages.csv


def test_pages_csv_gives_the_pages(tmp_path):
    folder = tmp_path / "v"
    for name in ("0001.tif", "0002.tif", "卷一 葉三.tif"):
        touch(folder / "scans" / name)
    touch(folder / "text/0002.txt", "學者之患".encode())
    touch(folder / "hocr/0002.html", b"<html/>")
    (folder / "pages.csv").write_text(
        "\ufefffile,page,label,folio,blank,text,alto,hocr,image_id\n"
        "scans/0001.tif,1,內封,,是,,,,\n"
        '"scans/卷一 葉三.tif",3,"卷一, 葉三",三,否,,,,\n'
        "scans/0002.tif,2,卷一 葉二,二,0,text/0002.txt,,hocr/0002.html,"
        "gzdd-dongshu-v1-p2\n",
        encoding="utf-8",
    )
    write_json(folder, base(toc=[{"label": "卷一", "first": 2, "last": 3}]))
    record = read_item(folder)
    assert record.ok, messages(record)
    pages = record.data["pages"]
    assert [p["file"] for p in pages] == [
        "scans/0001.tif",
        "scans/0002.tif",
        "scans/卷一 葉三.tif",
    ]
    assert pages[0]["blank"] is True and pages[1]["blank"] is False
    assert pages[2] == {
        "file": "scans/卷一 葉三.tif",
        "label": "卷一, 葉三",
        "folio": "三",
        "blank": False,
        "text": None,
        "alto": None,
        "hocr": None,
        "image_id": None,
        "original_filename": "卷一 葉三.tif",
    }
    assert pages[1]["text"] == "text/0002.txt"
    assert pages[1]["hocr"] == "hocr/0002.html"
    assert pages[1]["image_id"] == "gzdd-dongshu-v1-p2"


def test_pages_csv_problems_name_the_file_line_and_column(tmp_path):
    folder = tmp_path / "v"
    touch(folder / "0001.jpg")
    touch(folder / "0002.jpg")
    csv_path = folder / "pages.csv"
    csv_path.write_text(
        "file,page,label,blank\n"  # line 1
        "0001.jpg,1,內封,maybe\n"  # line 2: bad blank
        '0002.jpg,2,"卷一\n葉三",\n'  # lines 3-4: a quoted label over two lines
        "0009.jpg,2,,\n"  # line 5: missing file and duplicate page
        ",3,,\n",  # line 6: no file
        encoding="utf-8",
    )
    write_json(folder, base())
    problems = messages(read_item(folder))
    assert has(problems, f"{csv_path}: line 2, column blank: must be one of")
    assert has(problems, f"{csv_path}: line 5, column file: 0009.jpg does not exist")
    assert has(
        problems,
        f"{csv_path}: line 5, column page: duplicate page number 2: line 3 and line 5",
    )
    assert has(problems, f"{csv_path}: line 6, column file: is required")


def test_pages_csv_header_and_encoding_problems(tmp_path):
    folder = tmp_path / "v"
    touch(folder / "0001.jpg")
    csv_path = folder / "pages.csv"
    csv_path.write_text("file,colour\n0001.jpg,紅\n", encoding="utf-8")
    write_json(folder, base())
    assert has(
        messages(read_item(folder)),
        f"{csv_path}: line 1, column colour: unknown column",
    )
    csv_path.write_bytes("file,label\n0001.jpg,卷一\n".encode("gbk"))
    assert has(messages(read_item(folder)), f"{csv_path}: line 2", "not UTF-8")
    csv_path.write_text("label\n卷一\n", encoding="utf-8")
    assert has(messages(read_item(folder)), f"{csv_path}: line 1", "'file'")


def test_pages_csv_and_a_pages_list_are_a_problem(tmp_path):
    folder = tmp_path / "v"
    touch(folder / "0001.jpg")
    (folder / "pages.csv").write_text("file\n0001.jpg\n", encoding="utf-8")
    meta = write_json(folder, base(pages=[{"file": "0001.jpg"}]))
    assert has(messages(read_item(folder)), f"{meta}: pages: both", "pages.csv")
    write_json(folder, base(format=FORMAT_V1))
    assert has(messages(read_item(folder)), "pages.csv is read only in")


# --------------------------------------------------------------------------
# 5. volumes.csv


def dongshu_delivery(root: Path) -> Path:
    """Two volumes of 東塾讀書記: one with pages/, one with pages.csv."""
    vol1 = root / "東塾讀書記" / "冊一"
    for n in (1, 2, 3, 4):
        touch(vol1 / "pages" / f"{n:04}.tif")
    touch(vol1 / "text/0002.txt", "卷一".encode())
    vol2 = root / "東塾讀書記" / "冊二"
    for n in (1, 2, 3):
        touch(vol2 / f"IMG_{n}.jpg")
    (vol2 / "pages.csv").write_text(
        "file,label,folio,blank\n"
        "IMG_1.jpg,卷二 葉一,一,\n"
        "IMG_2.jpg,,,1\n"
        "IMG_3.jpg,卷二 葉二,二,\n",
        encoding="utf-8",
    )
    csv_path = root / "東塾讀書記" / "volumes.csv"
    csv_path.write_text(
        VOLUMES_HEADER
        + "冊一,gzdd-dongshu-v1,,gzlib,gzdd-zi,gzdd-dongshu,東塾讀書記,东塾读书记,"
        "子,儒家類,清光緒刻本,〔清〕陳澧撰; （清）陳宗誼,1,,清光緒,lzh; zh-Hant,"
        "http://creativecommons.org/publicdomain/mark/1.0/,公有領域,public,"
        '"lingnan, red","內封=1; 卷一=2-4"\n'
        "冊二,gzdd-dongshu-v2,,gzlib,gzdd-zi,gzdd-dongshu,東塾讀書記,,"
        "子,,,,2,東塾讀書記 卷二,,lzh,"
        "http://creativecommons.org/publicdomain/mark/1.0/,,,lingnan,卷二=1-3\n",
        encoding="utf-8",
    )
    return csv_path


def test_volumes_csv_delivers_two_volumes(tmp_path):
    csv_path = dongshu_delivery(tmp_path)
    records = read_volumes_csv(csv_path)
    assert [messages(r) for r in records] == [[], []]
    one, two = records
    assert (one.line, two.line) == (2, 3)
    assert one.metadata_path == csv_path
    assert one.folder == tmp_path / "東塾讀書記" / "冊一"
    assert one.data["format"] == FORMAT_V2
    assert one.data["kind"] == "book_volume"
    assert one.data["title"] == {
        "original": "東塾讀書記 第1冊",
        "zh-Hans": "东塾读书记 第1册",
    }
    assert one.data["work"] == {
        "id": "gzdd-dongshu",
        "title": {"original": "東塾讀書記", "zh-Hans": "东塾读书记"},
        "class": "子",
        "subclass": "儒家類",
        "edition": "清光緒刻本",
        "agents": [
            {"name": {"original": "陳澧撰"}, "role": "author", "dynasty": "清"},
            {"name": {"original": "陳宗誼"}, "role": "author", "dynasty": "清"},
        ],
    }
    assert one.data["language"] == ["lzh", "zh-Hant"]
    assert one.data["themes"] == ["lingnan", "red"]
    assert one.data["toc"] == [
        {"label": "內封", "first": 1, "last": 1},
        {"label": "卷一", "first": 2, "last": 4},
    ]
    assert one.data["rights"] == {
        "uri": "http://creativecommons.org/publicdomain/mark/1.0/",
        "statement": {"zh-Hant": "公有領域"},
    }
    assert one.data["volume"] == 1 and one.data["date"] == "清光緒"
    assert "access" in one.data and "access" not in two.data  # empty cell = absent
    assert [p["file"] for p in one.data["pages"]] == [
        f"pages/{n:04}.tif" for n in (1, 2, 3, 4)
    ]
    assert one.data["pages"][1]["text"] == "text/0002.txt"
    assert two.data["title"] == {"original": "東塾讀書記 卷二"}
    assert [(p["label"], p["folio"], p["blank"]) for p in two.data["pages"]] == [
        ("卷二 葉一", "一", False),
        ("", "", True),
        ("卷二 葉二", "二", False),
    ]


@pytest.mark.parametrize(
    ("written", "dynasty", "name"),
    [
        ("〔宋〕區適子", "宋", "區適子"),
        ("（宋）區適子", "宋", "區適子"),
        ("(宋) 區適子", "宋", "區適子"),
        ("〔清〕陳澧撰", "清", "陳澧撰"),
        ("區適子", None, "區適子"),
    ],
)
def test_authors_as_catalogues_write_them(written, dynasty, name):
    agents, problems = parse_authors(written)
    assert problems == []
    expected = {"name": {"original": name}, "role": "author"}
    if dynasty:
        expected["dynasty"] = dynasty
    assert agents == [expected]


def test_authors_and_toc_that_cannot_be_read():
    assert parse_authors("〔清陳澧")[1] and parse_authors("〔清〕")[1]
    toc, problems = parse_toc("內封=1; 卷上=2-10；卷下")
    assert toc == [
        {"label": "內封", "first": 1, "last": 1},
        {"label": "卷上", "first": 2, "last": 10},
    ]
    assert problems and "entry 3 '卷下'" in problems[0]


def test_volumes_csv_problems_name_line_and_column(tmp_path):
    csv_path = dongshu_delivery(tmp_path)
    text = csv_path.read_text(encoding="utf-8")
    text = text.replace("冊一,gzdd-dongshu-v1,,gzlib,", "冊一,gzdd-dongshu-v1,,,")
    text = text.replace('"lingnan, red"', '"lingnan, blue"')
    text = text.replace("卷一=2-4", "卷一=2-9")
    text = text.replace("東塾讀書記 卷二", "")  # no title and... (volume 2 derives it)
    text = text.replace(",2,,", ",二,,")  # volume not a number: no title to derive
    text = text.replace(",,,lingnan,卷二=1-3", ",,,lingnan,卷二 1-3")
    csv_path.write_text(text, encoding="utf-8")
    first, second = read_volumes_csv(csv_path)
    one, two = messages(first), messages(second)
    at = str(csv_path)
    assert has(one, f"{at}: line 2, column institution: is required")
    assert has(one, f"{at}: line 2, column themes (themes[1]): unknown theme 'blue'")
    assert has(one, f"{at}: line 2, column toc (toc[1]): first and last")
    assert has(two, f"{at}: line 3, column volume: must be a whole number")
    assert has(two, f"{at}: line 3, column title: is required")
    assert has(two, f"{at}: line 3, column toc: entry 1 '卷二 1-3'")


def test_volumes_csv_header_and_kind_problems(tmp_path):
    csv_path = dongshu_delivery(tmp_path)
    text = csv_path.read_text(encoding="utf-8")
    csv_path.write_text(text.replace(",toc\n", ",toc,colour\n", 1), encoding="utf-8")
    problems = [m for r in read_volumes_csv(csv_path) for m in messages(r)]
    assert has(problems, f"{csv_path}: line 1, column colour: unknown column")
    assert has(problems, f"{csv_path}: line 2", "header (line 1) has problems")
    csv_path.write_text(
        text.replace("冊一,gzdd-dongshu-v1,,", "冊一,gzdd-dongshu-v1,oral_history,"),
        encoding="utf-8",
    )
    assert has(
        messages(read_volumes_csv(csv_path)[0]), "line 2, column kind", "oral_history"
    )


def test_volumes_csv_folder_problems(tmp_path):
    csv_path = dongshu_delivery(tmp_path)
    rows = csv_path.read_text(encoding="utf-8").splitlines(keepends=True)
    twin = rows[1].replace("gzdd-dongshu-v1", "gzdd-dongshu-v9")
    outside = rows[2].replace("冊二,", "../elsewhere,", 1)
    missing = rows[2].replace("冊二,gzdd-dongshu-v2", "冊三,gzdd-dongshu-v2", 1)
    csv_path.write_text("".join(rows + [twin, outside, missing]), encoding="utf-8")
    problems = [messages(r) for r in read_volumes_csv(csv_path)]
    at = str(csv_path)
    assert has(
        problems[0], f"{at}: line 2, column folder: 冊一 is named twice: also line 4"
    )
    assert has(
        problems[2], f"{at}: line 4, column folder: 冊一 is named twice: also line 2"
    )
    assert has(problems[1], f"{at}: line 3, column id: gzdd-dongshu-v2 is used twice")
    assert has(problems[4], f"{at}: line 6, column id: gzdd-dongshu-v2 is used twice")
    assert has(problems[3], f"{at}: line 5, column folder", "must be a folder below")
    assert has(problems[4], f"{at}: line 6, column folder: 冊三 is not a folder")


def test_volumes_csv_page_problems_name_the_row(tmp_path):
    csv_path = dongshu_delivery(tmp_path)
    touch(tmp_path / "東塾讀書記/冊一/pages/1.tif")
    problems = messages(read_volumes_csv(csv_path)[0])
    assert has(
        problems,
        f"{csv_path}: line 2, column folder",
        "duplicate page number 1: 0001.tif and 1.tif",
    )


def test_a_folder_in_volumes_csv_with_its_own_volume_json(tmp_path):
    csv_path = dongshu_delivery(tmp_path)
    vol1 = tmp_path / "東塾讀書記" / "冊一"
    meta = write_json(vol1, base(id="gzdd-dongshu-other"))
    records = read_delivery(tmp_path)
    by_source = {(r.metadata_path.name, r.line): r for r in records}
    row = messages(by_source[("volumes.csv", 2)])
    assert has(
        row, f"{csv_path}: line 2, column folder: 冊一 also holds its own volume.json"
    )
    assert has(
        messages(by_source[("volume.json", None)]), str(meta), "volumes.csv line 2"
    )
    assert by_source[("volumes.csv", 3)].ok


# --------------------------------------------------------------------------
# 6. read_delivery


def test_read_delivery_returns_every_item_sorted_with_normalised_pages(tmp_path):
    dongshu_delivery(tmp_path / "gzdd")
    v1 = tmp_path / "a-sanzijing"
    touch(v1 / "pages/0001.jpg")
    write_json(
        v1,
        base(
            format=FORMAT_V1,
            id="gzdd-sanzijing-v1",
            pages=[{"file": "pages/0001.jpg", "label": "內封", "image_id": None}],
        ),
    )
    yaml_folder = tmp_path / "z-yaml"
    touch(yaml_folder / "pages/0001.jpg")
    touch(yaml_folder / "pages/0002.jpg")
    (yaml_folder / "volume.yaml").write_text(
        YAML_VOLUME.replace("gzdd-dongshu-v1", "gzdd-dongshu-yaml"), encoding="utf-8"
    )
    records = read_delivery(tmp_path)
    assert [messages(r) for r in records] == [[], [], [], []]
    assert [r.folder for r in records] == [
        v1,
        tmp_path / "gzdd/東塾讀書記/冊一",
        tmp_path / "gzdd/東塾讀書記/冊二",
        yaml_folder,
    ]
    assert [(r.metadata_path.name, r.line) for r in records] == [
        ("volume.json", None),
        ("volumes.csv", 2),
        ("volumes.csv", 3),
        ("volume.yaml", None),
    ]
    for record in records:
        assert record.data["pages"]
        for page in record.data["pages"]:
            assert set(page) == PAGE_KEYS
            assert isinstance(page["label"], str) and isinstance(page["folio"], str)
            assert isinstance(page["blank"], bool)
            assert (record.folder / page["file"]).is_file()
    assert records[0].data["pages"][0]["label"] == "內封"


def test_item_record_line_defaults_to_none(tmp_path):
    record = ItemRecord(folder=tmp_path, metadata_path=tmp_path / "item.json", data={})
    assert record.line is None and record.ok


def test_one_id_used_by_two_items_of_a_delivery(tmp_path):
    dongshu_delivery(tmp_path)
    other = tmp_path / "other"
    touch(other / "pages/0001.jpg")
    meta = write_json(other, base(id="gzdd-dongshu-v2"))
    records = {(r.metadata_path.name, r.line): r for r in read_delivery(tmp_path)}
    assert has(
        messages(records[("volume.json", None)]),
        f"{meta}: id: gzdd-dongshu-v2 is used twice",
        "volumes.csv line 3",
    )
    assert has(messages(records[("volumes.csv", 3)]), "line 3, column id", str(meta))
    assert records[("volumes.csv", 2)].ok


def test_problems_are_collected_not_stopped_at_the_first(tmp_path):
    folder = tmp_path / "v"
    touch(folder / "pages/0001.jpg", b"")
    touch(folder / "pages/0001.tif")
    touch(folder / "pages/封面.png")
    meta = write_json(
        folder, base(institution="", access="secret", themes=["blue"], volume=0)
    )
    problems = messages(read_item(folder))
    assert has(problems, f"{meta}: institution: is required")
    assert has(problems, f"{meta}: access: must be one of")
    assert has(problems, f"{meta}: themes[0]: unknown theme 'blue'")
    assert has(problems, f"{meta}: volume: must be a whole number ≥ 1")
    assert has(problems, "duplicate page number 1: 0001.jpg and 0001.tif")
    assert has(problems, "封面.png has no page number")
    # validate_item finds the same pages from the raw metadata, without changing it.
    raw = json.loads(meta.read_text(encoding="utf-8"))
    assert messages(validate_item(raw, meta, folder)) == problems
    assert "pages" not in raw


# --------------------------------------------------------------------------
# 7. Paths and file names


def test_paths_must_stay_inside_the_item_folder(tmp_path):
    folder = tmp_path / "v"
    touch(folder / "0001.jpg")
    touch(tmp_path / "outside.jpg")
    csv_path = folder / "pages.csv"
    csv_path.write_text(
        "file,text\n0001.jpg,../outside.jpg\n../outside.jpg,\n", encoding="utf-8"
    )
    write_json(folder, base())
    problems = messages(read_item(folder))
    assert has(
        problems, f"{csv_path}: line 2, column text", "outside the item's folder"
    )
    assert has(
        problems, f"{csv_path}: line 3, column file", "outside the item's folder"
    )
    meta = write_json(folder, base(pages=[{"file": "/etc/passwd"}]))
    csv_path.unlink()
    assert has(messages(read_item(folder)), f"{meta}: pages[0].file", "outside")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("卷一 葉三.jpg".encode(), "卷一 葉三.jpg"),
        ("卷一 葉三.jpg".encode("gbk"), "卷一 葉三.jpg"),
        ("卷三 葉三 0003.jpg".encode("big5"), "卷三 葉三 0003.jpg"),
        (os.fsdecode("卷一 葉三.jpg".encode("gbk")), "卷一 葉三.jpg"),
        ("plain 0001.jpg", "plain 0001.jpg"),
    ],
)
def test_filename_decode(raw, expected):
    assert filename_decode(raw) == expected


def test_filename_decode_always_gives_valid_text():
    for raw in (
        b"\xff\xfe\xff 0001.jpg",
        os.fsdecode(b"\xff\xfe\xff 0001.jpg"),
        "\ud800",
    ):
        name = filename_decode(raw)
        name.encode("utf-8")  # no lone surrogates: the database takes it
        assert "\ufffd" in name or "?" in name


def test_found_page_with_a_gbk_file_name(tmp_path):
    folder = tmp_path / "v"
    (folder / "pages").mkdir(parents=True)
    gbk = "卷一 葉三 0003.jpg".encode("gbk")
    with open(os.fsencode(folder / "pages") + b"/" + gbk, "wb") as out:
        out.write(b"page")
    touch(folder / "pages" / "0001.jpg")
    write_json(folder, base())
    record = read_item(folder)
    assert record.ok, messages(record)
    pages = record.data["pages"]
    assert [p["original_filename"] for p in pages] == ["0001.jpg", "卷一 葉三 0003.jpg"]
    # The file is still reachable by the path kept for reading.
    assert (folder / pages[1]["file"]).read_bytes() == b"page"
    for page in pages:
        page["original_filename"].encode("utf-8")
