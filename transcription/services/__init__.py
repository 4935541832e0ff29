"""Writes of ``transcription``: requesting transcripts, consent, (and in submodules) runs and edits.

Submodules: ``run`` (the engine run, chunked and resumable), ``editing``
(corrections, splits, merges, speakers, approval, revisions, carrying
corrections over to a re-transcription), ``formats`` lives beside this
package (exports and imports).
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from archive.models import AccessLevel, Asset, Item
from transcription.models import Consent, Segment, Transcript

#: How strict each level is, for "the stricter of two levels".
STRICTNESS = {
    "": 0,
    AccessLevel.PUBLIC: 1,
    AccessLevel.EMBARGOED: 2,
    AccessLevel.READING_ROOM: 3,
    AccessLevel.STAFF: 4,
    AccessLevel.WITHDRAWN: 5,
}


def stricter(a: str, b: str) -> str:
    """The stricter of two access levels ("" counts as no restriction)."""
    return a if STRICTNESS.get(a, 0) >= STRICTNESS.get(b, 0) else b


def transcript_request(
    *,
    asset: Asset,
    register: str = Transcript.Register.COLLOQUIAL,
    previous: Transcript | None = None,
    enqueue: bool = True,
) -> Transcript:
    """Queue a machine transcription of a recording; returns the queued transcript.

    The item's first transcript becomes its primary one. With ``previous``, the
    new run re-transcribes it (a better model): the archivist's corrections are
    carried over when it finishes. The Celery task is sent after commit.
    """
    item = asset.item
    transcript = Transcript(
        item=item,
        asset=asset,
        register=register,
        language=register,
        is_primary=not item.transcripts.filter(is_primary=True).exists()
        and previous is None,
        previous=previous,
    )
    transcript.full_clean()
    transcript.save()
    if enqueue:
        from transcription.tasks import transcript_run_task

        transcript_run_task.delay_on_commit(transcript.pk)
    return transcript


def _closed_now(consent: Consent, today: date) -> list[tuple[float, float]]:
    return [
        (r.start, r.end)
        for r in consent.closed_ranges.all()
        if r.until is None or r.until > today
    ]


@transaction.atomic
def consent_apply(*, consent: Consent, today: date | None = None) -> Item:
    """Carry a consent onto the item's and its segments' access levels.

    The item's level becomes the stricter of its own and what the consent
    allows (staff only once the consent has expired). Segments that overlap a
    closed passage become staff only; segments outside every closed passage go
    back to following the item (unless a person closed them by hand: their
    revision history says so, and they keep their level). The signed form is
    personal data, staff only whatever the item's level.
    """
    today = today or timezone.localdate()
    item = consent.item
    allowed = consent.allowed
    if consent.valid_until is not None and consent.valid_until < today:
        allowed = AccessLevel.STAFF
    level = stricter(item.access_level, allowed)
    if level != item.access_level:
        item.access_level = level
        item.full_clean()
        item.save(update_fields=["access_level", "updated_at"])
    if consent.form_id:
        Asset.objects.filter(pk=consent.form_id).update(
            role=Asset.Role.CONSENT_FORM, is_personal_data=True
        )
    closed = _closed_now(consent, today)
    segments = Segment.objects.filter(transcript__item=item)
    overlapping = Q(pk__in=[])
    for start, end in closed:
        overlapping |= Q(start__lt=end, end__gt=start)
    segments.filter(overlapping).update(access_level=AccessLevel.STAFF)
    by_consent = segments.exclude(overlapping).filter(access_level=AccessLevel.STAFF)
    by_consent.exclude(revisions__action="access").update(access_level="")
    return item


def consents_review(*, today: date | None = None) -> int:
    """Nightly: re-apply every consent (expiries, closed passages whose date passed)."""
    count = 0
    for consent in Consent.objects.select_related("item").prefetch_related(
        "closed_ranges"
    ):
        consent_apply(consent=consent, today=today)
        count += 1
    return count


def closed_ranges_for(
    *, item: Item, today: date | None = None
) -> list[tuple[float, float]]:
    """The passages of a recording closed now (staff hear them; nobody else)."""
    consent = (
        Consent.objects.filter(item=item).prefetch_related("closed_ranges").first()
    )
    if consent is None:
        return []
    return _closed_now(consent, today or timezone.localdate())
