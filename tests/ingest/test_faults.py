"""Faults of the archive mid-ingest: each is reported, loses nothing stored, and the work finishes.

- the storage fills up (a real 4 MiB tmpfs, filled once the first page is in),
  at the original's copy and at the pyramid, under the command (run again once
  space is freed) and under a worker (whose retries finish the job by themselves),
  and at a recording's copy and its listening copy;
- a stored original is damaged, then its delivery comes again;
- the database drops the command's connections (``pg_terminate_backend``);
- the broker (a private ``redis-server`` without persistence) dies under a
  worker and comes back: the queued messages are gone, and the stalled-job
  sweep hands the job out again.

A worker or the command killed with SIGKILL mid-batch, then resumed, is
``tests/ingest/test_resume.py`` (and, for transcription runs,
``tests/transcription/test_run_resume.py``); fixity's own reports of a damaged
original are ``tests/archive/test_fixity_faults.py``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from archive.celery import app
from archive.files import DAMAGED_FOLDER, sha256_of
from archive.models import (
    Asset,
    Derivative,
    FixityCheck,
    Item,
    PageImage,
    WorkerHeartbeat,
)
from ingest.models import IngestEvent, IngestFile, IngestJob
from ingest.services import job_create, job_plan, job_run
from ingest.tasks import job_file_process_task, jobs_stalled_resume_task
from tests.archive.test_fixity_faults import _flip_a_byte
from tests.conftest import port_open, service_unavailable
from tests.ingest import mediafiles
from tests.ingest.deliveries import INSTITUTIONS, scan, volume
from tests.ingest.test_pipeline import assert_no_orphans, storage_files
from tests.ingest.test_recordings import recording_item
from tests.live import ROOT, LiveWorker, process_env, wait_for

PAGES = 4
#: The recordings of the storage-full test: 16 kHz mono WAV, about 320 KB each.
WAV_SECONDS = 10.0
WAV_BYTES = int(WAV_SECONDS * 16000 * 2)


def _delivery(root: Path, name: str = "vol", *, pages: int = PAGES, **size) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "institutions.json").write_text(json.dumps(INSTITUTIONS), "utf-8")
    for n in range(1, pages + 1):
        scan(root / name / f"{n:04d}.jpg", seed=n, **size)
    volume(
        root,
        name,
        [{"file": f"{n:04d}.jpg", "label": f"葉{n}"} for n in range(1, pages + 1)],
    )
    return root


@pytest.fixture
def small_delivery(tmp_path) -> Path:
    """One volume of four 480 x 720 pages (about 105 KB each)."""
    return _delivery(tmp_path / "delivery")


@pytest.fixture
def two_pages(tmp_path) -> Path:
    """One volume of two 480 x 720 pages."""
    return _delivery(tmp_path / "delivery", pages=2)


def _assert_complete(settings, pages: int = PAGES) -> None:
    """Every page once, in order, every stored file intact and on record."""
    item = Item.objects.get(public_id="vol")
    assert list(item.pages.values_list("sequence", flat=True)) == list(
        range(1, pages + 1)
    )
    assert PageImage.objects.count() == Asset.objects.count() == pages
    for asset in Asset.objects.all():
        assert sha256_of(asset.path) == asset.sha256
    assert_no_orphans(settings)


# --------------------------------------------------------------------------
# A worker as in production
# --------------------------------------------------------------------------

#: The worker's INGEST_STALL_SECONDS: a job quiet for this long is handed out again.
STALL_SECONDS = 2


class IngestWorker(LiveWorker):
    """A real ``celery worker -B`` on the project's queues (``ingest``, ``celery``), not eager.

    ``LiveWorker`` listens on a queue of its own and keeps the test settings'
    ``CELERY_TASK_ALWAYS_EAGER``, so whatever its tasks queue (a retry, the
    files a dispatch hands out) runs inline at once. This one turns eager mode
    off in the worker and listens where the code sends, so retries and
    dispatched files go through the broker, as in production.
    """

    def __init__(self, broker_url: str, tmp_path: Path, storage_root: Path):
        self.broker_url = broker_url
        self.folder = tmp_path / "broker"
        for sub in ("queue", "control"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        self.log = tmp_path / "worker.log"
        self.queue = "ingest"
        env = process_env(tmp_path, storage_root)
        env.update(
            {
                "CELERY_BROKER_URL": broker_url,
                "CELERY_BROKER_FOLDER": str(self.folder),
                "ARCHIVE_HEARTBEAT_INTERVAL": "1",
                "INGEST_STALL_SECONDS": str(STALL_SECONDS),
            }
        )
        argv = [
            "worker",
            "-B",
            "--pool",
            "solo",
            "-Q",
            "ingest,celery",
            "-l",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "-s",
            str(tmp_path / "beat-schedule"),
            "--logfile",
            str(self.log),
        ]
        start = (
            "from archive.celery import app\n"
            "app.conf.task_always_eager = False\n"
            f"app.worker_main({argv!r})\n"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", start],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )


@pytest.fixture
def not_eager():
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


# --------------------------------------------------------------------------
# Storage full
# --------------------------------------------------------------------------


@pytest.fixture
def small_storage(settings) -> Path:
    """The storage root on its own 4 MiB tmpfs (mounting needs root, as in CI)."""
    root = Path(settings.ARCHIVE_STORAGE_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(root)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode:
        service_unavailable(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
    try:
        yield root
    finally:
        # libvips may still hold a pyramid open: detach now, freed when closed.
        subprocess.run(["umount", "--lazy", str(root)], check=True)


def _fill_once(filler: Path, room: int):
    """A job's ``on_file``: after the first file, fill the storage to ``room`` bytes free."""

    def fill(_file) -> None:
        if not filler.exists():
            with open(filler, "wb") as fh:
                free = shutil.disk_usage(filler.parent).free
                os.posix_fallocate(fh.fileno(), 0, free - room)

    return fill


