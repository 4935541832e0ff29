"""IIIF Image API 3.0 views: thin adapters between HTTP and ``iiif.image_api``.

Each view parses the URL with the pure grammar, finds the page image and its
pyramid, asks the one access decision (``archive.access.decide``), and only
then resolves the request against the image's size, so a refused visitor
learns nothing about the image. Behaviour follows Wagtail's image ``ServeView``
and the Image API (§7): clear 400/404/410/501 answers with short plain-text
bodies, CORS on every response (errors included), ``nosniff`` and a strict
CSP, strong ETags and Last-Modified with 304 answers, and cache headers by
access: versioned public images are immutable for a year, the bare identifier
of a public image is cached for an hour, and anything not public is
``private, no-store`` and never stored by the server. Only images of a public
page under a versioned identifier are written to the on-disk cache, at the
path the request URL names (``iiif.image_cache``), so a front server can
serve them without asking Django (``docs/deploy/nginx.conf``). The info.json
of a page not every visitor may see declares its IIIF Authorization Flow 2.0
probe service (``iiif.auth``), also in the body of its 401/403 refusal, which
holds nothing of the image but its id and those services.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from functools import cache, wraps
from pathlib import Path

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt

from archive import ratelimit
from archive.access import Decision, decide
from archive.models import Derivative, PageImage
from iiif import auth, image_api
from iiif.identifiers import ImageIdentifier, image_service_id, parse_image_identifier
from iiif.image_backend import BackendError, ImageBackend, PyramidInfo
from iiif.image_cache import ImageCache, image_cache
from iiif.services import PYRAMID_RECIPE_VERSION

logger = logging.getLogger(__name__)

#: Cache-Control of a public image under a versioned identifier (never changes).
CACHE_IMMUTABLE = "public, max-age=31536000, immutable"
#: Cache-Control of the bare identifier of a public image, and of info.json
#: (which carries the item's rights and the server's limits, both editable).
CACHE_PUBLIC = "public, max-age=3600"
#: Cache-Control of anything not public, refusals included.
CACHE_PRIVATE = "private, no-store"
#: Cache-Control of syntax errors and unknown identifiers.
CACHE_ERROR = "no-store"
#: Responses are images or JSON, never documents that should run anything.
CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
ALLOWED_METHODS = "GET, HEAD, OPTIONS"

_REFUSALS = {
    Decision.LOGIN_REQUIRED: (401, "This image needs authorisation."),
    Decision.FORBIDDEN: (403, "This image is not available to you."),
    Decision.GONE: (410, "This image has been withdrawn."),
}


@dataclass(frozen=True)
class _Target:
    """The page image a request names, once found and allowed."""

    ident: ImageIdentifier
    public_id: str
    #: None when the target was read from the page's record in the cache
    #: (public by definition; :func:`_recorded_target`).
    page: PageImage | None
    version: int
    path: Path
    #: The pyramid's path relative to the storage root (the same on every server).
    relpath: str
    mtime_ns: int
    size: int
    #: Whether every visitor may see it (so it may be cached publicly).
    public: bool

    @property
    def etag_basis(self) -> str:
        """What an image's ETag hashes besides the canonical request: the file's identity."""
        return f"{self.public_id}~v{self.version}|{self.relpath}|{self.mtime_ns}|{self.size}"

    def record(self) -> dict:
        """What the cache keeps of a public target (``ImageCache.put_record``)."""
        return {"relpath": self.relpath, "mtime_ns": self.mtime_ns, "size": self.size}


class _Refused(Exception):
    def __init__(
        self,
        decision: Decision,
        page: PageImage | None = None,
        ident: ImageIdentifier | None = None,
    ):
        super().__init__(decision.name)
        self.decision = decision
        #: The refused page and the identifier asked for: info.json's refusal
        #: names the page's Auth 2.0 services (``iiif.auth``).
        self.page = page
        self.ident = ident


@cache
def _backend_for(dotted: str) -> ImageBackend:
    return import_string(dotted)()


def backend() -> ImageBackend:
    """The configured image backend (``IIIF_IMAGE_BACKEND``), one per process."""
    return _backend_for(settings.IIIF_IMAGE_BACKEND)


def cache_store() -> ImageCache:
    """The on-disk cache of public responses (``IIIF_CACHE_DIR``, ``IIIF_CACHE_MAX_BYTES``)."""
    return image_cache(settings.IIIF_CACHE_DIR, settings.IIIF_CACHE_MAX_BYTES)


def limits() -> image_api.Limits:
    """The size limits declared in info.json and enforced (``IIIF_MAX_*``)."""
    return image_api.Limits(
        settings.IIIF_MAX_WIDTH, settings.IIIF_MAX_HEIGHT, settings.IIIF_MAX_AREA
    )


# Responses ---------------------------------------------------------------


def _finish(response: HttpResponse, cache_control: str) -> HttpResponse:
    """Headers every Image API response carries, errors included (§7.1)."""
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Expose-Headers"] = "Link, ETag"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = CSP
    response["Cache-Control"] = cache_control
    return response


def _text(status: int, message: str, cache_control: str) -> HttpResponse:
    response = HttpResponse(
        f"{message}\n", status=status, content_type="text/plain; charset=utf-8"
    )
    return _finish(response, cache_control)


def _error(exc: image_api.ImageApiError) -> HttpResponse:
    return _text(exc.status, str(exc), CACHE_ERROR)


def _refusal(decision: Decision) -> HttpResponse:
    status, message = _REFUSALS[decision]
    return _text(status, message, CACHE_PRIVATE)


def _endpoint(view):
    """Wrap a view: CORS preflight, allowed methods, errors as Image API answers."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
            response["Allow"] = ALLOWED_METHODS
            response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response["Access-Control-Allow-Headers"] = (
                "Accept, If-Modified-Since, If-None-Match"
            )
            response["Access-Control-Max-Age"] = "86400"
            return _finish(response, CACHE_PUBLIC)
        if request.method not in ("GET", "HEAD"):
            response = _text(
                405, "Only GET, HEAD and OPTIONS are allowed.", CACHE_ERROR
            )
            response["Allow"] = ALLOWED_METHODS
            return response
        try:
            return view(request, *args, **kwargs)
        except image_api.ImageApiError as exc:
            return _error(exc)
        except _Refused as refused:
            return _refusal(refused.decision)
        except BackendError:
            logger.exception("IIIF image backend failed for %s", request.path)
            return _text(500, "The image could not be made.", CACHE_ERROR)

    return csrf_exempt(wrapper)


