"""Safe extraction of uploaded delivery zips (ingest/zipfiles.py).

Most archives are built with ``zipfile``; the ones ``zipfile`` will not write
(GBK/Big5 names without the UTF-8 flag, NUL in a name, lying sizes, the
encrypted flag, bad CRCs) are built byte by byte with ``write_raw_zip``.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from ingest.zipfiles import (
    ZipEntryProblem,
    ZipRefused,
    zip_extract,
    zip_name_decode,
)

MiB = 1024 * 1024
BIG = 10**9  # a max_total_bytes that never gets in the way


# --- helpers -------------------------------------------------------------------------


@dataclass
class Raw:
    """One entry for ``write_raw_zip``: raw name bytes and full control of the headers."""

    name: bytes
    data: bytes = b""
    flags: int = 0
    method: int = zipfile.ZIP_STORED
    external_attr: int = (stat.S_IFREG | 0o644) << 16
    extra: bytes = b""
    crc: int | None = None  # default: the real CRC-32 of data
    file_size: int | None = None  # declared size; default: len(data)


def write_raw_zip(path: Path, entries: list[Raw]) -> Path:
    """Write a zip by hand (local headers, central directory, end record)."""
    body = bytearray()
    central = bytearray()
    for entry in entries:
        if entry.method == zipfile.ZIP_DEFLATED:
            packer = zlib.compressobj(9, zlib.DEFLATED, -15)
            payload = packer.compress(entry.data) + packer.flush()
        else:
            payload = entry.data
        crc = zlib.crc32(entry.data) if entry.crc is None else entry.crc
        size = len(entry.data) if entry.file_size is None else entry.file_size
        offset = len(body)
        common = (entry.flags, entry.method, 0, 0x21, crc, len(payload), size)
        body += struct.pack(
            "<4s2B4HL2L2H",
            b"PK\x03\x04",
            20,
            0,
            *common,
            len(entry.name),
            len(entry.extra),
        )
        body += entry.name + entry.extra + payload
        central += struct.pack(
            "<4s4B4HL2L5H2L",
            b"PK\x01\x02",
            20,
            3,  # made on Unix
            20,
            0,
            *common,
            len(entry.name),
            len(entry.extra),
            0,
            0,
            0,
            entry.external_attr,
            offset,
        )
        central += entry.name + entry.extra
    end = struct.pack(
        "<4s4H2LH",
        b"PK\x05\x06",
        0,
        0,
        len(entries),
        len(entries),
        len(central),
        len(body),
        0,
    )
    path.write_bytes(bytes(body) + bytes(central) + end)
    return path


def write_zip(path: Path, files: dict[str, bytes], **kwargs) -> Path:
    """A plain zip made by ``zipfile`` (non-ASCII names get the UTF-8 flag)."""
    with zipfile.ZipFile(path, "w", **kwargs) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def unicode_path_extra(
    utf8_name: str, raw_name: bytes, *, crc: int | None = None
) -> bytes:
    """An Info-ZIP Unicode Path extra field (0x7075)."""
    name_crc = zlib.crc32(raw_name) if crc is None else crc
    body = b"\x01" + struct.pack("<L", name_crc) + utf8_name.encode("utf-8")
    return struct.pack("<HH", 0x7075, len(body)) + body


def tree(root: Path) -> list[str]:
    """Every path under root, relative, sorted (files, folders, links)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def files_under(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """A new folder, two levels down, so a '..' escape would land inside tmp_path."""
    return tmp_path / "staging" / "delivery"


@pytest.fixture
def outside(tmp_path: Path, target: Path):
    """Asserts, after the test body, that nothing appeared in tmp_path outside target."""
    (tmp_path / "staging").mkdir()
    before = set(tree(tmp_path))
    yield
    prefix = str(target.relative_to(tmp_path))
    after = {
        p for p in tree(tmp_path) if p != prefix and not p.startswith(prefix + os.sep)
    }
    new = after - before
    assert not {p for p in new if not p.endswith(".zip")}, new


def problem_names(report) -> list[str]:
    return [problem.name for problem in report.problems]


# --- the ordinary case ---------------------------------------------------------------


def test_extracts_chinese_names_with_spaces(tmp_path, target, outside):
    archive = write_zip(
        tmp_path / "delivery.zip",
        {
            "廣州大典/": b"",
            "廣州大典/卷一/0001.tif": b"TIFF one",
            "廣州大典/卷一/0002.tif": b"TIFF two",
            "陳澧 東塾讀書記/0001 copy.jpg": b"JPEG",
            "陳澧 東塾讀書記/item.json": b'{"title": "\xe6\x9d\xb1\xe5\xa1\xbe"}',
        },
        compression=zipfile.ZIP_DEFLATED,
    )
    report = zip_extract(archive=archive, target=target, max_total_bytes=BIG)
    assert report.problems == []
    assert report.extracted == [
        "廣州大典/卷一/0001.tif",
        "廣州大典/卷一/0002.tif",
        "陳澧 東塾讀書記/0001 copy.jpg",
        "陳澧 東塾讀書記/item.json",
    ]
    assert files_under(target) == {
        "廣州大典/卷一/0001.tif": b"TIFF one",
        "廣州大典/卷一/0002.tif": b"TIFF two",
        "陳澧 東塾讀書記/0001 copy.jpg": b"JPEG",
        "陳澧 東塾讀書記/item.json": b'{"title": "\xe6\x9d\xb1\xe5\xa1\xbe"}',
    }
    # no temporary files left behind
    assert not [p for p in tree(target) if p.endswith(".part")]


def test_modes_are_644_and_755_whatever_the_zip_and_umask_say(
    tmp_path, target, outside
):
    archive = tmp_path / "modes.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        folder = zipfile.ZipInfo("private/")
        folder.external_attr = (stat.S_IFDIR | 0o700) << 16
        zf.writestr(folder, b"")
        script = zipfile.ZipInfo("private/run.sh")
        script.external_attr = (stat.S_IFREG | 0o4777) << 16  # setuid, world-writable
        zf.writestr(script, b"#!/bin/sh\n")
        locked = zipfile.ZipInfo("deep/er/locked.txt")
        locked.external_attr = (stat.S_IFREG | 0o000) << 16
        zf.writestr(locked, b"x")
    old_umask = os.umask(0o077)
    try:
        report = zip_extract(archive=archive, target=target, max_total_bytes=BIG)
    finally:
        os.umask(old_umask)
    assert report.problems == []

    def mode(p: Path) -> int:
        return stat.S_IMODE(p.stat().st_mode)

    assert mode(target) == 0o755
    assert mode(target / "private") == 0o755
    assert mode(target / "deep") == 0o755
    assert mode(target / "deep/er") == 0o755
    assert mode(target / "private/run.sh") == 0o644
    assert mode(target / "deep/er/locked.txt") == 0o644


def test_directory_entries_create_folders_only(tmp_path, target, outside):
    archive = write_zip(tmp_path / "d.zip", {"空/": b"", "空/套/": b"", "./點/": b""})
    report = zip_extract(archive=archive, target=target, max_total_bytes=BIG)
    assert report.extracted == []
    assert report.problems == []
    assert tree(target) == ["空", "空/套", "點"]
    assert (target / "空/套").is_dir()


# --- the target ----------------------------------------------------------------------


def test_target_must_be_empty_or_new(tmp_path):
    archive = write_zip(tmp_path / "a.zip", {"a.txt": b"a"})
    full = tmp_path / "full"
    full.mkdir()
    (full / "old.txt").write_text("old")
    with pytest.raises(ValueError, match="not empty"):
        zip_extract(archive=archive, target=full, max_total_bytes=BIG)
    assert tree(full) == ["old.txt"]

    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        zip_extract(archive=archive, target=not_a_folder, max_total_bytes=BIG)

    empty = tmp_path / "empty"
    empty.mkdir()
    report = zip_extract(archive=archive, target=empty, max_total_bytes=BIG)
    assert report.extracted == ["a.txt"]


# --- unsafe names --------------------------------------------------------------------


UNSAFE_NAMES = [
    pytest.param("../escape.txt", "..", id="dotdot"),
    pytest.param("廣州大典/../../escape.txt", "..", id="dotdot-nested"),
    pytest.param("ok/../../../staging/escape.txt", "..", id="dotdot-deep"),
    pytest.param("..\\..\\escape.txt", "..", id="backslash-dotdot"),
    pytest.param("廣州大典\\..\\..\\escape.txt", "..", id="backslash-dotdot-nested"),
    pytest.param("C:\\Windows\\escape.txt", "absolute", id="drive"),
    pytest.param("c:/escape.txt", "absolute", id="drive-slash"),
    pytest.param("\\\\server\\share\\escape.txt", "absolute", id="unc"),
    pytest.param("\\escape.txt", "absolute", id="backslash-root"),
]


@pytest.mark.parametrize(("name", "reason"), UNSAFE_NAMES)
def test_unsafe_names_are_refused_and_others_extracted(
    tmp_path, target, outside, name, reason
):
    archive = write_raw_zip(
        tmp_path / "evil.zip",
        [Raw(b"before.txt", b"1"), Raw(name.encode("utf-8"), b"evil", flags=0x800),
         Raw(b"after.txt", b"2")],
    )  # fmt: skip
    report = zip_extract(archive=archive, target=target, max_total_bytes=BIG)
    assert report.extracted == ["before.txt", "after.txt"]
    assert problem_names(report) == [name]
    assert reason in report.problems[0].message
    assert files_under(target) == {"before.txt": b"1", "after.txt": b"2"}
    assert not list(tmp_path.rglob("escape.txt"))


def test_absolute_unix_path_is_refused(tmp_path, target, outside):
    escape = tmp_path / "staging" / "absolute-escape.txt"
    archive = write_zip(tmp_path / "abs.zip", {str(escape): b"evil", "ok.txt": b"ok"})
    assert zipfile.ZipFile(archive).namelist()[0] == str(escape)  # really absolute
    report = zip_extract(archive=archive, target=target, max_total_bytes=BIG)
    assert problem_names(report) == [str(escape)]
    assert "absolute" in report.problems[0].message
    assert report.extracted == ["ok.txt"]
    assert not escape.exists()


def test_name_with_nul_is_refused(tmp_path, target, outside):
    archive = write_raw_zip(
        tmp_path / "nul.zip",
        [Raw(b"evil\x00.txt/../../x", b"evil"), Raw(b"ok.txt", b"ok")],
    )
    # zipfile itself cuts the name at the NUL; the decoder must not
    assert zipfile.ZipFile(archive).infolist()[0].filename == "evil"
    report = zip_extract(archive=archive, target=target, max_total_bytes=BIG)
    assert problem_names(report) == ["evil\\x00.txt/../../x"]
    assert "NUL" in report.problems[0].message
    assert tree(target) == ["ok.txt"]


def test_symlink_entries_are_refused(tmp_path, target, outside):
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        link = zipfile.ZipInfo("廣州大典/passwd")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "../../../../etc/passwd")
        zf.writestr("廣州大典/0001.tif", b"scan")
    report = zip_extract(archive=archive, target=target, max_total_bytes=BIG)
    assert problem_names(report) == ["廣州大典/passwd"]
    assert "symbolic link" in report.problems[0].message
    assert report.extracted == ["廣州大典/0001.tif"]
    assert not os.path.lexists(target / "廣州大典/passwd")


