"""Ingest jobs: plan a delivery into per-file rows, process them, finish, report progress.

``job_plan`` reads and validates every item of a delivery (volumes and
recordings), creates or finds the items (with their consent), hashes every
delivered file and records one ``IngestFile`` per page, recording and signed
consent form; it is idempotent, so resuming a job re-runs it.
``job_file_process`` hands each file to the pipeline of its kind
(``ingest.services.pages`` for pages, ``ingest.services.recordings`` for
recordings and consent forms), from the command line's process pool or from
Celery tasks. Status lives on the rows: a job killed at any point is resumed
by planning and processing it again. A fault of the archive (storage full, the
database connection lost) interrupts a run instead of refusing files
(``ingest.services.pages.IngestInterrupted``); ``jobs_stalled_resume`` hands
back to the workers the jobs that stopped moving (a broker that lost its
messages, a task that gave up retrying).
"""

from __future__ import annotations

import logging
import shutil
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from archive.files import incoming_sweep, path_to_text, pid_alive, sha256_of
from archive.models import Asset, FixityCheck, Item, PageImage
from archive.priority import background_priority
from archive.services import asset_verify_fixity
from ingest.batch import BatchProblem, ItemRecord, filename_decode, read_delivery
from ingest.images import PageImageError, page_image_open
from ingest.media import MediaError, media_probe
from ingest.models import IngestEvent, IngestFile, IngestJob
from ingest.services.items import ItemRefused, institutions_load, item_upsert
from ingest.services.pages import (
    IngestInterrupted,
    connection_reset,
    fault_reason,
    file_fault_release,
    page_file_process,
)
from ingest.services.recordings import (
    consent_form_process,
    consent_record,
    max_seconds,
    recording_consent_check,
    recording_derivatives_complete,
    recording_file_process,
)
from transcription.models import Consent

logger = logging.getLogger(__name__)

SAMPLE_ROOT = Path(__file__).resolve().parents[1] / "sample"
INSTITUTIONS_FILE = "institutions.json"
#: Seconds a job's planning (or an upload's unpacking) may take: the hard time
#: limit of the tasks that run them.
PLAN_TIME_LIMIT = 3660


def job_create(
    *,
    path: Path,
    source: str = IngestJob.Source.FOLDER,
    upload_name: str = "",
    user=None,
) -> IngestJob:
    """Record a new job for the delivery at ``path``; nothing is read yet."""
    job = IngestJob(
        path=str(Path(path).resolve()),
        source=source,
        upload_name=upload_name[:255],
        created_by=user,
    )
    job.full_clean()
    job.save()
    return job


def job_unfinished_for(*, path: Path) -> IngestJob | None:
    """The latest unfinished job of a server folder, to resume rather than start anew."""
    return (
        IngestJob.objects.filter(
            path=str(Path(path).resolve()), source=IngestJob.Source.FOLDER
        )
        .exclude(status__in=IngestJob.FINISHED)
        .order_by("-pk")
        .first()
    )


def _event(job: IngestJob, level: str, where: str, message: str, field: str = ""):
    IngestEvent.objects.create(
        job=job, level=level, where=where[:1000], field=field[:200], message=message
    )


def _problem_event(job: IngestJob, root: Path, problem: BatchProblem) -> None:
    _event(
        job,
        IngestEvent.Level.ERROR,
        _relative(root, problem.path),
        problem.message,
        problem.field,
    )


def _relative(root: Path, path: Path) -> str:
    """A path for people: relative to the delivery, its name decoded."""
    try:
        text = str(Path(path).resolve().relative_to(root))
    except ValueError:
        text = str(path)
    return filename_decode(text)


