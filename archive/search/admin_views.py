"""The "Search index" page of the Wagtail admin: the engine's state and its rebuilds.

Registered under ``/admin/search-index/`` by ``archive.wagtail_hooks``, for
archive staff only (:func:`archive.access.is_archive_staff`). The page shows
the engine and its health, the rebuild under way with a progress bar that
polls :func:`run_progress_json` every 2 s (the look of the ingest job page),
the last rebuilds, and a button that queues a new one
(``archive.tasks.search_reindex_task``).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from archive.access import is_archive_staff
from archive.models import SearchIndexRun
from archive.search import runs

#: How many past rebuilds the page lists.
HISTORY = 10


def _require_staff(request: HttpRequest) -> None:
    if not is_archive_staff(request.user):
        raise PermissionDenied


@require_GET
def search_index(request: HttpRequest) -> HttpResponse:
    """The engine, its health, the rebuild under way and the last ones."""
    _require_staff(request)
    active = runs.run_active()
    # Translators: title of the admin page about the search index.
    title = _("Search index")
    return TemplateResponse(
        request,
        "archive/admin/search_index.html",
        {
            "page_title": title,
            "header_title": title,
            "header_icon": "search",
            "status": runs.index_status_get(),
            "active": active,
            "runs": runs.run_list(limit=HISTORY),
            "progress_url": (
                reverse("archive_search_index_progress", args=[active.pk])
                if active
                else ""
            ),
        },
    )


@require_POST
def search_index_rebuild(request: HttpRequest) -> HttpResponse:
    """Queue a rebuild of the whole index, unless one is queued or running."""
    _require_staff(request)
    try:
        run = runs.run_create(
            user=request.user, source=SearchIndexRun.Source.ADMIN, exclusive=True
        )
    except runs.RunAlreadyActive:
        messages.warning(
            request,
            _(
                "A rebuild of the search index is already queued or running; "
                "wait for it to finish."
            ),
        )
        return redirect("archive_search_index")
    from archive.tasks import search_reindex_task

    search_reindex_task.delay_on_commit(run.pk)
    messages.success(
        request,
        _(
            "The search index is being rebuilt by the search worker; searches "
            "go on meanwhile."
        ),
    )
    return redirect("archive_search_index")


@require_GET
def run_progress_json(request: HttpRequest, pk: int) -> JsonResponse:
    """One rebuild's progress, for the admin page to poll while it runs."""
    _require_staff(request)
    run = get_object_or_404(SearchIndexRun, pk=pk)
    response = JsonResponse(
        {
            "state": run.state,
            "state_display": run.get_state_display(),
            "finished": not run.is_active,
            "done": run.done,
            "total": run.total,
            "percent": run.percent,
            "documents": run.documents,
            "error": run.error,
        }
    )
    response["Cache-Control"] = "private, no-store"
    return response
