"""The search page (``/search/?q=``) and the JSON search API (``/api/search?q=``).

Issue 7, items 4 and 6 (DESIGN.md, Public interfaces). Both read the request
with :func:`archive.search.service.params_from`, ask
:func:`archive.search.service.search` (which applies access: the engine's
scope, then ``can_view`` on every hit it shows) and render: the page as HTML
with facets, highlights, paging, sorting and suggestions; the API as JSON,
described by the OpenAPI document at ``/api/openapi.json``
(docs/search-api.md).

The page converts titles and snippets for the reader's 繁/简 choice in its
template (display only); the API returns text as stored.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from django.http import HttpResponse, JsonResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.html import escape, format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_safe

from archive.http import PRIVATE_CACHE
from archive.models import AccessLevel, PageImage
from archive.scripts import convert_for_display
from archive.search.engine import DOC_TYPES, FACET_FIELDS, SORTS
from archive.search.highlight import Piece, spans
from archive.search.openapi import openapi_document
from archive.search.service import (
    ITEM_PARAM,
    MAX_PAGE,
    MAX_PER_PAGE,
    Hit,
    SearchPage,
    facet_labels,
    params_from,
    scope_for,
    search,
)

try:  # Where highlighted text lies on a page image (from its ALTO layout).
    from archive.search.layout import boxes_for_spans
except ImportError:  # pragma: no cover - written apart; links keep #page=N without it
    boxes_for_spans = None

logger = logging.getLogger(__name__)

#: Cache-Control of API answers anyone may share (scope: public records only).
API_PUBLIC_CACHE = "public, max-age=60"
#: Cache-Control of the OpenAPI document.
OPENAPI_CACHE = "public, max-age=3600"
#: Seconds a client should wait before asking again when the engine is down.
RETRY_AFTER = "30"

#: The facet groups of the page, in the order shown.
FACET_ORDER = ("type", "theme", "kind", "decade", "place", "dialect", "collection")

#: Facet groups whose labels are record data (converted by the 繁/简 switch).
DATA_FACETS = frozenset({"theme", "place", "dialect", "collection"})

FACET_TITLES = {
    # Translators: search facet heading: search results by kind of document.
    "type": _("Type"),
    # Translators: search facet heading: the four theme libraries (嶺南文化 ...).
    "theme": _("Theme library"),
    # Translators: search facet heading: oral history, book volume, film ...
    "kind": _("Kind"),
    # Translators: search facet heading: 1930s, 1880s ...
    "decade": _("Decade"),
    # Translators: search facet heading: places the records are about.
    "place": _("Place"),
    # Translators: search facet heading: the dialect spoken in a recording.
    "dialect": _("Dialect"),
    # Translators: search facet heading: the archive's collections.
    "collection": _("Collection"),
}

SORT_LABELS = {
    # Translators: search result order: best matches first.
    "relevance": pgettext_lazy("search sort", "Relevance"),
    # Translators: search result order by date.
    "date": pgettext_lazy("search sort", "Date, oldest first"),
    # Translators: search result order by date.
    "-date": pgettext_lazy("search sort", "Date, newest first"),
}

#: What each query warning (archive.search.query.WARNING_CODES) means to a reader.
WARNING_MESSAGES = {
    "truncated": _(
        "Your search is very long: only its first 500 characters were searched."
    ),
    "unclosed_quote": _(
        "A quotation mark was not closed: everything after it was searched as "
        "one phrase."
    ),
    "empty_phrase": _("A phrase in quotation marks had nothing to search for."),
    "lone_minus": _(
        "A minus sign had nothing after it. Write -word to leave out results "
        "with that word."
    ),
    "empty_filter": _(
        "A filter such as kind: or place: had no value and was left out."
    ),
    "invalid_decade": _(
        "A decade: filter was not a decade or a year (try decade:1930s or "
        "decade:1938) and was left out."
    ),
    "ignored": _(
        "Some of what you typed (punctuation or symbols) cannot be searched and "
        "was left out."
    ),
    "too_many_terms": _("Your search has too many words: some were left out."),
    "internal_error": _(
        "Your search could not be read. Try fewer words or simpler punctuation."
    ),
}

#: Pages linked on each side of the current one in the page navigation.
PAGE_WINDOW = 2

_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_JYUTPING = re.compile(r"^[a-z]+[1-6]?( [a-z]+[1-6]?)*$")


# ---------------------------------------------------------------------------
# What the page shows


@dataclass(frozen=True)
class HitView:
    """A hit as the page shows it: the hit and what its template needs besides."""

    hit: Hit
    number: int
    url: str
    kind_label: str
    theme_labels: tuple[str, ...]
    snippet_text: str


@dataclass(frozen=True)
class FacetLink:
    """One value of a facet on the page; ``url`` adds or removes it ("" if fixed)."""

    value: str
    label: str
    count: int
    selected: bool
    url: str


@dataclass(frozen=True)
class FacetGroup:
    """One facet of the page, with its heading."""

    name: str
    title: str
    values: tuple[FacetLink, ...]
    is_data: bool


@dataclass(frozen=True)
class Link:
    """A labelled link of the page (sorting, paging, chosen filters, suggestions)."""

    label: str
    url: str
    current: bool = False
    lang: str = ""


@dataclass(frozen=True)
class ChosenFilter:
    """A filter chosen by link: its facet's heading, its label and the URL removing it."""

    group: str
    label: str
    url: str
    is_data: bool


