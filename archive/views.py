"""Public pages of the archive: home, item records, institutions, files, health.

Views parse input, ask :mod:`archive.access` and the selectors, and render.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from archive import citations, selectors
from archive.access import Decision, decide, is_archive_staff
from archive.health import health_report
from archive.http import PRIVATE_CACHE, item_refusal_response, ranged_file_response
from archive.middleware import SCRIPT_COOKIE, SCRIPTS
from archive.models import Asset, Derivative

PUBLIC_CACHE = "public, max-age=3600"


def _item_or_404(public_id: str):
    item = selectors.item_get(public_id=public_id)
    if item is None:
        raise Http404("No such item")
    return item


@require_GET
def item_detail(request, item: str):
    """An item's public page (``/items/{item}/``), if the visitor may see it."""
    obj = _item_or_404(item)
    decision = decide(request.user, obj, request)
    if not decision.allowed:
        return item_refusal_response(request, decision, obj)
    media = [
        a
        for a in obj.assets.filter(role=Asset.Role.MEDIA)
        if decide(request.user, a, request).allowed
    ]
    start = request.GET.get("t", "")
    response = render(
        request,
        "archive/item_detail.html",
        {
            "item": obj,
            "pages": obj.pages.all(),
            "media": media,
            "agents": obj.item_agents.all(),
            "start_seconds": start if start.replace(".", "", 1).isdigit() else "",
            "viewer_template": settings.ARCHIVE_ITEM_VIEWERS.get(obj.kind, ""),
        },
    )
    response["Cache-Control"] = (
        PRIVATE_CACHE if obj.access_level != "public" else "no-cache"
    )
    return response


def _citation_response(request, item: str, render_citation, content_type, ext):
    obj = _item_or_404(item)
    decision = decide(request.user, obj, request)
    if not decision.allowed:
        return item_refusal_response(request, decision, obj)
    url = request.build_absolute_uri(reverse("item_detail", args=[obj.public_id]))
    body = render_citation(obj, url, timezone.localdate())
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{obj.public_id}.{ext}"'
    response["Cache-Control"] = (
        PRIVATE_CACHE if obj.access_level != "public" else "no-cache"
    )
    return response


@require_GET
def item_cite_csl(request, item: str):
    """The item's citation as CSL-JSON (a list of one item), for reference managers."""
    return _citation_response(
        request,
        item,
        lambda obj, url, day: json.dumps(
            [citations.citation_csl(obj, url, day)], ensure_ascii=False, indent=2
        ),
        "application/vnd.citationstyles.csl+json",
        "json",
    )


@require_GET
def item_cite_bibtex(request, item: str):
    """The item's citation as a BibTeX entry."""
    return _citation_response(
        request,
        item,
        citations.citation_bibtex,
        "application/x-bibtex; charset=utf-8",
        "bib",
    )


def _derivative_response(request, obj, asset: Asset, kind: str):
    decision = decide(request.user, asset, request)
    if not decision.allowed:
        return item_refusal_response(request, decision, obj)
    derivative = (
        Derivative.objects.filter(asset=asset, kind=kind)
        .order_by("-recipe_version")
        .first()
    )
    if derivative is None or not derivative.abspath.exists():
        raise Http404("No such image")
    public = obj.access_level == "public" and not asset.is_staff_only
    return ranged_file_response(
        request,
        derivative.abspath,
        derivative.media_type,
        cache_control=PUBLIC_CACHE if public else PRIVATE_CACHE,
    )


@require_GET
def item_thumbnail(request, item: str):
    """The item's thumbnail (of its first page or poster frame)."""
    obj = _item_or_404(item)
    page = obj.pages.select_related("asset").first()
    if page is None:
        decision = decide(request.user, obj, request)
        if not decision.allowed:
            return item_refusal_response(request, decision, obj)
        raise Http404("This item has no image")
    return _derivative_response(request, obj, page.asset, Derivative.Kind.THUMBNAIL)


@require_GET
def page_preview(request, item: str, sequence: int):
    """A page's preview image (until the IIIF Image API serves the pyramid)."""
    obj = _item_or_404(item)
    page = obj.pages.select_related("asset").filter(sequence=sequence).first()
    if page is None:
        decision = decide(request.user, obj, request)
        if not decision.allowed:
            return item_refusal_response(request, decision, obj)
        raise Http404("No such page")
    return _derivative_response(request, obj, page.asset, Derivative.Kind.PREVIEW)


@require_GET
def asset_file(request, item: str, asset: int):
    """An original file of the item (audio, video, page scan), with byte ranges.

    Served only through this door, which asks the access decision; stored
    files are never at a guessable public path.
    """
    obj = _item_or_404(item)
    target = obj.assets.filter(pk=asset).first()
    if target is None:
        decision = decide(request.user, obj, request)
        if not decision.allowed:
            return item_refusal_response(request, decision, obj)
        raise Http404("No such file")
    decision = decide(request.user, target, request)
    if not decision.allowed:
        return item_refusal_response(request, decision, obj)
    if target.role == Asset.Role.MEDIA and _has_closed_passages(obj):
        # The original holds passages the interviewee closed: staff only.
        # Everyone else hears the listening copy with them silenced.
        if not is_archive_staff(request.user):
            return item_refusal_response(
                request,
                Decision.FORBIDDEN
                if request.user.is_authenticated
                else Decision.LOGIN_REQUIRED,
                obj,
            )
    if not target.path.exists():
        raise Http404(
            "The stored file is missing; staff have been told by the fixity check."
        )
    public = obj.access_level == "public" and not target.is_staff_only
    return ranged_file_response(
        request,
        target.path,
        target.media_type,
        filename=target.original_filename,
        cache_control=PUBLIC_CACHE if public else PRIVATE_CACHE,
    )


def _has_closed_passages(item) -> bool:
    path = getattr(settings, "ARCHIVE_CLOSED_PASSAGES", "")
    return bool(path and import_string(path)(item=item))


@require_GET
def institution_list(request):
    """Browse by institution: every contributing library and partner."""
    return render(
        request,
        "archive/institution_list.html",
        {"institutions": selectors.institution_list()},
    )


@require_GET
def institution_detail(request, code: str):
    """One institution and the items it contributed that the visitor may see."""
    institution = selectors.institution_get(code=code)
    if institution is None:
        raise Http404("No such institution")
    items = selectors.item_list(
        user=request.user, request=request, institution=institution
    )
    page = Paginator(items, 24).get_page(request.GET.get("page"))
    return render(
        request,
        "archive/institution_detail.html",
        {"institution": institution, "page_obj": page},
    )


@require_POST
def set_display_script(request):
    """Remember the reader's 繁/简 display choice in a cookie, then go back."""
    script = request.POST.get("script", "")
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        target, {request.get_host()}, request.is_secure()
    ):
        target = "/"
    response = HttpResponseRedirect(target)
    if script in SCRIPTS:
        response.set_cookie(
            SCRIPT_COOKIE,
            script,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return response


@never_cache
@require_GET
def healthz(request):
    """Health of the database, broker, worker heartbeat, search and storage (JSON)."""
    report, essential_ok = health_report()
    response = JsonResponse(report, status=200 if essential_ok else 503)
    response["Access-Control-Allow-Origin"] = "*"
    return response
