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

Counting uses django-ratelimit's fixed windows in the ``default`` cache, which
must be shared by every web process (Redis in production,
docs/deploy/hardening.md). If the cache fails, requests go through
(``RATELIMIT_FAIL_OPEN``): a read-only archive stays open rather than refuse
everyone.
"""

from __future__ import annotations

import ipaddress
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django_ratelimit.core import get_usage

from archive.access import in_reading_room

logger = logging.getLogger(__name__)

#: Seconds in one window of the limits.
WINDOW = 60


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
        scope = scope_for(request.path_info)
        if scope is None or scope_limit(scope) <= 0 or _exempt(request):
            return None
        try:
            usage = scope_usage(request, scope, increment=True)
        except Exception:  # a cache outage must not close the archive
            logger.warning("rate limit: the cache failed; not limiting", exc_info=True)
            return None
        if usage is None or not usage["should_limit"]:
            return None
        if usage["count"] == usage["limit"] + 1:
            logger.warning(
                "rate limit: %s over %d requests a minute on %s (%s)",
                client_key(request),
                usage["limit"],
                scope,
                request.path_info,
            )
        # django-ratelimit's window still holds at its last second (time_left 0).
        return too_many_requests(request, max(1, int(usage["time_left"]) + 1))


def scope_usage(request: HttpRequest, scope: str, *, increment: bool) -> dict | None:
    """The client's count in ``scope``'s current window (django-ratelimit's usage dict).

    ``increment`` counts this request. None when django-ratelimit is off or the
    cache failed (``RATELIMIT_FAIL_OPEN``); a cache that raises, raises.
    """
    client = client_key(request)
    return get_usage(
        request,
        group=f"archive.{scope}",
        key=lambda group, request: client,
        rate=(scope_limit(scope), WINDOW),
        increment=increment,
    )


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