def text_lang(text: str) -> str:
    """The BCP 47 tag of a query-like text, as written: Chinese script or Jyutping."""
    if _HAN.search(text):
        return "zh-Hans" if convert_for_display(text, "hans") == text else "zh-Hant"
    if _JYUTPING.match(text.strip()) and any(c.isdigit() for c in text):
        return "yue-Latn"
    return ""


def _url(data: QueryDict) -> str:
    query = data.urlencode()
    return reverse("search") + (f"?{query}" if query else "")


def _changed(data: QueryDict, **values) -> QueryDict:
    """A copy of ``data`` with some parameters set (``None`` removes) and page 1."""
    copy = data.copy()
    copy.pop("page", None)
    for name, value in values.items():
        copy.pop(name, None)
        if value is not None:
            copy.setlist(name, value if isinstance(value, list) else [value])
    return copy


def _toggled(data: QueryDict, name: str, value: str) -> str:
    """The search URL with one facet value added, or removed if it was chosen."""
    values = data.getlist(name)
    values = [v for v in values if v != value] if value in values else [*values, value]
    return _url(_changed(data, **{name: values or None}))


def facet_groups(page: SearchPage, data: QueryDict) -> list[FacetGroup]:
    """The facets of a result, each value linking to the search with it toggled."""
    groups = []
    for name in FACET_ORDER:
        values = page.facets.get(name) or []
        chosen = set(data.getlist(name))
        links = []
        for value in values:
            # A value chosen in the query itself (kind:...) is not a link's to remove.
            fixed = value.selected and value.value not in chosen
            links.append(
                FacetLink(
                    value.value,
                    value.label,
                    value.count,
                    value.selected,
                    "" if fixed else _toggled(data, name, value.value),
                )
            )
        if links:
            groups.append(
                FacetGroup(
                    name, str(FACET_TITLES[name]), tuple(links), name in DATA_FACETS
                )
            )
    return groups


def chosen_filters(page: SearchPage, data: QueryDict) -> list[ChosenFilter]:
    """The filters chosen by link, each with the URL that removes it."""
    chosen = []
    for name in FACET_ORDER:
        values = page.params.filters.get(name, ())
        if not values:
            continue
        known = {v.value: v.label for v in page.facets.get(name, [])}
        labels = facet_labels(name, [v for v in values if v not in known])
        for value in values:
            label = known.get(value) or labels.get(value, value)
            chosen.append(
                ChosenFilter(
                    str(FACET_TITLES[name]),
                    label,
                    _toggled(data, name, value),
                    name in DATA_FACETS,
                )
            )
    return chosen


def sort_links(page: SearchPage, data: QueryDict) -> list[Link]:
    """The orders a result can be shown in, the current one marked."""
    return [
        Link(
            str(SORT_LABELS[sort]),
            _url(_changed(data, sort=None if sort == "relevance" else sort)),
            current=page.params.sort == sort,
        )
        for sort in SORTS
    ]


