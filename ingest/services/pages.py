"""One delivered page file becomes one page: checked, stored, decoded once, recorded.

The order is what makes a crash harmless at any point:

1. the page's text files are read and checked (cheap, before any image work);
2. the file is copied into storage under a temporary name while it is hashed
   (one read), and its checksum compared with the one planned;
3. the copy's header is checked (type, pixel limit, pages) and the image is
   decoded once, straight into the pyramid (written under a temporary name and
   renamed); thumbnails are shrunk from the pyramid's small levels;
4. the copy is renamed to its content address, then one transaction records
   the asset, the derivatives, the page and the file's status.

A kill before step 4's transaction leaves only temporary files (swept when a
job starts or resumes) or complete content-addressed files that the re-run
finds and reuses, never a half file under a real name, never a second record.

A fault of the archive rather than of the file (the storage full or read-only,
the database connection lost) does not refuse the file: nothing of it is kept,
it is put back to pending with an error event naming it, and
``IngestInterrupted`` tells the caller to stop and resume later.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
from pathlib import Path

import pyvips
from django.conf import settings
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.utils import timezone

from archive.files import (
    DAMAGED_FOLDER,
    detect_media_type,
    incoming_copy,
    original_relpath,
    path_from_text,
)
from archive.models import Asset, Derivative, FixityCheck, PageImage
from archive.services import asset_create, asset_verify_fixity, derivative_record
from iiif.services import PYRAMID_RECIPE_VERSION, page_pyramid_write, pyramid_relpath
from ingest.derivatives import image_derivatives_make
from ingest.images import PageImageError, decode_error_message, page_image_open
from ingest.models import IngestEvent, IngestFile, IngestJob
from ingest.ocr import PageText, PageTextError, page_text_check, page_text_read

logger = logging.getLogger(__name__)


class PageRefused(Exception):
    """A file that cannot become a page; ``field`` says which part of the page was wrong."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


class IngestInterrupted(Exception):
    """The archive, not the delivered file, failed: the file waits for the fault to go.

    Raised after the file was put back to pending and the fault recorded on
    its job (``file_fault_release``). Callers stop handing out files: the
    command exits and is run again, a Celery task retries, and the stalled-job
    sweep hands the job back to the workers (``jobs_stalled_resume``).
    """


#: OS errors that say the storage failed, not the file being stored.
STORAGE_ERRNOS = {
    errno.ENOSPC: "the storage is full (no space left on the device)",
    errno.EDQUOT: "the storage quota is used up",
    errno.EROFS: "the storage is read-only",
}


def fault_reason(exc: BaseException) -> str | None:
    """Why the archive (not the delivered file) failed, in words for people; None otherwise.

    A full or read-only storage and a lost database connection are faults of
    the archive: refusing the file for them would blame the delivery, and its
    pages would have to be delivered again. libvips reports a failed write as
    text (``pyvips.Error``), so that is read too.
    """
    if isinstance(exc, (OperationalError, InterfaceError)):
        detail = str(exc).strip().splitlines()
        return "the database connection was lost" + (
            f" ({detail[0]})" if detail else ""
        )
    if isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS:
        code = exc.errno
    elif isinstance(exc, pyvips.Error):
        text = f"{exc.message} {exc.detail}"
        code = next((c for c in STORAGE_ERRNOS if os.strerror(c) in text), None)
    else:
        code = None
    if code is None:
        return None
    return f"{STORAGE_ERRNOS[code]}: {settings.ARCHIVE_STORAGE_ROOT}"


def _page_text(folder: Path, page: dict) -> tuple[str, PageText | None, Path | None]:
    """Read the page's plain text and its layout (ALTO or hOCR), checking both."""
    plain, layout, layout_path = "", None, None
    for key in ("alto", "hocr"):
        if page.get(key):
            layout_path = folder / path_from_text(page[key])
            try:
                layout = page_text_read(layout_path.read_bytes(), key)
            except PageTextError as exc:
                raise PageRefused(f"{page[key]}: {exc}", field=key) from exc
            break
    if page.get("text"):
        try:
            source = folder / path_from_text(page["text"])
            plain = page_text_read(source.read_bytes(), "text").text
        except PageTextError as exc:
            raise PageRefused(f"{page['text']}: {exc}", field="text") from exc
    elif layout is not None:
        plain = layout.text
    return plain, layout, layout_path


