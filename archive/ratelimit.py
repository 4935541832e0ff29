"""Rate limits: anonymous clients on search, IIIF and login; the answer to a locked-out login.

The public doors that cost the most to answer (rendering an uncached tile,
building a manifest, running a search) are the ones a scraper or a flood
would use. Each anonymous client address (an IPv6 address counts by its /64,
as one household or phone does) may make ``ARCHIVE_RATELIMIT_<SCOPE>``
requests a minute in each scope of ``ARCHIVE_RATELIMIT_SCOPES``; the next ones
answer 429 until the minute ends. Logged-in users and the reading room are
never limited. The defaults sit far above what readers do (see the settings):
a limit that a viewer's burst of tiles could reach would be a fault, not a
protection.

Counting uses fixed one-minute windows (each address's window starts at its
own second of the minute, so windows do not all turn at once) in the cache
``RATELIMIT_USE_CACHE``, which must be shared by every web process (Redis in
production, docs/deploy/hardening.md). If the cache fails, requests go through
(``RATELIMIT_FAIL_OPEN``): a read-only archive stays open rather than refuse
everyone.

A scope with a large limit is counted in batches: each process adds its
requests to the shared count every ``limit // BATCH_DIVISOR`` requests (60 for
IIIF's 6,000) and decides on the shared count it last saw plus its own since.
Counting every tile in the shared cache took more time than serving the tile
(docs/performance.md). A client may so pass its limit by less than a batch
for each web process (1 % a process) before it is refused; scopes with small
limits (search, login) are counted one request at a time, exactly.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
import zlib

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from archive.access import in_reading_room

logger = logging.getLogger(__name__)

#: Seconds in one window of the limits.
WINDOW = 60
#: A scope is counted in batches of ``limit // BATCH_DIVISOR`` requests a process.
BATCH_DIVISOR = 100
#: The cache keys' prefix.
KEY_PREFIX = "archive.rl"


def client_key(request: HttpRequest) -> str:
    """The address a client is counted by: its IPv4 address, or its IPv6 /64."""
    addr = request.META.get("REMOTE_ADDR", "")
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return addr or "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def scope_for(path: str) -> str | None:
    """The rate-limit scope a path belongs to, or None."""
    for scope, prefixes in settings.ARCHIVE_RATELIMIT_SCOPES.items():
        if path.startswith(tuple(prefixes)):
            return scope
    return None


def scope_limit(scope: str) -> int:
    """Requests a minute allowed in ``scope`` (``ARCHIVE_RATELIMIT_<SCOPE>``; 0: none)."""
    return int(getattr(settings, f"ARCHIVE_RATELIMIT_{scope.upper()}", 0) or 0)


def _exempt(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return True
    return in_reading_room(request)


def too_many_requests(request: HttpRequest, retry_after: int) -> HttpResponse:
    """429 with ``Retry-After``, never cached, with CORS on IIIF paths (viewers can read it)."""
    response = HttpResponse(
        _(
            "Too many requests from your address. Please wait %(seconds)d seconds "
            "and try again."
        )
        % {"seconds": retry_after}
        + "\n",
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "private, no-store"
    if request.path_info.startswith("/iiif/"):
        response["Access-Control-Allow-Origin"] = "*"
    return response


class RateLimitMiddleware:
    """Answer 429 to an anonymous client over its limit in a scope (search, IIIF, login)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.ARCHIVE_RATELIMIT_ENABLED:
            refused = self._check(request)
            if refused is not None:
                return refused
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> HttpResponse | None:
        usage = _counted(request)
        if usage is None or not usage["should_limit"]:
            return None
        if usage["count"] == usage["limit"] + 1:
            logger.warning(
                "rate limit: %s over %d requests a minute on %s (%s)",
                client_key(request),
                usage["limit"],
                scope_for(request.path_info),
                request.path_info,
            )
        # A new window starts exactly time_left seconds from now.
        return too_many_requests(request, max(1, int(usage["time_left"])))


def _counted(request: HttpRequest) -> dict | None:
    """Count the request in its scope; its usage, or None when it is not limited."""
    scope = scope_for(request.path_info)
    if scope is None or scope_limit(scope) <= 0 or _exempt(request):
        return None
    try:
        return scope_usage(request, scope, increment=True)
    except Exception:  # a cache outage must not close the archive
        logger.warning("rate limit: the cache failed; not limiting", exc_info=True)
        return None


