"""Probing recordings and making their derivatives in one decode pass (``ingest.media``).

Every input is generated in the test's folder by ``tests.ingest.mediafiles``;
every output is decoded again and measured (duration, codec, silence, frame
size, where the ``moov`` atom sits) rather than trusted.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from ingest.media import (
    BLACK_LUMA,
    MediaError,
    listening_copy_write,
    media_derivatives_write,
    media_probe,
    poster_write,
    rms,
    timecode,
    video_proxy_write,
)
from tests.ingest import mediafiles

SECONDS = 4.0


def top_level_boxes(path: Path) -> list[str]:
    """The top-level ISO BMFF boxes of an MP4, in file order."""
    data = path.read_bytes()
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        kind = data[offset + 4 : offset + 8].decode("latin-1")
        if size == 1:
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
        boxes.append(kind)
        if size < 8:
            break
        offset += size
    return boxes


def decoded_audio(path: Path) -> tuple[np.ndarray, int]:
    """All of a file's audio, decoded, as (channels × samples) and its rate."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        frames = [f.to_ndarray() for f in container.decode(stream)]
        rate = stream.codec_context.sample_rate
    return np.concatenate(frames, axis=1).astype(np.float32), rate


def assert_faststart(path: Path) -> None:
    boxes = top_level_boxes(path)
    assert "moov" in boxes and "mdat" in boxes, boxes
    assert boxes.index("moov") < boxes.index("mdat"), boxes


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


# --------------------------------------------------------------------------
# Audio formats


@pytest.mark.parametrize(
    ("name", "container", "codec", "channels", "rate", "copy_rate"),
    [
        ("a.wav", "wav", "pcm_s16le", 1, 44100, 44100),
        ("a.flac", "flac", "flac", 2, 44100, 44100),
        ("a.mp3", "mp3", "mp3", 2, 44100, 44100),
        ("a.m4a", "mov,mp4,m4a,3gp,3g2,mj2", "aac", 1, 22050, 44100),
        ("a.aac", "aac", "aac", 1, 44100, 44100),
        ("a.ogg", "ogg", "opus", 1, 48000, 48000),
        ("a.opus", "ogg", "opus", 2, 48000, 48000),
        ("a.mka", "matroska,webm", "flac", 1, 16000, 48000),
    ],
)
def test_each_audio_format_is_probed_and_gets_a_listening_copy(
    tmp_path, name, container, codec, channels, rate, copy_rate
):
    source = mediafiles.tone(
        tmp_path / "in" / name, seconds=SECONDS, rate=rate, channels=channels
    )
    probe = media_probe(source)
    assert probe.container == container
    assert probe.audio_codec.startswith(codec)  # mp3 decodes as "mp3float"
    assert (probe.channels, probe.sample_rate) == (channels, rate)
    assert probe.has_audio and not probe.has_video and probe.width is None
    assert probe.duration == pytest.approx(SECONDS, abs=0.2)

    target = tmp_path / "out" / "copy.m4a"
    decoded = listening_copy_write(source, target)
    assert decoded.duration == pytest.approx(SECONDS, abs=0.05)
    copy = media_probe(target)
    assert copy.audio_codec == "aac" and copy.sample_rate == copy_rate
    assert copy.channels == channels  # mono stays mono, stereo stays stereo
    assert copy.bit_rate < 130_000  # ~96 kb/s at most (less for a narrow source)
    samples, _ = decoded_audio(target)
    assert samples.shape[1] / copy_rate == pytest.approx(SECONDS, abs=0.05)
    assert rms(samples) > 0.05  # the voice is there
    assert_faststart(target)
    assert [p.name for p in leftovers(tmp_path / "out")] == ["copy.m4a"]


def test_more_than_two_channels_become_stereo(tmp_path):
    source = mediafiles.tone(tmp_path / "six.flac", channels=6)
    assert media_probe(source).channels == 6
    listening_copy_write(source, tmp_path / "copy.m4a")
    assert media_probe(tmp_path / "copy.m4a").channels == 2