def job_plan(
    *, job: IngestJob, progress: Callable[[int, int], None] | None = None
) -> IngestJob:
    """Read, validate and plan every volume of the job's delivery; safe to repeat.

    Volumes with problems are reported as error events and skipped; the rest
    get their item (created, or found by ``id``) and one pending file row per
    page not yet in the archive.

    Args:
        progress: called with (volumes planned, volumes in all) as it goes.
    """
    root = Path(job.path)
    IngestJob.objects.filter(pk=job.pk).update(
        status=IngestJob.Status.PLANNING, started_at=job.started_at or timezone.now()
    )
    # Resuming: the interruption is history (its events stay), not the summary.
    IngestJob.objects.filter(pk=job.pk, message__startswith="interrupted:").update(
        message=""
    )
    job.refresh_from_db()
    incoming_sweep(Path(settings.ARCHIVE_STORAGE_ROOT))
    files_reclaim(job=job)
    if not root.is_dir():
        return _job_fail(job, f"{root} is not a folder")
    if (root / INSTITUTIONS_FILE).exists():
        try:
            institutions_load(path=root / INSTITUTIONS_FILE)
        except Exception as exc:  # noqa: BLE001 - reported, and the volumes still go in
            _event(job, IngestEvent.Level.ERROR, INSTITUTIONS_FILE, str(exc))
    records = read_delivery(root)
    failed = 0
    for n, record in enumerate(records, start=1):
        if not _volume_plan(job=job, root=root, record=record):
            failed += 1
        if progress:
            progress(n, len(records))
    if not records:
        _event(
            job,
            IngestEvent.Level.ERROR,
            "",
            "no volumes found: a delivery needs volume.json, item.json, "
            "volume.yaml or volumes.csv (docs/ingest-format.md)",
        )
    IngestJob.objects.filter(pk=job.pk).update(
        status=IngestJob.Status.RUNNING, items_total=len(records), items_failed=failed
    )
    job.refresh_from_db()
    return job


def _volume_plan(*, job: IngestJob, root: Path, record: ItemRecord) -> bool:
    """Plan one item (a volume or a recording item); returns False when it was refused."""
    where = _relative(root, record.metadata_path)
    if record.line:
        where = f"{where}: line {record.line}"
    if record.problems:
        if job.events.filter(where=where, level=IngestEvent.Level.ERROR).exists():
            return False  # reported by an earlier run of this plan
        for problem in record.problems:
            _problem_event(job, root, problem)
        return False
    data = record.data
    problems = _consent_problems(record)
    if problems:
        if job.events.filter(where=where, level=IngestEvent.Level.ERROR).exists():
            return False  # reported by an earlier run of this plan
        for name, message in problems:
            _event(job, IngestEvent.Level.ERROR, where, message, name)
        return False
    try:
        with transaction.atomic():
            item, created = item_upsert(folder=record.folder, data=data)
            consent, consent_created = consent_record(
                item=item, consent=data.get("consent")
            )
            if IngestFile.objects.filter(job=job, item=item).exists():
                return True  # planned by an earlier run of this job
            new, unchanged, problems = _pages_plan(
                job=job, item=item, folder=record.folder, pages=data.get("pages") or []
            ) or (0, 0, [])
            for message in problems:
                _event(job, IngestEvent.Level.ERROR, where, message, "pages")
            if data.get("media"):
                new, unchanged, problems = _media_plan(
                    job=job, item=item, folder=record.folder, data=data
                )
                for message in problems:
                    _event(job, IngestEvent.Level.ERROR, where, message, "media")
            verb = "created" if created else ("appended to" if new else "unchanged:")
            what = "recording(s)" if data.get("media") else "page(s)"
            message = (
                f"{item.public_id} {verb} — {new} new {what}, "
                f"{unchanged} already in the archive"
            )
            if consent_created:
                message += (
                    f"; consent recorded (allowed: {consent.allowed}), "
                    f"the item's access is {item.access_level}"
                )
            _event(job, IngestEvent.Level.INFO, where, message)
            if (
                created
                and consent is None
                and item.kind == Item.Kind.ORAL_HISTORY
                and data.get("media")
            ):
                _event(
                    job,
                    IngestEvent.Level.WARNING,
                    where,
                    "no consent was delivered for this oral history: its access "
                    f"stays {item.access_level}; record the interviewee's consent "
                    "in the admin",
                    "consent",
                )
    except ItemRefused as exc:
        _event(job, IngestEvent.Level.ERROR, where, str(exc), exc.field)
        return False
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            _event(job, IngestEvent.Level.ERROR, where, " ".join(messages), name)
        return False
    except Exception as exc:  # noqa: BLE001 - one bad volume must not stop the delivery
        logger.exception("Could not plan %s", record.folder)
        _event(job, IngestEvent.Level.ERROR, where, f"could not be recorded: {exc}")
        return False
    return True