def page_file_process(*, file: IngestFile) -> IngestFile:
    """Turn one planned file into a page of its item; safe to call again after any crash.

    A file whose bytes are already a page of the item is marked unchanged
    (after its stored copy is restored, when the plan found it damaged). A
    refused file is marked failed with the reason, and an error event names it;
    nothing is stored for it.

    Raises:
        IngestInterrupted: the storage or the database failed (``fault_reason``);
            the file is pending again and the fault is on its job.
    """
    if not file_claim(file=file):
        return file
    item = file.item
    existing = (
        PageImage.objects.filter(item=item, asset__sha256=file.sha256)
        .select_related("asset")
        .first()
    )
    if existing is not None:
        if file.page.get("restore"):
            return _original_restore(file=file, page=existing)
        return _file_mark(
            file=file, status=IngestFile.Status.UNCHANGED, page_image=existing
        )
    root = Path(settings.ARCHIVE_STORAGE_ROOT)
    source = path_from_text(file.path)
    folder = (
        path_from_text(file.page["folder"])
        if file.page.get("folder")
        else source.parent
    )
    written: list[Path] = []
    try:
        plain, layout, layout_path = _page_text(folder, file.page)
        with incoming_copy(source, root) as incoming:
            if incoming.sha256 != file.sha256:
                raise PageRefused(
                    "the file changed after the delivery was checked "
                    f"(SHA-256 now {incoming.sha256[:12]}…, planned {file.sha256[:12]}…)"
                )
            pyramid_rel = pyramid_relpath(file.sha256)
            pyramid = root / pyramid_rel
            if pyramid.exists():
                # A complete pyramid of these bytes and this recipe (another item,
                # or a run killed after writing it): the bytes were checked then.
                shape = pyvips.Image.new_from_file(str(pyramid))
                width, height = shape.width, shape.height
            else:
                opened = page_image_open(
                    incoming.path, max_pixels=settings.INGEST_MAX_PIXELS
                )
                try:
                    pyramid_rel, width, height = page_pyramid_write(
                        image=opened.image, sha256=file.sha256
                    )
                except pyvips.Error as exc:
                    if fault_reason(exc):
                        raise  # the storage failed, not the image
                    raise PageImageError(decode_error_message(exc)) from exc
                written.append(pyramid)
            if layout is not None:
                layout = layout.scaled(width, height)
                problems = page_text_check(layout, width=width, height=height)
                if problems:
                    raise PageRefused(
                        f"{file.page.get('alto') or file.page.get('hocr')}: "
                        + "; ".join(problems[:3]),
                        field="alto" if file.page.get("alto") else "hocr",
                    )
            if incoming.commit():
                written.append(incoming.target)
            if incoming.replaced_damaged:
                _restored_event(file=file, kept=True)
        media_type = detect_media_type(root / original_relpath(file.sha256))
        with transaction.atomic():
            asset, _ = Asset.objects.get_or_create(
                item=item,
                sha256=file.sha256,
                defaults={
                    "role": Asset.Role.PAGE,
                    "storage_path": original_relpath(file.sha256),
                    "original_filename": (file.page.get("name") or source.name)[:255],
                    "size": file.size,
                    "media_type": media_type,
                },
            )
            derivative_record(
                asset=asset,
                kind=Derivative.Kind.PYRAMID,
                recipe_version=PYRAMID_RECIPE_VERSION,
                path=pyramid_rel,
                media_type="image/tiff",
                width=width,
                height=height,
            )
            image_derivatives_make(asset=asset, source=root / pyramid_rel)
            text_asset = None
            if layout_path is not None:
                text_asset, _ = asset_create(
                    item=item, source=layout_path, role=Asset.Role.TEXT
                )
            page = PageImage(
                item=item,
                sequence=file.sequence,
                label=(file.page.get("label") or "")[:100],
                folio=(file.page.get("folio") or "")[:32],
                blank=bool(file.page.get("blank")),
                asset=asset,
                width=width,
                height=height,
                text=plain,
                text_layout=layout.to_json() if layout is not None else None,
                text_asset=text_asset,
            )
            if file.page.get("image_id"):
                page.public_id = file.page["image_id"]
            page.full_clean()
            page.save()
            return _file_mark(file=file, status=IngestFile.Status.DONE, page_image=page)
    except (PageRefused, PageImageError) as exc:
        _forget(written)
        return _file_refuse(
            file=file, message=str(exc), field=getattr(exc, "field", "")
        )
    except IntegrityError:
        # Another process recorded the same page first (a resumed job whose
        # first worker was still alive): its page stands.
        _forget(written)
        page = PageImage.objects.filter(item=item, asset__sha256=file.sha256).first()
        if page is not None:
            return _file_mark(file=file, status=IngestFile.Status.DONE, page_image=page)
        logger.exception("Ingest of %s failed", file.path)
        return _file_refuse(file=file, message="could not be recorded (conflict)")
    except Exception as exc:
        if fault_reason(exc) is not None:
            raise file_fault_release(file=file, exc=exc, written=written) from exc
        logger.exception("Ingest of %s failed", file.path)
        _forget(written)
        return _file_refuse(file=file, message=f"could not be stored: {exc}")


