"""The machine transcription of one recording: chunked, resumable, bounded in time.

``transcript_run`` decodes the recording once, then transcribes it in steps
of about ``TRANSCRIPTION_CHUNK_SECONDS``, each ending in a pause the voice
activity detector finds near the nominal boundary, so no word is cut. Each
step's segments and the new ``progress_seconds`` are stored in one
transaction: a crashed or killed worker loses at most the step it was in,
and a new run starts at ``progress_seconds`` without redoing anything
(issue 5, part 2). The same audio and start give the same step boundaries,
so a resumed run cuts where an uninterrupted one would have.

A run has a wall-clock budget of ``TRANSCRIPTION_BUDGET_FACTOR`` times the
audio still to do, plus a minute for loading: Whisper on bad audio must never
run for ever. When the budget is spent the run stops as ``partial``, keeping
what it finished; running it again continues from there.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from archive.models import AccessLevel
from archive.priority import background_priority
from transcription.audio import SAMPLE_RATE, AudioError, audio_decode
from transcription.engines import (
    INITIAL_PROMPTS,
    EngineResult,
    EngineUnavailable,
    TranscriptionEngine,
    engine_get,
)
from transcription.guards import GuardResult, segments_guard
from transcription.models import Segment, Transcript

logger = logging.getLogger(__name__)

#: Seconds added to every budget (loading the model, decoding the file).
BUDGET_MARGIN_SECONDS = 60.0
#: How far before or after a nominal step end a pause is looked for.
BOUNDARY_SEARCH_SECONDS = 10.0
#: When less than this share of a step would remain, the last step takes it.
TAIL_FRACTION = 0.25
#: Pauses shorter than this are only used when there is no longer one.
GOOD_PAUSE_SECONDS = 0.3
#: Voice activity settings for finding pauses: short silences count.
PAUSE_VAD = {
    "threshold": 0.5,
    "min_speech_duration_ms": 0,
    "min_silence_duration_ms": 150,
    "speech_pad_ms": 30,
}

ProgressCallback = Callable[[float, float], None]


class _Superseded(Exception):
    """Another run moved this transcript's progress on; this one stops."""


# ---------------------------------------------------------------------------
# Step boundaries
# ---------------------------------------------------------------------------
def pause_near(audio: np.ndarray, *, target: float, low: float, high: float) -> float:
    """A quiet point between ``low`` and ``high`` seconds, as near ``target`` as can be.

    Uses faster-whisper's Silero voice-activity detector. Prefers the middle
    of a pause of at least 0.3 s at or before ``target`` (so a step is not
    longer than asked, and fits Whisper's 30-s windows when the chunk is a
    multiple of 30 s), then one after it, then any shorter pause; in speech
    without a pause, the moment of lowest speech probability. Deterministic:
    the same audio gives the same point.
    """
    from faster_whisper.vad import VadOptions, get_speech_timestamps, get_vad_model

    first, last = int(low * SAMPLE_RATE), int(high * SAMPLE_RATE)
    piece = audio[first:last]
    if len(piece) < SAMPLE_RATE // 10:
        return round(target, 3)
    speech = get_speech_timestamps(piece, VadOptions(**PAUSE_VAD))
    if not speech:
        return round(target, 3)
    gaps = []
    edge = 0
    for chunk in speech:
        if chunk["start"] > edge:
            gaps.append((low + edge / SAMPLE_RATE, low + chunk["start"] / SAMPLE_RATE))
        edge = chunk["end"]
    if edge < len(piece):
        gaps.append((low + edge / SAMPLE_RATE, high))
    middles = [((a + b) / 2, b - a) for a, b in gaps]
    good = [m for m, length in middles if length >= GOOD_PAUSE_SECONDS]
    for pool in ([m for m in good if m <= target], good, [m for m, _ in middles]):
        if pool:
            return round(min(pool, key=lambda m: abs(m - target)), 3)
    window = 512
    padded = np.pad(piece, (0, window - len(piece) % window))
    probabilities = np.asarray(get_vad_model()(padded)).reshape(-1)
    times = low + (np.arange(len(probabilities)) + 0.5) * window / SAMPLE_RATE
    best = min(
        range(len(probabilities)),
        key=lambda i: (round(float(probabilities[i]), 2), abs(times[i] - target)),
    )
    return round(float(min(times[best], high)), 3)