def _consent_problems(record: ItemRecord) -> list[tuple[str, str]]:
    """Closed passages that do not fit the recording refuse a new consent (and item).

    An item that already has a consent keeps it, so only a consent about to
    be recorded is checked here; the recording is checked against the
    recorded consent again when it is decoded.
    """
    if not record.data.get("consent"):
        return []
    item_id = record.data.get("id")
    if item_id and Consent.objects.filter(item__public_id=item_id).exists():
        return []
    return recording_consent_check(folder=record.folder, data=record.data)


def _media_plan(
    *, job: IngestJob, item: Item, folder: Path, data: dict
) -> tuple[int, int, list[str]]:
    """Hash each recording (and the signed consent form) and record them as files.

    A recording whose bytes are already on the item with every derivative is
    marked already in the archive; so is a form that is already the item's
    consent form. The form comes first (sequence 0), so that it is attached
    before the recordings are heard.
    """
    consent = data.get("consent") or {}
    entries = []
    if consent.get("form"):
        entries.append(
            (IngestFile.Kind.CONSENT_FORM, 0, consent["form"], "consent.form")
        )
    for i, media in enumerate(data.get("media") or []):
        entries.append((IngestFile.Kind.MEDIA, i + 1, media["file"], f"media[{i}]"))
    seen: dict[str, str] = {}
    new = unchanged = 0
    problems: list[str] = []
    rows = []
    now = timezone.now()
    for kind, sequence, rel, name in entries:
        path = folder / rel
        sha = sha256_of(path)
        if sha in seen:
            problems.append(
                f"{name} {filename_decode(rel)} is the same file as {seen[sha]}; "
                "it is left out"
            )
            continue
        seen[sha] = filename_decode(rel)
        asset = Asset.objects.filter(item=item, sha256=sha).first()
        if kind == IngestFile.Kind.MEDIA:
            # Complete, and transcribed if it should be: a run killed between
            # storing a recording and requesting its transcript finishes here.
            done = (
                asset is not None
                and recording_derivatives_complete(asset=asset)
                and (not settings.TRANSCRIPTION_AUTO or asset.transcripts.exists())
            )
            new += 0 if done else 1
            unchanged += 1 if done else 0
        else:
            done = (
                asset is not None
                and Consent.objects.filter(item=item, form=asset).exists()
            )
        meta = {
            "folder": path_to_text(folder),
            "name": filename_decode(PurePosixPath(rel).name),
        }
        rows.append(
            IngestFile(
                job=job,
                item=item,
                kind=kind,
                path=path_to_text(path),
                display_name=filename_decode(f"{folder.name}/{rel}")[:500],
                sha256=sha,
                size=path.stat().st_size,
                sequence=sequence,
                page=meta,
                status=IngestFile.Status.UNCHANGED
                if done
                else IngestFile.Status.PENDING,
                asset=asset if done else None,
                finished_at=now if done else None,
            )
        )
    IngestFile.objects.bulk_create(rows)
    return new, unchanged, problems


