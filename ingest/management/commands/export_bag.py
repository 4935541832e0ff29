"""``python manage.py export_bag ITEM... --to DIR --user NAME``: preservation packages.

Writes one BagIt package per item, named by its public identifier
(``ingest.preservation.bag_export``); ``--all`` packs every item and
``--collection CODE`` the items of a collection and the collections inside
it. Packages hold restricted material and personal data (consent forms):
the export is done as a named staff account, whose views of restricted
items the audit log records. Exit 1 if any item could not be packed.
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from archive.models import Collection, Item
from ingest.preservation.bag_export import item_bag_export
from ingest.preservation.records import BagRefused


def _collection_codes(code: str) -> list[int]:
    root = Collection.objects.filter(code=code).first()
    if root is None:
        raise CommandError(_("No collection with the code %(code)s.") % {"code": code})
    found, todo = [], [root]
    while todo:
        node = todo.pop()
        if node.pk in found:
            continue
        found.append(node.pk)
        todo.extend(node.children.all())
    return found


class Command(BaseCommand):
    help = "Write a BagIt preservation package of each item (by public id)."

    def add_arguments(self, parser):
        parser.add_argument("items", nargs="*", help="public identifiers of items")
        parser.add_argument("--to", required=True, help="the folder of packages")
        parser.add_argument(
            "--user",
            required=True,
            help="the staff account doing the export (recorded in the audit log)",
        )
        parser.add_argument("--all", action="store_true", help="every item")
        parser.add_argument(
            "--collection", help="the items of this collection and those inside it"
        )

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(
                _("No account named %(name)s.") % {"name": options["user"]}
            )
        items = Item.objects.select_related("institution", "collection", "work")
        if options["all"]:
            chosen = items.order_by("public_id")
        elif options["collection"]:
            chosen = items.filter(
                collection__in=_collection_codes(options["collection"])
            ).order_by("public_id")
        elif options["items"]:
            chosen = items.filter(public_id__in=options["items"]).order_by("public_id")
            missing = set(options["items"]) - {i.public_id for i in chosen}
            if missing:
                raise CommandError(
                    _("No item with the public identifier %(ids)s.")
                    % {"ids": ", ".join(sorted(missing))}
                )
        else:
            raise CommandError(_("Name items, or give --all or --collection."))
        to = Path(options["to"])
        failed = 0
        written = 0
        chosen = list(chosen)
        for item in tqdm(chosen, unit="item", file=self.stderr._out):
            try:
                bag = item_bag_export(item=item, to=to, user=user)
            except PermissionError as exc:
                raise CommandError(str(exc)) from exc
            except (BagRefused, OSError) as exc:
                failed += 1
                self.stderr.write(_("REFUSED %(problem)s") % {"problem": exc})
                continue
            written += 1
            self.stdout.write(
                _("packed    %(id)s: %(files)s files, %(bytes)s bytes, %(path)s")
                % {
                    "id": bag.public_id,
                    "files": bag.files,
                    "bytes": bag.bytes,
                    "path": bag.path,
                }
            )
            if bag.personal_data:
                self.stdout.write(
                    _("          personal data (staff only): %(files)s")
                    % {"files": ", ".join(bag.personal_data)}
                )
            for note in bag.notes:
                self.stdout.write(f"          {note}")
        self.stdout.write(
            _("%(written)s package(s) written, %(failed)s refused")
            % {"written": written, "failed": failed}
        )
        if failed:
            raise CommandError(_("%(n)s item(s) could not be packed") % {"n": failed})