@pytest.mark.parametrize(
    "file_type", [stat.S_IFIFO, stat.S_IFCHR, stat.S_IFBLK, stat.S_IFSOCK]
)
def test_special_files_are_refused(tmp_path, target, outside, file_type):
    archive = tmp_path / "special.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        special = zipfile.ZipInfo("dev/thing")
        special.external_attr = (file_type | 0o666) << 16
        zf.writestr(special, b"")
        zf.writestr("ok.txt", b"ok")
    report = zip_extract(archive=archive, target=target, max_total_bytes=BIG)
    assert problem_names(report) == ["dev/thing"]
    assert "special file" in report.problems[0].message
    assert tree(target) == ["ok.txt"]


def test_zip_without_unix_modes_is_fine(tmp_path, target, outside):
    """Windows zips leave the upper 16 bits of external_attr at 0: plain files."""
    archive = write_raw_zip(
        tmp_path / "win.zip",
        [
            Raw(b"scan.tif", b"scan", external_attr=0x20),
            Raw(b"sub/", external_attr=0x10),
        ],
    )
    report = zip_extract(archive=archive, target=target, max_total_bytes=BIG)
    assert report.problems == []
    assert tree(target) == ["scan.tif", "sub"]


def test_windows_and_mode_only_directory_entries_are_folders(tmp_path, target, outside):
    archive = write_raw_zip(
        tmp_path / "dirs.zip",
        [
            Raw("廣州大典\\卷一\\".encode(), flags=0x800, external_attr=0x10),
            Raw(b"by-mode", external_attr=(stat.S_IFDIR | 0o755) << 16),
            Raw("廣州大典\\卷一\\0001.tif".encode(), b"scan", flags=0x800),
        ],
    )
    report = zip_extract(archive=archive, target=target, max_total_bytes=BIG)
    assert report.problems == []
    assert report.extracted == ["廣州大典/卷一/0001.tif"]
    assert (target / "廣州大典/卷一").is_dir() and (target / "by-mode").is_dir()
    assert tree(target) == [
        "by-mode",
        "廣州大典",
        "廣州大典/卷一",
        "廣州大典/卷一/0001.tif",
    ]


