"""IIIF viewer URLs: the Mirador compare page (the item page embeds the viewer itself)."""

from django.urls import path

from iiif import viewer_views

urlpatterns = [
    path("viewer/", viewer_views.viewer, name="iiif_viewer"),
]
