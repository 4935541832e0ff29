"""App configuration of ``transcription``."""

from django.apps import AppConfig


class TranscriptionConfig(AppConfig):
    """Speech to text: engines, transcripts, segments."""

    name = "transcription"
    verbose_name = "Transcription"
    default_auto_field = "django.db.models.BigAutoField"