def test_resolved_path_check_is_a_second_line_of_defence(
    tmp_path, target, outside, monkeypatch
):
    """Even if name checking let '..' through, the resolved-path check refuses it."""
    from ingest import zipfiles

    monkeypatch.setattr(zipfiles, "_safe_parts", lambda name: name.split("/"))
    archive = write_zip(
        tmp_path / "evil.zip",
        {"../escape.txt": b"evil", "a/../../escape2.txt": b"evil"},
    )
    report = zip_extract(archive=archive, target=target, max_total_bytes=BIG)
    assert problem_names(report) == ["../escape.txt", "a/../../escape2.txt"]
    assert all("outside the target" in p.message for p in report.problems)
    assert not list(tmp_path.rglob("escape*.txt"))


def test_duplicate_names_keep_the_first(tmp_path, target, outside):
    archive = write_raw_zip(
        tmp_path / "dup.zip",
        [
            Raw("卷一/0001.tif".encode(), b"first", flags=0x800),
            Raw("卷一/0001.tif".encode(), b"second", flags=0x800),
            Raw("./卷一//0001.tif".encode(), b"third", flags=0x800),
            Raw("卷一/0002.tif".encode(), b"other", flags=0x800),
        ],
    )
    report = zip_extract(archive=archive, target=target, max_total_bytes=BIG)
    assert report.extracted == ["卷一/0001.tif", "卷一/0002.tif"]
    assert problem_names(report) == ["卷一/0001.tif", "./卷一//0001.tif"]
    assert all("only the first is kept" in p.message for p in report.problems)
    assert files_under(target) == {"卷一/0001.tif": b"first", "卷一/0002.tif": b"other"}


