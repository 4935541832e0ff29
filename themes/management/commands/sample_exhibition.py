"""``python manage.py sample_exhibition``: publish the demo's sample exhibition (idempotent)."""

from django.core.management.base import BaseCommand

from themes.services_sample import SLUG, sample_exhibition_make


class Command(BaseCommand):
    help = (
        "Publish the sample exhibition under 嶺南文化 from the sample archive's items."
    )

    def handle(self, *args, **options):
        outcome = sample_exhibition_make()
        if outcome == "made":
            self.stdout.write(f"Published the sample exhibition /lingnan/{SLUG}/")
        elif outcome == "exists":
            self.stdout.write(
                f"The sample exhibition /lingnan/{SLUG}/ is there already."
            )
        else:
            self.stderr.write(
                "The sample archive is not loaded: run load_sample first."
            )
