"""Audio and video files: probe them, and make their derivatives in one decode pass (PyAV).

Pure functions with no Django models, like ``ingest.images``: the recording
pipeline (``ingest.services.recordings``) and anyone else who needs a
listening copy (the public copy of a recording with closed passages) call
them with paths.

* ``media_probe`` reads the container's header only: what the file is, how
  long it says it lasts, its codecs. It refuses at once what cannot be a
  recording: an empty file, text, an image, a damaged header, a video with no
  sound (it cannot be transcribed), an absurd or zero duration.
* ``media_derivatives_write`` decodes the file **once**. The same pass checks
  every packet (a decode error or a stream that ends far short of what the
  header claims is refused as damaged or truncated) and writes the listening
  copy, and for a video the H.264 proxy and the poster frame. Outputs are
  written under temporary names and renamed only when the whole pass
  succeeded (``archive.files.atomic_write``), so a refused file leaves
  nothing behind.

The file's type is read from its content, never its name: FFmpeg probes the
bytes, and only the demuxers in ``DEMUXERS`` (real audio and video
containers; no playlists, image sequences or other indirection that could
read other files) are allowed to open it. See docs/ingest.md.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from archive.files import atomic_write, detect_media_type

#: Recipe versions of the derivatives made here (``Derivative.recipe_version``).
#: Bump one when what it makes changes; ``ingest_rederive`` then makes the new
#: version beside the old.
#:
#: listening copy v1: AAC-LC 96 kb/s (FFmpeg's encoder, "fast" coder), 44.1 kHz
#: for 11.025/22.05/44.1/88.2 kHz sources else 48 kHz, mono from mono, stereo
#: otherwise, in MP4 with the ``moov`` atom first (``+faststart``).
LISTENING_COPY_RECIPE = 1
#: video proxy v1: H.264 (libx264 CRF 23, preset veryfast, yuv420p, square
#: pixels) no larger than 1280×720, the source's frame rate, AAC 128 kb/s
#: stereo or mono, MP4 ``+faststart``.
VIDEO_PROXY_RECIPE = 1
#: poster v1: JPEG (quality 85) of the first frame that is not black at or
#: after 10% of the duration, at the proxy's size.
POSTER_RECIPE = 1

#: The longest recording accepted unless the caller says otherwise (24 h):
#: a header claiming more is damaged or not one recording.
MAX_SECONDS = 24 * 3600.0
#: A stream that decodes this much shorter than its header claims is truncated
#: (the larger of the two: seconds, or a fraction of the claim).
SHORTFALL_SECONDS = 1.0
SHORTFALL_FRACTION = 0.02

LISTENING_BIT_RATE = 96_000
#: FFmpeg's native AAC encoder with its "fast" coder: about 2.5 times the speed
#: of the default "twoloop" (measured on the 64-s sample: 1.1 s against 2.7 s),
#: with no audible difference for speech at 96 kb/s.
AAC_CODER = "fast"
PROXY_AUDIO_BIT_RATE = 128_000
PROXY_MAX_WIDTH, PROXY_MAX_HEIGHT = 1280, 720
PROXY_OPTIONS = {"crf": "23", "preset": "veryfast"}
POSTER_FRACTION = 0.10
POSTER_QUALITY = 85
#: A frame whose mean luma (0-255) is below this is black (a fade, a leader).
BLACK_LUMA = 24.0

#: FFmpeg demuxers allowed to open a delivered file: audio and video
#: containers. Playlists (HLS, DASH, concat), image sequences and pipes are
#: left out: they read other files or are not recordings.
DEMUXERS = (
    "wav,w64,aiff,caf,au,voc,flac,ape,wv,tta,dsf,mp3,aac,loas,ac3,eac3,dts,"
    "truehd,mlp,amr,amrnb,amrwb,ogg,mpc,mpc8,oma,xwma,gsm,qcp,"
    "mov,matroska,asf,avi,flv,mpeg,mpegts,mxf,dv,rm,nut"
)
_OPEN_OPTIONS = {"format_whitelist": DEMUXERS, "protocol_whitelist": "file"}
#: Still-image codecs: a "video" stream in one of these is cover art or a picture.
_STILL_CODECS = {"mjpeg", "png", "bmp", "gif", "tiff", "webp", "jpeg2000", "ljpeg"}
_44K_FAMILY = {11025, 22050, 44100, 88200, 176400}


class MediaError(Exception):
    """A file that cannot become a recording; the message says why, for the archivist."""


@dataclass(frozen=True)
class MediaProbe:
    """What a recording is: its container, duration and streams.

    From ``media_probe`` the duration is what the header claims; from the
    decode pass (``media_derivatives_write``, ``listening_copy_write``) it is
    the duration of the audio actually decoded.
    """

    #: FFmpeg's name of the container format ("flac", "mov,mp4,m4a,3gp,3g2,mj2").
    container: str
    #: Seconds; ``None`` only from a probe of a file whose header gives none.
    duration: float | None
    has_audio: bool
    has_video: bool
    audio_codec: str | None = None
    channels: int | None = None
    sample_rate: int | None = None
    video_codec: str | None = None
    width: int | None = None
    height: int | None = None
    frame_rate: float | None = None
    #: The container's overall bit rate in bits per second, when known.
    bit_rate: int | None = None

    def as_json(self) -> dict:
        """The probe as JSON-ready values (for the ingest record)."""
        return asdict(self)


@dataclass(frozen=True)
class Poster:
    """A poster frame written: its size and the time of the frame."""

    width: int
    height: int
    at_seconds: float


@dataclass(frozen=True)
class MediaOutputs:
    """What one decode pass found and wrote."""

    #: The source as decoded (duration measured from the decoded audio).
    probe: MediaProbe
    #: The proxy's frame size, when a proxy was written.
    proxy_size: tuple[int, int] | None = None
    poster: Poster | None = None


def timecode(seconds: float) -> str:
    """Seconds as ``HH:MM:SS`` (``HH:MM:SS.s`` when not whole), for messages."""
    whole = int(seconds)
    text = f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    fraction = seconds - whole
    if fraction >= 0.05:
        text += f".{int(fraction * 10)}"
    return text


# --------------------------------------------------------------------------
# Probing


def _precheck(path: Path) -> str:
    """Refuse by content what is plainly not a recording; returns the sniffed type."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise MediaError(f"cannot be read ({exc.strerror})") from exc
    if size == 0:
        raise MediaError("the file is empty (0 bytes)")
    sniffed = detect_media_type(path)
    if sniffed.startswith("text/") or sniffed in (
        "application/json",
        "application/xml",
    ):
        raise MediaError("not audio or video: the file holds text")
    if sniffed.startswith("image/"):
        raise MediaError(f"not audio or video: the file is an image ({sniffed})")
    if sniffed == "application/pdf":
        raise MediaError("not audio or video: the file is a PDF document")
    return sniffed


