"""Silenced listening copies made ahead of time, so the first listener does not wait.

The listening door (``/items/{item}/listen/{asset}``) gives everyone but staff
a copy of the recording with the consent's closed passages silenced
(``transcription.selectors.listening_file_get``). Made on the first request,
that copy can take minutes for a long interview; these services make it as
soon as the closed passages change instead (``listening_silenced_task``,
queued by ``consent_save`` and by the nightly ``consents_review``). The door
keeps making a copy on demand when none exists, so a copy that is late, or
lost, only costs time.

Copies are the same files the door makes (``selectors.silenced_copy_get``),
named by the recording, the source it is made from and the hash of the set of
closed passages (``selectors.silenced_relpath``): a changed consent names a new
file, and a copy made for an earlier set is never served.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from django.conf import settings

from archive.models import AccessLevel, Asset, Item
from transcription import selectors
from transcription.services.consent import closed_ranges_for

logger = logging.getLogger(__name__)

#: Item levels at which only staff may hear the recording: they hear the
#: unsilenced copy, so a silenced one would never be served.
STAFF_ONLY_LEVELS = (AccessLevel.STAFF, AccessLevel.WITHDRAWN)


def _recordings(item: Item) -> list[Asset]:
    """The item's media originals that someone other than staff may hear."""
    if item.access_level in STAFF_ONLY_LEVELS:
        return []
    return [
        asset
        for asset in Asset.objects.filter(item=item, role=Asset.Role.MEDIA)
        .select_related("item")
        .order_by("pk")
        if asset.access_level not in STAFF_ONLY_LEVELS and not asset.is_staff_only
    ]


def listening_silenced_missing(*, item: Item, today: date | None = None) -> list[Asset]:
    """The item's recordings whose silenced copy for the passages closed now is missing.

    Empty when nothing is closed, when only staff may hear the recording, or
    when every copy exists. A recording whose original is not on disk is not
    counted: nothing can be made from it (the fixity check reports it).
    """
    closed = closed_ranges_for(item=item, today=today)
    if not closed:
        return []
    root = Path(settings.ARCHIVE_STORAGE_ROOT)
    return [
        asset
        for asset in _recordings(item)
        if asset.path.exists()
        and not (root / selectors.silenced_relpath(asset=asset, closed=closed)).exists()
    ]


def listening_silenced_make(*, item: Item) -> list[Path]:
    """Make the silenced listening copy of each of the item's recordings, for today's passages.

    Idempotent: a copy that exists is kept as it is (the door's own lock
    makes sure a listener arriving meanwhile does not encode it twice).

    Returns:
        The paths of the silenced copies, made now or found.
    """
    closed = closed_ranges_for(item=item)
    if not closed:
        return []
    made = []
    for asset in _recordings(item):
        path = selectors.silenced_copy_get(asset=asset, closed=closed)
        if path is None:
            logger.warning(
                "No silenced copy of asset %s of %s: its stored file is missing",
                asset.pk,
                item.public_id,
            )
            continue
        made.append(path)
    return made


def listening_silenced_schedule(*, item: Item, today: date | None = None) -> bool:
    """Queue ``listening_silenced_task`` for the item after commit, when a copy is missing.

    Returns:
        Whether the task was queued.
    """
    if not listening_silenced_missing(item=item, today=today):
        return False
    from transcription.tasks import listening_silenced_task

    listening_silenced_task.delay_on_commit(item.pk)
    return True
