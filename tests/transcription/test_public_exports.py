"""Transcript exports at the stable URLs (DESIGN.md, Public interfaces): who reads what.

Closed passages appear to the public only as closed placeholders, never with
their text; staff read them. Unreviewed transcripts say so in every format.
"""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from archive.models import AccessLevel
from tests.archive.factories import make_user
from tests.transcription.doors import (
    FORMATS,
    SEGMENTS,
    close_passages,
    recording_make,
    transcript_make,
)
from transcription import formats
from transcription.models import Segment, Transcript

pytestmark = pytest.mark.django_db

CLOSED_TEXT = "屋企有啲事，我唔想喺度講。"
OPEN_TEXT = "我細個嗰陣，喺西關嘅茶樓飲茶。"
NOTICE = "machine-generated, not yet reviewed"
TYPES = {
    "vtt": "text/vtt; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "json": "application/json",
}


@pytest.fixture
def recording(tmp_path):
    item, asset = recording_make(tmp_path, title="西關茶樓憶舊 EXPORT-TITLE")
    transcript = transcript_make(item, asset=asset)
    return item, transcript


@pytest.fixture
def closed(recording):
    item, transcript = recording
    close_passages(item, (24.0, 30.0))
    return item, transcript


@pytest.fixture
def staff():
    return make_user("archivist-exports", groups=["Archivists"])


def _get(client, url, **extra):
    return client.get(url, HTTP_ACCEPT_LANGUAGE="en", **extra)


def _text(response) -> str:
    return response.content.decode("utf-8")


@pytest.mark.parametrize("fmt", FORMATS)
def test_public_reads_placeholders_never_the_closed_text(client, closed, fmt):
    item, transcript = closed
    response = _get(client, reverse("item_transcript", args=[item.public_id, fmt]))
    assert response.status_code == 200
    assert response["Content-Type"] == TYPES[fmt]
    body = _text(response)
    assert OPEN_TEXT in body
    assert CLOSED_TEXT not in body
    assert "closed passage" in body
    # Everyone may fetch it (IIIF clients read the VTT cross-origin) ...
    assert response["Access-Control-Allow-Origin"] == "*"
    # ... but staff read more at the same URL: no shared cache keeps it.
    assert response["Cache-Control"] == "private, no-store"
    disposition = response["Content-Disposition"]
    name = f"{item.public_id}.{transcript.public_id}.yue.{fmt}"
    assert disposition.startswith("inline;") and f'filename="{name}"' in disposition


@pytest.mark.parametrize("fmt", FORMATS)
def test_unreviewed_transcripts_say_so_in_every_format(client, recording, fmt):
    item, _ = recording
    body = _text(_get(client, reverse("item_transcript", args=[item.public_id, fmt])))
    assert NOTICE in body


@pytest.mark.parametrize("fmt", FORMATS)
def test_staff_read_the_closed_passage(client, closed, staff, fmt):
    item, _ = closed
    client.force_login(staff)
    body = _text(_get(client, reverse("item_transcript", args=[item.public_id, fmt])))
    assert CLOSED_TEXT in body
    assert "closed passage" not in body


def test_json_export_marks_the_closed_placeholder(client, closed):
    item, transcript = closed
    data = json.loads(
        _get(client, reverse("item_transcript", args=[item.public_id, "json"])).content
    )
    assert data["transcript"] == transcript.public_id
    assert data["review_state"] == "machine"
    rows = data["segments"]
    assert [r["closed"] for r in rows].count(True) == 1
    (placeholder,) = [r for r in rows if r["closed"]]
    assert (placeholder["start"], placeholder["end"]) == (24.0, 30.0)
    assert placeholder["speaker"] == ""
    assert len(rows) == len(SEGMENTS)  # six open segments and the placeholder


def test_vtt_reads_back_with_the_open_cues(client, closed):
    item, _ = closed
    body = _text(_get(client, reverse("item_transcript", args=[item.public_id, "vtt"])))
    cues = formats.parse_vtt(body).cues
    texts = [c.text for c in cues]
    assert OPEN_TEXT in texts and CLOSED_TEXT not in texts
    assert cues[0].speaker == "梁伯"
    assert [c.start for c in cues] == sorted(c.start for c in cues)


def test_everything_public_is_cacheable(client, recording):
    item, _ = recording
    response = _get(client, reverse("item_transcript", args=[item.public_id, "vtt"]))
    assert response["Cache-Control"] == "public, max-age=300"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert CLOSED_TEXT in _text(response)  # nothing is closed here