def _open(path: Path, sniffed: str):
    try:
        return av.open(str(path), options=dict(_OPEN_OPTIONS))
    except av.error.ArgumentError as exc:
        # The bytes were recognised as a format that is not in DEMUXERS.
        raise MediaError(
            "not a recording format the archive accepts (FFmpeg recognised it, "
            "but as a playlist, a picture or another non-recording format)"
        ) from exc
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        if sniffed.startswith(("audio/", "video/")):
            raise MediaError(
                f"the {sniffed} file is damaged or truncated: it cannot be opened "
                f"({_ffmpeg_reason(exc)})"
            ) from exc
        raise MediaError(
            "not audio or video: no decoder recognises the file "
            f"({_ffmpeg_reason(exc)})"
        ) from exc


def _ffmpeg_reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).rstrip(".")


def _is_still(stream) -> bool:
    if stream.disposition & av.stream.Disposition.attached_pic:
        return True
    return stream.codec_context.name in _STILL_CODECS and (stream.frames or 0) <= 1


def _streams(container):
    """The audio stream to use, and the moving-picture stream (None for audio)."""
    audio = None
    if container.streams.audio:
        audio = max(
            container.streams.audio,
            key=lambda s: (s.codec_context.channels or 0, s.codec_context.sample_rate),
        )
    video = next((s for s in container.streams.video if not _is_still(s)), None)
    return audio, video


