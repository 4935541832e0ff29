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


def pyramid_relpath(sha256: str, version: int = PYRAMID_RECIPE_VERSION) -> str:
    """Where a page's pyramid lives, relative to the storage root."""
    return f"derivatives/pyramid/v{version}/{sha256[:2]}/{sha256}.tif"


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
    image = image.autorot()
    if image.interpretation not in ("srgb", "b-w") or image.format != "uchar":
        image = image.colourspace("srgb").cast("uchar")
    if image.hasalpha():
        image = image.flatten(background=255)
    rel = pyramid_relpath(asset.sha256)
    with atomic_write(Path(settings.ARCHIVE_STORAGE_ROOT) / rel) as tmp:
        image.tiffsave(str(tmp), **PYRAMID_OPTIONS)
    derivative = derivative_record(
        asset=asset,
        kind=Derivative.Kind.PYRAMID,
        recipe_version=PYRAMID_RECIPE_VERSION,
        path=rel,
        media_type="image/tiff",
        width=image.width,
        height=image.height,
    )
    return derivative
