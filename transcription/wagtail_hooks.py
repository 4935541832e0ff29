"""The transcript pages in the Wagtail admin: a "Transcripts" menu item, the editor, its endpoints.

URLs live under ``/admin/transcription/`` (see ``transcription.admin_views``
for who may do what). The policy registered here scopes transcripts to the
user's institution, as the archive's own records are scoped.
"""

from __future__ import annotations

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.permissions import register_permission_policy

from transcription import admin_views as views
from transcription.models import Transcript

register_permission_policy(Transcript, views.transcript_policy)

transcript_urls = [
    path("", views.editor, name="transcription_admin_editor"),
    path("data.json", views.editor_data, name="transcription_admin_data"),
    path("primary/", views.transcript_make_primary, name="transcription_admin_primary"),
    path("approve/", views.transcript_approve, name="transcription_admin_approve"),
    path("reopen/", views.transcript_reopen, name="transcription_admin_reopen"),
    path("speakers/", views.speaker_rename, name="transcription_admin_speakers"),
    path(
        "segments/<int:pk>/", views.segment_update, name="transcription_admin_segment"
    ),
    path(
        "segments/<int:pk>/split/",
        views.segment_split,
        name="transcription_admin_split",
    ),
    path(
        "segments/<int:pk>/merge/",
        views.segment_merge,
        name="transcription_admin_merge",
    ),
    path(
        "segments/<int:pk>/access/",
        views.segment_access,
        name="transcription_admin_access",
    ),
    path(
        "index-points/",
        views.index_point_create,
        name="transcription_admin_point_create",
    ),
    path(
        "index-points/<int:pk>/",
        views.index_point_update,
        name="transcription_admin_point",
    ),
    path(
        "index-points/<int:pk>/delete/",
        views.index_point_delete,
        name="transcription_admin_point_delete",
    ),
]

urlpatterns = [
    path("", views.transcript_index, name="transcription_admin_index"),
    path("items/<str:item>/", views.item_transcripts, name="transcription_admin_item"),
    path("transcripts/<slug:transcript>/", include(transcript_urls)),
]


@hooks.register("register_admin_urls")
def register_transcription_urls():
    return [path("transcription/", include(urlpatterns))]


class TranscriptsMenuItem(MenuItem):
    def is_shown(self, request):
        return views.can_read(request.user)


@hooks.register("register_admin_menu_item")
def register_transcripts_menu_item():
    return TranscriptsMenuItem(
        # Translators: admin menu entry for the transcripts of recordings (and their editor).
        _("Transcripts"),
        reverse("transcription_admin_index"),
        icon_name="doc-full",
        order=260,
    )