def test_cover_art_does_not_make_audio_a_video(tmp_path):
    source = mediafiles.tone_with_cover(tmp_path / "with-cover.mka")
    probe = media_probe(source)
    assert probe.has_audio and not probe.has_video
    outputs = media_derivatives_write(
        source,
        listening_copy=tmp_path / "copy.m4a",
        video_proxy=tmp_path / "proxy.mp4",
        poster=tmp_path / "poster.jpg",
    )
    assert outputs.proxy_size is None and outputs.poster is None
    assert sorted(p.name for p in leftovers(tmp_path)) == ["copy.m4a", "with-cover.mka"]


def test_the_type_is_read_from_the_content_not_the_name(tmp_path):
    flac = mediafiles.tone(tmp_path / "a.flac")
    disguised = mediafiles.copy(flac, tmp_path / "recording.mp3")
    nameless = mediafiles.copy(flac, tmp_path / "no-extension")
    assert media_probe(disguised).container == "flac"
    assert media_probe(nameless).container == "flac"


# --------------------------------------------------------------------------
# Silence for closed passages


@pytest.mark.parametrize("channels", [1, 2])
def test_silenced_ranges_are_digital_silence_and_the_rest_is_not(tmp_path, channels):
    source = mediafiles.tone(
        tmp_path / "talk.wav", seconds=10.0, rate=16000, channels=channels
    )
    target = tmp_path / "public.m4a"
    closed = [(2.0, 4.5), (7.25, 8.0)]
    listening_copy_write(source, target, silence=closed)
    samples, rate = decoded_audio(target)
    assert samples.shape[1] / rate == pytest.approx(10.0, abs=0.05)

    def level(start, end):
        return rms(samples[:, int(start * rate) : int(end * rate)])

    # Inside each range (a few milliseconds in, past the codec's overlap): nothing.
    for start, end in closed:
        assert level(start + 0.03, end - 0.03) < 1e-4
    # Around them, the voice is untouched.
    for start, end in [(0.1, 1.95), (4.55, 7.2), (8.05, 9.9)]:
        assert level(start, end) > 0.05
    # The same file without silence is sound everywhere (the test can tell).
    listening_copy_write(source, tmp_path / "full.m4a")
    full, _ = decoded_audio(tmp_path / "full.m4a")
    assert rms(full[:, int(2.1 * rate) : int(4.4 * rate)]) > 0.05


def test_silence_follows_the_time_of_the_sound_not_of_the_resampled_copy(tmp_path):
    # A 22.05 kHz source becomes 44.1 kHz; an 8 kHz one 48 kHz: the ranges hold.
    for rate in (22050, 8000):
        source = mediafiles.tone(tmp_path / f"{rate}.wav", seconds=6.0, rate=rate)
        target = tmp_path / f"{rate}.m4a"
        listening_copy_write(source, target, silence=[(3.0, 4.0)])
        samples, out_rate = decoded_audio(target)
        cut = samples[:, int(3.03 * out_rate) : int(3.97 * out_rate)]
        assert rms(cut) < 1e-4
        assert rms(samples[:, int(2.5 * out_rate) : int(2.95 * out_rate)]) > 0.05
        assert rms(samples[:, int(4.05 * out_rate) : int(4.5 * out_rate)]) > 0.05


# --------------------------------------------------------------------------
# Video


