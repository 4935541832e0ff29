"""The ingest pages of the Wagtail admin: jobs, their progress and events, zip upload, resume.

Registered under ``/admin/ingest/`` by ``ingest.wagtail_hooks``. Staff need
``ingest.view_ingestjob`` to watch jobs and ``ingest.run_ingest`` to upload
or resume (the Archivists and Central library staff groups have both).
"""

from __future__ import annotations

import logging

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from kombu.exceptions import OperationalError as KombuOperationalError

from ingest.models import IngestEvent, IngestJob
from ingest.services.jobs import job_progress
from ingest.services.uploads import job_upload_receive

logger = logging.getLogger(__name__)

VIEW = "ingest.view_ingestjob"
RUN = "ingest.run_ingest"


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


def _too_big_message() -> str:
    return _(
        "The zip is larger than %(limit)s, the largest upload the admin site "
        "accepts. Put larger deliveries in a folder on the server and run "
        "“python manage.py ingest_dadian FOLDER” (see docs/ingest.md)."
    ) % {"limit": filesizeformat(settings.INGEST_UPLOAD_MAX_BYTES)}


class UploadForm(forms.Form):
    """A delivery as one zip file."""

    delivery = forms.FileField(
        label=gettext_lazy("Delivery (zip)"),
        help_text=gettext_lazy(
            "A zip of one or more volume folders (volume.json or volumes.csv and "
            "the page files), in the batch format of docs/ingest-format.md."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
    )

    def clean_delivery(self):
        upload = self.cleaned_data["delivery"]
        if upload.size > settings.INGEST_UPLOAD_MAX_BYTES:
            raise forms.ValidationError(_too_big_message())
        head = upload.read(4)
        upload.seek(0)
        if head[:2] != b"PK":
            raise forms.ValidationError(
                _("%(name)s is not a zip file.") % {"name": upload.name}
            )
        return upload


def job_index(request: HttpRequest) -> HttpResponse:
    """Every ingest job, newest first, with its progress."""
    _require(request, VIEW)
    page = Paginator(IngestJob.objects.select_related("created_by"), 25).get_page(
        request.GET.get("p")
    )
    rows = [(job, job_progress(job=job)) for job in page]
    return TemplateResponse(
        request,
        "ingest/admin/job_index.html",
        {
            "page_title": _("Ingest jobs"),
            "header_icon": "upload",
            "page_obj": page,
            "rows": rows,
            "can_run": request.user.has_perm(RUN),
        },
    )


def job_upload(request: HttpRequest) -> HttpResponse:
    """Upload a zip delivery; it is unpacked and ingested by the workers."""
    _require(request, RUN)
    form = UploadForm()
    if request.method == "POST":
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > settings.INGEST_UPLOAD_MAX_BYTES + 1024 * 1024:
            # Refused before the body is read: nothing of it is stored.
            form.errors["delivery"] = form.error_class([_too_big_message()])
            return _upload_page(request, form, status=413)
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            from ingest.tasks import job_upload_task

            job = job_upload_receive(
                upload=form.cleaned_data["delivery"], user=request.user
            )
            if _hand_to_workers(request, job_upload_task, job):
                messages.success(
                    request,
                    _(
                        "%(name)s was received; the workers are unpacking and "
                        "ingesting it."
                    )
                    % {"name": job.upload_name},
                )
            return redirect("ingest_job_detail", job.pk)
    return _upload_page(request, form)


def _upload_page(request, form, status: int = 200) -> HttpResponse:
    return TemplateResponse(
        request,
        "ingest/admin/job_upload.html",
        {
            "page_title": _("Upload a delivery"),
            "header_icon": "upload",
            "form": form,
            "limit": settings.INGEST_UPLOAD_MAX_BYTES,
        },
        status=status,
    )


def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One job: progress bar, counts, rate and time left, and its events."""
    _require(request, VIEW)
    job = get_object_or_404(IngestJob, pk=pk)
    events = job.events.all()
    if request.GET.get("level") == "error":
        events = events.filter(level=IngestEvent.Level.ERROR)
    page = Paginator(events, 100).get_page(request.GET.get("p"))
    return TemplateResponse(
        request,
        "ingest/admin/job_detail.html",
        {
            "page_title": _("Ingest job #%(pk)s") % {"pk": job.pk},
            "header_icon": "upload",
            "job": job,
            "progress": job_progress(job=job),
            "page_obj": page,
            "errors_only": request.GET.get("level") == "error",
            "error_count": job.events.filter(level=IngestEvent.Level.ERROR).count(),
            "can_run": request.user.has_perm(RUN),
            "progress_url": reverse("ingest_job_progress", args=[job.pk]),
        },
    )


def job_progress_json(request: HttpRequest, pk: int) -> JsonResponse:
    """The job's progress for the admin page to poll while it runs."""
    _require(request, VIEW)
    job = get_object_or_404(IngestJob, pk=pk)
    p = job_progress(job=job)
    response = JsonResponse(
        {
            "status": job.status,
            "status_display": job.get_status_display(),
            "finished": job.is_finished,
            "message": job.message,
            "total": p.total,
            "processed": p.processed,
            "done": p.done,
            "unchanged": p.unchanged,
            "failed": p.failed,
            "percent": p.percent,
            "pages_per_minute": round(p.pages_per_minute, 1)
            if p.pages_per_minute
            else None,
            "seconds_left": round(p.seconds_left)
            if p.seconds_left is not None
            else None,
        }
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def job_resume(request: HttpRequest, pk: int) -> HttpResponse:
    """Hand an unfinished job (a killed worker, a stopped command) to the workers again."""
    _require(request, RUN)
    job = get_object_or_404(IngestJob, pk=pk)
    if job.is_finished:
        messages.info(request, _("This job has finished; there is nothing to resume."))
    else:
        from ingest.tasks import job_dispatch_task, job_upload_task

        task = (
            job_upload_task
            if job.source == IngestJob.Source.UPLOAD
            else job_dispatch_task
        )
        if _hand_to_workers(request, task, job):
            messages.success(request, _("The job was handed to the workers again."))
    return redirect("ingest_job_detail", job.pk)


def _hand_to_workers(request: HttpRequest, task, job: IngestJob) -> bool:
    """Queue ``task`` for the job once it is committed; if the broker is down, say so.

    The job's rows are stored whatever happens here: the stalled-job sweep
    (``jobs_stalled_resume_task``, every ten minutes) hands it to the workers
    once the broker is back, and Resume does it at once.

    Returns:
        False when the broker refused the message (a warning says so).
    """
    sent = {}

    def send() -> None:
        try:
            task.delay(job.pk)
        except (KombuOperationalError, OSError) as exc:
            logger.error(
                "Could not queue %s for ingest job %s: %s", task.name, job.pk, exc
            )
            sent["ok"] = False
            messages.warning(
                request,
                _(
                    "The job is stored, but the workers could not be reached (the "
                    "message broker did not answer). They take it up by themselves "
                    "once the broker is back; press Resume to hand it over sooner."
                ),
            )
        else:
            sent["ok"] = True

    transaction.on_commit(send)
    return sent.get("ok", True)
