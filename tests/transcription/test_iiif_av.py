"""Recording manifests with transcripts and index points (Presentation 3.0, cookbook 0219/0017).

Each readable transcript is a page of ``supplementing`` TextualBody
annotations on time fragments of the canvas, beside the WebVTT caption
annotation and renderings; index points are ranges; closed passages are left
out for everyone; a change to a segment, an index point or the consent
renews the cached manifest.
"""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache

from archive.models import AccessLevel, Asset, Item
from iiif import presentation_signals
from tests.archive.factories import make_user
from tests.iiif.test_presentation import assert_valid_presentation
from tests.transcription.doors import (
    close_passages,
    poster_make,
    transcript_make,
)
from transcription.models import IndexPoint, Segment, Transcript

pytestmark = pytest.mark.django_db

HOST = "http://testserver"
ORAL_HISTORY = "oh-teahouse-1938"
DOCUMENTARY = "doc-pearl-river-1950s"
CLOSED_TEXT = "屋企有啲事，我唔想喺度講。"
OPEN_TEXT = "我細個嗰陣，喺西關嘅茶樓飲茶。"


@pytest.fixture(autouse=True)
def _signals_and_cache(settings):
    settings.IIIF_BASE_URL = ""
    settings.IIIF_IMAGE_BASE = ""
    presentation_signals.connect()
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def oral_history(sample_loader):
    sample_loader(("oral-history", "documentary"))
    item = Item.objects.get(public_id=ORAL_HISTORY)
    transcript = transcript_make(item)
    IndexPoint.objects.create(item=item, start=0.0, title="西關茶樓", keywords=["茶樓"])
    IndexPoint.objects.create(item=item, start=12.0, end=18.0, title="點心")
    return item, transcript


def _manifest(client, public_id: str = ORAL_HISTORY) -> dict:
    response = client.get(
        f"/iiif/3/manifest/{public_id}", HTTP_ACCEPT="application/ld+json"
    )
    assert response.status_code == 200
    doc = json.loads(response.content)
    assert_valid_presentation(doc)
    return doc


def _segment_page(canvas: dict) -> dict:
    (page,) = [p for p in canvas["annotations"] if "/transcript/t" in p["id"]]
    return page


def test_transcript_as_supplementing_annotations_and_renderings(client, oral_history):
    item, transcript = oral_history
    doc = _manifest(client)
    (canvas,) = doc["items"]
    captions, page = canvas["annotations"]
    (vtt,) = captions["items"]
    assert vtt["motivation"] == "supplementing"
    assert vtt["body"]["id"] == f"{HOST}/items/{ORAL_HISTORY}/transcript.vtt"
    assert vtt["body"]["format"] == "text/vtt" and vtt["body"]["language"] == "yue"
    assert page == _segment_page(canvas)
    assert "machine-generated, not yet reviewed" in page["label"]["en"][0]
    texts = [a["body"]["value"] for a in page["items"]]
    assert texts[0] == OPEN_TEXT and len(texts) == 7
    first = page["items"][0]
    assert first["motivation"] == "supplementing"
    assert first["body"]["type"] == "TextualBody"
    assert first["body"]["language"] == "yue"
    assert first["target"] == f"{canvas['id']}#t=0,4.5"
    assert [r["format"] for r in canvas["rendering"]] == ["text/vtt", "text/plain"]
    assert canvas["rendering"][1]["id"] == f"{HOST}/items/{ORAL_HISTORY}/transcript.txt"
    # The renderings are served.
    assert client.get(f"/items/{ORAL_HISTORY}/transcript.vtt").status_code == 200


def test_index_points_are_ranges_of_time(client, oral_history):
    doc = _manifest(client)
    (canvas,) = doc["items"]
    (index,) = doc["structures"]
    assert index["label"]["en"] == ["Index"]
    first, second = index["items"]
    assert first["label"] == {"zh-Hant": ["西關茶樓"]}
    # Without an end of its own a point runs to the next one.
    assert first["items"] == [{"id": f"{canvas['id']}#t=0,12", "type": "Canvas"}]
    assert second["items"][0]["id"] == f"{canvas['id']}#t=12,18"


