"""Fixtures of the IIIF tests: an isolated Image API cache, and pages with pyramids."""

from __future__ import annotations

import io
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_iiif_cache(settings, tmp_path):
    """Give every test its own Image API cache folder."""
    settings.IIIF_CACHE_DIR = tmp_path / "iiif-cache"


def png_bytes(image) -> bytes:
    """Encode a Pillow image as PNG."""
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def page_with_pyramid(tmp_path):
    """Make a page image with its pyramid from Pillow image bytes.

    Returns a function ``make(data, item=None, public_id=None, name="page.png")``
    that stores the bytes as an original of ``item`` (a new public image set by
    default), builds the pyramid with the project's recipe and returns the
    PageImage.
    """
    from archive.models import Asset, Item, PageImage
    from archive.services import asset_create
    from iiif.services import page_pyramid_make
    from tests.archive.factories import ItemFactory

    def make(data: bytes, *, item=None, public_id=None, name="page.png", **item_fields):
        item = item or ItemFactory(kind=Item.Kind.IMAGE_SET, **item_fields)
        source = Path(tmp_path) / f"{item.pk}-{name}"
        source.write_bytes(data)
        asset, _ = asset_create(item=item, source=source, role=Asset.Role.PAGE)
        pyramid = page_pyramid_make(asset=asset)
        page = PageImage(
            item=item,
            sequence=item.pages.count() + 1,
            asset=asset,
            width=pyramid.width,
            height=pyramid.height,
        )
        if public_id:
            page.public_id = public_id
        page.full_clean()
        page.save()
        return page

    return make
