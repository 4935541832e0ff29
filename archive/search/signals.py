"""Decoupled reactions (STYLE.md §2): record changes reach the search index.

Each handler names the items whose documents may have changed;
:mod:`archive.search.indexing` gathers them per transaction and queues one
task after the commit. Other apps call :func:`archive.search.indexing.items_changed`
from their own handlers (``transcription.signals``, ``themes.signals``).
Bulk ``QuerySet.update()`` sends no signals: code that uses it on indexed
fields calls ``items_changed`` itself.

:func:`connect` wires the handlers; ``ArchiveConfig.ready()`` calls it.
"""

from __future__ import annotations

from django.db.models.signals import m2m_changed, post_delete, post_save

from archive.models import Collection, Item, PageImage, ThemeLibrary, Work
from archive.search import indexing

_UID = "archive.search"


def item_saved(sender, instance: Item, **kwargs) -> None:
    """An item's record, access or facets changed."""
    indexing.items_changed([instance.pk])


def item_deleted(sender, instance: Item, **kwargs) -> None:
    """An item is gone: its documents go too."""
    indexing.item_deleted(instance.public_id, instance.work_id)


def item_relations_changed(
    sender, instance, action: str, reverse: bool, pk_set=None, **kwargs
) -> None:
    """Themes, places or agents added to or removed from items."""
    if not action.startswith("post_"):
        return
    if not reverse:
        indexing.items_changed([instance.pk])
    elif pk_set:
        indexing.items_changed(pk_set)


def page_changed(sender, instance: PageImage, **kwargs) -> None:
    """A page's text was saved, or the page deleted."""
    indexing.items_changed([instance.item_id])


def work_saved(sender, instance: Work, **kwargs) -> None:
    """A work's title or class changed: its volumes' documents show it."""
    indexing.items_changed(instance.volumes.values_list("pk", flat=True))


def grouping_saved(sender, instance, **kwargs) -> None:
    """A collection or theme library changed (rare): re-index its items."""
    indexing.items_changed(instance.items.values_list("pk", flat=True))


def connect() -> None:
    """Connect the handlers; idempotent (each has a dispatch_uid)."""
    post_save.connect(item_saved, sender=Item, dispatch_uid=f"{_UID}.item.save")
    post_delete.connect(item_deleted, sender=Item, dispatch_uid=f"{_UID}.item.delete")
    for through in (Item.themes.through, Item.places.through, Item.agents.through):
        m2m_changed.connect(
            item_relations_changed,
            sender=through,
            dispatch_uid=f"{_UID}.m2m.{through.__name__}",
        )
    for signal in (post_save, post_delete):
        name = "save" if signal is post_save else "delete"
        signal.connect(
            page_changed, sender=PageImage, dispatch_uid=f"{_UID}.page.{name}"
        )
    post_save.connect(work_saved, sender=Work, dispatch_uid=f"{_UID}.work.save")
    for model in (Collection, ThemeLibrary):
        post_save.connect(
            grouping_saved, sender=model, dispatch_uid=f"{_UID}.{model.__name__}.save"
        )
