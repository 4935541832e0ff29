"""The pyvips backend: pyramid levels, level choice, reuse of opened files, encoders."""

from __future__ import annotations

import io
import os

import pytest
import pyvips
import tifffile
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
    """Records which pyramid pages a render opens (libvips) or reads tiles of."""

    def __init__(self):
        super().__init__()
        self.opened = []
        self.tiles_of = []

    def _open(self, signature, page):
        self.opened.append(page)
        return super()._open(signature, page)

    def _jpeg_level(self, signature, level, size):
        self.tiles_of.append(level)
        return super()._jpeg_level(signature, level, size)

    def _stored_tile(self, *args):
        data = super()._stored_tile(*args)
        self.stored = data is not None
        return data

    def _composed(self, *args):
        data = super()._composed(*args)
        self.composed = data is not None
        return data


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
    # Put together from level 3's own tiles (an edge tile: no scaling needed).
    assert backend.opened == [] and set(backend.tiles_of) == {3}
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


# Whole stored tiles ---------------------------------------------------------------


def stored_tile(path, page: int, index: int) -> bytes:
    """The raw JPEG data of one tile of one TIFF page, as the file holds it."""
    with tifffile.TiffFile(path) as tif:
        level = tif.pages[page]
        with open(path, "rb") as fh:
            fh.seek(level.dataoffsets[index])
            return fh.read(level.databytecounts[index])


def level_pixels(path, page: int, box: tuple[int, int, int, int]) -> pyvips.Image:
    left, top, width, height = box
    level = pyvips.Image.new_from_file(str(path), page=page)
    return level.crop(left, top, width, height)


