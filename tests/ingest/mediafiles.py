"""Recordings, good and bad, generated in code with PyAV for the recording ingest tests.

Each function writes one file and returns its path. The sound is a
speech-like tone (a 150 Hz voice with harmonics, opening and closing four
times a second like syllables) so that encoders have something real to do
and silence can be told from sound. Nothing here is committed: every test
makes what it needs in its own folder.
"""

from __future__ import annotations

import shutil
import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

#: suffix -> (container format, audio codec) for ``tone``.
AUDIO_FORMATS = {
    ".wav": ("wav", "pcm_s16le"),
    ".flac": ("flac", "flac"),
    ".mp3": ("mp3", "libmp3lame"),
    ".m4a": ("ipod", "aac"),
    ".aac": ("adts", "aac"),
    ".ogg": ("ogg", "libopus"),
    ".opus": ("ogg", "libopus"),
    ".mka": ("matroska", "flac"),
}
#: suffix -> (container format, video codec, audio codec) for ``video``.
VIDEO_FORMATS = {
    ".mp4": ("mp4", "libx264", "aac"),
    ".mov": ("mov", "libx264", "aac"),
    ".mkv": ("matroska", "libx264", "libopus"),
    ".webm": ("webm", "libvpx", "libopus"),
}


def voice(seconds: float, rate: int, *, channels: int = 1, seed: int = 0) -> np.ndarray:
    """A speech-like tone, float32 in [-0.5, 0.5], shape (channels, samples)."""
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    pitch = 150 + 20 * np.sin(2 * np.pi * 0.3 * t + seed)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    wave = sum(np.sin(k * phase) / k for k in (1, 2, 3, 4))
    syllables = 0.55 + 0.45 * np.sin(2 * np.pi * 4 * t) ** 2
    mono = (0.25 * wave * syllables).astype(np.float32)
    if channels == 1:
        return mono[np.newaxis, :]
    # A second channel a little different, so "stereo" is not two copies.
    other = np.roll(mono, rate // 100) * 0.8
    return np.stack([mono, other] + [mono] * (channels - 2)).astype(np.float32)


def _layout(channels: int) -> str:
    return {1: "mono", 2: "stereo", 6: "5.1"}[channels]


def _encode_audio(container, stream, samples: np.ndarray, rate: int, layout: str):
    chunk = 1024
    for start in range(0, samples.shape[1], chunk):
        part = np.ascontiguousarray(samples[:, start : start + chunk])
        frame = av.AudioFrame.from_ndarray(part, format="fltp", layout=layout)
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def tone(
    path: Path,
    *,
    seconds: float = 3.0,
    rate: int = 44100,
    channels: int = 1,
    seed: int = 0,
) -> Path:
    """An audio file of the speech-like tone, its format chosen by the suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt, codec = AUDIO_FORMATS[path.suffix]
    if codec == "libopus":
        rate = 48000
    layout = _layout(channels)
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        if codec in ("aac", "libmp3lame", "libopus"):
            stream.codec_context.bit_rate = 96_000 * min(channels, 2)
        _encode_audio(
            out,
            stream,
            voice(seconds, rate, channels=channels, seed=seed),
            rate,
            layout,
        )
    return path


def video(
    path: Path,
    *,
    seconds: float = 3.0,
    width: int = 320,
    height: int = 240,
    fps: int = 25,
    audio: bool = True,
    black_until: float = 0.0,
    rate: int = 48000,
) -> Path:
    """A video of moving colour bars (black until ``black_until`` s), with the tone.

    ``audio=False`` makes a video with no audio track at all.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt, vcodec, acodec = VIDEO_FORMATS[path.suffix]
    frames = int(round(seconds * fps))
    with av.open(str(path), "w", format=fmt) as out:
        # libvpx's default (best quality) takes seconds a frame; tests need speed.
        options = (
            {"deadline": "realtime", "cpu-used": "8"} if vcodec == "libvpx" else {}
        )
        vstream = out.add_stream(vcodec, rate=fps, options=options)
        vstream.width, vstream.height = width, height
        vstream.pix_fmt = "yuv420p"
        astream = None
        if audio:
            astream = out.add_stream(acodec, rate=rate, layout="stereo")
        xs = np.arange(width)[np.newaxis, :]
        ys = np.arange(height)[:, np.newaxis]
        for n in range(frames):
            if n / fps < black_until:
                rgb = np.zeros((height, width, 3), np.uint8)
            else:
                rgb = np.stack(
                    [
                        (xs * 255 // width + n * 4) % 256 + 0 * ys,
                        (ys * 255 // height) + 0 * xs,
                        np.full((height, width), 160),
                    ],
                    axis=-1,
                ).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = n
            frame.time_base = Fraction(1, fps)
            for packet in vstream.encode(frame):
                out.mux(packet)
        for packet in vstream.encode(None):
            out.mux(packet)
        if astream is not None:
            samples = voice(seconds, rate, channels=2)
            _encode_audio(out, astream, samples, rate, "stereo")
    return path


def tone_with_cover(path: Path, *, seconds: float = 2.0) -> Path:
    """A Matroska audio file (FLAC) carrying cover art: a one-frame MJPEG stream."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = 44100
    with av.open(str(path), "w", format="matroska") as out:
        audio = out.add_stream("flac", rate=rate, layout="mono")
        cover = out.add_stream("mjpeg", rate=1)
        cover.width, cover.height, cover.pix_fmt = 64, 64, "yuvj420p"
        picture = np.full((64, 64, 3), 200, np.uint8)
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(
            format="yuvj420p"
        )
        frame.pts = 0
        for packet in [*cover.encode(frame), *cover.encode(None)]:
            out.mux(packet)
        _encode_audio(out, audio, voice(seconds, rate), rate, "mono")
    return path


def truncated(source: Path, target: Path, fraction: float = 0.5) -> Path:
    """The first ``fraction`` of ``source``'s bytes: a file cut short in transfer."""
    data = source.read_bytes()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data[: int(len(data) * fraction)])
    return target


def text_named(path: Path) -> Path:
    """A text file with a recording's name (``interview.mp3``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("我姓梁，街坊都叫我梁伯。This is a transcript, not audio.\n" * 40)
    return path


def jpeg_named(path: Path) -> Path:
    """A JPEG photograph with a recording's name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 48), (180, 40, 40)).save(path, format="JPEG")
    return path


def empty(path: Path) -> Path:
    """A zero-byte file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def wav_header(data_bytes: int, *, rate: int = 44100, channels: int = 1) -> bytes:
    """A 16-bit PCM WAV header declaring ``data_bytes`` bytes of sound."""
    align = channels * 2
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * align, align, 16)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


def zero_seconds(path: Path) -> Path:
    """A WAV file that holds a header and no sound at all (0 s)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(wav_header(0))
    return path


def claims_hours(path: Path, hours: float = 30.0) -> Path:
    """A short FLAC file whose STREAMINFO claims ``hours`` of sound.

    The total-samples field (36 bits of STREAMINFO) is rewritten, so the
    container says 30 hours while the file holds three seconds.
    """
    tone(path.with_suffix(".tmp.flac"), seconds=3.0, rate=44100)
    data = bytearray(path.with_suffix(".tmp.flac").read_bytes())
    path.with_suffix(".tmp.flac").unlink()
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0  # STREAMINFO comes first
    field = int.from_bytes(data[18:26], "big")
    mask = (1 << 36) - 1
    field = (field & ~mask) | int(hours * 3600 * 44100)
    data[18:26] = field.to_bytes(8, "big")
    path.write_bytes(bytes(data))
    return path


def pdf(path: Path, *, text: str = "consent") -> Path:
    """A small signed-form stand-in: a real (one-page) PDF made with Pillow."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (200, 280), (250, 250, 245)).save(path, format="PDF", title=text)
    return path


def copy(source: Path, target: Path) -> Path:
    """Copy a file (the sample's recordings into a test delivery)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target
