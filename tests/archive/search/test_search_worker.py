"""Indexing through a real Celery worker: a change in the web process is found within seconds.

The web process (this test) saves records; the commit queues the search
tasks on the broker; the worker process, the index's one writer, indexes
them into the shared index folder; the test process searches it. One run on
the embedded broker, one on Redis (skipped without it; CI demands it).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser

from archive.models import AccessLevel
from archive.search.engine import engines_forget
from archive.search.service import SearchParams, search
from tests.archive.factories import ItemFactory
from tests.live import LiveWorker
from tests.live import wait_for as _wait_for

SEARCH_TASKS = ("search_items_task", "search_delete_task", "search_exhibitions_task")


def found(q: str) -> list[str]:
    page = search(SearchParams(q=q), user=AnonymousUser())
    return [hit.key for hit in page.hits]


def _through_worker(broker_url, tmp_path, settings, monkeypatch):
    from archive import tasks

    settings.SEARCH_AUTO_INDEX = True
    # The worker's index folder (YUECANG_VAR_DIR/index, tests/live.py) is ours too.
    settings.SEARCH_INDEX_DIR = tmp_path / "var" / "index"
    engines_forget()
    worker = LiveWorker(broker_url, tmp_path, Path(settings.ARCHIVE_STORAGE_ROOT))
    # What the commit hook sends goes to this worker's broker and queue.
    for name in SEARCH_TASKS:
        task = getattr(tasks, name)
        monkeypatch.setattr(
            task, "delay", lambda *args, task=task: worker.send(task, *args)
        )
    try:
        item = ItemFactory(title="黃埔古港碼頭")
        key = f"item:{item.public_id}"
        _wait_for(lambda: found("古港") == [key], worker, "the new item in search")
        item.access_level = AccessLevel.STAFF
        item.save()
        _wait_for(
            lambda: found("古港") == [] and _engine_hides("古港"),
            worker,
            "the restricted item gone from the public index",
        )
        item.delete()
        _wait_for(lambda: _count() == 0, worker, "the deleted item gone from the index")
    finally:
        worker.stop()
        engines_forget()


def _engine_hides(q: str) -> bool:
    from archive.search.engine import EngineRequest, engine_get
    from archive.search.query import parse
    from archive.search.service import scope_for

    request = EngineRequest(query=parse(q), scope=scope_for(AnonymousUser(), None))
    return engine_get().search(request).total == 0


def _count() -> int:
    from archive.search.engine import engine_get

    return engine_get().count()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_indexing_through_a_real_worker_on_the_embedded_broker(
    tmp_path, settings, monkeypatch
):
    _through_worker("filesystem://", tmp_path, settings, monkeypatch)


@pytest.mark.worker
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_indexing_through_a_real_worker_on_redis(
    tmp_path, settings, redis_url, monkeypatch
):
    _through_worker(redis_url, tmp_path, settings, monkeypatch)