def over_limit(request: HttpRequest) -> bool:
    """Count a request as the middleware would; whether it must be refused.

    For a path that answers before :class:`RateLimitMiddleware` runs
    (``iiif.middleware.PublicImageMiddleware``); it must then leave a refused
    request to the middleware, which counts it once more and answers 429.
    """
    if not settings.ARCHIVE_RATELIMIT_ENABLED:
        return False
    usage = _counted(request)
    return usage is not None and usage["should_limit"]


def batch_size(limit: int) -> int:
    """How many requests a process gathers before adding them to the shared count."""
    return max(1, limit // BATCH_DIVISOR)


def _window_end(client: str) -> int:
    """When the client's current window ends (a fixed minute, offset by the client)."""
    now = int(time.time())
    offset = zlib.crc32(client.encode("utf-8")) % WINDOW
    return now - ((now - offset) % WINDOW) + WINDOW


class _Counts:
    """This process's requests not yet added to the shared counts, and the counts last seen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str, int], int] = {}
        self._seen: dict[tuple[str, str, int], int] = {}

    def add(self, key: tuple[str, str, int], batch: int) -> tuple[int, int]:
        """Count one request; returns (requests to add to the shared count now, count)."""
        with self._lock:
            pending = self._pending.get(key, 0) + 1
            if pending >= batch:
                self._pending[key] = 0
                return pending, self._seen.get(key, 0)
            self._pending[key] = pending
            return 0, self._seen.get(key, 0) + pending

    def pending(self, key: tuple[str, str, int]) -> int:
        with self._lock:
            return self._pending.get(key, 0)

    def saw(self, key: tuple[str, str, int], shared: int) -> int:
        """Record the shared count just read; returns it plus what is pending here."""
        with self._lock:
            self._seen[key] = shared
            if len(self._seen) > 4096 or len(self._pending) > 4096:
                self._forget_ended()
            return shared + self._pending.get(key, 0)

    def _forget_ended(self) -> None:
        now = time.time()
        for table in (self._seen, self._pending):
            for key in [k for k in table if k[2] <= now]:
                del table[key]

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()
            self._seen.clear()


_counts = _Counts()


def _shared_add(cache, key: str, amount: int) -> int | None:
    """Add to a shared count, creating it for the window; None when the cache fails."""
    if amount <= 0:
        value = cache.get(key, 0)
        return value if isinstance(value, int) else None
    if cache.add(key, amount, WINDOW + 5):
        return amount
    try:
        return cache.incr(key, amount)
    except ValueError:  # expired between add and incr: a new window
        return amount if cache.add(key, amount, WINDOW + 5) else None


def scope_usage(request: HttpRequest, scope: str, *, increment: bool) -> dict | None:
    """The client's count in ``scope``'s current window.

    ``increment`` counts this request (in this process's batch, or in the
    shared cache when the batch is full). Returns ``count``, ``limit``,
    ``should_limit`` and ``time_left`` (seconds until the window ends), or None
    when the cache failed and ``RATELIMIT_FAIL_OPEN`` is set; a cache that
    raises, raises.
    """
    client = client_key(request)
    limit = scope_limit(scope)
    window = _window_end(client)
    local = (scope, client, window)
    cache = caches[settings.RATELIMIT_USE_CACHE]
    key = f"{KEY_PREFIX}:{scope}:{client}:{window}"
    if increment:
        flush, count = _counts.add(local, batch_size(limit))
        if flush:
            shared = _shared_add(cache, key, flush)
            count = None if shared is None else _counts.saw(local, shared)
    else:
        shared = _shared_add(cache, key, 0)
        count = None if shared is None else shared + _counts.pending(local)
    if count is None:
        if settings.RATELIMIT_FAIL_OPEN:
            return None
        return {"count": 0, "limit": 0, "should_limit": True, "time_left": -1}
    return {
        "count": count,
        "limit": limit,
        "should_limit": count > limit,
        "time_left": window - int(time.time()),
    }


def login_locked_out(request: HttpRequest, response=None, credentials=None):
    """django-axes' answer when a (username, address) pair is locked out: 429, plain text."""
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    locked = HttpResponse(
        _(
            "Too many failed logins for this username from your address. Try again "
            "in %(minutes)d minutes, or ask an administrator to unlock it."
        )
        % {"minutes": minutes}
        + "\n",
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    locked["Retry-After"] = str(minutes * 60)
    locked["Cache-Control"] = "private, no-store"
    return locked
