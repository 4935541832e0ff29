"""Silenced listening copies made ahead of the first listener (``listening_silenced_task``).

A change of consent queues the task after commit; the task makes the same
file the listening door would make on its first request, so the door then
serves it without encoding. Copies are named by the set of closed passages:
a changed set makes (and serves) another file. The nightly review queues the
copies when the passages closed today have no copy yet.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from archive.models import AccessLevel
from tests.transcription.doors import (
    listening_copy_make,
    recording_make,
    transcript_make,
)
from transcription import selectors
from transcription.models import ClosedRange
from transcription.services import consent_save, consents_review
from transcription.services.listening import (
    listening_silenced_make,
    listening_silenced_missing,
    listening_silenced_schedule,
)
from transcription.tasks import listening_silenced_task

pytestmark = pytest.mark.django_db

#: Dotted path of a listening-copy writer that must never be called.
REFUSING_WRITER = "tests.transcription.test_silenced_task.writer_must_not_run"


def writer_must_not_run(source, target, *, silence=()):
    """Stands in for the encoder where the door must serve a copy made beforehand."""
    raise AssertionError(f"the listening door encoded {target.name} on request")


@pytest.fixture
def recording(tmp_path):
    item, asset = recording_make(tmp_path)
    transcript_make(item, asset=asset)
    listening_copy_make(asset)
    return item, asset


@pytest.fixture
def sent(monkeypatch):
    """The item ids ``listening_silenced_task`` is queued for (still queued for real)."""
    ids = []
    queue = listening_silenced_task.delay_on_commit

    def spy(item_id):
        ids.append(item_id)
        return queue(item_id)

    monkeypatch.setattr(listening_silenced_task, "delay_on_commit", spy)
    return ids


def _silenced_path(asset, closed) -> Path:
    return Path(settings.ARCHIVE_STORAGE_ROOT) / selectors.silenced_relpath(
        asset=asset, closed=closed
    )


def _silenced_files() -> list[Path]:
    root = Path(settings.ARCHIVE_STORAGE_ROOT) / "derivatives" / "listening_silenced"
    return sorted(p for p in root.rglob("*") if p.suffix in (".m4a", ".mp4"))


def _listen(client, item, asset) -> bytes:
    response = client.get(reverse("recording_listen", args=[item.public_id, asset.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/mp4"
    return b"".join(response.streaming_content)


def _save(item, *passages, allowed=AccessLevel.PUBLIC):
    return consent_save(
        item=item,
        allowed=allowed,
        closed=[{"start": a, "end": b} for a, b in passages],
    )


def test_consent_change_makes_the_copy_and_the_door_serves_it_without_making(
    client, recording, settings, sent, django_capture_on_commit_callbacks
):
    item, asset = recording
    target = _silenced_path(asset, [(24.0, 30.0)])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _save(item, (24.0, 30.0))
    assert sent == [item.pk] and not target.exists()  # only after the commit
    for callback in callbacks:  # the commit: the (eager) task runs
        callback()
    assert target.exists()
    settings.TRANSCRIPTION_LISTENING_COPY_WRITER = REFUSING_WRITER
    assert _listen(client, item, asset) == target.read_bytes()
    assert _silenced_files() == [target]


def test_a_changed_set_of_closed_passages_gives_another_copy(
    client, recording, settings, django_capture_on_commit_callbacks
):
    item, asset = recording
    with django_capture_on_commit_callbacks(execute=True):
        _save(item, (24.0, 30.0))
    first = _silenced_path(asset, [(24.0, 30.0)])
    made = first.stat().st_mtime_ns
    with django_capture_on_commit_callbacks(execute=True):
        _save(item, (2.0, 3.0), (24.0, 30.0))
    second = _silenced_path(asset, [(2.0, 3.0), (24.0, 30.0)])
    assert second != first and second.exists()
    assert selectors.closed_key([(2.0, 3.0), (24.0, 30.0)]) in second.name
    assert first.stat().st_mtime_ns == made  # the old copy was not rewritten
    assert second.read_bytes() != first.read_bytes()
    settings.TRANSCRIPTION_LISTENING_COPY_WRITER = REFUSING_WRITER
    assert _listen(client, item, asset) == second.read_bytes()


def test_nothing_is_queued_when_the_copies_exist_or_nothing_is_closed(
    recording, sent, django_capture_on_commit_callbacks
):
    item, _ = recording
    with django_capture_on_commit_callbacks(execute=True):
        _save(item, (24.0, 30.0))
    assert sent == [item.pk]
    with django_capture_on_commit_callbacks(execute=True):
        _save(item, (24.0, 30.0), allowed=AccessLevel.READING_ROOM)  # same passages
        _save(item)  # nothing closed: the unsilenced copy is for everyone
    assert sent == [item.pk]


def test_no_copy_is_made_when_only_staff_may_hear(
    recording, sent, django_capture_on_commit_callbacks
):
    item, asset = recording
    with django_capture_on_commit_callbacks(execute=True):
        _save(item, (24.0, 30.0), allowed=AccessLevel.STAFF)
    item.refresh_from_db()
    assert item.access_level == AccessLevel.STAFF
    assert sent == [] and _silenced_files() == []
    assert listening_silenced_make(item=item) == []
    # Opened again by an archivist: the copy is missing, so it is made.
    item.access_level = AccessLevel.READING_ROOM
    item.save()
    assert listening_silenced_missing(item=item) == [asset]
    assert listening_silenced_make(item=item) == [_silenced_path(asset, [(24.0, 30.0)])]


def test_the_nightly_review_queues_copies_when_a_dated_closure_ends(
    recording, sent, django_capture_on_commit_callbacks
):
    item, asset = recording
    tomorrow = timezone.localdate() + timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        consent_save(
            item=item,
            allowed=AccessLevel.PUBLIC,
            closed=[
                {"start": 2.0, "end": 3.0, "until": tomorrow},
                {"start": 24.0, "end": 30.0},
            ],
        )
    assert _silenced_files() == [_silenced_path(asset, [(2.0, 3.0), (24.0, 30.0)])]
    with django_capture_on_commit_callbacks(execute=True):
        consents_review()
    assert sent == [item.pk]  # only by the save: today's copy exists
    # The dated closure ends today.
    ClosedRange.objects.filter(start=2.0).update(until=timezone.localdate())
    later = _silenced_path(asset, [(24.0, 30.0)])
    assert not later.exists()
    with django_capture_on_commit_callbacks(execute=True):
        consents_review()
    assert sent == [item.pk, item.pk] and later.exists()


def test_the_task_is_idempotent_and_forgets_a_deleted_item(recording):
    item, asset = recording
    _save(item, (24.0, 30.0))  # on_commit never runs inside the test's transaction
    target = _silenced_path(asset, [(24.0, 30.0)])
    assert not target.exists()
    assert listening_silenced_task(item.pk) == 1
    made = target.stat().st_mtime_ns
    assert listening_silenced_task(item.pk) == 1
    assert target.stat().st_mtime_ns == made
    assert listening_silenced_schedule(item=item) is False  # nothing missing
    assert listening_silenced_task(item.pk + 1000) is None


def test_the_task_runs_on_the_transcribe_queue():
    from archive.celery import app

    route = app.amqp.router.route({}, "transcription.tasks.listening_silenced_task")
    assert route["queue"].name == "transcribe"
