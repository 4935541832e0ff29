"""IIIF Presentation API 3.0 doors: manifests, collections, metadata records.

Thin adapters (STYLE.md §6): read, ask ``archive.access.decide``, call the one
builder (:mod:`iiif.presentation`), answer. Every answer carries
``Access-Control-Allow-Origin: *`` (Presentation 3.0 §6.3) and is JSON-LD for
clients that ask for it, plain JSON otherwise (§6.3). A refused item answers
401, 403 or 410 with ``private, no-store`` and nothing of the record.
"""

from __future__ import annotations

import json
import re

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags
from django.views.decorators.http import require_safe

from archive.access import Decision, decide
from iiif import presentation, selectors

PRIVATE_CACHE = "private, no-store"

#: What an item's identifier can be (``archive.models.PUBLIC_ID_PATTERN``, but
#: anchored at the very end). Anything else is 404 before the cache or the
#: database sees it: a NUL is an error on PostgreSQL, control characters are
#: invalid cache keys, and nothing else can name an item.
_ITEM_KEY = re.compile(r"[a-z0-9][a-z0-9-]{2,63}")
#: What a collection key can be: ``top``, ``theme-{code}`` or a Collection code
#: (a slug of at most 64 characters, so ``theme-`` and a slug fit in 70).
_COLLECTION_KEY = re.compile(r"[-a-zA-Z0-9_]{1,70}")


def item_key_valid(key: str) -> bool:
    """Whether ``key`` has the form of an item's public identifier."""
    return bool(_ITEM_KEY.fullmatch(key))


#: What a refused or missing door says: never anything of the record.
_ERRORS = {
    401: "Sign in or visit the reading room to see this item.",
    403: "This item is not available to you.",
    404: "Not found.",
    410: "This item has been withdrawn.",
}


def _content_type(request) -> str:
    """JSON-LD with the Presentation 3 profile when asked for, else JSON (§6.3)."""
    accept = request.headers.get("Accept", "")
    return (
        presentation.LD_JSON
        if "application/ld+json" in accept
        else ("application/json")
    )


def _answer(
    request, body: str | bytes, *, status: int, cache_control: str, media_type: str = ""
) -> HttpResponse:
    response = HttpResponse(
        body, status=status, content_type=media_type or _content_type(request)
    )
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = cache_control
    response["X-Content-Type-Options"] = "nosniff"
    patch_vary_headers(response, ["Accept"])
    return response


def _error(request, status: int) -> HttpResponse:
    body = json.dumps({"status": status, "error": _ERRORS[status]})
    return _answer(request, body, status=status, cache_control=PRIVATE_CACHE)


def _refusal(request, decision: Decision) -> HttpResponse:
    return _error(request, decision.value)


def _document(request, document: presentation.Document) -> HttpResponse:
    if not document.shared:
        return _answer(
            request,
            document.data,
            status=200,
            cache_control=PRIVATE_CACHE,
            media_type=document.media_type,
        )
    cache_control = f"public, max-age={settings.IIIF_PRESENTATION_MAX_AGE}"
    if document.etag in parse_etags(request.headers.get("If-None-Match", "")):
        response = HttpResponseNotModified()
        response["Access-Control-Allow-Origin"] = "*"
        response["Cache-Control"] = cache_control
        response["ETag"] = document.etag
        patch_vary_headers(response, ["Accept"])
        return response
    response = _answer(
        request,
        document.data,
        status=200,
        cache_control=cache_control,
        media_type=document.media_type,
    )
    response["ETag"] = document.etag
    return response


@require_safe
def manifest(request, item: str):
    """An item's manifest (``/iiif/3/manifest/{item}``), if the visitor may see it."""
    if not item_key_valid(item):
        return _error(request, 404)
    # The stamp is read before the item: see presentation.manifest_stamp.
    stamp = presentation.manifest_stamp(public_id=item)
    obj = selectors.item_get(public_id=item)
    if obj is None:
        return _error(request, 404)
    decision = decide(request.user, obj, request)
    if not decision.allowed:
        return _refusal(request, decision)
    document = presentation.manifest_document(
        item=obj, stamp=stamp, user=request.user, request=request
    )
    if document is None:
        return _error(request, 404)
    return _document(request, document)


@require_safe
def collection(request, key: str):
    """A collection (``/iiif/3/collection/{key}``): ``top``, ``theme-{code}`` or a code.

    Lists only what the visitor may see (``archive.selectors.item_visibility_q``).
    """
    if not _COLLECTION_KEY.fullmatch(key):
        return _error(request, 404)
    target = selectors.collection_target_get(key=key)
    if target is None:
        return _error(request, 404)
    document = presentation.collection_document(
        target, user=request.user, request=request
    )
    return _document(request, document)


@require_safe
def record(request, item: str):
    """An item's metadata record (``/iiif/3/record/{item}.json``), the manifest's seeAlso."""
    if not item_key_valid(item):
        return _error(request, 404)
    obj = selectors.manifest_item_get(public_id=item, with_pages=False)
    if obj is None:
        return _error(request, 404)
    decision = decide(request.user, obj, request)
    if not decision.allowed:
        return _refusal(request, decision)
    return _document(request, presentation.record_document(item=obj, request=request))
