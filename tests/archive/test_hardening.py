"""Hardening: error pages, production settings, CSP headers, login throttling, CSRF, uploads.

Each test removes a doubt about one protection: no traceback or internal
detail reaches the public; production refuses to start without its secret and
passes ``check --deploy`` with no warning; every page carries the policy meant
for it and no template of ours holds an inline script; five wrong passwords
lock that username at that address and nothing else; no routed URL accepts a
POST without a CSRF token; oversize and wrong-type uploads are refused with a
message. Rate limits are in test_ratelimit.py, the policy in a real browser in
test_csp_browser.py.
"""

from __future__ import annotations

import datetime as dt
import importlib
import io
import os
import re
import secrets
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from django.core.exceptions import (
    ImproperlyConfigured,
    PermissionDenied,
    SuspiciousOperation,
)
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import Resolver404, include, path, resolve
from django.urls.converters import get_converters

from archive.models import Asset, Item
from archive.services import asset_create
from tests.archive.doors import routed_patterns
from tests.archive.factories import InstitutionFactory, ItemFactory, make_user
from tests.live import production_environment

ROOT = Path(__file__).resolve().parents[2]
APPS = ("archive", "iiif", "transcription", "themes", "ingest")


# --------------------------------------------------------------------------
# No stack traces to the public. This module is also a tiny URLconf: three
# views that fail in the three ways a view can, in front of the real URLs
# (the error pages link to them).
# --------------------------------------------------------------------------

SECRET_DETAIL = "/srv/yuecang/secret-internal-detail.py"


def _boom(request):
    raise RuntimeError(f"database password leaked at {SECRET_DETAIL}")


def _denied(request):
    raise PermissionDenied(SECRET_DETAIL)


def _bad(request):
    raise SuspiciousOperation(SECRET_DETAIL)


urlpatterns = [
    path("test-boom/", _boom),
    path("test-denied/", _denied),
    path("test-bad/", _bad),
    path("", include("archive.urls")),
]


@pytest.fixture
def failing_views(settings, client):
    settings.ROOT_URLCONF = __name__
    client.raise_request_exception = False
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _no_internals(response) -> str:
    html = response.content.decode()
    for leak in (SECRET_DETAIL, "Traceback", "RuntimeError", "Exception", "File "):
        assert leak not in html, f"{leak!r} in the {response.status_code} page"
    return html


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url, status, heading",
    [
        ("/test-boom/", 500, "Something went wrong"),
        ("/test-denied/", 403, "You may not open this page"),
        ("/test-bad/", 400, "Bad request"),
        ("/no-such-page/at-all/", 404, "Page not found"),
    ],
)
def test_error_pages_say_nothing_technical(failing_views, url, status, heading):
    response = failing_views.get(url)
    assert response.status_code == status
    html = _no_internals(response)
    assert f"<h1>{heading}</h1>" in html


