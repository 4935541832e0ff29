"""Zip deliveries uploaded in the admin: received into a job's folder, unpacked safely, dispatched.

The request only moves the uploaded file into the job's folder; unpacking
(``ingest.zipfiles.zip_extract``: no ``..``, absolute paths or symlinks, no
bombs, GBK and Big5 names decoded) and the ingest run in the workers.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

from ingest.models import IngestEvent, IngestJob
from ingest.services.jobs import job_create
from ingest.zipfiles import ZipRefused, zip_extract

ZIP_NAME = "delivery.zip"
FOLDER_NAME = "delivery"


def _job_folder(job: IngestJob) -> Path:
    return upload_folder(job_id=job.pk)


def upload_folder(*, job_id: int) -> Path:
    """The folder holding an upload job's zip and its unpacked delivery."""
    return Path(settings.INGEST_UPLOAD_ROOT) / f"job-{job_id}"


def job_upload_receive(*, upload: UploadedFile, user=None) -> IngestJob:
    """Create an upload job and keep the zip in its folder for the workers to unpack."""
    job = job_create(
        path=Path(settings.INGEST_UPLOAD_ROOT) / "pending",
        source=IngestJob.Source.UPLOAD,
        upload_name=upload.name or ZIP_NAME,
        user=user,
    )
    folder = _job_folder(job)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / ZIP_NAME
    temporary = getattr(upload, "temporary_file_path", None)
    if temporary is not None:
        shutil.move(temporary(), target)
    else:
        with open(target, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
    job.path = str(folder / FOLDER_NAME)
    job.save(update_fields=["path", "updated_at"])
    return job


def job_upload_unpack(*, job: IngestJob) -> IngestJob:
    """Unpack an upload job's zip into its delivery folder, reporting refused entries.

    A zip refused as a whole (not a zip, damaged, too big, a bomb) fails the
    job with the reason; entries refused one by one are error events and the
    rest of the delivery goes on. Unpacking again after a crash starts afresh.
    """
    folder = _job_folder(job)
    archive = folder / ZIP_NAME
    target = folder / FOLDER_NAME
    if not archive.exists():
        if target.is_dir():
            return job  # unpacked by an earlier run
        return _fail(job, "the uploaded zip is missing")
    if target.exists():
        shutil.rmtree(target)  # a half unpacking from a killed run
    job.path = str(target)
    try:
        report = zip_extract(
            archive=archive,
            target=target,
            max_total_bytes=settings.INGEST_UNPACKED_MAX_BYTES,
        )
    except ZipRefused as exc:
        shutil.rmtree(target, ignore_errors=True)
        return _fail(job, f"{job.upload_name}: {exc}")
    for problem in report.problems:
        IngestEvent.objects.create(
            job=job,
            level=IngestEvent.Level.ERROR,
            where=f"{job.upload_name}: {problem.name}"[:1000],
            message=problem.message,
        )
    archive.unlink()
    # A zip of one folder (the usual way to zip a delivery): that folder is the delivery.
    inside = [p for p in target.iterdir()]
    if len(inside) == 1 and inside[0].is_dir():
        job.path = str(inside[0])
        job.save(update_fields=["path", "updated_at"])
    return job


def _fail(job: IngestJob, message: str) -> IngestJob:
    IngestEvent.objects.create(
        job=job, level=IngestEvent.Level.ERROR, where=job.upload_name, message=message
    )
    IngestJob.objects.filter(pk=job.pk).update(
        status=IngestJob.Status.FAILED, finished_at=timezone.now(), message=message
    )
    job.refresh_from_db()
    return job