def page_links(page: SearchPage, data: QueryDict) -> list[Link | None]:
    """Numbered links to the pages of a result around the current one (None: a gap)."""
    last = page.pages
    current = page.params.page
    if last <= 1:
        return []
    wanted = {1, last, *range(current - PAGE_WINDOW, current + PAGE_WINDOW + 1)}
    links: list[Link | None] = []
    previous = 0
    for number in sorted(n for n in wanted if 1 <= n <= last):
        if number > previous + 1:
            links.append(None)
        links.append(
            Link(str(number), _page_url(data, number), current=number == current)
        )
        previous = number
    return links


def _page_url(data: QueryDict, number: int) -> str:
    """The search URL of one page of the result (page 1 without ``page=``)."""
    copy = _changed(data)
    if number > 1:
        copy["page"] = str(number)
    return _url(copy)


def suggestion_links(page: SearchPage, data: QueryDict) -> list[Link]:
    """Links to the search with each suggested form of the query (other script, Jyutping)."""
    return [
        Link(text, _url(_changed(data, q=text)), lang=text_lang(text))
        for text in page.suggestions
    ]


def viewer_urls(page: SearchPage) -> dict[str, str]:
    """Links of page hits that also zoom the viewer to the first hit (``&xywh=``).

    Only where :mod:`archive.search.layout` can place the highlighted text on
    the page image (the box of its first line); every other hit keeps its own
    URL (``#page=N``).
    """
    if boxes_for_spans is None:
        return {}
    hits = [hit for hit in page.hits if hit.type == "page" and hit.page_id]
    if not hits:
        return {}
    images = {
        image.public_id: image
        for image in PageImage.objects.filter(public_id__in=[h.page_id for h in hits])
    }
    urls = {}
    for hit in hits:
        image = images.get(hit.page_id)
        found = spans(image.text, page.query) if image is not None else []
        boxes = boxes_for_spans(image, found) if found else None
        if boxes:
            urls[hit.key] = f"{hit.url}&xywh={','.join(map(str, boxes[0]))}"
    return urls


def hit_views(page: SearchPage) -> list[HitView]:
    """The hits of a result with their labels, numbers and viewer links."""
    kinds = facet_labels("kind", sorted({hit.kind for hit in page.hits if hit.kind}))
    themes = facet_labels(
        "theme", sorted({code for hit in page.hits for code in hit.themes})
    )
    urls = viewer_urls(page)
    first = (page.params.page - 1) * page.params.per_page + 1
    return [
        HitView(
            hit=hit,
            number=first + index,
            url=urls.get(hit.key, hit.url),
            kind_label=kinds.get(hit.kind, "") if hit.kind else "",
            theme_labels=tuple(themes.get(code, code) for code in hit.themes),
            snippet_text="".join(piece.text for piece in hit.snippet),
        )
        for index, hit in enumerate(page.hits)
    ]


def _without_nul(data: QueryDict) -> QueryDict:
    """The request's parameters with NUL characters taken out of their values.

    No record holds a NUL, and PostgreSQL refuses one in any text it is asked
    to compare (a ``DataError``): filter values reach it (the labels of the
    chosen collections).
    """
    if not any("\x00" in value for _name, values in data.lists() for value in values):
        return data
    clean = QueryDict(mutable=True)
    for name, values in data.lists():
        clean.setlist(name, [value.replace("\x00", "") for value in values])
    clean._mutable = False
    return clean


def _wide_scope(request) -> bool:
    """Whether the reader may see more than public records (their answer is theirs)."""
    if request.user.is_authenticated:
        return True
    return scope_for(request.user, request).levels != {AccessLevel.PUBLIC}


# ---------------------------------------------------------------------------
# The page


def _scope(params, data, request) -> dict | None:
    """The item a search is inside, if the reader may see it, and how to leave it."""
    if not params.item:
        return None
    from archive.access import can_view
    from archive.models import Item

    item = Item.objects.filter(public_id=params.item).first()
    if item is None or not can_view(request.user, item, request):
        return None
    return {
        "item": item,
        "url": f"/items/{item.public_id}/",
        "everywhere_url": _url(_changed(data, item=None)),
    }


