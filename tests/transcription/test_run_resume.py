"""Kill -9 a real Celery worker in the middle of a real transcription; a new one resumes.

The recording is the sample clip twice over (about 2 min 8 s), the steps
twenty seconds each (``TRANSCRIPTION_CHUNK_SECONDS=20``, passed to the worker
through its environment; cut at pauses, six steps, each within one of
Whisper's 30-s windows), the engine the real bundled Whisper model. The
first worker is killed with its whole process group as soon as one step is
stored; a second worker, sent the same task, must start where the first
stopped, redo nothing, store no segment twice, cut the remaining steps where
an uninterrupted run would have, and finish.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from django.contrib.contenttypes.models import ContentType

from archive.celery import app
from tests.live import LiveWorker, wait_for
from transcription.audio import SAMPLE_RATE
from transcription.engines import bundled_model_path
from transcription.models import Transcript
from transcription.services import transcript_request
from transcription.services.run import step_end
from transcription.tasks import transcript_run_task

CHUNK = 20.0


@pytest.fixture
def not_eager():
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


FINISHED = (Transcript.Status.DONE, Transcript.Status.FAILED, Transcript.Status.PARTIAL)


def _ended(worker: LiveWorker) -> str:
    """The worker's log lines saying a task ended (succeeded or raised)."""
    return "\n".join(
        line
        for line in worker.log_text().splitlines()
        if " succeeded in " in line or " raised " in line
    )


def _segments(transcript):
    return list(
        transcript.segments.order_by("start", "pk").values_list(
            "pk", "start", "end", "machine_text"
        )
    )


@pytest.mark.worker
@pytest.mark.model
@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_s_transcription_is_resumed_by_another_without_redoing_steps(
    tmp_path, settings, monkeypatch, sample_audio, stored_recording, not_eager
):
    # A transactional test before this one flushed the database, and Django's
    # content-type cache may still hold the ids from before (Wagtail's reference
    # index then fails its foreign key when the item is saved).
    ContentType.objects.clear_cache()
    audio = np.concatenate([sample_audio] * 2)
    duration = round(len(audio) / SAMPLE_RATE, 3)
    transcript = transcript_request(asset=stored_recording(audio), enqueue=False)
    # The workers share this process's joined model and take twenty-second steps.
    bundled_model_path(settings.WHISPER_MODEL_CACHE)
    monkeypatch.setenv("WHISPER_MODEL_CACHE", str(settings.WHISPER_MODEL_CACHE))
    monkeypatch.setenv("TRANSCRIPTION_CHUNK_SECONDS", str(CHUNK))
    monkeypatch.setenv("TRANSCRIPTION_BUDGET_FACTOR", "20")
    storage = Path(settings.ARCHIVE_STORAGE_ROOT)

    def fresh() -> Transcript:
        return Transcript.objects.get(pk=transcript.pk)

    first = LiveWorker("filesystem://", tmp_path / "first", storage)
    try:
        first.send(transcript_run_task, transcript.pk)
        wait_for(
            lambda: fresh().progress_seconds > 0,
            first,
            "the first stored step",
            timeout=300,
        )
        first.kill()
    finally:
        first.stop()
    killed = fresh()
    assert killed.status == Transcript.Status.RUNNING
    done_before = killed.progress_seconds
    assert 0 < done_before < duration
    steps_before = killed.options["steps"]
    assert steps_before[0][0] == 0 and steps_before[-1][1] == done_before
    rows_before = _segments(killed)
    assert all(end <= done_before for _, _, end, _ in rows_before)
    # Dead means dead: nothing moves any more.
    time.sleep(1.0)
    assert fresh().progress_seconds == done_before and _segments(fresh()) == rows_before

    second = LiveWorker("filesystem://", tmp_path / "second", storage)
    try:
        second.send(transcript_run_task, transcript.pk)
        wait_for(
            lambda: (
                fresh().status in FINISHED or "transcript_run_task" in _ended(second)
            ),
            second,
            "the resumed transcription",
            timeout=900,
        )
        log = second.log_text()
    finally:
        second.stop()
    done = fresh()
    assert done.status == Transcript.Status.DONE, done.error
    assert done.progress_seconds == duration
    assert f"resuming at {done_before:.3f} s" in log
    # The first worker's steps and segments are kept exactly; none redone.
    steps = done.options["steps"]
    assert steps[: len(steps_before)] == steps_before
    assert steps[len(steps_before)][0] == done_before
    rows = _segments(done)
    assert [r for r in rows if r[0] in {b[0] for b in rows_before}] == rows_before
    new_rows = [r for r in rows if r[0] not in {b[0] for b in rows_before}]
    assert all(start >= done_before for _, start, _, _ in new_rows)
    assert len({(start, end, text) for _, start, end, text in rows}) == len(rows)
    # Steps are contiguous, and cut exactly where one uninterrupted run cuts.
    expected, start = [], 0.0
    while start < duration - 0.01:
        end = step_end(audio, start=start, chunk=CHUNK)
        expected.append([start, end])
        start = end
    assert steps == expected
    assert len(steps) >= 4