@pytest.mark.django_db
@pytest.mark.parametrize(
    "room",
    [
        pytest.param(40_000, id="full-at-the-copy"),
        pytest.param(160_000, id="full-at-the-pyramid"),
    ],
)
def test_storage_full_interrupts_keeps_what_is_stored_and_resumes(
    small_delivery, small_storage, settings, room
):
    filler = small_storage / "filler"
    # ``room`` bytes left: less than an original (105 KB), or room for the
    # original but not for its pyramid (130 KB).
    job = job_run(job=job_create(path=small_delivery), on_file=_fill_once(filler, room))

    # One error names the page the fault hit and what to do; the job waits
    # instead of refusing pages that are not at fault.
    errors = list(
        job.events.filter(level=IngestEvent.Level.ERROR).values_list("where", "message")
    )
    assert len(errors) == 1, errors
    assert errors[0][0] == "vol/0002.jpg"
    assert errors[0][1].startswith(
        "not stored: the storage is full (no space left on the device)"
    ), errors
    assert "Nothing of this file was kept" in errors[0][1]
    assert job.status == IngestJob.Status.RUNNING
    assert job.message.startswith(
        "interrupted: the storage is full (no space left on the device)"
    ), job.message
    assert "(first at vol/0002.jpg)" in job.message
    assert dict(job.files.values_list("sequence", "status")) == {
        1: "done",
        2: "pending",
        3: "pending",
        4: "pending",
    }
    # Nothing half-written is left; the first page is whole and on record.
    stored = set(storage_files(settings)) - {"filler"}
    assert not [f for f in stored if ".incoming-" in f], stored
    assert stored == set(Asset.objects.values_list("storage_path", flat=True)) | set(
        Derivative.objects.values_list("path", flat=True)
    )
    first = Asset.objects.get()
    assert sha256_of(first.path) == first.sha256

    # Space is freed; the same command as before resumes the job and finishes it.
    filler.unlink()
    out = io.StringIO()
    call_command(
        "ingest_dadian",
        str(small_delivery),
        "--workers",
        "1",
        stdout=out,
        stderr=io.StringIO(),
    )
    assert f"Resuming job #{job.pk}" in out.getvalue()
    job.refresh_from_db()
    assert job.status == IngestJob.Status.DONE, job.message
    assert job.message.startswith("4 page(s) added")
    _assert_complete(settings)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_storage_full_under_a_worker_the_task_retries_and_finishes_once_freed(
    two_pages, small_storage, tmp_path, settings, not_eager
):
    filler = small_storage / "filler"
    with open(filler, "wb") as fh:
        os.posix_fallocate(
            fh.fileno(), 0, shutil.disk_usage(small_storage).free - 40_000
        )
    job = job_plan(job=job_create(path=two_pages))
    worker = IngestWorker("filesystem://", tmp_path, small_storage)
    try:
        for file_id in job.files.values_list("pk", flat=True):
            worker.send(job_file_process_task, file_id)
        wait_for(
            lambda: job.events.filter(
                level=IngestEvent.Level.ERROR, message__contains="the storage is full"
            ).exists(),
            worker,
            "the full storage to be reported",
        )
        assert not job.files.filter(status=IngestFile.Status.FAILED).exists()
        assert not Asset.objects.exists()
        # Space comes back; nobody resumes anything: the tasks' retries finish.
        filler.unlink()
        wait_for(
            lambda: IngestJob.objects.get().is_finished, worker, "the job to finish"
        )
    finally:
        worker.kill()  # nothing is running; a warm shutdown only costs time
    job.refresh_from_db()
    assert job.status == IngestJob.Status.DONE, job.message
    assert "interrupted (" in worker.log_text() and "retry 1 of 5" in worker.log_text()
    _assert_complete(settings, 2)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "room",
    [
        pytest.param(40_000, id="full-at-the-copy"),
        pytest.param(WAV_BYTES + 20_000, id="full-at-the-listening-copy"),
    ],
)
def test_storage_full_at_a_recording_interrupts_and_the_job_resumes(
    tmp_path, small_storage, settings, room
):
    # Recordings go the same way as pages: a full storage is the archive's
    # fault, so the recording waits (pending) instead of being refused.
    root = tmp_path / "delivery"
    root.mkdir()
    (root / "institutions.json").write_text(json.dumps(INSTITUTIONS), "utf-8")
    for n in (1, 2):
        mediafiles.tone(
            root / f"oh-{n}" / "a.wav", seconds=WAV_SECONDS, rate=16000, seed=n
        )
        recording_item(root, f"oh-{n}", ["a.wav"])
    filler = small_storage / "filler"
    job = job_run(job=job_create(path=root), on_file=_fill_once(filler, room))

    errors = list(
        job.events.filter(level=IngestEvent.Level.ERROR).values_list("where", "message")
    )
    assert len(errors) == 1, errors
    assert errors[0][0] == "oh-2/a.wav"
    assert errors[0][1].startswith(
        "not stored: the storage is full (no space left on the device)"
    ), errors
    assert job.status == IngestJob.Status.RUNNING, job.message
    media = job.files.filter(kind=IngestFile.Kind.MEDIA).order_by("pk")
    assert [f.status for f in media] == ["done", "pending"]
    stored = set(storage_files(settings)) - {"filler"}
    assert not [f for f in stored if ".incoming-" in f], stored
    assert stored == set(Asset.objects.values_list("storage_path", flat=True)) | set(
        Derivative.objects.values_list("path", flat=True)
    )

    filler.unlink()
    job = job_run(job=job)
    assert job.status == IngestJob.Status.DONE, job.message
    assert Item.objects.count() == 2
    for asset in Asset.objects.all():
        assert sha256_of(asset.path) == asset.sha256
        assert asset.derivatives.filter(kind=Derivative.Kind.LISTENING_COPY).exists()
    assert_no_orphans(settings)


