"""``python manage.py ingest_rederive [--item ID]``: derivatives of the current recipes.

After a recipe version changes (the pyramid in ``iiif.services``, thumbnails
in ``ingest.derivatives``), makes the new derivatives of every page from its
stored original, beside the old ones. Originals are only read. Safe to stop
and run again: pages already done are skipped.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from archive.models import PageImage
from ingest.images import PageImageError
from ingest.services.pages import page_rederive


class Command(BaseCommand):
    help = "Make derivatives of the current recipe versions for every page."

    def add_arguments(self, parser):
        parser.add_argument("--item", help="only the pages of this item (public id)")

    def handle(self, *args, **options):
        pages = PageImage.objects.select_related("asset").order_by(
            "item_id", "sequence"
        )
        if options["item"]:
            pages = pages.filter(item__public_id=options["item"])
        made = failed = 0
        for page in tqdm(
            pages.iterator(), total=pages.count(), unit="page", file=self.stderr._out
        ):
            try:
                made += page_rederive(page=page)
            except (PageImageError, OSError) as exc:
                failed += 1
                self.stderr.write(f"FAILED {page.asset.path}: {exc}")
        self.stdout.write(f"{made} page(s) re-derived, {failed} failed")
        if failed:
            raise CommandError(f"{failed} page(s) could not be re-derived")
