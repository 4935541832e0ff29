"""One delivered recording becomes a stored original with its listening copy; consent with it.

The recording counterpart of ``ingest.services.pages``, in the same order, which
is what makes a crash harmless at any point:

1. the file is copied into storage under a temporary name while it is hashed
   (one read), and its checksum compared with the one planned;
2. the copy's header is probed (``ingest.media.media_probe``: type by content,
   audio track, duration) and the copy is **decoded once**
   (``media_derivatives_write``): the same pass checks every packet and writes
   the listening copy, and for a video the H.264 proxy and the poster, each
   under a temporary name renamed only when the whole pass succeeded;
3. the closed passages of the item's consent are checked against the decoded
   duration;
4. the copy is renamed to its content address, then one transaction records
   the asset, its derivatives and the file's status;
5. after the commit, the transcription is requested (``TRANSCRIPTION_AUTO``).

A signed consent form is its own file of the job (``consent_form_process``):
stored as an asset that is personal data (staff only whatever the item's
level) and attached to the item's ``Consent``, which the planner created from
the delivery's ``consent`` together with the item (``consent_record``), so the
item is never visible under a weaker level than the interviewee allowed.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from archive.files import (
    detect_media_type,
    incoming_copy,
    original_relpath,
    path_from_text,
)
from archive.models import Asset, Derivative, Item
from archive.services import derivative_record
from ingest.batch import format_timecode
from ingest.derivatives import derivative_relpath
from ingest.media import (
    LISTENING_COPY_RECIPE,
    MAX_SECONDS,
    POSTER_RECIPE,
    VIDEO_PROXY_RECIPE,
    MediaError,
    MediaProbe,
    media_derivatives_write,
    media_probe,
)
from ingest.models import IngestEvent, IngestFile
from ingest.services.pages import (
    _file_refuse,
    _forget,
    fault_reason,
    file_claim,
    file_fault_release,
)
from transcription.models import Consent

logger = logging.getLogger(__name__)

#: kind -> (recipe version, file extension, media type) of a recording's derivatives.
RECIPES = {
    Derivative.Kind.LISTENING_COPY: (LISTENING_COPY_RECIPE, "m4a", "audio/mp4"),
    Derivative.Kind.VIDEO_PROXY: (VIDEO_PROXY_RECIPE, "mp4", "video/mp4"),
    Derivative.Kind.POSTER: (POSTER_RECIPE, "jpg", "image/jpeg"),
}
VIDEO_ONLY = (Derivative.Kind.VIDEO_PROXY, Derivative.Kind.POSTER)
#: What a signed consent form may be, by content: a PDF or a scan.
CONSENT_FORM_TYPES = {
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/tiff",
    "image/jp2",
    "image/webp",
    "image/heic",
}
#: A closed passage may end this many seconds past the end (rounding).
CLOSED_END_SLACK = 1.0


class RecordingRefused(Exception):
    """A file that cannot become a recording (or consent form), with the field at fault."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


def max_seconds() -> float:
    """The longest recording accepted (``INGEST_MEDIA_MAX_SECONDS``, default 24 h)."""
    return float(getattr(settings, "INGEST_MEDIA_MAX_SECONDS", MAX_SECONDS))


# --------------------------------------------------------------------------
# Consent


def closed_passages_check(
    closed: list[tuple[float, float]], duration: float
) -> list[tuple[int, str]]:
    """Closed passages that do not lie inside a recording of ``duration`` seconds.

    Returns ``(index, message)`` for each: a passage must start before the end
    and may end at most ``CLOSED_END_SLACK`` seconds after it.
    """
    problems = []
    for i, (start, end) in enumerate(closed):
        if start >= duration or end > duration + CLOSED_END_SLACK:
            problems.append(
                (
                    i,
                    f"the passage {format_timecode(start)}-{format_timecode(end)} is "
                    f"not inside the recording, which lasts {format_timecode(duration)}",
                )
            )
    return problems


def recording_consent_check(*, folder: Path, data: dict) -> list[tuple[str, str]]:
    """Before an item is created: do its closed passages fit its recording?

    The recording's header is probed (cheap: nothing is decoded). Returns
    ``(field, message)`` problems that refuse the item; a recording that cannot
    be probed is not one of them (that file alone is refused when processed).
    """
    consent = data.get("consent") or {}
    closed = consent.get("closed") or []
    media = data.get("media") or []
    if not closed or len(media) != 1:
        return []
    try:
        probe = media_probe(folder / media[0]["file"], max_seconds=max_seconds())
    except MediaError:
        return []
    if probe.duration is None:
        return []
    ranges = [(r["start"], r["end"]) for r in closed]
    return [
        (f"consent.closed[{i}]", message)
        for i, message in closed_passages_check(ranges, probe.duration)
    ]


