"""IIIF services: the tiled pyramidal TIFF derivative that the Image API serves.

The pyramid recipe lives here and is shared with ``ingest`` (which requests it
for every page). Its version is part of every image identifier in manifests, so
a re-derived pyramid never hides behind a cached tile.
"""

from __future__ import annotations

from pathlib import Path

import pyvips
from django.conf import settings

from archive.files import atomic_write
from archive.models import Asset, Derivative
from archive.services import derivative_record

#: Bump when the pyramid recipe changes: new pyramids are made beside the old.
PYRAMID_RECIPE_VERSION = 1
PYRAMID_OPTIONS = {
    "tile": True,
    "pyramid": True,
    "compression": "jpeg",
    "Q": 85,
    "tile_width": 256,
    "tile_height": 256,
}


def pyramid_relpath(sha256: str, version: int | None = None) -> str:
    """Where a page's pyramid lives, relative to the storage root (current recipe by default)."""
    version = version or PYRAMID_RECIPE_VERSION
    return f"derivatives/pyramid/v{version}/{sha256[:2]}/{sha256}.tif"


def pyramid_normalise(image: pyvips.Image) -> pyvips.Image:
    """The recipe's pixel rules: EXIF orientation applied, 8-bit sRGB or grey, no alpha.

    CMYK and images with an embedded ICC profile (Adobe RGB scans) are converted
    through the profile; 16-bit images are scaled to 8 bits; palette images are
    expanded (libvips loads them as RGB); alpha is flattened onto white.
    """
    image = image.autorot()
    if "icc-profile-data" in image.get_fields() and image.interpretation != "b-w":
        try:
            image = image.icc_transform("srgb", embedded=True, intent="relative")
        except pyvips.Error:
            pass  # a broken profile: fall back to the plain colourspace conversion
    if image.interpretation not in ("srgb", "b-w") or image.format != "uchar":
        target = "b-w" if image.interpretation in ("b-w", "grey16") else "srgb"
        image = image.colourspace(target)
        if image.format != "uchar":
            image = image.cast("uchar")
    if image.hasalpha():
        image = image.flatten(background=255)
    return image


def page_pyramid_write(*, image: pyvips.Image, sha256: str) -> tuple[str, int, int]:
    """Write the pyramid of an opened page image (the decode happens here, once).

    Returns:
        (path relative to the storage root, width, height) of the written pyramid.

    Raises:
        pyvips.Error: the image data cannot be decoded (e.g. a truncated file
            opened with ``fail_on="error"``); nothing is left behind.
    """
    image = pyramid_normalise(image)
    rel = pyramid_relpath(sha256)
    with atomic_write(Path(settings.ARCHIVE_STORAGE_ROOT) / rel) as tmp:
        image.tiffsave(str(tmp), **PYRAMID_OPTIONS)
    return rel, image.width, image.height


def page_pyramid_make(*, asset: Asset, image: pyvips.Image | None = None) -> Derivative:
    """Make (or find) the tiled pyramidal TIFF of an image asset; idempotent.

    Args:
        asset: a stored image original.
        image: the page already opened with pyvips, so it is decoded once.

    Returns:
        The pyramid Derivative of the current recipe version.
    """
    existing = Derivative.objects.filter(
        asset=asset, kind=Derivative.Kind.PYRAMID, recipe_version=PYRAMID_RECIPE_VERSION
    ).first()
    if existing is not None and existing.abspath.exists():
        return existing
    if image is None:
        image = pyvips.Image.new_from_file(str(asset.path), access="sequential")
    rel, width, height = page_pyramid_write(image=image, sha256=asset.sha256)
    return derivative_record(
        asset=asset,
        kind=Derivative.Kind.PYRAMID,
        recipe_version=PYRAMID_RECIPE_VERSION,
        path=rel,
        media_type="image/tiff",
        width=width,
        height=height,
    )
