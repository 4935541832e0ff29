"""Celery entry points of ``ingest``: thin interfaces to one service each (queue ``ingest``)."""

from __future__ import annotations

import logging

from celery import shared_task

from ingest.models import IngestJob
from ingest.services import jobs, uploads

logger = logging.getLogger(__name__)


@shared_task(soft_time_limit=3600, time_limit=3660, acks_late=True)
def job_dispatch_task(job_id: int) -> str | None:
    """Plan a job (check every volume, hash every page) and queue its files."""
    job = IngestJob.objects.filter(pk=job_id).first()
    if job is None:
        logger.warning("Ingest job %s no longer exists", job_id)
        return None
    return jobs.job_dispatch(job=job).status


@shared_task(soft_time_limit=3600, time_limit=3660, acks_late=True)
def job_upload_task(job_id: int) -> str | None:
    """Unpack an uploaded zip safely, then plan the job and queue its files."""
    job = IngestJob.objects.filter(pk=job_id).first()
    if job is None:
        logger.warning("Ingest job %s no longer exists", job_id)
        return None
    job = uploads.job_upload_unpack(job=job)
    if job.is_finished:
        return job.status
    return jobs.job_dispatch(job=job).status


@shared_task(
    soft_time_limit=900,
    time_limit=960,
    acks_late=True,
    reject_on_worker_lost=True,
)
def job_file_process_task(file_id: int) -> str | None:
    """Turn one delivered file into records by its kind, then close the job if it was the last."""
    file = jobs.job_file_process(file_id=file_id)
    if file is None:
        logger.warning("Ingest file %s no longer exists", file_id)
        return None
    jobs.job_finish(job=IngestJob.objects.get(pk=file.job_id))
    return file.status


@shared_task(
    soft_time_limit=6 * 3600,
    time_limit=6 * 3600 + 300,
    acks_late=True,
    reject_on_worker_lost=True,
)
def job_recording_process_task(file_id: int) -> str | None:
    """Turn one delivered recording into a stored original with its listening copy.

    The same service as ``job_file_process_task`` (it dispatches by kind), with
    limits for a long recording: a two-hour video's proxy is minutes of work
    on two cores, and the decoder keeps the file's claim fresh meanwhile.
    """
    file = jobs.job_file_process(file_id=file_id)
    if file is None:
        logger.warning("Ingest file %s no longer exists", file_id)
        return None
    jobs.job_finish(job=IngestJob.objects.get(pk=file.job_id))
    return file.status


@shared_task(soft_time_limit=60, time_limit=90)
def job_finish_task(job_id: int) -> str | None:
    """Close a job whose files are all processed."""
    job = IngestJob.objects.filter(pk=job_id).first()
    if job is None:
        return None
    return jobs.job_finish(job=job).status
