"""IIIF Authorization Flow 2.0 (``iiif/auth.py``, ``iiif/auth_views.py``).

The JSON of every service against the spec's tables (types, required
properties, language maps, ids that resolve), the probes against the doors
they speak for (level by level, visitor by visitor), the tokens (issued only
to a signed-in session, refused when forged, expired, revoked or of someone
else), the token, access and logout pages, and the services in info.json and
manifests: present for restricted material, absent from public documents,
still valid Presentation 3.0. One browser test shows the token page's static
script posting the message to the named origin only.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import time
import wave
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.core import signing
from django.test import Client
from django.urls import resolve
from django.utils import timezone

from archive.models import AccessLevel, Asset, Item
from archive.services import asset_create
from iiif import auth
from tests.archive.factories import ItemFactory, jpeg_bytes, make_user
from tests.iiif.test_presentation import assert_valid_presentation

pytestmark = pytest.mark.django_db

VIEWER = "https://viewer.example.org"
READING_ROOM_IP = "10.20.30.40"
OUTSIDE_IP = "203.0.113.9"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}

# ---------------------------------------------------------------------------
# The spec's shapes (Auth 2.0 §3.1, §4.1, §4.4, §4.5, §5.1, §5.2, §6.1)
# ---------------------------------------------------------------------------


def _assert_language_map(value, where: str) -> None:
    assert isinstance(value, dict) and value, f"{where}: not a language map"
    for key, texts in value.items():
        assert key in ("zh-Hant", "zh-Hans", "en"), f"{where}: language {key}"
        assert isinstance(texts, list) and texts, f"{where}: {key} is not a list"
        assert all(isinstance(t, str) and t.strip() for t in texts), where
    assert "en" in value, f"{where}: no English"


def _assert_resolves(url: str, name: str) -> None:
    parsed = urlparse(url)
    assert parsed.scheme in ("http", "https") and parsed.netloc, url
    assert not parsed.query and not parsed.fragment, url
    assert resolve(parsed.path).url_name == name, url


def assert_probe_service(service: dict) -> None:
    """Fail unless ``service`` is an AuthProbeService2 as the spec's tables describe it."""
    assert "@context" not in service, "embedded services carry no @context (§2.1)"
    assert service.get("type") == "AuthProbeService2", service.get("type")
    assert isinstance(service.get("id"), str), "probe id"
    assert resolve(urlparse(service["id"]).path).url_name.startswith("iiif_auth_probe_")
    if "errorNote" in service:
        assert "errorHeading" in service, "errorNote needs errorHeading (§5.1)"
    for key in ("errorHeading", "errorNote"):
        if key in service:
            _assert_language_map(service[key], key)
    access = service.get("service")
    assert isinstance(access, list) and access, "probe service lists access services"
    for svc in access:
        assert "@context" not in svc
        assert svc.get("type") == "AuthAccessService2", svc.get("type")
        assert svc.get("profile") in ("active", "kiosk", "external")
        if svc["profile"] in ("active", "kiosk"):
            _assert_resolves(svc.get("id", ""), "iiif_auth_access")
        if svc["profile"] == "active":
            _assert_language_map(svc.get("label"), "label")
            for key in ("heading", "note", "confirmLabel"):
                _assert_language_map(svc.get(key), key)
        children = svc.get("service")
        assert isinstance(children, list), "access service lists its services"
        assert all("id" in c and "type" in c for c in children)
        tokens = [c for c in children if c["type"] == "AuthAccessTokenService2"]
        logouts = [c for c in children if c["type"] == "AuthLogoutService2"]
        assert len(tokens) == 1, "exactly one token service (§3.1)"
        assert len(logouts) <= 1, "at most one logout service (§3.1)"
        assert len(tokens) + len(logouts) == len(children), "unknown service"
        _assert_resolves(tokens[0]["id"], "iiif_auth_token")
        if "errorNote" in tokens[0]:
            assert "errorHeading" in tokens[0], "errorNote needs errorHeading (§4.1)"
        for logout in logouts:
            _assert_resolves(logout["id"], "iiif_auth_logout")
            _assert_language_map(logout.get("label"), "logout label")


