"""Bad input in deliveries: property-based fuzzing of the batch-format reader.

Trust issue, "bad input everywhere". ``ingest.batch.read_delivery`` is the one
entry point of every ingest (command, zip upload, sample); whatever a
delivery holds it must not raise: every fault is a
:class:`~ingest.batch.BatchProblem` on the item concerned, naming a file of
the delivery and saying what is wrong, and an item that passes is fit to
load (its identifiers, dates and files are what docs/ingest-format.md
promises). Deliveries are generated in a temporary folder:

- valid items (version 1 and 2 volumes, a version-2 oral history with
  consent, JSON or YAML) mutated field by field with values of any type
  (huge numbers, infinities, NUL, traversing paths, nested junk);
- metadata files of junk bytes, other encodings, byte-order marks, numbers
  of 5,000 digits, deep nesting, YAML aliases;
- ``volumes.csv``, ``pages.csv`` and ``recordings.csv`` with junk headers
  and cells, in several encodings;
- files that are missing, empty, outside the item's folder or reached
  through a symbolic link that leaves it.

No database is used: reading a delivery is pure file work.
"""

from __future__ import annotations

import copy
import datetime
import json
import os
import re
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest.batch import (
    CONSENT_ALLOWED,
    FORMAT_V1,
    FORMAT_V2,
    PAGES_CSV_COLUMNS,
    RECORDINGS_CSV_COLUMNS,
    THEMES,
    VOLUMES_CSV_COLUMNS,
    BatchProblem,
    read_delivery,
)

FUZZ = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
#: What an identifier must be (docs/ingest-format.md, section 3), to the very end.
PUBLIC_ID = re.compile(r"[a-z0-9][a-z0-9-]{2,63}")

VOLUME = {
    "format": FORMAT_V2,
    "id": "gzdd-dongshu-v1",
    "kind": "book_volume",
    "institution": "gzlib",
    "collection": "gzdd-zi",
    "work": {
        "id": "gzdd-dongshu",
        "title": {"original": "東塾讀書記", "zh-Hans": "东塾读书记"},
        "class": "子",
        "agents": [{"name": {"original": "陳澧"}, "role": "author", "dynasty": "清"}],
    },
    "volume": 1,
    "title": {"original": "東塾讀書記 卷一", "en": "Dongshu Reading Notes"},
    "date": "清光緒",
    "language": ["lzh"],
    "places": [{"name": {"original": "廣州"}, "lat": 23.1, "lon": 113.2}],
    "rights": {
        "uri": "http://creativecommons.org/publicdomain/mark/1.0/",
        "statement": {"zh-Hant": "公有領域", "en": "Public domain"},
    },
    "access": "embargoed",
    "embargo_until": "2030-01-01",
    "themes": ["lingnan", "red"],
    "pages": [
        {"file": "pages/0001.jpg", "label": "內封", "page": 1, "text": "text/0001.txt"},
        {"file": "pages/0002.jpg", "label": "卷一", "page": 2, "folio": "一"},
    ],
    "toc": [
        {"label": "內封", "first": 1, "last": 1},
        {"label": "卷一", "first": 2, "last": 2},
    ],
}
VOLUME_V1 = {
    **{k: v for k, v in VOLUME.items() if k != "pages"},
    "format": FORMAT_V1,
    "pages": [
        {"file": "pages/0001.jpg", "label": "內封", "image_id": "fuzz-img-1"},
        {"file": "pages/0002.jpg", "label": "卷一", "alto": "alto/0002.xml"},
    ],
}
RECORDING = {
    "format": FORMAT_V2,
    "id": "oh-fuzz-1938",
    "kind": "oral_history",
    "institution": "liwan",
    "title": {"original": "西關茶樓憶一九三八"},
    "date": "2026-11",
    "language": ["yue"],
    "dialect": "廣州話",
    "agents": [{"name": {"original": "梁伯"}, "role": "interviewee"}],
    "rights": {"uri": "http://creativecommons.org/licenses/by/4.0/"},
    "access": "public",
    "consent": {
        "allowed": "reading_room",
        "valid_until": "2046-12-31",
        "signed_on": "2026-10-08",
        "form": "forms/consent.pdf",
        "notes": "同意書",
        "closed": [
            {"start": "00:00:39", "end": "00:00:48.5", "until": None, "reason": "家事"},
            {"start": 3720, "end": "01:03:10", "until": "2040-12-31"},
        ],
    },
    "media": [{"file": "interview.flac", "reference_text": "reference.txt"}],
}
BASES = {"volume": VOLUME, "volume-v1": VOLUME_V1, "recording": RECORDING}
#: The files the bases name, written into every item folder.
FILES = {
    "pages/0001.jpg": b"page one",
    "pages/0002.jpg": b"page two",
    "text/0001.txt": "內封".encode(),
    "alto/0002.xml": b"<alto/>",
    "interview.flac": b"fLaC audio",
    "reference.txt": "我姓梁".encode(),
    "forms/consent.pdf": b"%PDF-1.4",
    "empty.jpg": b"",
}
#: Placeholders a mutation may put in; replaced in the file's text after dumping,
#: because Python cannot write these itself (json.dumps refuses 5,000-digit ints).
RAW = {
    "@@HUGE@@": "9" * 5000,
    "@@HEX@@": "0x" + "f" * 5000,
    "@@DEEP@@": "[" * 3000 + "]" * 3000,
}