def _seconds(stream) -> float | None:
    if stream is not None and stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return None


def _probe(container, *, max_seconds: float) -> MediaProbe:
    audio, video = _streams(container)
    if audio is None and video is not None:
        raise MediaError(
            "a video with no audio track: it cannot be transcribed. Deliver the "
            "version with its sound"
        )
    if audio is None:
        raise MediaError("not audio or video: the file has no audio stream")
    duration = container.duration / 1e6 if container.duration else None
    if duration is None:
        duration = _seconds(audio)
    if duration is not None and duration > max_seconds:
        raise MediaError(
            f"the file says it lasts {timecode(duration)}, more than the "
            f"{timecode(max_seconds)} a recording may last: its header is damaged, "
            "or it is not one recording"
        )
    if duration is not None and duration <= 0:
        raise MediaError("the recording lasts 0 seconds: there is nothing to hear")
    rate = None
    if video is not None:
        guess = video.average_rate or video.guessed_rate or video.base_rate
        rate = round(float(guess), 3) if guess else None
    return MediaProbe(
        container=container.format.name,
        duration=round(duration, 3) if duration is not None else None,
        has_audio=True,
        has_video=video is not None,
        audio_codec=audio.codec_context.name,
        channels=audio.codec_context.channels or None,
        sample_rate=audio.codec_context.sample_rate or None,
        video_codec=video.codec_context.name if video is not None else None,
        width=video.codec_context.width or None if video is not None else None,
        height=video.codec_context.height or None if video is not None else None,
        frame_rate=rate,
        bit_rate=container.bit_rate or None,
    )


def media_probe(path: Path, *, max_seconds: float = MAX_SECONDS) -> MediaProbe:
    """What a recording is, from its header (nothing is decoded).

    Cheap (milliseconds, whatever the length): the header, the first packet of
    sound, and for a WAV file its declared length against its size.

    Raises:
        MediaError: empty, not audio or video (text, an image, a PDF, unknown
            bytes), a header too damaged to open, a video with no audio track,
            a duration of zero or more than ``max_seconds``, a WAV file shorter
            than its header says (truncated).
    """
    path = Path(path)
    sniffed = _precheck(path)
    with _open(path, sniffed) as container:
        probe = _probe(container, max_seconds=max_seconds)
        audio, _ = _streams(container)
        if not any(packet.size for packet in _first_packets(container, audio)):
            raise MediaError("the recording lasts 0 seconds: there is nothing to hear")
    if probe.container == "wav":
        _wav_check(path)
    return probe


def _first_packets(container, stream, limit: int = 4):
    """The first few packets of ``stream`` (an empty stream has none)."""
    try:
        for n, packet in enumerate(container.demux(stream)):
            yield packet
            if n + 1 >= limit:
                return
    except av.FFmpegError as exc:
        raise MediaError(
            f"the audio data is damaged at its start ({_ffmpeg_reason(exc)})"
        ) from exc


def _wav_check(path: Path) -> None:
    """A WAV file shorter than its ``data`` chunk says is truncated.

    FFmpeg measures a WAV file by its size, so a cut copy would otherwise pass
    as a shorter recording. Sizes 0 and 0xFFFFFFFF mean "unknown" (a
    streaming writer) and are not checked.
    """
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return  # RF64, W64 and the like: not checked
    offset, byte_rate = 12, 0
    while offset + 8 <= len(head):
        chunk = head[offset : offset + 4]
        length = int.from_bytes(head[offset + 4 : offset + 8], "little")
        if chunk == b"fmt " and offset + 16 <= len(head):
            byte_rate = int.from_bytes(head[offset + 16 : offset + 20], "little")
        if chunk == b"data":
            available = size - (offset + 8)
            if length not in (0, 0xFFFFFFFF) and length > available and byte_rate:
                raise MediaError(
                    f"truncated: the file says it lasts {timecode(length / byte_rate)} "
                    f"but holds only {timecode(available / byte_rate)} of sound; "
                    "deliver the complete file"
                )
            return
        offset += 8 + length + (length & 1)


