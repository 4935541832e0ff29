"""App configuration of ``ingest``."""

from django.apps import AppConfig


class IngestConfig(AppConfig):
    """Turning delivered files and metadata into records."""

    name = "ingest"
    verbose_name = "Ingest"
    default_auto_field = "django.db.models.BigAutoField"
