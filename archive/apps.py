"""App configuration of ``archive``."""

from django.apps import AppConfig


class ArchiveConfig(AppConfig):
    """Core records, access, settings, the Celery app and base templates."""

    name = "archive"
    verbose_name = "Archive"
    default_auto_field = "django.db.models.BigAutoField"