# --------------------------------------------------------------------------
# The decode pass


def _audio_rate(rate: int | None) -> int:
    return 44100 if rate in _44K_FAMILY else 48000


def _layout(channels: int | None) -> str:
    return "mono" if channels == 1 else "stereo"


def _even(value: float) -> int:
    """The nearest even number (H.264 in 4:2:0 needs even sizes), at least 2."""
    return max(2, int(value / 2 + 0.5) * 2)


def _display_size(stream) -> tuple[int, int]:
    """The frame's size with square pixels (anamorphic DV and DVD are widened)."""
    ctx = stream.codec_context
    width, height = ctx.width, ctx.height
    sar = stream.sample_aspect_ratio or ctx.sample_aspect_ratio
    if sar and sar > 0 and sar != 1:
        width = width * float(sar)
    return width, height


def _fit(width: float, height: float) -> tuple[int, int]:
    scale = min(1.0, PROXY_MAX_WIDTH / width, PROXY_MAX_HEIGHT / height)
    return _even(width * scale), _even(height * scale)


class _AudioOut:
    """An MP4 with one AAC stream, written under a temporary name."""

    def __init__(
        self, path: Path, *, rate: int, layout: str, bit_rate: int, silence=()
    ):
        self.container = av.open(
            str(path), "w", format="mp4", options={"movflags": "+faststart"}
        )
        self.stream = self.container.add_stream(
            "aac", rate=rate, layout=layout, options={"aac_coder": AAC_CODER}
        )
        self.stream.codec_context.bit_rate = bit_rate
        self.rate = rate
        self.layout = layout
        self.silence = [
            (max(0, round(a * rate)), round(b * rate)) for a, b in silence if b > a
        ]

    def write(self, samples: np.ndarray, start: int) -> None:
        """Encode ``samples`` (channels × n, float32 planar) starting at sample ``start``."""
        end = start + samples.shape[1]
        copied = False
        for a, b in self.silence:
            if a < end and b > start:
                if not copied:  # the same samples may go to another output
                    samples, copied = samples.copy(), True
                samples[:, max(a, start) - start : min(b, end) - start] = 0.0
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples), format="fltp", layout=self.layout
        )
        frame.sample_rate = self.rate
        frame.pts = start
        frame.time_base = Fraction(1, self.rate)
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        """Flush the encoder and write the trailer (and move ``moov`` first)."""
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        self.container.close()
        self.container = None


class _ProxyOut(_AudioOut):
    """The H.264 proxy: a video stream beside the AAC stream."""

    def __init__(self, path: Path, *, video, size, rate, layout):
        super().__init__(path, rate=rate, layout=layout, bit_rate=PROXY_AUDIO_BIT_RATE)
        fps = video.average_rate or video.guessed_rate or Fraction(25)
        if fps > 120 or fps <= 0:
            fps = Fraction(25)
        self.fps = Fraction(fps).limit_denominator(1001)
        self.video = self.container.add_stream(
            "libx264", rate=self.fps, options=dict(PROXY_OPTIONS)
        )
        self.video.width, self.video.height = size
        self.video.pix_fmt = "yuv420p"
        self.video.codec_context.time_base = 1 / self.fps
        self.size = size
        self.next_pts = 0

    def write_video(self, frame, seconds: float) -> None:
        pts = round(seconds * self.fps)
        if pts < self.next_pts:
            return  # a frame at a time already written (VFR source, or an edit list)
        self.next_pts = pts + 1
        out = frame.reformat(width=self.size[0], height=self.size[1], format="yuv420p")
        out.pts = pts
        out.time_base = 1 / self.fps
        for packet in self.video.encode(out):
            self.container.mux(packet)

    def close(self) -> None:
        for packet in self.video.encode(None):
            self.container.mux(packet)
        super().close()


