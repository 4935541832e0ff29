"""Public URLs of ``transcription`` (DESIGN.md, Public interfaces): stable, no language prefix.

``{item}`` is the item's public identifier, ``{transcript}`` a transcript's
(``t`` + 10 hex digits); exports come as WebVTT, SRT, plain text or JSON.
"""

from django.urls import path, register_converter

from transcription import views


class ExportFormatConverter:
    """The file extension of a transcript export."""

    regex = "vtt|srt|txt|json"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ExportFormatConverter, "export")

urlpatterns = [
    path(
        "items/<str:item>/transcript.<export:format>",
        views.item_transcript,
        name="item_transcript",
    ),
    path(
        "items/<str:item>/transcripts/<slug:transcript>.<export:format>",
        views.transcript_file,
        name="transcript_file",
    ),
    path(
        "items/<str:item>/listen/<int:asset>",
        views.recording_listen,
        name="recording_listen",
    ),
    path(
        "items/<str:item>/poster/<int:asset>.jpg",
        views.recording_poster,
        name="recording_poster",
    ),
]
