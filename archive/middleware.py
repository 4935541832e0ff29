"""Middleware: the client's address behind a proxy, each page's CSP, the 繁/简 display."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from csp.middleware import CSPMiddleware, PolicyParts
from csp.utils import default_config
from django.conf import settings
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils.translation import get_language

#: Cookie holding the display script: ``hant``, ``hans`` or ``orig`` (as stored).
SCRIPT_COOKIE = "yc_script"
SCRIPTS = ("orig", "hant", "hans")


def script_for(request) -> str:
    """Return the display script: the cookie if set, else what the UI language suggests."""
    chosen = request.COOKIES.get(SCRIPT_COOKIE, "")
    if chosen in SCRIPTS:
        return chosen
    language = (get_language() or "").lower()
    if language == "zh-hans":
        return "hans"
    if language == "zh-hant":
        return "hant"
    return "orig"


class ScriptPreferenceMiddleware:
    """Attach ``request.display_script`` (after LocaleMiddleware chose the language)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.display_script = script_for(request)
        return self.get_response(request)


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Django's LocaleMiddleware, minus ``Vary``/``Content-Language`` on language-neutral URLs.

    Immutable IIIF tiles are the same in every language; varying them on
    Accept-Language would split every cache's copy by browser language.
    """

    def process_response(self, request, response):
        if request.path.startswith(tuple(settings.ARCHIVE_LANGUAGE_NEUTRAL_PREFIXES)):
            return response
        return super().process_response(request, response)


# Client address ------------------------------------------------------------

#: The ``ARCHIVE_TRUSTED_PROXIES`` entry that trusts a Unix socket (no address).
UNIX_SOCKET = "unix"


@lru_cache(maxsize=8)
def _proxies(spec: tuple[str, ...]) -> tuple[bool, tuple]:
    entries = [s.strip() for s in spec if s.strip()]
    networks = tuple(
        ipaddress.ip_network(s, strict=False) for s in entries if s != UNIX_SOCKET
    )
    return UNIX_SOCKET in entries, networks


def _trusted_proxy(addr: str) -> bool:
    unix, networks = _proxies(tuple(settings.ARCHIVE_TRUSTED_PROXIES))
    if not addr:
        return unix
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in net for net in networks)


class ClientAddressMiddleware:
    """Make ``REMOTE_ADDR`` the client's address when a trusted front server sent the request.

    Behind nginx, ``REMOTE_ADDR`` is nginx's own address, which would put every
    visitor in one rate-limit bucket and, were it listed, in the reading room.
    When the connection comes from ``ARCHIVE_TRUSTED_PROXIES``, the last entry
    of ``X-Forwarded-For`` (the one that proxy wrote; anything before it came
    from the client and is not trusted) replaces it, and the proxy's address is
    kept in ``request.META["ARCHIVE_PROXY_ADDR"]``. A header that is missing or
    not an address leaves ``REMOTE_ADDR`` as it is.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        addr = request.META.get("REMOTE_ADDR", "")
        if settings.ARCHIVE_TRUSTED_PROXIES and _trusted_proxy(addr):
            forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
            client = forwarded.rsplit(",", 1)[-1].strip()
            try:
                ipaddress.ip_address(client)
            except ValueError:
                pass
            else:
                request.META["ARCHIVE_PROXY_ADDR"] = addr
                request.META["REMOTE_ADDR"] = client
        return self.get_response(request)


# Content Security Policy ---------------------------------------------------


def admin_policy_applies(path: str) -> bool:
    """Whether ``path`` gets the admin's looser policy (Wagtail's own admin pages)."""
    return path.startswith(settings.ARCHIVE_CSP_ADMIN_PREFIX) and not path.startswith(
        tuple(settings.ARCHIVE_CSP_STRICT_ADMIN_PREFIXES)
    )


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the admin's own policy on Wagtail's admin pages.

    Wagtail's admin needs inline scripts and eval (settings,
    ``ARCHIVE_ADMIN_CONTENT_SECURITY_POLICY``); our own admin pages listed in
    ``ARCHIVE_CSP_STRICT_ADMIN_PREFIXES`` keep the strict policy. A view's
    ``csp_update``/``csp_replace`` decorators still apply on top, and a
    response that already carries a policy (the Image API's) keeps it.
    """

    def get_policy_parts(
        self, request, response, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if (
            not report_only
            and parts.config is None
            and admin_policy_applies(request.path_info)
        ):
            parts.config = default_config(
                settings.ARCHIVE_ADMIN_CONTENT_SECURITY_POLICY
            )
        return parts


#: Where the IIIF Authorization Flow's access service lives (``iiif.auth_urls``).
AUTH_ACCESS_PREFIX = "/iiif/auth/access/"


class AuthWindowOpenerMiddleware:
    """Keep a IIIF viewer's sign-in window attached to the viewer that opened it.

    A viewer (Mirador on any site) opens the access service in a new window
    and watches for it to close before asking for a token (Auth 2.0 §3.3).
    Django's default ``Cross-Origin-Opener-Policy: same-origin`` would cut
    that window from a viewer on another site at its first page, so the
    viewer would see it closed at once and never get a token. The access
    page, and the login pages on the way back to it (``?next=`` pointing to
    it), say ``unsafe-none``; every other page keeps ``same-origin``.
    Placed after ``SecurityMiddleware``, which only fills the header in when
    it is missing.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path_info.startswith(AUTH_ACCESS_PREFIX) or (
            request.path_info in settings.ARCHIVE_LOGIN_PATHS
            and _next_of(request).startswith(AUTH_ACCESS_PREFIX)
        ):
            response["Cross-Origin-Opener-Policy"] = "unsafe-none"
        return response


def _next_of(request) -> str:
    where = request.GET.get("next", "")
    if not where and request.method == "POST":
        where = request.POST.get("next", "")
    return where