def test_file_clashing_with_folder_is_refused(tmp_path, target, outside):
    archive = write_raw_zip(
        tmp_path / "clash.zip",
        [
            Raw(b"a", b"file a"),
            Raw(b"a/b.txt", b"b"),
            Raw(b"c/d.txt", b"d"),
            Raw(b"c", b"c"),
        ],
    )
    report = zip_extract(archive=archive, target=target, max_total_bytes=BIG)
    assert report.extracted == ["a", "c/d.txt"]
    assert problem_names(report) == ["a/b.txt", "c"]
    assert all("clashes" in p.message for p in report.problems)
    assert files_under(target) == {"a": b"file a", "c/d.txt": b"d"}


def test_encrypted_entries_are_refused(tmp_path, target, outside):
    archive = write_raw_zip(
        tmp_path / "enc.zip",
        [Raw(b"secret.txt", b"\x8a" * 40, flags=0x1, crc=0), Raw(b"open.txt", b"open")],
    )
    report = zip_extract(archive=archive, target=target, max_total_bytes=BIG)
    assert problem_names(report) == ["secret.txt"]
    assert "encrypted" in report.problems[0].message
    assert files_under(target) == {"open.txt": b"open"}


# --- junk ----------------------------------------------------------------------------


def test_macos_and_windows_junk_is_skipped_silently(tmp_path, target, outside):
    archive = write_zip(
        tmp_path / "mac.zip",
        {
            "__MACOSX/": b"",
            "__MACOSX/廣州大典/": b"",
            "__MACOSX/廣州大典/._0001.tif": b"resource fork",
            "廣州大典/0001.tif": b"scan",
            "廣州大典/._0001.tif": b"resource fork",
            "廣州大典/.DS_Store": b"finder",
            ".DS_Store": b"finder",
            "廣州大典/Thumbs.db": b"explorer",
            "廣州大典/thumbs.db": b"explorer",
        },
    )
    report = zip_extract(archive=archive, target=target, max_total_bytes=BIG)
    assert report.problems == []
    assert report.extracted == ["廣州大典/0001.tif"]
    assert tree(target) == ["廣州大典", "廣州大典/0001.tif"]


