"""The home page and the four theme-library pages, on every installation."""

from django.db import migrations


def build(apps, schema_editor):
    from themes.services import page_tree_ensure

    page_tree_ensure(apps=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("themes", "0001_initial"),
        ("archive", "0002_theme_libraries"),
        ("wagtailcore", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(build, migrations.RunPython.noop)]
