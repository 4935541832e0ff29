"""App configuration of ``themes``."""

from django.apps import AppConfig


class ThemesConfig(AppConfig):
    """Wagtail pages: home, theme libraries, exhibitions."""

    name = "themes"
    verbose_name = "Themes"
    default_auto_field = "django.db.models.BigAutoField"
