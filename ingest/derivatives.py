"""Simple image derivatives (thumbnail, preview) made with Pillow, versioned by recipe.

The IIIF issue adds the tiled pyramid; these two stay for lists and sharing
previews. A new recipe version writes new files beside the old ones.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from PIL import Image, ImageOps

from archive.files import atomic_write
from archive.models import Asset, Derivative
from archive.services import derivative_record

#: kind -> (recipe version, longest side in pixels, JPEG quality)
RECIPES = {
    Derivative.Kind.THUMBNAIL: (1, 400, 80),
    Derivative.Kind.PREVIEW: (1, 1600, 85),
}


def derivative_relpath(kind: str, version: int, sha256: str, ext: str) -> str:
    """Where a derivative lives, relative to the storage root."""
    return f"derivatives/{kind}/v{version}/{sha256[:2]}/{sha256}.{ext}"


def image_derivatives_make(
    *, asset: Asset, image: Image.Image | None = None
) -> list[Derivative]:
    """Make (or find) the thumbnail and preview of an image asset; idempotent.

    Args:
        asset: a stored image original.
        image: the already-decoded image, so a page is decoded once.
    """
    made = []
    for kind, (version, side, quality) in RECIPES.items():
        existing = Derivative.objects.filter(
            asset=asset, kind=kind, recipe_version=version
        ).first()
        if existing is not None and existing.abspath.exists():
            made.append(existing)
            continue
        if image is None:
            with Image.open(asset.path) as source:
                image = ImageOps.exif_transpose(source).convert("RGB")
        copy = image.copy()
        copy.thumbnail((side, side))
        rel = derivative_relpath(kind, version, asset.sha256, "jpg")
        with atomic_write(Path(settings.ARCHIVE_STORAGE_ROOT) / rel) as tmp:
            copy.save(tmp, "JPEG", quality=quality, optimize=True)
        derivative = derivative_record(
            asset=asset,
            kind=kind,
            recipe_version=version,
            path=rel,
            media_type="image/jpeg",
            width=copy.width,
            height=copy.height,
        )
        made.append(derivative)
    return made
