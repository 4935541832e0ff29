"""Image derivatives for lists and sharing previews (thumbnail, preview), versioned by recipe.

Made with pyvips from the page's pyramid, whose small levels make them almost
free: the original is decoded once, for the pyramid. A new recipe version
writes new files beside the old ones.
"""

from __future__ import annotations

from pathlib import Path

import pyvips
from django.conf import settings

from archive.files import atomic_write
from archive.models import Asset, Derivative
from archive.services import derivative_record

#: kind -> (recipe version, longest side in pixels, JPEG quality).
#: Version 2: made by libvips from the pyramid (version 1 was Pillow from the original).
RECIPES = {
    Derivative.Kind.THUMBNAIL: (2, 400, 80),
    Derivative.Kind.PREVIEW: (2, 1600, 85),
}


def derivative_relpath(kind: str, version: int, sha256: str, ext: str) -> str:
    """Where a derivative lives, relative to the storage root."""
    return f"derivatives/{kind}/v{version}/{sha256[:2]}/{sha256}.{ext}"


def image_derivatives_make(
    *, asset: Asset, source: Path | None = None
) -> list[Derivative]:
    """Make (or find) the thumbnail and preview of an image asset; idempotent.

    Args:
        asset: a stored image original.
        source: the page's pyramid (or any already-normalised image file) to
            shrink; the stored original when not given.
    """
    made = []
    for kind, (version, side, quality) in RECIPES.items():
        existing = Derivative.objects.filter(
            asset=asset, kind=kind, recipe_version=version
        ).first()
        if existing is not None and existing.abspath.exists():
            made.append(existing)
            continue
        image = pyvips.Image.thumbnail(str(source or asset.path), side, height=side)
        if image.interpretation not in ("srgb", "b-w") or image.format != "uchar":
            image = image.colourspace("srgb").cast("uchar")
        if image.hasalpha():
            image = image.flatten(background=255)
        rel = derivative_relpath(kind, version, asset.sha256, "jpg")
        with atomic_write(Path(settings.ARCHIVE_STORAGE_ROOT) / rel) as tmp:
            image.jpegsave(str(tmp), Q=quality, optimize_coding=True, strip=True)
        made.append(
            derivative_record(
                asset=asset,
                kind=kind,
                recipe_version=version,
                path=rel,
                media_type="image/jpeg",
                width=image.width,
                height=image.height,
            )
        )
    return made
