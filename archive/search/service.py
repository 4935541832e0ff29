"""Search as the page, the JSON API and Content Search use it.

:func:`search` parses what was typed, turns filters into the engine's
canonical values, asks the engine with the reader's :class:`AccessScope`
(so the engine never returns what the reader may not see), checks every hit
it shows with ``can_view`` again against the live records (an embargo lifted
today, a grant that expired an hour ago), and builds snippets with the hits
highlighted in the stored text.
"""

from __future__ import annotations

import datetime
import logging
import math
import re
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import get_language, override
from django.utils.translation import gettext as _

from archive.access import in_reading_room, is_archive_staff
from archive.models import (
    AccessGrant,
    AccessLevel,
    Collection,
    Item,
    Place,
    ThemeLibrary,
)
from archive.search.analysis import fold
from archive.search.documents import source_get
from archive.search.engine import (
    DOC_TYPES,
    FACET_FIELDS,
    SORTS,
    AccessScope,
    EngineRequest,
    EngineUnavailable,
    engine_get,
)
from archive.search.highlight import Piece, snippet
from archive.search.query import FILTER_FIELDS, Query, parse

logger = logging.getLogger(__name__)

#: At most this many hits per page.
MAX_PER_PAGE = 100

#: No page beyond this (deep paging is for the API's consumers to avoid).
MAX_PAGE = 500

#: An ``item`` parameter (search inside one item): a public identifier.
ITEM_PARAM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

#: What each document type is called, for facets and hit labels.
TYPE_LABELS = {
    "item": lambda: _("Records"),
    "segment": lambda: _("Recording transcripts"),
    "page": lambda: _("Book pages"),
    "work": lambda: _("Works"),
    "exhibition": lambda: _("Exhibitions"),
}


@dataclass(frozen=True)
class SearchParams:
    """A search request, as the page and the API receive it.

    Attributes:
        q: the query as typed (it may hold ``kind:`` and other filters).
        filters: facet field -> values chosen outside the query (facet links).
        types: only these document types.
        item: only inside this item (public id).
        sort: one of :data:`archive.search.engine.SORTS`.
        page: 1-based page number.
        per_page: hits per page.
    """

    q: str = ""
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    types: tuple[str, ...] = ()
    item: str = ""
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20


@dataclass(frozen=True)
class Hit:
    """One result as the page and the API show it."""

    key: str
    type: str
    title: str
    url: str
    item: str
    snippet: list[Piece]
    score: float
    kind: str = ""
    date: int | None = None
    start: float | None = None
    end: float | None = None
    speaker: str = ""
    page: int | None = None
    page_id: str = ""
    page_label: str = ""
    themes: tuple[str, ...] = ()

    @property
    def time_label(self) -> str:
        """A segment's start as ``M:SS`` or ``H:MM:SS``."""
        if self.start is None:
            return ""
        whole = int(self.start)
        hours, rest = divmod(whole, 3600)
        minutes, seconds = divmod(rest, 60)
        if hours:
            return f"{hours}:{minutes:02d}:{seconds:02d}"
        return f"{minutes}:{seconds:02d}"

    @property
    def type_label(self) -> str:
        """What kind of hit this is, in the UI language."""
        return str(TYPE_LABELS[self.type]())


@dataclass(frozen=True)
class FacetValue:
    """One value of a facet with its count."""

    value: str
    label: str
    count: int
    selected: bool


@dataclass
class SearchPage:
    """The answer to one search."""

    params: SearchParams
    query: Query
    total: int = 0
    hits: list[Hit] = field(default_factory=list)
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    suggestions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def pages(self) -> int:
        """How many pages of hits there are."""
        return (
            min(MAX_PAGE, math.ceil(self.total / self.params.per_page))
            if self.total
            else 0
        )

    @property
    def searched(self) -> bool:
        """Whether anything was asked at all."""
        return (
            not self.query.is_empty
            or bool(self.params.filters)
            or bool(self.params.item)
        )


# ---------------------------------------------------------------------------
# Who sees what


def scope_for(user, request, today: datetime.date | None = None) -> AccessScope:
    """The engine-side access filter for a reader: the levels and grants ``can_view`` opens."""
    levels = {AccessLevel.PUBLIC}
    items: frozenset[str] = frozenset()
    if is_archive_staff(user):
        levels |= {AccessLevel.READING_ROOM, AccessLevel.STAFF, AccessLevel.EMBARGOED}
    else:
        if in_reading_room(request):
            levels.add(AccessLevel.READING_ROOM)
        if user is not None and user.is_authenticated:
            items = frozenset(
                AccessGrant.objects.filter(
                    user=user, revoked_at__isnull=True, expires_at__gt=timezone.now()
                )
                .exclude(item__access_level=AccessLevel.WITHDRAWN)
                .values_list("item__public_id", flat=True)
            )
    return AccessScope(frozenset(levels), today or timezone.localdate(), items)


