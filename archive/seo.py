"""Sharing metadata of public pages: Open Graph, Twitter cards, canonical links, JSON-LD.

The item page describes its item as schema.org JSON-LD (``Book`` for book
volumes, ``AudioObject``/``VideoObject`` for recordings, ``CreativeWork``
otherwise) and as Open Graph tags for link previews. The other apps' pages
(``themes``) build theirs with the same helpers (``PageMeta``,
``jsonld_script``, ``item_summary_jsonld``), so every page renders its tags
through one template, ``archive/includes/meta.html``.

Only the item page itself describes an item in full, and it is rendered only
for visitors the access decision allows. Listings describe only items an
anonymous visitor may see (:func:`publicly_visible`), whoever is looking, so
a JSON-LD block copied out of a staff member's page reveals nothing.

The JSON-LD, like the IIIF documents, does not depend on the reader's UI
language; the Open Graph title and description do (a shared link shows what
the sharer saw).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import get_language

from archive.access import can_view
from archive.models import Agent, Institution, Item, Role
from archive.scripts import convert_for_display

SCHEMA_CONTEXT = "https://schema.org"

#: schema.org types of items, by kind.
SCHEMA_TYPE = {
    Item.Kind.BOOK_VOLUME: "Book",
    Item.Kind.ORAL_HISTORY: "AudioObject",
    Item.Kind.DOCUMENTARY_VIDEO: "VideoObject",
    Item.Kind.IMAGE_SET: "CreativeWork",
    Item.Kind.OTHER: "CreativeWork",
}

#: Open Graph types of items, by kind (``website`` for the rest).
OG_TYPE = {
    Item.Kind.BOOK_VOLUME: "book",
    Item.Kind.DOCUMENTARY_VIDEO: "video.other",
}

#: Open Graph locales of the UI languages (Traditional as written in Hong Kong,
#: the forms the 繁 display switch uses; British English as the site writes).
OG_LOCALES = {"zh-hant": "zh_HK", "zh-hans": "zh_CN", "en": "en_GB"}

#: Longest description in Open Graph tags (previews cut around 200 characters).
DESCRIPTION_CHARS = 200

_ISO_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
#: Characters that must not appear raw inside a <script> element; the same
#: escapes as Django's ``json_script``, plus the JavaScript line separators.
_SCRIPT_ESCAPES = {
    ord("<"): "\\u003C",
    ord(">"): "\\u003E",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


@dataclass
class PageMeta:
    """What a public page says about itself to crawlers and link previews."""

    title: str
    description: str
    #: The canonical absolute URL (``og:url`` and ``<link rel="canonical">``).
    url: str
    type: str = "website"
    image: str = ""
    image_alt: str = ""
    locale: str = ""
    locale_alternates: list[str] = field(default_factory=list)
    site_name: str = ""
    jsonld: dict | list | None = None

    def __post_init__(self) -> None:
        self.description = summary(self.description)
        if not self.locale:
            self.locale, self.locale_alternates = og_locales()
        self.site_name = self.site_name or settings.WAGTAIL_SITE_NAME

    @property
    def twitter_card(self) -> str:
        """``summary_large_image`` when there is an image to show, else ``summary``."""
        return "summary_large_image" if self.image else "summary"

    @property
    def jsonld_script(self) -> SafeString:
        """The JSON-LD as a ``<script type="application/ld+json">`` element."""
        return jsonld_script(self.jsonld) if self.jsonld else SafeString("")


def og_locales(language: str | None = None) -> tuple[str, list[str]]:
    """The Open Graph locale of the UI language, and the other two as alternates."""
    language = (language or get_language() or "zh-hant").lower()
    current = OG_LOCALES.get(language, OG_LOCALES["zh-hant"])
    return current, [v for v in OG_LOCALES.values() if v != current]


def summary(text: str, chars: int = DESCRIPTION_CHARS) -> str:
    """One line of at most ``chars`` characters (ellipsis when cut)."""
    return Truncator(" ".join(str(text or "").split())).chars(chars)


def absolute_url(request, path: str) -> str:
    """``path`` on the request's scheme and host (as the IIIF documents do)."""
    return request.build_absolute_uri(path)


def jsonld_script(data) -> SafeString:
    """``data`` as a JSON-LD ``<script>`` element that no value can break out of.

    ``json.dumps`` then the escapes of Django's ``json_script``: ``<``, ``>``
    and ``&`` become ``\\u003C`` and friends, so ``</script>`` in a title stays
    text. Django's own filter cannot be used: it writes ``application/json``.
    """
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)
    return format_html(
        '<script type="application/ld+json">{}</script>',
        SafeString(text.translate(_SCRIPT_ESCAPES)),
    )


