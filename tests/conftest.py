"""Shared fixtures: isolated storage per test, services that skip or fail by REQUIRE_SERVICES."""

from __future__ import annotations

import os
import shutil
import socket
from urllib.parse import urlparse

import pytest

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") not in ("", "0", "false")


def service_unavailable(reason: str) -> None:
    """Skip a test whose service is missing, or fail it when REQUIRE_SERVICES is set (CI)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES is set but {reason}", pytrace=False)
    pytest.skip(reason)


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something listens on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _isolated_storage(settings, tmp_path):
    """Send stored originals, derivatives and media of each test to its own folder."""
    settings.ARCHIVE_STORAGE_ROOT = tmp_path / "storage"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SEARCH_INDEX_DIR = tmp_path / "index"
    settings.IIIF_CACHE_DIR = tmp_path / "iiif-cache"
    yield


@pytest.fixture(autouse=True)
def _fresh_content_type_cache():
    """Forget content-type ids cached before a transactional test emptied the database.

    Django caches ContentType rows per process; after a ``transaction=True``
    test flushes the tables (and migrations' data is re-created with new ids),
    a stale id makes Wagtail's reference index point at rows that no longer
    exist (a FOREIGN KEY failure in whichever test comes next).
    """
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
    yield


@pytest.fixture
def redis_url():
    """A Redis broker URL: CELERY_BROKER_URL when it is Redis, else the local default."""
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("redis://"):
        url = "redis://127.0.0.1:6379/0"
    parsed = urlparse(url)
    if not port_open(parsed.hostname or "127.0.0.1", parsed.port or 6379):
        service_unavailable(f"Redis is not reachable at {url}")
    return url


@pytest.fixture
def postgres_required(db):
    """Tests that only mean something on PostgreSQL."""
    from django.db import connection

    if connection.vendor != "postgresql":
        service_unavailable(
            "the test database is not PostgreSQL (set DATABASE_URL=postgres://...)"
        )


@pytest.fixture(scope="session")
def chromium_path():
    """Debian's Chromium, for browser tests driven by Playwright."""
    path = shutil.which("chromium") or (
        "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None
    )
    if not path:
        service_unavailable(
            "Debian chromium is not installed (apt-get install chromium)"
        )
    return path