@pytest.mark.parametrize(
    ("request_path", "page", "index", "box"),
    [
        # Full resolution, tile (1, 1) of 8 across.
        ("256,256,256,256/256,/0/default.jpg", 0, 9, (256, 256, 256, 256)),
        # Scale factor 2 (level 1, 1000 x 1500, 4 tiles across), tile (1, 2).
        ("512,1024,512,512/256,/0/color.jpg", 1, 9, (256, 512, 256, 256)),
        # The explicit size form of the same tile.
        ("512,1024,512,512/256,256/0/default.jpg", 1, 9, (256, 512, 256, 256)),
    ],
)
def test_a_whole_stored_tile_is_sent_as_the_file_holds_it(
    pyramid, request_path, page, index, box
):
    data = PyvipsBackend().render(pyramid, plan(request_path))
    raw = stored_tile(pyramid, page, index)
    # The tile's own entropy-coded data, after the file's tables: no re-encoding.
    assert data.startswith(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    assert data.endswith(raw[2:])
    decoded = pyvips.Image.new_from_buffer(data, "")
    assert (decoded.width, decoded.height, decoded.bands) == (256, 256, 3)
    # Exactly the pyramid's pixels, as libvips decodes them from the TIFF.
    assert (decoded - level_pixels(pyramid, page, box)).abs().max() == 0
    # And a standard JPEG to another decoder too.
    assert Image.open(io.BytesIO(data)).size == (256, 256)


@pytest.mark.parametrize(
    "request_path",
    [
        "1792,0,208,256/208,/0/default.jpg",  # right edge: padded in the file
        "0,2816,256,184/256,/0/default.jpg",  # bottom edge
        "256,256,256,256/256,/90/default.jpg",  # rotated
        "256,256,256,256/256,/!0/default.jpg",  # mirrored
        "256,256,256,256/256,/0/gray.jpg",
        "256,256,256,256/256,/0/default.png",
        "256,256,256,256/128,/0/default.jpg",  # scaled
        "256,256,255,256/255,/0/default.jpg",  # off the grid
        "0,0,2000,2992/125,/0/default.jpg",  # level 4: 187 rows is not 3000 / 16
    ],
)
def test_anything_but_a_whole_stored_tile_is_rendered(pyramid, request_path):
    backend = Spy()
    backend.describe(pyramid)
    backend.opened.clear()
    resolved = plan(request_path)
    data = backend.render(pyramid, resolved)
    assert not backend.stored
    # Edge and off-grid tiles at full size are put together from the stored
    # tiles; everything else goes through libvips.
    assert backend.composed or backend.opened
    img = Image.open(io.BytesIO(data))
    expected = resolved.size if resolved.degrees % 180 == 0 else resolved.size[::-1]
    assert img.size == expected


def test_a_pyramid_without_jpeg_tiles_is_rendered(tmp_path):
    image = pyvips.Image.black(600, 600).new_from_image([30, 140, 220]).cast("uchar")
    path = tmp_path / "deflate.tif"
    image.copy(interpretation="srgb").tiffsave(
        str(path),
        tile=True,
        pyramid=True,
        compression="deflate",
        tile_width=256,
        tile_height=256,
    )
    backend = Spy()
    backend.describe(path)
    backend.opened.clear()
    data = backend.render(path, plan("256,256,256,256/256,/0/default.jpg", 600, 600))
    assert backend.opened == [0]
    img = Image.open(io.BytesIO(data))
    assert img.size == (256, 256) and near_rgb(img.getpixel((10, 10)), (30, 140, 220))


def near_rgb(pixel, expected, tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def _pixels(data: bytes):
    import numpy as np

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)


@pytest.mark.parametrize(
    "region",
    [
        "100,200,512,512",  # across 3 x 3 tiles
        "256,256,256,256",  # one whole tile: sent as stored
        "1900,2900,100,100",  # the padded corner tile
        "990,1490,20,20",  # where the four colours meet
        "0,1000,2000,1",  # one row across the page
    ],
)
def test_a_region_at_full_size_is_put_together_from_the_stored_tiles(pyramid, region):
    composed = Spy()
    composed.describe(pyramid)
    composed.opened.clear()
    w, h = (int(v) for v in region.split(",")[2:])
    data = composed.render(pyramid, plan(f"{region}/{w},{h}/0/default.jpg"))
    assert composed.opened == []  # libvips never made it
    # The same request through libvips' pipeline: the same pixels, to within
    # what two JPEG encodings of them differ by.
    reference = PyvipsBackend()
    reference._composed = lambda *args: None
    expected = reference.render(pyramid, plan(f"{region}/{w},{h}/0/default.jpg"))
    got, want = _pixels(data), _pixels(expected)
    assert got.shape == want.shape == (h, w, 3)
    assert abs(got - want).mean() < 2.0
    assert abs(got - want).max() < 40


@pytest.mark.parametrize(
    "request_path",
    [
        "100,200,512,512/300,/0/default.jpg",  # scaled (to no level's size)
        "100,200,512,512/512,/90/default.jpg",  # rotated
        "100,200,512,512/512,/0/gray.jpg",  # another quality
        "100,200,512,512/512,/0/default.png",  # another format
    ],
)
def test_what_needs_more_than_the_tiles_is_left_to_libvips(pyramid, request_path):
    backend = Spy()
    backend.describe(pyramid)
    backend.opened.clear()
    data = backend.render(pyramid, plan(request_path))
    assert backend.opened  # libvips made it
    assert data


def test_a_grey_pyramid_region_stays_grey(tmp_path):
    grey = pyvips.Image.black(600, 600).new_from_image([90]).cast("uchar")
    grey = grey.copy(interpretation="b-w")
    path = tmp_path / "grey.tif"
    grey.tiffsave(str(path), **PYRAMID_OPTIONS)
    backend = Spy()
    backend.describe(path)
    backend.opened.clear()
    data = backend.render(path, plan("100,100,300,300/300,/0/default.jpg", 600, 600))
    assert backend.opened == []
    img = Image.open(io.BytesIO(data))
    assert img.mode == "L" and img.size == (300, 300)
    assert abs(img.getpixel((150, 150)) - 90) <= 2


def test_a_damaged_tile_falls_back_to_libvips_which_reports_it(pyramid):
    from iiif.image_backend import BackendError, _jpeg_levels

    level = _jpeg_levels(str(pyramid))[0]
    data = bytearray(pyramid.read_bytes())
    start = level.offsets[0]
    data[start + 2 : start + level.counts[0]] = b"\x00" * (level.counts[0] - 2)
    pyramid.write_bytes(bytes(data))
    backend = Spy()
    backend.describe(pyramid)
    backend.opened.clear()
    with pytest.raises(BackendError):
        backend.render(pyramid, plan("0,0,300,300/300,/0/default.jpg"))
    assert set(backend.tiles_of) == {0} and backend.opened == [0]


def _counting_decoder(monkeypatch) -> list:
    """Count the tiles libjpeg-turbo decodes for composed regions."""
    import iiif.image_backend as module

    calls = []
    real = module.simplejpeg.decode_jpeg

    def decode(data, **kwargs):
        calls.append(len(data))
        return real(data, **kwargs)

    monkeypatch.setattr(module.simplejpeg, "decode_jpeg", decode)
    return calls


def test_overlapping_regions_reuse_decoded_tiles_and_give_the_same_image(
    pyramid, monkeypatch
):
    calls = _counting_decoder(monkeypatch)
    backend = PyvipsBackend()
    first = backend.render(pyramid, plan("100,200,512,512/512,/0/default.jpg"))
    assert len(calls) == 9  # 3 x 3 tiles
    again = backend.render(pyramid, plan("100,200,512,512/512,/0/default.jpg"))
    assert len(calls) == 9 and again == first  # nothing decoded again
    # The next detail to the right shares two of its three columns.
    backend.render(pyramid, plan("356,200,512,512/512,/0/default.jpg"))
    assert len(calls) == 12
    # The same pixels as a backend that keeps nothing.
    keeps_nothing = PyvipsBackend(decoded_tile_bytes=0)
    calls.clear()
    assert (
        keeps_nothing.render(pyramid, plan("100,200,512,512/512,/0/default.jpg"))
        == first
    )
    keeps_nothing.render(pyramid, plan("100,200,512,512/512,/0/default.jpg"))
    assert len(calls) == 18


def test_decoded_tiles_stay_within_their_bytes(pyramid, monkeypatch):
    calls = _counting_decoder(monkeypatch)
    one_tile = 256 * 256 * 3
    backend = PyvipsBackend(decoded_tile_bytes=4 * one_tile)
    backend.render(pyramid, plan("100,200,512,512/512,/0/default.jpg"))
    assert backend._decoded.nbytes == 4 * one_tile  # the last four of nine
    backend.render(pyramid, plan("100,200,512,512/512,/0/default.jpg"))
    assert len(calls) == 14  # the four kept were used; the other five decoded
    assert backend._decoded.nbytes == 4 * one_tile
    backend._decoded.put(("huge",), __import__("numpy").zeros(5 * one_tile, "uint8"))
    assert backend._decoded.get(("huge",)) is None  # larger than the budget: not kept


def test_a_replaced_pyramid_never_shows_its_old_decoded_tiles(pyramid):
    backend = PyvipsBackend()
    request = plan("100,200,512,512/512,/0/default.jpg")
    before = _pixels(backend.render(pyramid, request))
    assert near_rgb(before[10, 10], (200, 20, 20))  # red
    grey = pyvips.Image.black(2000, 3000).new_from_image([128, 128, 128])
    grey = grey.cast("uchar").copy(interpretation="srgb")
    replaced = pyramid.with_name("new.tif")
    grey.tiffsave(str(replaced), **PYRAMID_OPTIONS)
    os.replace(replaced, pyramid)
    after = _pixels(backend.render(pyramid, request))
    assert near_rgb(after[10, 10], (128, 128, 128))