def publicly_visible(item: Item) -> bool:
    """Whether an anonymous visitor outside the reading room may see ``item``."""
    return can_view(AnonymousUser(), item)


def display_text(text: str, request) -> str:
    """Text in the reader's 繁/简 choice, for tags that leave the page (as the ``display`` tag)."""
    return convert_for_display(
        str(text or ""), getattr(request, "display_script", "orig")
    )


def _display_form(obj, field_name: str, request) -> str:
    # The page heading's choice: the English form for English readers, the
    # record's own form in the chosen script, else the source text shown in it.
    if (get_language() or "").lower().startswith("en"):
        english = getattr(obj, f"{field_name}_en", "")
        if english:
            return english
    script = getattr(request, "display_script", "orig")
    if script in ("hant", "hans"):
        own = getattr(obj, f"{field_name}_{script}", "")
        if own:
            return own
    return display_text(getattr(obj, field_name, ""), request)


def _alternate_names(obj, field_name: str) -> list[str]:
    own = getattr(obj, field_name)
    names = []
    for form in ("hant", "hans", "en"):
        value = getattr(obj, f"{field_name}_{form}", "")
        if value and value != own and value not in names:
            names.append(value)
    return names


def _named(data: dict, obj, field_name: str) -> dict:
    data["name"] = getattr(obj, field_name)
    alternates = _alternate_names(obj, field_name)
    if alternates:
        data["alternateName"] = alternates if len(alternates) > 1 else alternates[0]
    return data


def agent_jsonld(agent: Agent) -> dict:
    """A Person or Organization."""
    kind = "Organization" if agent.kind == Agent.Kind.ORGANISATION else "Person"
    return _named({"@type": kind}, agent, "name")


def institution_jsonld(institution: Institution, request) -> dict:
    """The contributing institution (a Library, or an Organization for partners)."""
    kind = "Organization" if institution.kind == Institution.Kind.PARTNER else "Library"
    data = _named({"@type": kind}, institution, "name")
    data["url"] = absolute_url(
        request, reverse("institution_detail", args=[institution.code])
    )
    if institution.homepage:
        data["sameAs"] = institution.homepage
    return data


def item_url(item: Item, request) -> str:
    """The item page's permanent absolute URL (its canonical URL)."""
    return absolute_url(request, reverse("item_detail", args=[item.public_id]))


def _first_page(item: Item):
    pages = list(item.pages.all()[:1])
    return pages[0] if pages else None


def item_images(item: Item, request) -> dict[str, str]:
    """Absolute URLs of the item's thumbnail and preview, when anyone may fetch them.

    Link previews and crawlers fetch images anonymously, so they are named
    only when an anonymous visitor may see the first page (never for
    restricted items, nor when the page's file is stricter than the item).
    """
    page = _first_page(item) if publicly_visible(item) else None
    if page is None or not can_view(AnonymousUser(), page.asset):
        return {}
    return {
        "thumbnail": absolute_url(
            request, reverse("item_thumbnail", args=[item.public_id])
        ),
        "preview": absolute_url(
            request, reverse("page_preview", args=[item.public_id, page.sequence])
        ),
    }


def _date_created(item: Item) -> str:
    text = (item.date_text or "").strip()
    if _ISO_DATE.match(text):
        return text
    if (
        item.year_from is not None
        and item.year_from == item.year_to
        and not item.date_approximate
        and 0 < item.year_from < 10000
    ):
        return f"{item.year_from:04d}"
    return ""


#: schema.org properties for agent roles; ``None``: the role is a contributor.
_ROLE_PROPERTY = {
    Role.AUTHOR: "author",
    Role.EDITOR: "editor",
    Role.INTERVIEWEE: "creator",
    Role.PHOTOGRAPHER: "creator",
    Role.DIRECTOR: "director",
}


def _agents(item: Item) -> list[tuple[str, Agent]]:
    pairs: list[tuple[str, Agent]] = []
    seen = set()
    links = list(item.work.work_agents.select_related("agent")) if item.work_id else []
    links += list(item.item_agents.all())
    for link in links:
        if (link.role, link.agent_id) not in seen:
            seen.add((link.role, link.agent_id))
            pairs.append((link.role, link.agent))
    return pairs


