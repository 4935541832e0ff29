"""Decode a recording (audio, or the audio track of a video) to what Whisper reads.

Whisper takes 16 kHz mono float32 samples. PyAV (which bundles FFmpeg, so a
fresh machine needs no system package) reads every container and codec the
ingest accepts. faster-whisper's own ``decode_audio`` silently skips
undecodable frames and says nothing when a file has no audio track, so the
archive decodes here instead and says clearly what is wrong: a transcript
that fails must tell the archivist why (issue 5, part 2).
"""

from __future__ import annotations

import logging
from pathlib import Path

import av
import numpy as np

logger = logging.getLogger(__name__)

#: Whisper's sampling rate (samples per second).
SAMPLE_RATE = 16000


class AudioError(Exception):
    """A recording whose audio cannot be transcribed; the message is for the archivist."""


class NoAudioStream(AudioError):
    """The file has no audio track (a silent video, an image, a document)."""


class UndecodableAudio(AudioError):
    """The file is not media FFmpeg can read, or not one audio frame decodes."""


def audio_decode(path: Path | str, *, sampling_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode the first audio track of a media file to mono float32 at ``sampling_rate``.

    Frames that fail to decode inside an otherwise readable file are skipped
    (and logged), as players do; a file where nothing decodes is an error.

    Args:
        path: the media file (audio, or a video with an audio track).
        sampling_rate: samples per second of the result (16 kHz for Whisper).

    Returns:
        A one-dimensional float32 array in [-1, 1].

    Raises:
        NoAudioStream: the file has no audio track.
        UndecodableAudio: the file is missing, not media, or no audio decodes.
    """
    path = Path(path)
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except FileNotFoundError as exc:
        raise UndecodableAudio(f"the recording's file is missing: {path.name}") from exc
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise UndecodableAudio(
            f"{path.name} is not a media file the decoder can read ({exc})"
        ) from exc
    with container:
        if not container.streams.audio:
            raise NoAudioStream(f"{path.name} has no audio track to transcribe")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=sampling_rate)
        # int16 pieces take half the memory of float32 while decoding; the
        # float32 result is filled from them once, without a second copy.
        pieces: list[np.ndarray] = []
        bad = 0
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except (av.error.FFmpegError, ValueError):
                    bad += 1
                    continue
                for frame in frames:
                    try:
                        resampled = resampler.resample(frame)
                    except (av.error.FFmpegError, ValueError):
                        bad += 1
                        continue
                    pieces.extend(r.to_ndarray().reshape(-1) for r in resampled)
            pieces.extend(r.to_ndarray().reshape(-1) for r in resampler.resample(None))
        except av.error.FFmpegError as exc:
            # A demuxer error mid-file (truncated data): keep what decoded.
            bad += 1
            logger.warning(
                "%s: stopped reading at a damaged packet: %s", path.name, exc
            )
    total = sum(len(p) for p in pieces)
    if total == 0:
        raise UndecodableAudio(
            f"no audio in {path.name} could be decoded"
            + (f" ({bad} damaged packets)" if bad else "")
        )
    if bad:
        logger.warning("%s: %d damaged audio packets skipped", path.name, bad)
    audio = np.empty(total, dtype=np.float32)
    at = 0
    for piece in pieces:
        audio[at : at + len(piece)] = piece
        at += len(piece)
    audio /= 32768.0
    return audio


def media_duration(path: Path | str) -> float | None:
    """The length of a recording in seconds, read from its header; None when unknown.

    Nothing is decoded, so this is cheap even for a day-long interview. Used
    to check that a consent's closed passages lie inside the recording.
    """
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            duration = container.duration / 1e6 if container.duration else None
            for stream in container.streams:
                if duration is None and stream.duration and stream.time_base:
                    duration = float(stream.duration * stream.time_base)
    except (OSError, av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        logger.warning("Cannot read the length of %s: %s", Path(path).name, exc)
        return None
    if not duration or duration <= 0:
        return None
    return round(float(duration), 3)
