"""IIIF Authorization Flow 2.0: the services of restricted images and recordings.

A restricted resource (a page image or a recording that an anonymous visitor
off-site may not see, but someone may: staff, the reading room, a person the
library gave access) declares an ``AuthProbeService2`` (Auth 2.0 §5) in its
``service`` list: the info.json of the image (Auth 2.0 §2.1: it MUST be
there), its image service in manifests shown to someone who may see it, and
the body of a recording's painting annotation. The probe holds one
``AuthAccessService2`` of profile ``active`` (§3.3.1): our login page, with a
label, heading, note and confirm label saying why the material is closed
(staff only, the reading room, an embargo until a date), which in turn holds
the ``AuthAccessTokenService2`` (§4) and the ``AuthLogoutService2`` (§6).

Every answer comes from :func:`archive.access.decide`; nothing here decides
who may see what. The *reason* shown to the visitor is read from the access
levels only to choose the words.

Access tokens are opaque to clients but not secret from them (§4.4): a
payload signed with :mod:`django.core.signing` (salted for this use only, so
no other part of the site accepts it) holding the user's id, a digest of the
session the token was issued to, a digest of the user's session hash (a new
password voids it, as it voids sessions) and the expiry. Only the probe
services accept them (``Authorization: Bearer``), and a token of a session
that signed out through the logout service is refused.

The documents are plain JSON dicts: Auth 2.0 services and results are not
resources iiif-prezi3 models; :mod:`iiif.presentation` wraps them for
manifests.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core import signing
from django.core.cache import cache
from django.urls import reverse
from django.utils import formats, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

from archive.access import Decision, decide
from archive.models import AccessLevel, Asset, Item, PageImage
from iiif import image_api
from iiif.identifiers import base_url

#: The JSON-LD context of every Auth 2.0 document; listed before the Image or
#: Presentation context when the services are embedded (Auth 2.0 §2.1).
AUTH_CONTEXT = "http://iiif.io/api/auth/2/context.json"
#: How long an access token lives, in seconds (``expiresIn``, §4.4).
TOKEN_MAX_AGE = 300
#: The signing salt of access tokens: no other signed value of the site verifies.
TOKEN_SALT = "iiif.auth.access-token.v1"
#: Longer Authorization headers are refused unread.
TOKEN_MAX_LENGTH = 512
#: The longest ``messageId`` the token service echoes (§4.2).
MESSAGE_ID_MAX_LENGTH = 256

#: Language-map keys and the UI language each is written in.
LANGUAGES = (("zh-Hant", "zh-hant"), ("zh-Hans", "zh-hans"), ("en", "en"))

LanguageMap = dict[str, list[str]]


class Reason:
    """Why a resource is closed to anonymous visitors: it picks the access page and its words."""

    LOGIN = "login"
    READING_ROOM = "reading-room"
    EMBARGO = "embargo"


@dataclass(frozen=True)
class Restriction:
    """Why a resource is closed to an anonymous visitor off-site, in words a client shows."""

    reason: str
    #: The end of an embargo (the day it opens), when there is one.
    until: dt.date | None = None

    @property
    def slug(self) -> str:
        """The access service's path segment: ``login``, ``reading-room``, ``embargo-{date}``."""
        if self.reason == Reason.EMBARGO and self.until is not None:
            return f"{Reason.EMBARGO}-{self.until.isoformat()}"
        return self.reason


_SLUG = re.compile(r"^(login|reading-room)$|^embargo-(\d{4}-\d{2}-\d{2})$")


def restriction_from_slug(slug: str) -> Restriction | None:
    """The restriction an access service's path names; None when it names none."""
    match = _SLUG.match(slug or "")
    if match is None:
        return None
    if match.group(1):
        return Restriction(match.group(1))
    try:
        return Restriction(Reason.EMBARGO, dt.date.fromisoformat(match.group(2)))
    except ValueError:
        return None