def item_summary_jsonld(item: Item, request) -> dict:
    """A short description of an item for listings: type, name, URL, image."""
    data = {
        "@type": SCHEMA_TYPE.get(item.kind, "CreativeWork"),
        "name": item.title,
        "url": item_url(item, request),
    }
    if item.title_en and item.title_en != item.title:
        data["alternateName"] = item.title_en
    return data


def item_jsonld(item: Item, request) -> dict:
    """The item as schema.org JSON-LD (the item page's only JSON-LD block)."""
    schema_type = SCHEMA_TYPE.get(item.kind, "CreativeWork")
    data: dict = {"@context": SCHEMA_CONTEXT, "@type": schema_type}
    _named(data, item, "title")
    data["url"] = item_url(item, request)
    data["identifier"] = item.public_id
    if item.description:
        data["description"] = item.description
    if item.languages:
        data["inLanguage"] = (
            item.languages[0] if len(item.languages) == 1 else list(item.languages)
        )
    created = _date_created(item)
    if created:
        data["dateCreated"] = created
    for role, agent in _agents(item):
        prop = _ROLE_PROPERTY.get(role, "contributor")
        if prop == "director" and schema_type != "VideoObject":
            prop = "creator"
        data.setdefault(prop, []).append(agent_jsonld(agent))
    data["publisher"] = institution_jsonld(item.institution, request)
    part_of = []
    if item.work_id:
        work = _named({"@type": "Book"}, item.work, "title")
        part_of.append(work)
        if item.volume_number:
            data["position"] = item.volume_number
        if item.work.edition:
            data["bookEdition"] = item.work.edition
    if item.collection_id:
        collection = _named({"@type": "Collection"}, item.collection, "title")
        collection["identifier"] = item.collection.code
        part_of.append(collection)
    if part_of:
        data["isPartOf"] = part_of if len(part_of) > 1 else part_of[0]
    places = []
    for place in item.places.all():
        entry = _named({"@type": "Place"}, place, "name")
        if place.latitude is not None and place.longitude is not None:
            entry["geo"] = {
                "@type": "GeoCoordinates",
                "latitude": float(place.latitude),
                "longitude": float(place.longitude),
            }
        places.append(entry)
    if places:
        data["spatialCoverage"] = places
    data["license"] = item.rights_uri
    if item.required_statement:
        data["creditText"] = item.required_statement
    data["isAccessibleForFree"] = True
    images = item_images(item, request)
    if images:
        data["thumbnailUrl"] = images["thumbnail"]
        data["image"] = images["preview"]
    if schema_type in ("AudioObject", "VideoObject"):
        data["uploadDate"] = item.created_at.date().isoformat()
    data["dateModified"] = item.updated_at.isoformat()
    return data


def item_meta(item: Item, request) -> PageMeta:
    """The Open Graph, Twitter and canonical tags of the item page, with its JSON-LD."""
    images = item_images(item, request)
    title = _display_form(item, "title", request)
    return PageMeta(
        title=title,
        description=_display_form(item, "description", request)
        or _display_form(item, "required_statement", request),
        url=item_url(item, request),
        type=OG_TYPE.get(item.kind, "website"),
        image=images.get("preview", ""),
        image_alt=title,
        jsonld=item_jsonld(item, request),
    )


def institution_meta(institution: Institution, request) -> PageMeta:
    """The sharing tags of an institution's page (``/institutions/{code}/``)."""
    name = _display_form(institution, "name", request)
    url = absolute_url(request, reverse("institution_detail", args=[institution.code]))
    data = institution_jsonld(institution, request)
    data["@context"] = "https://schema.org"
    return PageMeta(
        title=name,
        description=str(institution.get_kind_display()),
        url=url,
        type="website",
        jsonld=data,
    )


def institution_list_meta(institutions, request) -> PageMeta:
    """The sharing tags of the list of institutions (``/institutions/``)."""
    from django.utils.translation import gettext

    return PageMeta(
        title=gettext("Institutions"),
        description=", ".join(
            _display_form(institution, "name", request) for institution in institutions
        ),
        url=absolute_url(request, reverse("institution_list")),
        jsonld={
            "@context": "https://schema.org",
            "@type": "ItemList",
            "itemListElement": [
                {
                    "@type": "ListItem",
                    "position": n,
                    "item": institution_jsonld(institution, request),
                }
                for n, institution in enumerate(institutions, start=1)
            ],
        },
    )