# --- names ---------------------------------------------------------------------------


def legacy_info(raw: bytes, extra: bytes = b"") -> zipfile.ZipInfo:
    """A ZipInfo as zipfile builds it for a name without the UTF-8 flag."""
    info = zipfile.ZipInfo(raw.decode("cp437"))
    info.flag_bits = 0
    info.extra = extra
    return info


@pytest.mark.parametrize(
    ("name", "encoding"),
    [
        ("廣州大典/卷一/0001.tif", "gbk"),
        ("陳澧 東塾讀書記/0001 copy.jpg", "gbk"),
        ("广州大典/第一卷/0001.tif", "gbk"),
        ("廣州大典/卷一/0001.tif", "big5"),
        ("陳澧 東塾讀書記/0001 copy.jpg", "big5"),
        ("香港 粵語 口述歷史/訪談 01.wav", "big5"),
        ("許功蓋/0001.tif", "big5"),  # trail bytes 0x5C, the backslash
        ("廣州大典/卷一/0001.tif", "utf-8"),  # UTF-8 written without the flag
    ],
)
def test_name_decode_legacy_encodings(name, encoding):
    assert zip_name_decode(legacy_info(name.encode(encoding))) == name


def test_name_decode_tries_gbk_before_big5():
    """Bytes that are valid in both read as GBK (the documented order)."""
    raw = "臺灣".encode("big5")
    assert zip_name_decode(legacy_info(raw)) == raw.decode("gbk") != "臺灣"


def test_name_decode_keeps_cp437_when_nothing_else_fits():
    raw = b"\xff\xfe\x80 report.txt"
    assert zip_name_decode(legacy_info(raw)) == raw.decode("cp437")


def test_name_decode_utf8_flag():
    info = zipfile.ZipInfo("陳澧 東塾讀書記/0001 copy.jpg")
    info.flag_bits = 0x800
    assert zip_name_decode(info) == "陳澧 東塾讀書記/0001 copy.jpg"


def test_name_decode_unicode_path_extra_field():
    raw = "广州大典.tif".encode("gbk")
    good = legacy_info(
        raw, b"\x01\x00\x00\x00" + unicode_path_extra("廣州大典.tif", raw)
    )
    assert zip_name_decode(good) == "廣州大典.tif"
    stale = legacy_info(raw, unicode_path_extra("廣州大典.tif", raw, crc=12345))
    assert zip_name_decode(stale) == "广州大典.tif"  # CRC does not match: field ignored