def assert_probe_result(result: dict) -> None:
    """Fail unless ``result`` is an AuthProbeResult2 (§5.2)."""
    assert result.get("@context") == auth.AUTH_CONTEXT
    assert result.get("type") == "AuthProbeResult2"
    assert isinstance(result.get("status"), int) and 100 <= result["status"] <= 599
    if result["status"] == 200:
        assert "substitute" not in result and "heading" not in result
    else:
        _assert_language_map(result.get("heading"), "heading")
        _assert_language_map(result.get("note"), "note")
    if "location" in result:
        assert 300 <= result["status"] < 400, "location only with a 30x (§5.2)"


def _services(found: auth.Restriction) -> dict:
    return auth.probe_service("http://testserver/iiif/auth/probe/image/img-abc", found)


RESTRICTIONS = [
    auth.Restriction(auth.Reason.LOGIN),
    auth.Restriction(auth.Reason.READING_ROOM),
    auth.Restriction(auth.Reason.EMBARGO, dt.date(2031, 1, 1)),
]


@pytest.mark.parametrize("found", RESTRICTIONS, ids=lambda r: r.slug)
def test_service_descriptions_follow_the_spec(found):
    service = _services(found)
    assert_probe_service(service)
    access = service["service"][0]
    assert urlparse(access["id"]).path == f"/iiif/auth/access/{found.slug}"
    assert auth.restriction_from_slug(found.slug) == found
    if found.reason == auth.Reason.EMBARGO:
        assert "2031" in access["heading"]["en"][0]
    if found.reason == auth.Reason.READING_ROOM:
        assert "reading room" in access["note"]["en"][0]


def _broken(mutate) -> dict:
    service = _services(RESTRICTIONS[0])
    mutate(service)
    return service


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s.update(type="AuthProbeService1"),
        lambda s: s["service"][0].pop("label"),
        lambda s: s["service"][0].update(heading={"en": "not a list"}),
        lambda s: s["service"][0]["service"].append(
            dict(s["service"][0]["service"][0])
        ),
        lambda s: s["service"][0]["service"][1].pop("label"),
        lambda s: s.update({"@context": auth.AUTH_CONTEXT}),
        lambda s: s["service"][0].update(id="http://testserver/iiif/3/manifest/x"),
        lambda s: s.pop("errorHeading"),
    ],
    ids=[
        "type",
        "no-label",
        "heading-not-a-list",
        "two-token-services",
        "logout-without-label",
        "embedded-context",
        "access-id-elsewhere",
        "note-without-heading",
    ],
)
def test_the_shape_checker_rejects_broken_services(mutate):
    with pytest.raises(AssertionError):
        assert_probe_service(_broken(mutate))


def test_language_maps_leave_out_untranslated_languages():
    from django.utils.translation import gettext_lazy

    # An msgid no catalog has: only English, never English under a Chinese key.
    lmap = auth.language_map(gettext_lazy("No catalog has this message %(x)s"), x=1)
    assert lmap == {"en": ["No catalog has this message 1"]}
    # One the catalogs translate: all three.
    lmap = auth.language_map(gettext_lazy("This material is not available to you"))
    assert set(lmap) == {"zh-Hant", "zh-Hans", "en"}
    assert lmap["zh-Hant"] != lmap["en"]


# ---------------------------------------------------------------------------
# Items
# ---------------------------------------------------------------------------


def _wav_bytes(tag: str) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 800)
    return buf.getvalue() + tag.encode()


def _until(days):
    return None if days is None else timezone.localdate() + dt.timedelta(days=days)


@pytest.fixture
def image(page_with_pyramid):
    """make(level, embargo_days=None, **asset fields) -> a page image of a new item."""

    def make(level=AccessLevel.PUBLIC, days=None, **asset_fields):
        page = page_with_pyramid(
            jpeg_bytes(color=(len(level) * 20, days or 3, len(asset_fields) * 50)),
            name="page.jpg",
            access_level=level,
            embargo_until=_until(days),
            title=f"AUTH-{level.upper()}-TITLE",
        )
        if asset_fields:
            for name, value in asset_fields.items():
                setattr(page.asset, name, value)
            page.asset.save()
        return page

    return make