# --------------------------------------------------------------------------
# A damaged stored original, then the same bytes delivered again
# --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_redelivery_restores_a_damaged_original_from_the_delivered_bytes(
    two_pages, settings
):
    assert job_run(job=job_create(path=two_pages)).status == IngestJob.Status.DONE
    asset = PageImage.objects.get(sequence=2).asset
    recorded = asset.sha256
    _flip_a_byte(asset.path)
    damaged = asset.path.read_bytes()

    job = job_run(job=job_create(path=two_pages))

    assert job.status == IngestJob.Status.DONE, list(job.events.values_list("message"))
    warnings = list(
        job.events.filter(level=IngestEvent.Level.WARNING).values_list(
            "where", "message"
        )
    )
    assert [where for where, _ in warnings] == ["vol/0002.jpg", "vol/0002.jpg"]
    assert "failed its fixity check (mismatch" in warnings[0][1]
    assert "restored from this delivery" in warnings[1][1]
    # The original is back, the damaged bytes kept aside as evidence, the
    # recorded checksum never changed, and the checks tell the story.
    assert sha256_of(asset.path) == recorded
    kept = list((Path(settings.ARCHIVE_STORAGE_ROOT) / DAMAGED_FOLDER).iterdir())
    assert [p.read_bytes() for p in kept] == [damaged]
    asset.refresh_from_db()
    assert asset.sha256 == recorded
    assert asset.fixity_status == Asset.FixityStatus.OK
    assert list(
        FixityCheck.objects.filter(asset=asset)
        .order_by("checked_at", "pk")
        .values_list("outcome", flat=True)
    ) == ["mismatch", "ok"]
    # Nothing was added or duplicated.
    assert job.files.filter(status=IngestFile.Status.UNCHANGED).count() == 2
    assert PageImage.objects.count() == Asset.objects.count() == 2


