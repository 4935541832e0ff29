"""Celery entry points of ``transcription`` (queue ``transcribe``, concurrency 1, late ack)."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from archive.models import Item
from transcription import services
from transcription.models import Transcript
from transcription.services.listening import listening_silenced_make
from transcription.services.run import transcript_interrupt, transcript_run

logger = logging.getLogger(__name__)

#: Long enough for a whole day of recording at the default budget; the run's own
#: budget (TRANSCRIPTION_BUDGET_FACTOR) normally stops it long before.
TRANSCRIBE_SOFT_LIMIT = 12 * 3600
TRANSCRIBE_HARD_LIMIT = TRANSCRIBE_SOFT_LIMIT + 600
#: Silencing decodes and re-encodes the whole recording (and copies a video's
#: pictures): a few minutes for a day of audio on one core, with room to spare.
SILENCED_SOFT_LIMIT = 2 * 3600
SILENCED_HARD_LIMIT = SILENCED_SOFT_LIMIT + 300


@shared_task(soft_time_limit=600, time_limit=660)
def consents_review_task() -> int:
    """Nightly: re-apply every consent, so expiries and dated closures take effect."""
    return services.consents_review()


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=SILENCED_SOFT_LIMIT,
    time_limit=SILENCED_HARD_LIMIT,
    ignore_result=True,
)
def listening_silenced_task(item_id: int) -> int | None:
    """Make the silenced listening copies of an item's recordings (consent changed).

    Routed to the ``transcribe`` queue (``CELERY_TASK_ROUTES``): it decodes
    and encodes audio like the engine runs. Queued after commit by
    ``consent_save`` and by the nightly ``consents_review``. Idempotent: copies
    are named by the set of closed passages, and one that exists is kept. If
    the time limit stops it, nothing half-written is left and the listening
    door makes the copy on its first request, as it did before.

    Returns:
        How many copies exist now, or None if the item no longer exists or
        the time limit stopped the task.
    """
    item = Item.objects.filter(pk=item_id).first()
    if item is None:
        logger.warning("Silenced copies: item %s no longer exists", item_id)
        return None
    try:
        return len(listening_silenced_make(item=item))
    except SoftTimeLimitExceeded:
        logger.warning(
            "Silenced copies of %s stopped by the time limit; the listening door "
            "will make them on demand",
            item.public_id,
        )
        return None


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
