"""Test settings: fast hashing, local caches, eager Celery for unit tests.

Integration tests start a real worker (tests/archive/test_celery.py) and use
PostgreSQL and Redis when ``DATABASE_URL`` and ``CELERY_BROKER_URL`` say so.
"""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import DATABASES, env

DEBUG = False
SECRET_KEY = "test-only-not-secret-" + "x" * 40
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Unit tests run tasks in-process; the live-worker tests switch this off.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
# The test process runs ingests in-process: it keeps its priority (a nice value,
# once raised, stays for the whole session). tests/archive/test_priority.py
# sets it where it is the subject.
ARCHIVE_BACKGROUND_NICE = env.int("ARCHIVE_BACKGROUND_NICE", default=0)

# Each test run gets its own storage folder (tests/conftest.py also isolates
# MEDIA_ROOT and ARCHIVE_STORAGE_ROOT per test).
_TMP = Path(tempfile.mkdtemp(prefix="yuecang-test-"))
# A live worker started by a test is told the test's folders through these.
ARCHIVE_STORAGE_ROOT = Path(
    env.str("ARCHIVE_STORAGE_ROOT", default=str(_TMP / "storage"))
)
MEDIA_ROOT = _TMP / "media"
IIIF_CACHE_DIR = _TMP / "iiif-cache"
STATIC_ROOT = _TMP / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so a live worker process can open the test database.
    DATABASES["default"]["TEST"] = {
        "NAME": env.str("YUECANG_TEST_DB", default=str(_TMP / "test.sqlite3"))
    }

TRANSCRIPTION_ENGINE = "transcription.engines.FasterWhisperEngine"
#: Tests start transcriptions themselves (ingest tests need no model run).
TRANSCRIPTION_AUTO = False
#: Tests that prove indexing follows changes switch it on (tests/archive/search).
SEARCH_AUTO_INDEX = False
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
#: Off, so the suite's many anonymous requests from 127.0.0.1 (and the
#: test client's login(), which passes no request) are not throttled; the
#: tests of the limits and of login throttling turn them on
#: (tests/archive/test_ratelimit.py, tests/archive/test_hardening.py).
ARCHIVE_RATELIMIT_ENABLED = False
AXES_ENABLED = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
