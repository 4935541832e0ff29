"""The ingest pages in the Wagtail admin: an "Ingest" menu item over jobs and the zip upload."""

from __future__ import annotations

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from ingest import views

urlpatterns = [
    path("", views.job_index, name="ingest_job_index"),
    path("upload/", views.job_upload, name="ingest_job_upload"),
    path("jobs/<int:pk>/", views.job_detail, name="ingest_job_detail"),
    path(
        "jobs/<int:pk>/progress.json",
        views.job_progress_json,
        name="ingest_job_progress",
    ),
    path("jobs/<int:pk>/resume/", views.job_resume, name="ingest_job_resume"),
]


@hooks.register("register_admin_urls")
def register_ingest_urls():
    return [path("ingest/", include(urlpatterns))]


class IngestMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm(views.VIEW)


@hooks.register("register_admin_menu_item")
def register_ingest_menu_item():
    return IngestMenuItem(
        # Translators: admin menu entry for ingest jobs (bringing deliveries of scans in).
        _("Ingest"),
        reverse("ingest_job_index"),
        icon_name="upload",
        order=250,
    )
