"""The public page of a recording, its listening door and poster door.

The page shows the player on the listening door, the transcript beside it
(closed passages as placeholders), the index points, the downloads and the
caption track; ``?t=`` cues the player. The listening door gives everyone
but staff a copy with the closed passages silenced, made once per set of
closed passages; staff hear the unsilenced copy.
"""

from __future__ import annotations

import re
from pathlib import Path

import av
import numpy as np
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from archive.models import AccessLevel, Derivative, Place
from ingest import media
from tests.archive.factories import make_user
from tests.transcription.doors import (
    close_passages,
    listening_copy_make,
    poster_make,
    recording_make,
    transcript_make,
)
from transcription import selectors
from transcription.models import ClosedRange, IndexPoint, Segment, Transcript

pytestmark = pytest.mark.django_db

CLOSED_TEXT = "屋企有啲事，我唔想喺度講。"
OPEN_TEXT = "我細個嗰陣，喺西關嘅茶樓飲茶。"
SAMPLE_VIDEO = (
    Path(__file__).resolve().parents[2]
    / "ingest/sample/documentary/pearl-river-1950s/clip.mp4"
)


@pytest.fixture
def staff():
    return make_user("archivist-page", groups=["Archivists"])


@pytest.fixture
def recording(tmp_path):
    item, asset = recording_make(tmp_path)
    transcript = transcript_make(item, asset=asset)
    return item, asset, transcript


