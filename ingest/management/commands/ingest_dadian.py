"""``python manage.py ingest_dadian PATH [--dry-run] [--workers N] [--background]``.

Ingests a delivery of page scans from a folder on the server (docs/ingest.md):
checks every volume and page, stores the originals, builds the pyramids, and
shows a progress bar with pages done, rate and time left. Running it again on
the same folder resumes an unfinished job, or changes nothing when all is in.
Exits with status 1 when any volume or file was refused, after ingesting the rest.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ingest.models import IngestFile, IngestJob
from ingest.services import jobs


class Command(BaseCommand):
    help = "Ingest a delivery of Guangzhou Dadian page scans from a folder."
    #: The checks cost a second of start-up per run; `manage.py check` is for that.
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("path", help="the delivery folder")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="check metadata and every page's header; write nothing",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help=f"page processes in parallel (default INGEST_WORKERS, {settings.INGEST_WORKERS})",
        )
        parser.add_argument(
            "--background",
            action="store_true",
            help="hand the job to the Celery workers and return (watch it in the admin)",
        )

    def handle(self, *args, **options):
        path = Path(options["path"]).expanduser().resolve()
        if not path.is_dir():
            raise CommandError(f"{path} is not a folder")
        if options["dry_run"]:
            return self._dry_run(path)
        workers = options["workers"] or settings.INGEST_WORKERS
        if workers < 1:
            raise CommandError("--workers must be 1 or more")
        job = jobs.job_unfinished_for(path=path)
        if job is not None:
            self.stdout.write(f"Resuming job #{job.pk} for {path}")
        else:
            job = jobs.job_create(path=path)
            self.stdout.write(f"Job #{job.pk} for {path}")
        if options["background"]:
            from ingest.tasks import job_dispatch_task

            job_dispatch_task.delay(job.pk)
            self.stdout.write(
                "Handed to the workers: follow it in the admin (Ingest > Jobs) "
                "or run this command again to watch it here."
            )
            return None
        job = self._run(job, workers)
        return self._report(job)

    def _bar(self, **kwargs) -> tqdm:
        return tqdm(
            file=self.stderr._out,
            dynamic_ncols=True,
            mininterval=0.5,
            **kwargs,
        )

    def _run(self, job: IngestJob, workers: int) -> IngestJob:
        volumes = None
        pages = None

        def on_plan(done: int, total: int) -> None:
            nonlocal volumes
            if volumes is None:
                volumes = self._bar(total=total, desc="checking volumes", unit="vol")
            volumes.update(done - volumes.n)

        refused = 0

        def on_file(file) -> None:
            # Counted from what each file became: no query of its own here, so
            # a database that drops this process's connection is met once, in
            # the job's own handling (the job is interrupted, then resumed).
            nonlocal refused
            pages.update(1)
            if file is not None and file.status == IngestFile.Status.FAILED:
                refused += 1
                pages.set_postfix(refused=refused, refresh=False)

        def on_planned(planned: IngestJob) -> None:
            nonlocal pages
            if volumes is not None:
                volumes.close()
            pages = self._pages_bar(planned)

        try:
            job = jobs.job_run(
                job=job,
                workers=workers,
                on_file=on_file,
                on_plan=on_plan,
                on_planned=on_planned,
            )
        finally:
            if pages is not None:
                pages.close()
        return job

    def _pages_bar(self, job: IngestJob) -> tqdm:
        progress = jobs.job_progress(job=job)
        return self._bar(
            total=progress.total,
            initial=progress.processed,
            desc="pages",
            unit="page",
        )

    def _report(self, job: IngestJob):
        for event in jobs.job_problems(job=job).select_related("file"):
            if event.message == job.message:
                continue
            # A file a fault stopped waits (pending); it was not refused.
            waits = event.file is not None and event.file.status in (
                IngestFile.Status.PENDING,
                IngestFile.Status.RUNNING,
            )
            self.stderr.write(f"{'INTERRUPTED' if waits else 'REFUSED'} {event}")
        self.stdout.write(f"Job #{job.pk} {job.get_status_display()}: {job.message}")
        if not job.is_finished:
            # A fault of the archive (storage full, database lost) stopped it.
            raise CommandError(
                f"job #{job.pk} was interrupted ({job.message}); nothing stored was "
                "lost. Fix the fault and run the same command again to finish it."
            )
        if job.status != IngestJob.Status.DONE:
            raise CommandError(
                f"job #{job.pk} finished with problems (listed above); "
                "the rest of the delivery went in. Fix the files and run the command again."
            )
        return None

    def _dry_run(self, path: Path):
        bar = self._bar(desc="checking volumes", unit="vol")

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        check = jobs.delivery_check(path=path, progress=progress)
        bar.close()
        for problem in check.problems:
            self.stderr.write(f"PROBLEM {problem}")
        self.stdout.write(
            f"Dry run: {check.volumes} volume(s), {check.pages_new} new page(s), "
            f"{check.pages_unchanged} already in the archive, "
            f"{len(check.problems)} problem(s); nothing was written."
        )
        if check.problems:
            raise CommandError("the delivery has problems (listed above)")
        return None