@pytest.fixture
def recording(tmp_path):
    """make(level, embargo_days=None, asset_level="") -> (item, media asset)."""

    def make(level=AccessLevel.PUBLIC, days=None, asset_level=""):
        item = ItemFactory(
            kind=Item.Kind.ORAL_HISTORY,
            access_level=level,
            embargo_until=_until(days),
            title=f"AUTH-{level.upper()}-REC",
        )
        source = tmp_path / f"{item.public_id}.wav"
        source.write_bytes(_wav_bytes(item.public_id))
        asset, _ = asset_create(
            item=item, source=source, role=Asset.Role.MEDIA, access_level=asset_level
        )
        return item, asset

    return make


@pytest.fixture
def staff():
    return make_user("archivist", groups=["Archivists"])


@pytest.fixture
def reader():
    return make_user("reader")


def _probe(client, url, token=None, **extra) -> dict:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    response = client.get(url, REMOTE_ADDR=OUTSIDE_IP, **headers, **EN, **extra)
    assert response.status_code == 200, (url, response.status_code)
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cache-Control"] == "private, no-store"
    result = json.loads(response.content)
    assert_probe_result(result)
    return result


def _image_probe(page) -> str:
    return f"/iiif/auth/probe/image/{page.public_id}"


_ISLAND = re.compile(
    r'<script id="iiif-auth-message" type="application/json">(.*?)</script>', re.S
)


def _token_page(client, message_id="m1", origin=VIEWER) -> dict:
    query = {"messageId": message_id, "origin": origin}
    response = client.get("/iiif/auth/token", query, **EN)
    assert response.status_code == 200  # always, for the message to arrive (§4.3)
    assert response["Cache-Control"] == "private, no-store"
    html = response.content.decode()
    found = _ISLAND.search(html)
    assert found, html
    return json.loads(found.group(1))


def _token_for(client, user) -> str:
    """A token from the token service; then the client forgets its cookies.

    Forgetting, not signing out: signing out voids the session's tokens
    (``auth.revoke_on_logout``), as ``test_logout_service_ends_the_session_and_its_tokens``
    and ``test_signing_out_anywhere_voids_the_sessions_tokens`` show.
    """
    client.force_login(user)
    data = _token_page(client)
    client.cookies.clear()
    return data["message"]["accessToken"]


# ---------------------------------------------------------------------------
# Probes
# ---------------------------------------------------------------------------


def test_public_image_probe_says_200(client, image):
    page = image()
    assert _probe(client, _image_probe(page)) == {
        "@context": auth.AUTH_CONTEXT,
        "type": "AuthProbeResult2",
        "status": 200,
    }


def test_restricted_image_probe(client, image, staff):
    page = image(AccessLevel.STAFF)
    anonymous = _probe(client, _image_probe(page))
    assert anonymous["status"] == 401
    assert "AUTH-STAFF-TITLE" not in json.dumps(anonymous, ensure_ascii=False)
    assert "Sign in" in anonymous["heading"]["en"][0]
    # The staff member's session (our own viewer, same origin, sends cookies).
    client.force_login(staff)
    assert _probe(client, _image_probe(page))["status"] == 200
    # A client elsewhere: no cookies, the bearer token from the token service.
    token = _token_for(client, staff)
    assert _probe(client, _image_probe(page))["status"] == 401
    assert _probe(client, _image_probe(page), token)["status"] == 200