# ---------------------------------------------------------------------------
# Filters: what people type to the engine's canonical values


def _labels_in_every_language(choices) -> dict[str, str]:
    found: dict[str, str] = {}
    for language in ("en", "zh-hant", "zh-hans"):
        with override(language):
            for value, label in choices:
                found[fold(str(label))] = value
    return found


def _kind_values() -> dict[str, str]:
    values = {fold(code): code for code, _label in Item.Kind.choices}
    values.update(_labels_in_every_language(Item.Kind.choices))
    values.update({"work": "work", "exhibition": "exhibition"})
    return values


def canonical(name: str, value: str) -> str:
    """The engine's value for a filter value as typed or linked (folded)."""
    folded = fold(value.strip())
    if name == "kind":
        return _kind_values().get(folded, folded)
    if name == "theme":
        for theme in ThemeLibrary.objects.all():
            names = {theme.code, theme.name_hant, theme.name_hans, theme.name_en}
            if folded in {fold(n) for n in names if n}:
                return theme.code
        return folded
    if name == "collection":
        for collection in Collection.objects.only(
            "code", "title", "title_hant", "title_hans", "title_en"
        ):
            names = {
                collection.code,
                collection.title,
                collection.title_hant,
                collection.title_hans,
                collection.title_en,
            }
            if folded in {fold(n) for n in names if n}:
                return collection.code
        return value.strip()
    if name == "place":
        for place in Place.objects.only("name", "name_hant", "name_hans", "name_en"):
            names = {place.name, place.name_hant, place.name_hans, place.name_en}
            if folded in {fold(n) for n in names if n}:
                return fold(place.name)
        return folded
    if name == "type":
        return folded
    return folded


def _filters(params: SearchParams, query: Query):
    wanted: dict[str, list[str]] = {}
    unwanted: dict[str, list[str]] = {}
    for name, values in params.filters.items():
        if name in FACET_FIELDS:
            for value in values:
                wanted.setdefault(name, []).append(
                    value if name in ("decade", "type") else canonical(name, value)
                )
    for item in query.filters:
        value = (
            item.value if item.field == "decade" else canonical(item.field, item.raw)
        )
        (unwanted if item.negated else wanted).setdefault(item.field, []).append(value)
    return (
        {k: tuple(dict.fromkeys(v)) for k, v in wanted.items()},
        {k: tuple(dict.fromkeys(v)) for k, v in unwanted.items()},
    )


# ---------------------------------------------------------------------------
# Facet labels


def _decade_label(value: str) -> str:
    return _("%(decade)ss") % {"decade": value}


def facet_labels(name: str, values: list[str]) -> dict[str, str]:
    """Display labels for facet values, in the UI language."""
    language = get_language()
    if name == "type":
        return {v: str(TYPE_LABELS[v]()) if v in TYPE_LABELS else v for v in values}
    if name == "kind":
        labels = dict(Item.Kind.choices)
        labels.update({"work": _("Work"), "exhibition": _("Exhibition")})
        return {v: str(labels.get(v, v)) for v in values}
    if name == "theme":
        themes = {t.code: t.name_for(language) for t in ThemeLibrary.objects.all()}
        return {v: themes.get(v, v) for v in values}
    if name == "collection":
        collections = {
            c.code: c.title_for(language)
            for c in Collection.objects.filter(code__in=values)
        }
        return {v: collections.get(v, v) for v in values}
    if name == "place":
        names = {}
        for place in Place.objects.all().only("name", "name_en"):
            key = fold(place.name)
            if key in values and key not in names:
                names[key] = place.name_for(language)
        return {v: names.get(v, v) for v in values}
    if name == "decade":
        return {v: _decade_label(v) for v in values}
    return {v: v for v in values}


# ---------------------------------------------------------------------------
# Suggestions for an empty result


def suggestions_for(query: Query) -> list[str]:
    """Other forms of the query to try: the other script, the Jyutping reading."""
    from archive.scripts import convert_for_display
    from archive.search.jyutping import run_words, word_syllables

    raw = query.raw.strip()
    if not raw:
        return []
    found: list[str] = []
    for script in ("hans", "hant"):
        other = convert_for_display(raw, script)
        if other != raw and other not in found:
            found.append(other)
    if any("\u3400" <= ch <= "\u9fff" for ch in raw):
        from archive.search.jyutping import to_hong_kong

        hong_kong = to_hong_kong(raw) or raw
        syllables = []
        for _start, word in run_words(
            "".join(ch for ch in hong_kong if "\u3400" <= ch <= "\u9fff")
        ):
            syllables += [s for s in word_syllables(word) if s]
        if syllables:
            found.append(" ".join(syllables))
    return found[:3]


