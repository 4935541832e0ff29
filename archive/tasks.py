"""Celery entry points of ``archive``: thin interfaces to one service each."""

from __future__ import annotations

import logging
import socket

from celery import shared_task

from archive import services
from archive.models import Asset

logger = logging.getLogger(__name__)


@shared_task(soft_time_limit=3600, time_limit=3700, acks_late=True)
def asset_verify_fixity_task(asset_id: int) -> str | None:
    """Re-hash one stored original and record the check."""
    asset = Asset.objects.filter(pk=asset_id).first()
    if asset is None:
        logger.warning("Fixity: asset %s no longer exists", asset_id)
        return None
    return services.asset_verify_fixity(asset=asset).outcome


@shared_task(soft_time_limit=6 * 3600, time_limit=6 * 3600 + 300)
def fixity_sweep_task() -> dict:
    """Nightly: check every original whose last check is older than the interval."""
    return services.fixity_sweep()


@shared_task(soft_time_limit=20, time_limit=30, ignore_result=True)
def worker_heartbeat_task() -> None:
    """Every 30 s: record that this worker is alive, for /healthz."""
    from celery import current_task

    hostname = getattr(current_task.request, "hostname", None) or socket.gethostname()
    services.worker_heartbeat_record(hostname=hostname)


@shared_task(soft_time_limit=300, time_limit=330)
def grants_expire_task() -> int:
    """Every ten minutes: record the access grants that ended in the audit log.

    A grant stops opening its item at its end by itself (the access decision
    compares with the clock); this only writes the log entry, once.
    """
    from archive.trust import grants_expire

    return grants_expire()


# ---------------------------------------------------------------------------
# Search: every index write goes through these, on the one queue ``search``
# (archive.search.indexing; CELERY_TASK_ROUTES).


@shared_task(
    bind=True, max_retries=10, acks_late=True, soft_time_limit=1800, time_limit=1900
)
def search_items_task(self, pks: list[int]) -> int:
    """Re-index items (their record, pages, segments and works) after a change."""
    from archive.search.engine import EngineUnavailable
    from archive.search.indexing import items_reindex

    try:
        return items_reindex(pks)
    except EngineUnavailable as error:
        logger.warning("search: %s; retrying", error)
        raise self.retry(
            exc=error, countdown=min(300, 5 * 2**self.request.retries)
        ) from error


@shared_task(bind=True, max_retries=10, acks_late=True)
def search_delete_task(self, entries: list[str]) -> None:
    """Drop the documents of deleted items."""
    from archive.search.engine import EngineUnavailable
    from archive.search.indexing import items_remove

    try:
        items_remove(entries)
    except EngineUnavailable as error:
        raise self.retry(
            exc=error, countdown=min(300, 5 * 2**self.request.retries)
        ) from error


@shared_task(bind=True, max_retries=10, acks_late=True)
def search_exhibitions_task(self, pks: list[int]) -> int:
    """Index published exhibitions; drop unpublished or deleted ones."""
    from archive.search.engine import EngineUnavailable
    from archive.search.indexing import exhibitions_reindex

    try:
        return exhibitions_reindex(pks)
    except EngineUnavailable as error:
        raise self.retry(
            exc=error, countdown=min(300, 5 * 2**self.request.retries)
        ) from error


@shared_task(acks_late=True, soft_time_limit=6 * 3600, time_limit=6 * 3600 + 300)
def search_reindex_task(run_id: int) -> int | None:
    """Rebuild the whole search index for a recorded run (the admin's button).

    Runs on the one writer's queue ``search``. A run that already finished is
    left alone (a redelivered message); an error is recorded on the run by
    :func:`archive.search.runs.run_execute` and not retried: the admin shows
    it, and the button starts a new run. ``runs.ABANDONED_AFTER`` must stay
    longer than the hard time limit.
    """
    from archive.models import SearchIndexRun
    from archive.search import runs

    run = SearchIndexRun.objects.filter(pk=run_id).first()
    if run is None:
        logger.warning("search: index rebuild #%s no longer exists", run_id)
        return None
    if not run.is_active:
        logger.info("search: index rebuild #%s is already %s", run_id, run.state)
        return run.documents
    return runs.run_execute(run).documents
