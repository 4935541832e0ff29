"""What the archive indexes: search documents built from records, by source.

``archive`` indexes its own records (items, page text, Dadian works); apps
that own other searchable things register a :class:`Source` for them
(``transcription`` its segments, ``themes`` its exhibitions) in their
``ready()``, so ``archive`` imports nothing of theirs (DESIGN.md, Apps).

Each source can list every document (``manage.py reindex``), the documents
of one item (indexing after a change) and, for the hits on a results page,
say which the reader may see now (the final ``can_view`` check: the engine
has already filtered by the access gates stored at indexing time).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from django.db.models import Prefetch

from archive.access import can_view
from archive.models import AccessLevel, Item, PageImage, Work
from archive.search.analysis import fold
from archive.search.engine import Gate, SearchDocument

#: Documents read from the database per query when listing a whole source.
BATCH = 500


@dataclass(frozen=True)
class Source:
    """A kind of search document and how to build and check it.

    Attributes:
        type: the document type it makes (:data:`archive.search.engine.DOC_TYPES`).
        every: yields every document (reindex).
        count: how many :attr:`every` will yield, for progress.
        of_items: yields the documents of the given item pks.
        visible: given hits' documents, the reader and the request, returns
            the keys the reader may see now.
    """

    type: str
    every: Callable[[], Iterable[SearchDocument]]
    count: Callable[[], int]
    of_items: Callable[[list[int]], Iterable[SearchDocument]] | None
    visible: Callable[[list[SearchDocument], object, object], set[str]]


_sources: dict[str, Source] = {}


def source_register(source: Source) -> None:
    """Register (or replace) the source of one document type."""
    _sources[source.type] = source


def sources() -> list[Source]:
    """Every registered source, in registration order."""
    return list(_sources.values())


def source_get(type_: str) -> Source | None:
    """The source of one document type."""
    return _sources.get(type_)


# ---------------------------------------------------------------------------
# Shared pieces


def item_gate(item: Item) -> Gate:
    """The access gate an item puts on everything of it."""
    return Gate(item.access_level, item.embargo_until)


def item_facets(item: Item) -> dict:
    """The facet values (and sort date) of an item, shared by its pages and segments."""
    year = item.year_from
    return {
        "item": item.public_id,
        "institution": item.institution_id or 0,
        "kind": item.kind,
        "themes": tuple(sorted(t.code for t in item.themes.all())),
        "places": tuple(sorted({fold(p.name) for p in item.places.all()})),
        "dialect": fold(item.dialect) if item.dialect else "",
        "collection": item.collection.code if item.collection_id else "",
        "decade": str(year // 10 * 10) if year is not None else "",
        "date": year,
    }


def lines(*parts: str, besides: str = "") -> str:
    """Non-empty, distinct parts joined by line breaks (a line break splits no word).

    ``besides``: a text shown anyway (the title), left out of the parts.
    """
    seen: dict[str, None] = {(besides or "").strip(): None}
    for part in parts:
        part = (part or "").strip()
        if part:
            seen.setdefault(part, None)
    return "\n".join(part for part in seen if part)


def items_query():
    """Items with everything their documents read, withdrawn ones left out."""
    return (
        Item.objects.exclude(access_level=AccessLevel.WITHDRAWN)
        .select_related("collection", "work")
        .prefetch_related(
            "themes",
            "places",
            "agents",
            Prefetch(
                "pages",
                queryset=PageImage.objects.order_by("sequence").only(
                    "id", "item_id", "sequence", "label", "public_id", "text", "blank"
                ),
            ),
        )
        .order_by("pk")
    )


def _batched(queryset) -> Iterator:
    last = 0
    while True:
        batch = list(queryset.filter(pk__gt=last)[:BATCH])
        if not batch:
            return
        yield from batch
        last = batch[-1].pk


# ---------------------------------------------------------------------------
# Items and their pages


def item_document(item: Item) -> SearchDocument:
    """The record of an item: its titles and descriptions in every script."""
    work = item.work
    agents = [agent.name for agent in item.agents.all()]
    places = [place.name for place in item.places.all()]
    body = lines(
        item.title_hant,
        item.title_hans,
        item.title_en,
        work.title if work else "",
        work.title_hant if work else "",
        work.title_en if work else "",
        item.description,
        item.description_hant,
        item.description_hans,
        item.description_en,
        item.dadian_ref,
        item.date_text,
        item.dialect,
        *agents,
        *places,
        besides=item.title,
    )
    return SearchDocument(
        key=f"item:{item.public_id}",
        type="item",
        title=item.title,
        body=body,
        gates=(item_gate(item),),
        url=f"/items/{item.public_id}/",
        extra={"title_en": item.title_en},
        **item_facets(item),
    )


def page_documents(item: Item) -> Iterator[SearchDocument]:
    """The text of each transcribed page of an item."""
    facets = item_facets(item)
    gate = item_gate(item)
    for page in item.pages.all():
        if not page.text.strip():
            continue
        yield SearchDocument(
            key=f"page:{page.public_id}",
            type="page",
            title=item.title,
            body=page.text,
            gates=(gate,),
            page=page.sequence,
            page_id=page.public_id,
            url=f"/items/{item.public_id}/#page={page.sequence}",
            extra={"label": page.label, "title_en": item.title_en},
            **facets,
        )


def item_documents(item: Item) -> Iterator[SearchDocument]:
    """An item's record and its pages."""
    yield item_document(item)
    yield from page_documents(item)