def _page(client, item, query: str = "") -> str:
    response = client.get(f"/items/{item.public_id}/{query}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


# ---------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------


def test_page_shows_player_transcript_captions_and_downloads(client, recording):
    item, asset, transcript = recording
    html = _page(client, item)
    listen = reverse("recording_listen", args=[item.public_id, asset.pk])
    assert f'<audio controls preload="metadata" src="{listen}">' in html
    vtt = f"/items/{item.public_id}/transcript.vtt"
    assert re.search(
        rf'<track kind="captions" srclang="yue" label="[^"]+" src="{re.escape(vtt)}" default>',
        html,
    )
    assert OPEN_TEXT in html and CLOSED_TEXT in html  # nothing closed yet
    assert "machine-generated, not yet reviewed" in html
    # Speaker labels where the speaker changes, not on every line.
    assert html.count('<span class="speaker">梁伯</span>') == 2
    assert html.count('<span class="speaker">訪問者</span>') == 1
    for fmt in ("vtt", "srt", "txt", "json"):
        assert f'href="/items/{item.public_id}/transcript.{fmt}" download' in html
    # Without JavaScript every time is a link that cues the player there.
    assert f'href="?t=12#recording-{asset.pk}"' in html
    assert 'data-start="12.0" data-end="18.0"' in html
    assert "transcription/player.js" in html
    # The original's own door is not what the player plays.
    assert reverse("asset_file", args=[item.public_id, asset.pk]) not in html


def test_closed_passage_is_a_placeholder_for_the_public(client, recording, staff):
    item, _, _ = recording
    close_passages(item, (24.0, 30.0))
    html = _page(client, item)
    assert CLOSED_TEXT not in html
    assert "closed passage 0:24–0:30" in html
    client.force_login(staff)
    html = _page(client, item)
    assert CLOSED_TEXT in html and "closed passage" not in html


def test_neighbouring_closed_segments_are_one_placeholder(client, recording):
    item, _, transcript = recording
    Segment.objects.filter(transcript=transcript, start__in=[18.0, 24.0]).update(
        access_level=AccessLevel.STAFF
    )
    html = _page(client, item)
    assert html.count("closed passage") == 1
    assert "closed passage 0:18–0:30" in html


@pytest.mark.parametrize(
    ("query", "cued"), [("?t=30", "30"), ("?t=12.5", "12.5"), ("?t=abc", ""), ("", "")]
)
def test_t_cues_the_player(client, recording, query, cued):
    item, asset, _ = recording
    html = _page(client, item, query)
    listen = reverse("recording_listen", args=[item.public_id, asset.pk])
    assert f'data-start-at="{cued}"' in html
    if cued:
        assert f'src="{listen}#t={cued}"' in html
        assert "Cued at" in html
    else:
        assert f'src="{listen}"' in html and "#t=" not in html


def test_approved_transcript_has_no_notice(client, recording):
    item, _, transcript = recording
    transcript.review_state = Transcript.Review.APPROVED
    transcript.save()
    assert "not yet reviewed" not in _page(client, item)


def test_index_points_beside_the_player(client, recording, staff):
    item, asset, _ = recording
    place = Place.objects.create(name="蓮香樓", name_en="Lin Heung Tea House")
    IndexPoint.objects.create(
        item=item,
        start=4.5,
        title="阿爺同蓮香樓",
        synopsis="梁伯講阿爺每朝帶佢飲茶。",
        keywords=["茶樓", "一盅兩件"],
        place=place,
        links=[
            {"label": "蓮香樓", "url": "https://example.org/linheung"},
            {"label": "bad", "url": "javascript:alert(1)"},
        ],
    )
    IndexPoint.objects.create(item=item, start=25.0, title="屋企嘅秘密")
    close_passages(item, (24.0, 30.0))
    html = _page(client, item)
    assert "阿爺同蓮香樓" in html and "梁伯講阿爺每朝帶佢飲茶。" in html
    assert "茶樓" in html and "一盅兩件" in html and "Lin Heung Tea House" in html
    assert f'href="?t=4.5#recording-{asset.pk}" data-seek="4.5"' in html
    assert "https://example.org/linheung" in html and "javascript:" not in html
    # A point inside a closed passage could tell what it says.
    assert "屋企嘅秘密" not in html
    client.force_login(staff)
    assert "屋企嘅秘密" in _page(client, item)


def test_transcript_choice_and_second_transcript_track(client, recording):
    item, asset, primary = recording
    standard = transcript_make(
        item,
        asset=asset,
        segments=[(0.0, 4.5, "我小時候在西關的茶樓飲茶。", "梁伯")],
        register=Transcript.Register.STANDARD,
        is_primary=False,
    )
    html = _page(client, item)
    assert OPEN_TEXT in html and "我小時候在西關的茶樓飲茶。" not in html
    other_vtt = f"/items/{item.public_id}/transcripts/{standard.public_id}.vtt"
    assert (
        f'srclang="zh-Hant" label="Standard Written Chinese" src="{other_vtt}">' in html
    )
    html = _page(client, item, f"?transcript={standard.public_id}")
    assert "我小時候在西關的茶樓飲茶。" in html and OPEN_TEXT not in html
    # The shown transcript's captions are the default track.
    assert re.search(rf'src="{re.escape(other_vtt)}" default>', html)
    assert (
        f'href="?transcript={standard.public_id}&amp;t=0#recording-{asset.pk}"' in html
    )


def test_video_page_has_poster_and_captions(client, tmp_path):
    from archive.services import asset_create

    item, _ = recording_make(tmp_path, kind="documentary_video")
    video, _ = asset_create(item=item, source=SAMPLE_VIDEO, role="media")
    item.assets.exclude(pk=video.pk).delete()
    transcript_make(item, asset=video)
    poster_make(video)
    html = _page(client, item)
    poster = reverse("recording_poster", args=[item.public_id, video.pk])
    assert re.search(
        rf'<video controls preload="metadata" playsinline poster="{poster}"', html
    )
    assert '<track kind="captions" srclang="yue"' in html
    response = client.get(poster)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"


# ---------------------------------------------------------------------------
# The listening door
# ---------------------------------------------------------------------------


def _rms_between(path: Path, start: float, end: float) -> float:
    """Root mean square of the decoded audio between two times (PyAV)."""
    chunks = []
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            if frame.time is None:
                continue
            samples = frame.to_ndarray().astype(np.float32)
            if samples.ndim > 1:
                samples = samples.mean(axis=0)
            if frame.format.name.startswith("s16"):
                samples = samples / 32768.0
            times = frame.time + np.arange(samples.shape[-1]) / frame.sample_rate
            chunks.append(samples[(times >= start) & (times < end)])
    return media.rms(np.concatenate(chunks)) if chunks else 0.0


def _fetch(client, url, target: Path, **extra) -> tuple:
    response = client.get(url, **extra)
    target.write_bytes(b"".join(response.streaming_content))
    return response, target


def _silenced_files() -> list[Path]:
    root = Path(settings.ARCHIVE_STORAGE_ROOT) / "derivatives" / "listening_silenced"
    return sorted(p for p in root.rglob("*") if p.suffix in (".m4a", ".mp4"))


def test_without_closed_passages_everyone_hears_the_listening_copy(client, recording):
    item, asset, _ = recording
    url = reverse("recording_listen", args=[item.public_id, asset.pk])
    response = client.get(url)  # no listening copy yet: the original
    assert response.status_code == 200 and response["Content-Type"] == "audio/x-wav"
    copy = listening_copy_make(asset)
    response = client.get(url, HTTP_RANGE="bytes=0-99")
    assert response.status_code == 206
    assert response["Content-Type"] == "audio/mp4"
    assert response["Content-Range"] == f"bytes 0-99/{copy.abspath.stat().st_size}"
    assert response["Cache-Control"] == "public, max-age=3600"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert _silenced_files() == []


def test_closed_passage_is_silent_for_the_public_only(
    client, recording, staff, tmp_path
):
    item, asset, _ = recording
    copy = listening_copy_make(asset)
    close_passages(item, (24.0, 30.0))
    url = reverse("recording_listen", args=[item.public_id, asset.pk])

    response, public = _fetch(client, url, tmp_path / "public.m4a")
    assert response.status_code == 200 and response["Content-Type"] == "audio/mp4"
    assert response["Cache-Control"] == "private, no-store"
    assert _rms_between(public, 24.3, 29.7) < 1e-4  # digital silence
    assert _rms_between(public, 5.0, 20.0) > 0.2  # the tone (0.5 peak: rms 0.35)
    assert _rms_between(public, 31.0, 38.0) > 0.2
    assert public.read_bytes() != copy.abspath.read_bytes()

    client.force_login(staff)
    response, heard = _fetch(client, url, tmp_path / "staff.m4a")
    assert response["Cache-Control"] == "private, no-store"
    assert heard.read_bytes() == copy.abspath.read_bytes()
    assert _rms_between(heard, 24.3, 29.7) > 0.2


def test_silenced_copy_is_made_once_per_set_of_closed_passages(client, recording):
    item, asset, _ = recording
    close_passages(item, (24.0, 30.0))
    url = reverse("recording_listen", args=[item.public_id, asset.pk])
    client.get(url)
    (first,) = _silenced_files()
    made = first.stat().st_mtime_ns
    assert client.get(url, HTTP_RANGE="bytes=100-199").status_code == 206
    assert _silenced_files() == [first] and first.stat().st_mtime_ns == made
    # Another set of closed passages: another file, keyed by the set's hash.
    ClosedRange.objects.create(consent=item.consent, start=2.0, end=3.0)
    client.get(url)
    files = _silenced_files()
    assert len(files) == 2
    key = selectors.closed_key([(2.0, 3.0), (24.0, 30.0)])
    assert any(key in f.name for f in files)
    # A closure that has lapsed no longer silences anything.
    ClosedRange.objects.update(until=timezone.localdate())
    response = client.get(url)
    assert response["Content-Type"] == "audio/x-wav"  # the original, no copy yet


def test_silenced_video_keeps_the_pictures(client, tmp_path, staff):
    from archive.services import asset_create, derivative_record

    item, _ = recording_make(tmp_path, kind="documentary_video")
    video, _ = asset_create(item=item, source=SAMPLE_VIDEO, role="media")
    rel = f"derivatives/video_proxy/v1/{video.sha256[:2]}/{video.sha256}.mp4"
    media.video_proxy_write(video.path, Path(settings.ARCHIVE_STORAGE_ROOT) / rel)
    proxy = derivative_record(
        asset=video,
        kind=Derivative.Kind.VIDEO_PROXY,
        recipe_version=1,
        path=rel,
        media_type="video/mp4",
    )
    close_passages(item, (5.0, 9.0))
    url = reverse("recording_listen", args=[item.public_id, video.pk])
    response, public = _fetch(client, url, tmp_path / "public.mp4")
    assert response["Content-Type"] == "video/mp4"
    with av.open(str(public)) as container:
        assert container.streams.video and container.streams.audio
        frames = sum(1 for _ in container.demux(container.streams.video[0]))
    with av.open(str(proxy.abspath)) as container:
        assert frames >= sum(1 for _ in container.demux(container.streams.video[0])) - 1
    assert _rms_between(public, 5.3, 8.7) < 1e-4
    assert _rms_between(proxy.abspath, 5.3, 8.7) > 1e-3  # the clip speaks there
    client.force_login(staff)
    response, heard = _fetch(client, url, tmp_path / "staff.mp4")
    assert heard.read_bytes() == proxy.abspath.read_bytes()


def test_listening_door_refuses_like_the_item_page(client, recording, tmp_path):
    item, asset, _ = recording
    item.access_level = AccessLevel.STAFF
    item.save()
    url = reverse("recording_listen", args=[item.public_id, asset.pk])
    response = client.get(url)
    assert response.status_code == 403
    assert response["Cache-Control"] == "private, no-store"
    other, other_asset = recording_make(tmp_path, title="另一段")
    # An asset of another item is not this item's recording.
    bad = reverse("recording_listen", args=[other.public_id, asset.pk])
    assert client.get(bad).status_code == 404
    no_poster = reverse("recording_poster", args=[other.public_id, other_asset.pk])
    assert client.get(no_poster).status_code == 404


# ---------------------------------------------------------------------------
# Changes reach cached documents
# ---------------------------------------------------------------------------


def test_transcript_changes_mark_the_item_changed(recording):
    from transcription import signals

    assert signals.is_connected()
    item, _, transcript = recording
    item.refresh_from_db()
    before = item.updated_at
    segment = Segment.objects.filter(transcript=transcript).first()
    segment.text = "改正咗嘅文字"
    segment.save()
    item.refresh_from_db()
    assert item.updated_at > before
    for change in (
        lambda: IndexPoint.objects.create(item=item, start=1.0, title="開始"),
        lambda: close_passages(item, (1.0, 2.0)),
        lambda: ClosedRange.objects.filter(consent__item=item).delete(),
        lambda: transcript.save(),
    ):
        before = item.updated_at
        change()
        item.refresh_from_db()
        assert item.updated_at > before
