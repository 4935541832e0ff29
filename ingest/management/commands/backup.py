"""``python manage.py backup --to DIR``: the whole installation, database and files.

The database with its own tool (SQLite's online backup API, or ``pg_dump
--format=custom``), then ARCHIVE_STORAGE_ROOT and MEDIA_ROOT, with a SHA-256
manifest of every file (``ingest.preservation.installation``). Safe while the
archive runs. Restore with ``manage.py restore DIR`` (docs/preservation.md).
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS
from django.utils.translation import gettext as _
from tqdm import tqdm

from ingest.preservation.installation import BackupRefused, installation_backup


class Command(BaseCommand):
    help = "Back up the database and the stored files into a new folder."

    def add_arguments(self, parser):
        parser.add_argument("--to", required=True, help="a new folder")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, **options):
        with tqdm(unit="B", unit_scale=True, file=self.stderr._out) as bar:
            try:
                report = installation_backup(
                    to=Path(options["to"]),
                    using=options["database"],
                    progress=bar.update,
                )
            except BackupRefused as exc:
                raise CommandError(str(exc)) from exc
        for note in report.notes:
            self.stderr.write(note)
        self.stdout.write(
            _("backed up %(files)s files, %(bytes)s bytes, to %(path)s")
            % {"files": report.files, "bytes": report.bytes, "path": report.path}
        )
