"""Kill -9 mid-delivery, start again: the delivery finishes with nothing duplicated or lost.

Real processes: the ``ingest_dadian`` command, and a Celery worker on the
embedded (filesystem) broker, each killed with SIGKILL while pages are being
made. They share this test's database and storage, so the tests commit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archive.celery import app
from archive.models import Item, PageImage
from ingest.models import IngestFile, IngestJob
from ingest.services import job_create, job_plan
from ingest.tasks import job_file_process_task
from tests.ingest.deliveries import INSTITUTIONS, scan, volume
from tests.ingest.test_pipeline import assert_no_orphans
from tests.live import ROOT, LiveWorker, process_env, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PAGES = 10


@pytest.fixture(scope="module")
def big_delivery(tmp_path_factory) -> Path:
    """Ten pages large enough (2400 x 3600) that a kill lands mid-batch.

    Made once for the module: an ingest only reads its delivery.
    """
    import json

    root = tmp_path_factory.mktemp("delivery")
    (root / "institutions.json").write_text(json.dumps(INSTITUTIONS), "utf-8")
    for n in range(1, PAGES + 1):
        scan(root / "big" / f"{n:04d}.jpg", width=2400, height=3600, seed=n)
    volume(
        root,
        "big",
        [{"file": f"{n:04d}.jpg", "label": f"葉{n}"} for n in range(1, PAGES + 1)],
    )
    return root


def _done() -> int:
    return IngestFile.objects.filter(status=IngestFile.Status.DONE).count()


def _wait(predicate, what: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def _assert_complete(settings) -> None:
    item = Item.objects.get(public_id="big")
    assert list(item.pages.values_list("sequence", flat=True)) == list(
        range(1, PAGES + 1)
    )
    assert list(item.pages.values_list("label", flat=True)) == [
        f"葉{n}" for n in range(1, PAGES + 1)
    ]
    assert PageImage.objects.count() == PAGES
    assert item.assets.count() == PAGES
    assert_no_orphans(settings)


def test_kill_9_of_the_command_then_run_again(big_delivery, tmp_path, settings):
    env = process_env(tmp_path, Path(settings.ARCHIVE_STORAGE_ROOT))
    command = [
        sys.executable,
        "manage.py",
        "ingest_dadian",
        str(big_delivery),
        "--workers",
        "2",
    ]
    log = open(tmp_path / "first.log", "w")
    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        _wait(lambda: _done() >= 2, "two pages from the first run")
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    assert _done() < PAGES, "the kill came too late to test anything"
    second = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Resuming job" in second.stdout
    job = IngestJob.objects.get()
    assert job.status == IngestJob.Status.DONE
    _assert_complete(settings)


@pytest.fixture
def not_eager():
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


def test_kill_9_of_a_worker_mid_batch_then_resume(
    big_delivery, tmp_path, settings, not_eager
):
    storage = Path(settings.ARCHIVE_STORAGE_ROOT)
    job = job_plan(job=job_create(path=big_delivery))
    pending = list(job.files.values_list("pk", flat=True))
    assert len(pending) == PAGES
    worker = LiveWorker("filesystem://", tmp_path, storage)
    try:
        for file_id in pending:
            worker.send(job_file_process_task, file_id)
        wait_for(lambda: _done() >= 2, worker, "two pages from the first worker", 180)
    finally:
        worker.kill()
    assert _done() < PAGES, "the kill came too late to test anything"
    # A fresh worker (its own queue); resuming re-plans and hands out what is left.
    second = LiveWorker("filesystem://", tmp_path / "second", storage)
    try:
        job = job_plan(job=job)
        left = list(
            job.files.filter(status=IngestFile.Status.PENDING).values_list(
                "pk", flat=True
            )
        )
        assert 0 < len(left) <= PAGES - 2
        assert not job.files.filter(status=IngestFile.Status.RUNNING).exists()
        for file_id in left:
            second.send(job_file_process_task, file_id)
        wait_for(
            lambda: IngestJob.objects.get(pk=job.pk).is_finished,
            second,
            "the job to finish",
            300,
        )
    finally:
        second.stop()
    job.refresh_from_db()
    assert job.status == IngestJob.Status.DONE, job.message
    _assert_complete(settings)
