"""Rebuilds of the whole search index, recorded so people can watch them.

Every full rebuild, whether asked for in the admin ("Search index", queued as
``archive.tasks.search_reindex_task`` on the one writer's queue ``search``) or
run with ``manage.py reindex``, is a :class:`~archive.models.SearchIndexRun`:
queued, running (with documents done out of the total, saved about once a
second), then done with the count or failed with the error. The admin page
reads these rows; the index itself is the engine's business
(:func:`archive.search.indexing.reindex_all`).
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from archive.models import SearchIndexRun
from archive.search import indexing
from archive.search.engine import engine_get

logger = logging.getLogger(__name__)

#: How often, at most, a running rebuild saves its progress (seconds).
PROGRESS_EVERY = 1.0

#: A queued or running rebuild silent for longer than this is taken as dead (a
#: worker killed outright); it no longer blocks a new one. Longer than the hard
#: time limit of ``search_reindex_task``, after which no worker still runs it.
ABANDONED_AFTER = datetime.timedelta(hours=6, minutes=15)


class RunAlreadyActive(Exception):
    """A rebuild is already queued or running; another would only repeat it.

    Attributes:
        run: the active rebuild.
    """

    #: The HTTP meaning, for the edges that map it.
    status_code = 409

    def __init__(self, run: SearchIndexRun):
        super().__init__(f"search index rebuild #{run.pk} is {run.state}")
        self.run = run


def run_latest() -> SearchIndexRun | None:
    """The newest rebuild, whatever its state."""
    return SearchIndexRun.objects.select_related("requested_by").first()


def run_active() -> SearchIndexRun | None:
    """The newest rebuild still queued or running (abandoned ones aside)."""
    alive_since = timezone.now() - ABANDONED_AFTER
    return (
        SearchIndexRun.objects.filter(
            state__in=SearchIndexRun.ACTIVE, updated_at__gte=alive_since
        )
        .select_related("requested_by")
        .first()
    )


def run_list(*, limit: int = 10) -> list[SearchIndexRun]:
    """The newest ``limit`` rebuilds, newest first."""
    return list(SearchIndexRun.objects.select_related("requested_by")[:limit])


def run_create(
    *,
    user=None,
    source: str = SearchIndexRun.Source.ADMIN,
    exclusive: bool = False,
) -> SearchIndexRun:
    """Record a new, queued rebuild.

    Args:
        user: who asked for it (None from the command line).
        source: a :class:`~archive.models.SearchIndexRun.Source` value.
        exclusive: refuse when another rebuild is queued or running (the
            admin's button: a second one would only rebuild the same index).

    Raises:
        RunAlreadyActive: ``exclusive`` and a rebuild is active.
    """
    with transaction.atomic():
        if exclusive:
            active = run_active()
            if active is not None:
                raise RunAlreadyActive(active)
        run = SearchIndexRun(
            requested_by=user if user is not None and user.is_authenticated else None,
            source=source,
        )
        run.full_clean()
        run.save()
    return run


def run_execute(
    run: SearchIndexRun,
    *,
    progress: Callable[[int, int], None] | None = None,
    **options,
) -> SearchIndexRun:
    """Rebuild the whole index now, recording progress and outcome on ``run``.

    Args:
        run: the rebuild to carry out (normally queued; a run redelivered
            after a crash starts again from the beginning).
        progress: also called as ``progress(done, total)`` at every report of
            :func:`~archive.search.indexing.reindex_all` (the command prints).
        **options: passed on to the engine (``workers`` for the embedded one).

    Returns:
        The run, done, with the number of documents indexed.

    Raises:
        Whatever stopped the rebuild, after the run was marked failed with it:
        a run is never left running by an error (nor by Ctrl-C).
    """
    run.state = SearchIndexRun.State.RUNNING
    run.started_at = timezone.now()
    run.finished_at = None
    run.done = 0
    run.documents = None
    run.error = ""
    run.save(
        update_fields=[
            "state",
            "started_at",
            "finished_at",
            "done",
            "documents",
            "error",
            "updated_at",
        ]
    )
    last_saved = [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last_saved[0] >= PROGRESS_EVERY or done >= total:
            last_saved[0] = now
            run.done, run.total = done, total
            run.save(update_fields=["done", "total", "updated_at"])
        if progress is not None:
            progress(done, total)

    try:
        engine = engine_get()
        run.engine = engine.name
        run.save(update_fields=["engine", "updated_at"])
        count = indexing.reindex_all(report, **options)
    except BaseException as error:
        run.state = SearchIndexRun.State.FAILED
        run.error = f"{type(error).__name__}: {error}".strip().rstrip(":")
        run.finished_at = timezone.now()
        run.save(update_fields=["state", "error", "finished_at", "updated_at"])
        logger.warning("search: index rebuild #%s failed: %s", run.pk, run.error)
        raise
    run.state = SearchIndexRun.State.DONE
    run.documents = count
    run.finished_at = timezone.now()
    run.save(update_fields=["state", "documents", "finished_at", "updated_at"])
    return run


def index_status_get() -> dict:
    """The engine as the admin shows it; never raises.

    Returns:
        ``{"engine", "ok", "detail", "documents", "stale"}``: the engine's name,
        its :meth:`health` report, and whether the live index was built by
        another analyzer (searches still answer, but a rebuild is due).
    """
    try:
        engine = engine_get()
    except Exception as error:  # noqa: BLE001 - shown on the page, never fatal
        return {
            "engine": "",
            "ok": False,
            "detail": f"{type(error).__name__}: {error}",
            "documents": 0,
            "stale": False,
        }
    health = engine.health()
    stale = False
    stale_check = getattr(engine, "stale", None)
    if health.get("ok") and stale_check is not None:
        try:
            stale = bool(stale_check())
        except Exception:  # noqa: BLE001 - health already said whether it answers
            logger.warning("search: could not tell whether the index is stale")
    return {
        "engine": engine.name,
        "ok": bool(health.get("ok")),
        "detail": health.get("detail", ""),
        "documents": health.get("documents", 0),
        "stale": stale,
    }