@pytest.mark.parametrize(
    ("name", "video_codec", "audio_codec"),
    [
        ("v.mp4", "h264", "aac"),
        ("v.mov", "h264", "aac"),
        ("v.mkv", "h264", "opus"),
        ("v.webm", "vp8", "opus"),
    ],
)
def test_a_video_gets_listening_copy_proxy_and_poster_in_one_pass(
    tmp_path, name, video_codec, audio_codec
):
    source = mediafiles.video(
        tmp_path / "in" / name, seconds=3.0, width=320, height=240
    )
    probe = media_probe(source)
    assert probe.has_video and probe.has_audio
    assert (probe.video_codec, probe.audio_codec) == (video_codec, audio_codec)
    assert (probe.width, probe.height, probe.frame_rate) == (320, 240, 25.0)
    out = tmp_path / "out"
    outputs = media_derivatives_write(
        source,
        listening_copy=out / "copy.m4a",
        video_proxy=out / "proxy.mp4",
        poster=out / "poster.jpg",
    )
    assert outputs.probe.duration == pytest.approx(3.0, abs=0.05)
    assert outputs.proxy_size == (320, 240)

    proxy = media_probe(out / "proxy.mp4")
    assert proxy.video_codec == "h264" and proxy.audio_codec == "aac"
    assert (proxy.width, proxy.height) == (320, 240)
    assert proxy.duration == pytest.approx(3.0, abs=0.1)
    with av.open(str(out / "proxy.mp4")) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"
        assert container.streams.video[0].frames == 75
    assert_faststart(out / "proxy.mp4")

    copy = media_probe(out / "copy.m4a")
    assert not copy.has_video and copy.audio_codec == "aac" and copy.channels == 2
    assert_faststart(out / "copy.m4a")

    with Image.open(out / "poster.jpg") as poster:
        assert poster.format == "JPEG" and poster.size == (320, 240)
    assert outputs.poster.width == 320 and outputs.poster.at_seconds >= 0.3


@pytest.mark.parametrize(
    ("size", "expected"),
    [((1920, 1080), (1280, 720)), ((1080, 1920), (406, 720)), ((640, 480), (640, 480))],
)
def test_the_proxy_is_at_most_720p(tmp_path, size, expected):
    source = mediafiles.video(
        tmp_path / "big.mp4", seconds=0.4, width=size[0], height=size[1]
    )
    outputs = video_proxy_write(source, tmp_path / "proxy.mp4")
    assert outputs.proxy_size == expected
    proxy = media_probe(tmp_path / "proxy.mp4")
    assert (proxy.width, proxy.height) == expected
    assert proxy.width <= 1280 and proxy.height <= 720


def test_the_poster_skips_black_frames(tmp_path):
    source = mediafiles.video(tmp_path / "fade.mp4", seconds=4.0, black_until=1.5)
    # 10% of 4 s is 0.4 s, still black: the poster is the first frame with a picture.
    poster = poster_write(source, tmp_path / "poster.jpg")
    assert poster.at_seconds == pytest.approx(1.5, abs=0.05)
    with Image.open(tmp_path / "poster.jpg") as image:
        assert image.format == "JPEG"
        assert np.asarray(image.convert("L")).mean() > BLACK_LUMA
    # Asked for a time in the black, without skipping it would be black.
    outputs = media_derivatives_write(
        source, poster=tmp_path / "pass.jpg", poster_at=0.2
    )
    assert outputs.poster.at_seconds == pytest.approx(1.5, abs=0.05)
    # A frame from the black leader is indeed black (so the test can tell).
    with av.open(str(source)) as container:
        first = next(container.decode(video=0)).to_ndarray(format="gray")
    assert first.mean() < BLACK_LUMA


def test_audio_has_no_proxy(tmp_path):
    source = mediafiles.tone(tmp_path / "a.flac")
    with pytest.raises(MediaError, match="not a video"):
        video_proxy_write(source, tmp_path / "proxy.mp4")
    with pytest.raises(MediaError, match="not a video"):
        poster_write(source, tmp_path / "poster.jpg")
    assert sorted(p.name for p in leftovers(tmp_path)) == ["a.flac"]


# --------------------------------------------------------------------------
# Bad input: a clear reason, and nothing written


def _bad(kind: str, folder: Path) -> Path:
    if kind == "empty":
        return mediafiles.empty(folder / "empty.wav")
    if kind == "text":
        return mediafiles.text_named(folder / "interview.mp3")
    if kind == "jpeg":
        return mediafiles.jpeg_named(folder / "interview.mp3")
    if kind == "pdf":
        return mediafiles.pdf(folder / "interview.m4a")
    if kind == "silent-video":
        return mediafiles.video(folder / "silent.mp4", audio=False)
    if kind == "zero-seconds":
        return mediafiles.zero_seconds(folder / "zero.wav")
    if kind == "thirty-hours":
        return mediafiles.claims_hours(folder / "long.flac", hours=30)
    source, _, cut = kind.partition("-cut-")
    suffix = "." + cut
    if source == "video":
        good = mediafiles.video(folder / f"good{suffix}", seconds=6.0)
        if suffix == ".mp4":  # moov first, so the cut falls in the media data
            video_proxy_write(good, folder / "faststart.mp4")
            good = folder / "faststart.mp4"
    else:
        good = mediafiles.tone(folder / f"good{suffix}", seconds=6.0)
    bad = mediafiles.truncated(good, folder / "bad" / f"cut{suffix}", 0.5)
    for path in list(folder.iterdir()):
        if path.is_file():
            path.unlink()
    return bad


