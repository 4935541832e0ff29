"""Public doors of ``transcription``: transcript exports, the listening copy, the poster.

Every door asks ``archive.access.decide`` for the item (and the recording)
first and answers a refusal exactly as the item page does
(``archive.http.item_refusal_response``: 403, or 410 with the tombstone);
what it then shows is narrowed per segment by
:func:`transcription.selectors.transcript_reading`. URLs are in DESIGN.md,
Public interfaces.
"""

from __future__ import annotations

from urllib.parse import quote

from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from archive import selectors as archive_selectors
from archive.access import decide
from archive.http import PRIVATE_CACHE, item_refusal_response, ranged_file_response
from archive.models import Asset, Item
from transcription import formats, selectors
from transcription.models import Transcript

#: Exports that every visitor may read: caches may keep them a little while
#: (a correction shows within five minutes).
PUBLIC_EXPORT_CACHE = "public, max-age=300"
#: Media and posters of public items, as the archive's own file doors.
PUBLIC_FILE_CACHE = "public, max-age=3600"


def _item_or_404(public_id: str) -> Item:
    item = archive_selectors.item_get(public_id=public_id)
    if item is None:
        raise Http404("No such item")
    return item


def _everyone_sees(item: Item, asset: Asset) -> bool:
    """Whether an anonymous visitor off-site may see the item and the recording."""
    return (
        decide(AnonymousUser(), asset).allowed and decide(AnonymousUser(), item).allowed
    )


def export_filename(transcript: Transcript, fmt: str) -> str:
    """The download name of an export: ``{item}.{transcript}.{language}.{format}``."""
    language = selectors.transcript_language(transcript)
    return f"{transcript.item.public_id}.{transcript.public_id}.{language}.{fmt}"


def _export(request, item: str, fmt: str, transcript_id: str | None):
    obj = _item_or_404(item)
    decision = decide(request.user, obj, request)
    if not decision.allowed:
        return item_refusal_response(request, decision, obj)
    transcript = selectors.transcript_get(item=obj, public_id=transcript_id)
    if transcript is None:
        raise Http404("No such transcript")
    decision = decide(request.user, transcript.asset, request)
    if not decision.allowed:
        return item_refusal_response(request, decision, obj)
    reading = selectors.transcript_reading(
        transcript=transcript, user=request.user, request=request
    )
    body = formats.render(
        fmt, transcript=transcript, segments=reading.segments, closed=reading.closed
    )
    response = HttpResponse(body, content_type=formats.MEDIA_TYPES[fmt])
    name = export_filename(transcript, fmt)
    response["Content-Disposition"] = (
        f"inline; filename=\"{name}\"; filename*=UTF-8''{quote(name, safe='')}"
    )
    response["X-Content-Type-Options"] = "nosniff"
    # Placeholders and headers are in the reader's language (cookie or header).
    patch_vary_headers(response, ["Cookie"])
    if reading.shared:
        response["Cache-Control"] = PUBLIC_EXPORT_CACHE
    else:
        response["Cache-Control"] = PRIVATE_CACHE
    if _everyone_sees(obj, transcript.asset):
        # IIIF clients and players on other sites fetch the WebVTT (cookbook 0219).
        response["Access-Control-Allow-Origin"] = "*"
    return response


@require_safe
def item_transcript(request, item: str, format: str):
    """The item's primary transcript (``/items/{item}/transcript.{vtt,srt,txt,json}``).

    Closed passages appear only as closed placeholders; a transcript an
    archivist has not approved says "machine-generated, not yet reviewed".
    """
    return _export(request, item, format, None)


@require_safe
def transcript_file(request, item: str, transcript: str, format: str):
    """Any readable transcript of the item (``/items/{item}/transcripts/{t}.{format}``)."""
    return _export(request, item, format, transcript)


def _media_asset(request, obj: Item, asset_id: int):
    """The item's media file, or a response: the item's refusal, or 404."""
    target = obj.assets.filter(pk=asset_id, role=Asset.Role.MEDIA).first()
    if target is None:
        decision = decide(request.user, obj, request)
        if not decision.allowed:
            return None, item_refusal_response(request, decision, obj)
        raise Http404("No such recording")
    decision = decide(request.user, target, request)
    if not decision.allowed:
        return None, item_refusal_response(request, decision, obj)
    return target, None


@require_safe
def recording_listen(request, item: str, asset: int):
    """What the player plays (``/items/{item}/listen/{asset}``), with byte ranges.

    The listening copy (audio) or the H.264 proxy (video), newest recipe.
    When the consent closes passages, everyone but staff gets a copy with
    them silenced, and never the unsilenced one; staff get the unsilenced
    copy. The answer then differs by reader, so no shared cache keeps it.
    """
    obj = _item_or_404(item)
    target, refusal = _media_asset(request, obj, asset)
    if refusal is not None:
        return refusal
    listening = selectors.listening_file_get(
        asset=target, user=request.user, request=request
    )
    if listening is None:
        raise Http404(
            "The stored file is missing; staff have been told by the fixity check."
        )
    public = _everyone_sees(obj, target) and not listening.varies
    response = ranged_file_response(
        request,
        listening.path,
        listening.media_type,
        cache_control=PUBLIC_FILE_CACHE if public else PRIVATE_CACHE,
    )
    if _everyone_sees(obj, target):
        response["Access-Control-Allow-Origin"] = "*"
    return response


@require_safe
def recording_poster(request, item: str, asset: int):
    """A video's poster frame (``/items/{item}/poster/{asset}.jpg``), for ``<video poster>``."""
    obj = _item_or_404(item)
    target, refusal = _media_asset(request, obj, asset)
    if refusal is not None:
        return refusal
    poster = selectors.poster_get(asset=target)
    if poster is None:
        raise Http404("This recording has no poster")
    public = _everyone_sees(obj, target)
    response = ranged_file_response(
        request,
        poster.abspath,
        poster.media_type or "image/jpeg",
        cache_control=PUBLIC_FILE_CACHE if public else PRIVATE_CACHE,
    )
    if public:
        response["Access-Control-Allow-Origin"] = "*"
    return response
