"""Base settings for 粵藏 Yuecang.

Every setting is read from the environment through one ``env`` object, and every
one has an embedded default so that ``make demo`` needs no server (DESIGN.md,
Configuration). ``dev``, ``production`` and ``test`` only override this module.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF, UNSAFE_EVAL, UNSAFE_INLINE

BASE_DIR = Path(__file__).resolve().parent.parent.parent
#: Runtime state of the embedded default (SQLite file, stored files, broker, index).
VAR_DIR = Path(environ.Env().str("YUECANG_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

# ---------------------------------------------------------------------------
# Core Django
# https://docs.djangoproject.com/en/5.2/ref/settings/
# ---------------------------------------------------------------------------
DJANGO_ENV = env.str("DJANGO_ENV", default="development")
DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"]
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "archive",
    "ingest",
    "transcription",
    "iiif",
    "themes",
    "wagtail.contrib.settings",
    "wagtail.contrib.redirects",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    "django_tasks",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "csp",
    "axes",
]

MIDDLEWARE = [
    # First: everything below (reading room, rate limits, login throttling)
    # sees the client's address, not the front server's.
    "archive.middleware.ClientAddressMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Inside SecurityMiddleware: a IIIF sign-in window stays tied to its viewer.
    "archive.middleware.AuthWindowOpenerMiddleware",
    # Public images of pages whose record is in the tile cache answer here,
    # before the rest (iiif/middleware.py); everything else goes on.
    "iiif.middleware.PublicImageMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "archive.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "archive.middleware.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The request's user and address for the audit log's entries (archive.audit).
    "archive.audit.AuditContextMiddleware",
    # After authentication (logged-in users are exempt) and the language (the
    # 429's text is translated).
    "archive.ratelimit.RateLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "archive.middleware.ScriptPreferenceMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    # Last, as django-axes requires: turns a locked-out login into its answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "archive.urls"
WSGI_APPLICATION = "archive.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "archive.context_processors.archive",
            ],
        },
    },
]

# ---------------------------------------------------------------------------
# Database: SQLite file by default, PostgreSQL at scale
# https://django-environ.readthedocs.io/en/latest/types.html#environ-env-db-url
# ---------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'yuecang.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 30)
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/admin/login/"

# ---------------------------------------------------------------------------
# Login throttling (django-axes): the admin's login page, Wagtail's own
# https://django-axes.readthedocs.io/en/latest/4_configuration.html
# ---------------------------------------------------------------------------
#: Axes first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
#: Failed logins of one username from one address before that pair is locked out.
AXES_FAILURE_LIMIT = env.int("ARCHIVE_LOGIN_FAILURE_LIMIT", default=5)
#: How long a lockout lasts; a failure during it starts it again.
AXES_COOLOFF_TIME = timedelta(
    minutes=env.int("ARCHIVE_LOGIN_COOLOFF_MINUTES", default=15)
)
#: Lock the (username, address) pair, not the username alone (anyone could then
#: lock every archivist out by guessing) nor the address alone (a reading
#: room's staff share one). Guessing across many usernames from one address is
#: slowed by the "login" rate limit below.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
#: The answer to a locked-out login: 429, plain, translated (archive/ratelimit.py).
AXES_LOCKOUT_CALLABLE = "archive.ratelimit.login_locked_out"
#: No startup banner in every command's output.
AXES_VERBOSE = False

# ---------------------------------------------------------------------------
# Languages: UI in zh-Hant, zh-Hans and en, no URL prefix (DESIGN.md, Languages)
# https://docs.djangoproject.com/en/5.2/topics/i18n/translation/
# ---------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hant"
LANGUAGES = [
    ("zh-hant", "繁體中文"),
    ("zh-hans", "简体中文"),
    ("en", "English"),
]
LOCALE_PATHS = [BASE_DIR / "archive" / "locale"]
LANGUAGE_COOKIE_NAME = "yc_language"
#: URL prefixes whose responses do not depend on the UI language: no
#: ``Vary: Accept-Language`` there, so caches keep one copy (IIIF images).
ARCHIVE_LANGUAGE_NEUTRAL_PREFIXES = ("/iiif/3/image/",)
TIME_ZONE = "Asia/Hong_Kong"
USE_I18N = True
USE_TZ = True
WAGTAIL_I18N_ENABLED = False
WAGTAILADMIN_PERMITTED_LANGUAGES = LANGUAGES

# ---------------------------------------------------------------------------
# Static files and stored files
# https://whitenoise.readthedocs.io/
# ---------------------------------------------------------------------------
STATIC_URL = "/static/"
#: The Mirador viewer, built by ``make install`` (``npm ci`` from package-lock.json,
#: then ``npm run build``: Mirador's ES build bundled with React in production
#: mode) and served as /static/mirador/mirador.min.js: no CDN at run time.
STATICFILES_DIRS = [("mirador", BASE_DIR / "node_modules" / ".yuecang" / "mirador")]
STATIC_ROOT = VAR_DIR / "static"
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
#: Originals and derivatives live here, content-addressed; only a door that
#: decided access serves them (itself, or nginx by ARCHIVE_ACCEL_REDIRECT).
ARCHIVE_STORAGE_ROOT = Path(
    env.str("ARCHIVE_STORAGE_ROOT", default=str(VAR_DIR / "storage"))
)
#: Behind nginx: the internal location prefix that serves ARCHIVE_STORAGE_ROOT
#: (docs/deploy/nginx.conf, ``/_storage/``). File doors then decide access and
#: answer with ``X-Accel-Redirect``; nginx sends the bytes and the ranges.
#: Empty: Django sends them (development, tests, no front server).
ARCHIVE_ACCEL_REDIRECT = env.str("ARCHIVE_ACCEL_REDIRECT", default="")
#: Wagtail images and documents (editorial uploads, not archival originals).
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"

# ---------------------------------------------------------------------------
# Archive: access and identifiers
# ---------------------------------------------------------------------------
#: CIDR ranges of the reading room: requests from them see reading-room material.
ARCHIVE_READING_ROOM_NETWORKS = env.list("ARCHIVE_READING_ROOM_NETWORKS", default=[])
#: How old a worker heartbeat may be before /healthz calls the worker down.
ARCHIVE_HEARTBEAT_MAX_AGE = env.int("ARCHIVE_HEARTBEAT_MAX_AGE", default=180)
#: Seconds between worker heartbeats (beat schedules them).
ARCHIVE_HEARTBEAT_INTERVAL = env.float("ARCHIVE_HEARTBEAT_INTERVAL", default=30.0)
#: Days between fixity checks of one original in the nightly sweep.
ARCHIVE_FIXITY_INTERVAL_DAYS = env.int("ARCHIVE_FIXITY_INTERVAL_DAYS", default=30)
#: The longest access grant staff may give, in days (archive.trust).
ARCHIVE_GRANT_MAX_DAYS = env.int("ARCHIVE_GRANT_MAX_DAYS", default=366)
#: Front servers whose ``X-Forwarded-For`` names the client (CIDR ranges, and
#: ``unix`` for a Unix socket): behind nginx, ``127.0.0.1/32`` or ``unix``. Empty:
#: REMOTE_ADDR is the client (no proxy). The reading room, the rate limits and
#: login throttling all use the address this yields (archive/middleware.py).
ARCHIVE_TRUSTED_PROXIES = env.list("ARCHIVE_TRUSTED_PROXIES", default=[])

# ---------------------------------------------------------------------------
# Rate limits for anonymous clients (archive/ratelimit.py, docs/deploy/hardening.md)
# ---------------------------------------------------------------------------
#: Off only in the test settings (tests that prove the limits turn them on).
ARCHIVE_RATELIMIT_ENABLED = True
#: Requests a minute one anonymous address (an IPv6 /64) may make in each scope.
#: Logged-in users and the reading room are never limited; 0 turns a scope off.
#: IIIF: a Mirador session asks for a few hundred tiles and info.json a minute
#: when zooming and paging quickly, and warm public tiles never reach Django
#: (nginx serves them); 6,000 leaves room for a dozen such readers behind one
#: school or library NAT while a scraper rendering uncached tiles is held to
#: 100 a second. Search: a person types a few queries a minute (Mirador's
#: autocomplete adds one a keystroke); 120 leaves room for a classroom.
#: Login: Wagtail's login page and the login of private pages.
ARCHIVE_RATELIMIT_IIIF = env.int("ARCHIVE_RATELIMIT_IIIF", default=6000)
ARCHIVE_RATELIMIT_SEARCH = env.int("ARCHIVE_RATELIMIT_SEARCH", default=120)
ARCHIVE_RATELIMIT_LOGIN = env.int("ARCHIVE_RATELIMIT_LOGIN", default=30)
#: scope -> URL path prefixes it covers.
#: The sign-in pages (Wagtail's, and the password page of the utility views).
ARCHIVE_LOGIN_PATHS = ("/admin/login/", "/_util/login/")
ARCHIVE_RATELIMIT_SCOPES = {
    "iiif": ("/iiif/3/",),
    "search": ("/search/", "/api/search", "/iiif/search/"),
    "login": ARCHIVE_LOGIN_PATHS,
}
#: The cache holding the counters: it must be shared by every web process
#: (Redis through DJANGO_CACHE_URL in production; see CACHES below).
RATELIMIT_USE_CACHE = "default"
#: A cache outage lets requests through rather than refusing every reader.
RATELIMIT_FAIL_OPEN = True

# ---------------------------------------------------------------------------
# Ingest: deliveries of page scans (docs/ingest-format.md, docs/ingest.md)
# ---------------------------------------------------------------------------
#: Largest page image accepted, in pixels (width x height), checked from the
#: header before anything is decoded: a decompression bomb is refused there.
INGEST_MAX_PIXELS = env.int("INGEST_MAX_PIXELS", default=400_000_000)
#: Largest zip an archivist may upload in the admin; larger deliveries go
#: through a server folder and ``manage.py ingest_dadian``.
INGEST_UPLOAD_MAX_BYTES = env.int("INGEST_UPLOAD_MAX_BYTES", default=2 * 1024**3)
#: Most bytes an uploaded zip may unpack to (scans compress little; bombs do).
INGEST_UNPACKED_MAX_BYTES = env.int("INGEST_UNPACKED_MAX_BYTES", default=8 * 1024**3)
#: Where uploaded zips are unpacked, one folder per job.
INGEST_UPLOAD_ROOT = Path(
    env.str("INGEST_UPLOAD_ROOT", default=str(VAR_DIR / "uploads"))
)
#: Longest recording accepted, in seconds (a file claiming more is refused).
INGEST_MEDIA_MAX_SECONDS = env.float("INGEST_MEDIA_MAX_SECONDS", default=86_400.0)
#: Parallel page processes of ``ingest_dadian`` when --workers is not given.
INGEST_WORKERS = env.int("INGEST_WORKERS", default=2)
#: A file claimed by a worker for longer than this is given to another on resume.
INGEST_STALL_SECONDS = env.int("INGEST_STALL_SECONDS", default=1800)
#: The nice value ingest and transcription processes lower themselves to, so
#: the web answers first on a shared machine (archive.priority); 0 leaves it.
ARCHIVE_BACKGROUND_NICE = env.int("ARCHIVE_BACKGROUND_NICE", default=10)

# ---------------------------------------------------------------------------
# Celery: the embedded broker needs no server; Redis or RabbitMQ at scale
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
# ---------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_FOLDER = Path(
    env.str("CELERY_BROKER_FOLDER", default=str(VAR_DIR / "broker"))
)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 600
CELERY_TASK_TIME_LIMIT = 900
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    "ingest.*": {"queue": "ingest"},
    # The search index has one writer: every write goes through this queue
    # (archive.search.indexing), consumed by one worker process.
    "archive.tasks.search_*": {"queue": "search"},
    # Bookkeeping of transcription runs anywhere; only engine runs need the transcribe queue.
    "transcription.tasks.consents_review_task": {"queue": "celery"},
    # Silenced listening copies decode and encode audio, like the engine runs.
    "transcription.tasks.listening_silenced_task": {"queue": "transcribe"},
    "transcription.*": {"queue": "transcribe"},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER / "queue"),
        "data_folder_out": str(CELERY_BROKER_FOLDER / "queue"),
        "control_folder": str(CELERY_BROKER_FOLDER / "control"),
        "store_processed": False,
    }

#: The function telling which passages of a recording are closed now
#: (``item=`` -> [(start, end), ...]); the original of such a recording is
#: then served to staff only (everyone else hears the silenced listening copy).
ARCHIVE_CLOSED_PASSAGES = "transcription.services.closed_ranges_for"

#: The template that shows an item's media on its public page, by item kind.
#: Settings, not imports, so ``archive`` stays independent of the apps that
#: provide the viewers (the IIIF viewer, the recording player).
ARCHIVE_ITEM_VIEWERS: dict[str, str] = {
    "book_volume": "iiif/item_viewer.html",
    "image_set": "iiif/item_viewer.html",
    "oral_history": "transcription/recording_player.html",
    "documentary_video": "transcription/recording_player.html",
}

# ---------------------------------------------------------------------------
# Search (the embedded engine or OpenSearch; built by the search issue)
# ---------------------------------------------------------------------------
SEARCH_BACKEND = env.str("SEARCH_BACKEND", default="embedded")
OPENSEARCH_URL = env.str("OPENSEARCH_URL", default="")
OPENSEARCH_INDEX = env.str("OPENSEARCH_INDEX", default="yuecang")
SEARCH_INDEX_DIR = Path(env.str("SEARCH_INDEX_DIR", default=str(VAR_DIR / "index")))
#: Seconds the embedded engine waits for the index writer held by another process.
SEARCH_WRITER_WAIT = env.float("SEARCH_WRITER_WAIT", default=60.0)
#: Changes queue indexing tasks (archive.search.indexing); off in the test settings.
SEARCH_AUTO_INDEX = env.bool("SEARCH_AUTO_INDEX", default=True)
#: Build the Cantonese word list and converters when the WSGI application loads
#: (archive.wsgi), not at a visitor's first search (about 10 s and 400 MiB).
#: With gunicorn's --preload the workers share one copy. On in production.
SEARCH_WARM_AT_START = env.bool("SEARCH_WARM_AT_START", default=False)

# ---------------------------------------------------------------------------
# IIIF (built by the IIIF issue)
# https://iiif.io/api/image/3.0/ (docs/architecture.md, Image API)
# ---------------------------------------------------------------------------
#: Base URL of the Image API; empty means the built-in one at /iiif/3/image/.
IIIF_IMAGE_BASE = env.str("IIIF_IMAGE_BASE", default="")
#: Scheme and host of the absolute URIs in IIIF documents; empty: the request's host.
IIIF_BASE_URL = env.str("IIIF_BASE_URL", default="")
#: Seconds shared caches may keep a public manifest or collection (Cache-Control).
IIIF_PRESENTATION_MAX_AGE = env.int("IIIF_PRESENTATION_MAX_AGE", default=300)
#: Seconds a serialized public manifest stays in Django's cache; edits renew it at once.
IIIF_MANIFEST_CACHE_TIMEOUT = env.int("IIIF_MANIFEST_CACHE_TIMEOUT", default=86400)
#: The Image API's image library, by dotted path (iiif/image_backend.py).
IIIF_IMAGE_BACKEND = env.str(
    "IIIF_IMAGE_BACKEND", default="iiif.image_backend.PyvipsBackend"
)
#: Largest image the Image API makes, declared in info.json and enforced (§5.2).
IIIF_MAX_WIDTH = env.int("IIIF_MAX_WIDTH", default=10_000)
IIIF_MAX_HEIGHT = env.int("IIIF_MAX_HEIGHT", default=10_000)
IIIF_MAX_AREA = env.int("IIIF_MAX_AREA", default=50_000_000)
#: On-disk cache of rendered public images; purged per image on withdrawal.
IIIF_CACHE_DIR = Path(env.str("IIIF_CACHE_DIR", default=str(VAR_DIR / "iiif-cache")))
#: Its budget in bytes (least recently used entries go first); 0 turns it off.
IIIF_CACHE_MAX_BYTES = env.int("IIIF_CACHE_MAX_BYTES", default=2 * 1024**3)

# ---------------------------------------------------------------------------
# Transcription (built by the transcription issue)
# ---------------------------------------------------------------------------
#: A faster-whisper model name or folder; "bundled" is the offline Whisper base.
WHISPER_MODEL = env.str("WHISPER_MODEL", default="bundled")
WHISPER_DEVICE = env.str("WHISPER_DEVICE", default="cpu")
WHISPER_COMPUTE_TYPE = env.str("WHISPER_COMPUTE_TYPE", default="int8")
TRANSCRIPTION_ENGINE = env.str(
    "TRANSCRIPTION_ENGINE", default="transcription.engines.FasterWhisperEngine"
)
#: Where the bundled model's two halves are joined on first use.
WHISPER_MODEL_CACHE = Path(
    env.str("WHISPER_MODEL_CACHE", default=str(VAR_DIR / "models"))
)
#: CPU threads of one transcription (0: all cores).
WHISPER_CPU_THREADS = env.int("WHISPER_CPU_THREADS", default=0)
#: Beam size: 1 (greedy) is several times faster on CPUs; 5 can be more accurate.
WHISPER_BEAM_SIZE = env.int("WHISPER_BEAM_SIZE", default=1)
#: Seconds of audio transcribed (and stored) per step: a crash loses at most one step.
TRANSCRIPTION_CHUNK_SECONDS = env.float("TRANSCRIPTION_CHUNK_SECONDS", default=120.0)
#: Wall-clock budget of one transcription, as a multiple of the audio's duration
#: (plus a minute for loading): a run that would exceed it stops as "partial".
TRANSCRIPTION_BUDGET_FACTOR = env.float("TRANSCRIPTION_BUDGET_FACTOR", default=1.0)
#: Transcribe every new recording as it is ingested.
TRANSCRIPTION_AUTO = env.bool("TRANSCRIPTION_AUTO", default=True)

# ---------------------------------------------------------------------------
# Wagtail
# https://docs.wagtail.org/en/stable/reference/settings.html
# ---------------------------------------------------------------------------
WAGTAIL_SITE_NAME = "粵藏 Yuecang"
WAGTAILADMIN_BASE_URL = env.str(
    "WAGTAILADMIN_BASE_URL", default="http://127.0.0.1:8000"
)
WAGTAILIMAGES_IMAGE_MODEL = "archive.ArchiveImage"
#: No Gravatar: staff e-mail hashes are not sent to a third party (and the admin
#: works on networks without internet access).
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["csv", "pdf", "txt", "zip"]
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000
#: Request bodies other than files (forms, the editor's JSON saves) are read
#: into memory up to this size, Django's default, written out so it is not
#: raised by accident; uploads are limited per form (INGEST_UPLOAD_MAX_BYTES,
#: the transcript import's limit, WAGTAILIMAGES_MAX_UPLOAD_SIZE) and by the
#: front server's client_max_body_size.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
#: Wagtail's own background work (reference index, file deletion) runs immediately.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

# ---------------------------------------------------------------------------
# Caches and logging
# ---------------------------------------------------------------------------
#: Files under var/ by default (shared by the processes of one machine, but
#: its increments are not atomic: rate-limit counts may run a little low);
#: ``redis://host:6379/1`` in production, so every web process shares the
#: manifests and the rate limits' counters.
CACHES = {
    "default": env.cache_url(
        "DJANGO_CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}"
    )
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {
        "handlers": ["console"],
        "level": env.str("DJANGO_LOG_LEVEL", default="INFO"),
    },
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django_tasks": {"level": "WARNING"},
        # libvips logs an INFO line per image operation.
        "pyvips": {"level": "WARNING"},
    },
}

# ---------------------------------------------------------------------------
# Security flags that are safe everywhere; production adds the HTTPS-only ones
# https://docs.djangoproject.com/en/5.2/ref/middleware/#module-django.middleware.security
# ---------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# ---------------------------------------------------------------------------
# Content Security Policy, in every environment so every browser test runs under it
# https://django-csp.readthedocs.io/en/latest/configuration.html
# ---------------------------------------------------------------------------
#: Public pages and our own admin pages. No inline script anywhere: templates
#: pass data in data- attributes or JSON islands and static files run it
#: (``{{ request.csp_nonce }}`` if a page ever must inline one). Styles may be
#: inline: Mirador (MUI and emotion) injects its own. Everything loads from
#: this site: Mirador opens only our manifests (the compare page takes item
#: identifiers), so another site's manifest or tiles are refused here too. No
#: page may be framed; the IIIF endpoints are read by other sites' viewers
#: through CORS, which CSP does not govern (the Image API sets its own stricter
#: policy, iiif/image_views.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "media-src": [SELF],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
#: Wagtail's admin (under ``/admin/``) cannot run under the policy above: its
#: date and time widgets and inline panels write inline scripts, and its
#: accessibility checker compiles templates with ``new Function``. It gets this
#: looser policy (archive.middleware.ContentSecurityPolicyMiddleware): inline
#: scripts and eval allowed, but still nothing from another site, and framed
#: only by itself (the preview panel). Past its login page, only staff reach it.
ARCHIVE_ADMIN_CONTENT_SECURITY_POLICY = {
    "default-src": [SELF],
    "script-src": [SELF, UNSAFE_INLINE, UNSAFE_EVAL],
    "style-src": [SELF, UNSAFE_INLINE],
    "img-src": [SELF, "data:", "blob:"],
    "media-src": [SELF, "blob:"],
    "font-src": [SELF, "data:"],
    "connect-src": [SELF],
    "frame-src": [SELF],
    "worker-src": [SELF, "blob:"],
    "object-src": [NONE],
    "base-uri": [SELF],
    "form-action": [SELF],
    "frame-ancestors": [SELF],
}
#: The path prefix of Wagtail's admin, which gets the looser policy ...
ARCHIVE_CSP_ADMIN_PREFIX = "/admin/"
#: ... except our own admin pages, written without inline script: the
#: transcript editor, the ingest pages and the search index page keep the
#: strict policy.
ARCHIVE_CSP_STRICT_ADMIN_PREFIXES = (
    "/admin/transcription/transcripts/",
    "/admin/ingest/",
    "/admin/search-index/",
)