@pytest.mark.django_db
def test_an_unknown_host_gets_the_plain_400_page(client):
    response = client.get(
        "/", HTTP_HOST="attacker.example.net", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    html = _no_internals(response)
    assert "<h1>Bad request</h1>" in html and "attacker.example.net" not in html


# --------------------------------------------------------------------------
# Production settings: secrets only from the environment, check --deploy clean
# --------------------------------------------------------------------------

PRODUCTION = "archive.settings.production"


def _production_settings(monkeypatch, **environment):
    """Import the production settings module afresh under ``environment``."""
    for name in list(os.environ):
        if name.startswith("DJANGO_"):
            monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    sys.modules.pop(PRODUCTION, None)
    try:
        return importlib.import_module(PRODUCTION)
    finally:
        sys.modules.pop(PRODUCTION, None)


def test_production_needs_a_long_secret_from_the_environment(monkeypatch):
    hosts = {"DJANGO_ALLOWED_HOSTS": "archive.example.org"}
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY must be set"):
        _production_settings(monkeypatch, **hosts)
    with pytest.raises(ImproperlyConfigured, match="too short"):
        _production_settings(monkeypatch, DJANGO_SECRET_KEY="x" * 49, **hosts)
    with pytest.raises(ImproperlyConfigured):  # no host list: no default either
        _production_settings(monkeypatch, DJANGO_SECRET_KEY=secrets.token_urlsafe(64))


def test_production_settings_are_safe_whatever_the_environment_says(monkeypatch):
    s = _production_settings(
        monkeypatch,
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="archive.example.org",
        DJANGO_DEBUG="true",  # a development habit: production ignores it
    )
    assert s.DEBUG is False
    assert s.SESSION_COOKIE_SECURE and s.CSRF_COOKIE_SECURE and s.LANGUAGE_COOKIE_SECURE
    assert s.SESSION_COOKIE_HTTPONLY and s.SECURE_SSL_REDIRECT
    assert s.SECURE_HSTS_SECONDS >= 31536000 and s.SECURE_HSTS_INCLUDE_SUBDOMAINS
    directives = s.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    assert directives["upgrade-insecure-requests"] is True
    assert "'unsafe-inline'" not in directives["script-src"]
    assert s.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert s.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"
    assert "archive.ratelimit.RateLimitMiddleware" in s.MIDDLEWARE
    assert s.ARCHIVE_RATELIMIT_ENABLED is True


def test_check_deploy_is_clean_as_deployed(tmp_path):
    """``check --deploy`` with the environment docs/deploy/hardening.md describes."""
    env = production_environment(
        DJANGO_ALLOWED_HOSTS="archive.example.org",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://archive.example.org",
        DJANGO_CACHE_URL="redis://127.0.0.1:6379/1",
        DATABASE_URL="postgres://archive@127.0.0.1:5432/archive",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        ARCHIVE_TRUSTED_PROXIES="unix,127.0.0.1/32",
        YUECANG_VAR_DIR=str(tmp_path),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in output, output


# --------------------------------------------------------------------------
# Content Security Policy: the header each kind of page gets; no inline script
# --------------------------------------------------------------------------


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:]
        for part in (p.strip() for p in header.split(";"))
        if part
    }


@pytest.mark.django_db
def test_public_pages_get_the_strict_policy(client):
    policy = _policy(client.get("/institutions/"))
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["base-uri"] == ["'self'"]
    assert "'unsafe-eval'" not in policy["script-src"]


@pytest.mark.django_db
def test_the_admin_gets_its_looser_policy_and_our_admin_pages_the_strict_one(
    client,
):
    login = _policy(client.get("/admin/login/"))
    assert "'unsafe-inline'" in login["script-src"]
    assert login["frame-ancestors"] == ["'self'"]
    assert login["object-src"] == ["'none'"]
    assert login["connect-src"] == ["'self'"]
    client.force_login(
        make_user(
            "archivist",
            groups=["Archivists"],
            institution=InstitutionFactory(code="csp"),
        )
    )
    assert "'unsafe-inline'" in _policy(client.get("/admin/"))["script-src"]
    for ours in ("/admin/ingest/", "/admin/search-index/"):
        response = client.get(ours)
        assert response.status_code == 200, ours
        assert _policy(response)["script-src"] == ["'self'"], ours


@pytest.mark.django_db
def test_image_api_answers_keep_their_own_policy(client):
    response = client.get("/iiif/3/image/no-such-image/info.json")
    assert response.status_code == 404
    assert response["Content-Security-Policy"] == (
        "default-src 'none'; frame-ancestors 'none'; sandbox"
    )


#: A <script> element: the attributes and the first characters of its content.
SCRIPT = re.compile(r"<script\b([^>]*)>(.{0,1})", re.I | re.S)
#: An event handler attribute inside a tag (onclick=, onload= ...).
HANDLER = re.compile(r"<[a-z][^<>]*\son[a-z]+\s*=", re.I | re.S)
DATA_ISLAND = re.compile(r"""type=["']application/(ld\+)?json["']""", re.I)
JAVASCRIPT_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.I)


def _templates():
    for app in APPS:
        yield from sorted((ROOT / app / "templates").rglob("*.html"))