def test_extracts_gbk_big5_and_unicode_path_names(tmp_path, target, outside):
    gbk = "廣州大典/卷一/0001.tif".encode("gbk")
    big5 = "許功蓋/卷二/0001.tif".encode("big5")
    mojibake = b"\xa1\xa1/0001.tif"
    extra = unicode_path_extra("陳澧 東塾讀書記/0001 copy.jpg", mojibake)
    archive = write_raw_zip(
        tmp_path / "legacy.zip",
        [Raw(gbk, b"gbk"), Raw(big5, b"big5"), Raw(mojibake, b"extra", extra=extra)],
    )
    # what zipfile alone makes of these names
    assert zipfile.ZipFile(archive).namelist()[0] == gbk.decode("cp437")
    report = zip_extract(archive=archive, target=target, max_total_bytes=BIG)
    assert report.problems == []
    assert files_under(target) == {
        "廣州大典/卷一/0001.tif": b"gbk",
        "許功蓋/卷二/0001.tif": b"big5",
        "陳澧 東塾讀書記/0001 copy.jpg": b"extra",
    }


# --- corrupt data --------------------------------------------------------------------


def test_crc_error_is_an_entry_problem_and_leaves_no_partial_file(
    tmp_path, target, outside
):
    data = os.urandom(
        3 * MiB
    )  # several 1 MiB chunks are written before the check fails
    archive = write_raw_zip(
        tmp_path / "crc.zip",
        [
            Raw(b"good.tif", b"good"),
            Raw(b"bad/0001.tif", data, crc=zlib.crc32(data) ^ 1),
            Raw(b"bad/0002.tif", b"two", method=zipfile.ZIP_DEFLATED),
        ],
    )
    report = zip_extract(archive=archive, target=target, max_total_bytes=BIG)
    assert problem_names(report) == ["bad/0001.tif"]
    assert "CRC" in report.problems[0].message
    assert report.extracted == ["good.tif", "bad/0002.tif"]
    assert tree(target) == ["bad", "bad/0002.tif", "good.tif"]


def test_corrupt_compressed_data_is_an_entry_problem(tmp_path, target, outside):
    archive = write_raw_zip(
        tmp_path / "deflate.zip",
        [
            Raw(b"broken.tif", b"page " * 1000, method=zipfile.ZIP_DEFLATED),
            Raw(b"ok", b"ok"),
        ],
    )
    raw = bytearray(archive.read_bytes())
    start = 30 + len(b"broken.tif")
    raw[start : start + 8] = b"\xff" * 8  # wreck the deflate stream
    archive.write_bytes(bytes(raw))
    report = zip_extract(archive=archive, target=target, max_total_bytes=BIG)
    assert problem_names(report) == ["broken.tif"]
    assert "corrupt" in report.problems[0].message
    assert tree(target) == ["ok"]


# --- whole-archive refusal -----------------------------------------------------------


def assert_refused_cleanly(target: Path, existed: bool) -> None:
    if existed:
        assert target.is_dir() and tree(target) == []
    else:
        assert not target.exists()


def test_not_a_zip_is_refused(tmp_path, target, outside):
    archive = tmp_path / "scan.zip"
    archive.write_bytes(b"II*\x00 this is a TIFF, not a zip" * 100)
    with pytest.raises(ZipRefused, match="not a zip"):
        zip_extract(archive=archive, target=target, max_total_bytes=BIG)
    assert_refused_cleanly(target, existed=False)


def test_truncated_zip_is_refused_and_existing_target_left_empty(
    tmp_path, target, outside
):
    whole = write_zip(tmp_path / "whole.zip", {"a.txt": b"a" * 1000, "b.txt": b"b"})
    archive = tmp_path / "cut.zip"
    archive.write_bytes(whole.read_bytes()[:-30])
    target.mkdir()
    with pytest.raises(ZipRefused):
        zip_extract(archive=archive, target=target, max_total_bytes=BIG)
    assert_refused_cleanly(target, existed=True)


