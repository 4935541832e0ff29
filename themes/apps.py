"""App configuration of ``themes``."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _page_tree_after_migrate(sender, using="default", **kwargs) -> None:
    """Put back the four theme libraries and their pages when missing.

    ``post_migrate`` also follows a database flush (transactional tests), as
    it does for content types and permissions.
    """
    from django.db import connections

    from archive.services import theme_libraries_ensure
    from themes.models import ThemeLibraryPage
    from themes.services import page_permissions_ensure, page_tree_ensure

    if (
        ThemeLibraryPage._meta.db_table
        not in connections[using].introspection.table_names()
    ):
        return  # migrated backwards past the page models
    theme_libraries_ensure()
    page_tree_ensure()
    page_permissions_ensure()


class ThemesConfig(AppConfig):
    """Wagtail pages: home, theme libraries, exhibitions."""

    name = "themes"
    verbose_name = "Themes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from themes import search, signals

        search.register()
        signals.connect()
        post_migrate.connect(
            _page_tree_after_migrate,
            sender=self,
            dispatch_uid="themes.page_tree_after_migrate",
        )