def test_no_template_of_ours_runs_inline_script():
    found = []
    for template in _templates():
        text = template.read_text(encoding="utf-8")
        where = (
            template.relative_to(ROOT) if template.is_relative_to(ROOT) else template
        )
        for match in SCRIPT.finditer(text):
            attributes, content = match.groups()
            if "src=" in attributes and content == "<":
                continue  # <script src=...></script>
            if DATA_ISLAND.search(attributes):
                continue  # data, never run
            found.append(f"{where}: inline <script{attributes}>")
        found += [f"{where}: {m.group(0)!r}" for m in HANDLER.finditer(text)]
        found += [f"{where}: a javascript: URL" for _ in JAVASCRIPT_URL.finditer(text)]
    assert len(list(_templates())) > 40
    assert found == [], "\n".join(found)


# --------------------------------------------------------------------------
# Login throttling (django-axes) on the admin's login page
# --------------------------------------------------------------------------

ATTACKER = "203.0.113.66"
COLLEAGUE = "198.51.100.20"
PASSWORD = "the-right-password-1938"


@pytest.fixture
def axes(settings, db):
    settings.AXES_ENABLED = True
    make_user("archivist", password=PASSWORD)
    make_user("curator", password=PASSWORD)
    return settings


def _login(username: str, password: str, address: str):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(
        "/admin/login/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )
    return response, "_auth_user_id" in client.session


def test_five_wrong_passwords_lock_that_username_at_that_address(axes):
    assert axes.AXES_FAILURE_LIMIT == 5
    for attempt in range(1, 5):
        response, _ = _login("archivist", "guess", ATTACKER)
        assert response.status_code == 200, attempt  # the form, with its error
    fifth, _ = _login("archivist", "guess", ATTACKER)
    assert fifth.status_code == 429

    refused, logged_in = _login("archivist", PASSWORD, ATTACKER)
    assert refused.status_code == 429 and not logged_in
    assert refused["Cache-Control"] == "private, no-store"
    assert int(refused["Retry-After"]) == 15 * 60
    assert refused.content.decode().startswith("Too many failed logins")

    # The same username from another address, another username from this one.
    response, logged_in = _login("archivist", PASSWORD, COLLEAGUE)
    assert response.status_code == 302 and logged_in
    response, logged_in = _login("curator", PASSWORD, ATTACKER)
    assert response.status_code == 302 and logged_in


def test_the_lockout_ends_after_the_cool_off(axes):
    from axes.models import AccessAttempt

    for _ in range(5):
        _login("archivist", "guess", ATTACKER)
    assert _login("archivist", PASSWORD, ATTACKER)[0].status_code == 429
    # Fifteen minutes and one second pass.
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time
        - axes.AXES_COOLOFF_TIME
        - dt.timedelta(seconds=1)
    )
    response, logged_in = _login("archivist", PASSWORD, ATTACKER)
    assert response.status_code == 302 and logged_in


def test_a_successful_login_forgets_earlier_failures(axes):
    for _ in range(4):
        _login("archivist", "guess", ATTACKER)
    assert _login("archivist", PASSWORD, ATTACKER)[1]
    for _ in range(4):
        assert _login("archivist", "guess", ATTACKER)[0].status_code == 200


# --------------------------------------------------------------------------
# CSRF everywhere: every routed URL refuses a POST without a token
# --------------------------------------------------------------------------

#: Views exempt from Django's CSRF check, and why that is safe:
CSRF_EXEMPT = {
    # The Image API (iiif/image_views.py): read-only, GET/HEAD/OPTIONS only,
    # anything else is 405; other sites' viewers call it without cookies.
    "iiif.image_views",
    # Wagtail's admin API (Django REST framework marks its views exempt and
    # checks the token itself for session-authenticated requests).
    "wagtail.admin.api.views",
    "wagtail.documents.api.admin.views",
    "wagtail.images.api.admin.views",
}
_CANDIDATES = ("1", "x1", "vtt", "00000000-0000-0000-0000-000000000000")


def _example(value_of: str | None) -> str:
    if value_of == "path":
        return "p/a/t/h/x/y"  # more segments than any other pattern
    converter = get_converters()[value_of or "str"]
    return next(v for v in _CANDIDATES if re.fullmatch(converter.regex, v))


