"""The on-disk cache of rendered public images: layout, storage, eviction, purge."""

from __future__ import annotations

import json
import os
import stat

import pytest

from iiif.image_cache import RECORD_FILE, ImageCache, image_cache

FULL = ("full", "max", "0", "default.jpg")


def files_under(root) -> list:
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not p.relative_to(root).as_posix().startswith(".")
    )


def put(cache, public_id, version, segments, data):
    return cache.put(public_id, version, segments, data, generation=cache.generation())


def test_put_then_get(tmp_path):
    cache = ImageCache(tmp_path / "c", 10_000)
    assert cache.get("img-a", 1, FULL) is None
    assert put(cache, "img-a", 1, FULL, b"jpeg bytes") is not None
    assert cache.get("img-a", 1, FULL) == b"jpeg bytes"
    assert cache.get("img-a", 2, FULL) is None  # another version
    assert files_under(tmp_path / "c") == ["img-a~v1/full@max@0@default.jpg"]
    # Temporary files live outside every image folder and none is left.
    assert not [p for p in (tmp_path / "c" / ".incoming").iterdir()]


def test_the_path_is_the_request_as_asked(tmp_path):
    cache = ImageCache(tmp_path / "c", 10_000)
    segments = ("pct:0,0,50,50", "^!200,200", "!90", "gray.png")
    path = cache.path("img-a", 3, segments)
    assert path == tmp_path / "c" / "img-a~v3" / "pct:0,0,50,50@^!200,200@!90@gray.png"
    put(cache, "img-a", 3, segments, b"png")
    assert path.read_bytes() == b"png"
    # Readable by the front server's user (another account than the app's).
    assert stat.S_IMODE(path.stat().st_mode) & 0o004


@pytest.mark.parametrize(
    "segments",
    [
        ("..", "max", "0", "default.jpg"),
        ("full", "..", "0", "default.jpg"),
        ("full", "max", ".", "default.jpg"),
        ("full", "max", "0", "..jpg"),
        ("full", "max", "0", "../default.jpg"),
        ("full/../..", "max", "0", "default.jpg"),
        ("full", "max/x", "0", "default.jpg"),
        ("full", "max", "0", "default.jpg/x"),
        ("pct%3A0,0,1,1", "max", "0", "default.jpg"),
        ("full", "max", "0", "default"),
        ("full", "max", "0", "default.jpg.png"),
        ("full", "max", "0\x00", "default.jpg"),
        ("full", "max ", "0", "default.jpg"),
        ("full", "~", "0", "default.jpg"),
        ("full", "max", "0", ".jpg"),
        ("", "max", "0", "default.jpg"),
        ("full", "x" * 101, "0", "default.jpg"),
        ("full", "max", "0@x", "default.jpg"),  # the separator is not grammar
        ("9" * 100, "9" * 100, "9" * 50, "default.jpg"),  # a name over 255 bytes
        ("full", "max", "0"),
        ("full", "max", "0", "default.jpg", "more"),
    ],
)
def test_unsafe_segments_are_never_written(tmp_path, segments):
    cache = ImageCache(tmp_path / "c", 10_000)
    assert cache.path("img-a", 1, segments) is None
    assert put(cache, "img-a", 1, segments, b"x") is None
    assert cache.get("img-a", 1, segments) is None
    assert not (tmp_path / "c").exists() or files_under(tmp_path / "c") == []


@pytest.mark.parametrize(
    ("public_id", "version"),
    [
        ("../x", 1),
        ("img-a/..", 1),
        ("Img-A", 1),
        ("ab", 1),
        ("img-a", 0),
        ("img-a", -1),
    ],
)
def test_unsafe_identifiers_are_never_written(tmp_path, public_id, version):
    cache = ImageCache(tmp_path / "c", 10_000)
    assert cache.path(public_id, version, FULL) is None
    assert put(cache, public_id, version, FULL, b"x") is None


def test_a_zero_budget_stores_nothing(tmp_path):
    cache = ImageCache(tmp_path / "c", 0)
    put(cache, "img-a", 1, FULL, b"x")
    assert not (tmp_path / "c").exists()
    assert cache.get("img-a", 1, FULL) is None


def tile(n: int) -> tuple:
    return ("full", f"{n},", "0", "default.jpg")


def test_sweep_evicts_the_least_recently_used(tmp_path):
    cache = ImageCache(tmp_path / "c", 1000)
    for n in range(5):
        put(cache, "img-a", 1, tile(n), b"x" * 150)
        os.utime(cache.path("img-a", 1, tile(n)), (1000 + n, 1000 + n))
    # A hit refreshes the entry's age, so the oldest one read stays.
    assert cache.get("img-a", 1, tile(0))
    for n in range(5, 9):
        put(cache, "img-a", 1, tile(n), b"x" * 150)
    assert cache.size() <= 1000
    assert cache.get("img-a", 1, tile(0)) is not None
    assert cache.get("img-a", 1, tile(1)) is None
    assert cache.get("img-a", 1, tile(8)) is not None
    # Evicted entries leave no file behind; the page's folder stays while it holds any.
    assert not (tmp_path / "c" / "img-a~v1" / "full@1,@0@default.jpg").exists()
    assert (tmp_path / "c" / "img-a~v1").is_dir()