def test_too_many_entries_is_refused(tmp_path, target, outside):
    archive = write_zip(tmp_path / "many.zip", {f"{i:04}.tif": b"x" for i in range(11)})
    with pytest.raises(ZipRefused, match=r"11 entries; the limit is 10"):
        zip_extract(archive=archive, target=target, max_total_bytes=BIG, max_entries=10)
    assert_refused_cleanly(target, existed=False)
    assert (
        zip_extract(
            archive=archive, target=target, max_total_bytes=BIG, max_entries=11
        ).problems
        == []
    )


def test_declared_total_over_the_cap_is_refused(tmp_path, target, outside):
    archive = write_zip(
        tmp_path / "big.zip", {"a.tif": b"a" * 6000, "b.tif": b"b" * 5000}
    )
    with pytest.raises(ZipRefused, match=r"11,000 bytes; the limit is 10,000"):
        zip_extract(archive=archive, target=target, max_total_bytes=10_000)
    assert_refused_cleanly(target, existed=False)
    report = zip_extract(archive=archive, target=target, max_total_bytes=11_000)
    assert report.extracted == ["a.tif", "b.tif"]


def test_large_highly_compressed_entry_is_refused_by_ratio(tmp_path, target, outside):
    archive = write_zip(
        tmp_path / "zeros.zip",
        {
            "bomb.tif": bytes(20 * MiB),
            "small zeros.tif": bytes(MiB),  # as compressible, but under 10 MiB
            "ok.tif": b"ok",
        },
        compression=zipfile.ZIP_DEFLATED,
    )
    report = zip_extract(archive=archive, target=target, max_total_bytes=100 * MiB)
    assert problem_names(report) == ["bomb.tif"]
    message = report.problems[0].message
    assert "20,971,520" in message and "limit 200:1" in message
    assert report.extracted == ["small zeros.tif", "ok.tif"]
    assert tree(target) == ["ok.tif", "small zeros.tif"]


def test_ratio_cap_is_configurable(tmp_path, target, outside):
    archive = write_zip(
        tmp_path / "zeros.zip",
        {"zeros.tif": bytes(20 * MiB)},
        compression=zipfile.ZIP_DEFLATED,
    )
    report = zip_extract(
        archive=archive, target=target, max_total_bytes=100 * MiB, max_ratio=100_000
    )
    assert report.problems == []
    assert (target / "zeros.tif").stat().st_size == 20 * MiB


@pytest.mark.parametrize("crc_of", ["all", "declared"])
def test_lying_header_never_writes_more_than_declared(
    tmp_path, target, outside, crc_of
):
    """A header declaring 1,000 bytes for 4 MiB of data: at most 1,000 bytes land.

    zipfile stops at the declared size; the data then fails its CRC (an entry
    problem) unless the liar also faked the CRC of the first 1,000 bytes.
    """
    data = bytes(4 * MiB)
    crc = zlib.crc32(data if crc_of == "all" else data[:1000])
    archive = write_raw_zip(
        tmp_path / "liar.zip",
        [Raw(b"liar.tif", data, method=zipfile.ZIP_DEFLATED, file_size=1000, crc=crc),
         Raw(b"ok.tif", b"ok")],
    )  # fmt: skip
    try:
        report = zip_extract(archive=archive, target=target, max_total_bytes=BIG)
    except ZipRefused:
        assert_refused_cleanly(target, existed=False)
        return
    assert "ok.tif" in report.extracted
    sizes = {p: (target / p).stat().st_size for p in tree(target)}
    assert max(sizes.values()) <= 1000
    if crc_of == "all":
        assert problem_names(report) == ["liar.tif"]
        assert "liar.tif" not in sizes


class FakeEntry(io.BytesIO):
    """Stands in for zipfile's entry stream, yielding more than the header declares."""


