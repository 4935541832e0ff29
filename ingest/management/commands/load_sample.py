"""``python manage.py load_sample [PATH]``: load the sample archive (batch format 1)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ingest.services import SAMPLE_ROOT, sample_load


class Command(BaseCommand):
    help = "Load a delivery in batch format version 1 (default: the bundled sample archive)."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(SAMPLE_ROOT))

    def handle(self, *args, **options):
        root = Path(options["path"])
        if not root.is_dir():
            raise CommandError(f"{root} is not a folder")
        report = sample_load(root=root)
        for public_id in report.created:
            self.stdout.write(f"created   {public_id}")
        for public_id in report.unchanged:
            self.stdout.write(f"unchanged {public_id}")
        for problem in report.problems:
            self.stderr.write(f"problem   {problem}")
        self.stdout.write(
            f"{len(report.created)} created, {len(report.unchanged)} unchanged, "
            f"{len(report.problems)} problems"
        )
        if report.problems:
            raise CommandError(f"{len(report.problems)} problem(s) in {root}")
