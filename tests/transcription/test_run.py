"""The transcription run: steps, resuming, budgets, failures, the task and the command.

Most tests drive the pipeline with the FakeEngine (deterministic segments
every 5 s), to check the run's own arithmetic quickly; the tests marked
``model`` repeat each behaviour with the real bundled Whisper model, and
``test_run_resume.py`` kills a real worker in the middle of a real run.
"""

from __future__ import annotations

import logging
import time
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from archive.celery import app
from archive.models import AccessLevel
from transcription.audio import SAMPLE_RATE
from transcription.engines import FakeEngine, FakeEngineCrash
from transcription.models import ClosedRange, Consent, Segment, Transcript
from transcription.services import run as run_module
from transcription.services import transcript_request
from transcription.services.run import pause_near, step_end, transcript_run
from transcription.tasks import transcript_run_task

from .conftest import SAMPLE_CLIP
from .test_engines import _assert_guarded, _video_without_audio

logger = logging.getLogger(__name__)
pytestmark = pytest.mark.django_db

FAKE = "transcription.engines.FakeEngine"


@pytest.fixture
def fake(settings, monkeypatch):
    """The FakeEngine, with a clean record of its calls and default behaviour."""
    settings.TRANSCRIPTION_ENGINE = FAKE
    settings.TRANSCRIPTION_CHUNK_SECONDS = 10.0
    monkeypatch.setattr(FakeEngine, "calls", [])
    monkeypatch.setattr(FakeEngine, "crash_on_call", None)
    monkeypatch.setattr(FakeEngine, "texts", {})
    monkeypatch.setattr(FakeEngine, "fallback_at", frozenset())
    monkeypatch.setattr(FakeEngine, "seconds_per_segment", 0.0)
    return FakeEngine


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(SAMPLE_RATE * seconds), dtype=np.float32)


def queued(asset, **kwargs) -> Transcript:
    return transcript_request(asset=asset, enqueue=False, **kwargs)


def spans(transcript) -> list[tuple[float, float]]:
    return list(transcript.segments.order_by("start").values_list("start", "end"))


# ---------------------------------------------------------------------------
# Steps and their boundaries
# ---------------------------------------------------------------------------
def test_steps_follow_the_chunk_and_the_last_takes_a_short_rest(fake, stored_recording):
    transcript = queued(stored_recording(silence(47)))
    progress = []
    transcript = transcript_run(
        transcript=transcript,
        on_progress=lambda done, total: progress.append((done, total)),
    )
    assert transcript.status == Transcript.Status.DONE
    assert transcript.finished_at is not None and transcript.error == ""
    assert transcript.duration == 47.0 and transcript.progress_seconds == 47.0
    # On silence the pause finder has nothing to prefer: the nominal boundaries.
    # 40 + 10 would leave 7 s (< a quarter step? no: 7 > 2.5), so 40-47 is a step.
    assert transcript.options["steps"] == [
        [0, 10],
        [10, 20],
        [20, 30],
        [30, 40],
        [40, 47],
    ]
    assert fake.calls == [(0, 10), (10, 20), (20, 30), (30, 40), (40, 47)]
    assert spans(transcript) == [(5.0 * n, 5.0 * (n + 1)) for n in range(9)] + [
        (45.0, 47.0)
    ]
    assert transcript.engine == "fake" and transcript.model_name == "fake"
    # Progress only grows, and ends at the whole duration.
    dones = [d for d, _ in progress]
    assert dones == sorted(dones) and progress[-1] == (47.0, 47.0)


def test_progress_is_reported_after_every_step_even_without_segments(
    fake, stored_recording, monkeypatch
):
    transcribe = FakeEngine.transcribe

    def silent(self, audio, **kwargs):
        kwargs["on_progress"] = None  # an engine that reports nothing itself
        return transcribe(self, audio, **kwargs)

    monkeypatch.setattr(FakeEngine, "transcribe", silent)
    progress = []
    transcript_run(
        transcript=queued(stored_recording(silence(25))),
        on_progress=lambda done, total: progress.append((done, total)),
    )
    assert progress == [(10.0, 25.0), (20.0, 25.0), (25.0, 25.0)]