def consent_record(*, item: Item, consent: dict | None) -> tuple[Consent | None, bool]:
    """Record the delivered consent of an item and carry it onto its access.

    ``consent`` is the normalised ``consent`` of the batch format
    (``ingest.batch.consent_read``). An item that already has a consent keeps
    it: it belongs to the archivists once recorded (edit it in the admin). The
    signed form is attached when its file is processed
    (``consent_form_process``). The writing is transcription's one consent
    writer, ``transcription.services.consent_save`` (checks, closed passages,
    access, silenced copies).

    Returns:
        (the item's consent or None, whether it was created now).

    Raises:
        ValidationError: the consent is refused, by field (``consent.closed`` …).
    """
    from django.core.exceptions import ValidationError

    from transcription.services import consent_save

    existing = Consent.objects.filter(item=item).first()
    if existing is not None or not consent:
        return existing, False
    try:
        record = consent_save(
            item=item,
            allowed=consent["allowed"],
            valid_until=_date(consent.get("valid_until")),
            signed_on=_date(consent.get("signed_on")),
            notes=consent.get("notes") or "",
            closed=[
                {
                    "start": passage["start"],
                    "end": passage["end"],
                    "until": _date(passage.get("until")),
                    "reason": (passage.get("reason") or "")[:300],
                }
                for passage in consent.get("closed") or []
            ],
        )
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        raise ValidationError(
            {f"consent.{name}" if name else "consent": m for name, m in errors.items()}
        ) from exc
    return record, True


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


# --------------------------------------------------------------------------
# Recordings


def _kinds(has_video: bool) -> list[str]:
    return [k for k in RECIPES if has_video or k not in VIDEO_ONLY]


def _relpath(kind: str, sha256: str) -> str:
    version, ext, _ = RECIPES[kind]
    return derivative_relpath(kind, version, sha256, ext)


def recording_derivatives_complete(*, asset: Asset) -> bool:
    """Whether a recording has every derivative of the current recipes, on disk."""
    derivatives = {
        d.kind: d
        for d in Derivative.objects.filter(asset=asset, kind__in=list(RECIPES))
        if d.recipe_version == RECIPES[d.kind][0]
    }
    if Derivative.Kind.LISTENING_COPY not in derivatives:
        return False
    # A video's derivatives are recorded together, so a video has a proxy or a
    # poster of some recipe version; an audio recording has neither.
    is_video = Derivative.objects.filter(asset=asset, kind__in=VIDEO_ONLY).exists()
    needed = _kinds(is_video)
    return all(k in derivatives and derivatives[k].abspath.exists() for k in needed)


