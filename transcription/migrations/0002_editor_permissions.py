"""Give the staff groups the transcript editor: archivists and central staff correct, curators read."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDIT = ["edit_transcript", "view_transcript"]
GROUPS = {
    "Archivists": EDIT,
    "Central library staff": EDIT,
    "Curators": ["view_transcript"],
}


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        # Restore what was there: called with the live registry (tests),
        # None would stop post_migrate for every app in the process.
        previous = getattr(app_config, "models_module", None)
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = previous
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = Permission.objects.filter(
            content_type__app_label="transcription", codename__in=codenames
        )
        missing = set(codenames) - set(perms.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"Missing permissions for {name}: {sorted(missing)}")
        group.permissions.add(*perms)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(
        content_type__app_label="transcription",
        codename__in=["edit_transcript", "view_transcript"],
    )
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.remove(*perms)


class Migration(migrations.Migration):
    dependencies = [
        ("transcription", "0001_initial"),
        ("archive", "0003_staff_groups"),
    ]
    operations = [migrations.RunPython(grant, revoke)]