def worker_name() -> str:
    """This process, as recorded on the files it claims ("host-pid")."""
    return f"{socket.gethostname()}-{os.getpid()}"


def file_claim(*, file: IngestFile) -> bool:
    """Take a pending file for this process; False when it is not pending (any more).

    One conditional UPDATE, so two workers handed the same file (a resumed job)
    never both process it.
    """
    now = timezone.now()
    taken = IngestFile.objects.filter(
        pk=file.pk, status=IngestFile.Status.PENDING
    ).update(status=IngestFile.Status.RUNNING, claimed_by=worker_name(), claimed_at=now)
    if taken:
        file.status, file.claimed_by, file.claimed_at = (
            IngestFile.Status.RUNNING,
            worker_name(),
            now,
        )
    return bool(taken)


def file_fault_release(
    *, file: IngestFile, exc: BaseException, written: list[Path] = ()
) -> IngestInterrupted:
    """Give a file back after a fault of the archive, and say so on its job.

    Nothing this attempt stored is kept (no record refers to it), the file is
    pending again (unless its transaction did commit), and the first file of
    a fault gets an error event naming it, the job's summary saying what to
    fix. A database fault closes the broken connection first, so this runs on
    a fresh one; if the database is still out of reach, the file stays
    claimed by this process and a resume reclaims it.

    Returns:
        The ``IngestInterrupted`` for the caller to raise.
    """
    reason = fault_reason(exc) or str(exc)
    logger.error("Ingest of %s interrupted: %s", file.path, reason)
    if isinstance(exc, DatabaseError):
        connection_reset()
    summary = f"interrupted: {reason}"
    try:
        _forget(list(written))
        with transaction.atomic():
            IngestFile.objects.filter(
                pk=file.pk, status=IngestFile.Status.RUNNING
            ).update(status=IngestFile.Status.PENDING, claimed_by="", claimed_at=None)
            job = IngestJob.objects.select_for_update().get(pk=file.job_id)
            if not job.message.startswith(summary):
                IngestEvent.objects.create(
                    job=job,
                    file=file,
                    level=IngestEvent.Level.ERROR,
                    where=file.display_name,
                    message=(
                        f"not stored: {reason}. Nothing of this file was kept; it "
                        "goes in when the job resumes (run the command again, "
                        "Resume in the admin, or the workers' next attempt)"
                    ),
                )
                IngestJob.objects.filter(pk=job.pk).update(
                    message=f"{summary} (first at {file.display_name}). "
                    "Resume the job once this is fixed; nothing stored was lost."
                )
    except DatabaseError:
        logger.exception("Could not record that %s waits for a resume", file.path)
    file.status = IngestFile.Status.PENDING
    return IngestInterrupted(f"{file.display_name}: {reason}")


def connection_reset() -> None:
    """Close a connection the database dropped, so the next query opens a new one.

    Never inside a transaction: its work is lost with the connection anyway,
    and the transaction's owner must see the error.
    """
    if not connection.in_atomic_block:
        connection.close()