@require_safe
def search_page(request):
    """The search page: one box, facets, highlighted hits, paging and sorting.

    Answers 503 (with a message) when the engine is down; results of readers
    who may see more than public records are ``private, no-store``.
    """
    data = _without_nul(request.GET)
    params = params_from(data)
    page = search(params, user=request.user, request=request)
    hits = hit_views(page)
    context = {
        "scope": _scope(params, data, request),
        "q": params.q,
        "query_html": format_html(
            "<span{}>{}</span>",
            format_html(' lang="{}"', lang) if (lang := text_lang(params.q)) else "",
            params.q,
        ),
        "result": page,
        "hits": hits,
        "first_shown": hits[0].number if hits else 0,
        "last_shown": hits[-1].number if hits else 0,
        "facet_groups": facet_groups(page, data),
        "chosen_filters": chosen_filters(page, data),
        "clear_filters_url": _url(
            _changed(data, **{name: None for name in FACET_FIELDS})
        ),
        "sort_links": sort_links(page, data),
        "page_links": page_links(page, data),
        "previous_url": (
            _page_url(data, params.page - 1) if 1 < params.page <= page.pages else ""
        ),
        "next_url": (
            _page_url(data, params.page + 1) if params.page < page.pages else ""
        ),
        "last_page_url": _page_url(data, page.pages) if page.pages else "",
        "suggestion_links": suggestion_links(page, data),
        "warning_messages": [
            str(WARNING_MESSAGES[code])
            for code in dict.fromkeys(page.warnings)
            if code in WARNING_MESSAGES
        ],
    }
    response = render(
        request,
        "archive/search.html",
        context,
        status=503 if page.error else 200,
    )
    response["Cache-Control"] = PRIVATE_CACHE if _wide_scope(request) else "no-cache"
    if page.error:
        response["Retry-After"] = RETRY_AFTER
    return response


# ---------------------------------------------------------------------------
# The API


def _api_problems(data: QueryDict) -> list[dict]:
    """What is wrong with an API request's parameters (empty: nothing)."""
    problems = []

    def problem(name: str, message: str) -> None:
        problems.append({"parameter": name, "message": message})

    for name, high in (("page", MAX_PAGE), ("per_page", MAX_PER_PAGE)):
        if name not in data:
            continue
        raw = data.get(name, "")
        # The length first: int() refuses more than 4,300 digits (a ValueError).
        if (
            not raw.isascii()
            or not raw.isdigit()
            or len(raw.lstrip("0")) > len(str(high))
            or not 1 <= int(raw) <= high
        ):
            problem(name, f"must be a whole number from 1 to {high}")
    if "sort" in data and data.get("sort") not in SORTS:
        problem("sort", f"must be one of {', '.join(SORTS)}")
    for value in data.getlist("type"):
        if value not in DOC_TYPES:
            problem("type", f"must be one of {', '.join(DOC_TYPES)}")
    for value in data.getlist("decade"):
        # ASCII digits: "\d" would take ١٩٣0, which no record's decade is.
        if not re.fullmatch(r"-?[0-9]*0", value):
            problem("decade", "must be a decade's first year, such as 1930")
    for name in FACET_FIELDS:
        values = data.getlist(name)
        if len(values) > 10:
            problem(name, "may be given at most 10 times")
        if any(len(value) > 200 for value in values):
            problem(name, "must be at most 200 characters")
    if len(data.get("q", "")) > 1000:
        problem("q", "must be at most 1000 characters")
    if "item" in data and not ITEM_PARAM.fullmatch(data.get("item", "")):
        problem("item", "must be an item's public identifier")
    return problems


def _cors(response: HttpResponse) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Expose-Headers"] = "Link, Retry-After"
    response["Link"] = f'<{reverse("search_openapi")}>; rel="service-desc"'
    return response


def _json(body: dict, *, status: int = 200) -> JsonResponse:
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def _api_error(status: int, error: str, message: str, **extra) -> HttpResponse:
    response = _json({"error": error, "message": message, **extra}, status=status)
    response["Cache-Control"] = "no-store"
    return _cors(response)


