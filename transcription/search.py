"""Transcript segments as search documents (registered with ``archive.search``).

A hit on a segment opens the recording at that second (``?t=``). What a
reader may find is what they may read (``transcript_reading``): the segment
carries the gates of its item, of its recording and of its own level, and a
passage the consent closes adds a gate that only staff pass (until the date
it opens, when the passage has one: an embargo gate, so the engine opens it
on that day without waiting for a reindex).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.db.models import Prefetch

from archive.access import can_view, is_archive_staff
from archive.models import AccessLevel, Item
from archive.search.documents import Source, item_facets, item_gate, source_register
from archive.search.engine import Gate, SearchDocument
from transcription.models import ClosedRange, Consent, Segment, Transcript
from transcription.selectors import READABLE_STATUSES
from transcription.services.consent import closed_ranges_by_item


def _closed_gates(
    start: float, end: float, ranges: list[ClosedRange], today
) -> list[Gate]:
    """The gates of the closed passages overlapping ``start``..``end``."""
    gates = []
    for closed in ranges:
        if closed.until is not None and closed.until <= today:
            continue
        if closed.start < end and closed.end > start:
            if closed.until is None:
                gates.append(Gate(AccessLevel.STAFF))
            else:
                gates.append(Gate(AccessLevel.EMBARGOED, closed.until))
    return gates


def _asset_gate(transcript: Transcript) -> Gate | None:
    asset = transcript.asset
    if asset.is_staff_only:
        return Gate(AccessLevel.STAFF)
    if asset.access_level:
        return Gate(asset.access_level)
    return None


def _strictest(gates: list[Gate]) -> list[Gate]:
    """At most four gates: the item's, then the strictest of the rest."""
    if len(gates) <= 4:
        return gates
    staff = [g for g in gates[1:] if g.level == AccessLevel.STAFF]
    if staff:
        return [gates[0], staff[0]]
    latest = max(gates[1:], key=lambda g: g.embargo_until or g.level)
    return [gates[0], latest]


def transcript_documents(
    transcript: Transcript, item: Item, ranges: list[ClosedRange], today
) -> Iterator[SearchDocument]:
    """The documents of one transcript's segments."""
    facets = item_facets(item)
    base = [item_gate(item)]
    asset_gate = _asset_gate(transcript)
    if asset_gate is not None:
        base.append(asset_gate)
    speaker_title = item.title
    # Rows, not model instances: a reindex reads every segment, and building
    # a model object for each cost more than the rest of this loop.
    rows = transcript.segments.order_by("start", "pk").values_list(
        "pk", "text", "start", "end", "speaker", "access_level"
    )
    for pk, text, start, end, speaker, access_level in rows:
        if not text.strip():
            continue
        gates = list(base)
        if access_level:
            gates.append(Gate(access_level))
        if ranges:
            gates += _closed_gates(start, end, ranges, today)
        yield SearchDocument(
            key=f"segment:{pk}",
            type="segment",
            title=speaker_title,
            body=text,
            gates=tuple(_strictest(gates)),
            start=round(start, 3),
            end=round(end, 3),
            speaker=speaker,
            url=f"/items/{item.public_id}/?t={int(start)}",
            extra={
                "transcript": transcript.public_id,
                "primary": transcript.is_primary,
                "title_en": item.title_en,
            },
            **facets,
        )


def _transcripts(items: Iterable[int] | None):
    transcripts = (
        Transcript.objects.filter(status__in=READABLE_STATUSES)
        .exclude(item__access_level=AccessLevel.WITHDRAWN)
        .select_related("asset", "item", "item__collection")
        .prefetch_related("item__themes", "item__places")
        .order_by("pk")
    )
    if items is not None:
        transcripts = transcripts.filter(item__pk__in=list(items))
    return transcripts


def _documents(items: Iterable[int] | None) -> Iterator[SearchDocument]:
    from django.utils import timezone

    today = timezone.localdate()
    consents = {
        c.item_id: list(c.closed_ranges.all())
        for c in Consent.objects.prefetch_related(
            Prefetch("closed_ranges", queryset=ClosedRange.objects.order_by("start"))
        )
    }
    for transcript in _transcripts(items).iterator(chunk_size=200):
        item = transcript.item
        yield from transcript_documents(
            transcript, item, consents.get(item.pk, []), today
        )


#: Columns the access check never reads (the texts, word timings, a
#: transcript's run record, an item's descriptions and table of contents):
#: left unread, so checking 20 hits does not decode them.
_ITEM_TEXTS = (
    "description",
    "description_hant",
    "description_hans",
    "description_en",
    "required_statement",
    "required_statement_en",
    "withdrawn_note",
    "toc",
)
_UNREAD = (
    "text",
    "machine_text",
    "words",
    *(f"transcript__{name}" for name in ("options", "fallbacks", "dropped", "error")),
    *(f"transcript__item__{name}" for name in _ITEM_TEXTS),
    *(f"transcript__asset__item__{name}" for name in _ITEM_TEXTS),
)


def _visible(documents: list[SearchDocument], user, request) -> set[str]:
    """The segments the reader may read now (``transcript_reading``'s rules)."""
    pks = [int(d.key.split(":", 1)[1]) for d in documents]
    # No ordering: Segment's default (transcript, start) follows the
    # transcript's and the item's own, which cost more to compile and join
    # than the whole check.
    segments = list(
        Segment.objects.filter(pk__in=pks)
        .select_related("transcript__asset__item", "transcript__item")
        .defer(*_UNREAD)
        .order_by()
    )
    staff = is_archive_staff(user)
    # Closed passages of every item at once (a query per item was most of a
    # search's time: the API answers 20 hits from up to 20 recordings).
    closed = (
        {}
        if staff
        else closed_ranges_by_item(items={s.transcript.item_id for s in segments})
    )
    allowed: set[str] = set()
    for segment in segments:
        transcript = segment.transcript
        item = transcript.item
        if transcript.status not in READABLE_STATUSES:
            continue
        if not can_view(user, item, request) or not can_view(
            user, transcript.asset, request
        ):
            continue
        if not can_view(user, segment, request):
            continue
        if not staff and any(
            a < segment.end and b > segment.start for a, b in closed[item.pk]
        ):
            continue
        allowed.add(f"segment:{segment.pk}")
    return allowed


def register() -> None:
    """Register the segment source (``TranscriptionConfig.ready()``)."""
    source_register(
        Source(
            type="segment",
            every=lambda: _documents(None),
            count=lambda: (
                Segment.objects.filter(transcript__status__in=READABLE_STATUSES)
                .exclude(transcript__item__access_level=AccessLevel.WITHDRAWN)
                .count()
            ),
            of_items=lambda pks: _documents(pks),
            visible=_visible,
        )
    )