# Lookups -----------------------------------------------------------------


def _not_found(what: str = "no such image") -> image_api.ImageApiError:
    return image_api.ImageApiError(what, parameter="identifier", status=404)


def _target(request, image: str) -> _Target:
    """Find the page image and pyramid an identifier names, and ask the access decision.

    Raises:
        ImageApiError: 404 for an unknown identifier or recipe version.
        _Refused: the visitor may not see it (401, 403 or 410).
    """
    ident = parse_image_identifier(image)
    if ident is None:
        raise _not_found()
    page = (
        PageImage.objects.select_related("item", "asset", "asset__item")
        .filter(public_id=ident.public_id)
        .first()
    )
    if page is None:
        raise _not_found()
    # The item, then the page's own file, which may be stricter (Asset.access_level).
    decision = auth.image_decision(request.user, page, request)
    if not decision.allowed:
        raise _Refused(decision, page, ident)
    version = ident.version or PYRAMID_RECIPE_VERSION
    derivative = Derivative.objects.filter(
        asset_id=page.asset_id, kind=Derivative.Kind.PYRAMID, recipe_version=version
    ).first()
    if derivative is None:
        raise _not_found("no pyramid of this recipe version")
    path = derivative.abspath
    try:
        stat = path.stat()
    except OSError:
        logger.warning("IIIF: the pyramid of %s is missing at %s", page.public_id, path)
        raise _not_found("the image file is not available") from None
    # Public means "every visitor may see it": the anonymous decision, with no
    # reading-room address (so an embargo that has lifted counts).
    public = decide(None, page.asset, None).allowed
    return _Target(
        ident,
        page.public_id,
        page,
        version,
        path,
        derivative.path,
        stat.st_mtime_ns,
        stat.st_size,
        public,
    )


def _recorded_target(store: ImageCache, ident: ImageIdentifier) -> _Target | None:
    """A public page's target from its record in the cache, with no database query.

    The record exists only while the page is public: it is written after the
    access decision found it public, and every change of access purges the
    page's folder with it (``iiif.image_cache``). None when there is no record,
    or its file has changed since (then the database decides).
    """
    record = store.record(ident.public_id, ident.version)
    if record is None:
        return None
    path = Path(settings.ARCHIVE_STORAGE_ROOT) / record["relpath"]
    try:
        stat = path.stat()
    except OSError:
        return None
    if (stat.st_mtime_ns, stat.st_size) != (record["mtime_ns"], record["size"]):
        return None
    return _Target(
        ident,
        ident.public_id,
        None,
        ident.version,
        path,
        record["relpath"],
        stat.st_mtime_ns,
        stat.st_size,
        True,
    )


def _requested_id(request, ident: ImageIdentifier) -> str:
    """The service's base URI in the form requested: versioned or bare (§5.2 ``id``)."""
    version = ident.version or PYRAMID_RECIPE_VERSION
    versioned = image_service_id(ident.public_id, version, request=request)
    if ident.versioned:
        return versioned
    return f"{versioned.rsplit('/', 1)[0]}/{ident.public_id}"


