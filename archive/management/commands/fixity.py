"""``python manage.py fixity [--all | --since DAYS]``: re-hash stored originals.

Records each check; reports every mismatch or missing file on stderr and exits
with status 1 when any is found. Never changes a stored file nor its recorded
checksum. Without ``--all``, originals that failed their last check are
checked again with those due, so a failure is reported until it is dealt with.
"""

from django.core.management.base import BaseCommand, CommandError

from archive.models import Asset, FixityCheck
from archive.services import asset_verify_fixity

#: Outcomes of a last check that keep an original in every report.
FAILED = (Asset.FixityStatus.MISMATCH, Asset.FixityStatus.MISSING)


class Command(BaseCommand):
    help = "Verify the SHA-256 of stored originals and record each check."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--all", action="store_true", help="check every original")
        group.add_argument(
            "--since",
            type=int,
            metavar="DAYS",
            help="check originals not checked in the last DAYS days "
            "(default ARCHIVE_FIXITY_INTERVAL_DAYS, as the nightly sweep)",
        )

    def handle(self, *args, **options):
        from datetime import timedelta

        from django.conf import settings
        from django.db.models import Q
        from django.utils import timezone

        assets = Asset.objects.order_by("pk")
        if not options["all"]:
            days = (
                options["since"]
                if options["since"] is not None
                else settings.ARCHIVE_FIXITY_INTERVAL_DAYS
            )
            cutoff = timezone.now() - timedelta(days=days)
            # A failure stays in every report until it is dealt with.
            assets = assets.filter(
                Q(last_fixity_at__isnull=True)
                | Q(last_fixity_at__lt=cutoff)
                | Q(fixity_status__in=FAILED)
            )
        total = assets.count()
        failures = 0
        for n, asset in enumerate(assets.iterator(), start=1):
            check = asset_verify_fixity(asset=asset)
            if check.outcome != FixityCheck.Outcome.OK:
                failures += 1
                self.stderr.write(
                    f"FIXITY {check.outcome.upper()}: asset {asset.pk} ({asset}): {check.message}"
                )
            if n % 100 == 0 or n == total:
                self.stdout.write(f"checked {n}/{total}")
        self.stdout.write(f"{total} checked, {failures} failed")
        if failures:
            raise CommandError(f"{failures} stored original(s) failed the fixity check")
