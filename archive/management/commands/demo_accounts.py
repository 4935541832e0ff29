"""``python manage.py demo_accounts``: the demo's staff accounts (development only).

admin / yuecang-demo      superuser
archivist / yuecang-demo  archivist of the Liwan District Library
curator / yuecang-demo    curator
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from archive.models import Institution, StaffProfile

PASSWORD = "yuecang-demo"


class Command(BaseCommand):
    help = "Create the demo's staff accounts (refused outside development)."

    def handle(self, *args, **options):
        if settings.DJANGO_ENV != "development":
            raise CommandError("Demo accounts are for development only.")
        users = get_user_model()
        if not users.objects.filter(username="admin").exists():
            users.objects.create_superuser("admin", "admin@example.org", PASSWORD)
        for username, group, code in (
            ("archivist", "Archivists", "liwan"),
            ("curator", "Curators", "gzlib"),
        ):
            user = users.objects.filter(username=username).first()
            if user is None:
                user = users.objects.create_user(
                    username, f"{username}@example.org", PASSWORD
                )
            user.groups.add(Group.objects.get(name=group))
            institution = Institution.objects.filter(code=code).first()
            if institution is not None:
                StaffProfile.objects.get_or_create(
                    user=user, defaults={"institution": institution}
                )
        self.stdout.write(
            f"Demo accounts: admin, archivist, curator (password {PASSWORD})"
        )