def _service_id(request, target: _Target) -> str:
    """The service's base URI in the form requested: versioned or bare (§5.2 ``id``)."""
    return _requested_id(request, target.ident)


def _describe(target: _Target) -> PyramidInfo:
    try:
        return backend().describe(target.path)
    except BackendError:
        logger.exception("IIIF: cannot read the pyramid of %s", target.public_id)
        raise _not_found("the image file is not available") from None


def _conditional(request, etag: str, last_modified: int) -> HttpResponse | None:
    """A 304 (or 412) when the client's validators still match (RFC 9110 §13)."""
    response = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if response is not None:
        response["ETag"] = etag
        response["Last-Modified"] = http_date(last_modified)
    return response


def _etag(*parts: str) -> str:
    digest = hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:40]
    return f'"{digest}"'


def _body_for(request, data: bytes) -> bytes:
    """The body to send: none for HEAD (Content-Length still tells its size)."""
    return b"" if request.method == "HEAD" else data


def _wants_jsonld(request) -> bool:
    """JSON-LD unless the Accept header asks for something else (§5.1)."""
    accept = request.headers.get("Accept", "").strip()
    if not accept:
        return True
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        if media.lower() != "application/ld+json":
            continue
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


# Views -------------------------------------------------------------------


@_endpoint
def image_base(request, image: str):
    """The base URI: 303 See Other to the image's info.json (§2, ``baseUriRedirect``)."""
    target = _target(request, image)
    response = HttpResponse(status=303, content_type="text/plain; charset=utf-8")
    response["Location"] = f"{_service_id(request, target)}/info.json"
    return _finish(response, CACHE_PUBLIC if target.public else CACHE_PRIVATE)


def _info_refusal(request, refused: _Refused) -> HttpResponse:
    """info.json refused (401/403) with the Auth 2.0 services, so clients can sign in.

    Auth 2.0 §2.1: the probe service MUST be declared in the info.json, and a
    client must find it even when the info.json is refused. The body is the
    info.json without anything of the image (no size, no rights): only its id
    and its services, and it keeps the refusal's status and
    ``private, no-store``. Withdrawn images (410) have no services.
    """
    page = refused.page
    services = [] if page is None else auth.image_services(page, request=request)
    if refused.decision is Decision.GONE or not services:
        return _refusal(refused.decision)
    status = _REFUSALS[refused.decision][0]
    document = auth.refused_info_document(
        service_id=_requested_id(request, refused.ident), services=services
    )
    body = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    content_type = (
        image_api.JSONLD_MEDIA_TYPE if _wants_jsonld(request) else "application/json"
    )
    response = HttpResponse(
        _body_for(request, body), status=status, content_type=content_type
    )
    response["Content-Length"] = str(len(body))
    response["Link"] = f'<{image_api.PROFILE_URI}>;rel="profile"'
    response["Vary"] = "Accept"
    return _finish(response, CACHE_PRIVATE)


@_endpoint
def image_info(request, image: str):
    """The image information document, info.json (§5), with Auth 2.0 services when restricted.

    A page that not every visitor may see declares its probe service
    (Auth 2.0 §2.1, ``iiif.auth``), to those who may see it and, with the
    refusal's status, to those who may not (:func:`_info_refusal`).
    """
    try:
        target = _target(request, image)
    except _Refused as refused:
        return _info_refusal(request, refused)
    info = _describe(target)
    document = image_api.info_document(
        service_id=_service_id(request, target),
        width=info.width,
        height=info.height,
        limits=limits(),
        levels=list(info.levels),
        color=info.color,
        rights=target.page.item.rights_uri,
    )
    services = (
        [] if target.public else auth.image_services(target.page, request=request)
    )
    if services:
        # The Auth context comes before the Image API's (Auth 2.0 §2.1).
        document["@context"] = [auth.AUTH_CONTEXT, document["@context"]]
        document["service"] = services
    body = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    content_type = (
        image_api.JSONLD_MEDIA_TYPE if _wants_jsonld(request) else "application/json"
    )
    etag = _etag(content_type, hashlib.sha256(body).hexdigest())
    last_modified = int(
        max(target.mtime_ns / 1e9, target.page.item.updated_at.timestamp())
    )
    cache_control = CACHE_PUBLIC if target.public else CACHE_PRIVATE
    response = _conditional(request, etag, last_modified)
    if response is None:
        response = HttpResponse(_body_for(request, body), content_type=content_type)
        response["Content-Length"] = str(len(body))
        response["ETag"] = etag
        response["Last-Modified"] = http_date(last_modified)
    response["Link"] = f'<{image_api.PROFILE_URI}>;rel="profile"'
    response["Vary"] = "Accept"
    return _finish(response, cache_control)