def _for_level(level: str, until: dt.date | None) -> Restriction:
    if level == AccessLevel.READING_ROOM:
        return Restriction(Reason.READING_ROOM)
    if level == AccessLevel.EMBARGOED and until is not None:
        return Restriction(Reason.EMBARGO, until)
    return Restriction(Reason.LOGIN)


def restriction(*, item: Item, asset: Asset | None = None) -> Restriction | None:
    """Why an anonymous visitor off-site may not see the item's file; None when they may.

    Withdrawn material has no restriction either: it answers 410 to everyone
    and no sign-in opens it, so it declares no services. The decision is
    :func:`archive.access.decide`'s; the item's (or else the file's) access
    level only chooses the words.
    """
    anonymous = AnonymousUser()
    item_decision = decide(anonymous, item, None)
    if item_decision is Decision.GONE:
        return None
    if not item_decision.allowed:
        return _for_level(item.access_level, item.embargo_until)
    if asset is None:
        return None
    if asset.item_id == item.pk and not Asset.item.is_cached(asset):
        # The caller has the item already: no query per page of a manifest.
        Asset.item.field.set_cached_value(asset, item)
    decision = decide(anonymous, asset, None)
    if decision.allowed or decision is Decision.GONE:
        return None
    level = AccessLevel.STAFF if asset.is_staff_only else asset.access_level
    return _for_level(level, None)


def image_decision(user, page: PageImage, request=None) -> Decision:
    """The decision for a page image: its item, then its own file (which may be stricter).

    The one rule the Image API doors and the image probe share.
    """
    decision = decide(user, page, request)
    if decision.allowed:
        decision = decide(user, page.asset, request)
    return decision


def page_restriction(page: PageImage) -> Restriction | None:
    """:func:`restriction` of a page image (its item and its file)."""
    return restriction(item=page.item, asset=page.asset)


# ---------------------------------------------------------------------------
# Words: language maps through gettext
# ---------------------------------------------------------------------------

# Translators: IIIF viewers show this on the button that opens our sign-in page (Auth 2.0 label).
LABEL = _("Sign in to Yuecang, the Guangzhou heritage archive")
# Translators: the button that opens our sign-in page from a IIIF viewer.
CONFIRM_LABEL = _("Sign in")
# Translators: IIIF viewers show this on the button that signs out of Yuecang.
LOGOUT_LABEL = _("Sign out of Yuecang, the Guangzhou heritage archive")
# Translators: heading a IIIF viewer shows over restricted material before sign-in.
HEADING_LOGIN = _("Sign in to see this material")
# Translators: heading a IIIF viewer shows over reading-room material.
HEADING_READING_ROOM = _("This material is open in the library's reading room")
# Translators: heading a IIIF viewer shows over embargoed material; %(date)s is the day it opens.
HEADING_EMBARGO = _("This material is under embargo until %(date)s")
# Translators: heading a IIIF viewer shows when the signed-in person may still not see it.
HEADING_FORBIDDEN = _("This material is not available to you")
# Translators: heading a IIIF viewer shows for withdrawn material.
HEADING_GONE = _("This material has been withdrawn")
NOTE_LOGIN = _(
    # Translators: note under "Sign in to see this material" in a IIIF viewer.
    "Library staff and people the library has given access can see it after signing in."
)
NOTE_READING_ROOM = _(
    # Translators: note for reading-room material in a IIIF viewer.
    "Visit the library's reading room to see it on site, on the reading "
    "room's network; library staff and people given access can sign in."
)
NOTE_EMBARGO = _(
    # Translators: note for embargoed material in a IIIF viewer; %(date)s is the day it opens.
    "It opens to everyone on %(date)s. Until then only library staff and "
    "people the library has given access can see it, after signing in."
)
NOTE_FORBIDDEN = _(
    # Translators: note when a signed-in person may not see restricted material.
    "Your account may not see it. Sign in with another account, or ask the "
    "library for access."
)
NOTE_FORBIDDEN_READING_ROOM = _(
    # Translators: note when a signed-in person may not see reading-room material.
    "Your account may not see it here. Visit the library's reading room to "
    "see it on site, or ask the library for access."
)
NOTE_GONE = _(
    # Translators: note for withdrawn material in a IIIF viewer.
    "The library no longer makes it available."
)
# Translators: heading a IIIF viewer shows when it could not get a sign-in token.
HEADING_TOKEN_ERROR = _("You are not signed in to Yuecang")
NOTE_TOKEN_ERROR = _(
    # Translators: note a IIIF viewer shows when it could not get a sign-in token.
    "Sign in, then try again. If your browser blocks third-party cookies, "
    "open the item on Yuecang's own site."
)
# Translators: heading a IIIF viewer shows when its request for a sign-in token was malformed.
HEADING_BAD_REQUEST = _("The viewer's request could not be understood")


