"""App configuration of ``archive``."""

from django.apps import AppConfig


class ArchiveConfig(AppConfig):
    """Core records, access, settings, the Celery app and base templates."""

    name = "archive"
    verbose_name = "Archive"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The admin's permission policies must be registered before anything asks
        # Wagtail for one (it would otherwise make a plain fallback policy and
        # refuse ours later); they are registered when the hooks module loads.
        from archive import audit, wagtail_hooks  # noqa: F401
        from archive.search import signals as search_signals
        from archive.search.documents import register_archive_sources

        register_archive_sources()
        search_signals.connect()
        audit.connect()
