"""App configuration of ``transcription``."""

from django.apps import AppConfig


class TranscriptionConfig(AppConfig):
    """Speech to text: engines, transcripts, segments."""

    name = "transcription"
    verbose_name = "Transcription"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Connect the handlers that mark an item changed when its transcripts change.

        ``signals.connect`` is idempotent (every handler has a dispatch_uid).
        """
        from transcription import search, signals

        search.register()
        signals.connect()
