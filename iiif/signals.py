"""Signal handlers of ``iiif``: purge the Image API's server-side cache.

Decoupled reactions only (STYLE.md §2): when an item stops being visible to
everyone (withdrawn, restricted, re-embargoed), when a page's file becomes
stricter, when a pyramid is (re)made or removed, or when a page image is saved
again or deleted, everything the project cached for the affected page images
goes. Connected in ``IiifConfig.ready``.

The purge runs at once and again after the transaction commits, and it
changes the cache's generation token, so a request that read the old state
before the commit cannot leave an entry behind (``iiif.image_cache``). This
matters because a front server serves cached files without asking Django
(``docs/deploy/nginx.conf``): the purge is what makes the next request fall
through to the view, which answers 401, 403 or 410. Changes that bypass
``save()`` (``QuerySet.update``, raw SQL) send no signal: call
:func:`image_cache_purge` after them, or empty ``IIIF_CACHE_DIR``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from archive.access import decide
from archive.models import Asset, Derivative, Item, PageImage
from iiif.image_cache import image_cache


def image_cache_purge(*, public_ids) -> None:
    """Remove what the Image API cached for these page images, now and on commit."""
    ids = list(public_ids)
    if not ids:
        return
    cache = image_cache(settings.IIIF_CACHE_DIR, settings.IIIF_CACHE_MAX_BYTES)

    def purge():
        cache.purge(*ids)

    purge()
    transaction.on_commit(purge)


def _page_ids(**filters) -> list[str]:
    return list(PageImage.objects.filter(**filters).values_list("public_id", flat=True))


def item_saved(sender, instance: Item, **kwargs) -> None:
    """An item no longer visible to everyone loses its cached images."""
    if not decide(None, instance).allowed:
        image_cache_purge(public_ids=_page_ids(item_id=instance.pk))


def asset_saved(sender, instance: Asset, **kwargs) -> None:
    """A page file made stricter than public loses its cached images."""
    if instance.role == Asset.Role.PAGE and not decide(None, instance).allowed:
        image_cache_purge(public_ids=_page_ids(asset_id=instance.pk))


def derivative_changed(sender, instance: Derivative, **kwargs) -> None:
    """A pyramid made again, or removed: its pages' cached images are stale."""
    if instance.kind == Derivative.Kind.PYRAMID:
        image_cache_purge(public_ids=_page_ids(asset_id=instance.asset_id))


def page_saved(sender, instance: PageImage, created: bool = False, **kwargs) -> None:
    """A page saved again may show another file now: its cached images are stale."""
    if not created:
        image_cache_purge(public_ids=[instance.public_id])


def page_deleted(sender, instance: PageImage, **kwargs) -> None:
    """A page image removed: nothing of it may stay cached."""
    image_cache_purge(public_ids=[instance.public_id])


def connect() -> None:
    """Connect the handlers (called once from ``IiifConfig.ready``)."""
    post_save.connect(item_saved, sender=Item, dispatch_uid="iiif_item_saved")
    post_save.connect(asset_saved, sender=Asset, dispatch_uid="iiif_asset_saved")
    post_save.connect(
        derivative_changed, sender=Derivative, dispatch_uid="iiif_derivative_saved"
    )
    post_delete.connect(
        derivative_changed, sender=Derivative, dispatch_uid="iiif_derivative_deleted"
    )
    post_save.connect(page_saved, sender=PageImage, dispatch_uid="iiif_page_saved")
    post_delete.connect(
        page_deleted, sender=PageImage, dispatch_uid="iiif_page_deleted"
    )