def step_end(audio: np.ndarray, *, start: float, chunk: float) -> float:
    """Where the step starting at ``start`` ends: a pause near ``start + chunk``.

    The last step takes the rest of the recording when less than a quarter
    of a step would be left after it.
    """
    duration = len(audio) / SAMPLE_RATE
    nominal = start + chunk
    if nominal >= duration - chunk * TAIL_FRACTION:
        return round(duration, 3)
    low = max(start + chunk / 2, nominal - BOUNDARY_SEARCH_SECONDS)
    high = min(duration - chunk * TAIL_FRACTION, nominal + BOUNDARY_SEARCH_SECONDS)
    return pause_near(audio, target=nominal, low=low, high=high)


# ---------------------------------------------------------------------------
# Storing
# ---------------------------------------------------------------------------
def _closed_ranges(transcript: Transcript) -> list[tuple[float, float]]:
    from transcription.services import closed_ranges_for

    return closed_ranges_for(item=transcript.item)


def _segment_rows(
    transcript: Transcript, guarded: GuardResult, closed: list[tuple[float, float]]
) -> list[Segment]:
    rows = []
    for seg in guarded.kept:
        start, end = round(float(seg.start), 3), round(float(seg.end), 3)
        # A passage the interviewee closed is closed from the moment it is stored.
        is_closed = any(start < c_end and end > c_start for c_start, c_end in closed)
        row = Segment(
            transcript=transcript,
            start=start,
            end=max(start, end),
            machine_text=seg.text,
            text=seg.text,
            access_level=AccessLevel.STAFF if is_closed else "",
            avg_logprob=_figure(seg.avg_logprob),
            no_speech_prob=_figure(seg.no_speech_prob),
            compression_ratio=_figure(seg.compression_ratio),
            temperature=_figure(seg.temperature),
            words=[
                [float(w[0]), float(w[1]), str(w[2]), float(w[3])] for w in seg.words
            ],
        )
        row.full_clean()
        rows.append(row)
    return rows


def _figure(value) -> float | None:
    return None if value is None else round(float(value), 4)


def _step_store(
    transcript: Transcript,
    *,
    start: float,
    end: float,
    result: EngineResult,
    guarded: GuardResult,
    closed: list[tuple[float, float]],
) -> None:
    """Store one step's segments and move ``progress_seconds`` on, in one transaction.

    The progress moves only if it is still where this step started (compare
    and set), so two runs of one transcript can never store a step twice.
    """
    rows = _segment_rows(transcript, guarded, closed)
    fallbacks = transcript.fallbacks + [
        {k: (round(float(v), 3) if k != "reason" else v) for k, v in f.items()}
        for f in result.fallbacks
    ]
    dropped = transcript.dropped + guarded.dropped
    options = dict(transcript.options)
    options["steps"] = list(options.get("steps", [])) + [[start, end]]
    with transaction.atomic():
        moved = Transcript.objects.filter(
            pk=transcript.pk, progress_seconds=start, status=Transcript.Status.RUNNING
        ).update(
            progress_seconds=end,
            fallbacks=fallbacks,
            dropped=dropped,
            options=options,
            updated_at=timezone.now(),
        )
        if not moved:
            raise _Superseded
        Segment.objects.bulk_create(rows)
    transcript.progress_seconds = end
    transcript.fallbacks, transcript.dropped, transcript.options = (
        fallbacks,
        dropped,
        options,
    )


