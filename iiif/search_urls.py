"""IIIF Content Search URLs (DESIGN.md, Public interfaces): stable, no language prefix.

2.0 at ``/iiif/search/2/{item}``, and the same search in its 1.0 form at
``/iiif/search/1/{item}`` (Mirador's search panel speaks only 1.0); each with
its autocomplete service below it.
"""

from django.urls import path

from iiif import content_search

urlpatterns = [
    path(
        "iiif/search/2/<str:item>",
        content_search.search_v2,
        name="iiif_search2",
    ),
    path(
        "iiif/search/2/<str:item>/autocomplete",
        content_search.autocomplete_v2,
        name="iiif_search2_autocomplete",
    ),
    path(
        "iiif/search/1/<str:item>",
        content_search.search_v1,
        name="iiif_search1",
    ),
    path(
        "iiif/search/1/<str:item>/autocomplete",
        content_search.autocomplete_v1,
        name="iiif_search1_autocomplete",
    ),
]
