"""The transcript pages in the Wagtail admin: a "Transcripts" menu, the editor, consents.

URLs live under ``/admin/transcription/`` (see ``transcription.admin_views``
and ``transcription.admin_consent`` for who may do what). The policies
registered here scope transcripts and consents to the user's institution, as
the archive's own records are scoped. The item's edit page links here through
the archive's ``archive_item_admin_links`` hook (the archive imports no app).
"""

from __future__ import annotations

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem
from wagtail.admin.widgets import HeaderButton
from wagtail.permissions import register_permission_policy

from archive.models import Asset
from transcription import admin_views as views
from transcription.admin_consent import (
    TRANSCRIPTION_MENU_HOOK,
    ConsentViewSet,
    consent_policy,
)
from transcription.models import Consent, Transcript

register_permission_policy(Transcript, views.transcript_policy)
register_permission_policy(Consent, consent_policy)

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
    return SubmenuMenuItem(
        # Translators: admin menu of transcripts of recordings (the editor) and consents.
        _("Transcripts"),
        Menu(register_hook_name=TRANSCRIPTION_MENU_HOOK),
        icon_name="doc-full",
        name="transcription",
        order=260,
    )


@hooks.register(TRANSCRIPTION_MENU_HOOK)
def register_transcript_list_menu_item():
    return TranscriptsMenuItem(
        # Translators: admin menu entry for the list of transcripts (and their editor).
        _("Transcripts"),
        reverse("transcription_admin_index"),
        name="transcripts",
        icon_name="doc-full",
        order=100,
    )


@hooks.register("register_admin_viewset")
def register_consent_viewset():
    return ConsentViewSet()


@hooks.register("archive_item_admin_links")
def item_transcription_links(item, request) -> list[HeaderButton]:
    """The "Transcripts" and "Consent" buttons on an item's edit page, when they apply.

    Shown for recordings (an item with a media original, a transcript or a
    consent) to users who may open transcripts or consents; both pages are
    scoped by institution like the item's own.
    """
    user = request.user
    consent = Consent.objects.filter(item=item).first()
    is_recording = (
        consent is not None
        or Transcript.objects.filter(item=item).exists()
        or Asset.objects.filter(item=item, role=Asset.Role.MEDIA).exists()
    )
    if not is_recording:
        return []
    buttons = []
    if views.can_read(user):
        buttons.append(
            HeaderButton(
                _("Transcripts"),
                url=reverse("transcription_admin_item", args=[item.public_id]),
                icon_name="doc-full",
                priority=10,
            )
        )
    if consent is not None and consent_policy.user_has_any_permission_for_instance(
        user, ["change", "view"], consent
    ):
        action = (
            "edit" if consent_policy.user_has_permission(user, "change") else "inspect"
        )
        buttons.append(
            HeaderButton(
                # Translators: button on an item's edit page leading to the interviewee's consent.
                _("Consent"),
                url=reverse(f"transcription_consent:{action}", args=[consent.pk]),
                icon_name="lock",
                priority=20,
            )
        )
    elif consent is None and consent_policy.user_has_permission(user, "add"):
        buttons.append(
            HeaderButton(
                # Translators: button on an item's edit page: record the interviewee's consent.
                _("Record consent"),
                url=reverse("transcription_consent:add") + f"?item={item.public_id}",
                icon_name="lock",
                priority=20,
            )
        )
    return buttons
