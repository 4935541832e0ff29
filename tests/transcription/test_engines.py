"""The engines: the bundled model's join, selection, the fake, and the real model.

Tests marked ``model`` run the real bundled Whisper base (int8, CPU) on the
shipped sample clip: 64 s of espeak-ng synthetic Cantonese that Whisper base
cannot understand. It loops and hallucinates on it, so these tests check
that the engine's output is well formed and that the guards hold, never
accuracy (issue 5, part 8).
"""

from __future__ import annotations

import logging
import os
import re
import time

import numpy as np
import opencc
import pytest

from transcription import engines
from transcription.audio import (
    SAMPLE_RATE,
    NoAudioStream,
    UndecodableAudio,
    audio_decode,
)
from transcription.engines import (
    EngineUnavailable,
    FakeEngine,
    FasterWhisperEngine,
    bundled_model_path,
    engine_get,
)
from transcription.guards import COLLOQUIAL_PINNED, segments_guard

from .conftest import SAMPLE_CLIP, wav_write

logger = logging.getLogger(__name__)

#: Simplified-only characters common in Whisper's zh output; none may survive.
SIMPLIFIED_ONLY = set(
    "们这个说时会对国过还来为从们没问题点么样进发动经现实历东车长门间关广话让认语记"
    "见头书学东边难万与丢两严丧个丰临举义乐习乡买亲亿仅优伙传伤体儿党兰关兴军农冲决况"
    "净凉减几凤击刘则刚创删别剧办务动劳势区医华单卖卢卫厂厅历压厌县发变叶号叹吗听启"
    "员响哑啰团园围图圆圣场坏块坚坛坝报壮声处备复够头夹夺奋奖妇妈娱婴孙宁宝实宠审宪宫"
)


def hk_traditional(text: str) -> bool:
    """Whether OpenCC s2hk leaves ``text`` unchanged (pinned Cantonese characters aside)."""
    rest = "".join(ch for ch in text if ch not in COLLOQUIAL_PINNED)
    return opencc.OpenCC("s2hk").convert(rest) == rest


