"""The on-disk cache of rendered public images: storage, eviction, purge."""

from __future__ import annotations

import os

from iiif.image_cache import ImageCache, image_cache


def test_put_then_get(tmp_path):
    cache = ImageCache(tmp_path / "c", 10_000)
    assert cache.get("img-a", 1, "full/max/0/default.jpg") is None
    cache.put("img-a", 1, "full/max/0/default.jpg", b"jpeg bytes")
    assert cache.get("img-a", 1, "full/max/0/default.jpg") == b"jpeg bytes"
    assert cache.get("img-a", 2, "full/max/0/default.jpg") is None  # another version
    path = cache.path("img-a", 1, "full/max/0/default.jpg")
    assert path.parent == tmp_path / "c" / "img-a" / "v1" and path.suffix == ".jpg"
    assert not [
        p for p in path.parent.iterdir() if p.name.startswith(".")
    ]  # no temp left


def test_a_zero_budget_stores_nothing(tmp_path):
    cache = ImageCache(tmp_path / "c", 0)
    cache.put("img-a", 1, "full/max/0/default.jpg", b"x")
    assert not (tmp_path / "c").exists()
    assert cache.get("img-a", 1, "full/max/0/default.jpg") is None


def test_sweep_evicts_the_least_recently_used(tmp_path):
    cache = ImageCache(tmp_path / "c", 1000)
    for n in range(5):
        cache.put("img-a", 1, f"full/{n},/0/default.jpg", b"x" * 150)
        os.utime(
            cache.path("img-a", 1, f"full/{n},/0/default.jpg"), (1000 + n, 1000 + n)
        )
    # A hit refreshes the entry's age, so the oldest one read stays.
    assert cache.get("img-a", 1, "full/0,/0/default.jpg")
    for n in range(5, 9):
        cache.put("img-a", 1, f"full/{n},/0/default.jpg", b"x" * 150)
    assert cache.size() <= 1000
    assert cache.get("img-a", 1, "full/0,/0/default.jpg") is not None
    assert cache.get("img-a", 1, "full/1,/0/default.jpg") is None
    assert cache.get("img-a", 1, "full/8,/0/default.jpg") is not None


def test_purge_removes_one_image_only(tmp_path):
    cache = ImageCache(tmp_path / "c", 10_000)
    cache.put("img-a", 1, "full/max/0/default.jpg", b"a")
    cache.put("img-a", 2, "full/max/0/default.jpg", b"a2")
    cache.put("img-b", 1, "full/max/0/default.jpg", b"b")
    cache.purge("img-a")
    assert not (tmp_path / "c" / "img-a").exists()
    assert cache.get("img-b", 1, "full/max/0/default.jpg") == b"b"
    assert [
        p.name for p in (tmp_path / "c").iterdir() if p.name.startswith(".purge")
    ] == []
    cache.purge("img-never-cached")  # nothing to do


def test_one_cache_object_per_folder_and_budget(tmp_path):
    assert image_cache(tmp_path, 5) is image_cache(tmp_path, 5)
    assert image_cache(tmp_path, 5) is not image_cache(tmp_path, 6)
