"""Celery entry points of ``ingest``: thin interfaces to one service each (queue ``ingest``).

A file interrupted by a fault of the archive (storage full, the database
connection lost) is retried a few times, soon (a database failover, a moment
of full disk); a longer fault is left to ``jobs_stalled_resume_task``.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from ingest.models import IngestJob
from ingest.services import jobs, uploads
from ingest.services.pages import IngestInterrupted

logger = logging.getLogger(__name__)

#: What makes a file task try again later rather than fail.
RETRY_FOR = (IngestInterrupted, OperationalError, InterfaceError)
#: Retries after 1, 2, 4, 8 and 16 s: half a minute of fault, then the sweep.
RETRIES = 5


def _retry(task, file_id: int, exc: Exception):
    countdown = 2**task.request.retries
    logger.warning(
        "Ingest file %s interrupted (%s); retry %s of %s in %s s",
        file_id,
        exc,
        task.request.retries + 1,
        RETRIES,
        countdown,
    )
    return task.retry(exc=exc, countdown=countdown, max_retries=RETRIES)


@shared_task(
    soft_time_limit=jobs.PLAN_TIME_LIMIT - 60,
    time_limit=jobs.PLAN_TIME_LIMIT,
    acks_late=True,
)
def job_dispatch_task(job_id: int) -> str | None:
    """Plan a job (check every volume, hash every page) and queue its files."""
    job = IngestJob.objects.filter(pk=job_id).first()
    if job is None:
        logger.warning("Ingest job %s no longer exists", job_id)
        return None
    return jobs.job_dispatch(job=job).status


@shared_task(
    soft_time_limit=jobs.PLAN_TIME_LIMIT - 60,
    time_limit=jobs.PLAN_TIME_LIMIT,
    acks_late=True,
)
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
    bind=True,
    soft_time_limit=900,
    time_limit=960,
    acks_late=True,
    reject_on_worker_lost=True,
)
def job_file_process_task(self, file_id: int) -> str | None:
    """Turn one delivered file into records by its kind, then close the job if it was the last."""
    try:
        file = jobs.job_file_process(file_id=file_id)
    except RETRY_FOR as exc:
        raise _retry(self, file_id, exc) from exc
    if file is None:
        logger.warning("Ingest file %s no longer exists", file_id)
        return None
    jobs.job_finish(job=IngestJob.objects.get(pk=file.job_id))
    return file.status


@shared_task(
    bind=True,
    soft_time_limit=6 * 3600,
    time_limit=6 * 3600 + 300,
    acks_late=True,
    reject_on_worker_lost=True,
)
def job_recording_process_task(self, file_id: int) -> str | None:
    """Turn one delivered recording into a stored original with its listening copy.

    The same service as ``job_file_process_task`` (it dispatches by kind), with
    limits for a long recording: a two-hour video's proxy is minutes of work
    on two cores, and the decoder keeps the file's claim fresh meanwhile.
    """
    try:
        file = jobs.job_file_process(file_id=file_id)
    except RETRY_FOR as exc:
        raise _retry(self, file_id, exc) from exc
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


@shared_task(soft_time_limit=120, time_limit=150)
def jobs_stalled_resume_task() -> list[int]:
    """Every ten minutes: hand back to the workers the jobs that stopped moving.

    Work lost with a broker's messages (Redis restarted without persistence)
    or given up after retries finishes once the fault is gone, without anyone
    pressing Resume.
    """
    return [job.pk for job in jobs.jobs_stalled_resume()]