def _pages_plan(
    *, job: IngestJob, item: Item, folder: Path, pages: list[dict]
) -> tuple[int, int, list[str]] | None:
    """Hash each page file and record it with its place in the volume.

    A page keeps its position in the delivery when that place is free on the
    item (a first delivery, or a re-delivery replacing a refused page); pages
    that find their place taken are appended after the last page.
    """
    if IngestFile.objects.filter(job=job, item=item).exists():
        return None
    stored = {
        page.asset.sha256: page
        for page in PageImage.objects.filter(item=item).select_related("asset")
    }
    existing = {sha: page.pk for sha, page in stored.items()}
    taken = set(PageImage.objects.filter(item=item).values_list("sequence", flat=True))
    # Pages another unfinished job has planned for this item keep their places too.
    taken |= set(
        IngestFile.objects.filter(item=item, status=IngestFile.Status.PENDING)
        .exclude(job=job)
        .values_list("sequence", flat=True)
    )
    last = max(taken, default=0)
    seen: dict[str, str] = {}
    new = unchanged = 0
    problems = []
    rows = []
    for position, page in enumerate(pages, start=1):
        path = folder / page["file"]
        name = page.get("original_filename") or page["file"]
        sha = sha256_of(path)
        if sha in seen:
            problems.append(
                f"pages[{position - 1}] {name} is the same image as {seen[sha]}; "
                "it is left out"
            )
            continue
        seen[sha] = name
        meta = {k: page.get(k) for k in ("label", "folio", "blank", "image_id")}
        meta.update(
            {k: path_to_text(page[k]) for k in ("text", "alto", "hocr") if page.get(k)}
        )
        meta["folder"] = path_to_text(folder)
        meta["name"] = filename_decode(Path(name).name)
        if sha in existing and not _stored_copy_damaged(
            job=job, page=stored[sha], where=f"{folder.name}/{name}"
        ):
            unchanged += 1
            status, sequence = IngestFile.Status.UNCHANGED, 0
        elif sha in existing:
            # The delivered bytes are the original: restore the stored copy.
            unchanged += 1
            meta["restore"] = True
            status, sequence = IngestFile.Status.PENDING, stored[sha].sequence
        else:
            new += 1
            status = IngestFile.Status.PENDING
            if position not in taken:
                sequence = position
            else:
                last += 1
                sequence = last
                while sequence in taken:
                    sequence += 1
                last = sequence
            taken.add(sequence)
            last = max(last, sequence)
        rows.append(
            IngestFile(
                job=job,
                item=item,
                path=path_to_text(path),
                display_name=filename_decode(f"{folder.name}/{name}")[:500],
                sha256=sha,
                size=path.stat().st_size,
                sequence=sequence or 1,
                page=meta,
                status=status,
                page_image_id=existing.get(sha),
                finished_at=timezone.now()
                if status != IngestFile.Status.PENDING
                else None,
            )
        )
    IngestFile.objects.bulk_create(rows)
    return new, unchanged, problems


def _stored_copy_damaged(*, job: IngestJob, page: PageImage, where: str) -> bool:
    """Check the stored original of a page delivered again; True when it is damaged.

    The delivered file was just hashed to the recorded checksum, so it can
    put back a stored copy that is damaged or missing; a re-delivery never
    takes a damaged copy for the original. The check is a fixity check and
    is recorded as one.
    """
    check = asset_verify_fixity(asset=page.asset)
    if check.outcome == FixityCheck.Outcome.OK:
        return False
    _event(
        job,
        IngestEvent.Level.WARNING,
        filename_decode(where),
        f"the stored original failed its fixity check ({check.outcome}: "
        f"{check.message}); it will be restored from this delivery",
    )
    return True


def files_reclaim(*, job: IngestJob) -> int:
    """Put back to pending the files of killed workers; returns how many.

    A file is reclaimed when the process that claimed it on this host is gone,
    or when its claim is older than INGEST_STALL_SECONDS (other hosts).
    """
    host = socket.gethostname()
    stale_before = timezone.now() - timedelta(seconds=settings.INGEST_STALL_SECONDS)
    reclaim = []
    for pk, claimed_by, claimed_at in job.files.filter(
        status=IngestFile.Status.RUNNING
    ).values_list("pk", "claimed_by", "claimed_at"):
        name_host, _, pid = claimed_by.rpartition("-")
        dead = name_host == host and pid.isdigit() and not pid_alive(int(pid))
        if dead or claimed_at is None or claimed_at < stale_before:
            reclaim.append(pk)
    return IngestFile.objects.filter(
        pk__in=reclaim, status=IngestFile.Status.RUNNING
    ).update(status=IngestFile.Status.PENDING, claimed_by="", claimed_at=None)


