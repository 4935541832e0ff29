"""The pyvips backend: pyramid levels, level choice, reuse of opened files, encoders."""

from __future__ import annotations

import io
import os

import pytest
import pyvips
from PIL import Image

from iiif.image_api import Limits, parse_request
from iiif.image_backend import BackendError, PyvipsBackend
from iiif.services import PYRAMID_OPTIONS

LIMITS = Limits(10_000, 10_000, 50_000_000)


@pytest.fixture
def pyramid(tmp_path):
    """A 2000 x 3000 pyramid made with the project's recipe, in four colours."""
    red = pyvips.Image.black(1000, 1500).new_from_image([200, 20, 20])
    green = pyvips.Image.black(1000, 1500).new_from_image([20, 200, 20])
    blue = pyvips.Image.black(1000, 1500).new_from_image([20, 20, 200])
    yellow = pyvips.Image.black(1000, 1500).new_from_image([220, 220, 20])
    top = red.join(green, "horizontal")
    bottom = blue.join(yellow, "horizontal")
    image = top.join(bottom, "vertical").cast("uchar").copy(interpretation="srgb")
    path = tmp_path / "page.tif"
    image.tiffsave(str(path), **PYRAMID_OPTIONS)
    return path


class Spy(PyvipsBackend):
    """Records which pyramid pages a render opens."""

    def __init__(self):
        super().__init__()
        self.opened = []

    def _open(self, signature, page):
        self.opened.append(page)
        return super()._open(signature, page)


def plan(path: str, width: int = 2000, height: int = 3000):
    return parse_request(*path.split("/")).plan(width, height, LIMITS)


def test_describe_reads_every_level(pyramid):
    info = PyvipsBackend().describe(pyramid)
    assert (info.width, info.height, info.color) == (2000, 3000, True)
    assert info.levels == (
        (2000, 3000),
        (1000, 1500),
        (500, 750),
        (250, 375),
        (125, 187),
    )


@pytest.mark.parametrize(
    ("request_path", "level"),
    [
        ("full/max/0/default.jpg", 0),
        ("0,0,256,256/256,/0/default.jpg", 0),  # a full-resolution tile
        ("0,0,512,512/256,/0/default.jpg", 1),  # scale factor 2
        ("0,0,2000,2048/250,256/0/default.jpg", 3),  # scale factor 8, edge tile
        ("full/125,187/0/default.jpg", 4),  # the smallest size in info.json
        ("full/100,/0/default.jpg", 4),
        ("full/300,/0/default.jpg", 2),  # needs more than level 3's 250 px
        ("full/250,/0/default.jpg", 3),
        ("full/1000,1500/0/default.jpg", 1),
        ("full/1000,3000/0/default.jpg", 0),  # distorted: the taller side decides
    ],
)
def test_the_smallest_sufficient_level_is_read(pyramid, request_path, level):
    backend = PyvipsBackend()
    info = backend.describe(pyramid)
    assert backend.level_for(info, plan(request_path)) == level


def test_a_small_tile_never_opens_the_full_resolution_page(pyramid):
    backend = Spy()
    backend.describe(pyramid)
    backend.opened.clear()
    data = backend.render(pyramid, plan("0,0,2000,2048/250,256/0/default.jpg"))
    assert backend.opened == [3]
    img = Image.open(io.BytesIO(data))
    assert img.size == (250, 256)
    assert img.getpixel((100, 100))[0] > 150  # red


def test_opened_levels_are_reused_and_a_replaced_file_is_reopened(pyramid, tmp_path):
    backend = PyvipsBackend()
    signature = (str(pyramid), pyramid.stat().st_mtime_ns, pyramid.stat().st_size)
    assert backend._open(signature, 1) is backend._open(signature, 1)
    # A re-derived file (same path, new content) is a new key.
    other = tmp_path / "other.tif"
    pyvips.Image.black(64, 64, bands=3).cast("uchar").tiffsave(
        str(other), **PYRAMID_OPTIONS
    )
    os.replace(other, pyramid)
    info = backend.describe(pyramid)
    assert (info.width, info.height) == (64, 64)


def test_missing_or_broken_files_raise_backend_errors(tmp_path):
    backend = PyvipsBackend()
    with pytest.raises(BackendError):
        backend.describe(tmp_path / "missing.tif")
    broken = tmp_path / "broken.tif"
    broken.write_bytes(b"II*\x00not a tiff at all")
    with pytest.raises(BackendError):
        backend.describe(broken)


def test_a_plan_for_another_size_is_refused(pyramid):
    with pytest.raises(BackendError):
        PyvipsBackend().render(pyramid, plan("full/max/0/default.jpg", 100, 100))


def test_encoders_strip_metadata_and_make_the_right_format(pyramid):
    backend = PyvipsBackend()
    jpg = backend.render(pyramid, plan("full/100,/0/default.jpg"))
    png = backend.render(pyramid, plan("full/100,/0/bitonal.png"))
    webp = backend.render(pyramid, plan("full/100,/0/gray.webp"))
    assert jpg[:3] == b"\xff\xd8\xff" and b"Exif" not in jpg[:200]
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and Image.open(io.BytesIO(png)).mode == "1"
    assert webp[8:12] == b"WEBP"
