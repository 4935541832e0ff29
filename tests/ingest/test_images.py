"""Page images: refused with a reason people understand, or made into a clean pyramid.

``page_image_open`` checks the header only; ``page_pyramid_write`` does the one
decode and writes an 8-bit sRGB (or grey) tiled pyramid without alpha.
"""

from __future__ import annotations

import colorsys
import resource
import time
from pathlib import Path

import pytest
import pyvips
from PIL import Image as PILImage

from iiif.services import page_pyramid_write
from ingest.images import (
    OpenedPage,
    PageImageError,
    decode_error_message,
    page_image_open,
)
from tests.ingest import badfiles

MAX_PIXELS = 400_000_000  # the default INGEST_MAX_PIXELS
SHA256 = "ab" + "0" * 62


@pytest.fixture
def folder(tmp_path) -> Path:
    path = tmp_path / "delivery"
    path.mkdir()
    return path


def stored_files(settings) -> list[Path]:
    root = Path(settings.ARCHIVE_STORAGE_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def refused(path: Path) -> str:
    """The message ``page_image_open`` refuses ``path`` with."""
    with pytest.raises(PageImageError) as info:
        page_image_open(path, max_pixels=MAX_PIXELS)
    return str(info.value)


def pyramid_of(path: Path, settings) -> tuple[OpenedPage, pyvips.Image]:
    """Open ``path``, write its pyramid, and open the pyramid's full-size level."""
    opened = page_image_open(path, max_pixels=MAX_PIXELS)
    rel, width, height = page_pyramid_write(image=opened.image, sha256=SHA256)
    pyramid = pyvips.Image.new_from_file(str(Path(settings.ARCHIVE_STORAGE_ROOT) / rel))
    assert (width, height) == (pyramid.width, pyramid.height)
    return opened, pyramid


def assert_clean(pyramid: pyvips.Image, *, bands: int = 3) -> None:
    """8-bit, sRGB (3 bands) or grey (1 band), no alpha, the page's size."""
    assert pyramid.format == "uchar"
    assert pyramid.bands == bands
    assert pyramid.interpretation == ("srgb" if bands == 3 else "b-w")
    assert not pyramid.hasalpha()
    assert (pyramid.width, pyramid.height) == (badfiles.WIDTH, badfiles.HEIGHT)


def pixel(image: pyvips.Image, x: int, y: int) -> list[float]:
    return image.getpoint(x, y)


def near(actual: list[float], expected: tuple[int, ...], tolerance: int = 20) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


# --- a good page ----------------------------------------------------------------


def test_good_jpeg_becomes_a_tiled_jpeg_pyramid(folder, settings):
    opened, pyramid = pyramid_of(badfiles.good_jpeg(folder), settings)
    assert (opened.media_type, opened.width, opened.height) == ("image/jpeg", 300, 400)
    assert_clean(pyramid)
    assert pyramid.get("n-pages") > 1  # the full size plus smaller levels
    (path,) = stored_files(settings)
    with PILImage.open(path) as tiff:
        assert tiff.tag_v2.get(322) == 256  # TileWidth: tiled, not strips
        assert tiff.tag_v2.get(259) == 7  # Compression: JPEG
        tiff.seek(1)
        assert tiff.size == (150, 200)  # the next level is half the size


# --- refused by page_image_open -------------------------------------------------


def test_empty_file_is_refused_as_empty(folder):
    assert "empty" in refused(badfiles.empty_file(folder))


def test_text_named_tif_is_refused_as_text(folder):
    message = refused(badfiles.text_named_tif(folder))
    assert "not an image" in message and "text" in message


def test_gif_is_refused_as_an_unsupported_type(folder):
    message = refused(badfiles.gif(folder))
    assert "image/gif" in message and "pages must be TIFF, JPEG" in message


@pytest.mark.parametrize("make", [badfiles.png_bomb, badfiles.tiff_bomb])
def test_decompression_bomb_is_refused_before_decoding(folder, settings, make):
    path = make(folder)
    assert path.stat().st_size < 1000  # tiny on disk, 10 gigapixels declared
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    started = time.perf_counter()
    message = refused(path)  # raised by page_image_open itself: nothing decoded
    assert time.perf_counter() - started < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 64_000
    assert "100,000 x 100,000" in message
    assert "megapixels" in message and "before decoding" in message
    assert stored_files(settings) == []


def test_multipage_tiff_is_refused(folder):
    message = refused(badfiles.multipage_tiff(folder))
    assert "multi-page" in message and "3 pages" in message


# --- damaged data: the header is fine, the one decode fails ----------------------


@pytest.mark.parametrize(
    "make",
    [
        badfiles.truncated_jpeg,
        badfiles.truncated_tiff_uncompressed,
        badfiles.truncated_tiff_deflate,
    ],
)
def test_truncated_file_fails_in_the_decode_and_leaves_nothing(folder, settings, make):
    # The header is whole, so the check (header only) lets it through ...
    opened = page_image_open(make(folder), max_pixels=MAX_PIXELS)
    assert (opened.width, opened.height) == (300, 400)
    # ... and the one decode, writing the pyramid, finds the data missing.
    with pytest.raises(pyvips.Error) as info:
        page_pyramid_write(image=opened.image, sha256=SHA256)
    message = decode_error_message(info.value)
    assert "damaged or truncated" in message
    assert stored_files(settings) == []


# --- converted to 8-bit sRGB or grey ----------------------------------------------


@pytest.mark.parametrize("make", [badfiles.cmyk_jpeg, badfiles.cmyk_tiff])
def test_cmyk_is_converted_with_the_right_colours(folder, settings, make):
    _, pyramid = pyramid_of(make(folder), settings)
    assert_clean(pyramid)
    red, green, blue = pixel(pyramid, *badfiles.PATCH_CENTRE)
    hue, saturation, value = colorsys.rgb_to_hsv(red / 255, green / 255, blue / 255)
    assert 175 <= hue * 360 <= 215, (red, green, blue)  # cyan, leaning to blue
    assert saturation > 0.6 and value > 0.8, (red, green, blue)
    assert red < 60 and green > 130 and blue > 200, (red, green, blue)
    assert near(pixel(pyramid, 10, 10), (255, 255, 255), 8)  # no ink: white paper


def test_rgb16_tiff_is_scaled_not_clipped(folder, settings):
    _, pyramid = pyramid_of(badfiles.rgb16_tiff(folder), settings)
    assert_clean(pyramid)
    assert near(pixel(pyramid, 10, 10), (128, 128, 128), 4)
    assert near(pixel(pyramid, *badfiles.PATCH_CENTRE), (255, 255, 255), 4)


def test_grey16_png_is_scaled_to_8_bit_grey(folder, settings):
    _, pyramid = pyramid_of(badfiles.grey16_png(folder), settings)
    assert_clean(pyramid, bands=1)
    assert near(pixel(pyramid, 10, 10), (128,), 4)
    assert near(pixel(pyramid, *badfiles.PATCH_CENTRE), (0,), 4)


def test_grey_jpeg_stays_one_band(folder, settings):
    _, pyramid = pyramid_of(badfiles.grey_jpeg(folder), settings)
    assert_clean(pyramid, bands=1)
    assert near(pixel(pyramid, 10, 10), (200,), 4)
    assert near(pixel(pyramid, *badfiles.PATCH_CENTRE), (0,), 4)


def test_palette_png_is_expanded_to_rgb(folder, settings):
    _, pyramid = pyramid_of(badfiles.palette_png(folder), settings)
    assert_clean(pyramid)
    corners = [(40, 40), (260, 40), (40, 360), (260, 360)]
    for (x, y), colour in zip(corners, badfiles.PALETTE_COLOURS, strict=True):
        assert near(pixel(pyramid, x, y), colour), ((x, y), colour)


def test_rgba_png_is_flattened_onto_white(folder, settings):
    _, pyramid = pyramid_of(badfiles.rgba_png(folder), settings)
    assert_clean(pyramid)
    # Transparent black becomes white paper, the opaque patch keeps its colour.
    assert near(pixel(pyramid, 10, 10), (255, 255, 255), 4)
    assert near(pixel(pyramid, *badfiles.PATCH_CENTRE), badfiles.RGBA_OPAQUE)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_honoured(folder, settings, orientation):
    path = badfiles.exif_oriented_jpeg(folder, orientation)
    with PILImage.open(path) as stored:  # the file really is stored turned
        assert stored.getexif().get(0x0112) == orientation
        assert stored.size == ((400, 300) if orientation in (6, 8) else (300, 400))
    opened, pyramid = pyramid_of(path, settings)
    assert (opened.width, opened.height) == (300, 400)  # as displayed
    assert_clean(pyramid)
    red = (220, 0, 0)
    assert near(pixel(pyramid, 10, 10), red, 30)  # the mark is top-left again
    for x, y in [(290, 10), (10, 390), (290, 390)]:
        assert near(pixel(pyramid, x, y), (230, 230, 230), 12), (x, y)


def test_jpeg2000_becomes_a_pyramid(folder, settings):
    """JPEG 2000 scans go in: by libvips where it has OpenJPEG, else through Pillow."""
    path = folder / "page.jp2"
    upright = PILImage.new("RGB", (300, 400), (230, 230, 230))
    upright.paste((220, 0, 0), (0, 0, 40, 40))
    upright.save(path, format="JPEG2000")
    opened, pyramid = pyramid_of(path, settings)
    assert opened.media_type == "image/jp2"
    assert (opened.width, opened.height) == (300, 400)
    assert_clean(pyramid)
    assert near(pixel(pyramid, 10, 10), (220, 0, 0), 30)
    assert near(pixel(pyramid, 200, 300), (230, 230, 230), 12)


def test_a_truncated_jpeg2000_is_refused(folder, settings):
    path = folder / "page.jp2"
    PILImage.new("RGB", (300, 400), (200, 100, 50)).save(path, format="JPEG2000")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises((PageImageError, pyvips.Error)) as exc:
        pyramid_of(path, settings)
    assert "truncated" in str(exc.value) or "damaged" in str(exc.value)
