"""IIIF URLs (DESIGN.md, Public interfaces): Image API, Presentation, the viewer, Auth 2.0.

Each part keeps its own URL module so it can be read on its own.
"""

from django.urls import include, path

urlpatterns = [
    path("", include("iiif.image_urls")),
    path("", include("iiif.presentation_urls")),
    path("", include("iiif.viewer_urls")),
    path("", include("iiif.search_urls")),
    path("", include("iiif.auth_urls")),
]