def language_map(message, **params) -> LanguageMap:
    """A language map (Presentation 3.0 §4.4) of a gettext message in the three UI languages.

    A language whose catalog has no translation yet is left out rather than
    labelled with the English text; English is always there.
    """
    with translation.override("en"):
        english = str(message)
    found: LanguageMap = {}
    for key, code in LANGUAGES:
        with translation.override(code):
            template = str(message)
            if code != "en" and template == english:
                continue  # not translated yet
            values = {
                name: formats.date_format(value, "DATE_FORMAT")
                if isinstance(value, dt.date)
                else value
                for name, value in params.items()
            }
            found[key] = [template % values if values else template]
    return found


def _words(
    decision: Decision, found: Restriction | None
) -> tuple[LanguageMap, LanguageMap]:
    """The heading and note for a refused visitor (probe result, probe defaults)."""
    if decision is Decision.GONE:
        return language_map(HEADING_GONE), language_map(NOTE_GONE)
    reason = found.reason if found else Reason.LOGIN
    if decision is Decision.FORBIDDEN:
        note = (
            NOTE_FORBIDDEN_READING_ROOM
            if reason == Reason.READING_ROOM
            else NOTE_FORBIDDEN
        )
        return language_map(HEADING_FORBIDDEN), language_map(note)
    if reason == Reason.READING_ROOM:
        return language_map(HEADING_READING_ROOM), language_map(NOTE_READING_ROOM)
    if reason == Reason.EMBARGO and found and found.until:
        return (
            language_map(HEADING_EMBARGO, date=found.until),
            language_map(NOTE_EMBARGO, date=found.until),
        )
    return language_map(HEADING_LOGIN), language_map(NOTE_LOGIN)


# ---------------------------------------------------------------------------
# Service descriptions (Auth 2.0 §3.1, §4.1, §5.1, §6.1)
# ---------------------------------------------------------------------------


def _url(request, name: str, *args) -> str:
    return f"{base_url(request)}{reverse(name, args=args)}"


def access_service(found: Restriction, *, request=None) -> dict:
    """The ``AuthAccessService2`` (``active``) for a reason, with token and logout services."""
    heading, note = _words(Decision.LOGIN_REQUIRED, found)
    return {
        "id": _url(request, "iiif_auth_access", found.slug),
        "type": "AuthAccessService2",
        "profile": "active",
        "label": language_map(LABEL),
        "heading": heading,
        "note": note,
        "confirmLabel": language_map(CONFIRM_LABEL),
        "service": [
            {
                "id": _url(request, "iiif_auth_token"),
                "type": "AuthAccessTokenService2",
                "errorHeading": language_map(HEADING_TOKEN_ERROR),
                "errorNote": language_map(NOTE_TOKEN_ERROR),
            },
            {
                "id": _url(request, "iiif_auth_logout"),
                "type": "AuthLogoutService2",
                "label": language_map(LOGOUT_LABEL),
            },
        ],
    }


