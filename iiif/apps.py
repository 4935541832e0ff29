"""App configuration of ``iiif``."""

from django.apps import AppConfig


class IiifConfig(AppConfig):
    """Image API, Presentation manifests, Content Search, the viewer."""

    name = "iiif"
    verbose_name = "IIIF"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Connect the signal handlers that purge the Image API and manifest caches.

        Both ``connect`` functions are idempotent (every handler has a
        ``dispatch_uid``), so calling ``ready`` again is harmless.
        """
        from iiif import presentation_signals, signals

        signals.connect()
        presentation_signals.connect()
