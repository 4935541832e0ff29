"""Shared fixtures: isolated storage per test, services that skip or fail by REQUIRE_SERVICES.

Also the fixtures that keep slow set-up to once: the sample archive loaded
with the derivatives an earlier load made (``sample_loader``), a Chromium per
module (``chromium``), and data committed once for a whole module of
live-server tests (``committed_db``, ``committed_live_server``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
from pathlib import Path
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


@pytest.fixture(scope="module")
def chromium(chromium_path):
    """One headless Chromium for a module's tests; each test opens its own context.

    Launching Chromium takes seconds; a context (cookies, cache, storage of its
    own) is cheap, so tests stay apart. Playwright's sync API runs an event
    loop in this thread while the browser is open, so Django's async-safety
    check is off meanwhile (plain synchronous ORM calls in the tests).
    """
    from playwright.sync_api import sync_playwright

    from tests.iiif.test_viewer_browser import CHROMIUM_ARGS

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
            # Connections opened while Playwright's loop ran in this thread are
            # not the ones the test database's teardown closes: close them
            # here, or PostgreSQL refuses to drop the database at the end of
            # the run ("being accessed by other users"; seen after
            # tests/transcription/test_public_browser.py run alone).
            from django.db import connections

            connections.close_all()


# -- The sample archive ----------------------------------------------------------

#: The sample archive's parts (ingest/sample/README.md), for loads of some of them.
SAMPLE_PARTS = ("dadian", "oral-history", "documentary", "iiif-validator")


def _checksums(folder: Path) -> set[str]:
    return {
        hashlib.sha256(path.read_bytes()).hexdigest()
        for path in folder.rglob("*")
        if path.is_file()
    }


@pytest.fixture(scope="session")
def sample_loader(tmp_path_factory):
    """Load the sample archive, or some of its parts, as ``make demo`` loads it.

    Returns ``load(parts=None)``: it ingests into the current
    ``ARCHIVE_STORAGE_ROOT`` through ``ingest.services.sample_load`` and
    returns its report (asserted free of problems). ``parts`` names folders of
    ``SAMPLE_PARTS`` to load alone (with the institutions).

    Derivatives (pyramids, thumbnails, listening copies, video proxies,
    silenced copies) are named by their original's SHA-256, and the pipeline
    keeps one it finds, as after a killed run. The first load of a file in
    the session makes them; later loads start from a copy, which spares them
    the decoding and encoding that is most of a load. Only derivatives of the
    files being loaded are copied, so the storage holds nothing unreferenced.
    The ingest tests (tests/ingest) load without this, and cover making them.
    """
    cache = tmp_path_factory.mktemp("sample-derivatives")

    def load(parts=None):
        from django.conf import settings

        from ingest.services import sample_load
        from ingest.services.jobs import SAMPLE_ROOT

        delivery = SAMPLE_ROOT
        if parts is not None:
            unknown = set(parts) - set(SAMPLE_PARTS)
            assert not unknown, f"not parts of the sample: {unknown}"
            delivery = tmp_path_factory.mktemp("sample-delivery")
            shutil.copy(SAMPLE_ROOT / "institutions.json", delivery)
            for part in parts:
                shutil.copytree(SAMPLE_ROOT / part, delivery / part)
        root = Path(settings.ARCHIVE_STORAGE_ROOT)
        checksums = _checksums(delivery)
        for made in cache.rglob("*"):
            if made.is_file() and made.name[:64] in checksums:
                target = root / made.relative_to(cache)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(made, target)
        report = sample_load(root=delivery)
        assert not report.problems, report.problems
        for made in (root / "derivatives").rglob("*"):
            kept = cache / made.relative_to(root)
            if made.is_file() and not kept.exists():
                kept.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(made, kept)
        return report

    return load


# -- Data committed once for a module of live-server tests --------------------------


def database_flush() -> None:
    """Empty the test database as a ``transaction=True`` test does after itself.

    ``post_migrate`` follows the flush (content types, permissions, the page
    tree: themes/apps.py); the staff groups come back by
    ``tests.archive.factories.staff_groups_ensure``.
    """
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)
    ContentType.objects.clear_cache()


@pytest.fixture(scope="session")
def _committed_db_setup(
    request, django_db_setup, django_db_blocker, django_db_keepdb, django_db_createdb
):
    """The test database, also when no test of the run asks pytest-django for one.

    pytest-django creates the databases that tests marked ``django_db`` (or
    taking ``db``, ``transactional_db``, ``live_server``) need, and leaves the
    connection on the real database otherwise: a run of ``committed_db``
    modules alone must create it here, or it would load into and flush the
    configured database itself.
    """
    from django.test.utils import setup_databases, teardown_databases
    from pytest_django.fixtures import _get_databases_for_setup

    aliases, _ = _get_databases_for_setup(request.session.items)
    if "default" in aliases:
        yield
        return
    keepdb = django_db_keepdb and not django_db_createdb
    with django_db_blocker.unblock():
        config = setup_databases(
            verbosity=0, interactive=False, keepdb=keepdb, aliases={"default"}
        )
    yield
    if not keepdb:
        with django_db_blocker.unblock():
            teardown_databases(config, verbosity=0)


@pytest.fixture(scope="module")
def committed_db(_committed_db_setup, django_db_blocker):
    """The database of a module whose tests share data committed once, then flushed.

    For live-server tests that only read what the module set up: the data is
    made once (in module fixtures that take this one), committed so the live
    server's own connection sees it, and flushed when the module ends, as a
    ``transaction=True`` test flushes after itself. Such tests take neither
    ``db`` nor ``live_server`` (``committed_live_server`` instead) and carry no
    ``django_db`` mark, which would flush after every test. pytest-django then
    runs them after every transactional test, where the database is in the
    state a flush leaves.

    A test that writes must undo what it wrote: the module's next test reads
    the same rows.
    """
    from django.contrib.contenttypes.models import ContentType

    with django_db_blocker.unblock():
        ContentType.objects.clear_cache()
        try:
            yield
        finally:
            database_flush()


@pytest.fixture(scope="session")
def _committed_server(_committed_db_setup):
    from pytest_django.live_server_helper import LiveServer

    server = LiveServer(
        os.environ.get("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def committed_live_server(committed_db, _committed_server):
    """A live server (``live_server``'s kind) for the tests of ``committed_db``."""
    _committed_server._live_server_modified_settings.enable()
    try:
        yield _committed_server
    finally:
        _committed_server._live_server_modified_settings.disable()


@pytest.fixture(scope="module")
def sample_parts():
    """The parts of the sample ``committed_sample`` loads: all (override in a module)."""
    return None


@pytest.fixture(scope="module")
def committed_sample(committed_db, sample_loader, sample_parts, tmp_path_factory):
    """The sample archive (``sample_parts`` of it), committed for the module.

    Returns its storage folder. Module fixtures that add to the sample take
    this one; each test puts the folder back in place (``committed_site``).
    """
    from django.test import override_settings

    root = tmp_path_factory.mktemp("committed-sample")
    with override_settings(ARCHIVE_STORAGE_ROOT=root):
        sample_loader(sample_parts)
    return root


@pytest.fixture
def committed_site(
    committed_sample, committed_live_server, settings, _isolated_storage
):
    """The live server of the module's committed sample, its storage in place."""
    settings.ARCHIVE_STORAGE_ROOT = committed_sample
    return committed_live_server