BAD = [
    ("empty", "the file is empty (0 bytes)"),
    ("text", "not audio or video: the file holds text"),
    ("jpeg", "not audio or video: the file is an image (image/jpeg)"),
    ("pdf", "not audio or video: the file is a PDF document"),
    ("silent-video", "a video with no audio track: it cannot be transcribed"),
    ("zero-seconds", "the recording lasts 0 seconds"),
    ("thirty-hours", "says it lasts 30:00:00, more than the 24:00:00"),
    ("audio-cut-wav", "truncated: the file says it lasts 00:00:06"),
    ("audio-cut-flac", "truncated: the file says it lasts 00:00:06"),
    ("audio-cut-mp3", "truncated: the file says it lasts 00:00:06"),
    ("audio-cut-m4a", "the audio/mp4 file is damaged or truncated"),
    ("video-cut-mp4", "truncated: the file says it lasts 00:00:06"),
    ("video-cut-mkv", "truncated: the file says it lasts 00:00:06"),
    ("video-cut-mov", "damaged or truncated: it cannot be opened"),
]


@pytest.mark.parametrize(("kind", "message"), BAD, ids=[k for k, _ in BAD])
def test_bad_input_is_refused_with_its_reason_and_nothing_is_written(
    tmp_path, kind, message
):
    source = _bad(kind, tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(MediaError) as refused:
        media_derivatives_write(
            source,
            listening_copy=out / "copy.m4a",
            video_proxy=out / "proxy.mp4",
            poster=out / "poster.jpg",
        )
    assert message in str(refused.value)
    assert leftovers(out) == []  # no output and no temporary file


@pytest.mark.parametrize(
    "kind",
    [
        "empty",
        "text",
        "jpeg",
        "silent-video",
        "zero-seconds",
        "thirty-hours",
        "audio-cut-wav",
        "audio-cut-m4a",
    ],
)
def test_the_probe_alone_refuses_what_needs_no_decoding(tmp_path, kind):
    with pytest.raises(MediaError):
        media_probe(_bad(kind, tmp_path))


def test_the_longest_recording_is_configurable(tmp_path):
    source = mediafiles.tone(tmp_path / "a.flac", seconds=4.0)
    assert media_probe(source, max_seconds=5).duration == pytest.approx(4.0)
    with pytest.raises(MediaError, match="more than the 00:00:03"):
        media_probe(source, max_seconds=3)
    with pytest.raises(MediaError, match="more than the 00:00:03"):
        media_derivatives_write(
            source, listening_copy=tmp_path / "copy.m4a", max_seconds=3
        )
    assert not (tmp_path / "copy.m4a").exists()


def test_the_30_hour_header_is_a_lie_the_file_is_short(tmp_path):
    # The file really holds three seconds: with the limit lifted, decoding says so.
    source = mediafiles.claims_hours(tmp_path / "long.flac", hours=30)
    assert media_probe(source, max_seconds=40 * 3600).duration == pytest.approx(
        30 * 3600
    )
    with pytest.raises(MediaError, match="truncated: the file says it lasts 30:00:00"):
        media_derivatives_write(
            source, listening_copy=tmp_path / "copy.m4a", max_seconds=40 * 3600
        )
    assert not (tmp_path / "copy.m4a").exists()


def test_timecodes_for_messages():
    assert timecode(0) == "00:00:00"
    assert timecode(3723.5) == "01:02:03.5"
    assert timecode(30 * 3600) == "30:00:00"