def _job_fail(job: IngestJob, message: str) -> IngestJob:
    _event(job, IngestEvent.Level.ERROR, job.path, message)
    IngestJob.objects.filter(pk=job.pk).update(
        status=IngestJob.Status.FAILED, finished_at=timezone.now(), message=message
    )
    job.refresh_from_db()
    return job


def job_pending_file_ids(*, job: IngestJob) -> list[int]:
    """The files of a job still to process, in volume order."""
    return [pk for pk, _kind in job_pending_files(job=job)]


def job_pending_files(*, job: IngestJob) -> list[tuple[int, str]]:
    """The files of a job still to process, as (id, kind), in item order."""
    return list(
        job.files.filter(status=IngestFile.Status.PENDING)
        .order_by("item_id", "sequence")
        .values_list("pk", "kind")
    )


#: The pipeline that turns a file of each kind into records.
PIPELINES = {
    IngestFile.Kind.PAGE: page_file_process,
    IngestFile.Kind.MEDIA: recording_file_process,
    IngestFile.Kind.CONSENT_FORM: consent_form_process,
}


def job_file_process(*, file_id: int) -> IngestFile | None:
    """Process one file of a job by id (the unit a worker runs), by its kind.

    Raises:
        IngestInterrupted: a fault of the archive (storage, database) stopped
            it; the file is pending again and the fault is on its job.
    """
    background_priority()
    file = None
    try:
        file = IngestFile.objects.select_related("item").filter(pk=file_id).first()
        if file is None:
            return None
        return PIPELINES[file.kind](file=file)
    except (OperationalError, InterfaceError) as exc:
        # The connection broke where no pipeline handles it (taking the file,
        # say): tell it on the job through a new connection, if there is one.
        if file is None:
            connection_reset()
            raise IngestInterrupted(f"file #{file_id}: {fault_reason(exc)}") from exc
        raise file_fault_release(file=file, exc=exc) from exc


