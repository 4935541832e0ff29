"""Consent carried onto the item, its segments and the signed form, through ``can_view``."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError

from archive.access import can_view
from archive.models import AccessLevel, Asset, Item
from tests.archive.factories import ItemFactory, make_user
from transcription.models import (
    ClosedRange,
    Consent,
    Segment,
    SegmentRevision,
    Transcript,
)
from transcription.services import (
    closed_ranges_for,
    consent_apply,
    consent_save,
    consents_review,
    stricter,
    transcript_request,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English (the source language; zh-Hant is the default)."""
    from django.utils import translation

    with translation.override("en"):
        yield


TODAY = date(2026, 11, 28)


@pytest.fixture
def recording():
    item = ItemFactory(kind=Item.Kind.ORAL_HISTORY, access_level=AccessLevel.PUBLIC)
    media = Asset.objects.create(
        item=item,
        role=Asset.Role.MEDIA,
        sha256="a" * 64,
        storage_path="originals/aa/aa/" + "a" * 64,
        size=1,
        media_type="audio/flac",
    )
    transcript = Transcript.objects.create(item=item, asset=media)
    texts = ["我細個嗰陣", "喺西關嘅茶樓飲茶", "屋企嘅事唔講", "一九三八年走難"]
    for n, text in enumerate(texts):
        Segment.objects.create(
            transcript=transcript,
            start=10 * n,
            end=10 * n + 9,
            text=text,
            machine_text=text,
        )
    return item


def segments(item):
    return list(Segment.objects.filter(transcript__item=item).order_by("start"))


def test_stricter_orders_levels():
    assert stricter(AccessLevel.PUBLIC, AccessLevel.STAFF) == AccessLevel.STAFF
    assert (
        stricter(AccessLevel.READING_ROOM, AccessLevel.PUBLIC)
        == AccessLevel.READING_ROOM
    )
    assert stricter("", AccessLevel.PUBLIC) == AccessLevel.PUBLIC
    assert stricter(AccessLevel.WITHDRAWN, AccessLevel.STAFF) == AccessLevel.WITHDRAWN


def test_consent_makes_the_item_stricter_never_looser(recording):
    consent = Consent.objects.create(
        item=recording, allowed=Consent.Allowed.READING_ROOM
    )
    consent_apply(consent=consent, today=TODAY)
    recording.refresh_from_db()
    assert recording.access_level == AccessLevel.READING_ROOM
    consent.allowed = Consent.Allowed.PUBLIC
    consent.save()
    consent_apply(consent=consent, today=TODAY)
    recording.refresh_from_db()
    assert recording.access_level == AccessLevel.READING_ROOM  # not opened by consent


def test_an_expired_consent_closes_the_recording(recording):
    consent = Consent.objects.create(
        item=recording, allowed=Consent.Allowed.PUBLIC, valid_until=date(2026, 1, 1)
    )
    consent_apply(consent=consent, today=TODAY)
    recording.refresh_from_db()
    assert recording.access_level == AccessLevel.STAFF
    assert not can_view(AnonymousUser(), recording)


def test_closed_passages_close_their_segments_for_the_public_only(recording):
    consent = Consent.objects.create(item=recording, allowed=Consent.Allowed.PUBLIC)
    ClosedRange.objects.create(consent=consent, start=21, end=25, reason="家事")
    consent_apply(consent=consent, today=TODAY)
    levels = [s.access_level for s in segments(recording)]
    assert levels == ["", "", AccessLevel.STAFF, ""]
    public = [s.text for s in segments(recording) if can_view(AnonymousUser(), s)]
    assert public == ["我細個嗰陣", "喺西關嘅茶樓飲茶", "一九三八年走難"]
    staff = make_user("staff", groups=["Archivists"])
    assert all(can_view(staff, s) for s in segments(recording))
    assert closed_ranges_for(item=recording, today=TODAY) == [(21, 25)]


def test_a_dated_closure_opens_after_its_date(recording):
    consent = Consent.objects.create(item=recording, allowed=Consent.Allowed.PUBLIC)
    ClosedRange.objects.create(consent=consent, start=0, end=5, until=date(2027, 1, 1))
    consent_apply(consent=consent, today=TODAY)
    assert segments(recording)[0].access_level == AccessLevel.STAFF
    consents_review(today=date(2027, 1, 1))
    assert segments(recording)[0].access_level == ""
    assert closed_ranges_for(item=recording, today=date(2027, 1, 1)) == []