def refused_info_document(*, service_id: str, services: list[dict]) -> dict:
    """The body of a refused info.json (401/403): the image's id and its Auth services only.

    Auth 2.0 §2.1: clients find the probe in the info.json, even a refused
    one. Nothing of the image (size, tiles, rights) nor of its record is in it.
    """
    return {
        "@context": [AUTH_CONTEXT, image_api.CONTEXT],
        "id": service_id,
        "type": "ImageService3",
        "protocol": image_api.PROTOCOL,
        "profile": image_api.PROFILE,
        "service": services,
    }


def probe_service(probe_id: str, found: Restriction, *, request=None) -> dict:
    """An ``AuthProbeService2`` holding the access service for ``found``'s reason."""
    heading, note = _words(Decision.LOGIN_REQUIRED, found)
    return {
        "id": probe_id,
        "type": "AuthProbeService2",
        "errorHeading": heading,
        "errorNote": note,
        "service": [access_service(found, request=request)],
    }


def image_probe_id(page: PageImage, *, request=None) -> str:
    """The probe service of a page image: one per page, whatever the recipe version."""
    return _url(request, "iiif_auth_probe_image", page.public_id)


def media_probe_id(item: Item, asset: Asset, *, request=None) -> str:
    """The probe service of a recording's media file."""
    return _url(request, "iiif_auth_probe_media", item.public_id, asset.pk)


def image_services(page: PageImage, *, request=None) -> list[dict]:
    """The Auth services of a page image: one probe when restricted, else none."""
    found = page_restriction(page)
    if found is None:
        return []
    return [
        probe_service(image_probe_id(page, request=request), found, request=request)
    ]


def media_services(item: Item, asset: Asset, *, request=None) -> list[dict]:
    """The Auth services of a recording's media file: one probe when restricted, else none."""
    found = restriction(item=item, asset=asset)
    if found is None:
        return []
    return [
        probe_service(
            media_probe_id(item, asset, request=request), found, request=request
        )
    ]


# ---------------------------------------------------------------------------
# Probe results (Auth 2.0 §5.2)
# ---------------------------------------------------------------------------


def probe_result(decision: Decision, found: Restriction | None = None) -> dict:
    """The ``AuthProbeResult2``: the status the resource's door would answer, and why.

    ``status`` is the decision's HTTP status (200, 401, 403 or 410); refusals
    carry a ``heading`` and ``note`` and never anything of the record.
    """
    result = {
        "@context": AUTH_CONTEXT,
        "type": "AuthProbeResult2",
        "status": decision.value,
    }
    if not decision.allowed:
        result["heading"], result["note"] = _words(decision, found)
    return result


# ---------------------------------------------------------------------------
# Access tokens (Auth 2.0 §4.3 to §4.5)
# ---------------------------------------------------------------------------


def token_max_age() -> int:
    """Seconds an access token lives (``IIIF_AUTH_TOKEN_MAX_AGE``, default 300)."""
    return int(getattr(settings, "IIIF_AUTH_TOKEN_MAX_AGE", TOKEN_MAX_AGE))


def _digest(purpose: str, value: str) -> str:
    return salted_hmac(f"iiif.auth.{purpose}", value or "").hexdigest()[:24]


def _revoked_key(session_digest: str) -> str:
    return f"iiif:auth:revoked:{session_digest}"


def token_issue(*, user, session_key: str, now: float | None = None) -> tuple[str, int]:
    """Sign an access token for ``user``'s session; returns it and its lifetime in seconds."""
    issued = time.time() if now is None else now
    max_age = token_max_age()
    payload = {
        "u": user.pk,
        "s": _digest("session", session_key),
        "h": _digest("user", user.get_session_auth_hash()),
        "x": int(issued) + max_age,
    }
    return signing.dumps(payload, salt=TOKEN_SALT), max_age