def _original_restore(*, file: IngestFile, page: PageImage) -> IngestFile:
    """Put back a stored original that failed its fixity check, from the delivered bytes.

    The plan found the stored copy damaged or missing (``job_plan`` checks the
    stored copy of every page delivered again); the delivered file hashes to
    the recorded checksum, so it is the original. The damaged copy is kept
    aside (``IncomingFile.commit``) and the repair is checked and recorded.
    """
    root = Path(settings.ARCHIVE_STORAGE_ROOT)
    try:
        with incoming_copy(path_from_text(file.path), root) as incoming:
            if incoming.sha256 != file.sha256:
                raise PageRefused(
                    "the file changed after the delivery was checked "
                    f"(SHA-256 now {incoming.sha256[:12]}…, planned {file.sha256[:12]}…)"
                )
            incoming.commit()
            kept = incoming.replaced_damaged
        check = asset_verify_fixity(asset=page.asset)
    except PageRefused as exc:
        return _file_refuse(file=file, message=str(exc))
    except Exception as exc:
        if fault_reason(exc) is None:
            raise
        raise file_fault_release(file=file, exc=exc) from exc
    if check.outcome != FixityCheck.Outcome.OK:
        return _file_refuse(
            file=file,
            message=f"the stored original could not be restored: {check.message}",
        )
    _restored_event(file=file, kept=kept)
    return _file_mark(file=file, status=IngestFile.Status.UNCHANGED, page_image=page)


def _restored_event(*, file: IngestFile, kept: bool) -> None:
    """Say that a damaged or missing stored original was put back from the delivery."""
    IngestEvent.objects.create(
        job_id=file.job_id,
        file=file,
        level=IngestEvent.Level.WARNING,
        where=file.display_name,
        message=(
            "the stored original was damaged or missing; it was restored from "
            "this delivery (the same SHA-256 as recorded)"
            + (f", and the damaged copy kept in {DAMAGED_FOLDER}/" if kept else "")
        ),
    )


def _forget(written: list[Path]) -> None:
    """Remove files this attempt wrote that no record refers to (never another page's)."""
    root = Path(settings.ARCHIVE_STORAGE_ROOT)
    for path in written:
        rel = str(path.relative_to(root))
        if Asset.objects.filter(storage_path=rel).exists():
            continue
        if Derivative.objects.filter(path=rel).exists():
            continue
        if path.exists():
            path.chmod(0o644)
            path.unlink()


def _file_mark(*, file: IngestFile, status: str, page_image: PageImage) -> IngestFile:
    file.status = status
    file.page_image = page_image
    file.error = ""
    file.finished_at = timezone.now()
    file.save(update_fields=["status", "page_image", "error", "finished_at"])
    return file


def _file_refuse(*, file: IngestFile, message: str, field: str = "") -> IngestFile:
    with transaction.atomic():
        file.status = IngestFile.Status.FAILED
        file.error = message
        file.finished_at = timezone.now()
        file.save(update_fields=["status", "error", "finished_at"])
        IngestEvent.objects.create(
            job_id=file.job_id,
            file=file,
            level=IngestEvent.Level.ERROR,
            where=file.display_name,
            field=field,
            message=message,
        )
    return file


def page_rederive(*, page: PageImage) -> bool:
    """Make a page's derivatives of the current recipes from its stored original.

    For a new pyramid or thumbnail recipe version: the original is read, never
    changed; the old derivatives stay beside the new. Returns whether anything
    was made.
    """
    asset = page.asset
    root = Path(settings.ARCHIVE_STORAGE_ROOT)
    made = False
    pyramid = Derivative.objects.filter(
        asset=asset, kind=Derivative.Kind.PYRAMID, recipe_version=PYRAMID_RECIPE_VERSION
    ).first()
    if pyramid is None or not pyramid.abspath.exists():
        opened = page_image_open(asset.path, max_pixels=settings.INGEST_MAX_PIXELS)
        rel, width, height = page_pyramid_write(image=opened.image, sha256=asset.sha256)
        pyramid = derivative_record(
            asset=asset,
            kind=Derivative.Kind.PYRAMID,
            recipe_version=PYRAMID_RECIPE_VERSION,
            path=rel,
            media_type="image/tiff",
            width=width,
            height=height,
        )
        made = True
    before = Derivative.objects.filter(asset=asset).count()
    image_derivatives_make(asset=asset, source=root / pyramid.path)
    return made or Derivative.objects.filter(asset=asset).count() > before