@pytest.mark.django_db
def test_the_same_bytes_for_another_volume_replace_a_damaged_stored_copy(
    two_pages, tmp_path, settings
):
    assert job_run(job=job_create(path=two_pages)).status == IngestJob.Status.DONE
    asset = PageImage.objects.get(sequence=2).asset
    _flip_a_byte(asset.path)
    other = tmp_path / "other"
    (other / "vol-b").mkdir(parents=True)
    shutil.copy(two_pages / "institutions.json", other)
    shutil.copy(two_pages / "vol" / "0002.jpg", other / "vol-b" / "0002.jpg")
    folder = volume(other, "vol-b", [{"file": "0002.jpg", "label": "葉1"}])
    meta = json.loads((folder / "volume.json").read_text("utf-8"))
    meta["volume"] = 2
    (folder / "volume.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")

    job = job_run(job=job_create(path=other))

    assert job.status == IngestJob.Status.DONE, list(job.events.values_list("message"))
    shared = Asset.objects.get(item__public_id="vol-b")
    assert shared.storage_path == asset.storage_path
    assert sha256_of(shared.path) == shared.sha256 == asset.sha256
    assert job.events.filter(
        level=IngestEvent.Level.WARNING,
        where="vol-b/0002.jpg",
        message__contains="restored from this delivery",
    ).exists()
    assert len(list((Path(settings.ARCHIVE_STORAGE_ROOT) / DAMAGED_FOLDER).iterdir()))


# --------------------------------------------------------------------------
# The database drops the ingest's connections
# --------------------------------------------------------------------------