def test_a_front_server_read_counts_as_a_use(tmp_path):
    """nginx reads move the access time only; the sweep counts it."""
    cache = ImageCache(tmp_path / "c", 1000)
    for n in range(5):
        put(cache, "img-a", 1, tile(n), b"x" * 150)
        os.utime(cache.path("img-a", 1, tile(n)), (1000 + n, 1000 + n))
    path = cache.path("img-a", 1, tile(0))
    os.utime(path, (5000, 1000))  # read recently, written long ago
    for n in range(5, 9):
        put(cache, "img-a", 1, tile(n), b"x" * 150)
    assert path.exists()
    assert not cache.path("img-a", 1, tile(1)).exists()


def test_purge_removes_every_version_of_one_image_only(tmp_path):
    cache = ImageCache(tmp_path / "c", 10_000)
    put(cache, "img-a", 1, FULL, b"a")
    put(cache, "img-a", 2, FULL, b"a2")
    put(cache, "img-ab", 1, FULL, b"ab")  # shares a prefix
    put(cache, "img-b", 1, FULL, b"b")
    assert cache.purge("img-a") == 2
    assert not (tmp_path / "c" / "img-a~v1").exists()
    assert not (tmp_path / "c" / "img-a~v2").exists()
    assert cache.get("img-ab", 1, FULL) == b"ab"
    assert cache.get("img-b", 1, FULL) == b"b"
    assert [
        p.name for p in (tmp_path / "c").iterdir() if p.name.startswith(".trash")
    ] == []
    cache.purge("img-never-cached")  # nothing to do
    assert cache.purge("img-ab", "img-b") == 2
    assert files_under(tmp_path / "c") == []


def test_a_write_that_raced_a_purge_is_removed(tmp_path):
    """A response made from the state before a purge never stays on disk."""
    cache = ImageCache(tmp_path / "c", 10_000)
    before = cache.generation()  # read before the access decision
    cache.purge("img-a")  # the item is withdrawn meanwhile (nothing cached yet)
    assert cache.put("img-a", 1, FULL, b"stale", generation=before) is None
    assert files_under(tmp_path / "c") == []
    # A request that started after the purge stores normally.
    assert put(cache, "img-a", 1, FULL, b"fresh") is not None
    # An unreadable generation stores nothing.
    assert cache.put("img-a", 1, tile(1), b"x", generation=None) is None


def test_one_cache_object_per_folder_and_budget(tmp_path):
    assert image_cache(tmp_path, 5) is image_cache(tmp_path, 5)
    assert image_cache(tmp_path, 5) is not image_cache(tmp_path, 6)


RECORD = {"relpath": "derivatives/ab/page.tif", "mtime_ns": 1_700_000_000, "size": 42}


def test_a_remembered_record_is_never_used_once_its_file_is_gone_or_rewritten(
    tmp_path,
):
    cache = ImageCache(tmp_path / "c", 10_000)
    assert cache.put_record("img-a", 1, RECORD, generation=cache.generation())
    assert cache.record("img-a", 1) == RECORD  # read, then remembered
    assert cache.record("img-a", 1) == RECORD
    # Removed behind this process's back (another process purged it).
    (tmp_path / "c" / "img-a~v1" / RECORD_FILE).unlink()
    assert cache.record("img-a", 1) is None
    other = {**RECORD, "size": 4242}
    assert cache.put_record("img-a", 1, other, generation=cache.generation())
    assert cache.record("img-a", 1) == other


