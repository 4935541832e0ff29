"""Curators (and central library staff) build and publish pages under the home page."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    from themes.services import page_permissions_ensure

    # Permissions are normally made after the migrations (post_migrate).
    for app_config in apps.get_app_configs():
        # Restore what was there: called with the live registry (tests),
        # None would stop post_migrate for every app in the process.
        previous = getattr(app_config, "models_module", None)
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = previous
    page_permissions_ensure(apps=apps)


def revoke(apps, schema_editor):
    from themes.services import PAGE_PERMISSIONS

    GroupPagePermission = apps.get_model("wagtailcore", "GroupPagePermission")
    GroupPagePermission.objects.filter(
        group__name__in=PAGE_PERMISSIONS, page__depth=2
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("themes", "0004_theme_featured_items"),
        ("archive", "0003_staff_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
