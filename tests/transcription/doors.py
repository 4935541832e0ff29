"""Transcription doors for the access walk (merged by ``tests/archive/doors.py``).

Transcript exports, the listening door and the poster door each show one
item: refused visitors get 401/403 (410 when withdrawn), ``private,
no-store`` and no title. The walk's recording has no transcript or poster of
its own, so the door functions give it one (idempotently) before naming
URLs. The helpers are shared with this app's tests.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.urls import reverse

from archive.models import Asset, Derivative
from tests.archive.factories import jpeg_bytes
from transcription.models import Segment, Transcript

FORMATS = ("vtt", "srt", "txt", "json")

#: (start, end, text, speaker): a short interview in written Cantonese.
SEGMENTS = [
    (0.0, 4.5, "我細個嗰陣，喺西關嘅茶樓飲茶。", "梁伯"),
    (4.5, 9.0, "阿爺每朝都帶我去蓮香樓，叫一盅兩件。", "梁伯"),
    (9.0, 12.0, "你仲記唔記得嗰陣時嘅點心？", "訪問者"),
    (12.0, 18.0, "蝦餃燒賣，仲有馬拉糕，好好味㗎。", "梁伯"),
    (18.0, 24.0, "一九三八年日本仔轟炸廣州，我哋成家走難。", "梁伯"),
    (24.0, 30.0, "屋企有啲事，我唔想喺度講。", "梁伯"),
    (30.0, 36.0, "後來返到嚟，茶樓已經冇咗。", "梁伯"),
]


def transcript_make(
    item, *, asset=None, segments=SEGMENTS, review=Transcript.Review.MACHINE, **fields
) -> Transcript:
    """A finished transcript of ``item``'s recording with ``segments`` (created directly)."""
    asset = asset or item.assets.filter(role=Asset.Role.MEDIA).order_by("pk").first()
    transcript = Transcript.objects.create(
        item=item,
        asset=asset,
        status=Transcript.Status.DONE,
        review_state=review,
        engine="test",
        duration=max((s[1] for s in segments), default=0.0),
        **fields,
    )
    for start, end, text, speaker in segments:
        Segment.objects.create(
            transcript=transcript,
            start=start,
            end=end,
            text=text,
            machine_text=text,
            speaker=speaker,
        )
    return transcript


def primary_transcript(item) -> Transcript:
    """The item's primary transcript, made on first use."""
    return Transcript.objects.filter(
        item=item, is_primary=True
    ).first() or transcript_make(item)


def poster_make(asset) -> Derivative:
    """A poster frame derivative (a small JPEG) of a media asset, made on first use."""
    found = Derivative.objects.filter(asset=asset, kind=Derivative.Kind.POSTER).first()
    if found is not None and found.abspath.exists():
        return found
    rel = f"derivatives/poster/v1/{asset.sha256[:2]}/{asset.sha256}.jpg"
    path = Path(settings.ARCHIVE_STORAGE_ROOT) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg_bytes(color=(40, 60, 80)))
    derivative, _ = Derivative.objects.update_or_create(
        asset=asset,
        kind=Derivative.Kind.POSTER,
        recipe_version=1,
        defaults={
            "path": rel,
            "media_type": "image/jpeg",
            "size": path.stat().st_size,
            "width": 64,
            "height": 96,
        },
    )
    return derivative


def tone_wav(path: Path, *, seconds: float = 40.0, rate: int = 16000) -> Path:
    """A mono WAV of a steady 440 Hz tone (half scale), so silence is easy to measure."""
    import wave

    import numpy as np

    t = np.arange(int(seconds * rate)) / rate
    samples = (0.5 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


def recording_make(tmp_path: Path, *, seconds: float = 40.0, **item_fields):
    """A public oral history with a tone recording as its media original."""
    from archive.models import Item
    from archive.services import asset_create
    from tests.archive.factories import ItemFactory

    fields = {"kind": Item.Kind.ORAL_HISTORY, "title": "西關茶樓憶舊", **item_fields}
    item = ItemFactory(**fields)
    source = tone_wav(tmp_path / f"{item.public_id}.wav", seconds=seconds)
    asset, _ = asset_create(item=item, source=source, role=Asset.Role.MEDIA)
    return item, asset


def listening_copy_make(asset) -> Derivative:
    """The asset's listening copy made with the ingest recipe (AAC in MP4)."""
    from archive.services import derivative_record
    from ingest import media

    rel = f"derivatives/listening_copy/v1/{asset.sha256[:2]}/{asset.sha256}.m4a"
    media.listening_copy_write(asset.path, Path(settings.ARCHIVE_STORAGE_ROOT) / rel)
    return derivative_record(
        asset=asset,
        kind=Derivative.Kind.LISTENING_COPY,
        recipe_version=media.LISTENING_COPY_RECIPE,
        path=rel,
        media_type="audio/mp4",
    )


def close_passages(item, *ranges) -> None:
    """Record a public consent that closes ``ranges`` and apply it (as archivists do)."""
    from transcription.models import ClosedRange, Consent
    from transcription.services import consent_apply

    consent, _ = Consent.objects.get_or_create(
        item=item, defaults={"allowed": Consent.Allowed.PUBLIC}
    )
    for start, end in ranges:
        ClosedRange.objects.create(consent=consent, start=start, end=end)
    consent_apply(consent=consent)


def _exports(f) -> list[str]:
    primary_transcript(f.recording)
    return [
        reverse("item_transcript", args=[f.recording.public_id, x]) for x in FORMATS
    ]


def _transcript_files(f) -> list[str]:
    transcript = primary_transcript(f.recording)
    return [
        reverse(
            "transcript_file", args=[f.recording.public_id, transcript.public_id, x]
        )
        for x in FORMATS
    ]


def _poster(f) -> list[str]:
    poster_make(Asset.objects.get(pk=f.media_asset_id))
    return [reverse("recording_poster", args=[f.recording.public_id, f.media_asset_id])]


ITEM_DOORS = {
    "item_transcript": _exports,
    "transcript_file": _transcript_files,
    "recording_listen": lambda f: [
        reverse("recording_listen", args=[f.recording.public_id, f.media_asset_id])
    ],
    "recording_poster": _poster,
}

SITE_DOORS: dict = {}