def write_files(folder: Path) -> None:
    for name, data in FILES.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    outside = folder.parent / "outside.jpg"
    outside.write_bytes(b"not yours")
    (folder / "pages" / "link.jpg").symlink_to(outside)


def assert_read_cleanly(root: Path) -> list:
    """The properties every delivery has, whatever it holds (see the module docstring)."""
    records = read_delivery(root)
    for record in records:
        for problem in record.problems:
            assert isinstance(problem, BatchProblem)
            # It names a file (or folder) of the delivery, and what is wrong.
            assert Path(problem.path).resolve().is_relative_to(root.resolve()), problem
            assert problem.message.strip(), problem
            text = str(problem)
            assert text.startswith(str(problem.path)) and len(text) < 20_000
        if record.ok:
            assert_fit_to_load(record)
    return records


def assert_fit_to_load(record) -> None:
    """An item that passed is what the format promises: nothing later can trip on it."""
    data = record.data
    folder = record.folder.resolve()
    if data.get("id") is not None:
        assert PUBLIC_ID.fullmatch(data["id"]), data["id"]
    if data.get("access") == "embargoed":
        datetime.date.fromisoformat(data["embargo_until"])
    assert set(data.get("themes") or []) <= THEMES
    for page in data.get("pages") or []:
        for key in ("file", "text", "alto", "hocr"):
            if page.get(key):
                path = (record.folder / page[key]).resolve()
                assert path.is_relative_to(folder) and path.is_file(), page
        if page.get("image_id"):
            assert PUBLIC_ID.fullmatch(page["image_id"]), page
    for entry in data.get("media") or []:
        path = (record.folder / entry["file"]).resolve()
        assert path.is_relative_to(folder) and path.stat().st_size > 0
    consent = data.get("consent")
    if consent is not None:
        assert consent["allowed"] in CONSENT_ALLOWED
        for passage in consent["closed"]:
            assert 0 <= passage["start"] < passage["end"] < float("inf")


# -- Values of any type -------------------------------------------------------------

text_junk = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "../outside.jpg",
            "../../etc/passwd",
            "/etc/passwd",
            "pages/../../outside.jpg",
            "pages/link.jpg",
            "pages/",
            "empty.jpg",
            "missing.jpg",
            "pages/0001.jpg",
            "x" * 300,
            ("x" * 200 + "/") * 30,
            "a\x00b.jpg",
            "gzdd-x\n",
            "oh-fuzz-1938",
            "2030-02-30",
            "2030-01-01\n",
            "2030-1-1",
            "00:00:39",
            "99:99:99",
            "１２:３０",
            "²",
            "1e400",
            "embargoed",
            "public",
            "book_volume",
            "lingnan",
            "yue",
            "zh-Hant",
            *RAW,
        ]
    ),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.sampled_from([0, -1, 1, 2**63, -(2**63), 10**100]),
    st.floats(allow_nan=True, allow_infinity=True),
    text_junk,
)
keys = st.one_of(
    st.sampled_from(
        [
            "file",
            "start",
            "end",
            "original",
            "zh-Hant",
            "first",
            "last",
            "label",
            "children",
            "role",
            "name",
            "x",
        ]
    ),
    st.text(max_size=6),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(keys, children, max_size=4),
    ),
    max_leaves=8,
)
#: YAML may have keys that are not text (numbers, booleans, null).
yaml_keys = st.one_of(keys, st.integers(-5, 5), st.booleans(), st.none())


