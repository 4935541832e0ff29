"""The checks behind ``/healthz``: database, broker, worker heartbeat, search, storage."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from archive.models import WorkerHeartbeat

#: Components the web cannot serve without; any of them down answers 503.
ESSENTIAL = ("database", "storage")


def check_database() -> dict:
    """Run ``SELECT 1`` on the default database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"state": "ok", "engine": connection.vendor}


def check_broker() -> dict:
    """Connect to the Celery broker, twice at most within about a second.

    A broker that cannot be reached is ``down`` with the reason (the transport
    and the connection error); the web keeps serving meanwhile.
    """
    from archive.celery import app

    url = str(app.conf.broker_url)
    if url.startswith("filesystem://"):
        folder = Path(app.conf.broker_transport_options["data_folder_in"])
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK):
            return {
                "state": "down",
                "transport": "filesystem",
                "error": "folder not writable",
            }
        return {"state": "ok", "transport": "filesystem"}
    with app.connection_for_write() as conn:
        try:
            # Two quick tries (kombu's default waits 2 s before the second):
            # a monitor polling /healthz must get its answer within its timeout.
            conn.ensure_connection(
                max_retries=1, interval_start=0.2, interval_step=0, timeout=2
            )
        except Exception as exc:  # noqa: BLE001 - reported, never raised
            return {
                "state": "down",
                "transport": conn.transport_cls,
                "error": f"cannot reach the broker: {exc}",
            }
        return {"state": "ok", "transport": conn.transport_cls}


def check_worker() -> dict:
    """Report the newest worker heartbeat and whether it is recent enough."""
    beat = WorkerHeartbeat.objects.order_by("-last_seen").first()
    if beat is None:
        return {"state": "down", "error": "no worker has reported yet"}
    age = (timezone.now() - beat.last_seen).total_seconds()
    limit = settings.ARCHIVE_HEARTBEAT_MAX_AGE
    state = "ok" if age <= limit else "down"
    recent = WorkerHeartbeat.objects.filter(
        last_seen__gte=timezone.now() - timedelta(seconds=limit)
    ).count()
    return {"state": state, "last_seen_seconds_ago": round(age, 1), "workers": recent}


def check_search() -> dict:
    """Ask the configured engine itself: documents held, and whether the index is stale.

    An embedded index built by another analyzer version is ``degraded`` (it
    answers, but ``manage.py reindex`` is due); an engine that cannot answer
    is ``down``.
    """
    from archive.search.engine import engine_get

    backend = settings.SEARCH_BACKEND
    engine = engine_get()
    report = engine.health()
    state = "ok" if report.get("ok") else "down"
    if state == "ok" and "reindex" in report.get("detail", ""):
        state = "degraded"
    return {
        "state": state,
        "backend": backend,
        "documents": report.get("documents", 0),
        "detail": report.get("detail", ""),
    }


def check_storage() -> dict:
    """Check the storage root exists, is writable, and how much space is left."""
    root = Path(settings.ARCHIVE_STORAGE_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    if not os.access(root, os.W_OK):
        return {"state": "down", "error": "storage root not writable"}
    free = shutil.disk_usage(root).free
    return {"state": "ok" if free > 100 * 1024 * 1024 else "down", "free_bytes": free}


CHECKS = {
    "database": check_database,
    "broker": check_broker,
    "worker": check_worker,
    "search": check_search,
    "storage": check_storage,
}


def health_report() -> tuple[dict, bool]:
    """Run every check; return the report and whether the essential ones pass."""
    components = {}
    for name, check in CHECKS.items():
        try:
            components[name] = check()
        except Exception as exc:  # noqa: BLE001 - a health check reports, never raises
            components[name] = {
                "state": "down",
                "error": f"{type(exc).__name__}: {exc}",
            }
    essential_ok = all(components[name]["state"] == "ok" for name in ESSENTIAL)
    all_ok = all(c["state"] == "ok" for c in components.values())
    status = "ok" if all_ok else ("degraded" if essential_ok else "down")
    return {"status": status, "components": components}, essential_ok
