"""Celery end to end: the fixity task and the beat schedule through a real worker process.

One run on the embedded broker (the filesystem transport, no server), one on
Redis (skipped without it; CI demands it). The worker opens the test database
and storage folder, so these tests commit their data (transaction=True).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from archive.celery import app
from archive.models import Asset, FixityCheck, WorkerHeartbeat
from archive.services import asset_create
from archive.tasks import asset_verify_fixity_task, fixity_sweep_task
from tests.archive.factories import ItemFactory

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    user, host, port = s["USER"] or "", s["HOST"] or "127.0.0.1", s["PORT"] or 5432
    return f"postgres://{user}@{host}:{port}/{s['NAME']}"


def _transport_options(broker_url: str, folder: Path) -> dict:
    if not broker_url.startswith("filesystem://"):
        return {}
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
    }


class LiveWorker:
    """A real ``celery worker -B`` process on a broker, sharing the test's database."""

    def __init__(self, broker_url: str, tmp_path: Path, storage_root: Path):
        self.broker_url = broker_url
        self.folder = tmp_path / "broker"
        for sub in ("queue", "control"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        self.log = tmp_path / "worker.log"
        self.queue = f"test-{os.getpid()}-{time.monotonic_ns()}"
        env = dict(os.environ)
        env.update(
            {
                "DJANGO_ENV": "test",
                "DJANGO_SETTINGS_MODULE": "archive.settings.test",
                "DATABASE_URL": _database_url(),
                "CELERY_BROKER_URL": broker_url,
                "CELERY_BROKER_FOLDER": str(self.folder),
                "ARCHIVE_STORAGE_ROOT": str(storage_root),
                "ARCHIVE_HEARTBEAT_INTERVAL": "1",
                "YUECANG_VAR_DIR": str(tmp_path / "var"),
            }
        )
        env.pop("DJANGO_SECRET_KEY", None)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "archive",
                "worker",
                "-B",
                "--pool",
                "solo",
                "-Q",
                self.queue,
                "-l",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "-s",
                str(tmp_path / "beat-schedule"),
                "--logfile",
                str(self.log),
            ],
            cwd=ROOT,
            env=env,
        )

    def send(self, task, *args):
        """Send a task to this worker's queue on its broker (not eagerly)."""
        from kombu import Connection

        with Connection(
            self.broker_url,
            transport_options=_transport_options(self.broker_url, self.folder),
        ) as conn:
            task.apply_async(args, connection=conn, queue=self.queue)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else "(no log)"


def _wait_for(predicate, worker: LiveWorker, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            pytest.fail(
                f"worker exited ({worker.process.returncode}):\n{worker.log_text()}"
            )
        if predicate():
            return
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}; worker log:\n{worker.log_text()}")


@pytest.fixture
def not_eager():
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


def _run_fixity_through_worker(broker_url, tmp_path, settings, client):
    item = ItemFactory()
    original = tmp_path / "page.tif"
    original.write_bytes(b"II*\x00" + b"scan" * 1000)
    asset, _ = asset_create(item=item, source=original, role=Asset.Role.PAGE)
    worker = LiveWorker(broker_url, tmp_path, Path(settings.ARCHIVE_STORAGE_ROOT))
    try:
        _wait_for(
            lambda: WorkerHeartbeat.objects.exists(),
            worker,
            "the worker's first heartbeat",
        )
        first_beat = WorkerHeartbeat.objects.order_by("-last_seen").first().last_seen
        worker.send(asset_verify_fixity_task, asset.pk)
        _wait_for(
            lambda: FixityCheck.objects.filter(asset=asset).exists(),
            worker,
            "the fixity check",
        )
        check = FixityCheck.objects.get(asset=asset)
        assert check.outcome == FixityCheck.Outcome.OK
        assert check.observed_sha256 == asset.sha256
        # Beat (inside the worker) schedules heartbeats: last_seen moves on.
        _wait_for(
            lambda: WorkerHeartbeat.objects.filter(last_seen__gt=first_beat).exists(),
            worker,
            "a heartbeat scheduled by beat",
        )
        health = client.get("/healthz").json()
        assert health["components"]["worker"]["state"] == "ok"
        # Corrupt the stored file: the worker's check reports a mismatch.
        asset.path.chmod(0o644)
        asset.path.write_bytes(b"corrupted")
        worker.send(asset_verify_fixity_task, asset.pk)
        _wait_for(
            lambda: FixityCheck.objects.filter(
                asset=asset, outcome="mismatch"
            ).exists(),
            worker,
            "the mismatch",
        )
        asset.refresh_from_db()
        assert asset.fixity_status == Asset.FixityStatus.MISMATCH
    finally:
        worker.stop()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_fixity_task_through_a_real_worker_on_the_embedded_broker(
    tmp_path, settings, client, not_eager
):
    _run_fixity_through_worker("filesystem://", tmp_path, settings, client)


@pytest.mark.worker
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_fixity_task_through_a_real_worker_on_redis(
    tmp_path, settings, client, not_eager, redis_url
):
    _run_fixity_through_worker(redis_url, tmp_path, settings, client)


@pytest.mark.django_db
def test_nightly_sweep_is_scheduled_and_checks_what_is_due(tmp_path):
    schedule = app.conf.beat_schedule
    sweep = [
        e for e in schedule.values() if e["task"] == "archive.tasks.fixity_sweep_task"
    ]
    assert len(sweep) == 1
    assert sweep[0]["schedule"].hour == {2} and sweep[0]["schedule"].minute == {30}
    item = ItemFactory()
    source = tmp_path / "a.bin"
    source.write_bytes(b"\x00\x01" * 50)
    due, _ = asset_create(item=item, source=source, role=Asset.Role.SUPPLEMENT)
    source.write_bytes(b"\x02\x03" * 50)
    recent, _ = asset_create(item=item, source=source, role=Asset.Role.SUPPLEMENT)
    Asset.objects.filter(pk=recent.pk).update(last_fixity_at=timezone.now())
    counts = fixity_sweep_task.delay().get()
    assert counts == {"ok": 1, "mismatch": 0, "missing": 0}
    assert FixityCheck.objects.filter(asset=due).count() == 1
    assert FixityCheck.objects.filter(asset=recent).count() == 0