def recording_file_process(*, file: IngestFile) -> IngestFile:
    """Turn one planned recording into a stored original with its derivatives.

    Safe to call again after any crash: a recording whose bytes are already
    on the item with every derivative is marked unchanged; derivatives that a
    killed run completed are found and reused. A refused file is marked
    failed with the reason, and an error event names it; nothing is stored
    for it.
    """
    if not file_claim(file=file):
        return file
    item = file.item
    existing = Asset.objects.filter(item=item, sha256=file.sha256).first()
    if existing is not None and recording_derivatives_complete(asset=existing):
        file = _file_done(file=file, status=IngestFile.Status.UNCHANGED, asset=existing)
        _transcript_ensure(file=file, asset=existing)
        return file
    root = Path(settings.ARCHIVE_STORAGE_ROOT)
    source = path_from_text(file.path)
    written: list[Path] = []
    try:
        with incoming_copy(source, root) as incoming:
            if incoming.sha256 != file.sha256:
                raise RecordingRefused(
                    "the file changed after the delivery was checked "
                    f"(SHA-256 now {incoming.sha256[:12]}…, planned {file.sha256[:12]}…)"
                )
            probe, sizes = _derivatives_make(file, incoming.path, root, written)
            _closed_check(item, probe.duration)
            if incoming.commit():
                written.append(incoming.target)
        media_type = detect_media_type(root / original_relpath(file.sha256))
        with transaction.atomic():
            asset, _ = Asset.objects.get_or_create(
                item=item,
                sha256=file.sha256,
                defaults={
                    "role": Asset.Role.MEDIA,
                    "storage_path": original_relpath(file.sha256),
                    "original_filename": (file.page.get("name") or source.name)[:500],
                    "size": file.size,
                    "media_type": media_type,
                },
            )
            for kind in _kinds(probe.has_video):
                width, height = sizes.get(kind, (None, None))
                derivative_record(
                    asset=asset,
                    kind=kind,
                    recipe_version=RECIPES[kind][0],
                    path=_relpath(kind, file.sha256),
                    media_type=RECIPES[kind][2],
                    width=width,
                    height=height,
                )
            file.probe = probe.as_json()
            file = _file_done(file=file, status=IngestFile.Status.DONE, asset=asset)
            # A consent recorded before its recording arrived closes passages
            # now: make the silenced copy before the first listener asks.
            from transcription.services.listening import listening_silenced_schedule

            listening_silenced_schedule(item=item)
    except (RecordingRefused, MediaError) as exc:
        # A write that failed for want of space surfaces from the decoder as
        # damaged data: its cause says whether the archive is at fault.
        cause = exc.__cause__
        if cause is not None and fault_reason(cause) is not None:
            raise file_fault_release(file=file, exc=cause, written=written) from exc
        _forget(written)
        return _file_refuse(
            file=file, message=str(exc), field=getattr(exc, "field", "")
        )
    except IntegrityError:
        # Another process recorded the same recording first (a resumed job whose
        # first worker was still alive): its record stands.
        _forget(written)
        asset = Asset.objects.filter(item=item, sha256=file.sha256).first()
        if asset is not None:
            return _file_done(file=file, status=IngestFile.Status.DONE, asset=asset)
        logger.exception("Ingest of %s failed", file.path)
        return _file_refuse(file=file, message="could not be recorded (conflict)")
    except Exception as exc:
        # The storage or the database failed: the file waits for the fault to go.
        if fault_reason(exc) is not None:
            raise file_fault_release(file=file, exc=exc, written=written) from exc
        logger.exception("Ingest of %s failed", file.path)
        _forget(written)
        return _file_refuse(file=file, message=f"could not be stored: {exc}")
    _transcript_ensure(file=file, asset=asset)
    return file


def _derivatives_make(
    file: IngestFile, copy: Path, root: Path, written: list[Path]
) -> tuple[MediaProbe, dict[str, tuple[int, int]]]:
    """Probe the copy and make its derivatives in one decode pass (or find them).

    Derivatives are content-addressed by the original's checksum and the
    recipe, and only ever renamed into place after a decode pass that checked
    the whole file; when all of them exist (a killed run, or the same bytes on
    another item) the header probe is enough.
    """
    limit = max_seconds()
    header = media_probe(copy, max_seconds=limit)
    kinds = _kinds(header.has_video)
    targets = {kind: root / _relpath(kind, file.sha256) for kind in kinds}
    if all(target.exists() for target in targets.values()):
        sizes = {}
        for kind in VIDEO_ONLY:
            if kind in targets:
                sizes[kind] = _size_of(targets[kind])
        return header, sizes
    outputs = media_derivatives_write(
        copy,
        listening_copy=targets[Derivative.Kind.LISTENING_COPY],
        video_proxy=targets.get(Derivative.Kind.VIDEO_PROXY),
        poster=targets.get(Derivative.Kind.POSTER),
        max_seconds=limit,
        progress=lambda _seconds: _heartbeat(file),
    )
    written.extend(targets.values())
    sizes = {}
    if outputs.proxy_size:
        sizes[Derivative.Kind.VIDEO_PROXY] = outputs.proxy_size
    if outputs.poster:
        sizes[Derivative.Kind.POSTER] = (outputs.poster.width, outputs.poster.height)
    return outputs.probe, sizes


def _size_of(path: Path) -> tuple[int, int]:
    if path.suffix == ".jpg":
        from PIL import Image

        with Image.open(path) as image:
            return image.size
    probe = media_probe(path)
    return probe.width or 0, probe.height or 0


def _heartbeat(file: IngestFile) -> None:
    """Keep a long recording's claim fresh, so a resume does not hand it out again."""
    IngestFile.objects.filter(pk=file.pk, status=IngestFile.Status.RUNNING).update(
        claimed_at=timezone.now()
    )


def _closed_check(item: Item, duration: float | None) -> None:
    consent = (
        Consent.objects.filter(item=item).prefetch_related("closed_ranges").first()
    )
    if consent is None or duration is None:
        return
    ranges = [(r.start, r.end) for r in consent.closed_ranges.all()]
    problems = closed_passages_check(ranges, duration)
    if problems:
        raise RecordingRefused(
            "the item's consent closes passages outside this recording: "
            + "; ".join(message for _, message in problems)
            + ". Correct the consent's closed passages, then deliver it again",
            field="consent.closed",
        )