# ---------------------------------------------------------------------------
# The search


def _visible_keys(documents, user, request) -> set[str]:
    allowed: set[str] = set()
    by_type: dict[str, list] = {}
    for document in documents:
        by_type.setdefault(document.type, []).append(document)
    for type_, group in by_type.items():
        source = source_get(type_)
        if source is None:
            continue
        allowed |= source.visible(group, user, request)
    return allowed


def _hit(document, score: float, query: Query, language: str) -> Hit:
    title = document.title
    if language.startswith("en") and document.extra.get("title_en"):
        title = document.extra["title_en"]
    text = document.body
    if document.type in ("item", "work", "exhibition"):
        text = f"{document.title}\n{document.body}"
    return Hit(
        key=document.key,
        type=document.type,
        title=title,
        url=document.url,
        item=document.item,
        snippet=snippet(text, query),
        score=score,
        kind=document.kind,
        date=document.date,
        start=document.start,
        end=document.end,
        speaker=document.speaker,
        page=document.page,
        page_id=document.page_id,
        page_label=document.extra.get("label", ""),
        themes=document.themes,
    )


def search(params: SearchParams, *, user=None, request=None) -> SearchPage:
    """Run one search for a reader (see the module docstring)."""
    query = parse(params.q)
    page = SearchPage(params=params, query=query)
    from archive.search.query import WARNING_CODES

    page.warnings = [w.code for w in query.warnings if w.code in WARNING_CODES]
    if not page.searched:
        return page
    wanted, unwanted = _filters(params, query)
    types = tuple(t for t in params.types if t in DOC_TYPES)
    if "type" in wanted:
        types = tuple(t for t in wanted.pop("type") if t in DOC_TYPES) or ("none",)
    sort = params.sort if params.sort in SORTS else "relevance"
    per_page = max(1, min(MAX_PER_PAGE, params.per_page))
    number = max(1, min(MAX_PAGE, params.page))
    request_ = EngineRequest(
        query=query,
        scope=scope_for(user, request),
        filters=wanted,
        excluded_filters=unwanted,
        types=types,
        item=params.item,
        sort=sort,
        offset=(number - 1) * per_page,
        limit=per_page,
        facets=FACET_FIELDS,
    )
    try:
        result = engine_get().search(request_)
    except EngineUnavailable as error:
        logger.error("search unavailable: %s", error)
        page.error = "unavailable"
        return page
    documents = [hit.document for hit in result.hits]
    allowed = _visible_keys(documents, user, request)
    language = get_language() or ""
    page.hits = [
        _hit(hit.document, hit.score, query, language)
        for hit in result.hits
        if hit.document.key in allowed
    ]
    page.total = max(0, result.total - (len(documents) - len(page.hits)))
    selected = {name: set(values) for name, values in wanted.items()}
    if types and "type" not in selected:
        selected["type"] = set(types)
    for name, pairs in result.facets.items():
        labels = facet_labels(name, [value for value, _count in pairs])
        page.facets[name] = [
            FacetValue(
                value, labels.get(value, value), count, value in selected.get(name, ())
            )
            for value, count in pairs
            if value
        ]
    if page.total == 0:
        page.suggestions = suggestions_for(query)
    return page


def params_from(data, *, item: str = "") -> SearchParams:
    """:class:`SearchParams` from a request's GET data (page or API), forgiving.

    Unknown parameters are ignored; numbers out of range are clamped;
    ``type``, ``kind``, ``theme``, ``place``, ``dialect``, ``collection``
    and ``decade`` may repeat; ``item`` (a public identifier) searches inside
    one item.
    """

    def number(name: str, default: int) -> int:
        try:
            return int(data.get(name, default))
        except (TypeError, ValueError):
            return default

    filters = {}
    for name in FACET_FIELDS:
        values = tuple(v for v in data.getlist(name) if v and len(v) <= 200)[:10]
        if values:
            filters[name] = values
    sort = data.get("sort", "relevance")
    if not item:
        item = data.get("item") or ""
        if not ITEM_PARAM.fullmatch(item):
            item = ""
    return SearchParams(
        q=(data.get("q") or "")[:1000],
        filters=filters,
        item=item,
        sort=sort if sort in SORTS else "relevance",
        page=max(1, min(MAX_PAGE, number("page", 1))),
        per_page=max(1, min(MAX_PER_PAGE, number("per_page", 20))),
    )


__all__ = [
    "FILTER_FIELDS",
    "FacetValue",
    "Hit",
    "SearchPage",
    "SearchParams",
    "params_from",
    "scope_for",
    "search",
]
