"""Decoupled reactions to transcript changes (STYLE.md §2): documents built from them renew.

What readers are shown of a recording (the IIIF manifest's transcript
annotations and index ranges, the item's record) is built from transcripts,
segments, index points and the consent. Cached copies are keyed by the
item's ``updated_at`` among other things (``iiif.presentation``), so a
change here touches the item's ``updated_at``: a cached manifest is then
never served again, without this app knowing about IIIF (``transcription``
imports only ``archive``; DESIGN.md, Apps).

The touch is an UPDATE of the item's row in the saving transaction, so it
commits, or rolls back, with the change itself; a manifest built from rows
read before the commit is stored under the old key, which nobody asks for
again. Bulk ``QuerySet.update()`` sends no signals: code that uses it on
these models (``consent_apply`` does, on segments) must touch the item
itself, or, like ``consent_apply``, follow a save that does. Readers'
selectors also check the consent's closed passages directly, so a passage is
closed on every door as soon as its ClosedRange is saved.

:func:`connect` wires the handlers; ``TranscriptionConfig.ready()`` calls it.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from archive.models import Item
from archive.search.indexing import items_changed
from transcription.models import ClosedRange, Consent, IndexPoint, Segment, Transcript

_UID = "transcription.touch"


def item_touch(**filters) -> int:
    """Mark the items matching ``filters`` as changed now (their ``updated_at``).

    The same items are re-indexed for search after the commit (their
    segments' documents follow the transcript, its access and the consent).
    """
    pks = list(Item.objects.filter(**filters).values_list("pk", flat=True))
    items_changed(pks)
    return Item.objects.filter(pk__in=pks).update(updated_at=timezone.now())


def transcript_changed(sender, instance: Transcript, **kwargs) -> None:
    """A transcript was saved (status, review, primary) or deleted."""
    item_touch(pk=instance.item_id)


def segment_changed(sender, instance: Segment, **kwargs) -> None:
    """A segment's text, times, speaker or access changed, or it was deleted."""
    item_touch(transcripts__pk=instance.transcript_id)


def item_part_changed(sender, instance, **kwargs) -> None:
    """An index point or a consent was saved or deleted."""
    item_touch(pk=instance.item_id)


def closed_range_changed(sender, instance: ClosedRange, **kwargs) -> None:
    """A closed passage was added, changed or removed."""
    item_touch(consent__pk=instance.consent_id)


def connect() -> None:
    """Connect the handlers; idempotent (each has a dispatch_uid)."""
    for signal in (post_save, post_delete):
        name = "save" if signal is post_save else "delete"
        signal.connect(
            transcript_changed, sender=Transcript, dispatch_uid=f"{_UID}.t.{name}"
        )
        signal.connect(segment_changed, sender=Segment, dispatch_uid=f"{_UID}.s.{name}")
        for model in (IndexPoint, Consent):
            signal.connect(
                item_part_changed,
                sender=model,
                dispatch_uid=f"{_UID}.{model.__name__}.{name}",
            )
        signal.connect(
            closed_range_changed, sender=ClosedRange, dispatch_uid=f"{_UID}.c.{name}"
        )


def is_connected() -> bool:
    """Whether :func:`connect` has run (checked by the tests)."""
    return any(entry[0][0] == f"{_UID}.s.save" for entry in post_save.receivers)