def paths_of(value, prefix=()):
    """Every path to a value inside nested dicts and lists."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths_of(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths_of(child, (*prefix, index))


@st.composite
def mutated(draw, yaml_keys_too: bool = False):
    """A valid item changed in one to four places (set, delete, add a key)."""
    name = draw(st.sampled_from(sorted(BASES)))
    data = copy.deepcopy(BASES[name])
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in paths_of(data) if p]
        path = draw(st.sampled_from(paths))
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["set", "set", "delete", "add"]))
        if action == "set":
            parent[path[-1]] = draw(values)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            key = draw(yaml_keys if yaml_keys_too else keys)
            parent[key] = draw(values)
        if not isinstance(data, dict):  # pragma: no cover - paths are never empty
            break
    return name, data


def dump(data, form: str) -> str:
    if form == "json":
        text = json.dumps(data, ensure_ascii=False)
        for mark, raw in RAW.items():
            text = text.replace(json.dumps(mark), raw)
    else:
        text = yaml.safe_dump(data, allow_unicode=True)
        for mark, raw in RAW.items():
            text = text.replace(f"'{mark}'", raw).replace(mark, raw)
    return text


def item_name(name: str, form: str) -> str:
    stem = "item" if name == "recording" else "volume"
    return f"{stem}.json" if form == "json" else f"{stem}.yaml"


# -- Metadata files -------------------------------------------------------------------


@FUZZ
@given(item=mutated(), form=st.sampled_from(["json", "yaml"]))
@example(item=("volume", {**VOLUME, "id": "gzdd-x\n"}), form="json")
@example(item=("volume", {**VOLUME, "themes": 5}), form="json")
@example(item=("volume", {**VOLUME, "kind": ["book_volume"]}), form="json")
@example(item=("volume", {**VOLUME, "volume": "@@HUGE@@"}), form="json")
@example(item=("volume", {**VOLUME, "volume": "@@HEX@@"}), form="yaml")
@example(item=("volume", {**VOLUME, "pages": "@@DEEP@@"}), form="json")
@example(item=("volume", {**VOLUME, "embargo_until": "2030-02-30"}), form="json")
@example(item=("volume", {**VOLUME, "embargo_until": "2030-02-30"}), form="yaml")
@example(
    item=("volume", {**VOLUME, "pages": [{"file": ("x" * 200 + "/") * 30}]}),
    form="json",
)
@example(item=("volume", {**VOLUME, "pages": [{"file": "a\x00b.jpg"}]}), form="json")
@example(
    item=(
        "recording",
        {
            **RECORDING,
            "consent": {
                "allowed": "public",
                "closed": [{"start": 1e400, "end": 1e400}],
            },
        },
    ),
    form="json",
)
def test_a_mutated_item_file_is_read_without_raising(tmp_path, item, form):
    name, data = item
    with tempfile.TemporaryDirectory(dir=tmp_path) as root:
        folder = Path(root) / "item"
        write_files(folder)
        (folder / item_name(name, form)).write_text(dump(data, form), encoding="utf-8")
        records = assert_read_cleanly(Path(root))
    assert len(records) == 1


@FUZZ
@given(item=mutated(yaml_keys_too=True))
@example(item=("recording", {**RECORDING, "consent": {1: "a", "allowed": "public"}}))
@example(item=("volume", {**VOLUME, "title": {None: "x", "original": "題"}}))
def test_yaml_keys_that_are_not_text_are_problems(tmp_path, item):
    name, data = item
    with tempfile.TemporaryDirectory(dir=tmp_path) as root:
        folder = Path(root) / "item"
        write_files(folder)
        (folder / item_name(name, "yaml")).write_text(dump(data, "yaml"), "utf-8")
        assert len(assert_read_cleanly(Path(root))) == 1


junk_metadata = st.one_of(
    st.binary(max_size=200),
    st.tuples(
        st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "gbk", "big5", "latin-1"]),
        st.sampled_from(sorted(BASES)),
    ).map(
        lambda pair: json.dumps(BASES[pair[1]], ensure_ascii=False).encode(
            pair[0], "replace"
        )
    ),
    st.sampled_from(
        [
            b"",
            b"\xef\xbb\xbf{}",
            b"null",
            b"[]",
            b'"text"',
            b"9" * 5000,
            b"[" * 100_000 + b"]" * 100_000,
            b"{" * 50,
            b"a: [" * 3000,
            b"- " * 5000,
            b"a: 2030-13-01",
            b"a: !!python/object/apply:os.system ['true']",
            b"a: &a [1]\nb: *a",
            b"\x00\x00\x00",
        ]
    ),
)


@FUZZ
@given(content=junk_metadata, name=st.sampled_from(["item.json", "volume.yml"]))
def test_a_metadata_file_of_junk_is_one_clear_problem(tmp_path, content, name):
    with tempfile.TemporaryDirectory(dir=tmp_path) as root:
        folder = Path(root) / "item"
        write_files(folder)
        (folder / name).write_bytes(content)
        records = assert_read_cleanly(Path(root))
    assert len(records) == 1


def test_yaml_aliases_are_refused_before_they_expand(tmp_path):
    """Nested aliases of a 350-byte file expand to 4.8 million values ("billion laughs")."""
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    lines += [
        f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 7)
    ]
    folder = tmp_path / "item"
    write_files(folder)
    (folder / "volume.yaml").write_text("\n".join(lines), "utf-8")
    started = time.monotonic()
    (record,) = read_delivery(tmp_path)
    assert time.monotonic() - started < 5
    assert not record.ok
    assert "alias" in str(record.problems[0])
    assert record.problems[0].path == folder / "volume.yaml"


# -- CSV files ----------------------------------------------------------------------

CSVS = {
    "volumes.csv": VOLUMES_CSV_COLUMNS,
    "pages.csv": PAGES_CSV_COLUMNS,
    "recordings.csv": RECORDINGS_CSV_COLUMNS,
}
cell = st.one_of(
    text_junk.map(lambda t: t.replace("@@", "")),
    st.sampled_from(
        [
            "item",
            "pages/0001.jpg",
            "interview.flac",
            "內封=1; 卷一=2-3",
            "卷一=" + "9" * 5000,
            "卷一=2-1",
            "〔清〕陳澧撰; （宋",
            "00:00:39-00:00:48 家事; 1-2 until 2040-12-31",
            "1-2 until 2030-02-30",
            "9" * 5000 + "-" + "9" * 5001,
            "²-³",
            "１-２",
            "是",
            "maybe",
            "lingnan, blue",
            "lzh; zh-Hant",
            "reading_room",
            "a,b",
            'quote"in',
        ]
    ),
)


@st.composite
def csv_text(draw, columns):
    header = draw(
        st.lists(
            st.one_of(st.sampled_from(columns), st.text(max_size=5)),
            min_size=0,
            max_size=8,
        )
    )
    if draw(st.booleans()):
        header = [columns[0], *header]
    rows = draw(st.lists(st.lists(cell, max_size=len(header) + 2), max_size=4))

    def quoted(value: str) -> str:
        if draw(st.booleans()):
            return '"' + value.replace('"', '""') + '"'
        return value

    lines = [",".join(quoted(v) for v in line) for line in [header, *rows]]
    return draw(st.sampled_from(["\n", "\r\n", "\r"])).join(lines)


@FUZZ
@given(
    data=st.data(),
    name=st.sampled_from(sorted(CSVS)),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk", "utf-16"]),
)
@example(data=None, name="volumes.csv", encoding="utf-8")
def test_a_csv_of_junk_is_read_without_raising(tmp_path, data, name, encoding):
    if data is None:  # the explicit example: rows that once raised
        text = (
            "folder,title,toc,volume\n"
            "item,題,卷一="
            + "9" * 5000
            + ",1\n"
            + "a\x00b,題,,1\n"
            + ("x" * 300)
            + ",題,,1\n"
        )
    else:
        text = data.draw(csv_text(CSVS[name]))
    with tempfile.TemporaryDirectory(dir=tmp_path) as root:
        folder = Path(root) / "item"
        write_files(folder)
        if name == "pages.csv":
            (folder / "volume.json").write_text(
                json.dumps(
                    {k: v for k, v in VOLUME.items() if k not in ("pages", "toc")}
                )
            )
            target = folder / name
        elif name == "recordings.csv":
            target = folder / name
        else:
            target = Path(root) / name
        target.write_bytes(text.encode(encoding, "replace"))
        records = assert_read_cleanly(Path(root))
    assert records


# -- Regressions: bugs the fuzzing found ------------------------------------------


def test_an_identifier_with_a_trailing_newline_is_a_problem(tmp_path):
    """``$`` matched before a final newline, so ``"gzdd-x\\n"`` passed as an id."""
    folder = tmp_path / "item"
    write_files(folder)
    (folder / "volume.json").write_text(json.dumps({**VOLUME, "id": "gzdd-x\n"}))
    (record,) = read_delivery(tmp_path)
    assert [p.field for p in record.problems] == ["id"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"themes": 5}, "themes"),
        ({"themes": [["red"]]}, "themes[0]"),
        ({"kind": ["book_volume"]}, "kind"),
        ({"access": {"public": 1}}, "access"),
        ({"agents": [{"name": {"original": "x"}, "role": []}]}, "agents[0].role"),
        ({"places": 3}, "places"),
        ({"embargo_until": "2030-02-30"}, "embargo_until"),
        ({"pages": [{"file": "a\x00b.jpg"}]}, "pages[0].file"),
        ({"pages": [{"file": ("x" * 200 + "/") * 30}]}, "pages[0].file"),
    ],
)
def test_fields_of_the_wrong_type_or_form_are_problems(tmp_path, changes, field):
    folder = tmp_path / "item"
    write_files(folder)
    (folder / "volume.json").write_text(json.dumps({**VOLUME, **changes}))
    (record,) = read_delivery(tmp_path)
    assert field in [p.field for p in record.problems], record.problems


@pytest.mark.parametrize(
    "text",
    [
        '{"volume": ' + "9" * 5000 + "}",
        "[" * 100_000 + "]" * 100_000,
    ],
)
def test_json_too_long_or_too_deep_is_a_problem(tmp_path, text):
    folder = tmp_path / "item"
    folder.mkdir()
    (folder / "volume.json").write_text(text)
    (record,) = read_delivery(tmp_path)
    assert record.problems[0].message.startswith("invalid JSON")


@pytest.mark.parametrize("text", ["a: 0x" + "f" * 5000, "a: 2030-13-01", "[" * 10_000])
def test_yaml_that_python_cannot_build_is_a_problem(tmp_path, text):
    folder = tmp_path / "item"
    folder.mkdir()
    (folder / "volume.yaml").write_text(text)
    (record,) = read_delivery(tmp_path)
    assert record.problems[0].message.startswith("invalid YAML")


def test_consent_times_beyond_any_recording_are_problems(tmp_path):
    """1e400 is infinity in JSON: it reached a message's HH:MM:SS (OverflowError)."""
    folder = tmp_path / "item"
    write_files(folder)
    consent = {"allowed": "public", "closed": [{"start": 1e400, "end": "²"}]}
    (folder / "item.json").write_text(json.dumps({**RECORDING, "consent": consent}))
    (record,) = read_delivery(tmp_path)
    fields = {p.field for p in record.problems}
    assert {"consent.closed[0].start", "consent.closed[0].end"} <= fields


