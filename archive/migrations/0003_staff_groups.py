"""Create the staff groups (archivists, curators, central-library staff) with their permissions.

Permissions are normally created after migrations run; this migration creates
them first so the groups are complete on a fresh database.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ARCHIVE_MODELS = [
    "institution", "collection", "work", "workagent", "item", "itemagent", "asset",
    "fixitycheck", "derivative", "pageimage", "agent", "place", "themelibrary",
    "staffprofile",
]
EDITABLE_BY_ARCHIVISTS = ["work", "workagent", "item", "itemagent", "pageimage", "agent", "place"]

GROUPS = {
    "Archivists": {
        "wagtailadmin": ["access_admin"],
        "archive": [f"{a}_{m}" for m in EDITABLE_BY_ARCHIVISTS for a in ("add", "change", "view")]
        + [f"view_{m}" for m in ARCHIVE_MODELS]
        + ["view_restricted"],
    },
    "Curators": {
        "wagtailadmin": ["access_admin"],
        "archive": [f"view_{m}" for m in ARCHIVE_MODELS]
        + ["change_item", "change_collection", "view_restricted"],
    },
    "Central library staff": {
        "wagtailadmin": ["access_admin"],
        "archive": [f"{a}_{m}" for m in ARCHIVE_MODELS for a in ("add", "change", "view", "delete")
                    if not (a == "delete" and m in ("asset", "fixitycheck", "item", "institution"))]
        + ["view_restricted", "edit_all_institutions"],
    },
}


def create_groups(apps, schema_editor):
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


def remove_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("archive", "0002_theme_libraries"),
        ("wagtailadmin", "__latest__"),
        ("auth", "__latest__"),
        ("contenttypes", "__latest__"),
    ]
    operations = [migrations.RunPython(create_groups, remove_groups)]
