"""Sharing metadata of the Wagtail pages: Open Graph tags and schema.org JSON-LD.

- Home: a ``WebSite`` with a ``SearchAction`` on ``/search/?q=`` (DESIGN.md,
  Public interfaces), so search engines can offer the archive's own search.
- Theme library: a ``CollectionPage`` whose ``mainEntity`` is an ``ItemList``
  of the items the page shows (the selection, then the current page).
- Exhibition: a ``WebPage`` whose main entity is an ``ExhibitionEvent``, held
  online (``VirtualLocation``) from its first publication.

Listings name only items an anonymous visitor may see
(``archive.seo.publicly_visible``), whoever is looking: a page rendered for
staff lists restricted items in its HTML, never in its JSON-LD.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import NoReverseMatch, reverse

from archive.seo import (
    SCHEMA_CONTEXT,
    PageMeta,
    absolute_url,
    display_text,
    item_images,
    item_summary_jsonld,
    publicly_visible,
)

#: The search page (a stable public URL); the SearchAction's target.
SEARCH_PATH = "/search/"
#: The languages the site's pages are offered in (BCP 47).
SITE_LANGUAGES = ["zh-Hant", "zh-Hans", "en"]


def _shown(request, text: str) -> str:
    """Text in the reader's 繁/简 choice (``archive.seo.display_text``)."""
    return display_text(text, request)


def page_url(page, request) -> str:
    """The page's absolute URL on the request's host."""
    return absolute_url(request, page.get_url(request) or "/")


def _home_url(request) -> str:
    return absolute_url(request, "/")


def _search_target(request) -> str:
    try:
        path = reverse("search")
    except NoReverseMatch:
        path = SEARCH_PATH
    return absolute_url(request, path) + "?q={search_term_string}"


def _website_ref(request) -> dict:
    home = _home_url(request)
    return {
        "@type": "WebSite",
        "@id": f"{home}#website",
        "url": home,
        "name": settings.WAGTAIL_SITE_NAME,
    }


def home_jsonld(page, request) -> dict:
    """The site as a ``WebSite`` with its search box (``SearchAction``)."""
    data = {"@context": SCHEMA_CONTEXT, **_website_ref(request)}
    data["inLanguage"] = SITE_LANGUAGES
    if page.introduction:
        data["description"] = page.introduction
    data["potentialAction"] = {
        "@type": "SearchAction",
        "target": {"@type": "EntryPoint", "urlTemplate": _search_target(request)},
        "query-input": "required name=search_term_string",
    }
    return data


def home_meta(page, request) -> PageMeta:
    """Tags of the home page."""
    return PageMeta(
        title=settings.WAGTAIL_SITE_NAME,
        description=_shown(request, page.introduction_for()),
        url=page_url(page, request),
        jsonld=home_jsonld(page, request),
    )


def _listed_items(featured, items) -> list:
    """The items a theme page shows, each once, that anyone may see."""
    listed, seen = [], set()
    for item in [entry.item for entry in featured] + list(items or []):
        if item.pk not in seen and publicly_visible(item):
            seen.add(item.pk)
            listed.append(item)
    return listed


def theme_jsonld(page, request, *, featured=(), items=(), url: str = "") -> dict:
    """A theme library's page as a ``CollectionPage`` listing its public items."""
    theme = page.theme
    url = url or page_url(page, request)
    listed = _listed_items(featured, items)
    data = {
        "@context": SCHEMA_CONTEXT,
        "@type": "CollectionPage",
        "@id": url,
        "url": url,
        "name": theme.name_hant,
        "alternateName": [theme.name_hans, theme.name_en],
        "inLanguage": SITE_LANGUAGES,
        "isPartOf": _website_ref(request),
    }
    if theme.introduction_hant:
        data["description"] = theme.introduction_hant
    data["mainEntity"] = {
        "@type": "ItemList",
        "numberOfItems": len(listed),
        "itemListElement": [
            {
                "@type": "ListItem",
                "position": n,
                "item": item_summary_jsonld(item, request),
            }
            for n, item in enumerate(listed, start=1)
        ],
    }
    return data


def _theme_canonical(page, request, items_page) -> str:
    url = page_url(page, request)
    filtered = request.GET.get("kind") or request.GET.get("collection")
    number = getattr(items_page, "number", 1)
    # A page of the full listing is its own canonical page; filtered views
    # are variants of the first.
    if number > 1 and not filtered:
        return f"{url}?page={number}"
    return url


def theme_meta(page, request, *, featured=(), items_page=None) -> PageMeta:
    """Tags of a theme-library page; its image is the first public item's."""
    items = list(items_page or [])
    url = _theme_canonical(page, request, items_page)
    image = ""
    for item in _listed_items(featured, items):
        image = item_images(item, request).get("preview", "")
        if image:
            break
    title = page.theme.name_for()
    return PageMeta(
        title=title,
        description=page.theme.introduction_for(),
        url=url,
        image=image,
        image_alt=title if image else "",
        jsonld=theme_jsonld(page, request, featured=featured, items=items, url=url),
    )


def exhibition_jsonld(page, request) -> dict:
    """An exhibition: the ``WebPage`` and the online ``ExhibitionEvent`` it presents."""
    url = page_url(page, request)
    parent = page.get_parent().specific
    event = {
        "@type": "ExhibitionEvent",
        "@id": f"{url}#exhibition",
        "name": page.title,
        "url": url,
        "eventAttendanceMode": "https://schema.org/OnlineEventAttendanceMode",
        "eventStatus": "https://schema.org/EventScheduled",
        "location": {"@type": "VirtualLocation", "url": url},
        "organizer": {
            "@type": "Organization",
            "name": settings.WAGTAIL_SITE_NAME,
            "url": _home_url(request),
        },
        "isAccessibleForFree": True,
    }
    webpage = {
        "@type": "WebPage",
        "@id": url,
        "url": url,
        "name": page.title,
        "mainEntity": {"@id": event["@id"]},
        "isPartOf": {"@type": "CollectionPage", "@id": page_url(parent, request)},
    }
    if page.title_en:
        event["alternateName"] = webpage["alternateName"] = page.title_en
    if page.summary:
        event["description"] = webpage["description"] = page.summary
    if page.first_published_at:
        event["startDate"] = page.first_published_at.date().isoformat()
        webpage["datePublished"] = page.first_published_at.isoformat()
    if page.last_published_at:
        webpage["dateModified"] = page.last_published_at.isoformat()
    return {"@context": SCHEMA_CONTEXT, "@graph": [webpage, event]}


def exhibition_meta(page, request) -> PageMeta:
    """Tags of an exhibition page (an article)."""
    return PageMeta(
        title=_shown(request, page.title_for()),
        description=_shown(request, page.summary_for()),
        url=page_url(page, request),
        type="article",
        jsonld=exhibition_jsonld(page, request),
    )


def page_meta(page, request, context) -> PageMeta | None:
    """The tags of any of the site's Wagtail pages (None for other page types)."""
    from themes.models import ExhibitionPage, HomePage, ThemeLibraryPage

    if isinstance(page, HomePage):
        return home_meta(page, request)
    if isinstance(page, ThemeLibraryPage):
        return theme_meta(
            page,
            request,
            featured=context.get("featured", ()),
            items_page=context.get("items_page"),
        )
    if isinstance(page, ExhibitionPage):
        return exhibition_meta(page, request)
    return None