def test_a_passage_closed_by_hand_stays_closed(recording):
    consent = Consent.objects.create(item=recording, allowed=Consent.Allowed.PUBLIC)
    by_hand = segments(recording)[3]
    by_hand.access_level = AccessLevel.STAFF
    by_hand.save()
    SegmentRevision.objects.create(
        segment=by_hand, action="access", before={}, after={}
    )
    consent_apply(consent=consent, today=TODAY)
    assert segments(recording)[3].access_level == AccessLevel.STAFF


def test_the_signed_form_is_staff_only_whatever_the_item(recording):
    form = Asset.objects.create(
        item=recording,
        role=Asset.Role.SUPPLEMENT,
        sha256="b" * 64,
        storage_path="originals/bb/bb/" + "b" * 64,
        size=1,
        media_type="application/pdf",
    )
    consent = Consent.objects.create(
        item=recording, allowed=Consent.Allowed.PUBLIC, form=form
    )
    consent_apply(consent=consent, today=TODAY)
    form.refresh_from_db()
    assert form.role == Asset.Role.CONSENT_FORM and form.is_personal_data
    assert can_view(AnonymousUser(), recording)
    assert not can_view(AnonymousUser(), form)


def test_transcript_request_queues_the_first_as_primary(recording, monkeypatch):
    import transcription.tasks

    sent = []

    class Task:
        @staticmethod
        def delay_on_commit(pk):
            sent.append(pk)

    monkeypatch.setattr(transcription.tasks, "transcript_run_task", Task, raising=False)
    media = recording.assets.get(role=Asset.Role.MEDIA)
    Transcript.objects.all().delete()
    first = transcript_request(asset=media)
    second = transcript_request(asset=media, register=Transcript.Register.STANDARD)
    assert first.is_primary and not second.is_primary
    assert second.language == "zh" and first.status == Transcript.Status.QUEUED
    assert sent == [first.pk, second.pk]


def test_the_original_with_closed_passages_is_served_to_staff_only(client, tmp_path):
    from archive.services import asset_create

    item = ItemFactory(kind=Item.Kind.ORAL_HISTORY, access_level=AccessLevel.PUBLIC)
    source = tmp_path / "interview.wav"
    source.write_bytes(b"RIFF" + b"\0" * 60)
    media, _ = asset_create(item=item, source=source, role=Asset.Role.MEDIA)
    url = f"/items/{item.public_id}/files/{media.pk}"
    assert client.get(url).status_code == 200  # nothing closed: the original is public
    consent = Consent.objects.create(item=item, allowed=Consent.Allowed.PUBLIC)
    ClosedRange.objects.create(consent=consent, start=1, end=2, reason="家事")
    consent_apply(consent=consent)
    assert client.get(url).status_code == 403  # refused pages answer 403
    client.force_login(make_user("someone"))
    assert client.get(url).status_code == 403
    client.force_login(make_user("archivist", groups=["Archivists"]))
    assert client.get(url).status_code == 200


# ---------------------------------------------------------------------------
# consent_save: the one writer of consents and their closed passages
# ---------------------------------------------------------------------------


def _closed(*ranges, **fields) -> list[dict]:
    return [{"start": a, "end": b, **fields} for a, b in ranges]


def _problems(excinfo) -> str:
    return " ".join(excinfo.value.message_dict["closed"])


def test_consent_save_records_the_passages_in_order_and_applies_them(recording):
    consent = consent_save(
        item=recording,
        allowed=Consent.Allowed.PUBLIC,
        signed_on=date(2024, 5, 1),
        notes="訪問後簽署",
        closed=_closed((30, 35), (21, 25), reason="家事"),
    )
    passages = [(r.start, r.end, r.reason) for r in consent.closed_ranges.all()]
    assert passages == [(21, 25, "家事"), (30, 35, "家事")]
    assert [s.access_level for s in segments(recording)] == [
        "",
        "",
        AccessLevel.STAFF,
        AccessLevel.STAFF,
    ]
    assert consent.signed_on == date(2024, 5, 1) and consent.notes == "訪問後簽署"


def test_consent_save_replaces_the_passages_of_an_existing_consent(recording):
    first = consent_save(
        item=recording, allowed=Consent.Allowed.PUBLIC, closed=_closed((21, 25))
    )
    second = consent_save(
        item=recording,
        allowed=Consent.Allowed.READING_ROOM,
        closed=_closed((0, 5), (5, 8)),  # passages that only meet are fine
    )
    assert second.pk == first.pk and Consent.objects.count() == 1
    assert ClosedRange.objects.filter(consent=second).count() == 2
    assert [s.access_level for s in segments(recording)] == [
        AccessLevel.STAFF,
        "",
        "",  # opened again: no longer inside a closed passage
        "",
    ]
    recording.refresh_from_db()
    assert recording.access_level == AccessLevel.READING_ROOM


