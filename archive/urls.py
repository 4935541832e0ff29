"""Root URL configuration. Public URLs are stable (DESIGN.md, Public interfaces).

No language prefixes: the UI language comes from a cookie and Accept-Language.
"""

from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls

from archive import trust_views, views

urlpatterns = [
    path("items/<str:item>/", views.item_detail, name="item_detail"),
    path("items/<str:item>/thumbnail.jpg", views.item_thumbnail, name="item_thumbnail"),
    path(
        "items/<str:item>/pages/<int:sequence>.jpg",
        views.page_preview,
        name="page_preview",
    ),
    path("items/<str:item>/files/<int:asset>", views.asset_file, name="asset_file"),
    path("items/<str:item>/cite.json", views.item_cite_csl, name="item_cite_csl"),
    path("items/<str:item>/cite.bib", views.item_cite_bibtex, name="item_cite_bibtex"),
    path(
        "items/<str:item>/request-access/",
        trust_views.request_access,
        name="item_request_access",
    ),
    path("items/<str:item>/report/", trust_views.report_concern, name="item_report"),
    path("institutions/", views.institution_list, name="institution_list"),
    path(
        "institutions/<slug:code>/", views.institution_detail, name="institution_detail"
    ),
    path("display-script/", views.set_display_script, name="set_display_script"),
    path("i18n/", include("django.conf.urls.i18n")),
    # The search page and the JSON search API: see archive/search/urls.py.
    path("", include("archive.search.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", include(wagtailadmin_urls)),
    path("", include("transcription.urls")),  # transcripts, listening copies
    # IIIF (Image API, Presentation, viewer): see iiif/urls.py.
    path("", include("iiif.urls")),
    # The sitemap and robots.txt: see themes/urls.py.
    path("", include("themes.urls")),
    # Wagtail serves its page tree last: the home page ("/"), the theme
    # libraries and their exhibitions (themes/models.py).
    path("", include(wagtail_urls)),
]
