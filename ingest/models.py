"""Ingest jobs: one per delivery, a row per delivered file, and the events of a run.

A job is the unit an archivist starts (a folder on the server or an uploaded
zip) and watches. Status lives here, on the rows, so every step can be re-run
after a crash: a file is ``pending`` until the transaction that records its
page (or recording, or consent form) commits, and then it is ``done``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from archive.models import TimeStampedModel


class IngestJob(TimeStampedModel):
    """One delivery being ingested: where it came from, how far it is, what went wrong."""

    class Source(models.TextChoices):
        # Translators: an ingest job read from a folder on the server.
        FOLDER = "folder", _("server folder")
        # Translators: an ingest job from a zip file uploaded in the admin.
        UPLOAD = "upload", _("uploaded zip")

    class Status(models.TextChoices):
        # Translators: ingest job state: waiting for a worker.
        QUEUED = "queued", _("queued")
        # Translators: ingest job state: reading metadata and checking files.
        PLANNING = "planning", _("checking the delivery")
        # Translators: ingest job state: pages are being processed.
        RUNNING = "running", _("running")
        # Translators: ingest job state: every file went in.
        DONE = "done", _("done")
        # Translators: ingest job state: finished, but some files or volumes were refused.
        DONE_WITH_ERRORS = "done_with_errors", _("done, with problems")
        # Translators: ingest job state: the job could not run at all.
        FAILED = "failed", _("failed")

    FINISHED = (Status.DONE, Status.DONE_WITH_ERRORS, Status.FAILED)

    source = models.CharField(
        _("source"), max_length=16, choices=Source.choices, default=Source.FOLDER
    )
    #: The delivery folder read (for an upload: the folder the zip was unpacked to).
    path = models.CharField(_("delivery folder"), max_length=1000)
    #: The uploaded zip's file name, as the uploader's computer named it.
    upload_name = models.CharField(_("uploaded file"), max_length=255, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.QUEUED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("started by"),
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    #: Volumes (items) found in the delivery, and how many were refused.
    items_total = models.PositiveIntegerField(_("volumes"), default=0)
    items_failed = models.PositiveIntegerField(_("volumes refused"), default=0)
    message = models.TextField(_("summary"), blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("ingest job")
        verbose_name_plural = _("ingest jobs")
        permissions = [("run_ingest", _("Can start and resume ingest jobs"))]

    def __str__(self) -> str:
        return f"#{self.pk} {self.upload_name or self.path}"

    @property
    def is_finished(self) -> bool:
        """Whether the job has come to an end (with or without problems)."""
        return self.status in self.FINISHED


class IngestFile(models.Model):
    """One delivered file of a job (a page, a recording, a consent form), planned with its checksum.

    ``kind`` says which pipeline turns it into records: ``ingest.services.pages``
    for a page, ``ingest.services.recordings`` for a recording or a consent form.
    """

    class Kind(models.TextChoices):
        # Translators: a delivered file that is a page scan.
        PAGE = "page", _("page")
        # Translators: a delivered file that is an audio or video recording.
        MEDIA = "media", _("recording")
        # Translators: a delivered file that is a signed consent form (personal data).
        CONSENT_FORM = "consent_form", _("consent form")

    class Status(models.TextChoices):
        # Translators: a delivered file not processed yet.
        PENDING = "pending", _("pending")
        # Translators: a delivered file a worker is processing now.
        RUNNING = "running", _("being processed")
        # Translators: a delivered file that became a page.
        DONE = "done", _("done")
        # Translators: a delivered file that was already in the archive.
        UNCHANGED = "unchanged", _("already in the archive")
        # Translators: a delivered file that was refused.
        FAILED = "failed", _("refused")

    job = models.ForeignKey(
        IngestJob, on_delete=models.CASCADE, related_name="files", verbose_name=_("job")
    )
    item = models.ForeignKey(
        "archive.Item",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("item"),
    )
    kind = models.CharField(
        _("kind"), max_length=16, choices=Kind.choices, default=Kind.PAGE
    )
    #: Absolute path of the delivered file (read, never changed).
    path = models.CharField(_("file"), max_length=1000)
    #: The file's name for people: decoded from GBK or Big5 where the delivery used them.
    display_name = models.CharField(_("file name"), max_length=500)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveBigIntegerField(_("size in bytes"), default=0)
    #: The page's place in the volume's reading order once it is recorded
    #: (for a recording: its place in the item's ``media`` list).
    sequence = models.PositiveIntegerField(_("sequence"))
    #: What the delivery says about the file: for a page its label, folio, blank,
    #: text files and image id; for every kind its folder and name.
    page = models.JSONField(_("delivered metadata"), default=dict)
    #: What a recording is, as decoded: container, duration, codecs, channels,
    #: frame size (``ingest.media.MediaProbe``); empty for other kinds.
    probe = models.JSONField(_("technical metadata"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    error = models.TextField(_("problem"), blank=True)
    #: The process working on the file ("host-pid"), so a resume can tell a
    #: killed worker's file from one still in progress.
    claimed_by = models.CharField(_("worker"), max_length=300, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    page_image = models.ForeignKey(
        "archive.PageImage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("page"),
    )
    #: The stored original a recording or consent form became.
    asset = models.ForeignKey(
        "archive.Asset",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("stored original"),
    )
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["job", "item", "sequence"]
        verbose_name = _("ingest file")
        verbose_name_plural = _("ingest files")
        constraints = [
            models.UniqueConstraint(
                fields=["job", "item", "sha256"], name="ingestfile_once_per_job_item"
            ),
        ]
        indexes = [models.Index(fields=["job", "status"])]

    def __str__(self) -> str:
        return self.display_name


class IngestEvent(models.Model):
    """Something that happened in a job: a refused file, a volume created, a summary."""

    class Level(models.TextChoices):
        INFO = "info", _("info")
        WARNING = "warning", _("warning")
        ERROR = "error", _("error")

    job = models.ForeignKey(
        IngestJob,
        on_delete=models.CASCADE,
        related_name="events",
        verbose_name=_("job"),
    )
    file = models.ForeignKey(
        IngestFile,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
        verbose_name=_("file"),
    )
    created_at = models.DateTimeField(_("when"), auto_now_add=True)
    level = models.CharField(
        _("level"), max_length=8, choices=Level.choices, default=Level.INFO
    )
    #: The file the event is about (a page, a metadata file, a CSV), as people name it.
    where = models.CharField(
        # Translators: the file an ingest event is about, as the delivery names it.
        _("in file"),
        max_length=1000,
        blank=True,
    )
    #: The field, column or line within that file.
    field = models.CharField(_("field"), max_length=200, blank=True)
    message = models.TextField(_("message"))

    class Meta:
        ordering = ["job", "pk"]
        verbose_name = _("ingest event")
        verbose_name_plural = _("ingest events")

    def __str__(self) -> str:
        parts = [p for p in (self.where, self.field, self.message) if p]
        return ": ".join(parts)