@_endpoint
def image_request(
    request, image: str, region: str, size: str, rotation: str, quality_format: str
):
    """An image: ``{region}/{size}/{rotation}/{quality}.{format}`` (§4).

    Syntax errors answer before the identifier is looked up; everything that
    depends on the image's size is checked only after the access decision.
    Public responses are served from the on-disk cache; those asked for under
    a versioned identifier are stored there, under the segments as requested
    (only after they parsed, so they hold only the grammar's characters).
    """
    parsed = image_api.parse_request(region, size, rotation, quality_format)
    segments = (region, size, rotation, quality_format)
    store = cache_store()
    ident = parse_image_identifier(image)
    # Read before the access decision: a purge after it voids the write.
    generation = (
        store.generation() if store.enabled and ident and ident.versioned else None
    )
    target = _recorded_target(store, ident) if generation is not None else None
    if target is None:
        target = _target(request, image)
        if target.public and generation is not None:
            store.put_record(
                target.public_id, target.version, target.record(), generation=generation
            )
    return _image_answer(request, parsed, segments, target, store, generation)


def _image_answer(
    request,
    parsed: image_api.ImageRequest,
    segments: tuple[str, str, str, str],
    target: _Target,
    store: ImageCache,
    generation: str | None,
) -> HttpResponse:
    """The image a found and allowed target's request asks for, with its headers."""
    info = _describe(target)
    plan = parsed.plan(info.width, info.height, limits())
    canonical = plan.canonical()
    etag = _etag(target.etag_basis, backend().revision, canonical)
    last_modified = target.mtime_ns // 1_000_000_000
    if target.public:
        cache_control = CACHE_IMMUTABLE if target.ident.versioned else CACHE_PUBLIC
    else:
        cache_control = CACHE_PRIVATE
    service = _service_id(request, target)
    links = (
        f'<{service}/{canonical}>;rel="canonical", '
        f'<{image_api.PROFILE_URI}>;rel="profile"'
    )
    response = _conditional(request, etag, last_modified)
    if response is None:
        public_id = target.public_id
        # The bare identifier of a public page reads the current version's
        # file (the same bytes) but never writes: only versioned URLs do.
        data = store.get(public_id, target.version, segments) if target.public else None
        if data is None:
            data = backend().render(target.path, plan)
            if target.public and target.ident.versioned:
                store.put(
                    public_id, target.version, segments, data, generation=generation
                )
        response = HttpResponse(_body_for(request, data), content_type=plan.media_type)
        response["Content-Length"] = str(len(data))
        response["ETag"] = etag
        response["Last-Modified"] = http_date(last_modified)
        response["Content-Disposition"] = (
            f'inline; filename="{target.public_id}.{plan.format}"'
        )
    response["Link"] = links
    return _finish(response, cache_control)


#: The path prefix of every Image API URL.
IMAGE_PREFIX = "/iiif/3/image/"


def public_image(request) -> HttpResponse | None:
    """The short way for a visitor with no session to a page every visitor may see.

    Called by :class:`iiif.middleware.PublicImageMiddleware` before the rest
    of the middleware: answers a GET or HEAD of an image under a versioned
    identifier whose page has a record in the tile cache (so it is public:
    ``iiif.image_cache``), from the record, after counting the request against
    the rate limit. Returns None for everything else (another URL, a session
    cookie, no record, a syntax error, a client over its limit, a backend
    failure), which then takes the whole way through Django and its answer.
    """
    if request.method not in ("GET", "HEAD"):
        return None
    path = request.path_info
    if (
        not path.startswith(IMAGE_PREFIX)
        or settings.SESSION_COOKIE_NAME in request.COOKIES
    ):
        return None
    parts = path[len(IMAGE_PREFIX) :].split("/")
    if len(parts) != 5:
        return None
    image, *segments = parts
    ident = parse_image_identifier(image)
    store = cache_store()
    if ident is None or not ident.versioned or not store.enabled:
        return None
    try:
        parsed = image_api.parse_request(*segments)
    except image_api.ImageApiError:
        return None
    generation = store.generation()
    if generation is None:
        return None
    target = _recorded_target(store, ident)
    if target is None:
        return None
    try:
        request.get_host()  # ALLOWED_HOSTS, as CommonMiddleware checks on the whole way
    except DisallowedHost:
        return None
    if ratelimit.over_limit(request):
        return None  # the whole way answers 429, in the visitor's language
    try:
        response = _image_answer(
            request, parsed, tuple(segments), target, store, generation
        )
    except (image_api.ImageApiError, BackendError):
        return None
    # What the middleware skipped would add (XFrameOptionsMiddleware).
    response["X-Frame-Options"] = "DENY"
    return response


@_endpoint
def image_not_found(request, rest: str):
    """Any other path under the Image API prefix: 404, still with CORS (§7.1)."""
    raise _not_found("not an Image API URI")