def _luma(frame) -> float:
    small = frame.reformat(width=64, height=36, format="gray")
    return float(small.to_ndarray().mean())


def _poster_save(frame, path: Path, size: tuple[int, int]) -> None:
    image = frame.reformat(width=size[0], height=size[1], format="rgb24").to_image()
    image.save(path, format="JPEG", quality=POSTER_QUALITY, optimize=True)


class _PosterPick:
    """Picks the first frame not black at or after ``at`` (else the brightest seen)."""

    def __init__(self, at: float):
        self.at = at
        self.frame = None
        self.time = 0.0
        self.luma = -1.0
        self.done = False

    def offer(self, frame, seconds: float) -> None:
        if self.done or seconds < self.at:
            return
        luma = _luma(frame)
        if luma > self.luma:
            self.frame, self.time, self.luma = frame, seconds, luma
        self.done = luma >= BLACK_LUMA


def media_derivatives_write(
    source: Path,
    *,
    listening_copy: Path | None = None,
    video_proxy: Path | None = None,
    poster: Path | None = None,
    poster_at: float | None = None,
    silence: Sequence[tuple[float, float]] = (),
    max_seconds: float = MAX_SECONDS,
    progress: Callable[[float], None] | None = None,
) -> MediaOutputs:
    """Decode a recording once, checking it and writing the derivatives asked for.

    Args:
        source: the audio or video file (read only).
        listening_copy: where to write the AAC listening copy (MP4).
        video_proxy: where to write the H.264 proxy (MP4); video only.
        poster: where to write the poster frame (JPEG); video only.
        poster_at: the poster's time in seconds (default 10% of the duration).
        silence: ranges in seconds, from the start of the audio, that become
            digital silence in the listening copy (closed passages).
        max_seconds: the longest recording accepted.
        progress: called now and then with the seconds decoded so far.

    Returns:
        The source as decoded (its real duration), the proxy's size and the
        poster. Nothing is written under a target's name unless the whole file
        decoded cleanly.

    Raises:
        MediaError: for everything ``media_probe`` refuses, a decode error, a
            stream that ends far short of what its header claims (truncated),
            or no audio at all.
    """
    source = Path(source)
    sniffed = _precheck(source)
    with ExitStack() as stack:
        container = stack.enter_context(_open(source, sniffed))
        probe = _probe(container, max_seconds=max_seconds)
        if probe.container == "wav":
            _wav_check(source)
        audio_in, video_in = _streams(container)
        if video_in is None:
            video_proxy = poster = None
        rate = _audio_rate(audio_in.codec_context.sample_rate)
        layout = _layout(audio_in.codec_context.channels)
        size = _fit(*_display_size(video_in)) if video_in is not None else None
        # Temporary files first (removed on any error), then the writers.
        listening = proxy = None
        poster_tmp = None
        if listening_copy is not None:
            tmp = stack.enter_context(atomic_write(Path(listening_copy)))
            listening = _AudioOut(
                tmp,
                rate=rate,
                layout=layout,
                bit_rate=LISTENING_BIT_RATE,
                silence=silence,
            )
            stack.callback(_close_quietly, listening)
        if video_proxy is not None:
            tmp = stack.enter_context(atomic_write(Path(video_proxy)))
            proxy = _ProxyOut(tmp, video=video_in, size=size, rate=rate, layout=layout)
            stack.callback(_close_quietly, proxy)
        pick = None
        if poster is not None:
            poster_tmp = stack.enter_context(atomic_write(Path(poster)))
            at = poster_at
            if at is None:
                at = (probe.duration or 0.0) * POSTER_FRACTION
            pick = _PosterPick(at)
        measured = _decode(
            container,
            audio_in,
            video_in if (proxy or pick) else None,
            rate=rate,
            layout=layout,
            outputs=[o for o in (listening, proxy) if o is not None],
            proxy=proxy,
            pick=pick,
            claimed=_seconds(audio_in) or probe.duration,
            max_seconds=max_seconds,
            progress=progress,
        )
        # Everything decoded: finish the files; the atomic writes rename them.
        for out in (listening, proxy):
            if out is not None:
                out.close()
        result_poster = None
        if pick is not None:
            if pick.frame is None:
                raise MediaError(
                    "the video has no picture after "
                    f"{timecode(pick.at)}: no poster frame can be taken"
                )
            _poster_save(pick.frame, poster_tmp, size)
            result_poster = Poster(size[0], size[1], round(pick.time, 3))
        decoded = MediaProbe(**{**probe.as_json(), "duration": round(measured, 3)})
        return MediaOutputs(
            probe=decoded,
            proxy_size=size if proxy is not None else None,
            poster=result_poster,
        )


