"""IIIF Authorization Flow 2.0 URLs (``iiif.auth_views``): probes, access, token, logout.

Stable, no language prefix, like every IIIF URI. ``{image}`` is a page
image's bare public identifier (one probe per page, whatever the recipe
version); ``{reason}`` is ``login``, ``reading-room`` or ``embargo-YYYY-MM-DD``.
"""

from django.urls import path

from iiif import auth_views

urlpatterns = [
    path(
        "iiif/auth/probe/image/<str:image>",
        auth_views.probe_image,
        name="iiif_auth_probe_image",
    ),
    path(
        "iiif/auth/probe/media/<str:item>/<int:asset>",
        auth_views.probe_media,
        name="iiif_auth_probe_media",
    ),
    path("iiif/auth/access/<str:reason>", auth_views.access, name="iiif_auth_access"),
    path("iiif/auth/token", auth_views.token, name="iiif_auth_token"),
    path("iiif/auth/logout", auth_views.logout, name="iiif_auth_logout"),
]
