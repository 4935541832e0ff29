"""The registry of every routed URL pattern and the example URLs the access walk visits.

Every pattern the project routes (outside the Wagtail admin, which is walked
separately) must be registered here: ``ITEM_DOORS`` for patterns that show one
item or its files, ``SITE_DOORS`` for everything else. A new pattern without an
entry fails ``test_every_routed_pattern_is_registered``, so no door can be
forgotten. Later issues add their doors here.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver, reverse

#: URL prefixes walked by the admin tests instead (login required for all of them).
ADMIN_PREFIXES = ("admin/",)


@dataclass
class ItemFixture:
    """Two items of one access level for the walk: an image set and a recording.

    ``item`` has one page (a PageImage with its derivatives, pyramid included);
    ``recording`` is an oral history with one media file.
    """

    item: object
    page: object
    recording: object
    media_asset_id: int


#: route name -> function(ItemFixture) -> list of GET URLs that show that item.
ITEM_DOORS = {
    "item_detail": lambda f: [
        reverse("item_detail", args=[f.item.public_id]),
        reverse("item_detail", args=[f.recording.public_id]),
    ],
    "item_thumbnail": lambda f: [reverse("item_thumbnail", args=[f.item.public_id])],
    "page_preview": lambda f: [
        reverse("page_preview", args=[f.item.public_id, f.page.sequence])
    ],
    "asset_file": lambda f: [
        reverse("asset_file", args=[f.recording.public_id, f.media_asset_id])
    ],
    # Citations of the item (archive/citations.py): CSL-JSON and BibTeX.
    "item_cite_csl": lambda f: [
        reverse("item_cite_csl", args=[f.item.public_id]),
        reverse("item_cite_csl", args=[f.recording.public_id]),
    ],
    # Report a concern (archive/trust_views.py): open to whoever may see the item.
    "item_report": lambda f: [
        reverse("item_report", args=[f.item.public_id]),
        reverse("item_report", args=[f.recording.public_id]),
    ],
    "item_cite_bibtex": lambda f: [
        reverse("item_cite_bibtex", args=[f.item.public_id]),
        reverse("item_cite_bibtex", args=[f.recording.public_id]),
    ],
}

#: route name -> (method, list of URLs): doors that list or serve no single item.
SITE_DOORS = {
    "institution_list": ("get", ["/institutions/"]),
    "institution_detail": ("get", ["/institutions/walk-lib/"]),
    "healthz": ("get", ["/healthz"]),
    # Request access (archive/trust_views.py): the form is for refused visitors,
    # so it is walked by tests/archive/test_trust.py item by item; here, an
    # unknown item.
    "item_request_access": ("get", ["/items/no-such-item/request-access/"]),
    "set_display_script": ("post", ["/display-script/"]),
    "set_language": ("post", ["/i18n/setlang/"]),
    # Wagtail's page tree: the home page, a theme library, a path that does not exist.
    "wagtail_serve": ("get", ["/", "/lingnan/", "/no-such-page/"]),
    # Wagtail's password form for restricted pages (none exist yet: 404).
    "wagtailcore_authenticate_with_password": (
        "get",
        ["/_util/authenticate_with_password/999/999/"],
    ),
    "wagtailcore_login": ("get", ["/_util/login/"]),
    # Search (archive/search/urls.py): the page, the JSON API and its OpenAPI
    # document. Every hit is checked with can_view (tests/archive/search/).
    "search": (
        "get",
        ["/search/?q=WALK", "/search/?q=走查&type=item&sort=-date", "/search/"],
    ),
    "search_api": ("get", ["/api/search?q=WALK", "/api/search?q=title&per_page=100"]),
    "search_openapi": ("get", ["/api/openapi.json"]),
}


def _merge_app_doors() -> None:
    """Add the doors each app registers in ``tests/<app>/doors.py`` (if it has one)."""
    from importlib import import_module

    for app in ("iiif", "transcription", "themes", "ingest"):
        try:
            module = import_module(f"tests.{app}.doors")
        except ModuleNotFoundError:
            continue
        for name in set(module.ITEM_DOORS) & set(ITEM_DOORS) | set(
            module.SITE_DOORS
        ) & set(SITE_DOORS):
            raise ValueError(f"{app} registers {name}, which is registered already")
        ITEM_DOORS.update(module.ITEM_DOORS)
        SITE_DOORS.update(module.SITE_DOORS)


_merge_app_doors()


def routed_patterns(patterns=None, prefix: str = ""):
    """Yield (route, name) for every URL pattern, flattening includes."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from routed_patterns(
                pattern.url_patterns, prefix + str(pattern.pattern)
            )
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.name
