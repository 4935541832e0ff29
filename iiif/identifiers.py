"""IIIF identifiers and URLs of page images, manifests and collections.

An image identifier is the page image's stable public identifier plus the
pyramid's recipe version: ``{public_id}~v{version}`` (for example
``img-7h3k9m2p4q~v1``). Manifests always use that versioned form, so a
re-derived pyramid gets new URLs and no cached tile hides it; those responses
are immutable. The bare ``{public_id}`` is also served (the current version),
for people and for the IIIF validator, whose test image must answer at
``67352ccc-d1b0-11e1-89ae-279075081939``; it is cached for a short time only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings

from iiif.services import PYRAMID_RECIPE_VERSION

_IDENTIFIER = re.compile(
    r"^(?P<public_id>[a-z0-9][a-z0-9-]{2,63})(?:~v(?P<version>[1-9][0-9]{0,5}))?\Z"
)


@dataclass(frozen=True)
class ImageIdentifier:
    """A parsed image identifier: the page's public id and the recipe version asked for."""

    public_id: str
    #: None for the bare form (the current version).
    version: int | None

    @property
    def versioned(self) -> bool:
        """Whether the identifier names a recipe version (and may be cached forever)."""
        return self.version is not None


def parse_image_identifier(value: str) -> ImageIdentifier | None:
    """Parse ``{public_id}`` or ``{public_id}~v{N}``; None when it has neither form."""
    match = _IDENTIFIER.match(value or "")
    if not match:
        return None
    version = match.group("version")
    return ImageIdentifier(match.group("public_id"), int(version) if version else None)


def image_identifier(public_id: str, version: int = PYRAMID_RECIPE_VERSION) -> str:
    """The versioned identifier of a page image for the current (or given) recipe."""
    return f"{public_id}~v{version}"


def base_url(request=None) -> str:
    """The scheme and host that IIIF ids use (absolute URIs, as the specs require).

    ``IIIF_BASE_URL`` when set (a deployment behind a proxy or CDN); otherwise
    the host the request came to; otherwise the development address.
    """
    if settings.IIIF_BASE_URL:
        return settings.IIIF_BASE_URL.rstrip("/")
    if request is not None:
        return request.build_absolute_uri("/").rstrip("/")
    return "http://127.0.0.1:8000"


def image_service_id(
    public_id: str, version: int = PYRAMID_RECIPE_VERSION, *, request=None
) -> str:
    """The Image API service id (base URI) of a page image."""
    image_base = (
        settings.IIIF_IMAGE_BASE or f"{base_url(request)}/iiif/3/image"
    ).rstrip("/")
    return f"{image_base}/{image_identifier(public_id, version)}"


def manifest_id(item_public_id: str, *, request=None) -> str:
    """The Presentation 3.0 manifest URI of an item."""
    return f"{base_url(request)}/iiif/3/manifest/{item_public_id}"


def collection_id(key: str, *, request=None) -> str:
    """The Presentation 3.0 collection URI (``top``, a collection code, or ``theme-{code}``)."""
    return f"{base_url(request)}/iiif/3/collection/{key}"