def _transcript_ensure(*, file: IngestFile, asset: Asset) -> None:
    """Request the recording's transcription after commit (``TRANSCRIPTION_AUTO``).

    Once per recording: a re-run requests it only if an earlier run was killed
    before it could. A failure is reported on the job; the recording stands.
    """
    if not settings.TRANSCRIPTION_AUTO or asset.transcripts.exists():
        return
    try:
        from transcription.services import transcript_request

        transcript_request(asset=asset)
    except Exception as exc:  # noqa: BLE001 - the recording is stored; say so
        logger.exception("Could not request the transcription of %s", asset.pk)
        IngestEvent.objects.create(
            job_id=file.job_id,
            file=file,
            level=IngestEvent.Level.WARNING,
            where=file.display_name,
            message=f"stored, but its transcription could not be requested: {exc}",
        )


def _file_done(*, file: IngestFile, status: str, asset: Asset) -> IngestFile:
    file.status = status
    file.asset = asset
    file.error = ""
    file.finished_at = timezone.now()
    file.save(update_fields=["status", "asset", "probe", "error", "finished_at"])
    return file


# --------------------------------------------------------------------------
# Consent forms


def consent_form_process(*, file: IngestFile) -> IngestFile:
    """Store a signed consent form as personal data and attach it to the item's consent.

    The form is staff only whatever the item's level (``Asset.is_personal_data``
    and the role ``consent_form``, which ``can_view`` obeys). A form whose
    bytes are already the consent's form is marked unchanged.
    """
    if not file_claim(file=file):
        return file
    item = file.item
    consent = Consent.objects.filter(item=item).first()
    existing = Asset.objects.filter(item=item, sha256=file.sha256).first()
    if existing is not None and consent is not None and consent.form_id == existing.pk:
        return _file_done(file=file, status=IngestFile.Status.UNCHANGED, asset=existing)
    root = Path(settings.ARCHIVE_STORAGE_ROOT)
    source = path_from_text(file.path)
    written: list[Path] = []
    try:
        with incoming_copy(source, root) as incoming:
            if incoming.sha256 != file.sha256:
                raise RecordingRefused(
                    "the file changed after the delivery was checked", "consent.form"
                )
            media_type = detect_media_type(incoming.path)
            if media_type not in CONSENT_FORM_TYPES:
                raise RecordingRefused(
                    f"a signed consent form must be a PDF or a scan (JPEG, PNG, "
                    f"TIFF), not {media_type}",
                    "consent.form",
                )
            if incoming.commit():
                written.append(incoming.target)
        with transaction.atomic():
            asset, _ = Asset.objects.get_or_create(
                item=item,
                sha256=file.sha256,
                defaults={
                    "role": Asset.Role.CONSENT_FORM,
                    "storage_path": original_relpath(file.sha256),
                    "original_filename": (file.page.get("name") or source.name)[:500],
                    "size": file.size,
                    "media_type": media_type,
                    "is_personal_data": True,
                },
            )
            consent = Consent.objects.select_for_update().filter(item=item).first()
            if consent is not None and consent.form_id is None:
                consent.form = asset
                consent.save(update_fields=["form", "updated_at"])
            elif consent is not None and consent.form_id != asset.pk:
                IngestEvent.objects.create(
                    job_id=file.job_id,
                    file=file,
                    level=IngestEvent.Level.WARNING,
                    where=file.display_name,
                    field="consent.form",
                    message="stored as personal data; the item's consent keeps the "
                    "form it already has (change it in the admin)",
                )
            if consent is not None:
                from transcription.services import consent_apply

                consent_apply(consent=consent)
            # Whatever the consent says: a delivered form is personal data.
            Asset.objects.filter(pk=asset.pk).update(
                role=Asset.Role.CONSENT_FORM, is_personal_data=True
            )
            return _file_done(file=file, status=IngestFile.Status.DONE, asset=asset)
    except RecordingRefused as exc:
        _forget(written)
        return _file_refuse(file=file, message=str(exc), field=exc.field)
    except Exception as exc:
        if fault_reason(exc) is not None:
            raise file_fault_release(file=file, exc=exc, written=written) from exc
        logger.exception("Ingest of %s failed", file.path)
        _forget(written)
        return _file_refuse(file=file, message=f"could not be stored: {exc}")