def test_a_toc_of_5000_digits_in_volumes_csv_is_a_problem(tmp_path):
    write_files(tmp_path / "item")
    (tmp_path / "volumes.csv").write_text(
        "folder,title,toc\nitem,題,卷一=" + "9" * 5000 + "\n", "utf-8"
    )
    records = read_delivery(tmp_path)
    assert any(p.field == "line 2, column toc" for r in records for p in r.problems), (
        records
    )


def test_a_folder_cell_with_a_nul_or_too_long_is_a_problem(tmp_path):
    write_files(tmp_path / "item")
    long = "x" * 300
    (tmp_path / "volumes.csv").write_text(
        f"folder,title\na\x00b,題\n{long},題\n", "utf-8"
    )
    records = read_delivery(tmp_path)
    assert [p.field for r in records for p in r.problems if "folder" in p.field] == [
        "line 2, column folder",
        "line 3, column folder",
    ]


def test_no_symlink_leads_out_of_the_item_folder(tmp_path):
    folder = tmp_path / "item"
    write_files(folder)
    pages = [{"file": "pages/link.jpg"}]
    (folder / "volume.json").write_text(
        json.dumps({**VOLUME, "pages": pages, "toc": []})
    )
    (record,) = read_delivery(tmp_path)
    assert [p.field for p in record.problems] == ["pages[0].file"]
    assert "outside" in record.problems[0].message
    assert os.path.islink(folder / "pages/link.jpg")