def _items_every() -> Iterator[SearchDocument]:
    for item in _batched(items_query()):
        yield from item_documents(item)


def _items_count() -> int:
    items = Item.objects.exclude(access_level=AccessLevel.WITHDRAWN)
    pages = PageImage.objects.exclude(item__access_level=AccessLevel.WITHDRAWN).exclude(
        text=""
    )
    return items.count() + pages.count()


def _items_of(pks: list[int]) -> Iterator[SearchDocument]:
    for item in items_query().filter(pk__in=pks):
        yield from item_documents(item)


def _items_visible(documents, user, request) -> set[str]:
    ids = {d.item for d in documents}
    items = Item.objects.filter(public_id__in=ids)
    allowed = {i.public_id for i in items if can_view(user, i, request)}
    return {d.key for d in documents if d.item in allowed}


# ---------------------------------------------------------------------------
# Works (a Dadian title and its volumes)


def _work_gate(volumes: list[Item]) -> Gate:
    """The most open of the volumes' gates: a work is found if any volume may be."""
    order = {
        AccessLevel.PUBLIC: 0,
        AccessLevel.EMBARGOED: 1,
        AccessLevel.READING_ROOM: 2,
        AccessLevel.STAFF: 3,
    }
    best = min(volumes, key=lambda v: (order.get(v.access_level, 9), v.embargo_until))
    return item_gate(best)


def work_document(work: Work, volumes: list[Item]) -> SearchDocument | None:
    """A Dadian work, found by its title, class, edition and authors."""
    if not volumes:
        return None
    first = volumes[0]
    agents = [agent.name for agent in work.agents.all()]
    year = work.year_from
    return SearchDocument(
        key=f"work:{work.public_id}",
        type="work",
        title=work.title,
        body=lines(
            work.title_hant,
            work.title_hans,
            work.title_en,
            work.get_bu_display() if work.bu else "",
            work.subclass,
            work.edition,
            work.dadian_ref,
            work.date_text,
            *agents,
            besides=work.title,
        ),
        gates=(_work_gate(volumes),),
        kind="work",
        themes=tuple(sorted({t.code for v in volumes for t in v.themes.all()})),
        collection=first.collection.code if first.collection_id else "",
        decade=str(year // 10 * 10) if year is not None else "",
        date=year,
        url=f"/items/{first.public_id}/",
        extra={
            "volumes": [v.public_id for v in volumes],
            "title_en": work.title_en,
        },
    )


def _works_query():
    return Work.objects.prefetch_related(
        "agents",
        Prefetch(
            "volumes",
            queryset=Item.objects.exclude(access_level=AccessLevel.WITHDRAWN)
            .select_related("collection")
            .prefetch_related("themes")
            .order_by("volume_number", "pk"),
        ),
    ).order_by("pk")


def _works_every() -> Iterator[SearchDocument]:
    for work in _batched(_works_query()):
        document = work_document(work, list(work.volumes.all()))
        if document is not None:
            yield document


def _works_of(pks: list[int]) -> Iterator[SearchDocument]:
    works = _works_query().filter(volumes__pk__in=pks).distinct()
    for work in works:
        document = work_document(work, list(work.volumes.all()))
        if document is not None:
            yield document


def _works_visible(documents, user, request) -> set[str]:
    wanted = {v for d in documents for v in d.extra.get("volumes", [])}
    items = Item.objects.filter(public_id__in=wanted)
    allowed = {i.public_id for i in items if can_view(user, i, request)}
    return {
        d.key
        for d in documents
        if any(v in allowed for v in d.extra.get("volumes", []))
    }


def register_archive_sources() -> None:
    """Register the archive's own sources (``ArchiveConfig.ready()``)."""
    source_register(
        Source(
            type="item",
            every=_items_every,
            count=_items_count,
            of_items=_items_of,
            visible=_items_visible,
        )
    )
    # Pages come with their item (same builder); they only need a check.
    source_register(
        Source(
            type="page",
            every=lambda: (),
            count=lambda: 0,
            of_items=None,
            visible=_items_visible,
        )
    )
    source_register(
        Source(
            type="work",
            every=_works_every,
            count=lambda: Work.objects.filter(volumes__isnull=False).distinct().count(),
            of_items=_works_of,
            visible=_works_visible,
        )
    )
