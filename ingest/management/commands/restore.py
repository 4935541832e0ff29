"""``python manage.py restore DIR``: the installation back from a ``backup``.

Every file of the backup is checked against its SHA-256 manifest first; a
backup that does not match is refused, naming the files, and nothing is
changed. Then the database is replaced (``pg_restore --clean
--single-transaction`` or SQLite's backup API) and the stored files are made
exactly the backup's (``ingest.preservation.installation``). Stop the web
server and the workers first; afterwards run ``manage.py reindex`` (and
``migrate`` if told).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.translation import gettext as _

from ingest.preservation.installation import (
    BackupRefused,
    backup_verify,
    installation_restore,
)


class Command(BaseCommand):
    help = "Restore the database and the stored files from a backup folder."

    def add_arguments(self, parser):
        parser.add_argument("source", help="a folder written by manage.py backup")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="do not ask for confirmation",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="only verify the backup against its manifest; change nothing",
        )

    def handle(self, *args, **options):
        source = Path(options["source"])
        try:
            if options["check"]:
                info, entries = backup_verify(source=source)
                self.stdout.write(
                    _("%(path)s: %(n)s files match the manifest (made %(when)s)")
                    % {"path": source, "n": len(entries), "when": info["created_at"]}
                )
                return
            if options["interactive"]:
                name = connections[options["database"]].settings_dict["NAME"]
                answer = input(
                    _(
                        "This replaces the database %(db)s and every file under "
                        "%(storage)s and %(media)s with the backup's. Type 'yes' to "
                        "go on: "
                    )
                    % {
                        "db": name,
                        "storage": settings.ARCHIVE_STORAGE_ROOT,
                        "media": settings.MEDIA_ROOT,
                    }
                )
                if answer != "yes":
                    raise CommandError(_("Restore cancelled."))
            report = installation_restore(source=source, using=options["database"])
        except BackupRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            _("restored the database and %(files)s files from %(path)s")
            % {"files": report.files, "path": report.path}
        )
        for note in report.notes:
            self.stdout.write(note)