def test_files_are_readable_by_the_front_server_whatever_the_umask(
    tmp_path, monkeypatch
):
    from iiif import image_cache

    monkeypatch.setattr(image_cache, "_UMASK", 0o077)
    previous = os.umask(0o077)
    try:
        cache = ImageCache(tmp_path / "c", 10_000)
        path = put(cache, "img-a", 1, ("full", "max", "0", "default.jpg"), b"jpg")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_record_is_kept_purged_and_voided_like_a_tile(tmp_path):
    cache = ImageCache(tmp_path / "c", 10_000)
    assert cache.record("img-a", 1) is None
    assert cache.put_record("img-a", 1, RECORD, generation=cache.generation())
    assert cache.record("img-a", 1) == RECORD
    assert cache.record("img-a", 2) is None  # another version
    assert (tmp_path / "c" / "img-a~v1" / RECORD_FILE).is_file()
    cache.purge("img-a")
    assert cache.record("img-a", 1) is None
    # Decided before a purge, written after it: removed again.
    before = cache.generation()
    cache.purge("img-a")
    assert not cache.put_record("img-a", 1, RECORD, generation=before)
    assert cache.record("img-a", 1) is None
    assert not cache.put_record("img-a", 1, RECORD, generation=None)
    assert not ImageCache(tmp_path / "off", 0).put_record(
        "img-a", 1, RECORD, generation=""
    )
    assert not cache.put_record("../evil", 1, RECORD, generation=cache.generation())
    with pytest.raises(ValueError):
        cache.put_record("img-a", 1, {"relpath": "x"}, generation=cache.generation())


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"[]",
        json.dumps({**RECORD, "extra": 1}).encode(),
        json.dumps({"relpath": "x", "mtime_ns": 1}).encode(),
        json.dumps({**RECORD, "size": "42"}).encode(),
        json.dumps({**RECORD, "mtime_ns": True}).encode(),
        json.dumps({**RECORD, "relpath": "/etc/passwd"}).encode(),
        json.dumps({**RECORD, "relpath": "derivatives/../../secret.tif"}).encode(),
        json.dumps({**RECORD, "relpath": ""}).encode(),
    ],
)
def test_a_malformed_record_is_ignored(tmp_path, content):
    cache = ImageCache(tmp_path / "c", 10_000)
    folder = tmp_path / "c" / "img-a~v1"
    folder.mkdir(parents=True)
    (folder / RECORD_FILE).write_bytes(content)
    assert cache.record("img-a", 1) is None


def test_the_front_server_serves_tiles_but_never_a_record():
    """docs/deploy/nginx.conf's tile location matches four segments under a folder only."""
    import re
    from pathlib import Path

    conf = (Path(__file__).parents[2] / "docs" / "deploy" / "nginx.conf").read_text()
    found = re.findall(r'location ~ "(\^/iiif/3/image/\(\[a-z0-9\][^"]+)"', conf)
    assert len(found) == 1, found
    tiles = re.compile(found[0])
    match = tiles.match(
        "/iiif/3/image/gzdd-0001~v1/pct:0,0,50,50/^!200,200/!90/gray.png"
    )
    assert match
    # nginx's file for the URL ($1/$2@$3@$4@$5) is the one Django writes.
    (file,) = re.findall(r"set \$iiif_file (\S+);", conf)
    named = re.sub(r"\$(\d)", lambda m: match.group(int(m.group(1))), file)
    segments = ("pct:0,0,50,50", "^!200,200", "!90", "gray.png")
    expected = ImageCache(Path("/c"), 1).path("gzdd-0001", 1, segments)
    assert "/c" + named == str(expected)
    for path in (
        f"/iiif/3/image/gzdd-0001~v1/{RECORD_FILE}",
        "/iiif/3/image/gzdd-0001~v1/a/b/c",
        "/iiif/3/image/gzdd-0001~v1/a/b/c/d/e.jpg",
        "/iiif/3/image/gzdd-0001/0,0,256,256/256,/0/default.jpg",  # bare: Django
    ):
        assert not tiles.match(path), path


def test_a_write_that_cannot_be_put_in_place_leaves_no_file(tmp_path, monkeypatch):
    cache = ImageCache(tmp_path / "c", 10_000)
    assert put(cache, "img-a", 1, tile(1), b"first") is not None

    def refuse(src, dst):
        raise PermissionError(13, "refused", str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    assert put(cache, "img-a", 1, FULL, b"full image") is None
    monkeypatch.undo()
    assert files_under(tmp_path / "c") == ["img-a~v1/full@1,@0@default.jpg"]
    assert not list((tmp_path / "c" / ".incoming").iterdir())
    assert cache.get("img-a", 1, FULL) is None
    assert cache.get("img-a", 1, tile(1)) == b"first"


def test_a_large_entry_is_read_whole_and_an_old_one_refreshed(tmp_path):
    cache = ImageCache(tmp_path / "c", 10_000_000)
    data = os.urandom(3 * 2**20 + 17)  # more than one read
    path = put(cache, "img-a", 1, FULL, data)
    assert cache.get("img-a", 1, FULL) == data
    recent = path.stat().st_mtime - 600
    os.utime(path, (recent, recent))
    assert cache.get("img-a", 1, FULL) == data
    assert path.stat().st_mtime == pytest.approx(recent)  # read recently: untouched
    old = recent - 7200
    os.utime(path, (old, old))
    assert cache.get("img-a", 1, FULL) == data
    assert path.stat().st_mtime > old + 3600  # its LRU age refreshed


def test_an_unreadable_generation_stores_nothing(tmp_path):
    cache = ImageCache(tmp_path / "c", 10_000)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / ".generation").mkdir()  # cannot be read as a token
    assert cache.generation() is None
    (tmp_path / "c" / ".generation").rmdir()
    (tmp_path / "c" / ".generation").write_bytes(b"\xff\xfe")
    assert cache.generation() is None
    (tmp_path / "c" / ".generation").write_text("abc123")
    assert cache.generation() == "abc123"
