"""IIIF Image API 3.0 URLs (DESIGN.md, Public interfaces; Image API §2).

``{image}`` is a page image's identifier, bare or versioned
(``iiif.identifiers``). The last pattern answers every other path under the
prefix with a 404 that still carries CORS headers.
"""

from django.urls import path, re_path

from iiif import image_views

urlpatterns = [
    path("iiif/3/image/<str:image>", image_views.image_base, name="iiif_image_base"),
    path(
        "iiif/3/image/<str:image>/info.json",
        image_views.image_info,
        name="iiif_image_info",
    ),
    path(
        "iiif/3/image/<str:image>/<str:region>/<str:size>/<str:rotation>/<str:quality_format>",
        image_views.image_request,
        name="iiif_image",
    ),
    # Anything else under the prefix, the bare prefix and paths with a newline
    # included (``<path:>`` matches neither), so every 404 carries CORS.
    re_path(
        r"^iiif/3/image/(?P<rest>[\s\S]*)\Z",
        image_views.image_not_found,
        name="iiif_image_not_found",
    ),
]
