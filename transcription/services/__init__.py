"""Writes of ``transcription``: requesting transcripts, consent, (and in submodules) runs and edits.

Submodules: ``consent`` (the one writer of consents and their closed
passages, and carrying them onto access; re-exported here), ``listening``
(silenced listening copies made ahead of the first listener), ``run`` (the
engine run, chunked and resumable), ``editing`` (corrections, splits,
merges, speakers, approval, revisions, carrying corrections over to a
re-transcription); ``formats`` lives beside this package (exports and
imports).
"""

from __future__ import annotations

from archive.models import Asset
from transcription.models import Transcript
from transcription.services.consent import (
    STRICTNESS,
    closed_ranges_by_item,
    closed_ranges_for,
    consent_apply,
    consent_closed_clean,
    consent_save,
    consents_review,
    stricter,
)

__all__ = [
    "STRICTNESS",
    "closed_ranges_by_item",
    "closed_ranges_for",
    "consent_apply",
    "consent_closed_clean",
    "consent_save",
    "consents_review",
    "stricter",
    "transcript_request",
]


def transcript_request(
    *,
    asset: Asset,
    register: str = Transcript.Register.COLLOQUIAL,
    previous: Transcript | None = None,
    enqueue: bool = True,
) -> Transcript:
    """Queue a machine transcription of a recording; returns the queued transcript.

    The item's first transcript becomes its primary one. With ``previous``, the
    new run re-transcribes it (a better model): the archivist's corrections are
    carried over when it finishes. The Celery task is sent after commit.
    """
    item = asset.item
    transcript = Transcript(
        item=item,
        asset=asset,
        register=register,
        language=register,
        is_primary=not item.transcripts.filter(is_primary=True).exists()
        and previous is None,
        previous=previous,
    )
    transcript.full_clean()
    transcript.save()
    if enqueue:
        from transcription.tasks import transcript_run_task

        transcript_run_task.delay_on_commit(transcript.pk)
    return transcript