def test_closed_passages_are_left_out_for_everyone(client, oral_history):
    item, _ = oral_history
    IndexPoint.objects.create(item=item, start=25.0, title="屋企嘅秘密")
    close_passages(item, (24.0, 30.0))
    staff = make_user("archivist-iiif", groups=["Archivists"])
    for visitor in (None, staff):
        if visitor is not None:
            client.force_login(visitor)
        doc = _manifest(client)
        (canvas,) = doc["items"]
        body = json.dumps(doc, ensure_ascii=False)
        assert OPEN_TEXT in body
        assert CLOSED_TEXT not in body and "屋企嘅秘密" not in body
        texts = [a["body"]["value"] for a in _segment_page(canvas)["items"]]
        assert len(texts) == 6


def test_only_readable_transcripts_appear(client, oral_history):
    item, transcript = oral_history
    transcript.status = Transcript.Status.RUNNING
    transcript.save()
    (canvas,) = _manifest(client)["items"]
    assert "annotations" not in canvas and "rendering" not in canvas


def test_second_transcript_in_standard_chinese(client, oral_history):
    item, _ = oral_history
    standard = transcript_make(
        item,
        segments=[(0.0, 4.5, "我小時候在西關的茶樓飲茶。", "梁伯")],
        register=Transcript.Register.STANDARD,
        review=Transcript.Review.APPROVED,
        is_primary=False,
    )
    (canvas,) = _manifest(client)["items"]
    captions = canvas["annotations"][0]["items"]
    assert [a["body"]["language"] for a in captions] == ["yue", "zh-Hant"]
    assert captions[1]["body"]["id"] == (
        f"{HOST}/items/{ORAL_HISTORY}/transcripts/{standard.public_id}.vtt"
    )
    (page,) = [p for p in canvas["annotations"] if standard.public_id in p["id"]]
    assert page["label"]["en"] == ["Transcript (Standard Written Chinese)"]
    assert page["items"][0]["body"]["language"] == "zh-Hant"


@pytest.mark.parametrize(
    "change",
    ["segment", "segment_closed", "index_point", "closed_range", "transcript_deleted"],
)
def test_cached_manifest_renews_on_transcript_changes(client, oral_history, change):
    item, transcript = oral_history
    before = _manifest(client)
    assert _manifest(client) == before  # served from the cache
    segment = Segment.objects.get(transcript=transcript, text=OPEN_TEXT)
    if change == "segment":
        segment.text = "我細個嗰陣，喺西關嘅茶居飲茶。"
        segment.save()
    elif change == "segment_closed":
        segment.access_level = AccessLevel.STAFF
        segment.save()
    elif change == "index_point":
        IndexPoint.objects.create(item=item, start=30.0, title="戰後")
    elif change == "closed_range":
        close_passages(item, (0.0, 4.5))
    else:
        transcript.delete()
    after = _manifest(client)
    assert after != before
    body = json.dumps(after, ensure_ascii=False)
    if change == "segment":
        assert "茶居" in body
    elif change == "index_point":
        assert "戰後" in body
    else:
        assert OPEN_TEXT not in body


def test_video_manifest_has_the_poster_as_thumbnail(client, sample_loader):
    sample_loader(("oral-history", "documentary"))
    item = Item.objects.get(public_id=DOCUMENTARY)
    video = item.assets.get(role=Asset.Role.MEDIA)
    poster = poster_make(video)
    transcript_make(
        item, asset=video, segments=[(1.0, 3.0, "珠江兩岸，船艇如鯽。", "")]
    )
    doc = _manifest(client, DOCUMENTARY)
    (canvas,) = doc["items"]
    url = f"{HOST}/items/{DOCUMENTARY}/poster/{video.pk}.jpg"
    assert doc["thumbnail"][0]["id"] == url and canvas["thumbnail"][0]["id"] == url
    assert doc["thumbnail"][0]["width"] == poster.width
    assert client.get(url.removeprefix(HOST)).status_code == 200
    (page,) = [p for p in canvas["annotations"] if "/transcript/t" in p["id"]]
    assert page["items"][0]["target"] == f"{canvas['id']}#t=1,3"
