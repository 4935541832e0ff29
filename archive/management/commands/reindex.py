"""``python manage.py reindex``: rebuild the whole search index, with progress.

The new index is built beside the live one and swapped in when complete, so
searches go on meanwhile (embedded: a new generation folder; OpenSearch: a
new index behind the alias). Run it after an upgrade that changes the
analyzer (``/healthz`` says so), after restoring a backup, or to recover.

Each run is recorded as a ``SearchIndexRun`` (started from the command line),
so the admin's "Search index" page shows its progress and outcome too.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from archive.models import SearchIndexRun
from archive.search import runs
from archive.search.engine import EngineUnavailable, engine_get


class Command(BaseCommand):
    help = "Rebuild the search index from the database (searches go on meanwhile)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="processes that analyse text (embedded engine; default: up to 4)",
        )

    def handle(self, *args, workers=None, **options):
        engine = engine_get()
        started = time.monotonic()
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] < 1.0 and done < total:
                return
            last[0] = now
            share = f" ({100 * done // total}%)" if total else ""
            self.stdout.write(f"reindex: {done}/{total} documents{share}")

        options = {}
        if workers is not None and engine.name == "embedded":
            options["workers"] = workers
        run = runs.run_create(source=SearchIndexRun.Source.COMMAND)
        try:
            count = runs.run_execute(run, progress=progress, **options).documents
        except EngineUnavailable as error:
            raise CommandError(
                f"reindex: the search engine is unavailable: {error}"
            ) from error
        seconds = time.monotonic() - started
        rate = count / seconds if seconds else 0.0
        self.stdout.write(
            self.style.SUCCESS(
                f"reindex: {count} documents indexed with {engine.name} in "
                f"{seconds:.1f} s ({rate:.0f}/s)"
            )
        )
