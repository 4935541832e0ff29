"""Page image files, good and bad, generated in code for the ingest image tests.

Each function writes one kind of input into ``folder`` and returns its path.
Images are small (300 x 400 unless said) so the tests stay fast. The TIFF and
PNG bombs and the truncated TIFFs are built byte by byte, so their headers say
exactly what the tests expect, whatever the libraries would write.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pyvips
from PIL import Image as PILImage

WIDTH, HEIGHT = 300, 400
BOMB_SIDE = 100_000

#: Where the coloured test patches sit (left, top, width, height): well inside
#: the image and larger than a JPEG block, so compression does not blur the middle.
PATCH = (100, 150, 100, 100)
PATCH_CENTRE = (PATCH[0] + PATCH[2] // 2, PATCH[1] + PATCH[3] // 2)
#: The red mark of the orientation files, at the top-left of the upright image.
MARK = 60

#: Whether this libvips can write JPEG 2000 (it needs OpenJPEG).


def _gradient_rgb(width: int = WIDTH, height: int = HEIGHT) -> pyvips.Image:
    """An 8-bit sRGB image with some structure, so JPEG data is not trivial."""
    xyz = pyvips.Image.xyz(width, height)
    x, y = xyz[0], xyz[1]
    red = x * (255 / width)
    green = y * (255 / height)
    blue = (x + y) * (255 / (width + height))
    image = red.bandjoin([green, blue]).cast("uchar")
    return image.copy(interpretation="srgb")


def _patched(base: pyvips.Image, value: list[float]) -> pyvips.Image:
    """``base`` with the test patch filled with ``value`` (one number per band)."""
    left, top, width, height = PATCH
    patch = (pyvips.Image.black(width, height, bands=base.bands) + value).cast(
        base.format
    )
    return base.insert(patch, left, top).copy(interpretation=base.interpretation)


def _jpeg_bytes(image: pyvips.Image, **options) -> bytes:
    return image.jpegsave_buffer(Q=95, **options)


def good_jpeg(folder: Path) -> Path:
    """An ordinary 8-bit RGB JPEG page."""
    path = folder / "good.jpg"
    path.write_bytes(_jpeg_bytes(_gradient_rgb()))
    return path


def empty_file(folder: Path) -> Path:
    """A zero-byte file named like a page."""
    path = folder / "empty.tif"
    path.write_bytes(b"")
    return path


def truncated_jpeg(folder: Path) -> Path:
    """A valid JPEG cut in half: the header is whole, half the scan data is gone."""
    data = _jpeg_bytes(_gradient_rgb())
    path = folder / "truncated.jpg"
    path.write_bytes(data[: len(data) // 2])
    return path


# --- TIFF built by hand -------------------------------------------------------

_SHORT, _LONG = 3, 4
_TYPE_SIZE = {_SHORT: 2, _LONG: 4}
_TYPE_CODE = {_SHORT: "H", _LONG: "I"}


def _tiff_bytes(
    *,
    width: int,
    height: int,
    samples: int,
    photometric: int,
    strips: list[bytes],
    rows_per_strip: int,
    compression: int = 1,
    bits: int = 8,
) -> tuple[bytes, int]:
    """A little-endian baseline TIFF: header, one IFD, its arrays, then the strips.

    The IFD comes first and the pixel data last, so cutting the file keeps every
    tag readable while strips go missing.

    Returns:
        (the file's bytes, the offset where the strip data starts).
    """
    entries = [
        (256, _LONG, [width]),
        (257, _LONG, [height]),
        (258, _SHORT, [bits] * samples),
        (259, _SHORT, [compression]),
        (262, _SHORT, [photometric]),
        (273, _LONG, [0] * len(strips)),  # filled in below
        (277, _SHORT, [samples]),
        (278, _LONG, [rows_per_strip]),
        (279, _LONG, [len(strip) for strip in strips]),
        (284, _SHORT, [1]),
    ]
    ifd_offset = 8
    ifd_size = 2 + 12 * len(entries) + 4
    outside = [
        _TYPE_SIZE[kind] * len(values)
        for _, kind, values in entries
        if _TYPE_SIZE[kind] * len(values) > 4
    ]
    data_start = ifd_offset + ifd_size + sum(size + size % 2 for size in outside)
    offsets, position = [], data_start
    for strip in strips:
        offsets.append(position)
        position += len(strip)
    entries[5] = (273, _LONG, offsets)

    ifd = struct.pack("<H", len(entries))
    extra = b""
    extra_offset = ifd_offset + ifd_size
    for tag, kind, values in entries:
        packed = struct.pack(f"<{len(values)}{_TYPE_CODE[kind]}", *values)
        if len(packed) <= 4:
            ifd += struct.pack("<HHI", tag, kind, len(values)) + packed.ljust(4, b"\0")
        else:
            ifd += struct.pack(
                "<HHII", tag, kind, len(values), extra_offset + len(extra)
            )
            extra += packed + b"\0" * (len(packed) % 2)
    ifd += struct.pack("<I", 0)
    head = b"II*\0" + struct.pack("<I", ifd_offset) + ifd + extra
    assert len(head) == data_start
    return head + b"".join(strips), data_start


def _truncated_tiff(folder: Path, name: str, compression: int) -> Path:
    rows = 16
    raw = _gradient_rgb().write_to_memory()
    stride = WIDTH * 3 * rows
    strips = [raw[i : i + stride] for i in range(0, len(raw), stride)]
    if compression == 8:
        strips = [zlib.compress(strip) for strip in strips]
    data, data_start = _tiff_bytes(
        width=WIDTH,
        height=HEIGHT,
        samples=3,
        photometric=2,
        strips=strips,
        rows_per_strip=rows,
        compression=compression,
    )
    path = folder / name
    # The header and every tag intact; only the first half of the strips' bytes.
    path.write_bytes(data[: data_start + (len(data) - data_start) // 2])
    return path


def truncated_tiff_uncompressed(folder: Path) -> Path:
    """An uncompressed RGB TIFF whose second half of strip data is missing."""
    return _truncated_tiff(folder, "truncated-raw.tif", compression=1)


def truncated_tiff_deflate(folder: Path) -> Path:
    """A deflate-compressed RGB TIFF whose second half of strip data is missing."""
    return _truncated_tiff(folder, "truncated-deflate.tif", compression=8)


def text_named_tif(folder: Path) -> Path:
    """A text file that calls itself a TIFF."""
    path = folder / "page-0001.tif"
    path.write_text("This is not an image, just a note about page 1.\n")
    return path


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def png_bomb(folder: Path) -> Path:
    """A tiny PNG whose IHDR claims 100,000 x 100,000 8-bit grey pixels."""
    ihdr = struct.pack(">IIBBBBB", BOMB_SIDE, BOMB_SIDE, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * (BOMB_SIDE + 1), 9)  # one filtered row of zeros
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )
    path = folder / "bomb.png"
    path.write_bytes(data)
    return path


def tiff_bomb(folder: Path) -> Path:
    """A tiny TIFF whose IFD claims 100,000 x 100,000 8-bit grey pixels."""
    data, _ = _tiff_bytes(
        width=BOMB_SIDE,
        height=BOMB_SIDE,
        samples=1,
        photometric=1,
        strips=[zlib.compress(b"\0" * BOMB_SIDE, 9)],
        rows_per_strip=BOMB_SIDE,
        compression=8,
    )
    path = folder / "bomb.tif"
    path.write_bytes(data)
    return path


# --- colour spaces and depths --------------------------------------------------

#: Pure cyan in CMYK, 0-255 per ink.
CMYK_CYAN = [255, 0, 0, 0]


def _cmyk_with_cyan_patch() -> pyvips.Image:
    paper = pyvips.Image.black(WIDTH, HEIGHT, bands=4).cast("uchar")
    return _patched(paper.copy(interpretation="cmyk"), CMYK_CYAN)


def cmyk_jpeg(folder: Path) -> Path:
    """A CMYK JPEG (Adobe style), white paper with a pure cyan patch."""
    path = folder / "cmyk.jpg"
    path.write_bytes(_jpeg_bytes(_cmyk_with_cyan_patch()))
    return path


def cmyk_tiff(folder: Path) -> Path:
    """A CMYK (separated) TIFF, white paper with a pure cyan patch."""
    path = folder / "cmyk.tif"
    _cmyk_with_cyan_patch().tiffsave(str(path))
    return path


#: The 16-bit middle grey, which must become about 128, not 255 (clipped).
GREY16_MID = 32768


def rgb16_tiff(folder: Path) -> Path:
    """A 16-bit RGB TIFF: mid grey (32768) everywhere, a white (65535) patch."""
    base = (pyvips.Image.black(WIDTH, HEIGHT, bands=3) + GREY16_MID).cast("ushort")
    image = _patched(base.copy(interpretation="rgb16"), [65535, 65535, 65535])
    path = folder / "rgb16.tif"
    image.tiffsave(str(path))
    return path


def grey16_png(folder: Path) -> Path:
    """A 16-bit grey PNG: mid grey (32768) everywhere, a black (0) patch."""
    base = (pyvips.Image.black(WIDTH, HEIGHT) + GREY16_MID).cast("ushort")
    image = _patched(base.copy(interpretation="grey16"), [0])
    path = folder / "grey16.png"
    image.pngsave(str(path), bitdepth=16)
    return path


def grey_jpeg(folder: Path) -> Path:
    """An 8-bit greyscale JPEG: light grey with a black patch."""
    base = (pyvips.Image.black(WIDTH, HEIGHT) + 200).cast("uchar")
    image = _patched(base.copy(interpretation="b-w"), [0])
    path = folder / "grey.jpg"
    path.write_bytes(_jpeg_bytes(image))
    return path


#: The palette PNG's colours, one per quadrant (top-left, top-right, bottom-left,
#: bottom-right).
PALETTE_COLOURS = [(200, 30, 30), (30, 160, 30), (30, 30, 200), (240, 220, 60)]


def palette_png(folder: Path) -> Path:
    """A palette PNG (Pillow mode "P") with four coloured quadrants."""
    image = PILImage.new("P", (WIDTH, HEIGHT))
    palette = [channel for colour in PALETTE_COLOURS for channel in colour]
    image.putpalette(palette + [0] * (768 - len(palette)))
    half_w, half_h = WIDTH // 2, HEIGHT // 2
    for index, (left, top) in enumerate(
        [(0, 0), (half_w, 0), (0, half_h), (half_w, half_h)]
    ):
        image.paste(index, (left, top, left + half_w, top + half_h))
    path = folder / "palette.png"
    image.save(path)
    return path


#: The opaque colour of the RGBA PNG's patch.
RGBA_OPAQUE = (20, 60, 200)


def rgba_png(folder: Path) -> Path:
    """An RGBA PNG: fully transparent black everywhere but an opaque blue patch."""
    clear = pyvips.Image.black(WIDTH, HEIGHT, bands=4).cast("uchar")
    image = _patched(clear.copy(interpretation="srgb"), [*RGBA_OPAQUE, 255])
    path = folder / "rgba.png"
    image.pngsave(str(path))
    return path


# --- orientation, pages, other formats -------------------------------------------


def _upright_with_mark() -> pyvips.Image:
    """A light grey 300 x 400 page with a red square at its top-left."""
    page = (pyvips.Image.black(WIDTH, HEIGHT, bands=3) + [230, 230, 230]).cast("uchar")
    mark = (pyvips.Image.black(MARK, MARK, bands=3) + [220, 0, 0]).cast("uchar")
    return page.insert(mark, 0, 0).copy(interpretation="srgb")


#: How each EXIF orientation is stored: the displayed (upright) image turned back.
_STORE_TURN = {3: "rot180", 6: "rot270", 8: "rot90"}


def exif_oriented_jpeg(folder: Path, orientation: int) -> Path:
    """A JPEG stored turned, with the EXIF orientation that turns it upright again.

    Displayed correctly it is 300 x 400 with the red mark at the top-left.
    """
    stored = getattr(_upright_with_mark(), _STORE_TURN[orientation])().copy()
    stored.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    path = folder / f"exif-{orientation}.jpg"
    path.write_bytes(_jpeg_bytes(stored))
    return path


def multipage_tiff(folder: Path, pages: int = 3) -> Path:
    """A TIFF holding ``pages`` pages of 300 x 400."""
    page = _gradient_rgb()
    image = pyvips.Image.arrayjoin([page] * pages, across=1).copy()
    image.set_type(pyvips.GValue.gint_type, "page-height", HEIGHT)
    path = folder / "multipage.tif"
    image.tiffsave(str(path))
    return path


def gif(folder: Path) -> Path:
    """A GIF: an image, but not a type a page may be."""
    path = folder / "page.gif"
    PILImage.new("RGB", (WIDTH, HEIGHT), (10, 120, 200)).save(path, format="GIF")
    return path