def snippet_html(pieces: list[Piece]) -> str:
    """A snippet as HTML: hits in ``<mark>``, everything else escaped."""
    return "".join(
        f"<mark>{escape(piece.text)}</mark>" if piece.hit else escape(piece.text)
        for piece in pieces
    )


def api_hit(hit: Hit, url: str, request) -> dict:
    """One hit as the API gives it (docs/search-api.md, the Hit schema)."""
    return {
        "id": hit.key,
        "type": hit.type,
        "type_label": hit.type_label,
        "title": hit.title,
        "url": request.build_absolute_uri(url),
        "item": hit.item or None,
        "snippet": snippet_html(hit.snippet),
        "snippet_parts": [{"text": p.text, "hit": p.hit} for p in hit.snippet],
        "start": hit.start,
        "end": hit.end,
        "time_label": hit.time_label or None,
        "speaker": hit.speaker or None,
        "page": hit.page,
        "page_label": hit.page_label or None,
        "image": hit.page_id or None,
        "kind": hit.kind or None,
        "date": hit.date,
        "themes": list(hit.themes),
    }


def api_body(page: SearchPage, request) -> dict:
    """The API's answer to one search (docs/search-api.md, SearchResponse)."""
    params = page.params
    urls = viewer_urls(page)
    return {
        "query": params.q,
        "sort": params.sort,
        "filters": {name: list(values) for name, values in params.filters.items()},
        "total": page.total,
        "page": params.page,
        "per_page": params.per_page,
        "pages": page.pages,
        "hits": [api_hit(h, urls.get(h.key, h.url), request) for h in page.hits],
        "facets": {
            name: [
                {
                    "value": v.value,
                    "label": v.label,
                    "count": v.count,
                    "selected": v.selected,
                }
                for v in page.facets[name]
            ]
            for name in FACET_FIELDS
            if name in page.facets
        },
        "suggestions": list(page.suggestions),
        "warnings": [
            {"code": code, "message": str(WARNING_MESSAGES.get(code, code))}
            for code in dict.fromkeys(page.warnings)
        ],
    }


def search_api(request):
    """The JSON search API (``GET /api/search?q=``): the page's search as data.

    Strict where the page forgives: a malformed parameter answers 400 with
    what is wrong; the engine down answers 503. CORS is open (``*``);
    answers that only show public records may be cached briefly by anyone.
    """
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        response["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Accept, Accept-Language"
        response["Access-Control-Max-Age"] = "86400"
        return _cors(response)
    if request.method not in ("GET", "HEAD"):
        response = _api_error(
            405, "method_not_allowed", "Only GET, HEAD and OPTIONS are allowed."
        )
        response["Allow"] = "GET, HEAD, OPTIONS"
        return response
    problems = _api_problems(request.GET)
    if problems:
        return _api_error(
            400,
            "invalid_parameter",
            "; ".join(f"{p['parameter']} {p['message']}" for p in problems),
            parameters=problems,
        )
    try:
        page = search(
            params_from(_without_nul(request.GET)), user=request.user, request=request
        )
        body = None if page.error else api_body(page, request)
    except Exception:
        # An API answers in JSON whatever happens; the traceback is logged for us.
        logger.exception("search API failed for %r", request.GET.urlencode()[:300])
        body = None
    if body is None:
        response = _api_error(
            503, "unavailable", "Search is not available just now; try again shortly."
        )
        response["Retry-After"] = RETRY_AFTER
        return response
    response = _json(body)
    response["Cache-Control"] = (
        PRIVATE_CACHE if _wide_scope(request) else API_PUBLIC_CACHE
    )
    patch_vary_headers(response, ["Cookie", "Accept-Language"])
    return _cors(response)


@require_safe
def search_openapi(request):
    """The OpenAPI 3.1 document of the search API, as JSON."""
    document = openapi_document(server=request.build_absolute_uri("/").rstrip("/"))
    response = JsonResponse(
        document, json_dumps_params={"ensure_ascii": False, "indent": 2}
    )
    response["Cache-Control"] = OPENAPI_CACHE
    response["Access-Control-Allow-Origin"] = "*"
    return response