def token_user(token: str, *, now: float | None = None):
    """The active user an access token speaks for, or None when it is not valid now.

    Refused: a bad signature (forged or altered), a token past its expiry, a
    session that signed out through the logout service, a user who is gone or
    inactive, or whose password changed since.
    """
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    try:
        payload = signing.loads(token, salt=TOKEN_SALT, max_age=token_max_age())
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    user_id, session, user_hash, expires = (
        payload.get(k) for k in ("u", "s", "h", "x")
    )
    if not all(isinstance(v, t) for v, t in ((user_id, int), (expires, int))):
        return None
    if not (isinstance(session, str) and isinstance(user_hash, str)):
        return None
    if expires < (time.time() if now is None else now):
        return None
    if cache.get(_revoked_key(session)):
        return None
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    if not constant_time_compare(
        _digest("user", user.get_session_auth_hash()), user_hash
    ):
        return None
    return user


def session_revoke(*, session_key: str | None) -> None:
    """Refuse every access token issued to this session from now on (logout, §6.2)."""
    if session_key:
        cache.set(
            _revoked_key(_digest("session", session_key)), True, token_max_age() + 60
        )


def revoke_on_logout(sender, request=None, user=None, **kwargs) -> None:
    """``user_logged_out`` handler: a sign-out anywhere voids that session's tokens."""
    session = getattr(request, "session", None)
    session_revoke(session_key=getattr(session, "session_key", None))


def bearer_token(request) -> str | None:
    """The token of an ``Authorization: Bearer`` header (§5.1); "" when the header is malformed."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return token.strip()


def probe_user(request):
    """Who a probe answers for: the bearer token's user, else the session's.

    A token that is not valid speaks for nobody (an anonymous visitor), even
    when the request also carries a session cookie.
    """
    token = bearer_token(request)
    if token is None:
        return request.user
    return token_user(token) or AnonymousUser()


_ORIGIN = re.compile(
    r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$"
)


def origin_clean(value: str) -> str | None:
    """A postMessage origin (scheme, host, optional port: §4.2), or None when it is not one."""
    value = (value or "").strip()
    if len(value) > 300 or not _ORIGIN.match(value):
        return None
    return value


def token_message(*, message_id: str, token: str, expires_in: int) -> dict:
    """The ``AuthAccessToken2`` message (§4.4)."""
    return {
        "@context": AUTH_CONTEXT,
        "type": "AuthAccessToken2",
        "messageId": message_id,
        "accessToken": token,
        "expiresIn": expires_in,
    }


def token_error(*, message_id: str, profile: str) -> dict:
    """The ``AuthAccessTokenError2`` message (§4.5), e.g. profile ``missingAspect``."""
    heading = (
        HEADING_BAD_REQUEST if profile == "invalidRequest" else HEADING_TOKEN_ERROR
    )
    return {
        "@context": AUTH_CONTEXT,
        "type": "AuthAccessTokenError2",
        "profile": profile,
        "messageId": message_id,
        "heading": language_map(heading),
        "note": language_map(NOTE_TOKEN_ERROR),
    }


def token_answer(request) -> tuple[dict, str]:
    """The token service's message for this request and the origin to post it to.

    A token goes only to the origin the client named; an error whose origin
    cannot be used is posted to any parent (``*``): it carries nothing but
    the client's own message id.
    """
    message_id = request.GET.get("messageId", "")
    origin = origin_clean(request.GET.get("origin", ""))
    if not message_id or len(message_id) > MESSAGE_ID_MAX_LENGTH:
        return token_error(
            message_id=message_id[:MESSAGE_ID_MAX_LENGTH], profile="invalidRequest"
        ), origin or "*"
    if origin is None:
        return token_error(message_id=message_id, profile="invalidOrigin"), "*"
    user = request.user
    session_key = request.session.session_key
    if not (user.is_authenticated and user.is_active and session_key):
        return token_error(message_id=message_id, profile="missingAspect"), origin
    token, expires_in = token_issue(user=user, session_key=session_key)
    return token_message(
        message_id=message_id, token=token, expires_in=expires_in
    ), origin
