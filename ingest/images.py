"""Checking a delivered page image before anything is decoded, and opening it for the one pass.

``page_image_open`` reads only the header: the type by content, the pixel
count against the limit (a decompression bomb is refused here, before any
pixel is decoded), multi-page files. The one decode happens when the pyramid
is written (``iiif.services.page_pyramid_write``) from the image it returns;
a truncated or damaged file fails there: it is opened with ``fail_on="error"``
(``"truncated"`` is not enough: libvips then fills the missing strips of a cut
TIFF with black and carries on).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyvips

from archive.files import detect_media_type

#: What a page may be, by content (the name does not count).
PAGE_MEDIA_TYPES = {
    "image/tiff": "TIFF",
    "image/jpeg": "JPEG",
    "image/jp2": "JPEG 2000",
    "image/png": "PNG",
}

#: Other names the content detection gives the page types (``filetype`` calls a
#: JP2 file ``image/jpx``).
_MEDIA_TYPE_ALIASES = {"image/jpx": "image/jp2"}

#: The libvips loader each page type needs (JPEG 2000 needs OpenJPEG, which not
#: every libvips build has).
_LOADERS = {
    "image/tiff": "tiffload",
    "image/jpeg": "jpegload",
    "image/jp2": "jp2kload",
    "image/png": "pngload",
}

#: How strict the one decode is: any decoder error (a missing strip, a cut
#: deflate stream, a premature end of JPEG data) fails it. ``"truncated"`` lets
#: libtiff's read errors through and writes black where the data is missing.
DECODE_FAIL_ON = "error"


class PageImageError(Exception):
    """A page file that cannot become a page; the message says why, for people."""


@dataclass
class OpenedPage:
    """A page image checked and opened lazily: nothing decoded yet."""

    image: pyvips.Image
    media_type: str
    width: int
    height: int


def _describe(media_type: str) -> str:
    if media_type == "application/x-empty":
        return "the file is empty (0 bytes)"
    if media_type.startswith("text/") or media_type in (
        "application/xml",
        "application/json",
    ):
        return f"not an image: the file holds text ({media_type})"
    return f"not a page image: the content is {media_type}"


def page_image_open(path: Path, *, max_pixels: int) -> OpenedPage:
    """Check a delivered page file and open it for decoding; reads the header only.

    Raises:
        PageImageError: empty, not an image, an unsupported type, a damaged
            header, more than ``max_pixels`` pixels, or several pages in one file.
    """
    media_type = detect_media_type(path)
    media_type = _MEDIA_TYPE_ALIASES.get(media_type, media_type)
    if media_type not in PAGE_MEDIA_TYPES:
        allowed = ", ".join(PAGE_MEDIA_TYPES.values())
        raise PageImageError(f"{_describe(media_type)}; pages must be {allowed}")
    if not pyvips.type_find("VipsForeign", _LOADERS[media_type]):
        if media_type == "image/jp2":
            return _jp2_open_with_pillow(path, max_pixels=max_pixels)
        raise PageImageError(
            f"{PAGE_MEDIA_TYPES[media_type]} pages cannot be read here: the image "
            f"library (libvips) was built without it ({_LOADERS[media_type]}); "
            "deliver the page as TIFF"
        )
    try:
        header = pyvips.Image.new_from_file(str(path), access="sequential")
    except pyvips.Error as exc:
        raise PageImageError(
            f"the {PAGE_MEDIA_TYPES[media_type]} header cannot be read "
            f"({_vips_reason(exc)})"
        ) from exc
    width, height = header.width, header.height
    _pixel_limit_check(width, height, max_pixels)
    pages = header.get("n-pages") if "n-pages" in header.get_fields() else 1
    if pages > 1:
        raise PageImageError(
            f"a multi-page {PAGE_MEDIA_TYPES[media_type]} ({pages} pages in one "
            "file); deliver one image per page"
        )
    orientation = (
        header.get("orientation") if "orientation" in header.get_fields() else 1
    )
    # Turning by EXIF orientation needs the whole image: random access for those only.
    access = "sequential" if orientation in (0, 1) else "random"
    image = pyvips.Image.new_from_file(str(path), access=access, fail_on=DECODE_FAIL_ON)
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return OpenedPage(image=image, media_type=media_type, width=width, height=height)


def _pixel_limit_check(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise PageImageError(
            f"the image declares {width:,} x {height:,} pixels "
            f"({width * height / 1e6:,.0f} megapixels), more than the limit of "
            f"{max_pixels / 1e6:,.0f} megapixels (INGEST_MAX_PIXELS); refused "
            "before decoding"
        )


def _jp2_open_with_pillow(path: Path, *, max_pixels: int) -> OpenedPage:
    """JPEG 2000 through Pillow's OpenJPEG when libvips was built without it.

    The header is read first (size, limit); the one decode happens here, into
    memory, and libvips takes the pixels from there for the pyramid.
    """
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = None  # our own limit, checked below, applies
    try:
        with Image.open(path) as header:
            width, height = header.size
            _pixel_limit_check(width, height, max_pixels)
            header.load()
            mode = header.mode
            if mode not in ("L", "RGB", "RGBA", "LA"):
                decoded = header.convert("RGBA" if "A" in mode else "RGB")
            else:
                decoded = header.copy()
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        raise PageImageError(
            f"the image data is damaged or truncated (JPEG 2000: {exc})"
        ) from exc
    bands = len(decoded.getbands())
    image = pyvips.Image.new_from_memory(
        decoded.tobytes(), decoded.width, decoded.height, bands, "uchar"
    )
    interpretation = "b-w" if bands <= 2 else "srgb"
    image = image.copy(interpretation=interpretation)
    return OpenedPage(
        image=image, media_type="image/jp2", width=decoded.width, height=decoded.height
    )


def _vips_reason(exc: pyvips.Error) -> str:
    """The first useful line of a libvips error, without its C function prefixes."""
    detail = (getattr(exc, "detail", "") or str(exc)).strip().splitlines()
    lines = [line.split(": ", 1)[-1] for line in detail if line.strip()]
    return "; ".join(dict.fromkeys(lines))[:300] or "unknown libvips error"


def decode_error_message(exc: pyvips.Error) -> str:
    """What to tell people when the one decode pass fails."""
    return f"the image data is damaged or truncated ({_vips_reason(exc)})"
