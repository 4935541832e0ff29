"""Celery end to end: the fixity task and the beat schedule through a real worker process.

One run on the embedded broker (the filesystem transport, no server), one on
Redis (skipped without it; CI demands it). The worker opens the test database
and storage folder, so these tests commit their data (transaction=True).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone

from archive.celery import app
from archive.models import Asset, FixityCheck, WorkerHeartbeat
from archive.services import asset_create
from archive.tasks import asset_verify_fixity_task, fixity_sweep_task
from tests.archive.factories import ItemFactory
from tests.live import LiveWorker
from tests.live import wait_for as _wait_for


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
