"""factory_boy factories for transcripts, segments and index points."""

from __future__ import annotations

import hashlib

import factory

from archive.models import AccessLevel, Asset, Item
from tests.archive.factories import InstitutionFactory, ItemFactory
from transcription import models

#: Plausible colloquial Cantonese lines (after the sample interview's story).
LINES = [
    "我姓梁，街坊都叫我梁伯。",
    "我哋屋企喺西關開茶樓，開咗三代人。",
    "一九三八年，我先至十二歲。",
    "嗰年日本軍嘅飛機成日嚟轟炸廣州。",
    "警報一響，成條街嘅人都要走去防空洞匿埋。",
    "我阿爸話，茶樓唔可以停。",
]


class RecordingItemFactory(ItemFactory):
    kind = Item.Kind.ORAL_HISTORY
    title = factory.Sequence(lambda n: f"西關茶樓憶舊 {n}")
    institution = factory.SubFactory(InstitutionFactory)
    access_level = AccessLevel.PUBLIC


class RecordingFactory(factory.django.DjangoModelFactory):
    """A media master (no bytes on disk: enough for records and the editor's page)."""

    class Meta:
        model = Asset

    item = factory.SubFactory(RecordingItemFactory)
    role = Asset.Role.MEDIA
    sha256 = factory.Sequence(lambda n: hashlib.sha256(f"rec-{n}".encode()).hexdigest())
    storage_path = factory.LazyAttribute(lambda a: f"{a.sha256[:2]}/{a.sha256}")
    original_filename = "interview.flac"
    size = 1024
    media_type = "audio/flac"


class TranscriptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Transcript

    asset = factory.SubFactory(RecordingFactory)
    item = factory.LazyAttribute(lambda t: t.asset.item)
    register = models.Transcript.Register.COLLOQUIAL
    language = "yue"
    status = models.Transcript.Status.DONE
    engine = "faster-whisper"
    model_name = "base"
    duration = 64.0


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Segment

    transcript = factory.SubFactory(TranscriptFactory)
    start = factory.Sequence(lambda n: float(n * 5))
    end = factory.LazyAttribute(lambda s: s.start + 4.5)
    text = factory.Sequence(lambda n: LINES[n % len(LINES)])
    machine_text = factory.LazyAttribute(lambda s: s.text)


def transcript_with_segments(
    lines=LINES, *, length: float = 5.0, speaker: str = "梁伯", **kwargs
) -> models.Transcript:
    """A finished transcript with one segment per line, ``length`` seconds each."""
    transcript = TranscriptFactory(**kwargs)
    for i, line in enumerate(lines):
        SegmentFactory(
            transcript=transcript,
            start=i * length,
            end=(i + 1) * length - 0.2,
            text=line,
            machine_text=line,
            speaker=speaker,
        )
    return transcript