def fake_open(monkeypatch, contents: dict[str, bytes]) -> None:
    """Make ZipFile.open return the given bytes for the named entries."""
    real_open = zipfile.ZipFile.open

    def open_(self, name, *args, **kwargs):
        key = name.filename if isinstance(name, zipfile.ZipInfo) else name
        if key in contents:
            return FakeEntry(contents[key])
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", open_)


def test_entry_writing_more_than_declared_refuses_the_archive(
    tmp_path, target, outside, monkeypatch
):
    """The byte count guards even a zip reader that does not stop at the declared size."""
    archive = write_zip(
        tmp_path / "liar.zip", {"first.tif": b"first", "liar.tif": b"x" * 100}
    )
    fake_open(monkeypatch, {"liar.tif": b"x" * (3 * MiB)})
    with pytest.raises(ZipRefused) as refused:
        zip_extract(archive=archive, target=target, max_total_bytes=BIG)
    message = str(refused.value)
    assert "liar.tif" in message and "100 bytes" in message and "1,048,576" in message
    assert_refused_cleanly(target, existed=False)  # first.tif was removed again


def test_total_written_over_the_cap_refuses_the_archive(
    tmp_path, target, outside, monkeypatch
):
    archive = write_zip(
        tmp_path / "liar.zip", {"a.tif": b"a" * 600, "b.tif": b"b" * 300}
    )
    fake_open(monkeypatch, {"b.tif": b"b" * 5000})
    target.mkdir()
    with pytest.raises(ZipRefused) as refused:
        zip_extract(archive=archive, target=target, max_total_bytes=1000)
    message = str(refused.value)
    assert "b.tif" in message and "1,000" in message and "5,600" in message
    assert_refused_cleanly(target, existed=True)


# --- how files are written -----------------------------------------------------------


class ProbeEntry(io.BytesIO):
    """An entry stream that records read sizes and what the folder holds meanwhile."""

    def __init__(self, data: bytes, folder: Path, final: str):
        super().__init__(data)
        self.folder, self.final = folder, final
        self.sizes: list[int | None] = []
        self.listings: list[list[str]] = []

    def read(self, size=-1):
        self.sizes.append(size)
        self.listings.append(sorted(os.listdir(self.folder)))
        return super().read(size)


def test_streams_in_1_mib_chunks_through_a_temporary_name(
    tmp_path, target, outside, monkeypatch
):
    data = os.urandom(2 * MiB + 123)
    archive = write_zip(tmp_path / "scan.zip", {"卷一/0001.tif": data})
    probe = ProbeEntry(data, target / "卷一", "0001.tif")
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, name, *a, **k: probe)
    report = zip_extract(archive=archive, target=target, max_total_bytes=BIG)
    assert report.extracted == ["卷一/0001.tif"]
    assert probe.sizes == [MiB] * 4  # 1 + 1 + the rest + the empty read at the end
    for (
        listing
    ) in probe.listings:  # while writing: one temporary file, never the real name
        assert len(listing) == 1 and listing[0] != "0001.tif"
        assert listing[0].endswith(".part")
    assert tree(target) == ["卷一", "卷一/0001.tif"]
    assert (target / "卷一/0001.tif").read_bytes() == data


def test_unexpected_failure_mid_file_leaves_nothing(
    tmp_path, target, outside, monkeypatch
):
    class Boom(Exception):
        pass

    class Failing(io.BytesIO):
        def read(self, size=-1):
            if self.tell():
                raise Boom("disk went away")
            return super().read(size)

    archive = write_zip(
        tmp_path / "scan.zip", {"done.tif": b"done", "half.tif": bytes(2 * MiB)}
    )
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(
        zipfile.ZipFile,
        "open",
        lambda self, info, *a, **k: (
            Failing(bytes(2 * MiB))
            if info.filename == "half.tif"
            else real_open(self, info)
        ),
    )
    with pytest.raises(Boom):
        zip_extract(archive=archive, target=target, max_total_bytes=BIG)
    assert not target.exists()


def test_problem_dataclass_reads_well():
    problem = ZipEntryProblem(name="../x", message="has '..' in its path")
    assert str(problem) == "../x: has '..' in its path"