def test_probe_preflight_allows_the_authorization_header(client, image):
    page = image(AccessLevel.STAFF)
    response = client.options(
        _image_probe(page),
        HTTP_ORIGIN=VIEWER,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in response["Access-Control-Allow-Headers"]
    assert "GET" in response["Access-Control-Allow-Methods"]


def test_unknown_probes_are_404(client, image):
    assert client.get("/iiif/auth/probe/image/no-such-image").status_code == 404
    versioned = f"/iiif/auth/probe/image/{image().public_id}~v1"
    assert client.get(versioned).status_code == 404
    assert client.get("/iiif/auth/probe/media/no-such-item/1").status_code == 404


def test_media_probe(client, recording, staff, reader):
    item, asset = recording(AccessLevel.PUBLIC, asset_level=AccessLevel.STAFF)
    url = f"/iiif/auth/probe/media/{item.public_id}/{asset.pk}"
    assert _probe(client, url)["status"] == 401
    assert _probe(client, url, _token_for(client, reader))["status"] == 403
    assert _probe(client, url, _token_for(client, staff))["status"] == 200
    # Not a media file of the item: 404 when the item is open, its refusal when not.
    other = f"/iiif/auth/probe/media/{item.public_id}/{asset.pk + 999}"
    assert client.get(other).status_code == 404
    closed, _ = recording(AccessLevel.STAFF)
    result = _probe(client, f"/iiif/auth/probe/media/{closed.public_id}/999999")
    assert result["status"] == 401


def test_tokens_that_are_not_valid_now_are_refused(client, image, staff, reader):
    page = image(AccessLevel.STAFF)
    url = _image_probe(page)
    token = _token_for(client, staff)
    assert _probe(client, url, token)["status"] == 200
    # Forged: the payload altered (another user's id), or no signature at all.
    payload, _, rest = token.partition(":")
    forged_payload = signing.b64_encode(
        json.dumps(
            {**json.loads(signing.b64_decode(payload.encode())), "u": 1}
        ).encode()
    ).decode()
    assert _probe(client, url, f"{forged_payload}:{rest}")["status"] == 401
    assert _probe(client, url, payload)["status"] == 401
    assert _probe(client, url, "not-a-token")["status"] == 401
    response = client.get(url, HTTP_AUTHORIZATION=f"Basic {token}")
    assert json.loads(response.content)["status"] == 401
    # Signed for another use (a different salt): never an access token.
    other_use = signing.dumps(json.loads(signing.b64_decode(payload.encode())))
    assert _probe(client, url, other_use)["status"] == 401
    # Expired: issued long enough ago.
    old, _ = auth.token_issue(
        user=staff, session_key="s", now=time.time() - auth.TOKEN_MAX_AGE - 5
    )
    assert _probe(client, url, old)["status"] == 401
    # Someone else's: a reader's token speaks for the reader.
    assert _probe(client, url, _token_for(client, reader))["status"] == 403
    # A staff member made inactive, or whose password changed, since.
    staff.set_password("a new password")
    staff.save()
    assert _probe(client, url, token)["status"] == 401
    fresh = _token_for(client, staff)
    assert _probe(client, url, fresh)["status"] == 200
    staff.is_active = False
    staff.save()
    assert _probe(client, url, fresh)["status"] == 401


def test_a_bad_token_does_not_fall_back_to_the_session(client, image, staff):
    page = image(AccessLevel.STAFF)
    client.force_login(staff)
    assert _probe(client, _image_probe(page), "forged")["status"] == 401


# ---------------------------------------------------------------------------
# The token service (§4)
# ---------------------------------------------------------------------------


def test_token_service_posts_a_token_to_a_signed_in_visitor(client, staff):
    client.force_login(staff)
    response = client.get("/iiif/auth/token", {"messageId": "ae3415", "origin": VIEWER})
    # Framed by any client: no X-Frame-Options, and the CSP allows every ancestor.
    assert "X-Frame-Options" not in response
    csp = response["Content-Security-Policy"]
    assert "frame-ancestors *" in csp and "'unsafe-inline'" not in csp
    html = response.content.decode()
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all(
        'type="application/json"' in attrs or "src=" in attrs for attrs in scripts
    ), "no inline script: a strict CSP must hold"
    assert "iiif/auth-token.js" in html
    data = _token_page(client, "ae3415")
    assert data["origin"] == VIEWER
    message = data["message"]
    assert message["@context"] == auth.AUTH_CONTEXT
    assert message["type"] == "AuthAccessToken2"
    assert message["messageId"] == "ae3415"
    assert isinstance(message["expiresIn"], int) and message["expiresIn"] > 0
    token = message["accessToken"]
    assert isinstance(token, str) and client.cookies["sessionid"].value not in token
    assert auth.token_user(token) == staff


@pytest.mark.parametrize(
    ("query", "profile", "target"),
    [
        ({"messageId": "m1", "origin": VIEWER}, "missingAspect", VIEWER),
        ({"messageId": "m1", "origin": "javascript:alert(1)"}, "invalidOrigin", "*"),
        ({"messageId": "m1", "origin": f"{VIEWER}/path"}, "invalidOrigin", "*"),
        ({"origin": VIEWER}, "invalidRequest", VIEWER),
    ],
    ids=["anonymous", "script-origin", "origin-with-path", "no-message-id"],
)
def test_token_service_errors(client, query, profile, target):
    response = client.get("/iiif/auth/token", query, **EN)
    data = json.loads(_ISLAND.search(response.content.decode()).group(1))
    assert data["origin"] == target
    message = data["message"]
    assert message["@context"] == auth.AUTH_CONTEXT
    assert message["type"] == "AuthAccessTokenError2"
    assert message["profile"] == profile
    assert message["messageId"] == query.get("messageId", "")
    assert "accessToken" not in message
    _assert_language_map(message["heading"], "heading")
    _assert_language_map(message["note"], "note")


def test_a_signed_in_visitor_with_a_bad_origin_gets_no_token(client, staff):
    client.force_login(staff)
    data = _token_page(client, origin="null")
    assert data["origin"] == "*" and "accessToken" not in data["message"]


# ---------------------------------------------------------------------------
# The access service (§3) and the logout service (§6)
# ---------------------------------------------------------------------------


def test_access_service_sends_anonymous_visitors_to_sign_in_and_back(client, staff):
    url = f"/iiif/auth/access/reading-room?origin={VIEWER}"
    response = client.get(url, **EN)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    html = response.content.decode()
    assert "reading room" in html
    login = re.search(r'href="(/admin/login/\?next=[^"]+)"', html)
    assert login, "a link to the site's login page"
    next_url = parse_qs(urlparse(login.group(1).replace("&amp;", "&")).query)["next"][0]
    assert next_url == f"/iiif/auth/access/reading-room?{urlencode({'origin': VIEWER})}"
    # The login page brings the visitor back, signed in, to a page that closes.
    response = client.post(
        login.group(1).replace("&amp;", "&"),
        {"username": "archivist", "password": "pw"},
    )
    assert response.status_code == 302 and response["Location"] == next_url
    back = client.get(next_url, **EN).content.decode()
    assert "data-iiif-auth-close-now" in back and "iiif/auth-token.js" in back
    assert "<script>" not in back


def test_access_service_pages_by_reason(client):
    html = client.get("/iiif/auth/access/embargo-2031-01-01", **EN).content.decode()
    assert "2031" in html and "embargo" in html
    assert "staff" in client.get("/iiif/auth/access/login", **EN).content.decode()
    for bad in ("nope", "embargo-2031-13-40", "embargo-"):
        assert client.get(f"/iiif/auth/access/{bad}").status_code == 404


def test_logout_service_ends_the_session_and_its_tokens(client, image, staff):
    page = image(AccessLevel.STAFF)
    client.force_login(staff)
    token = _token_page(client)["message"]["accessToken"]
    # GET only asks: no other site can sign a visitor out with a link.
    form = client.get("/iiif/auth/logout", **EN)
    assert form.status_code == 200 and 'method="post"' in form.content.decode()
    assert _probe(client, _image_probe(page), token)["status"] == 200
    done = client.post("/iiif/auth/logout", **EN)
    assert done.status_code == 200
    assert "data-iiif-auth-close-now" in done.content.decode()
    assert "_auth_user_id" not in client.session
    assert _token_page(client)["message"]["profile"] == "missingAspect"
    assert _probe(client, _image_probe(page), token)["status"] == 401


# ---------------------------------------------------------------------------
# Services in info.json and manifests
# ---------------------------------------------------------------------------


def _info(client, page, **extra):
    return client.get(f"/iiif/3/image/{page.public_id}/info.json", **extra)


def test_info_json_declares_the_probe_of_restricted_images(
    client, image, staff, reader
):
    page = image(AccessLevel.READING_ROOM)
    client.force_login(staff)
    allowed = _info(client, page)
    assert allowed.status_code == 200
    doc = json.loads(allowed.content)
    assert doc["@context"] == [
        auth.AUTH_CONTEXT,
        "http://iiif.io/api/image/3/context.json",
    ]
    assert len(doc["service"]) == 1
    assert_probe_service(doc["service"][0])
    assert doc["service"][0]["id"].endswith(_image_probe(page))
    assert doc["service"][0]["service"][0]["id"].endswith(
        "/iiif/auth/access/reading-room"
    )
    for who, status in ((None, 401), (reader, 403)):
        client.logout()
        if who is not None:
            client.force_login(who)
        refused = _info(client, page, REMOTE_ADDR=OUTSIDE_IP)
        assert refused.status_code == status
        assert refused["Cache-Control"] == "private, no-store"
        body = json.loads(refused.content)
        assert body["service"] == doc["service"]
        # Nothing of the image or its record: no size, no rights, no title.
        assert not {"width", "height", "sizes", "tiles", "rights"} & set(body)
        assert b"AUTH-READING_ROOM-TITLE" not in refused.content


def test_info_json_of_public_and_withdrawn_images_has_no_services(client, image):
    doc = json.loads(_info(client, image()).content)
    assert (
        "service" not in doc
        and doc["@context"] == "http://iiif.io/api/image/3/context.json"
    )
    gone = _info(client, image(AccessLevel.WITHDRAWN))
    assert gone.status_code == 410 and b"Auth" not in gone.content


def test_public_item_with_a_staff_only_page(client, image, staff):
    page = image(AccessLevel.PUBLIC, access_level=AccessLevel.STAFF)
    assert _probe(client, _image_probe(page))["status"] == 401
    assert _info(client, page).status_code == 401
    assert "AuthProbeService2" in _info(client, page).content.decode()
    manifest = f"/iiif/3/manifest/{page.item.public_id}"
    assert client.get(manifest).status_code == 404  # nothing the visitor may see
    client.force_login(staff)
    doc = json.loads(client.get(manifest).content)
    service = doc["items"][0]["items"][0]["items"][0]["body"]["service"][0]
    assert service["type"] == "ImageService3"
    assert_probe_service(service["service"][0])
    assert doc["@context"][0] == auth.AUTH_CONTEXT
    assert_valid_presentation(doc)


def test_manifests_declare_probes_only_for_restricted_material(
    client, image, recording, staff, settings
):
    settings.IIIF_BASE_URL = ""
    public_page = image()
    closed_page = image(AccessLevel.STAFF)
    public_rec, _ = recording()
    closed_rec, closed_asset = recording(AccessLevel.EMBARGOED, days=30)
    for item in (public_page.item, public_rec):
        body = client.get(f"/iiif/3/manifest/{item.public_id}").content.decode()
        assert "Auth" not in body and auth.AUTH_CONTEXT not in body
        assert (
            json.loads(body)["@context"]
            == "http://iiif.io/api/presentation/3/context.json"
        )
    client.force_login(staff)
    doc = json.loads(
        client.get(f"/iiif/3/manifest/{closed_page.item.public_id}").content
    )
    assert doc["@context"] == [
        auth.AUTH_CONTEXT,
        "http://iiif.io/api/presentation/3/context.json",
    ]
    image_service = doc["items"][0]["items"][0]["items"][0]["body"]["service"][0]
    assert_probe_service(image_service["service"][0])
    assert doc["thumbnail"][0]["service"][0]["service"] == image_service["service"]
    assert_valid_presentation(doc)
    doc = json.loads(client.get(f"/iiif/3/manifest/{closed_rec.public_id}").content)
    body = doc["items"][0]["items"][0]["items"][0]["body"]
    probe = body["service"][0]
    assert_probe_service(probe)
    assert probe["id"].endswith(
        f"/iiif/auth/probe/media/{closed_rec.public_id}/{closed_asset.pk}"
    )
    access = probe["service"][0]
    assert access["id"].endswith(
        f"/iiif/auth/access/embargo-{closed_rec.embargo_until}"
    )
    assert_valid_presentation(doc)
    # The staff member's own probe says yes; an anonymous one says sign in.
    assert _probe(client, urlparse(probe["id"]).path)["status"] == 200
    client.logout()
    assert _probe(client, urlparse(probe["id"]).path)["status"] == 401


def test_a_title_that_names_the_service_type_adds_no_context(image):
    from iiif import presentation, selectors

    page = image()
    page.item.title = '"type":"AuthProbeService2"'
    page.item.save()
    full = selectors.manifest_item_get(public_id=page.item.public_id)
    body = presentation.to_json(presentation.manifest_build(item=full))
    assert json.loads(body)["@context"] == presentation.CONTEXT


# ---------------------------------------------------------------------------
# The probes agree with the doors, level by level and visitor by visitor
# ---------------------------------------------------------------------------

LEVELS = {
    "public": (AccessLevel.PUBLIC, None),
    "reading_room": (AccessLevel.READING_ROOM, None),
    "staff": (AccessLevel.STAFF, None),
    "embargoed": (AccessLevel.EMBARGOED, 30),
    "embargo_passed": (AccessLevel.EMBARGOED, -1),
    "withdrawn": (AccessLevel.WITHDRAWN, None),
}


def test_probes_answer_what_the_doors_answer(
    client, image, recording, staff, reader, settings
):
    settings.ARCHIVE_READING_ROOM_NETWORKS = ["10.20.0.0/16"]
    made = {
        name: (image(level, days), recording(level, days))
        for name, (level, days) in LEVELS.items()
    }
    visitors = {
        "anonymous": (None, OUTSIDE_IP),
        "reading_room": (None, READING_ROOM_IP),
        "user": (reader, OUTSIDE_IP),
        "staff": (staff, OUTSIDE_IP),
    }
    seen = set()
    for name, (page, (item, asset)) in made.items():
        for who, (user, ip) in visitors.items():
            client.logout()
            if user is not None:
                client.force_login(user)
            where = f"{name} as {who}"
            door = _info(client, page, REMOTE_ADDR=ip).status_code
            probe = client.get(_image_probe(page), REMOTE_ADDR=ip)
            assert probe.status_code == 200, where
            result = json.loads(probe.content)
            assert result["status"] == door, where
            assert "AUTH-" not in probe.content.decode(), where
            media = client.get(
                f"/items/{item.public_id}/listen/{asset.pk}", REMOTE_ADDR=ip
            )
            media_url = f"/iiif/auth/probe/media/{item.public_id}/{asset.pk}"
            media_result = json.loads(client.get(media_url, REMOTE_ADDR=ip).content)
            # The file door answers 403 where signing in may help (an HTML door
            # sends no challenge); the probe says 401 there, as the flow needs.
            expected = {200: {200}, 206: {200}, 403: {401, 403}, 410: {410}}
            assert media_result["status"] in expected[media.status_code], where
            seen.add((door, media_result["status"]))
    assert {(200, 200), (401, 401), (403, 403), (410, 410)} <= seen


# ---------------------------------------------------------------------------
# The token page's script, in a browser
# ---------------------------------------------------------------------------

#: A IIIF client's side of the token service (Auth 2.0 §4.2): listen, then frame it.
CLIENT_SCRIPT = """(url) => {
  window.received = [];
  window.addEventListener("message", (e) => {
    window.received.push({origin: e.origin, data: e.data});
  });
  const frame = document.createElement("iframe");
  frame.src = url;
  return new Promise((done) => {
    frame.addEventListener("load", () => done(true));
    document.body.appendChild(frame);
  });
}"""


def _poll(page, script: str, wait: float):
    """``script``'s value on the page once it is truthy (or after ``wait`` seconds).

    Polled from here: the site's CSP forbids the eval behind ``wait_for_function``.
    """
    deadline = time.monotonic() + wait
    while True:
        got = page.evaluate(script)
        if got or time.monotonic() > deadline:
            return got
        page.wait_for_timeout(100)


def _received(page, wait: float = 10.0) -> list:
    """The messages the client page received, once one came (or after ``wait`` seconds)."""
    return _poll(page, "() => window.received", wait)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_token_page_posts_the_message_to_the_named_origin(
    live_server, chromium_path, client
):
    from playwright.sync_api import sync_playwright

    from tests.iiif.test_viewer_browser import CHROMIUM_ARGS

    make_user("archivist", groups=["Archivists"])
    client.login(username="archivist", password="pw")
    session = client.cookies["sessionid"].value
    own = live_server.url
    # The same server under its other name is another site: a viewer elsewhere.
    elsewhere = own.replace("localhost", "127.0.0.1")
    assert elsewhere != own

    def client_page(context, at: str, origin: str, message_id: str):
        page = context.new_page()
        page.goto(f"{at}/institutions/")
        token = f"{own}/iiif/auth/token?messageId={message_id}&origin={origin}"
        page.evaluate(CLIENT_SCRIPT, token)
        return page

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            # Anonymous, a viewer on another site: the error, to that site. The
            # page standing in for that site is one of ours, whose CSP would
            # forbid framing another origin: that policy is set aside here.
            viewer = browser.new_context(bypass_csp=True)
            page = client_page(viewer, elsewhere, elsewhere, "anon")
            got = _received(page)
            assert got[0]["origin"] == own
            assert got[0]["data"]["type"] == "AuthAccessTokenError2"
            assert got[0]["data"]["profile"] == "missingAspect"
            assert got[0]["data"]["messageId"] == "anon"
            # Signed in, our own viewer: the token, under the site's CSP and
            # the token page's own (its script is a static file).
            context = browser.new_context()
            context.add_cookies([{"name": "sessionid", "value": session, "url": own}])
            page = client_page(context, own, own, "staff")
            got = _received(page)
            assert got[0]["data"]["type"] == "AuthAccessToken2"
            assert got[0]["data"]["messageId"] == "staff"
            assert got[0]["data"]["accessToken"]
            # A token named for another origin never reaches this page.
            page = client_page(context, own, elsewhere, "astray")
            assert _received(page, wait=1.0) == []
        finally:
            browser.close()


def _closed(page, wait: float) -> bool:
    """Whether the viewer page sees its sign-in window closed (polled for ``wait`` s)."""
    return _poll(page, "() => window.signIn.closed", wait)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_viewer_on_another_site_keeps_its_sign_in_window_to_the_end(
    live_server, chromium_path
):
    """Auth 2.0 §3.3: the viewer opens the access service and waits for it to close.

    With the site's ``Cross-Origin-Opener-Policy: same-origin`` on the access
    or login page, a viewer on another site would lose the window at once
    (it would look closed before the visitor signed in).
    """
    from playwright.sync_api import sync_playwright

    from tests.iiif.test_viewer_browser import CHROMIUM_ARGS

    make_user("archivist", groups=["Archivists"])
    own = live_server.url
    elsewhere = own.replace("localhost", "127.0.0.1")
    access = f"{own}/iiif/auth/access/login?{urlencode({'origin': elsewhere})}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="en")
            # The viewer's own page on its site (none of our headers).
            context.route(
                f"{elsewhere}/viewer",
                lambda route: route.fulfill(
                    body="<!doctype html><title>viewer</title>",
                    content_type="text/html",
                ),
            )
            viewer = context.new_page()
            viewer.goto(f"{elsewhere}/viewer")
            with context.expect_page() as opened:
                viewer.evaluate(
                    "(url) => { window.signIn = window.open(url); }", access
                )
            window = opened.value
            window.wait_for_load_state()
            assert window.url.startswith(f"{own}/iiif/auth/access/login")
            assert not _closed(viewer, 0.5), "the access page cut the viewer off"
            window.click("a[href^='/admin/login/']")
            window.wait_for_selector("#id_username")
            assert not _closed(viewer, 0.5), "the login page cut the viewer off"
            window.fill("#id_username", "archivist")
            window.fill("#id_password", "pw")
            window.click("button[type=submit]")
            # Back on the access page, signed in: it closes, and the viewer sees it.
            assert _closed(viewer, 15.0), "the window did not close after sign-in"
        finally:
            browser.close()
    # Every other page keeps the strict policy.
    assert Client().get("/institutions/")["Cross-Origin-Opener-Policy"] == "same-origin"


def test_signing_out_anywhere_voids_the_sessions_tokens(client, image, staff):
    """Signing out through the site (not the logout service) also voids the tokens."""
    page = image(AccessLevel.STAFF)
    client.force_login(staff)
    token = _token_page(client)["message"]["accessToken"]
    assert _probe(Client(), _image_probe(page), token)["status"] == 200
    client.logout()
    assert _probe(Client(), _image_probe(page), token)["status"] == 401
