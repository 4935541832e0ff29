"""Fixtures of the transcription tests: the real Whisper model (loaded once), sample audio.

The model, the decoded sample clip and the engine's transcription of it are
session-scoped: loading Whisper and decoding a minute of espeak speech are
the slow parts, and no test changes them.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
#: 64 s of espeak-ng synthetic Cantonese (ingest/sample/README.md): Whisper base
#: cannot understand it, loops and hallucinates: a worst case for the guards.
SAMPLE_CLIP = ROOT / "ingest/sample/oral-history/teahouse-1938/interview.flac"


def wav_write(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    """Write float samples in [-1, 1] as a 16-bit mono WAV file."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return path


@pytest.fixture(scope="session")
def whisper_engine():
    """The real FasterWhisperEngine of the test settings (bundled base, int8), loaded once."""
    from transcription.engines import FasterWhisperEngine, engine_get

    engine = engine_get()
    assert isinstance(engine, FasterWhisperEngine)
    engine.whisper  # noqa: B018 - load the model now, once
    return engine


@pytest.fixture(scope="session")
def sample_audio() -> np.ndarray:
    """The sample clip, decoded to 16 kHz mono float32."""
    from transcription.audio import audio_decode

    return audio_decode(SAMPLE_CLIP)


@pytest.fixture(scope="session")
def sample_transcription(whisper_engine, sample_audio):
    """The real engine's output on the whole sample clip, with its wall-clock time."""
    import time

    started = time.monotonic()
    result = whisper_engine.transcribe(sample_audio, language="yue")
    return result, time.monotonic() - started


@pytest.fixture
def stored_recording(tmp_path):
    """Store a media file as the recording of a new oral-history item.

    Returns ``make(samples_or_path, name="interview.wav")``, giving the asset.
    """
    from archive.models import Asset
    from archive.services import asset_create
    from tests.transcription.factories import RecordingItemFactory

    def make(source, name: str = "interview.wav"):
        if isinstance(source, np.ndarray):
            source = wav_write(tmp_path / name, source)
        asset, _ = asset_create(
            item=RecordingItemFactory(), source=Path(source), role=Asset.Role.MEDIA
        )
        return asset

    return make
