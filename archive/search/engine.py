"""The interface every search engine implements, and the choice of engine.

Engines store :class:`SearchDocument` objects whose text the one analyzer
(:mod:`archive.search.analysis`) has turned into terms, and answer an
:class:`EngineRequest` (a parsed :class:`~archive.search.query.Query` plus
filters, the reader's :class:`AccessScope`, sorting and paging) with an
:class:`EngineResult`. Everything above the engine (records, snippets,
highlights, the final ``can_view`` check) is engine-independent and lives in
:mod:`archive.search.service`, so the embedded engine and OpenSearch give the
same answers (the contract tests in ``tests/archive/search/test_contract.py``).

Matching, the same in every engine:

- a document is the analysed text of its :attr:`SearchDocument.title` and
  :attr:`SearchDocument.body` (each its own field; a hit in the title weighs
  more, except for :data:`CONTEXT_TYPES`, whose title is their item's and
  weighs :data:`CONTEXT_BOOST`);
- each required clause (``Query.must``) matches if any of its alternatives
  matches; an alternative matches if all its terms occur in one field of the
  document, and, when ``phrase`` is set, at their relative offsets; quoted
  phrases (``Query.phrases``) likewise; an alternative that is a run of
  several terms also ranks higher when it occurs as that exact run;
- an excluded clause (``Query.excluded``) removes every document any of its
  alternatives matches;
- filters (``kind`` ...) keep documents holding any of the values of each
  field; negated filters remove documents holding any;
- :class:`AccessScope` keeps only documents whose every gate is open.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from archive.search.query import Query

#: The kinds of document the archive indexes.
DOC_TYPES = ("item", "segment", "page", "work", "exhibition")

#: The facet fields (and filter fields) every engine counts.
FACET_FIELDS = ("type", "kind", "theme", "decade", "place", "dialect", "collection")

#: Types whose title is their item's, shown for context: it matches, but
#: weighs little (an interview's record ranks above its many segments).
CONTEXT_TYPES = ("segment", "page")

#: How much a title of a :data:`CONTEXT_TYPES` document weighs.
CONTEXT_BOOST = 0.1

#: A hit in the title weighs this much more than one in the body.
TITLE_BOOST = 2.0

#: An alternative found as its exact run weighs this much more.
RUN_BOOST = 1.5

#: The form as typed weighs this much more than its aliases and readings.
LITERAL_BOOST = 2.0

#: How many access gates a document may carry (item, recording, segment, spare).
MAX_GATES = 4

#: How results may be ordered.
SORTS = ("relevance", "date", "-date")


@dataclass(frozen=True, slots=True)
class Gate:
    """One access restriction a document inherits (its item's, its recording's, its own).

    Attributes:
        level: an :class:`archive.models.AccessLevel` value.
        embargo_until: for ``embargoed``, the date it opens.
    """

    level: str
    embargo_until: datetime.date | None = None


@dataclass(frozen=True, slots=True)
class SearchDocument:
    """One searchable thing, as an engine stores it.

    Attributes:
        key: unique across the index: ``"item:{public_id}"``,
            ``"segment:{pk}"``, ``"page:{public_id}"``, ``"work:{pk}"``,
            ``"exhibition:{page pk}"``.
        type: one of :data:`DOC_TYPES`.
        title: the display title (as stored; analysed and weighted higher).
        body: the searchable text (as stored; analysed).
        item: the item's public id (``""`` for works and exhibitions); a
            search inside one item filters on it, deleting an item deletes by it.
        gates: every restriction that must be open for a reader to see it.
        institution: the contributing institution's pk (0 if none).
        kind, themes, places, dialect, collection, decade: facet values,
            canonical (kind code, theme code, folded place name, folded
            dialect, collection public id, decade's first year as text).
        date: the year to sort by (``None`` sorts last).
        start, end: a segment's time in seconds.
        speaker: a segment's speaker.
        page: a page's 1-based sequence; ``page_id`` its image's public id.
        url: where a hit opens (``/items/x/?t=12``, ``/items/x/#page=3``).
        extra: anything else the service wants back with the hit (JSON-able).
    """

    key: str
    type: str
    title: str
    body: str = ""
    item: str = ""
    gates: tuple[Gate, ...] = ()
    institution: int = 0
    kind: str = ""
    themes: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    dialect: str = ""
    collection: str = ""
    decade: str = ""
    date: int | None = None
    start: float | None = None
    end: float | None = None
    speaker: str = ""
    page: int | None = None
    page_id: str = ""
    url: str = ""
    extra: dict = field(default_factory=dict)

    def facet_values(self, name: str) -> tuple[str, ...]:
        """The document's values of one facet field of :data:`FACET_FIELDS`."""
        value = {
            "type": self.type,
            "kind": self.kind,
            "theme": self.themes,
            "place": self.places,
            "dialect": self.dialect,
            "collection": self.collection,
            "decade": self.decade,
        }[name]
        if isinstance(value, tuple):
            return value
        return (value,) if value else ()


@dataclass(frozen=True, slots=True)
class AccessScope:
    """What a reader may see, as a filter every engine applies at query time.

    A gate is open when its level is in :attr:`levels`, or it is an embargo
    whose date is on or before :attr:`today`. Built by
    :func:`archive.search.service.scope_for` from the same rules as
    ``can_view``; the service checks ``can_view`` again on every hit it shows.
    """

    levels: frozenset[str]
    today: datetime.date
    #: Public ids of the items the reader holds an active grant to: a grant
    #: opens the first gate (the item's own) of their documents, never the
    #: others (a recording's, a closed passage's).
    items: frozenset[str] = frozenset()

    def opens(self, gate: Gate) -> bool:
        """Whether one gate is open to this reader."""
        if gate.level in self.levels:
            return True
        return (
            gate.level == "embargoed"
            and gate.embargo_until is not None
            and gate.embargo_until <= self.today
        )

    def admits(self, document: SearchDocument) -> bool:
        """Whether every gate of a document is open."""
        return all(
            self.opens(gate) or (i == 0 and document.item in self.items)
            for i, gate in enumerate(document.gates)
        )


@dataclass(frozen=True)
class EngineRequest:
    """One search, as the service hands it to an engine.

    Attributes:
        query: the parsed query (its ``filters`` are already canonical in
            :attr:`filters` and :attr:`excluded_filters`; engines read only
            its clauses).
        scope: the reader's :class:`AccessScope`.
        filters: facet field -> values; a document must hold one of each.
        excluded_filters: facet field -> values; a document holding any is out.
        types: only these document types (empty: all).
        item: only documents of this item (search inside one item).
        sort: one of :data:`SORTS`.
        offset, limit: the page of hits.
        facets: which of :data:`FACET_FIELDS` to count (over every match,
            before paging), at most :attr:`facet_size` values each.
    """

    query: Query
    scope: AccessScope
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    excluded_filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    types: tuple[str, ...] = ()
    item: str = ""
    sort: str = "relevance"
    offset: int = 0
    limit: int = 20
    facets: tuple[str, ...] = ()
    facet_size: int = 20


@dataclass(frozen=True, slots=True)
class EngineHit:
    """One hit: the stored document and its score (0.0 when sorted by date)."""

    document: SearchDocument
    score: float


@dataclass(frozen=True)
class EngineResult:
    """What an engine answers.

    Attributes:
        total: how many documents match (before paging).
        hits: the requested page of hits, best first (or in date order).
        facets: facet field -> ``[(value, count), ...]``, most frequent first
            (ties by value).
    """

    total: int
    hits: list[EngineHit]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


class EngineUnavailable(RuntimeError):
    """The engine cannot answer (OpenSearch down, the index locked or missing)."""


class Engine(Protocol):
    """What every engine does. Writes may be slow; searches must be fast."""

    name: str

    def index(self, documents: Iterable[SearchDocument]) -> int:
        """Add or replace documents (by key); return how many were written."""

    def delete(self, keys: Iterable[str]) -> int:
        """Remove documents by key; return how many keys were asked."""

    def delete_item(self, item: str) -> None:
        """Remove every document of one item (its record, pages, segments)."""

    def replace_all(self, documents: Iterable[SearchDocument], progress=None) -> int:
        """Rebuild the whole index from ``documents`` and swap it in at once.

        Searches go on against the old index until the new one is complete
        (OpenSearch: a new index behind the alias; embedded: a new directory).
        ``progress(done)`` is called every few hundred documents.
        """

    def search(self, request: EngineRequest) -> EngineResult:
        """Answer one request."""

    def count(self) -> int:
        """How many documents the index holds."""

    def clear(self) -> None:
        """Remove every document (tests; a reindex uses :meth:`replace_all`)."""

    def health(self) -> dict:
        """``{"ok": bool, "detail": str, "documents": int}`` for ``/healthz``."""


_engines: dict[tuple, Engine] = {}
_lock = threading.Lock()


def engine_get() -> Engine:
    """The configured engine (``SEARCH_BACKEND``), one per process and settings.

    ``embedded`` (the default) opens the on-disk index under
    ``SEARCH_INDEX_DIR``; ``opensearch`` connects to ``OPENSEARCH_URL``. A
    different index folder (each test has its own) gives a different engine.
    """
    from django.conf import settings

    backend = settings.SEARCH_BACKEND
    if backend == "opensearch":
        key: tuple = (backend, settings.OPENSEARCH_URL, settings.OPENSEARCH_INDEX)
    else:
        key = (backend, str(settings.SEARCH_INDEX_DIR))
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engine_make(backend, settings)
            _engines[key] = engine
        return engine


def _engine_make(backend: str, settings) -> Engine:
    if backend == "opensearch":
        from archive.search.opensearch import OpenSearchEngine

        return OpenSearchEngine(
            settings.OPENSEARCH_URL, index=settings.OPENSEARCH_INDEX
        )
    if backend == "embedded":
        from archive.search.embedded import EmbeddedEngine

        return EmbeddedEngine(settings.SEARCH_INDEX_DIR)
    raise ValueError(
        f"SEARCH_BACKEND={backend!r} is not an engine (use 'embedded' or 'opensearch')"
    )


def engines_forget() -> None:
    """Drop the cached engines (tests, after changing settings)."""
    with _lock:
        _engines.clear()
