"""``python manage.py import_bag DIR...``: items back from their preservation packages.

Each package is checked completely before anything is written
(``ingest.preservation.bag_import``); a bad one is refused, naming the bag
and the problem, and the others go on. An item already here with the same
originals is reported unchanged; a different item with the same public
identifier refuses the package. A folder that is not itself a bag is read as
a folder of bags. Exit 1 if any package was refused.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from ingest.preservation.bag_import import item_bag_import
from ingest.preservation.records import BagRefused


def _bags(paths: list[str]) -> list[Path]:
    found = []
    for name in paths:
        path = Path(name)
        if path.is_dir() and not (path / "bagit.txt").exists():
            found.extend(
                sorted(
                    p
                    for p in path.iterdir()
                    if p.is_dir() and not p.name.startswith(".")
                )
            )
        else:
            found.append(path)
    return found


class Command(BaseCommand):
    help = "Import items from BagIt preservation packages written by export_bag."

    def add_arguments(self, parser):
        parser.add_argument(
            "bags", nargs="+", help="package folders, or folders of packages"
        )

    def handle(self, *args, **options):
        bags = _bags(options["bags"])
        counts = {"created": 0, "unchanged": 0, "refused": 0}
        for path in tqdm(bags, unit="bag", file=self.stderr._out):
            try:
                result = item_bag_import(path=path)
            except BagRefused as exc:
                counts["refused"] += 1
                self.stderr.write(_("REFUSED %(problem)s") % {"problem": exc})
                continue
            counts[result.status] += 1
            label = _("created  ") if result.status == "created" else _("unchanged")
            self.stdout.write(f"{label} {result.public_id} ({result.path})")
            for note in result.notes:
                self.stdout.write(f"          {note}")
        self.stdout.write(
            _("%(created)s created, %(unchanged)s unchanged, %(refused)s refused")
            % counts
        )
        if counts["refused"]:
            raise CommandError(_("%(n)s package(s) refused") % {"n": counts["refused"]})
