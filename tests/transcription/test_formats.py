"""Transcript exports (WebVTT, SRT, text, JSON), imports (WebVTT, SRT) and the round trip."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import CommandError, call_command
from django.utils import translation

from archive.models import AccessLevel
from tests.archive.factories import make_user
from tests.transcription.factories import (
    LINES,
    RecordingFactory,
    SegmentFactory,
    TranscriptFactory,
    transcript_with_segments,
)
from transcription import formats
from transcription.formats import Cue, TranscriptFormatError
from transcription.models import Transcript
from transcription.services.editing import transcript_approve, transcript_import

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def cues_of(segments):
    return [
        (formats.milliseconds(s.start), formats.milliseconds(s.end), s.text, s.speaker)
        for s in segments
    ]


# --------------------------------------------------------------------------
# Times
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "seconds, vtt, srt",
    [
        (0, "00:00:00.000", "00:00:00,000"),
        (1.0005, "00:00:01.001", "00:00:01,001"),
        (59.9999, "00:01:00.000", "00:01:00,000"),
        (750.25, "00:12:30.250", "00:12:30,250"),
        (3 * 3600 + 61.5, "03:01:01.500", "03:01:01,500"),
    ],
)
def test_timestamps(seconds, vtt, srt):
    assert formats.timestamp(seconds) == vtt
    assert formats.timestamp(seconds, separator=",") == srt


# --------------------------------------------------------------------------
# Exports
# --------------------------------------------------------------------------


def test_vtt_names_the_item_transcript_and_review_state_and_voices():
    transcript = transcript_with_segments(LINES[:2])
    transcript.segments.filter(start=0).update(speaker="梁伯")
    transcript.segments.exclude(start=0).update(speaker="Interviewer <A&B>")
    out = formats.render_vtt(transcript=transcript, segments=transcript.segments.all())
    head, _, body = out.partition("\n\n00:")
    assert head.startswith("WEBVTT\n\nNOTE\n")
    assert transcript.item.public_id in head and transcript.public_id in head
    assert "machine-generated, not yet reviewed" in head
    assert "00:00:00.000 --> 00:00:04.800\n<v 梁伯>我姓梁，街坊都叫我梁伯。" in out
    assert "<v Interviewer &lt;A&amp;B&gt;>我哋屋企" in out
    transcript_approve(transcript=transcript, user=None)
    approved = formats.render_vtt(
        transcript=transcript, segments=transcript.segments.all()
    )
    assert "not yet reviewed" not in approved
    assert "reviewed and approved" in approved


def test_text_that_looks_like_markup_or_an_arrow_is_escaped():
    transcript = TranscriptFactory()
    SegmentFactory(transcript=transcript, text="a --> b <i>\n\n\nsecond line")
    out = formats.render_vtt(transcript=transcript, segments=transcript.segments.all())
    assert "a --&gt; b &lt;i&gt;\nsecond line" in out
    back = formats.parse_vtt(out).cues
    assert [c.text for c in back] == ["a --> b <i>\nsecond line"]


def test_closed_passages_are_placeholders_never_their_text():
    transcript = transcript_with_segments(LINES[:5], length=150)
    segments = list(transcript.segments.all())
    secret = segments[1:3]  # two neighbouring closed passages: one placeholder
    for s in secret:
        s.access_level = AccessLevel.STAFF
        s.save()
    visible, closed = formats.partition_for_reader(segments, user=AnonymousUser())
    assert visible == [segments[0], *segments[3:]] and closed == secret
    for fmt in formats.RENDERERS:
        out = formats.render(
            fmt, transcript=transcript, segments=visible, closed=closed
        )
        for s in secret:
            assert s.text not in out, fmt
        assert out.count("closed passage") == 1, fmt
        assert "[closed passage 00:02:30–00:07:30]" in out or fmt == "json"
    data = json.loads(
        formats.render_json(transcript=transcript, segments=visible, closed=closed)
    )
    assert [r["closed"] for r in data["segments"]] == [False, True, False, False]
    assert data["segments"][1] == {
        "start": 150.0,
        "end": 449.8,
        "text": "[closed passage 00:02:30–00:07:30]",
        "speaker": "",
        "closed": True,
    }
    staff = make_user("staff", superuser=True)
    visible, closed = formats.partition_for_reader(segments, user=staff)
    assert len(visible) == 5 and closed == []


def test_closed_placeholder_follows_the_language_asked_for():
    transcript = transcript_with_segments(LINES[:1])
    with translation.override("zh-hant"):
        zh = formats.render_text(transcript=transcript, segments=[], closed=[(0, 90)])
    en = formats.render_text(
        transcript=transcript, segments=[], closed=[(0, 90)], language="en"
    )
    assert "[closed passage 00:00:00–00:01:30]" in en
    assert LINES[0] not in zh and "00:00:00–00:01:30" in zh


def test_srt_numbers_cues_and_prefixes_speakers():
    transcript = transcript_with_segments(LINES[:2])
    transcript.segments.filter(start=5).update(speaker="Interviewer")
    out = formats.render_srt(transcript=transcript, segments=transcript.segments.all())
    # SRT has no comments: an unreviewed transcript opens with a zero-length notice.
    assert out.startswith(
        "1\n00:00:00,000 --> 00:00:00,000\n[machine-generated, not yet reviewed]\n\n"
        "2\n00:00:00,000 --> 00:00:04,800\n梁伯：我姓梁，街坊都叫我梁伯。\n\n3\n"
    )
    assert "00:00:05,000 --> 00:00:09,800\nInterviewer: 我哋屋企" in out
    back = formats.parse_srt(out)
    assert [c.text for c in back.cues] == [
        "梁伯：" + LINES[0],
        "Interviewer: " + LINES[1],
    ]
    assert back.warnings == [
        "Line 2: the notice “[machine-generated, not yet reviewed]” was skipped."
    ]
    transcript_approve(transcript=transcript, user=None)
    approved = formats.render_srt(
        transcript=transcript, segments=transcript.segments.all()
    )
    assert approved.startswith("1\n00:00:00,000 --> 00:00:04,800\n梁伯：")


def test_plain_text_with_and_without_timestamps():
    transcript = transcript_with_segments(LINES[:2])
    plain = formats.render_text(
        transcript=transcript, segments=transcript.segments.all()
    )
    lines = plain.splitlines()
    assert transcript.public_id in lines[1] and lines[2] == (
        "machine-generated, not yet reviewed"
    )
    assert lines[4:] == ["梁伯：" + LINES[0], "梁伯：" + LINES[1]]
    timed = formats.render_text(
        transcript=transcript, segments=transcript.segments.all(), timestamps=True
    )
    assert "[00:00:05] 梁伯：" + LINES[1] in timed


def test_json_export():
    transcript = transcript_with_segments(LINES[:2], register="zh")
    data = json.loads(
        formats.render_json(transcript=transcript, segments=transcript.segments.all())
    )
    assert data["item"] == transcript.item.public_id
    assert data["transcript"] == transcript.public_id
    assert data["register"] == "zh" and data["review_state"] == "machine"
    assert data["segments"][1] == {
        "start": 5.0,
        "end": 9.8,
        "text": LINES[1],
        "speaker": "梁伯",
        "closed": False,
    }


# --------------------------------------------------------------------------
# Round trip and imports
# --------------------------------------------------------------------------


def test_vtt_round_trip_keeps_times_text_and_speakers():
    transcript = TranscriptFactory()
    rows = [
        (0.0, 2.3456, "我姓梁，街坊都叫我梁伯。", "梁伯"),
        (2.3456, 7.1, "你屋企喺邊度開茶樓？", "訪問員 Ho"),
        (7.1, 7.1, "嗯。", ""),
        (3599.9995, 3725.0004, "一九三八年 & <十月>\n廣州淪陷", "梁伯"),
    ]
    for start, end, text, speaker in rows:
        SegmentFactory(
            transcript=transcript, start=start, end=end, text=text, speaker=speaker
        )
    out = formats.render_vtt(transcript=transcript, segments=transcript.segments.all())
    back = formats.parse_vtt(out)
    assert back.format == "vtt" and not back.warnings
    assert cues_of(back.cues) == cues_of(transcript.segments.all())
    # The same through the import service: segments equal the originals.
    again = transcript_import(item=transcript.item, content=out.encode(), name="x.vtt")
    assert cues_of(again.segments.all()) == cues_of(transcript.segments.all())
    srt = formats.render_srt(transcript=transcript, segments=transcript.segments.all())
    assert [(c.start, c.end) for c in formats.parse_srt(srt).cues] == [
        (c.start, c.end) for c in back.cues
    ]


def test_vtt_import_reads_what_other_tools_write():
    content = (
        "\ufeffWEBVTT - made elsewhere\nKind: captions\n\n"
        "STYLE\n::cue { color: yellow }\n\n"
        "NOTE a comment\nover two lines\n\n"
        "intro\n00:01.000 --> 00:04.5 align:start line:0\n"
        "<v.loud Mary>Hello <b>there</b> &amp; welcome</v>\n\n"
        "00:00:05.000 --> 00:00:06.000\n<c.yellow>茶樓</c>\n"
        "00:00:06.000 --> 00:00:07.000\nno empty line before me\n\n"
        "00:00:08.000 --> 00:00:09.000\n\n"
    )
    result = formats.parse_vtt(content)
    assert [(c.start, c.end, c.text, c.speaker) for c in result.cues] == [
        (1.0, 4.5, "Hello there & welcome", "Mary"),
        (5.0, 6.0, "茶樓", ""),
        (6.0, 7.0, "no empty line before me", ""),
    ]
    assert result.warnings == ["Line 19: a cue without text was skipped."]


def test_srt_import():
    content = (
        "1\r\n00:00:01,000 --> 00:00:04,000\r\n<i>我姓梁</i>\r\n\r\n"
        "2\r\n00:00:04,000 --> 00:00:06,500 X1:0 X2:10\r\n{\\an8}1938\r\n\r\n"
        "年\r\n"
        "3\r\n00:00:07,000 --> 00:00:08,000\r\n<v 梁伯>好耐之前\r\n"
    ).encode()
    result = formats.parse(content, name="a.srt")
    assert result.format == "srt"
    assert [(c.start, c.end, c.text, c.speaker) for c in result.cues] == [
        (1.0, 4.0, "我姓梁", ""),
        (4.0, 6.5, "1938\n年", ""),
        (7.0, 8.0, "好耐之前", "梁伯"),
    ]


@pytest.mark.parametrize(
    "content, line, words",
    [
        ("1\n00:00:01,000 --> 00:00:02,000\nok\n", 1, "WEBVTT"),
        (
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nok\n\n00:00:0x.000 --> 1\nbad",
            6,
            "00:00:0x.000",
        ),
        ("WEBVTT\n\n00:00:03.000 --> 00:00:02.000\nbackwards", 3, "before it starts"),
        ("WEBVTT\n\n00:00:01.000 --> 00:01:60.000\nsixty", 3, "59"),
        ("WEBVTT\n\nan identifier\nbut no timing\n", 4, "timing line"),
        ("WEBVTT\n\nNOTE only notes\n", None, "no cue"),
    ],
)
def test_vtt_errors_name_the_line(content, line, words):
    with pytest.raises(TranscriptFormatError) as caught:
        formats.parse_vtt(content)
    assert caught.value.line == line
    assert words in str(caught.value)
    if line:
        assert str(caught.value).startswith(f"Line {line}:")


@pytest.mark.parametrize(
    "content, line",
    [
        ("just some text\n", 1),
        (
            "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:02,000 --> 00:00:0,000\n",
            6,
        ),
        ("1\n00:00:05,000 --> 00:00:02,000\nbackwards\n", 2),
    ],
)
def test_srt_errors_name_the_line(content, line):
    with pytest.raises(TranscriptFormatError) as caught:
        formats.parse_srt(content)
    assert caught.value.line == line


def test_a_file_in_another_encoding_is_refused_with_its_line():
    content = "1\n00:00:01,000 --> 00:00:02,000\n茶樓\n".encode("big5")
    with pytest.raises(TranscriptFormatError) as caught:
        formats.parse(content, fmt="srt")
    assert caught.value.line == 3 and "UTF-8" in str(caught.value)
    assert formats.parse(content, fmt="srt", encoding="big5").cues[0].text == "茶樓"


def test_export_cues_merges_neighbouring_closed_passages_only():
    a, b = Cue(0, 1, "a"), Cue(5, 6, "b")
    cues = formats.export_cues([a, b], [(1, 2), (2, 3), (6, 7)])
    assert [(c.start, c.end, c.closed) for c in cues] == [
        (0, 1, False),
        (1, 3, True),
        (5, 6, False),
        (6, 7, True),
    ]


# --------------------------------------------------------------------------
# The import service and command
# --------------------------------------------------------------------------


VTT = (
    "WEBVTT\n\n00:00:00.500 --> 00:00:03.000\n<v 梁伯>我姓梁。\n\n"
    "00:00:03.000 --> 00:00:05.000\n開茶樓。\n"
)


def test_import_makes_a_finished_unreviewed_transcript():
    asset = RecordingFactory()
    transcript = transcript_import(item=asset.item, content=VTT, register="zh")
    assert transcript.is_primary and transcript.asset == asset
    assert transcript.status == Transcript.Status.DONE and not transcript.is_reviewed
    assert transcript.engine == "import:vtt" and transcript.register == "zh"
    first = transcript.segments.first()
    assert (first.start, first.text, first.machine_text, first.speaker) == (
        0.5,
        "我姓梁。",
        "我姓梁。",
        "梁伯",
    )
    second = transcript_import(item=asset.item, content=VTT)
    assert not second.is_primary


def test_import_needs_a_recording():
    from django.core.exceptions import ValidationError

    from tests.transcription.factories import RecordingItemFactory

    with pytest.raises(ValidationError, match="no recording"):
        transcript_import(item=RecordingItemFactory(), content=VTT)


def test_import_transcript_command(tmp_path):
    asset = RecordingFactory()
    path = tmp_path / "made-elsewhere.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\n我姓梁\n", "utf-8")
    out = StringIO()
    call_command(
        "import_transcript",
        asset.item.public_id,
        str(path),
        "--register",
        "zh",
        stdout=out,
    )
    transcript = Transcript.objects.get(item=asset.item)
    assert transcript.engine == "import:srt" and transcript.register == "zh"
    assert transcript.public_id in out.getvalue() and "1 segment" in out.getvalue()
    bad = tmp_path / "bad.vtt"
    bad.write_text("WEBVTT\n\n00:00:05.000 --> 00:00:01.000\nx\n", "utf-8")
    with pytest.raises(CommandError, match="Line 3"):
        call_command("import_transcript", asset.item.public_id, str(bad))
    with pytest.raises(CommandError, match="no-such-item"):
        call_command("import_transcript", "no-such-item", str(path))
    assert Transcript.objects.filter(item=asset.item).count() == 1
