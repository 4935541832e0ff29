"""Keeping the index in step with the records: what to re-index, and when.

Every change that reaches search (an item saved, its pages, its transcripts
and consent, a work, an exhibition published or unpublished, anything
deleted) ends in one of the ``archive.tasks.search_*`` tasks, queued after
the transaction commits on the Celery queue ``search``. That queue is the
one writer's queue: the worker that consumes it is the only process that
writes the index in normal running (DESIGN.md, "one writer"), and the
embedded engine's file lock makes anyone else (``manage.py reindex``) wait
for it rather than fail.

Changes within one transaction are gathered: saving an item and its forty
pages queues one task for the item. ``SEARCH_AUTO_INDEX = False`` (the test
settings) turns the automatic tasks off; tests that prove them switch it on.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from itertools import chain

from django.conf import settings
from django.db import transaction

from archive.models import AccessLevel, Item
from archive.search.documents import sources
from archive.search.engine import (
    AccessScope,
    EngineRequest,
    SearchDocument,
    engine_get,
)
from archive.search.query import Query

logger = logging.getLogger(__name__)

#: Every level but withdrawn: what the indexer itself must see.
ALL_LEVELS = frozenset(
    {
        AccessLevel.PUBLIC,
        AccessLevel.READING_ROOM,
        AccessLevel.STAFF,
        AccessLevel.EMBARGOED,
    }
)


def auto_enabled() -> bool:
    """Whether changes queue indexing tasks (``SEARCH_AUTO_INDEX``)."""
    return bool(getattr(settings, "SEARCH_AUTO_INDEX", True))


def _queue(kind: str, values: Iterable) -> None:
    """Remember ``values`` for ``kind``; one task per kind is sent after the commit.

    The pending set belongs to the connection's current transaction: a
    rolled-back transaction drops its callback, and the next change starts a
    new set (so nothing is stranded); outside a transaction the callback runs
    at once.
    """
    if not auto_enabled():
        return
    values = list(values)
    if not values:
        return
    connection = transaction.get_connection()
    state = getattr(connection, "_search_pending", None)
    if state is not None and not state["done"]:
        waiting = any(
            entry[1] is state["callback"] for entry in connection.run_on_commit
        )
        if waiting:
            state["values"].setdefault(kind, set()).update(values)
            return
    state = {"done": False, "values": {kind: set(values)}}
    state["callback"] = partial(_flush, state)
    connection._search_pending = state
    transaction.on_commit(state["callback"])


def _flush(state: dict) -> None:
    from archive import tasks

    state["done"] = True
    pending = state["values"]
    if pending.get("items"):
        tasks.search_items_task.delay(sorted(pending["items"]))
    if pending.get("deleted"):
        tasks.search_delete_task.delay(sorted(pending["deleted"]))
    if pending.get("exhibitions"):
        tasks.search_exhibitions_task.delay(sorted(pending["exhibitions"]))


def items_changed(pks: Iterable[int]) -> None:
    """Items (by pk) whose documents may have changed: re-index after the commit."""
    _queue("items", [pk for pk in pks if pk])


def item_deleted(public_id: str, work_pk: int | None) -> None:
    """An item was deleted: drop its documents (and refresh its work's)."""
    _queue("deleted", [f"{public_id}|{work_pk or ''}"])


def exhibitions_changed(pks: Iterable[int]) -> None:
    """Exhibition pages (by pk) published, unpublished, moved or deleted."""
    _queue("exhibitions", list(pks))


# ---------------------------------------------------------------------------
# The work the tasks do


def _keys_of_item(engine, public_id: str) -> set[str]:
    request = EngineRequest(
        query=Query(raw=""),
        scope=AccessScope(ALL_LEVELS, datetime.date.max),
        item=public_id,
        limit=100_000,
    )
    return {hit.document.key for hit in engine.search(request).hits}


def items_reindex(pks: Iterable[int]) -> int:
    """Rebuild the documents of the given items (and their works) now."""
    pks = sorted(set(pks))
    if not pks:
        return 0
    engine = engine_get()
    documents: list[SearchDocument] = []
    for source in sources():
        if source.of_items is not None:
            documents += list(source.of_items(pks))
    public_ids = list(
        Item.objects.filter(pk__in=pks).values_list("public_id", "access_level")
    )
    stale: set[str] = set()
    for public_id, _level in public_ids:
        stale |= _keys_of_item(engine, public_id)
    written = engine.index(documents)
    stale -= {d.key for d in documents}
    if stale:
        engine.delete(sorted(stale))
    # Withdrawn items keep no documents; a work left without volumes neither.
    missing_works = _works_without_volumes(pks)
    if missing_works:
        engine.delete(missing_works)
    return written


def _works_without_volumes(pks: list[int]) -> list[str]:
    from archive.models import Work

    works = Work.objects.filter(volumes__pk__in=pks).distinct()
    return [
        f"work:{w.public_id}"
        for w in works
        if not w.volumes.exclude(access_level=AccessLevel.WITHDRAWN).exists()
    ]


def items_remove(entries: Iterable[str]) -> None:
    """Drop deleted items' documents; refresh the works they belonged to."""
    from archive.models import Work

    engine = engine_get()
    work_pks = []
    for entry in entries:
        public_id, _, work = entry.partition("|")
        engine.delete_item(public_id)
        if work:
            work_pks.append(int(work))
    for work in Work.objects.filter(pk__in=work_pks):
        volumes = list(work.volumes.values_list("pk", flat=True))
        if volumes:
            items_reindex(volumes)
        else:
            engine.delete([f"work:{work.public_id}"])


def exhibitions_reindex(pks: Iterable[int]) -> int:
    """Index live exhibitions among ``pks``; drop the others' documents."""
    from archive.search.documents import source_get

    source = source_get("exhibition")
    engine = engine_get()
    keys = [f"exhibition:{pk}" for pk in pks]
    if source is None:
        engine.delete(keys)
        return 0
    documents = [d for d in source.every() if d.key in set(keys)]
    engine.delete(sorted(set(keys) - {d.key for d in documents}))
    return engine.index(documents)


def all_documents() -> Iterator[SearchDocument]:
    """Every document of every source (``reindex``)."""
    return chain.from_iterable(source.every() for source in sources())


def all_count() -> int:
    """How many documents :func:`all_documents` will give."""
    return sum(source.count() for source in sources())


def reindex_all(progress: Callable[[int, int], None] | None = None, **options) -> int:
    """Rebuild the whole index and swap it in (searches go on meanwhile)."""
    total = all_count()
    engine = engine_get()

    def report(done: int) -> None:
        if progress is not None:
            progress(done, total)

    count = engine.replace_all(all_documents(), report, **options)
    logger.info("search: reindexed %s documents into %s", count, engine.name)
    return count
