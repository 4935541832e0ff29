"""IIIF Presentation 3.0 URLs (DESIGN.md, Public interfaces): stable, no language prefix."""

from django.urls import path

from iiif import presentation_views

urlpatterns = [
    path(
        "iiif/3/manifest/<str:item>",
        presentation_views.manifest,
        name="iiif_manifest",
    ),
    path(
        "iiif/3/collection/<str:key>",
        presentation_views.collection,
        name="iiif_collection",
    ),
    path(
        "iiif/3/record/<str:item>.json",
        presentation_views.record,
        name="iiif_record",
    ),
]