def _set(transcript: Transcript, **fields) -> Transcript:
    for name, value in fields.items():
        setattr(transcript, name, value)
    transcript.full_clean()
    transcript.save(update_fields=[*fields, "updated_at"])
    return transcript


def _fail(transcript: Transcript, message: str) -> Transcript:
    logger.warning("transcript %s failed: %s", transcript.public_id, message)
    return _set(transcript, status=Transcript.Status.FAILED, error=message)


def _finish(transcript: Transcript) -> Transcript:
    """Mark the transcript done and carry an earlier transcript's corrections, atomically."""
    carry = None
    if transcript.previous_id:
        try:
            editing = importlib.import_module("transcription.services.editing")
        except ModuleNotFoundError as exc:
            if exc.name != "transcription.services.editing":
                raise
            editing = None
        carry = getattr(editing, "corrections_carry", None)
        if carry is None:
            logger.warning(
                "corrections_carry is not available; corrections not carried"
            )
    with transaction.atomic():
        _set(
            transcript,
            status=Transcript.Status.DONE,
            finished_at=timezone.now(),
            error="",
        )
        if carry is not None:
            carry(old=transcript.previous, new=transcript)
    return transcript


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------
def transcript_run(
    *, transcript: Transcript, on_progress: ProgressCallback | None = None
) -> Transcript:
    """Transcribe a transcript's recording from where it stands, step by step.

    Safe to call again at any time: a done transcript is left alone, and any
    other starts at ``progress_seconds``. A recording without audio, or one
    that does not decode, ends ``failed`` with the reason and nothing stored;
    a run over its time budget ends ``partial``. An unexpected error marks the
    transcript ``failed`` and is raised again (steps already stored stay).

    Args:
        transcript: the transcript to make (usually ``queued``).
        on_progress: called with (seconds of audio done, total seconds) as
            segments come in and after every step.

    Returns:
        The transcript, saved.
    """
    background_priority()
    started = time.monotonic()
    transcript.refresh_from_db()
    if transcript.status == Transcript.Status.DONE:
        logger.info("transcript %s is already done", transcript.public_id)
        return transcript
    asked = transcript.language or transcript.register
    try:
        engine = engine_get()
        language, note = engine.language_for(asked)
    except (EngineUnavailable, ImportError) as exc:
        return _fail(transcript, f"the transcription engine is not available: {exc}")
    prompt = INITIAL_PROMPTS.get(asked, "")
    _run_start(transcript, engine, language=language, note=note, prompt=prompt)
    try:
        return _run(
            transcript,
            engine,
            asked=asked,
            prompt=prompt,
            started=started,
            on_progress=on_progress,
        )
    except _Superseded:
        logger.warning(
            "transcript %s: another run stored this step first; stopping",
            transcript.public_id,
        )
        transcript.refresh_from_db()
        return transcript
    except Exception as exc:
        _fail(transcript, f"the transcription stopped on an error: {exc!r}")
        raise


def _run_start(
    transcript: Transcript,
    engine: TranscriptionEngine,
    *,
    language: str,
    note: str,
    prompt: str,
) -> None:
    options = {
        **engine.options,
        "language": language,
        "initial_prompt": prompt,
        "chunk_seconds": settings.TRANSCRIPTION_CHUNK_SECONDS,
        "steps": list(transcript.options.get("steps", [])),
    }
    if note:
        options["notes"] = [note]
    _set(
        transcript,
        status=Transcript.Status.RUNNING,
        started_at=transcript.started_at or timezone.now(),
        engine=engine.name,
        model_name=engine.model_name,
        options=options,
        error="",
    )