def _close_quietly(out: _AudioOut) -> None:
    """On an error: release the writer (its temporary file is removed after)."""
    if out.container is not None:
        try:
            out.container.close()
        except (av.FFmpegError, OSError, ValueError):
            pass


def _decode(
    container,
    audio_in,
    video_in,
    *,
    rate: int,
    layout: str,
    outputs: Iterable[_AudioOut],
    proxy: _ProxyOut | None,
    pick: _PosterPick | None,
    claimed: float | None,
    max_seconds: float,
    progress: Callable[[float], None] | None,
) -> float:
    """The one decode pass; returns the seconds of audio decoded."""
    outputs = list(outputs)
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
    origin = container.start_time / 1e6 if container.start_time else 0.0
    decoded_in = 0.0  # seconds of source audio decoded
    written = 0  # samples written at the output rate
    proxy_offset = None  # samples of silence before the proxy's first audio
    last_report = time.monotonic()
    streams = [audio_in] + ([video_in] if video_in is not None else [])
    where = 0.0
    try:
        for packet in container.demux(streams):
            if packet.dts is not None and packet.time_base:
                where = float(packet.dts * packet.time_base) - origin
            if packet.stream is not audio_in and proxy is None and pick.done:
                continue  # the poster is taken and no proxy is made: skip the pictures
            for frame in packet.decode():
                if packet.stream is audio_in:
                    if proxy is not None and proxy_offset is None:
                        start = frame.time if frame.time is not None else origin
                        proxy_offset = max(0, round((start - origin) * rate))
                    decoded_in += frame.samples / (frame.sample_rate or rate)
                    for out_frame in resampler.resample(frame):
                        written = _write_audio(
                            out_frame, written, outputs, proxy, proxy_offset
                        )
                    if decoded_in > max_seconds:
                        raise MediaError(
                            f"the recording goes on past {timecode(max_seconds)}, the "
                            "longest a recording may last"
                        )
                else:
                    seconds = (frame.time if frame.time is not None else where) - origin
                    if proxy is not None:
                        proxy.write_video(frame, seconds)
                    if pick is not None:
                        pick.offer(frame, seconds)
            if progress is not None and time.monotonic() - last_report > 5:
                progress(decoded_in)
                last_report = time.monotonic()
        for out_frame in resampler.resample(None):
            written = _write_audio(out_frame, written, outputs, proxy, proxy_offset)
    except av.FFmpegError as exc:
        if _short(claimed, decoded_in):
            raise _truncated(claimed, decoded_in) from exc
        raise MediaError(
            f"the {'video' if video_in is not None else 'audio'} data is damaged "
            f"near {timecode(max(where, 0.0))}: it cannot be decoded "
            f"({_ffmpeg_reason(exc)})"
        ) from exc
    if decoded_in <= 0:
        raise MediaError("the recording lasts 0 seconds: there is nothing to hear")
    if _short(claimed, decoded_in):
        raise _truncated(claimed, decoded_in)
    return decoded_in


