"""Consent: the one writer of ``Consent`` and its closed passages, and carrying it onto access.

An interviewee's consent says who may hear a recording, until when, and which
passages nobody but staff may read or hear. :func:`consent_save` is the only
place that records or changes one (the admin form and the ingest both call
it): it checks the closed passages, replaces them in one transaction, carries
the consent onto the item's and segments' access levels (:func:`consent_apply`)
and, after the commit, asks for the silenced listening copies
(``transcription.services.listening``), so the first public listener of a long
interview does not wait for one to be made.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from archive.models import AccessLevel, Asset, Item
from archive.search.indexing import items_changed
from transcription.models import ClosedRange, Consent, Segment, Transcript

#: How strict each level is, for "the stricter of two levels".
STRICTNESS = {
    "": 0,
    AccessLevel.PUBLIC: 1,
    AccessLevel.EMBARGOED: 2,
    AccessLevel.READING_ROOM: 3,
    AccessLevel.STAFF: 4,
    AccessLevel.WITHDRAWN: 5,
}

#: A closed passage may end this many seconds after the recording (rounding of
#: the times written on the form); the ingest allows the same.
CLOSED_END_SLACK = 1.0

#: Longest reason a closed passage keeps (``ClosedRange.reason``).
REASON_MAX = 300


def stricter(a: str, b: str) -> str:
    """The stricter of two access levels ("" counts as no restriction)."""
    return a if STRICTNESS.get(a, 0) >= STRICTNESS.get(b, 0) else b


def clock(seconds: float) -> str:
    """Seconds as a time in a recording for messages: ``0:24``, ``1:02:03``, ``0:01.5``."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    fraction = round(seconds - whole, 3)
    if fraction >= 0.001:
        text += f"{fraction:.3f}".lstrip("0").rstrip("0")
    return text


# ---------------------------------------------------------------------------
# Checking closed passages
# ---------------------------------------------------------------------------


def recording_duration(*, item: Item) -> float | None:
    """The length of the item's recording in seconds, or None when it is not known.

    Read from the stored media originals' headers (nothing is decoded); when
    no file can be read, from the transcripts the engine made. With several
    recordings, the longest: closed passages are times in one recording, and
    the ingest delivers one recording per item.
    """
    from transcription.audio import media_duration

    durations = []
    for asset in Asset.objects.filter(item=item, role=Asset.Role.MEDIA):
        if asset.path.exists():
            seconds = media_duration(asset.path)
            if seconds is not None:
                durations.append(seconds)
    if not durations:
        durations = [
            d
            for d in Transcript.objects.filter(item=item, duration__gt=0).values_list(
                "duration", flat=True
            )
            if d
        ]
    return max(durations) if durations else None