def _run(
    transcript: Transcript,
    engine: TranscriptionEngine,
    *,
    asked: str,
    prompt: str,
    started: float,
    on_progress: ProgressCallback | None,
) -> Transcript:
    try:
        audio = audio_decode(transcript.asset.path)
    except AudioError as exc:
        return _fail(transcript, str(exc))
    duration = round(len(audio) / SAMPLE_RATE, 3)
    if transcript.duration != duration:
        _set(transcript, duration=duration)
    chunk = float(settings.TRANSCRIPTION_CHUNK_SECONDS)
    remaining = max(0.0, duration - transcript.progress_seconds)
    # The clock started with the run: loading the model and decoding count.
    budget = settings.TRANSCRIPTION_BUDGET_FACTOR * remaining + BUDGET_MARGIN_SECONDS
    deadline = started + budget
    if transcript.progress_seconds > 0:
        logger.info(
            "transcript %s: resuming at %.3f s of %.3f s",
            transcript.public_id,
            transcript.progress_seconds,
            duration,
        )
    closed = _closed_ranges(transcript)
    previous_texts = list(
        transcript.segments.order_by("-start", "-pk").values_list(
            "machine_text", flat=True
        )[:2]
    )[::-1]

    def engine_progress(reached: float) -> None:
        if on_progress is not None:
            on_progress(min(reached, duration), duration)

    while transcript.progress_seconds < duration - 0.01:
        start = transcript.progress_seconds
        if time.monotonic() >= deadline:
            return _partial(
                transcript, duration=duration, budget=budget, started=started
            )
        end = step_end(audio, start=start, chunk=chunk)
        result = engine.transcribe(
            audio,
            language=asked,
            initial_prompt=prompt,
            clip=(start, end),
            deadline=deadline,
            on_progress=engine_progress,
        )
        reached = (
            end if result.complete else round(min(max(result.reached, start), end), 3)
        )
        guarded = segments_guard(
            result.segments,
            audio_end=reached,
            prompt=result.prompt,
            previous_texts=previous_texts,
            colloquial=asked == Transcript.Register.COLLOQUIAL,
        )
        if reached > start:
            _step_store(
                transcript,
                start=start,
                end=reached,
                result=result,
                guarded=guarded,
                closed=closed,
            )
            previous_texts = (previous_texts + [s.text for s in guarded.kept])[-2:]
        logger.info(
            "transcript %s: %.1f-%.1f s, %d segments kept, %d dropped",
            transcript.public_id,
            start,
            reached,
            len(guarded.kept),
            len(guarded.dropped),
        )
        if on_progress is not None:
            on_progress(transcript.progress_seconds, duration)
        if not result.complete:
            return _partial(
                transcript,
                duration=duration,
                budget=budget,
                started=started,
                notes=[n for n in result.notes if "deadline" in n],
            )
    return _finish(transcript)


def _partial(
    transcript: Transcript,
    *,
    duration: float,
    budget: float,
    started: float,
    notes: list[str] = (),
) -> Transcript:
    """Stop the run as ``partial`` and say why (the engine's own stop note too)."""
    done = transcript.progress_seconds
    message = (
        f"Stopped by the time budget after {time.monotonic() - started:.0f} s "
        f"(budget {budget:.0f} s: {settings.TRANSCRIPTION_BUDGET_FACTOR:g} × the audio "
        f"to do + {BUDGET_MARGIN_SECONDS:.0f} s). Transcribed {done:.1f} s of "
        f"{duration:.1f} s; transcribe again to continue from there."
    )
    logger.warning("transcript %s: %s", transcript.public_id, message)
    options = dict(transcript.options)
    if notes:
        options["notes"] = [*options.get("notes", []), *notes]
    return _set(
        transcript, status=Transcript.Status.PARTIAL, error=message, options=options
    )


def transcript_interrupt(*, transcript: Transcript, reason: str) -> Transcript:
    """Mark a run stopped from outside (a task's time limit) as ``partial``.

    What the run stored stays; running it again continues from
    ``progress_seconds``.
    """
    transcript.refresh_from_db()
    if transcript.status == Transcript.Status.DONE:
        return transcript
    return _set(transcript, status=Transcript.Status.PARTIAL, error=reason)