def _short(claimed: float | None, decoded: float) -> bool:
    """Whether the decoded sound ends far short of the header's claim."""
    if not claimed:
        return False
    return claimed - decoded > max(SHORTFALL_SECONDS, SHORTFALL_FRACTION * claimed)


def _truncated(claimed: float, decoded: float) -> MediaError:
    return MediaError(
        f"truncated: the file says it lasts {timecode(claimed)} but its sound "
        f"ends at {timecode(decoded)}; deliver the complete file"
    )


def _write_audio(frame, written, outputs, proxy, proxy_offset) -> int:
    samples = frame.to_ndarray()
    if samples.dtype != np.float32:
        samples = samples.astype(np.float32)
    for out in outputs:
        start = written + (proxy_offset or 0) if out is proxy else written
        out.write(samples, start)
    return written + samples.shape[1]


# --------------------------------------------------------------------------
# One output at a time


def listening_copy_write(
    source: Path, target: Path, *, silence: list[tuple[float, float]] = ()
) -> MediaProbe:
    """Write the listening copy of a recording (AAC in MP4, ``+faststart``) in one pass.

    ``silence`` ranges (seconds from the start of the audio) become digital
    silence: the public copy of a recording with closed passages. Returns the
    source as decoded. Raises ``MediaError`` for a file that is not a sound
    recording or is damaged; nothing is then written at ``target``.
    """
    return media_derivatives_write(source, listening_copy=target, silence=silence).probe


def video_proxy_write(source: Path, target: Path) -> MediaOutputs:
    """Write a video's H.264 proxy (≤ 720p, yuv420p, AAC, ``+faststart``) in one pass.

    Returns the source as decoded and the proxy's frame size. Raises
    ``MediaError`` for audio without pictures, as for any bad recording.
    """
    probe = media_probe(source)
    if not probe.has_video:
        raise MediaError("not a video: the file has no moving pictures")
    return media_derivatives_write(source, video_proxy=target)


def poster_write(source: Path, target: Path, at_seconds: float | None = None) -> Poster:
    """Write a video's poster frame (JPEG): the first frame not black at ``at_seconds``.

    ``at_seconds`` defaults to 10% of the duration. Only the stretch from the
    nearest keyframe before it is decoded.
    """
    source = Path(source)
    sniffed = _precheck(source)
    with _open(source, sniffed) as container:
        probe = _probe(container, max_seconds=MAX_SECONDS)
        _, video = _streams(container)
        if video is None:
            raise MediaError("not a video: the file has no moving pictures")
        at = at_seconds
        if at is None:
            at = (probe.duration or 0.0) * POSTER_FRACTION
        origin = container.start_time / 1e6 if container.start_time else 0.0
        if at > 0 and video.time_base:
            target_ts = int((at + origin) / video.time_base)
            container.seek(target_ts, stream=video, backward=True)
        pick = _PosterPick(at)
        try:
            for frame in container.decode(video):
                seconds = (frame.time or 0.0) - origin
                pick.offer(frame, seconds)
                if pick.done:
                    break
        except av.FFmpegError as exc:
            raise MediaError(
                f"the video data is damaged: it cannot be decoded ({_ffmpeg_reason(exc)})"
            ) from exc
        if pick.frame is None:
            raise MediaError(
                f"the video has no picture after {timecode(at)}: no poster frame"
            )
        size = _fit(*_display_size(video))
        with atomic_write(Path(target)) as tmp:
            _poster_save(pick.frame, tmp, size)
        return Poster(size[0], size[1], round(pick.time, 3))


def rms(samples: np.ndarray) -> float:
    """Root mean square of samples (for tests and checks of silence)."""
    if samples.size == 0:
        return 0.0
    return math.sqrt(float(np.mean(np.square(samples, dtype=np.float64))))