def test_a_closed_segment_without_consent_is_closed_too(client, recording, staff):
    """A segment an archivist closed by hand (its own level) is decided per segment."""
    item, transcript = recording
    Segment.objects.filter(transcript=transcript, text=CLOSED_TEXT).update(
        access_level=AccessLevel.STAFF
    )
    url = reverse("item_transcript", args=[item.public_id, "txt"])
    response = _get(client, url)
    assert CLOSED_TEXT not in _text(response) and "closed passage" in _text(response)
    assert response["Cache-Control"] == "private, no-store"
    client.force_login(staff)
    assert CLOSED_TEXT in _text(_get(client, url))


def test_reading_room_segment_is_read_in_the_reading_room(client, recording, settings):
    settings.ARCHIVE_READING_ROOM_NETWORKS = ["10.20.0.0/16"]
    item, transcript = recording
    Segment.objects.filter(transcript=transcript, text=CLOSED_TEXT).update(
        access_level=AccessLevel.READING_ROOM
    )
    url = reverse("item_transcript", args=[item.public_id, "txt"])
    assert CLOSED_TEXT not in _text(_get(client, url, REMOTE_ADDR="203.0.113.9"))
    assert CLOSED_TEXT in _text(_get(client, url, REMOTE_ADDR="10.20.30.40"))


def test_approved_transcript_has_no_machine_notice(client, recording):
    item, transcript = recording
    transcript.review_state = Transcript.Review.APPROVED
    transcript.save()
    for fmt in FORMATS:
        body = _text(
            _get(client, reverse("item_transcript", args=[item.public_id, fmt]))
        )
        assert NOTICE not in body, fmt


def test_every_transcript_has_its_own_url(client, recording):
    item, primary = recording
    standard = transcript_make(
        item,
        segments=[(0.0, 4.5, "我小時候在西關的茶樓飲茶。", "梁伯")],
        register=Transcript.Register.STANDARD,
        is_primary=False,
    )
    url = reverse("transcript_file", args=[item.public_id, standard.public_id, "txt"])
    response = _get(client, url)
    assert response.status_code == 200
    assert "我小時候在西關的茶樓飲茶。" in _text(response)
    assert f"{standard.public_id}.zh-Hant.txt" in response["Content-Disposition"]
    # The short URL is the primary transcript's.
    primary_body = _text(
        _get(client, reverse("item_transcript", args=[item.public_id, "txt"]))
    )
    assert OPEN_TEXT in primary_body and "我小時候" not in primary_body
    same = reverse("transcript_file", args=[item.public_id, primary.public_id, "txt"])
    assert _text(_get(client, same)) == primary_body


def test_unknown_unfinished_and_foreign_transcripts_are_404(
    client, recording, tmp_path
):
    item, _ = recording
    queued = transcript_make(item, is_primary=False)
    queued.status = Transcript.Status.RUNNING
    queued.save()
    other_item, _ = recording_make(tmp_path, title="另一段錄音")
    other = transcript_make(other_item)
    for transcript_id in ("tffffffffff", queued.public_id, other.public_id):
        url = reverse("transcript_file", args=[item.public_id, transcript_id, "vtt"])
        assert _get(client, url).status_code == 404, transcript_id
    assert client.get(f"/items/{item.public_id}/transcript.doc").status_code == 404


def test_item_without_a_readable_transcript_is_404(client, tmp_path):
    item, _ = recording_make(tmp_path)
    assert _get(client, f"/items/{item.public_id}/transcript.vtt").status_code == 404


@pytest.mark.parametrize(
    ("level", "status"),
    [
        (AccessLevel.STAFF, 403),
        (AccessLevel.READING_ROOM, 403),
        (AccessLevel.WITHDRAWN, 410),
    ],
)
def test_refused_items_answer_like_the_item_page(client, recording, level, status):
    item, transcript = recording
    item.access_level = level
    item.save()
    for url in (
        reverse("item_transcript", args=[item.public_id, "vtt"]),
        reverse("transcript_file", args=[item.public_id, transcript.public_id, "json"]),
    ):
        response = _get(client, url)
        assert response.status_code == status
        assert (
            response.status_code == client.get(f"/items/{item.public_id}/").status_code
        )
        assert response["Cache-Control"] == "private, no-store"
        assert "Access-Control-Allow-Origin" not in response
        assert OPEN_TEXT not in _text(response) and "EXPORT-TITLE" not in _text(
            response
        )


def test_restricted_item_export_is_private_for_staff(client, recording, staff):
    item, _ = recording
    item.access_level = AccessLevel.STAFF
    item.save()
    client.force_login(staff)
    response = _get(client, reverse("item_transcript", args=[item.public_id, "vtt"]))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert "Access-Control-Allow-Origin" not in response


def test_transcript_of_a_staff_only_recording_is_refused(client, recording):
    item, transcript = recording
    transcript.asset.access_level = AccessLevel.STAFF
    transcript.asset.save()
    response = _get(client, reverse("item_transcript", args=[item.public_id, "vtt"]))
    assert response.status_code == 403