def example_url(route: str) -> str:
    """A URL that ``route`` (a flattened pattern) resolves, whatever the values."""
    # A catch-all group (anything, newlines too) gets a path no other route takes.
    url = re.sub(r"\(\?P<\w+>\[\\s\\S\]\*\)", "a/b/c/d/e/f", route)
    url = re.sub(r"\(\?P<\w+>[^)]*\)", "1", url)  # regex groups: digits fit all
    url = re.sub(r"<(?:(\w+):)?\w+>", lambda m: _example(m.group(1)), url)
    url = url.replace(r"((?:[\w\-]+/)*)", "").replace(".*", "x")
    url = url.replace("\\.", ".").replace("^", "").replace("$", "")
    return "/" + url.replace("\\Z", "")


@pytest.mark.django_db
def test_no_routed_url_accepts_a_post_without_a_csrf_token():
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.raise_request_exception = False  # a view that runs at all is a failure
    client.force_login(make_user("root", superuser=True))
    client.get("/admin/")  # a CSRF cookie, as a browser would have; no token sent
    unresolved, accepted, exempt = [], [], set()
    routes = list(routed_patterns())
    for route, name in routes:
        url = example_url(route)
        try:
            match = resolve(url)
        except Resolver404:
            match = None
        if match is None or match.route.replace("^", "") != route.replace("^", ""):
            unresolved.append(f"{route} -> {url}")
            continue
        response = client.post(url, {"text": "x"})
        if getattr(match.func, "csrf_exempt", False):
            exempt.add(match.func.__module__)
            ok = response.status_code in (403, 405)
        else:
            ok = response.status_code == 403 and b"CSRF" in response.content
        if not ok:
            accepted.append(f"{route} ({name}) -> {response.status_code}")
    assert len(routes) > 300
    assert unresolved == [], unresolved
    assert accepted == [], accepted
    assert exempt <= CSRF_EXEMPT, f"unexplained csrf_exempt: {exempt - CSRF_EXEMPT}"


# --------------------------------------------------------------------------
# Upload limits: the transcript import and Wagtail's own image upload
# (the ingest zip's are in tests/ingest/test_admin.py)
# --------------------------------------------------------------------------


def _wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 800)
    return buffer.getvalue()


@pytest.fixture
def archivist_with_a_recording(client, tmp_path, db):
    home = InstitutionFactory(code="uploads")
    item = ItemFactory(kind=Item.Kind.ORAL_HISTORY, institution=home)
    source = tmp_path / "interview.wav"
    source.write_bytes(_wav())
    asset, _ = asset_create(item=item, source=source, role=Asset.Role.MEDIA)
    client.force_login(make_user("archivist", groups=["Archivists"], institution=home))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client, item, asset


@pytest.mark.parametrize(
    "name, content, message",
    [
        (
            "huge.vtt",
            b"WEBVTT\n\n" + b"x" * (5 * 1024 * 1024),
            "The file is larger than 5 MB.",
        ),
        (
            "photo.vtt",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe",
            "the file is not UTF-8",
        ),
        ("notes.vtt", b"just some notes\n", "a WebVTT file begins with"),
    ],
)
def test_a_transcript_upload_that_is_too_big_or_not_a_transcript_is_refused(
    archivist_with_a_recording, name, content, message
):
    from transcription.models import Transcript

    client, item, asset = archivist_with_a_recording
    response = client.post(
        f"/admin/transcription/items/{item.public_id}/",
        {
            "file": SimpleUploadedFile(name, content, "text/vtt"),
            "register": "yue",
            "asset": asset.pk,
            "encoding": "utf-8",
        },
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Transcript.objects.exists()


@pytest.mark.django_db
def test_an_image_upload_that_is_not_an_image_is_refused(client):
    from wagtail.images import get_image_model

    client.force_login(make_user("root", superuser=True))
    response = client.post(
        "/admin/images/add/",
        {
            "title": "not a picture",
            "file": SimpleUploadedFile("picture.jpg", b"MZ\x90\x00 a program"),
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "Upload a valid image." in response.content.decode()
    assert not get_image_model().objects.exists()