def consent_closed_clean(
    *, item: Item, closed: Iterable[Mapping]
) -> list[dict[str, object]]:
    """Check closed passages and return them normalised, in time order.

    Each passage is ``{start, end, until, reason}`` (seconds, seconds, a date
    or None, text). A passage must start at 0 or later and before it ends,
    lie inside the recording when its length is known (ending at most
    ``CLOSED_END_SLACK`` seconds after it), and overlap no other passage:
    overlapping passages are refused rather than merged, because each keeps
    its own date and reason and only the archivist can say which wins.

    Raises:
        ValidationError: ``{"closed": [messages]}``, each message naming the
            passage by its number in the order given (1 = the first).
    """
    passages: list[dict[str, object]] = []
    problems: list[str] = []
    for n, raw in enumerate(closed, start=1):
        try:
            start, end = float(raw["start"]), float(raw["end"])
        except (KeyError, TypeError, ValueError):
            problems.append(
                # Translators: %(n)s numbers the closed passages of a consent (1, 2 …).
                _("Closed passage %(n)s needs a start and an end in seconds.")
                % {"n": n}
            )
            continue
        reason = str(raw.get("reason") or "")
        if start < 0:
            problems.append(
                _("Closed passage %(n)s starts before the recording begins.") % {"n": n}
            )
        elif end <= start:
            problems.append(
                # Translators: times are minutes:seconds in the recording (0:24–0:30).
                _(
                    "Closed passage %(n)s must start before it ends "
                    "(it runs %(start)s–%(end)s)."
                )
                % {"n": n, "start": clock(start), "end": clock(end)}
            )
        if len(reason) > REASON_MAX:
            problems.append(
                _(
                    "The reason of closed passage %(n)s is longer than %(max)s characters."
                )
                % {"n": n, "max": REASON_MAX}
            )
        passages.append(
            {
                "n": n,
                "start": start,
                "end": end,
                "until": raw.get("until") or None,
                "reason": reason,
            }
        )
    if not problems and passages:
        duration = recording_duration(item=item)
        if duration is not None:
            for p in passages:
                if p["start"] >= duration or p["end"] > duration + CLOSED_END_SLACK:
                    problems.append(
                        # Translators: %(duration)s is the recording's length (0:40).
                        _(
                            "Closed passage %(n)s (%(start)s–%(end)s) is not inside "
                            "the recording, which lasts %(duration)s."
                        )
                        % {
                            "n": p["n"],
                            "start": clock(p["start"]),
                            "end": clock(p["end"]),
                            "duration": clock(duration),
                        }
                    )
        ordered = sorted(passages, key=lambda p: (p["start"], p["end"]))
        for before, after in zip(ordered, ordered[1:], strict=False):
            if after["start"] < before["end"]:
                problems.append(
                    # Translators: two closed passages, by number and times, overlap.
                    _(
                        "Closed passages %(a)s (%(a_start)s–%(a_end)s) and %(b)s "
                        "(%(b_start)s–%(b_end)s) overlap: make them one passage, or "
                        "move one so that they only meet."
                    )
                    % {
                        "a": before["n"],
                        "a_start": clock(before["start"]),
                        "a_end": clock(before["end"]),
                        "b": after["n"],
                        "b_start": clock(after["start"]),
                        "b_end": clock(after["end"]),
                    }
                )
        passages = ordered
    if problems:
        raise ValidationError({"closed": problems})
    return [{k: v for k, v in p.items() if k != "n"} for p in passages]


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def consent_save(
    *,
    item: Item,
    allowed: str,
    valid_until: date | None = None,
    signed_on: date | None = None,
    notes: str = "",
    closed: Iterable[Mapping] = (),
    user=None,
) -> Consent:
    """Record or change the item's consent and its closed passages, and apply it.

    The closed passages replace the consent's old ones, all in one
    transaction with the consent itself and :func:`consent_apply` (the item's
    and segments' access levels), so a reader never meets a half-changed
    consent. After the commit the silenced listening copies for the passages
    now closed are queued (``listening_silenced_task``). The signed form is
    not changed here: it arrives with the ingest (``consent_form_process``).

    Args:
        item: The recording's item.
        allowed: Who the interviewee allowed to hear it (``Consent.Allowed``).
        valid_until: The last day the consent holds; afterwards, staff only.
        signed_on: The day the form was signed.
        notes: Free notes of the archivist.
        closed: The closed passages, ``{start, end, until, reason}`` each
            (see :func:`consent_closed_clean`).
        user: Who made the change, for the admin's history (None: the ingest).

    Returns:
        The saved consent.

    Raises:
        ValidationError: by field (``allowed``, ``valid_until``, ``closed`` …).
    """
    from wagtail.log_actions import log

    from transcription.services.listening import listening_silenced_schedule

    passages = consent_closed_clean(item=item, closed=closed)
    if valid_until and signed_on and valid_until < signed_on:
        raise ValidationError(
            {
                "valid_until": _(
                    "The consent cannot end before the form was signed (%(date)s)."
                )
                % {"date": signed_on.isoformat()}
            }
        )
    with transaction.atomic():
        consent = Consent.objects.select_for_update().filter(item=item).first()
        created = consent is None
        if created:
            consent = Consent(item=item)
        consent.allowed = allowed
        consent.valid_until = valid_until
        consent.signed_on = signed_on
        consent.notes = notes or ""
        consent.full_clean()
        consent.save()
        consent.closed_ranges.all().delete()
        rows = [ClosedRange(consent=consent, **p) for p in passages]
        for row in rows:
            row.full_clean()
        ClosedRange.objects.bulk_create(rows)
        consent_apply(consent=consent)
        log(
            instance=consent,
            action="wagtail.create" if created else "wagtail.edit",
            user=user,
            content_changed=True,
        )
        listening_silenced_schedule(item=item)
    return consent


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
    """Nightly: re-apply every consent (expiries, closed passages whose date passed).

    When the passages closed today differ from those of the silenced copies
    on disk (a dated closure ended, or a copy is missing), the copies for
    today's set are queued, so listeners do not wait for them tomorrow.
    """
    from transcription.services.listening import listening_silenced_schedule

    count = 0
    for consent in Consent.objects.select_related("item").prefetch_related(
        "closed_ranges"
    ):
        consent_apply(consent=consent, today=today)
        # consent_apply updates in bulk (no signals): search re-reads the item.
        items_changed([consent.item_id])
        listening_silenced_schedule(item=consent.item, today=today)
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


def closed_ranges_by_item(
    *, items: Iterable[int], today: date | None = None
) -> dict[int, list[tuple[float, float]]]:
    """:func:`closed_ranges_for` of many items at once (two queries), by item pk.

    Items without a consent, or with nothing closed now, map to an empty list.
    """
    today = today or timezone.localdate()
    pks = set(items)
    closed = dict.fromkeys(pks, [])
    ranges = ClosedRange.objects.order_by("start")
    for consent in (
        Consent.objects.filter(item_id__in=pks)
        .order_by()
        .prefetch_related(Prefetch("closed_ranges", queryset=ranges))
    ):
        closed[consent.item_id] = _closed_now(consent, today)
    return closed
