"""Cache invalidation for Presentation manifests: decoupled reactions (STYLE.md §2).

A cached manifest is keyed by a stamp (:func:`iiif.presentation.manifest_stamp`);
these handlers renew the stamp of every item whose manifest shows what was
saved or deleted: the item, its pages, files and derivatives, its agents,
places and theme libraries, its work and the work's agents. Changes that
reach many items at once (an institution, a collection, a theme library)
renew every manifest's stamp: they are rare, and a rebuild is cheap.

Stamps are renewed at once and again after the transaction commits, so a
manifest built from rows read before the commit is never served after it.
Bulk ``QuerySet.update()`` sends no signals: code that uses it on these models
must call :func:`iiif.presentation.manifest_cache_bump` itself.

:func:`connect` wires the handlers; ``IiifConfig.ready()`` calls it.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from archive.models import (
    Agent,
    Asset,
    Collection,
    Derivative,
    Institution,
    Item,
    ItemAgent,
    PageImage,
    Place,
    ThemeLibrary,
    Work,
    WorkAgent,
)
from iiif.presentation import manifest_cache_bump

_UID = "iiif.presentation"


def _bump(public_ids: Iterable[str] | None) -> None:
    ids = None if public_ids is None else sorted(set(public_ids))
    if ids == []:
        return
    manifest_cache_bump(public_ids=ids)
    transaction.on_commit(lambda: manifest_cache_bump(public_ids=ids))


def _item_ids(**filters) -> list[str]:
    return list(Item.objects.filter(**filters).values_list("public_id", flat=True))


def item_changed(sender, instance: Item, **kwargs) -> None:
    """An item was saved or deleted."""
    _bump([instance.public_id])


def item_part_changed(sender, instance, **kwargs) -> None:
    """A page, file or agent link of an item was saved or deleted."""
    _bump(_item_ids(pk=instance.item_id))


def derivative_changed(sender, instance: Derivative, **kwargs) -> None:
    """A pyramid, poster or other derivative was made or removed."""
    _bump(_item_ids(assets__pk=instance.asset_id))


def work_changed(sender, instance: Work, **kwargs) -> None:
    """A work was saved or deleted: its volumes show its title, class and date."""
    _bump(_item_ids(work__pk=instance.pk))


def work_agent_changed(sender, instance: WorkAgent, **kwargs) -> None:
    """An author was linked to or unlinked from a work."""
    _bump(_item_ids(work__pk=instance.work_id))


def agent_changed(sender, instance: Agent, **kwargs) -> None:
    """An agent's name or dynasty changed: every item naming them, directly or by work."""
    _bump(
        _item_ids(item_agents__agent=instance)
        + _item_ids(work__work_agents__agent=instance)
    )


def place_changed(sender, instance: Place, **kwargs) -> None:
    """A place's name changed."""
    _bump(_item_ids(places=instance))


def everything_changed(sender, instance, **kwargs) -> None:
    """An institution, collection or theme library changed: many manifests show it."""
    _bump(None)


def item_relations_changed(
    sender, instance, action: str, reverse: bool, pk_set, **kwargs
):
    """Places or theme libraries were added to or removed from items (either side)."""
    if not action.startswith("post_"):
        return
    if not reverse:
        _bump([instance.public_id])
    elif pk_set:
        _bump(_item_ids(pk__in=pk_set))
    else:  # post_clear from the place or theme side: who was linked is gone
        _bump(None)


def connect() -> None:
    """Connect the handlers; idempotent (each has a dispatch_uid)."""
    for signal in (post_save, post_delete):
        signal.connect(item_changed, sender=Item, dispatch_uid=f"{_UID}.item")
        for model in (PageImage, Asset, ItemAgent):
            signal.connect(
                item_part_changed,
                sender=model,
                dispatch_uid=f"{_UID}.part.{model.__name__}",
            )
        signal.connect(
            derivative_changed, sender=Derivative, dispatch_uid=f"{_UID}.derivative"
        )
        signal.connect(work_changed, sender=Work, dispatch_uid=f"{_UID}.work")
        signal.connect(
            work_agent_changed, sender=WorkAgent, dispatch_uid=f"{_UID}.workagent"
        )
        signal.connect(agent_changed, sender=Agent, dispatch_uid=f"{_UID}.agent")
        signal.connect(place_changed, sender=Place, dispatch_uid=f"{_UID}.place")
        for model in (Institution, Collection, ThemeLibrary):
            signal.connect(
                everything_changed,
                sender=model,
                dispatch_uid=f"{_UID}.all.{model.__name__}",
            )
    for through in (Item.places.through, Item.themes.through):
        m2m_changed.connect(
            item_relations_changed,
            sender=through,
            dispatch_uid=f"{_UID}.m2m.{through.__name__}",
        )


def is_connected() -> bool:
    """Whether :func:`connect` has run (checked by the tests and system checks)."""
    return any(entry[0][0] == f"{_UID}.item" for entry in post_save.receivers)