def job_finish(*, job: IngestJob) -> IngestJob:
    """Close a job whose files are all processed; does nothing while any is pending."""
    unfinished = (IngestFile.Status.PENDING, IngestFile.Status.RUNNING)
    if job.is_finished or job.files.filter(status__in=unfinished).exists():
        return job
    counts = job_counts(job=job)
    problems = counts["failed"] + job.items_failed
    errors = job_problems(job=job).count()
    status = (
        IngestJob.Status.DONE_WITH_ERRORS
        if problems or errors
        else IngestJob.Status.DONE
    )
    added = dict(
        job.files.filter(status=IngestFile.Status.DONE)
        .values_list("kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    if not job.files.exclude(kind=IngestFile.Kind.PAGE).exists():
        message = (
            f"{counts['done']} page(s) added, {counts['unchanged']} already in the "
            f"archive, {counts['failed']} refused; {job.items_total - job.items_failed}"
            f" of {job.items_total} volume(s) accepted"
        )
    else:
        message = (
            f"{added.get(IngestFile.Kind.PAGE, 0)} page(s), "
            f"{added.get(IngestFile.Kind.MEDIA, 0)} recording(s) and "
            f"{added.get(IngestFile.Kind.CONSENT_FORM, 0)} consent form(s) added, "
            f"{counts['unchanged']} file(s) already in the archive, "
            f"{counts['failed']} refused; {job.items_total - job.items_failed} of "
            f"{job.items_total} item(s) accepted"
        )
    updated = IngestJob.objects.filter(pk=job.pk, finished_at__isnull=True).update(
        status=status, finished_at=timezone.now(), message=message
    )
    if updated and job.source == IngestJob.Source.UPLOAD:
        # The unpacked copy of an uploaded zip: its files are in storage now.
        shutil.rmtree(
            Path(settings.INGEST_UPLOAD_ROOT) / f"job-{job.pk}", ignore_errors=True
        )
    if updated:
        _event(
            job,
            IngestEvent.Level.ERROR
            if status != IngestJob.Status.DONE
            else IngestEvent.Level.INFO,
            "",
            message,
        )
    job.refresh_from_db()
    return job


def job_problems(*, job: IngestJob):
    """The job's error events that still stand, oldest first.

    An error about a file that went in afterwards (the storage was full, the
    database connection was lost, then the job resumed) is history, not a
    problem of the delivery.
    """
    went_in = (IngestFile.Status.DONE, IngestFile.Status.UNCHANGED)
    return (
        job.events.filter(level=IngestEvent.Level.ERROR)
        .filter(Q(file__isnull=True) | ~Q(file__status__in=went_in))
        .order_by("pk")
    )


def job_counts(*, job: IngestJob) -> dict[str, int]:
    """Files of the job by status, and their total."""
    counts = {s.value: 0 for s in IngestFile.Status}
    for row in job.files.values("status").annotate(n=Count("pk")):
        counts[row["status"]] = row["n"]
    counts["total"] = sum(counts[s.value] for s in IngestFile.Status)
    return counts


@dataclass
class JobProgress:
    """How far a job is: pages processed of all, the rate and the time left."""

    total: int
    processed: int
    done: int
    unchanged: int
    failed: int
    pages_per_minute: float | None
    seconds_left: float | None

    @property
    def percent(self) -> int:
        """Whole percent of the pages processed."""
        return int(100 * self.processed / self.total) if self.total else 0


def job_progress(*, job: IngestJob) -> JobProgress:
    """The job's progress, with the rate measured over the pages processed so far."""
    counts = job_counts(job=job)
    processed = counts["done"] + counts["unchanged"] + counts["failed"]
    rate = left = None
    worked = job.files.filter(
        status__in=(IngestFile.Status.DONE, IngestFile.Status.FAILED),
        finished_at__isnull=False,
    )
    span = worked.aggregate(last=Max("finished_at"))
    if job.started_at and span["last"]:
        elapsed = (span["last"] - job.started_at).total_seconds()
        n = worked.count()
        if elapsed > 0 and n:
            rate = 60 * n / elapsed
            left = (counts["pending"] + counts["running"]) * elapsed / n
    return JobProgress(
        total=counts["total"],
        processed=processed,
        done=counts["done"],
        unchanged=counts["unchanged"],
        failed=counts["failed"],
        pages_per_minute=rate,
        seconds_left=left,
    )


def job_run(
    *,
    job: IngestJob,
    workers: int = 1,
    on_file: Callable[[IngestFile | None], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
    on_planned: Callable[[IngestJob], None] | None = None,
) -> IngestJob:
    """Plan and process a whole job in this process (and ``workers`` child processes).

    Used by the command line and the sample loader; Celery runs the same steps
    as tasks. Resuming is running it again.
    """
    job = job_plan(job=job, progress=on_plan)
    if on_planned:
        on_planned(job)
    if job.status == IngestJob.Status.FAILED:
        return job
    ids = job_pending_file_ids(job=job)
    try:
        for file in _files_process(ids, workers):
            if on_file:
                on_file(file)
    except IngestInterrupted as exc:
        # The fault and the file it hit are on the job; the rest waits.
        reason = str(exc)
        logger.error("Job %s interrupted: %s", job.pk, reason)
        return _reconnecting(lambda: _job_interrupted(job=job, reason=reason))
    _reconnecting(job.refresh_from_db)
    return job_finish(job=job)


def _job_interrupted(*, job: IngestJob, reason: str) -> IngestJob:
    """The job as it stands after an interruption, its summary saying so."""
    IngestJob.objects.filter(pk=job.pk).exclude(
        message__startswith="interrupted:"
    ).update(
        message=f"interrupted: {reason}. Resume the job once this is fixed; "
        "nothing stored was lost."
    )
    return IngestJob.objects.get(pk=job.pk)


def _reconnecting(query: Callable):
    """Run a read; once more on a new connection if the database dropped this one."""
    try:
        return query()
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block:
            raise
        connection_reset()
        return query()


def _files_process(ids: list[int], workers: int) -> Iterable[IngestFile | None]:
    """Process files in this process or a pool; stop at the first interruption.

    Raises:
        IngestInterrupted: after the files already running have ended.
    """
    if workers <= 1 or len(ids) <= 1:
        for file_id in ids:
            yield job_file_process(file_id=file_id)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from django.db import connections

    connections.close_all()  # children open their own connections
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_child_start
    ) as pool:
        futures = [pool.submit(_child_process, file_id) for file_id in ids]
        interrupted = None
        for future in as_completed(futures):
            if future.cancelled():
                continue
            try:
                file_id = future.result()
            except IngestInterrupted as exc:
                # No new file starts; those running end (or stop the same way).
                interrupted = interrupted or exc
                for waiting in futures:
                    waiting.cancel()
                continue
            yield _reconnecting(
                lambda file_id=file_id: IngestFile.objects.filter(pk=file_id).first()
            )
    if interrupted is not None:
        raise interrupted


def _child_start() -> None:
    from django.db import connections

    connections.close_all()
    # Die with the parent: a killed command leaves no worker processes behind.
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(
            1, signal.SIGKILL
        )  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _child_process(file_id: int) -> int:
    job_file_process(file_id=file_id)
    return file_id


def job_dispatch(*, job: IngestJob) -> IngestJob:
    """Plan a job and hand every pending file to the Celery workers (after commit).

    Starting and resuming are the same call: planning is idempotent, and a
    file handed out twice is processed once (``file_claim``).
    """
    from ingest.tasks import (
        job_file_process_task,
        job_finish_task,
        job_recording_process_task,
    )

    job = job_plan(job=job)
    if job.status == IngestJob.Status.FAILED:
        return job
    pending = job_pending_files(job=job)
    for file_id, kind in pending:
        # Recordings take minutes to hours: their own task, with longer limits.
        task = (
            job_recording_process_task
            if kind == IngestFile.Kind.MEDIA
            else job_file_process_task
        )
        task.delay_on_commit(file_id)
    if not pending:
        job_finish_task.delay_on_commit(job.pk)
    return job


def jobs_stalled_resume(*, idle_seconds: float | None = None) -> list[IngestJob]:
    """Hand back to the workers every unfinished job that has stopped moving.

    A job stops moving when the messages that carried its files are gone: a
    broker restarted without persistence (Redis with ``--save ''``), an upload
    whose task could not be queued while the broker was down, a task that gave
    up retrying while the storage was full. Its rows still say what is left,
    so dispatching it again finishes it: planning is idempotent, files claimed
    by dead or stalled workers are reclaimed, and a file handed out twice is
    processed once. A job is stalled when nothing happened to it (created,
    saved, started, a file claimed or finished, an event) for ``idle_seconds``
    (default ``INGEST_STALL_SECONDS``); one still planning or unpacking, for
    ``PLAN_TIME_LIMIT`` at least, since a second planner would race the first.

    Returns:
        The jobs handed back, each with an event saying so.
    """
    from ingest.tasks import job_dispatch_task, job_upload_task

    idle = settings.INGEST_STALL_SECONDS if idle_seconds is None else idle_seconds
    resumed = []
    for job in IngestJob.objects.exclude(status__in=IngestJob.FINISHED).order_by("pk"):
        # A plan or an unpack (one task) may be quiet for long; past its time
        # limit it is dead.
        limit = (
            idle
            if job.status == IngestJob.Status.RUNNING
            else max(idle, PLAN_TIME_LIMIT)
        )
        cutoff = timezone.now() - timedelta(seconds=limit)
        last = max(
            t
            for t in (
                job.created_at,
                job.updated_at,
                job.started_at,
                *job.files.aggregate(Max("claimed_at"), Max("finished_at")).values(),
                job.events.aggregate(Max("created_at"))["created_at__max"],
            )
            if t is not None
        )
        if last >= cutoff:
            continue
        minutes = (timezone.now() - last).total_seconds() / 60
        _event(
            job,
            IngestEvent.Level.INFO,
            "",
            f"no progress for {minutes:.0f} minute(s): handed to the workers again "
            "(its queued work was lost, or retries gave up)",
        )
        task = (
            job_upload_task
            if job.source == IngestJob.Source.UPLOAD
            else job_dispatch_task
        )
        task.delay_on_commit(job.pk)
        resumed.append(job)
    return resumed


@dataclass
class DeliveryCheck:
    """What a dry run found: volumes, pages new or already stored, and every problem."""

    volumes: int = 0
    pages_new: int = 0
    pages_unchanged: int = 0
    recordings_new: int = 0
    recordings_unchanged: int = 0
    problems: list[str] = field(default_factory=list)


def delivery_check(
    *, path: Path, progress: Callable[[int, int], None] | None = None
) -> DeliveryCheck:
    """Check a delivery without writing anything: metadata, and every page's header.

    Pages are hashed (to tell new from already stored) and their headers read
    (type, pixel limit, pages); the pixels are decoded only by the real run.
    Recordings are probed the same way (type, audio track, duration) and their
    closed passages checked against the duration; the sound is decoded only
    by the real run.
    """
    root = Path(path).resolve()
    check = DeliveryCheck()
    records = read_delivery(root)
    check.volumes = len(records)
    if not records:
        check.problems.append(f"{root}: no volumes found")
    for n, record in enumerate(records, start=1):
        check.problems += [str(p) for p in record.problems]
        if record.problems:
            continue
        item = Item.objects.filter(public_id=record.data.get("id") or "").first()
        stored = (
            set(
                PageImage.objects.filter(item=item).values_list(
                    "asset__sha256", flat=True
                )
            )
            if item
            else set()
        )
        for page in record.data.get("pages") or []:
            page_path = record.folder / page["file"]
            try:
                page_image_open(page_path, max_pixels=settings.INGEST_MAX_PIXELS)
            except PageImageError as exc:
                check.problems.append(f"{page_path}: {exc}")
                continue
            if sha256_of(page_path) in stored:
                check.pages_unchanged += 1
            else:
                check.pages_new += 1
        check.problems += [
            f"{record.metadata_path}: {name}: {message}"
            for name, message in _consent_problems(record)
        ]
        for media in record.data.get("media") or []:
            media_path = record.folder / media["file"]
            try:
                media_probe(media_path, max_seconds=max_seconds())
            except MediaError as exc:
                check.problems.append(f"{media_path}: {exc}")
                continue
            asset = (
                Asset.objects.filter(item=item, sha256=sha256_of(media_path)).first()
                if item
                else None
            )
            if asset is not None and recording_derivatives_complete(asset=asset):
                check.recordings_unchanged += 1
            else:
                check.recordings_new += 1
        if progress:
            progress(n, len(records))
    return check


@dataclass
class LoadReport:
    """What a sample load did: items created or already there, and the problems found."""

    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def sample_load(*, root: Path = SAMPLE_ROOT) -> LoadReport:
    """Ingest a delivery in this process (the sample archive by default) and report it.

    Used by ``make demo``; a second run changes nothing.
    """
    before = set(Item.objects.values_list("public_id", flat=True))
    started = time.monotonic()
    job = job_run(job=job_create(path=root))
    report = LoadReport()
    for item_id in (
        job.files.order_by().values_list("item__public_id", flat=True).distinct()
    ):
        (report.unchanged if item_id in before else report.created).append(item_id)
    for record in read_delivery(Path(job.path)):
        item_id = record.data.get("id")
        if record.ok and not record.data.get("pages") and item_id:
            target = report.unchanged if item_id in before else report.created
            if item_id not in target:
                target.append(item_id)
    report.problems = [
        str(e)
        for e in job.events.filter(level=IngestEvent.Level.ERROR).exclude(
            message=job.message
        )
    ]
    logger.info("Loaded %s in %.1f s", job.path, time.monotonic() - started)
    return report