def test_a_short_tail_joins_the_last_step(fake, stored_recording):
    transcript = transcript_run(transcript=queued(stored_recording(silence(32))))
    assert transcript.options["steps"] == [[0, 10], [10, 20], [20, 32]]


def test_step_boundaries_fall_in_pauses_of_real_speech(sample_audio):
    """No word is cut: each boundary sits in a quiet stretch of the sample clip."""
    frame = SAMPLE_RATE // 20
    loudness = np.sqrt(
        np.mean(
            sample_audio[: len(sample_audio) // frame * frame].reshape(-1, frame) ** 2,
            axis=1,
        )
    )
    speech_level = np.median(loudness[loudness > loudness.max() * 0.05])
    start, ends = 0.0, []
    while start < len(sample_audio) / SAMPLE_RATE - 0.01:
        end = step_end(sample_audio, start=start, chunk=12.0)
        assert end > start
        ends.append(end)
        start = end
    assert len(ends) >= 4
    for end in ends[:-1]:
        at = int(end * SAMPLE_RATE)
        around = sample_audio[at - 800 : at + 800]
        assert np.sqrt(np.mean(around**2)) < 0.25 * speech_level, end
        assert (
            abs(end - round(end / 12.0) * 12.0)
            <= run_module.BOUNDARY_SEARCH_SECONDS + 12
        )
    # Same audio, same start: same boundary (so a resumed run cuts the same way).
    assert step_end(sample_audio, start=0.0, chunk=12.0) == ends[0]
    assert pause_near(silence(20), target=9.0, low=5.0, high=15.0) == 9.0


# ---------------------------------------------------------------------------
# Resuming and re-running
# ---------------------------------------------------------------------------
def test_a_crashed_run_resumes_without_redoing_finished_steps(fake, stored_recording):
    transcript = queued(stored_recording(silence(47)))
    fake.crash_on_call = 3
    with pytest.raises(FakeEngineCrash):
        transcript_run(transcript=transcript)
    transcript.refresh_from_db()
    assert transcript.status == Transcript.Status.FAILED
    assert "FakeEngineCrash" in transcript.error
    # Two steps stored, the third (crashed) left nothing.
    assert transcript.progress_seconds == 20.0
    assert spans(transcript) == [(0, 5), (5, 10), (10, 15), (15, 20)]
    first_rows = list(transcript.segments.order_by("start").values_list("pk", "text"))
    fake.crash_on_call = None
    fake.calls.clear()
    transcript = transcript_run(transcript=transcript)
    assert transcript.status == Transcript.Status.DONE and transcript.error == ""
    assert fake.calls == [(20, 30), (30, 40), (40, 47)]
    assert transcript.options["steps"] == [
        [0, 10],
        [10, 20],
        [20, 30],
        [30, 40],
        [40, 47],
    ]
    rows = list(transcript.segments.order_by("start").values_list("pk", "text"))
    assert rows[:4] == first_rows
    assert len(rows) == 10 and len({text for _, text in rows}) == 10


def test_running_a_done_transcript_again_changes_nothing(fake, stored_recording):
    transcript = transcript_run(transcript=queued(stored_recording(silence(21))))
    before = (
        list(transcript.segments.values_list("pk", "start", "text")),
        transcript.updated_at,
    )
    fake.calls.clear()
    again = transcript_run(transcript=transcript)
    assert fake.calls == []
    assert again.status == Transcript.Status.DONE
    again.refresh_from_db()
    assert (
        list(again.segments.values_list("pk", "start", "text")),
        again.updated_at,
    ) == before


def test_a_step_another_run_already_stored_is_not_stored_twice(fake, stored_recording):
    transcript = queued(stored_recording(silence(21)))
    Transcript.objects.filter(pk=transcript.pk).update(status=Transcript.Status.RUNNING)
    transcript.refresh_from_db()
    result = FakeEngine().transcribe(silence(21), language="zh", clip=(0, 10))
    guarded = run_module.segments_guard(result.segments, audio_end=10)
    run_module._step_store(
        transcript, start=0.0, end=10.0, result=result, guarded=guarded, closed=[]
    )
    stale = Transcript.objects.get(pk=transcript.pk)
    stale.progress_seconds = 0.0
    with pytest.raises(run_module._Superseded):
        run_module._step_store(
            stale, start=0.0, end=10.0, result=result, guarded=guarded, closed=[]
        )
    assert transcript.segments.count() == 2
    assert Transcript.objects.get(pk=transcript.pk).progress_seconds == 10.0


# ---------------------------------------------------------------------------
# Budget and failures
# ---------------------------------------------------------------------------
def test_a_run_over_its_budget_stops_partial_and_continues_later(
    fake, stored_recording, settings, monkeypatch
):
    monkeypatch.setattr(run_module, "BUDGET_MARGIN_SECONDS", 0.0)
    settings.TRANSCRIPTION_BUDGET_FACTOR = 0.04  # 1.9 s for 47 s of audio
    settings.TRANSCRIPTION_CHUNK_SECONDS = 40.0
    fake.seconds_per_segment = 0.5  # 4 s for the first 40-s step
    transcript = transcript_run(transcript=queued(stored_recording(silence(47))))
    assert transcript.status == Transcript.Status.PARTIAL
    assert "time budget" in transcript.error and "transcribe again" in transcript.error
    # The engine stopped inside the first step; what it finished is kept.
    assert 0 < transcript.progress_seconds < 40
    assert any("deadline" in note for note in transcript.options["notes"])
    assert transcript.options["steps"] == [[0, transcript.progress_seconds]]
    # What it stored ends where its progress says.
    assert spans(transcript)[-1][1] == transcript.progress_seconds
    done_before = transcript.progress_seconds
    settings.TRANSCRIPTION_BUDGET_FACTOR = 10
    fake.seconds_per_segment = 0.0
    fake.calls.clear()
    transcript = transcript_run(transcript=transcript)
    assert transcript.status == Transcript.Status.DONE
    assert fake.calls == [(done_before, 47)]
    assert spans(transcript) == [(5.0 * n, 5.0 * (n + 1)) for n in range(9)] + [
        (45.0, 47.0)
    ]


@pytest.mark.parametrize("kind", ["not media", "no audio track"])
def test_a_recording_without_usable_audio_fails_with_the_reason_and_stores_nothing(
    fake, stored_recording, tmp_path, kind
):
    if kind == "not media":
        source = tmp_path / "interview.wav"
        source.write_bytes(b"RIFF" + b"\x00garbage" * 500)
    else:
        source = tmp_path / "film.mp4"
        _video_without_audio(source)
    transcript = transcript_run(transcript=queued(stored_recording(source)))
    assert transcript.status == Transcript.Status.FAILED
    assert kind.split()[-1] in transcript.error
    assert transcript.segments.count() == 0 and transcript.progress_seconds == 0
    assert fake.calls == []


def test_an_engine_that_cannot_load_fails_the_transcript(settings, stored_recording):
    settings.TRANSCRIPTION_ENGINE = "transcription.engines.NoSuchEngine"
    transcript = transcript_run(transcript=queued(stored_recording(silence(5))))
    assert transcript.status == Transcript.Status.FAILED
    assert "not available" in transcript.error


# ---------------------------------------------------------------------------
# What a run records
# ---------------------------------------------------------------------------
def test_guards_fallbacks_language_and_closed_passages_are_recorded(
    fake, stored_recording
):
    asset = stored_recording(silence(30))
    consent = Consent.objects.create(item=asset.item, allowed=Consent.Allowed.PUBLIC)
    ClosedRange.objects.create(consent=consent, start=12.0, end=13.0)
    fake.texts = {1: "字幕由Amara.org社区提供", 3: "以下係廣州話口述歷史訪問嘅逐字稿。"}
    fake.fallback_at = frozenset({4})
    transcript = transcript_run(transcript=queued(asset))
    assert transcript.status == Transcript.Status.DONE
    assert spans(transcript) == [(0, 5), (10, 15), (20, 25), (25, 30)]
    reasons = {(d["start"], d["reason"].split(" (")[0]) for d in transcript.dropped}
    assert reasons == {
        (5.0, "known hallucination on silence"),
        (15.0, "echo of the initial prompt"),
    }
    assert transcript.fallbacks == [
        {
            "window_start": 20.0,
            "window_end": 25.0,
            "temperature": 0.4,
            "reason": "fake fallback",
        }
    ]
    # Asked for yue, the model has only zh: recorded.
    assert transcript.language == "yue" and transcript.options["language"] == "zh"
    assert "yue" in transcript.options["notes"][0]
    levels = dict(transcript.segments.values_list("start", "access_level"))
    assert levels == {0.0: "", 10.0: AccessLevel.STAFF, 20.0: "", 25.0: ""}
    segment = transcript.segments.get(start=0)
    assert segment.text == segment.machine_text and segment.words[0][2] == "測試第0句"


def test_a_re_transcription_carries_the_corrections_of_the_previous_one(
    fake, stored_recording, monkeypatch
):
    asset = stored_recording(silence(12))
    old = transcript_run(transcript=queued(asset))
    carried = []
    import transcription.services.editing as editing

    monkeypatch.setattr(
        editing,
        "corrections_carry",
        lambda *, old, new: carried.append((old.pk, new.pk)),
    )
    new = transcript_run(transcript=queued(asset, previous=old))
    assert new.status == Transcript.Status.DONE
    assert carried == [(old.pk, new.pk)]


def test_a_failing_carry_leaves_the_transcript_not_done(
    fake, stored_recording, monkeypatch
):
    asset = stored_recording(silence(12))
    old = transcript_run(transcript=queued(asset))
    import transcription.services.editing as editing

    def broken(*, old, new):
        raise RuntimeError("carry broke")

    monkeypatch.setattr(editing, "corrections_carry", broken)
    new = queued(asset, previous=old)
    with pytest.raises(RuntimeError):
        transcript_run(transcript=new)
    new.refresh_from_db()
    assert new.status == Transcript.Status.FAILED and "carry broke" in new.error
    assert new.finished_at is None  # "done" and the carry commit together or not at all
    assert new.progress_seconds == 12.0  # the steps stay; a re-run only finishes
    monkeypatch.setattr(editing, "corrections_carry", lambda *, old, new: None)
    fake.calls.clear()
    assert transcript_run(transcript=new).status == Transcript.Status.DONE
    assert fake.calls == []


# ---------------------------------------------------------------------------
# The task and the command
# ---------------------------------------------------------------------------
def test_the_task_runs_on_the_transcribe_queue_and_is_safe_to_repeat(
    fake, stored_recording
):
    route = app.amqp.router.route({}, transcript_run_task.name)
    assert route["queue"].name == "transcribe"
    assert transcript_run_task.acks_late and transcript_run_task.reject_on_worker_lost
    assert transcript_run_task.soft_time_limit >= 6 * 3600
    assert transcript_run_task.time_limit > transcript_run_task.soft_time_limit
    transcript = queued(stored_recording(silence(15)))
    assert transcript_run_task.delay(transcript.pk).get() == Transcript.Status.DONE
    fake.calls.clear()
    assert transcript_run_task.delay(transcript.pk).get() == Transcript.Status.DONE
    assert fake.calls == []
    assert transcript_run_task.delay(987654).get() is None


def test_the_command_transcribes_resumes_and_transcribes_again(fake, stored_recording):
    asset = stored_recording(silence(25))
    item = asset.item
    out, err = StringIO(), StringIO()
    call_command("transcribe", item.public_id, stdout=out, stderr=err)
    first = item.transcripts.get()
    assert first.status == Transcript.Status.DONE and first.is_primary
    assert "done: 5 segments" in out.getvalue()
    out = StringIO()
    call_command("transcribe", item.public_id, stdout=out, stderr=err)
    assert "already done" in out.getvalue() and item.transcripts.count() == 1
    call_command(
        "transcribe", item.public_id, "--again", "--register", "zh", stdout=out
    )
    again = item.transcripts.exclude(pk=first.pk).get()
    assert again.previous == first and again.register == "zh"
    assert again.status == Transcript.Status.DONE
    with pytest.raises(CommandError, match="No item"):
        call_command("transcribe", "nope", stdout=out)


def test_the_command_resumes_an_unfinished_transcript(fake, stored_recording):
    asset = stored_recording(silence(25))
    transcript = queued(asset)
    fake.crash_on_call = 2
    with pytest.raises(FakeEngineCrash):
        transcript_run(transcript=transcript)
    fake.crash_on_call = None
    out = StringIO()
    call_command("transcribe", asset.item.public_id, stdout=out, stderr=StringIO())
    assert "from 10.0 s" in out.getvalue()
    transcript.refresh_from_db()
    assert (
        transcript.status == Transcript.Status.DONE and transcript.segments.count() == 5
    )


# ---------------------------------------------------------------------------
# The same with the real model
# ---------------------------------------------------------------------------
@pytest.mark.model
def test_real_run_of_the_sample_clip_in_steps(
    whisper_engine, stored_recording, settings
):
    settings.TRANSCRIPTION_CHUNK_SECONDS = 30.0
    transcript = queued(stored_recording(SAMPLE_CLIP, name="interview.flac"))
    started = time.monotonic()
    transcript = transcript_run(transcript=transcript)
    elapsed = time.monotonic() - started
    logger.info(
        "pipeline on the sample clip: %.1fx real time", transcript.duration / elapsed
    )
    assert transcript.status == Transcript.Status.DONE
    assert (
        transcript.engine == "faster-whisper" and transcript.options["language"] == "zh"
    )
    steps = transcript.options["steps"]
    assert len(steps) == 2 and steps[0][0] == 0 and steps[-1][1] == transcript.duration
    assert steps[0][1] == steps[1][0] and 20 <= steps[0][1] <= 40
    assert transcript.progress_seconds == transcript.duration
    assert transcript.dropped  # Whisper base loops and echoes on espeak speech
    _assert_guarded(list(transcript.segments.order_by("start")), transcript.duration)
    # Running it again does nothing.
    rows = list(
        Segment.objects.filter(transcript=transcript).values_list("pk", flat=True)
    )
    assert transcript_run(transcript=transcript).status == Transcript.Status.DONE
    assert list(transcript.segments.values_list("pk", flat=True)) == rows


@pytest.mark.model
def test_real_run_over_its_budget_stops_partial(
    whisper_engine, stored_recording, settings, monkeypatch
):
    monkeypatch.setattr(run_module, "BUDGET_MARGIN_SECONDS", 0.0)
    settings.TRANSCRIPTION_BUDGET_FACTOR = 0.03  # about 2 s for the 64-s clip
    settings.TRANSCRIPTION_CHUNK_SECONDS = 30.0
    transcript = queued(stored_recording(SAMPLE_CLIP, name="interview.flac"))
    started = time.monotonic()
    transcript = transcript_run(transcript=transcript)
    assert time.monotonic() - started < 15
    assert transcript.status == Transcript.Status.PARTIAL
    assert "time budget" in transcript.error
    assert transcript.progress_seconds < transcript.duration
    # The engine itself stopped at the deadline, inside its step.
    assert any("stopped at the deadline" in n for n in transcript.options["notes"])


@pytest.mark.model
def test_real_engine_fails_a_recording_without_audio(
    whisper_engine, stored_recording, tmp_path
):
    source = tmp_path / "film.mp4"
    _video_without_audio(source)
    transcript = transcript_run(transcript=queued(stored_recording(source)))
    assert transcript.status == Transcript.Status.FAILED
    assert "no audio track" in transcript.error
    assert transcript.engine == "faster-whisper" and transcript.segments.count() == 0
