"""Give the staff groups the trust permissions.

Archivists and central-library staff decide access requests, grant and revoke
access, and review reported concerns (archivists for their institution's
items); only central-library staff read the audit log. Curators read requests
and concerns.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = {
    "Archivists": {
        "archive": [
            "manage_access", "review_concerns",
            "view_accessrequest", "view_accessgrant", "view_concernreport",
        ],
    },
    "Central library staff": {
        "archive": [
            "manage_access", "review_concerns", "view_audit_log",
            "view_accessrequest", "view_accessgrant", "view_concernreport",
        ],
    },
    "Curators": {
        "archive": ["view_accessrequest", "view_concernreport"],
    },
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
    for name, by_app in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codenames in by_app.items():
            perms = Permission.objects.filter(
                content_type__app_label=app_label, codename__in=codenames
            )
            missing = set(codenames) - set(perms.values_list("codename", flat=True))
            if missing:
                raise RuntimeError(f"Missing permissions for {name}: {sorted(missing)}")
            group.permissions.add(*perms)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, by_app in GROUPS.items():
        for group in Group.objects.filter(name=name):
            for app_label, codenames in by_app.items():
                group.permissions.remove(
                    *Permission.objects.filter(
                        content_type__app_label=app_label, codename__in=codenames
                    )
                )


class Migration(migrations.Migration):
    dependencies = [("archive", "0009_trust")]
    operations = [migrations.RunPython(grant, revoke)]
