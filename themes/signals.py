"""Decoupled reactions (STYLE.md §2): exhibitions reach the search index.

Publishing, unpublishing, moving or deleting an exhibition page queues its
re-indexing (``archive.search.indexing.exhibitions_changed``), after the
transaction commits. :func:`connect` wires the handlers;
``ThemesConfig.ready()`` calls it.
"""

from __future__ import annotations

from django.db.models.signals import post_delete
from wagtail.signals import page_published, page_unpublished, post_page_move

from archive.search.indexing import exhibitions_changed
from themes.models import ExhibitionPage

_UID = "themes.search"


def exhibition_changed(sender, instance, **kwargs) -> None:
    """An exhibition was published, unpublished or deleted."""
    exhibitions_changed([instance.pk])


def page_moved(sender, instance, **kwargs) -> None:
    """A page moved: an exhibition's theme library (its facet) may have changed."""
    if isinstance(instance.specific_deferred, ExhibitionPage):
        exhibitions_changed([instance.pk])


def connect() -> None:
    """Connect the handlers; idempotent (each has a dispatch_uid)."""
    page_published.connect(
        exhibition_changed, sender=ExhibitionPage, dispatch_uid=f"{_UID}.published"
    )
    page_unpublished.connect(
        exhibition_changed, sender=ExhibitionPage, dispatch_uid=f"{_UID}.unpublished"
    )
    post_delete.connect(
        exhibition_changed, sender=ExhibitionPage, dispatch_uid=f"{_UID}.deleted"
    )
    post_page_move.connect(page_moved, dispatch_uid=f"{_UID}.moved")
