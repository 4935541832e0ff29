"""Celery entry points of ``transcription`` (queue ``transcribe``, concurrency 1, late ack)."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from transcription import services
from transcription.models import Transcript
from transcription.services.run import transcript_interrupt, transcript_run

logger = logging.getLogger(__name__)

#: Long enough for a whole day of recording at the default budget; the run's own
#: budget (TRANSCRIPTION_BUDGET_FACTOR) normally stops it long before.
TRANSCRIBE_SOFT_LIMIT = 12 * 3600
TRANSCRIBE_HARD_LIMIT = TRANSCRIBE_SOFT_LIMIT + 600


@shared_task(soft_time_limit=600, time_limit=660)
def consents_review_task() -> int:
    """Nightly: re-apply every consent, so expiries and dated closures take effect."""
    return services.consents_review()


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=TRANSCRIBE_SOFT_LIMIT,
    time_limit=TRANSCRIBE_HARD_LIMIT,
    ignore_result=True,
)
def transcript_run_task(transcript_id: int) -> str | None:
    """Make (or resume) the machine transcription of one recording.

    Routed to the ``transcribe`` queue (``CELERY_TASK_ROUTES``), so GPU
    workers can take it. Late acknowledgement and ``reject_on_worker_lost``
    put the message back if the worker dies; the run itself resumes at the
    transcript's ``progress_seconds``, so a redelivery redoes nothing.

    Returns:
        The transcript's status, or None if it no longer exists.
    """
    transcript = (
        Transcript.objects.select_related("asset", "item")
        .filter(pk=transcript_id)
        .first()
    )
    if transcript is None:
        logger.warning("Transcription: transcript %s no longer exists", transcript_id)
        return None
    if transcript.status == Transcript.Status.DONE:
        logger.info(
            "Transcription: transcript %s is already done", transcript.public_id
        )
        return transcript.status
    try:
        return transcript_run(transcript=transcript).status
    except SoftTimeLimitExceeded:
        return transcript_interrupt(
            transcript=transcript,
            reason="Stopped by the task's time limit; transcribe again to continue.",
        ).status
