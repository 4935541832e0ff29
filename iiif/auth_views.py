"""IIIF Authorization Flow 2.0 doors: probes, the access page, the token and logout services.

Thin adapters (STYLE.md §6) over :mod:`iiif.auth`:

* ``/iiif/auth/probe/image/{image}`` and ``/iiif/auth/probe/media/{item}/{asset}``
  answer an ``AuthProbeResult2`` (Auth 2.0 §5.2). The HTTP status is always
  200 (the spec requires it); ``status`` inside is what the resource's own
  door would answer the same visitor, decided by
  :func:`archive.access.decide` for the bearer token's user (or, without a
  token, the session's) on this request's network. CORS ``*``: clients send
  the token, not cookies, and the answer says nothing of the record.
* ``/iiif/auth/access/{reason}`` is the access service (profile ``active``,
  §3.3.1): for a signed-in visitor a page that closes itself; otherwise why
  the material is closed and a link to the site's login page
  (``settings.LOGIN_URL``), which comes back here after sign-in.
* ``/iiif/auth/token`` is the token service (§4.2, §4.3): a 200 HTML page, made
  to be framed by any client, whose static script posts the message from a
  JSON island to the parent window (no inline script: a strict CSP holds).
* ``/iiif/auth/logout`` is the logout service (§6): a page with a sign-out
  button (a POST with a CSRF token, so no other site can sign a visitor out),
  which ends the session and voids its tokens.
"""

from __future__ import annotations

import json
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout as auth_logout
from django.http import HttpResponse
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.formats import date_format
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_http_methods, require_safe

from archive.access import decide
from archive.models import Asset, Item, PageImage
from iiif import auth
from iiif.identifiers import parse_image_identifier

PRIVATE_CACHE = "private, no-store"
PROBE_METHODS = "GET, HEAD, OPTIONS"
#: Probe answers are JSON and never run anything.
PROBE_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"


def _token_page_csp() -> str:
    """The token page's policy: its one static script, and any client may frame it (§4.2)."""
    static = settings.STATIC_URL or ""
    script = "'self'"
    if static.startswith(("http://", "https://")):
        script += " " + "/".join(static.split("/", 3)[:3])
    return (
        f"default-src 'none'; script-src {script}; base-uri 'none'; "
        "form-action 'none'; frame-ancestors *"
    )


# ---------------------------------------------------------------------------
# Probes (Auth 2.0 §5)
# ---------------------------------------------------------------------------


def _probe_answer(request, data: dict | None, *, status: int = 200) -> HttpResponse:
    accept = request.headers.get("Accept", "")
    content_type = (
        f'application/ld+json;profile="{auth.AUTH_CONTEXT}"'
        if "application/ld+json" in accept
        else "application/json"
    )
    body = "" if data is None else json.dumps(data, ensure_ascii=False)
    response = HttpResponse(body, status=status, content_type=content_type)
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = PRIVATE_CACHE
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = PROBE_CSP
    # The answer depends on the token, the session and the network.
    patch_vary_headers(response, ["Accept", "Authorization", "Cookie"])
    return response


def _not_found(request) -> HttpResponse:
    return _probe_answer(request, {"status": 404, "error": "Not found."}, status=404)


def _probe(view):
    """Wrap a probe: CORS preflight (the Authorization header needs one), safe methods."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method == "OPTIONS":
            response = _probe_answer(request, None, status=204)
            response["Allow"] = PROBE_METHODS
            response["Access-Control-Allow-Methods"] = PROBE_METHODS
            response["Access-Control-Allow-Headers"] = "Authorization, Accept"
            response["Access-Control-Max-Age"] = "86400"
            return response
        return view(request, *args, **kwargs)

    return require_http_methods(["GET", "HEAD", "OPTIONS"])(wrapper)


@_probe
def probe_image(request, image: str):
    """The probe of a page image (``/iiif/auth/probe/image/{image}``): would its images load?"""
    ident = parse_image_identifier(image)
    if ident is None or ident.versioned:
        return _not_found(request)
    page = (
        PageImage.objects.select_related("item", "asset", "asset__item")
        .filter(public_id=ident.public_id)
        .first()
    )
    if page is None:
        return _not_found(request)
    decision = auth.image_decision(auth.probe_user(request), page, request)
    found = None if decision.allowed else auth.page_restriction(page)
    return _probe_answer(request, auth.probe_result(decision, found))


@_probe
def probe_media(request, item: str, asset: int):
    """The probe of a recording's file (``/iiif/auth/probe/media/{item}/{asset}``)."""
    obj = Item.objects.filter(public_id=item).first()
    if obj is None:
        return _not_found(request)
    user = auth.probe_user(request)
    target = obj.assets.filter(pk=asset, role=Asset.Role.MEDIA).first()
    if target is None:
        # As the media door: the item's refusal first, then 404.
        decision = decide(user, obj, request)
        if decision.allowed:
            return _not_found(request)
        found = auth.restriction(item=obj)
    else:
        decision = decide(user, target, request)
        found = None if decision.allowed else auth.restriction(item=obj, asset=target)
    return _probe_answer(request, auth.probe_result(decision, found))


# ---------------------------------------------------------------------------
# The access service (§3), the token service (§4), the logout service (§6)
# ---------------------------------------------------------------------------


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = PRIVATE_CACHE
    return response


@require_safe
def access(request, reason: str):
    """The access service: sign in (or say how else to see the material), then close."""
    found = auth.restriction_from_slug(reason)
    if found is None:
        return _private(
            HttpResponse("Not found.\n", status=404, content_type="text/plain")
        )
    origin = auth.origin_clean(request.GET.get("origin", ""))
    here = reverse("iiif_auth_access", args=[found.slug])
    if origin:
        here = f"{here}?{urlencode({'origin': origin})}"
    heading, note = auth.HEADING_LOGIN, auth.NOTE_LOGIN
    if found.reason == auth.Reason.READING_ROOM:
        heading, note = auth.HEADING_READING_ROOM, auth.NOTE_READING_ROOM
    elif found.reason == auth.Reason.EMBARGO:
        heading, note = auth.HEADING_EMBARGO, auth.NOTE_EMBARGO
    if found.until is not None:
        day = {"date": date_format(found.until, "DATE_FORMAT")}
        heading, note = str(heading) % day, str(note) % day
    context = {
        "signed_in": request.user.is_authenticated,
        "heading": heading,
        "note": note,
        "until": found.until,
        "login_url": f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': here})}",
        "logout_url": reverse("iiif_auth_logout"),
    }
    return _private(render(request, "iiif/auth/access.html", context))


@require_safe
@xframe_options_exempt
def token(request):
    """The access token service: a page that posts a token (or an error) to its parent."""
    message, target = auth.token_answer(request)
    response = render(
        request,
        "iiif/auth/token.html",
        {"data": {"message": message, "origin": target}},
    )
    response["Content-Security-Policy"] = _token_page_csp()
    response["Referrer-Policy"] = "no-referrer"
    return _private(response)


@require_http_methods(["GET", "HEAD", "POST"])
def logout(request):
    """The logout service: a sign-out button (GET), then the session ends (POST)."""
    signed_out = False
    if request.method == "POST" and request.user.is_authenticated:
        auth.session_revoke(session_key=request.session.session_key)
        auth_logout(request)
        signed_out = True
    context = {"signed_in": request.user.is_authenticated, "signed_out": signed_out}
    return _private(render(request, "iiif/auth/logout.html", context))