# ---------------------------------------------------------------------------
# The bundled model's two halves
# ---------------------------------------------------------------------------
def test_bundled_model_is_joined_once_atomically_and_a_broken_copy_is_replaced(
    tmp_path,
):
    folder = bundled_model_path(tmp_path)
    assert folder == tmp_path / engines.BUNDLED_DIRNAME
    parts = [
        engines._package_data(p) / f"model.bin.part{i}"
        for i, p in enumerate(engines._BUNDLED_PACKAGES, start=1)
    ]
    size = sum(p.stat().st_size for p in parts)
    model = folder / "model.bin"
    assert model.stat().st_size == size
    with open(model, "rb") as joined, open(parts[1], "rb") as second:
        joined.seek(parts[0].stat().st_size)
        assert joined.read(4096) == second.read(4096)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        assert (folder / name).is_file()
    # No temporary folder is left behind, and a second call joins nothing.
    assert sorted(p.name for p in tmp_path.iterdir()) == [engines.BUNDLED_DIRNAME]
    mtime = model.stat().st_mtime_ns
    assert bundled_model_path(tmp_path) == folder
    assert model.stat().st_mtime_ns == mtime
    # A half-written model (an old crash) is never loaded: it is replaced.
    with open(model, "r+b") as f:
        f.truncate(size // 2)
    assert bundled_model_path(tmp_path) == folder
    assert model.stat().st_size == size
    assert sorted(p.name for p in tmp_path.iterdir()) == [engines.BUNDLED_DIRNAME]


def test_an_interrupted_join_leaves_no_model_behind(monkeypatch, tmp_path):
    copy = engines.shutil.copyfileobj
    calls = []

    def dies_on_the_second_half(src, dst, length=0):
        calls.append(src)
        if len(calls) == 2:
            copy(src, dst, length)
            raise OSError("disk full")
        copy(src, dst, length)

    monkeypatch.setattr(engines.shutil, "copyfileobj", dies_on_the_second_half)
    with pytest.raises(OSError, match="disk full"):
        bundled_model_path(tmp_path)
    # Neither a model folder nor a temporary copy: a worker can never load half.
    assert list(tmp_path.iterdir()) == []


def test_missing_model_packages_give_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(engines.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(EngineUnavailable, match="whisper-model"):
        bundled_model_path(tmp_path)


# ---------------------------------------------------------------------------
# Selection
# ---------------------------------------------------------------------------
def test_engine_is_chosen_by_setting_and_cached(settings):
    settings.TRANSCRIPTION_ENGINE = "transcription.engines.FakeEngine"
    first = engine_get()
    assert isinstance(first, FakeEngine)
    assert engine_get() is first
    settings.TRANSCRIPTION_ENGINE = "transcription.engines.FasterWhisperEngine"
    real = engine_get()
    assert isinstance(real, FasterWhisperEngine)
    assert engine_get() is real
    settings.WHISPER_BEAM_SIZE = 5
    assert engine_get() is not real
    assert engine_get().beam_size == 5
    settings.TRANSCRIPTION_ENGINE = "transcription.guards.GuardResult"
    with pytest.raises(EngineUnavailable):
        engine_get()


def test_engine_options_follow_settings_and_bound_the_decoder(settings):
    settings.WHISPER_CPU_THREADS = 0
    engine = FasterWhisperEngine(
        model="large-v3", device="cuda", compute_type="float16"
    )
    assert engine.model_name == "large-v3"
    assert engine.cpu_threads == len(os.sched_getaffinity(0))
    options = engine.options
    assert options["compute_type"] == "float16"
    assert options["temperatures"] == [0.0, 0.4]
    assert options["condition_on_previous_text"] is False
    assert options["vad_filter"] is True and options["word_timestamps"] is True
    assert options["max_new_tokens"] <= 224


# ---------------------------------------------------------------------------
# The fake engine (for the pipeline's unit tests)
# ---------------------------------------------------------------------------
def test_fake_engine_is_deterministic_and_respects_the_clip(monkeypatch):
    monkeypatch.setattr(FakeEngine, "calls", [])
    audio = np.zeros(SAMPLE_RATE * 23, dtype=np.float32)
    engine = FakeEngine()
    result = engine.transcribe(audio, language="yue", clip=(7.0, 18.0))
    spans = [(s.start, s.end) for s in result.segments]
    assert spans == [(7.0, 10.0), (10.0, 15.0), (15.0, 18.0)]
    assert result.language == "zh" and "yue" in result.notes[0]
    again = engine.transcribe(audio, language="yue", clip=(7.0, 18.0))
    assert [s.text for s in again.segments] == [s.text for s in result.segments]
    assert FakeEngine.calls == [(7.0, 18.0), (7.0, 18.0)]


# ---------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------
def test_decoding_gives_16k_mono_float_and_clear_errors(tmp_path, sample_audio):
    assert sample_audio.dtype == np.float32
    assert abs(len(sample_audio) / SAMPLE_RATE - 63.85) < 0.05
    assert 0.1 < np.abs(sample_audio).max() <= 1.0
    not_media = tmp_path / "notes.wav"
    not_media.write_bytes(b"RIFF" + b"not really a wave file" * 40)
    with pytest.raises(UndecodableAudio, match="not a media file"):
        audio_decode(not_media)
    empty = tmp_path / "empty.flac"
    empty.write_bytes(b"")
    with pytest.raises(UndecodableAudio):
        audio_decode(empty)
    with pytest.raises(UndecodableAudio, match="missing"):
        audio_decode(tmp_path / "gone.flac")
    silent_video = tmp_path / "silent.mp4"
    _video_without_audio(silent_video)
    with pytest.raises(NoAudioStream, match="no audio track"):
        audio_decode(silent_video)
    # A truncated file decodes as far as it goes.
    truncated = tmp_path / "truncated.flac"
    truncated.write_bytes(SAMPLE_CLIP.read_bytes()[: SAMPLE_CLIP.stat().st_size // 3])
    partial = audio_decode(truncated)
    assert 10 < len(partial) / SAMPLE_RATE < 40


def _video_without_audio(path):
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for _ in range(5):
            frame = av.VideoFrame.from_ndarray(
                np.zeros((64, 64, 3), np.uint8), format="rgb24"
            )
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


# ---------------------------------------------------------------------------
# The real model
# ---------------------------------------------------------------------------
@pytest.mark.model
def test_bundled_model_has_no_cantonese_so_zh_is_used_and_said(whisper_engine):
    assert whisper_engine.supports_language("zh")
    assert not whisper_engine.supports_language("yue")
    assert whisper_engine.language_for("yue")[0] == "zh"
    assert whisper_engine.language_for("zh") == ("zh", "")


@pytest.mark.model
def test_real_model_on_the_sample_clip_output_is_well_formed_and_the_guards_hold(
    sample_transcription, sample_audio
):
    result, elapsed = sample_transcription
    duration = len(sample_audio) / SAMPLE_RATE
    logger.info(
        "sample clip: %.1f s of audio in %.1f s = %.1fx",
        duration,
        elapsed,
        duration / elapsed,
    )
    assert result.complete and result.reached == pytest.approx(duration)
    assert result.language == "zh" and result.notes
    assert result.prompt == engines.INITIAL_PROMPTS["yue"]
    # Whisper base writes something for this speech (loops, echoes of the prompt).
    assert result.segments
    starts = [s.start for s in result.segments]
    assert starts == sorted(starts)
    for s in result.segments:
        assert 0 <= s.start <= s.end <= duration + 0.05
        for w_start, w_end, _word, probability in s.words:
            assert s.start - 0.05 <= w_start <= w_end <= s.end + 0.05
            assert 0 <= probability <= 1
    # Windows that fell back are exactly those of segments decoded above 0.
    assert bool(result.fallbacks) == any(s.temperature > 0 for s in result.segments)
    for window in result.fallbacks:
        assert window["temperature"] > 0 and window["reason"]
        assert 0 <= window["window_start"] <= window["window_end"] <= duration + 0.05
    # The guards hold on what it wrote.
    guarded = segments_guard(result.segments, audio_end=duration, prompt=result.prompt)
    logger.info("kept: %s", [(s.start, s.end, s.text) for s in guarded.kept])
    for record in guarded.dropped:
        logger.info("dropped: %s", record)
    assert guarded.dropped, "Whisper base loops on espeak speech; the guards must act"
    _assert_guarded(guarded.kept, duration)


_PROMPT_BARE = re.sub(r"[\W_]", "", engines.INITIAL_PROMPTS["yue"])
#: Every six characters in a row of the Cantonese prompt.
PROMPT_PIECES = {_PROMPT_BARE[i : i + 6] for i in range(len(_PROMPT_BARE) - 5)}

#: Any phrase of two characters or more said three times in a row.
THREE_TIMES = re.compile(r"(\S{2,}?)(?:[\s,，、。.]*\1){2,}")


def _assert_guarded(kept, duration):
    """What the guards promise, checked without the guards' own functions."""
    starts = [s.start for s in kept]
    assert starts == sorted(starts)
    lines = []
    for s in kept:
        assert 0 <= s.start <= s.end <= duration
        assert s.text.strip() and "\ufffd" not in s.text
        assert hk_traditional(s.text), s.text
        assert not SIMPLIFIED_ONLY & set(s.text), s.text
        assert not THREE_TIMES.search(s.text), s.text
        # Whisper echoing the prompt ("...口述歷史訪問嘅逐字稿") is not speech:
        # no six characters of it in a row survive.
        bare = re.sub(r"[\W_]", "", s.text)
        assert not any(piece in bare for piece in PROMPT_PIECES), s.text
        lines.append(s.text)
    for a, b, c in zip(lines, lines[1:], lines[2:], strict=False):
        assert not (a == b == c), a
    assert sum(len(line) for line in lines) <= 8 * duration


@pytest.mark.model
def test_real_model_keeps_to_the_clip(whisper_engine, sample_audio):
    result = whisper_engine.transcribe(sample_audio, language="zh", clip=(20.0, 34.0))
    assert result.complete and result.reached == 34.0
    assert result.prompt == engines.INITIAL_PROMPTS["zh"]
    for s in result.segments:
        assert 20.0 <= s.start <= s.end <= 34.05


@pytest.mark.model
@pytest.mark.parametrize("kind", ["silence", "noise"])
def test_real_model_writes_nothing_on_silence_or_noise(whisper_engine, tmp_path, kind):
    rng = np.random.default_rng(7)
    samples = (
        np.zeros(SAMPLE_RATE * 40, dtype=np.float32)
        if kind == "silence"
        else (rng.standard_normal(SAMPLE_RATE * 40) * 0.2).astype(np.float32)
    )
    audio = audio_decode(wav_write(tmp_path / f"{kind}.wav", samples))
    result = whisper_engine.transcribe(audio, language="yue")
    # The voice-activity filter finds no speech, so Whisper never decodes (without
    # it, Whisper echoes its prompt here: "以下廣州話口述歷史訪問嘅逐字").
    assert result.segments == [] and result.complete and not result.fallbacks


@pytest.mark.model
def test_real_model_stops_at_its_deadline(whisper_engine, sample_audio):
    passed = whisper_engine.transcribe(
        sample_audio, language="yue", deadline=time.monotonic() - 1
    )
    assert not passed.complete and passed.segments == [] and passed.reached == 0.0
    started = time.monotonic()
    soon = whisper_engine.transcribe(
        sample_audio, language="yue", deadline=started + 0.5
    )
    assert not soon.complete
    assert any("deadline" in note for note in soon.notes)
    # It stops after the first window, not at the end of the clip.
    assert len(soon.segments) <= 3
    assert soon.reached < len(sample_audio) / SAMPLE_RATE