def test_consent_save_refuses_overlapping_passages_and_keeps_the_old_ones(recording):
    consent_save(item=recording, allowed=Consent.Allowed.PUBLIC, closed=_closed((1, 2)))
    with pytest.raises(ValidationError) as excinfo:
        consent_save(
            item=recording,
            allowed=Consent.Allowed.STAFF,
            closed=_closed((10, 20), (30, 32), (15, 25)),
        )
    assert "Closed passages 1 (0:10–0:20) and 3 (0:15–0:25) overlap" in _problems(
        excinfo
    )
    consent = Consent.objects.get(item=recording)
    assert consent.allowed == Consent.Allowed.PUBLIC
    assert [(r.start, r.end) for r in consent.closed_ranges.all()] == [(1, 2)]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (20, 20, "Closed passage 1 must start before it ends (it runs 0:20–0:20)."),
        (25, 21, "Closed passage 1 must start before it ends (it runs 0:25–0:21)."),
        (-1, 5, "Closed passage 1 starts before the recording begins."),
    ],
)
def test_consent_save_refuses_a_passage_that_does_not_start_before_it_ends(
    recording, start, end, message
):
    with pytest.raises(ValidationError) as excinfo:
        consent_save(
            item=recording,
            allowed=Consent.Allowed.PUBLIC,
            closed=_closed((start, end)),
        )
    assert _problems(excinfo) == message
    assert not Consent.objects.filter(item=recording).exists()


def test_consent_save_refuses_passages_outside_the_recording(tmp_path):
    from tests.transcription.doors import recording_make

    item, _ = recording_make(tmp_path, seconds=40.0)
    with pytest.raises(ValidationError) as excinfo:
        consent_save(
            item=item,
            allowed=Consent.Allowed.PUBLIC,
            closed=_closed((10, 12), (38, 45)),
        )
    assert _problems(excinfo) == (
        "Closed passage 2 (0:38–0:45) is not inside the recording, which lasts 0:40."
    )
    # Within a second of the end is rounding, as the ingest allows.
    consent_save(item=item, allowed=Consent.Allowed.PUBLIC, closed=_closed((38, 40.8)))


def test_without_a_readable_file_the_transcript_gives_the_length(recording):
    # The fixture's recording has no bytes on disk: the transcript's length counts.
    consent_save(
        item=recording, allowed=Consent.Allowed.PUBLIC, closed=_closed((0, 90))
    )
    Transcript.objects.filter(item=recording).update(duration=40.0)
    with pytest.raises(ValidationError) as excinfo:
        consent_save(
            item=recording, allowed=Consent.Allowed.PUBLIC, closed=_closed((41.5, 50))
        )
    assert "which lasts 0:40" in _problems(excinfo)


def test_consent_save_refuses_an_end_before_the_signature(recording):
    with pytest.raises(ValidationError) as excinfo:
        consent_save(
            item=recording,
            allowed=Consent.Allowed.PUBLIC,
            signed_on=date(2024, 5, 1),
            valid_until=date(2024, 4, 1),
        )
    assert list(excinfo.value.message_dict) == ["valid_until"]


def test_the_ingest_records_consent_through_the_service(recording):
    from ingest.services.recordings import consent_record

    delivered = {
        "allowed": "reading_room",
        "valid_until": None,
        "signed_on": "2024-05-01",
        "notes": "",
        "closed": [
            {"start": 10.0, "end": 20.0, "until": None, "reason": ""},
            {"start": 15.0, "end": 25.0, "until": "2030-01-01", "reason": "家事"},
        ],
    }
    with pytest.raises(ValidationError) as excinfo:
        consent_record(item=recording, consent=delivered)
    assert list(excinfo.value.message_dict) == ["consent.closed"]
    assert "overlap" in excinfo.value.message_dict["consent.closed"][0]
    delivered["closed"][1]["start"] = 20.0
    consent, created = consent_record(item=recording, consent=delivered)
    assert created and consent.signed_on == date(2024, 5, 1)
    assert [(r.start, r.until) for r in consent.closed_ranges.all()] == [
        (10.0, None),
        (20.0, date(2030, 1, 1)),
    ]
    recording.refresh_from_db()
    assert recording.access_level == AccessLevel.READING_ROOM
    # A consent once recorded belongs to the archivists: a redelivery keeps it.
    delivered["allowed"] = "public"
    assert consent_record(item=recording, consent=delivered) == (consent, False)