def _until(predicate, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def _done() -> int:
    return IngestFile.objects.filter(status=IngestFile.Status.DONE).count()


def _terminate_backends(application_name: str) -> int:
    """``pg_terminate_backend`` every connection of the test database under that name."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s "
            "AND pid <> pg_backend_pid()",
            [application_name],
        )
        return len(cursor.fetchall())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_database_connections_cut_mid_ingest_then_the_command_again(
    postgres_required, tmp_path, settings
):
    pages = 4
    root = _delivery(tmp_path / "delivery", pages=pages, width=1200, height=1800)
    env = process_env(tmp_path, Path(settings.ARCHIVE_STORAGE_ROOT))
    # Only the command's connections (its own and its page processes') carry this name.
    name = f"yuecang-fault-{os.getpid()}"
    env["DATABASE_URL"] += f"?application_name={name}"
    command = [sys.executable, "manage.py", "ingest_dadian", str(root)]
    first = subprocess.Popen(
        [*command, "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _until(lambda: _done() >= 1, "the first page")
        terminated = _terminate_backends(name)
        at_cut = _done()
        out, err = first.communicate(timeout=120)
    finally:
        first.kill()
    assert terminated >= 2, "the page processes had no connection to cut"
    assert at_cut < pages, "the cut came too late to test anything"

    # Reported: exit status 1, the fault in the summary and on the page it hit.
    assert first.returncode == 1, out + err
    assert "interrupted: the database connection was lost" in out, out + err
    # The page the fault hit is not called refused: it waits for the next run.
    assert "was interrupted" in err and "run the same command again" in err, err
    assert "INTERRUPTED vol/" in err, err
    assert "REFUSED" not in err and "finished with problems" not in err, err
    job = IngestJob.objects.get()
    assert not job.is_finished
    hit = job.events.filter(
        level=IngestEvent.Level.ERROR, message__contains="database connection was lost"
    )
    assert hit.exists() and all(e.where.startswith("vol/") for e in hit)
    # Nothing refused, nothing lost: what went in is whole and recorded once.
    assert not job.files.filter(status=IngestFile.Status.FAILED).exists()
    assert PageImage.objects.count() == _done() >= at_cut
    for asset in Asset.objects.all():
        assert sha256_of(asset.path) == asset.sha256

    again = subprocess.run(
        [*command, "--workers", "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"Resuming job #{job.pk}" in again.stdout
    job.refresh_from_db()
    assert job.status == IngestJob.Status.DONE, job.message
    _assert_complete(settings, pages)


# --------------------------------------------------------------------------
# The broker dies mid-batch and comes back
# --------------------------------------------------------------------------


class RedisServer:
    """A ``redis-server`` of one test, without persistence, to kill and start again."""

    def __init__(self, folder: Path):
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            service_unavailable("redis-server is not installed")
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
        )
        _until(lambda: port_open("127.0.0.1", self.port), "redis-server to listen", 10)

    def kill(self) -> None:
        """SIGKILL: what it held in memory (the queued messages) is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def private_redis(tmp_path):
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.kill()


@pytest.fixture
def broker_of_the_web(private_redis, monkeypatch):
    """The web process's broker pointed at the private server (for /healthz).

    Celery reads ``CELERY_BROKER_URL`` from the environment before its own
    setting, so both change.
    """
    monkeypatch.setenv("CELERY_BROKER_URL", private_redis.url)
    before = app.conf.broker_url
    app.conf.broker_url = private_redis.url
    yield
    app.conf.broker_url = before


@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_broker_killed_mid_batch_then_back_the_sweep_finishes_the_job(
    private_redis, broker_of_the_web, not_eager, tmp_path, settings, client
):
    pages = 6
    root = _delivery(tmp_path / "delivery", pages=pages, width=1200, height=1800)
    storage = Path(settings.ARCHIVE_STORAGE_ROOT)
    worker = IngestWorker(private_redis.url, tmp_path, storage)
    try:
        wait_for(lambda: WorkerHeartbeat.objects.exists(), worker, "the worker", 60)
        job = job_plan(job=job_create(path=root))
        for file_id in job.files.values_list("pk", flat=True):
            worker.send(job_file_process_task, file_id)
        wait_for(lambda: _done() >= 1, worker, "the first page", 60)
        private_redis.kill()
        assert _done() < pages, "the broker died too late to test anything"

        # The web says the broker is down and why; it keeps serving.
        health = client.get("/healthz")
        broker = health.json()["components"]["broker"]
        assert broker["state"] == "down"
        assert "cannot reach the broker" in broker["error"]
        assert f"127.0.0.1:{private_redis.port}" in broker["error"]
        assert health.status_code == 200

        private_redis.start()
        back = timezone.now()
        wait_for(
            lambda: WorkerHeartbeat.objects.filter(last_seen__gt=back).exists(),
            worker,
            "the worker to reconnect",
            60,
        )
        # What went in is whole and recorded once; nothing was refused.
        stored = _done()
        assert PageImage.objects.count() == stored < pages
        for asset in Asset.objects.all():
            assert sha256_of(asset.path) == asset.sha256
        assert not IngestFile.objects.filter(status=IngestFile.Status.FAILED).exists()
        # The queued messages died with the broker: nothing comes by itself.
        time.sleep(1)
        assert _done() == stored
        assert not IngestJob.objects.get().is_finished

        # The stalled-job sweep (beat's, sent here) hands the job out again
        # once it has been quiet for STALL_SECONDS (the page that was running
        # when the broker died may have ended late, so the sweep is sent until
        # it acts).
        def handed_out_again() -> bool:
            return IngestEvent.objects.filter(
                message__contains="handed to the workers again"
            ).exists()

        for _ in range(10):
            worker.send(jobs_stalled_resume_task)
            deadline = time.monotonic() + STALL_SECONDS
            while not handed_out_again() and time.monotonic() < deadline:
                time.sleep(0.1)
            if handed_out_again():
                break
        wait_for(
            lambda: IngestJob.objects.get().is_finished, worker, "the job to finish", 90
        )
    finally:
        worker.kill()  # nothing is running; a warm shutdown only costs time
    job = IngestJob.objects.get()
    assert job.status == IngestJob.Status.DONE, job.message
    assert job.events.filter(message__contains="handed to the workers again").exists()
    _assert_complete(settings, pages)
