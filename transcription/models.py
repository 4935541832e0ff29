"""Transcripts of recordings, their timed segments and edit history, index points, consent.

A transcript keeps the machine's text beside the archivist's corrected text
for every segment, so a re-transcription with a better model keeps the
corrections and shows what differs. Segments carry their own access level:
a passage the interviewee asked to close is closed through ``can_view``
(archive.access), the same decision every door asks.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from archive.models import AccessLevel, TimeStampedModel


def new_transcript_public_id() -> str:
    """A short, URL-safe, permanent identifier for a transcript (``t`` + 10 hex)."""
    return f"t{secrets.token_hex(5)}"


class Transcript(TimeStampedModel):
    """One transcript of a recording: made by an engine, or imported, then corrected."""

    class Register(models.TextChoices):
        # Translators: written Cantonese as people speak it (嘅, 咗, 喺...).
        COLLOQUIAL = "yue", _("written Cantonese (colloquial)")
        # Translators: Standard Written Chinese (書面語), as Whisper gives with language zh.
        STANDARD = "zh", _("Standard Written Chinese")

    class Status(models.TextChoices):
        # Translators: a transcript waiting for the transcription worker.
        QUEUED = "queued", _("queued")
        # Translators: a transcript being made by the machine now.
        RUNNING = "running", _("transcribing")
        # Translators: a transcript the machine has finished.
        DONE = "done", _("done")
        # Translators: a transcript stopped by its time budget before the end of the audio.
        PARTIAL = "partial", _("partly done (time budget reached)")
        # Translators: a transcript the machine could not make.
        FAILED = "failed", _("failed")

    class Review(models.TextChoices):
        # Translators: shown to readers: the text is the machine's, not checked by a person.
        MACHINE = "machine", _("machine-generated, not yet reviewed")
        # Translators: an archivist is correcting the transcript.
        IN_REVIEW = "in_review", _("being corrected")
        # Translators: an archivist has checked and approved the transcript.
        APPROVED = "approved", _("reviewed and approved")

    public_id = models.CharField(
        _("identifier"),
        max_length=16,
        unique=True,
        default=new_transcript_public_id,
        editable=False,
    )
    item = models.ForeignKey(
        "archive.Item",
        on_delete=models.CASCADE,
        related_name="transcripts",
        verbose_name=_("item"),
    )
    #: The recording transcribed (the item's media original).
    asset = models.ForeignKey(
        "archive.Asset",
        on_delete=models.PROTECT,
        related_name="transcripts",
        verbose_name=_("recording"),
    )
    register = models.CharField(
        _("register"),
        max_length=8,
        choices=Register.choices,
        default=Register.COLLOQUIAL,
    )
    #: The language the engine was asked for (``yue`` or ``zh``), or "" when imported.
    language = models.CharField(_("language"), max_length=16, blank=True)
    #: The item's transcript shown first and served at /items/{item}/transcript.vtt.
    is_primary = models.BooleanField(_("primary"), default=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.QUEUED
    )
    review_state = models.CharField(
        _("review"), max_length=12, choices=Review.choices, default=Review.MACHINE
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    #: "faster-whisper", "import:vtt", "import:srt", "fake" (tests).
    engine = models.CharField(_("engine"), max_length=64, blank=True)
    #: The model and options the engine ran with, for the record and for re-runs.
    model_name = models.CharField(_("model"), max_length=200, blank=True)
    options = models.JSONField(_("options"), default=dict, blank=True)
    #: Seconds of audio transcribed so far: a resumed run starts here.
    progress_seconds = models.FloatField(_("seconds done"), default=0.0)
    duration = models.FloatField(_("duration (s)"), null=True, blank=True)
    #: 30-s windows where the decoder fell back to a higher temperature, and why.
    fallbacks = models.JSONField(_("fallback windows"), default=list, blank=True)
    #: Segments the guards dropped (hallucinations, loops), kept for the record.
    dropped = models.JSONField(_("dropped by the guards"), default=list, blank=True)
    error = models.TextField(_("problem"), blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    #: The transcript this one re-transcribes (corrections carried over).
    previous = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("previous transcript"),
    )

    class Meta:
        ordering = ["item", "-is_primary", "created_at"]
        verbose_name = _("transcript")
        verbose_name_plural = _("transcripts")
        permissions = [("edit_transcript", _("Can correct and approve transcripts"))]

    def __str__(self) -> str:
        return f"{self.item.public_id} {self.public_id} ({self.get_register_display()})"

    @property
    def is_reviewed(self) -> bool:
        """Whether an archivist approved the text."""
        return self.review_state == self.Review.APPROVED


class Segment(models.Model):
    """A timed passage of a transcript: the machine's text and the corrected text."""

    transcript = models.ForeignKey(
        Transcript,
        on_delete=models.CASCADE,
        related_name="segments",
        verbose_name=_("transcript"),
    )
    start = models.FloatField(_("start (s)"))
    end = models.FloatField(_("end (s)"))
    #: What the engine wrote (after script conversion and the guards); never edited.
    machine_text = models.TextField(_("machine text"), blank=True)
    #: What readers see: the machine text until an archivist corrects it.
    text = models.TextField(_("text"))
    speaker = models.CharField(_("speaker"), max_length=100, blank=True)
    #: "" follows the item; a stricter level closes this passage (consent).
    access_level = models.CharField(
        _("access"),
        max_length=16,
        choices=AccessLevel.choices,
        blank=True,
        help_text=_("Leave empty to follow the item; set to close this passage."),
    )
    #: Engine figures: mean log-probability, no-speech probability,
    #: compression ratio (high = repetition), decoding temperature.
    avg_logprob = models.FloatField(null=True, blank=True)
    no_speech_prob = models.FloatField(null=True, blank=True)
    compression_ratio = models.FloatField(null=True, blank=True)
    temperature = models.FloatField(null=True, blank=True)
    #: Word timings from the engine: [[start, end, word, probability], ...].
    words = models.JSONField(default=list, blank=True)
    #: Whether a person changed text, times or speaker.
    edited = models.BooleanField(_("corrected"), default=False)
    #: A re-transcription found different machine text for a corrected segment.
    machine_changed = models.BooleanField(_("machine text changed"), default=False)

    class Meta:
        ordering = ["transcript", "start", "pk"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        constraints = [
            models.CheckConstraint(
                condition=Q(start__gte=0) & Q(end__gte=models.F("start")),
                name="segment_times_ordered",
            ),
        ]
        indexes = [models.Index(fields=["transcript", "start"])]

    def __str__(self) -> str:
        return f"{self.start:.1f}–{self.end:.1f} {self.text[:40]}"

    @property
    def item(self):
        """The item, so ``can_view`` decides for a segment like for its item."""
        return self.transcript.item

    def clean(self) -> None:
        if self.end < self.start:
            raise ValidationError({"end": _("The end must not come before the start.")})


class SegmentRevision(models.Model):
    """One edit of a segment: what it said before, who changed it and when."""

    segment = models.ForeignKey(
        Segment,
        on_delete=models.CASCADE,
        related_name="revisions",
        verbose_name=_("segment"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("edited by"),
    )
    at = models.DateTimeField(_("edited at"), auto_now_add=True)
    #: "edit", "split", "merge", "speaker", "access", "retranscribe".
    action = models.CharField(_("action"), max_length=16)
    #: The segment's text, times, speaker and access before the change.
    before = models.JSONField(_("before"), default=dict)
    after = models.JSONField(_("after"), default=dict)

    class Meta:
        ordering = ["segment", "-at", "-pk"]
        verbose_name = _("segment revision")
        verbose_name_plural = _("segment revisions")

    def __str__(self) -> str:
        return f"{self.action} of segment {self.segment_id} at {self.at:%Y-%m-%d %H:%M}"


class IndexPoint(TimeStampedModel):
    """A moment an archivist marks in a recording, so a long interview can be browsed by topic."""

    item = models.ForeignKey(
        "archive.Item",
        on_delete=models.CASCADE,
        related_name="index_points",
        verbose_name=_("item"),
    )
    start = models.FloatField(_("time (s)"))
    end = models.FloatField(_("until (s)"), null=True, blank=True)
    title = models.CharField(_("title"), max_length=300)
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    synopsis = models.TextField(_("synopsis"), blank=True)
    place = models.ForeignKey(
        "archive.Place",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("place"),
    )
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    #: [{"label": "...", "url": "..."}, ...]
    links = models.JSONField(_("links"), default=list, blank=True)
    #: "" follows the item; a stricter level hides this point.
    access_level = models.CharField(
        _("access"), max_length=16, choices=AccessLevel.choices, blank=True
    )

    class Meta:
        ordering = ["item", "start", "pk"]
        verbose_name = _("index point")
        verbose_name_plural = _("index points")
        constraints = [
            models.CheckConstraint(
                condition=Q(start__gte=0), name="indexpoint_start_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.start:.0f}s {self.title}"


class Consent(TimeStampedModel):
    """What an interviewee allowed: who may hear the recording, until when, which passages not.

    ``transcription.services.consent_apply`` carries it onto the item's and
    the segments' access levels, so every door's ``can_view`` obeys it.
    """

    class Allowed(models.TextChoices):
        PUBLIC = AccessLevel.PUBLIC, _("Public")
        READING_ROOM = AccessLevel.READING_ROOM, _("Reading room")
        STAFF = AccessLevel.STAFF, _("Staff only")

    item = models.OneToOneField(
        "archive.Item",
        on_delete=models.CASCADE,
        related_name="consent",
        verbose_name=_("item"),
    )
    allowed = models.CharField(
        # Translators: who the interviewee allowed to hear the recording.
        _("allowed"),
        max_length=16,
        choices=Allowed.choices,
        default=Allowed.STAFF,
    )
    #: The consent holds until this day; after it the recording is staff only.
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    #: The signed consent form: personal data, staff only whatever the item's level.
    form = models.ForeignKey(
        "archive.Asset",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("signed form"),
    )
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")

    def __str__(self) -> str:
        # The item's title names the consent in the admin (its pages, history).
        return f"{self.item.title} ({self.item.public_id})"


class ClosedRange(models.Model):
    """A passage the interviewee asked to close: no one but staff reads or hears it."""

    consent = models.ForeignKey(
        Consent,
        on_delete=models.CASCADE,
        related_name="closed_ranges",
        verbose_name=_("consent"),
    )
    start = models.FloatField(_("from (s)"))
    end = models.FloatField(_("to (s)"))
    #: Closed until this day (then it follows the item); empty: closed for good.
    until = models.DateField(_("closed until"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        ordering = ["consent", "start"]
        verbose_name = _("closed passage")
        verbose_name_plural = _("closed passages")
        constraints = [
            models.CheckConstraint(
                condition=Q(start__gte=0) & Q(end__gt=models.F("start")),
                name="closedrange_times_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.start:.0f}–{self.end:.0f}s"
