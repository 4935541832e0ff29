"""The OpenSearch engine: the same documents and answers as the embedded one, on a cluster.

Issue 7 part 2. Chosen with ``SEARCH_BACKEND=opensearch``; ``OPENSEARCH_URL``
names the cluster (credentials may sit in the URL) and ``OPENSEARCH_INDEX`` the
alias searches go through. See ``docs/search-opensearch.md``.

**Terms.** OpenSearch cannot take pre-tokenized tokens, and its own analyzers
would not give ours (:mod:`archive.search.analysis` decides every term for
every engine). So each of a document's texts (``title``, ``context`` for the
inherited title of a segment or page, ``body``) is indexed once per analyzer
field (``title_cjk2``, ``body_jyutping`` ...) as a
string of space-separated terms read by the ``whitespace`` tokenizer, in which
the word at index *p* is that field's token at analyzer position *p*, or the
filler :data:`FILLER` where the field has none. OpenSearch positions then are
the analyzer's positions, in every field, so a phrase whose terms lie in
different fields (``1938年``: a word, then a unigram) is a ``span_near`` of
``span_term`` queries with ``span_field_masking`` to one field, and a gap in
the phrase (punctuation, or a bigram covering two positions) is an exact
``span_gap``.

**Matching** mirrors :class:`archive.search.embedded.QueryBuilder` (the
semantics are in :mod:`archive.search.engine`): an alternative matches when
all its terms occur in the title, all in the context or all in the body
(the title weighs :data:`TITLE_BOOST`, the context ``CONTEXT_BOOST``); a
several-term alternative that is not a phrase
also ranks higher as its exact run; a clause is any of its alternatives (the
form as typed weighs :data:`LITERAL_BOOST` more); excluded clauses are
``must_not``. Filters, types, the item and the reader's access gates are
non-scoring ``filter`` clauses on keyword fields.

**Index and alias.** Searches and writes go through the alias; the concrete
index behind it is ``{alias}-{timestamp}``. :meth:`OpenSearchEngine.replace_all`
loads a new concrete index, then moves the alias in one ``_aliases`` call and
deletes the old index, so searches see the old index until the new one is
complete. The mapping is strict and carries the analyzer fingerprint in
``_meta``; the whole :class:`~archive.search.engine.SearchDocument` is kept
under ``stored`` in ``_source`` (not indexed), and the derived term strings
are left out of ``_source``.
"""

from __future__ import annotations

import datetime
import logging
import os
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, fields
from itertools import islice
from multiprocessing import get_context
from urllib.parse import unquote, urlsplit

from opensearchpy import OpenSearch, helpers
from opensearchpy import exceptions as errors

from archive.search.analysis import Field, Token, analyze, analyzer_fingerprint
from archive.search.engine import (
    CONTEXT_BOOST,
    CONTEXT_TYPES,
    FACET_FIELDS,
    LITERAL_BOOST,
    MAX_GATES,
    RUN_BOOST,
    SORTS,
    TITLE_BOOST,
    AccessScope,
    EngineHit,
    EngineRequest,
    EngineResult,
    EngineUnavailable,
    Gate,
    SearchDocument,
)
from archive.search.query import Alternative, Clause, Source, Term

logger = logging.getLogger(__name__)

#: Raised whenever the mapping or the term layout changes (reindex to apply).
SCHEMA_VERSION = 3

#: The texts of a document, each indexed once per analyzer field: the title,
#: the body, and the context (the title of a CONTEXT_TYPES document).
TEXTS = ("title", "context", "body")

#: Holds a position where a field has no token. The analyzer drops ``_``
#: (punctuation), so no real term is ever this.
FILLER = "_"

#: The longest term indexed, in UTF-16 code units (what the tokenizer counts).
#: A longer token would be split by the tokenizer and shift every position
#: after it, so it is indexed as a filler instead (only absurd "words" are).
MAX_TERM_CHARS = 1024

#: The level of an unused gate slot: open to every reader.
OPEN_GATE = "_open"

#: Keyword fields: facets and filters (``theme`` and ``place`` hold several
#: values), plus the key, the item and the institution.
KEYWORD_FIELDS = (*FACET_FIELDS, "key", "item", "institution")

#: Documents per bulk request, and the most bytes one may carry (small
#: managed clusters refuse requests over 10 MB).
BULK_CHUNK = 500
BULK_BYTES = 8 * 1024 * 1024

#: ``replace_all`` reports progress every this many documents.
PROGRESS_EVERY = 500

#: Seconds to wait for an answer: searches and small writes, bulk writes,
#: the health check.
TIMEOUT = 10.0
BULK_TIMEOUT = 120.0
HEALTH_TIMEOUT = 3.0

#: HTTP statuses that mean the cluster cannot answer now (not a bad request).
_UNAVAILABLE_STATUSES = (429, 502, 503, 504)

_INDEX_NAME_FORBIDDEN = set(' "*\\<>|,/?#:')

#: The useful end of a connection error's message ("[Errno 111] Connection refused").
_REASON = re.compile(r"\[Errno -?\d+\][^')\]]*|timed out|Name or service not known")


def text_field(text: str, field: Field | str) -> str:
    """The index field holding one analyzer field of one text (``title_cjk2``)."""
    return f"{text}_{Field(field).value}"


# ---------------------------------------------------------------------------
# Mapping and settings


def index_body(*, loading: bool = False) -> dict:
    """The settings and mappings of a concrete index.

    Args:
        loading: for a bulk load: no refreshes until :meth:`replace_all`
            turns them back on.

    Returns:
        The body of a create-index request.
    """
    index_settings: dict = {
        # One shard: the archive fits, term statistics (BM25) and facet
        # counts are exact, and no shard disagrees with another.
        "number_of_shards": 1,
        "auto_expand_replicas": "0-1",
    }
    if loading:
        index_settings["refresh_interval"] = "-1"
    text_mapping = {
        "type": "text",
        "analyzer": "yuecang_terms",
        "index_options": "positions",
        "similarity": "BM25",
    }
    properties: dict = {name: {"type": "keyword"} for name in KEYWORD_FIELDS}
    properties["date"] = {"type": "integer"}
    for i in range(MAX_GATES):
        properties[f"gate{i}_level"] = {"type": "keyword"}
        # The embargo's date as the integer yyyymmdd: exact, no time zone.
        properties[f"gate{i}_until"] = {"type": "integer"}
    for text in TEXTS:
        for field in Field:
            properties[text_field(text, field)] = dict(text_mapping)
    properties["stored"] = {"type": "object", "enabled": False}
    return {
        "settings": {
            "index": index_settings,
            "analysis": {
                "tokenizer": {
                    "yuecang_terms": {
                        "type": "whitespace",
                        "max_token_length": MAX_TERM_CHARS,
                    }
                },
                "analyzer": {
                    "yuecang_terms": {"type": "custom", "tokenizer": "yuecang_terms"}
                },
            },
        },
        "mappings": {
            "dynamic": "strict",
            "_meta": {"schema": SCHEMA_VERSION, "analyzer": analyzer_fingerprint()},
            "_source": {"excludes": [f"{text}_*" for text in TEXTS]},
            "properties": properties,
        },
    }


# ---------------------------------------------------------------------------
# Documents


def term_indexable(term: str) -> bool:
    """Whether a term can be indexed as one whitespace-separated word."""
    return (
        bool(term)
        and term != FILLER
        and not any(char.isspace() for char in term)
        and len(term.encode("utf-16-le")) // 2 <= MAX_TERM_CHARS
    )


def positional_string(tokens: Iterable[Token]) -> str:
    """One field's tokens as space-separated words, word *p* at position *p*.

    Args:
        tokens: tokens of one field (the analyzer gives at most one per
            position; a second is dropped).

    Returns:
        The words up to the field's last token, :data:`FILLER` where it has
        none (and for a term that cannot be indexed); ``""`` if no token.
    """
    terms: dict[int, str] = {}
    for token in tokens:
        terms.setdefault(token.position, token.term)
    if not terms:
        return ""
    words = [FILLER] * (max(terms) + 1)
    for position, term in terms.items():
        if term_indexable(term):
            words[position] = term
    return " ".join(words)


def encode_text(text: str) -> dict[Field, str]:
    """The positional string of every analyzer field of one text."""
    by_field: dict[Field, list[Token]] = {field: [] for field in Field}
    for token in analyze(text):
        by_field[token.field].append(token)
    return {field: positional_string(tokens) for field, tokens in by_field.items()}


def index_gates(gates: Iterable[Gate]) -> list[Gate]:
    """A document's gates merged to the fewest that open exactly when they all do.

    The first gate (the item's own, which a grant opens) keeps the first slot;
    of the others, repeated levels count once, and the embargoes become one
    that lifts when the last of them does (never, if one has no date).

    Raises:
        ValueError: more than :data:`MAX_GATES` remain.
    """
    gates = list(gates)
    if not gates:
        return []
    first, gates = gates[0], gates[1:]
    merged = [Gate(level) for level in dict.fromkeys(g.level for g in gates)]
    merged = [gate for gate in merged if gate.level != "embargoed"]
    untils = [g.embargo_until for g in gates if g.level == "embargoed"]
    if untils:
        until = None if None in untils else max(untils)
        merged.append(Gate("embargoed", until))
    merged.insert(0, first)
    if len(merged) > MAX_GATES:
        raise ValueError(f"more than {MAX_GATES} distinct access gates: {merged}")
    return merged


def day_number(day: datetime.date) -> int:
    """A date as the integer yyyymmdd (how embargo dates are indexed)."""
    return day.year * 10_000 + day.month * 100 + day.day


def stored_document(document: SearchDocument) -> dict:
    """The JSON form of a document, kept in ``_source`` to rebuild the hit."""
    data = asdict(document)
    data["gates"] = [
        [gate.level, gate.embargo_until.isoformat() if gate.embargo_until else None]
        for gate in document.gates
    ]
    data["themes"] = list(document.themes)
    data["places"] = list(document.places)
    return data


def document_body(document: SearchDocument) -> dict:
    """What OpenSearch indexes for one document (its ``_id`` is the key).

    Raises:
        ValueError: the document's gates do not fit (see :func:`index_gates`).
    """
    body: dict = {"key": document.key}
    for name in FACET_FIELDS:
        values = document.facet_values(name)
        if values:
            body[name] = list(values) if name in ("theme", "place") else values[0]
    if document.item:
        body["item"] = document.item
    if document.institution:
        body["institution"] = str(document.institution)
    if document.date is not None:
        body["date"] = document.date
    gates = index_gates(document.gates)
    for i in range(MAX_GATES):
        gate = gates[i] if i < len(gates) else Gate(OPEN_GATE)
        body[f"gate{i}_level"] = gate.level
        if gate.embargo_until is not None:
            body[f"gate{i}_until"] = day_number(gate.embargo_until)
    title_text = "context" if document.type in CONTEXT_TYPES else "title"
    for text, value in ((title_text, document.title), ("body", document.body)):
        for field, encoded in encode_text(value).items():
            if encoded:
                body[text_field(text, field)] = encoded
    body["stored"] = stored_document(document)
    return body


_DOCUMENT_FIELDS = frozenset(f.name for f in fields(SearchDocument))


def hit_document(source: dict) -> SearchDocument:
    """Rebuild the :class:`SearchDocument` from a hit's ``_source``."""
    data = {k: v for k, v in source["stored"].items() if k in _DOCUMENT_FIELDS}
    data["gates"] = tuple(
        Gate(level, datetime.date.fromisoformat(until) if until else None)
        for level, until in data.get("gates", ())
    )
    data["themes"] = tuple(data.get("themes", ()))
    data["places"] = tuple(data.get("places", ()))
    for name in ("start", "end"):
        if data.get(name) is not None:
            data[name] = float(data[name])
    return SearchDocument(**data)


def _bodies_of(documents: list[SearchDocument]) -> list[tuple[str, dict]]:
    return [(document.key, document_body(document)) for document in documents]


def document_bodies(
    documents: Iterable[SearchDocument], *, workers: int = 1
) -> Iterator[tuple[str, dict]]:
    """``(key, document_body)`` of each document, in order.

    Args:
        documents: the documents.
        workers: processes to analyse in (the analyzer is most of the cost of
            a reindex); 1 analyses here.
    """
    iterator = iter(documents)
    if workers <= 1:
        for document in iterator:
            yield document.key, document_body(document)
        return
    chunks = iter(lambda: list(islice(iterator, BULK_CHUNK)), [])
    with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
        pending: deque = deque()
        for chunk in chunks:
            pending.append(pool.submit(_bodies_of, chunk))
            if len(pending) > workers * 2:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


# ---------------------------------------------------------------------------
# Queries


def _term(field: str, value: str) -> dict:
    return {"term": {field: {"value": value}}}


def _boost(query: dict, factor: float) -> dict:
    """The query weighing ``factor`` times more."""
    if factor == 1.0:
        return query
    return {"bool": {"must": [query], "boost": factor}}


def _any(queries: list[dict]) -> dict:
    if len(queries) == 1:
        return queries[0]
    return {"bool": {"should": queries, "minimum_should_match": 1}}


def _either_text(make: Callable[[str], dict]) -> dict:
    """The query in the title (weighing more), the context (little) or the body."""
    return _any(
        [
            _boost(make("title"), TITLE_BOOST),
            _boost(make("context"), CONTEXT_BOOST),
            make("body"),
        ]
    )


def _distinct(terms: Iterable[Term]) -> list[Term]:
    return list(dict.fromkeys(terms))


def span_run(terms: Iterable[Term], text: str) -> dict:
    """The terms as an exact run in one text: each at its offset from the first.

    Terms of another analyzer field than the first term's are masked to it
    (positions are shared by all fields), and offsets that skip positions get
    a ``span_gap`` of that width, so slop stays 0. The analyzer gives at most
    one token per position per field, so the parser never puts two terms at
    one offset; if that ever happened, the later ones are left to the
    caller's term queries.
    """
    ordered: list[Term] = []
    for term in sorted(_distinct(terms), key=lambda t: t.offset):
        if not ordered or term.offset > ordered[-1].offset:
            ordered.append(term)
    if len(ordered) == 1:
        term = ordered[0]
        return {"span_term": {text_field(text, term.field): {"value": term.text}}}
    main = text_field(text, ordered[0].field)
    clauses: list[dict] = []
    for i, term in enumerate(ordered):
        if i:
            gap = term.offset - ordered[i - 1].offset - 1
            if gap:
                clauses.append({"span_gap": {main: gap}})
        field = text_field(text, term.field)
        span = {"span_term": {field: {"value": term.text}}}
        if field != main:
            span = {"span_field_masking": {"query": span, "field": main}}
        clauses.append(span)
    return {"span_near": {"clauses": clauses, "slop": 0, "in_order": True}}


def _all_in(terms: list[Term], text: str) -> dict:
    queries = [_term(text_field(text, t.field), t.text) for t in terms]
    if len(queries) == 1:
        return queries[0]
    return {"bool": {"must": queries}}


def alternative_query(alternative: Alternative) -> dict:
    """One alternative: all its terms in one text, as a run if it is a phrase.

    Returns:
        The query, or ``match_none`` if a term cannot be indexed (no
        document holds it).
    """
    terms = _distinct(alternative.terms)
    if not terms or not all(term_indexable(t.text) for t in terms):
        return {"match_none": {}}
    if alternative.phrase and len(terms) > 1:
        run = _either_text(lambda text: span_run(terms, text))
        if len({t.offset for t in terms}) == len(terms):
            return run
        # Terms sharing an offset (never from the parser): require them all too.
        return {"bool": {"must": [run, _either_text(lambda t: _all_in(terms, t))]}}
    matched = _either_text(lambda text: _all_in(terms, text))
    if len(terms) < 2:
        return matched
    run = _either_text(lambda text: span_run(terms, text))
    return {"bool": {"must": [matched], "should": [_boost(run, RUN_BOOST)]}}


def clause_query(clause: Clause) -> dict:
    """Any of a clause's alternatives (the form as typed ranks above the others)."""
    alternatives = [a for a in clause.alternatives if a.terms]
    if not alternatives:
        return {"match_none": {}}
    if len(alternatives) == 1:
        return alternative_query(alternatives[0])
    return _any(
        [
            _boost(alternative_query(a), LITERAL_BOOST)
            if a.source == Source.LITERAL
            else alternative_query(a)
            for a in alternatives
        ]
    )


def access_filter(scope: AccessScope) -> list[dict]:
    """Filters keeping only documents whose every gate is open to the reader.

    A gate is open when its level is one of the scope's (unused slots hold
    :data:`OPEN_GATE`), or it is an embargo whose date is on or before
    ``scope.today``, or (the first gate only) the document's item is one the
    reader holds a grant to.
    """
    levels = sorted(set(scope.levels) | {OPEN_GATE})
    today = day_number(scope.today)
    filters = []
    for i in range(MAX_GATES):
        should: list[dict] = [
            {"terms": {f"gate{i}_level": levels}},
            {
                "bool": {
                    "filter": [
                        {"term": {f"gate{i}_level": "embargoed"}},
                        {"range": {f"gate{i}_until": {"lte": today}}},
                    ]
                }
            },
        ]
        if i == 0 and scope.items:
            # A grant opens the item's own gate of its documents.
            should.append({"terms": {"item": sorted(scope.items)}})
        filters.append({"bool": {"should": should, "minimum_should_match": 1}})
    return filters


def _values_filter(name: str, values: Iterable[str]) -> dict:
    if name not in FACET_FIELDS:
        raise ValueError(f"{name!r} is not a filter field (one of {FACET_FIELDS})")
    return {"terms": {name: list(values)}}


def filter_clauses(request: EngineRequest) -> tuple[list[dict], list[dict]]:
    """The non-scoring parts of a request: (filters, exclusions).

    Access, document types, the item and facet filters keep documents;
    negated facet filters remove them. A filter with no values is ignored.
    """
    keep = access_filter(request.scope)
    if request.types:
        keep.append({"terms": {"type": list(request.types)}})
    if request.item:
        keep.append({"term": {"item": request.item}})
    for name, values in request.filters.items():
        if values:
            keep.append(_values_filter(name, values))
    drop = [
        _values_filter(name, values)
        for name, values in request.excluded_filters.items()
        if values
    ]
    return keep, drop


def sort_clause(sort: str) -> list:
    """The ``sort`` of a search: by score, or by date with undated documents last.

    Ties go by key, so paging is stable.
    """
    if sort == "relevance":
        return ["_score", {"key": {"order": "asc"}}]
    if sort in ("date", "-date"):
        order = "desc" if sort.startswith("-") else "asc"
        return [
            {"date": {"order": order, "missing": "_last"}},
            {"key": {"order": "asc"}},
        ]
    raise ValueError(f"sort {sort!r} is not one of {SORTS}")


def query_body(request: EngineRequest) -> dict:
    """The body of the ``_search`` request answering ``request``."""
    query = request.query
    must = [clause_query(c) for c in (*query.must, *query.phrases)]
    must_not = [clause_query(c) for c in query.excluded]
    keep, drop = filter_clauses(request)
    boolean: dict = {"must": must or [{"match_all": {}}], "filter": keep}
    if must_not or drop:
        boolean["must_not"] = must_not + drop
    body: dict = {
        "query": {"bool": boolean},
        "from": max(0, request.offset),
        "size": max(0, request.limit),
        "sort": sort_clause(request.sort),
        "track_total_hits": True,
        "_source": ["stored"],
    }
    if request.sort == "relevance":
        body["track_scores"] = True
    if request.facets:
        body["aggs"] = {
            name: {"terms": {"field": name, "size": max(1, request.facet_size)}}
            for name in request.facets
            if name in FACET_FIELDS
        }
    return body


def facet_counts(buckets: Iterable[dict]) -> list[tuple[str, int]]:
    """A terms aggregation's buckets as ``(value, count)``, most first, ties by value."""
    pairs = [(str(b["key"]), int(b["doc_count"])) for b in buckets]
    pairs.sort(key=lambda pair: (-pair[1], pair[0]))
    return pairs


def result_from_response(response: dict, request: EngineRequest) -> EngineResult:
    """The :class:`EngineResult` of a ``_search`` response to :func:`query_body`."""
    hits = response["hits"]
    total = hits["total"]
    total = total["value"] if isinstance(total, dict) else int(total)
    scored = request.sort == "relevance"
    found = [
        EngineHit(
            hit_document(hit["_source"]),
            float(hit.get("_score") or 0.0) if scored else 0.0,
        )
        for hit in hits["hits"]
    ]
    aggregations = response.get("aggregations", {})
    facets = {
        name: facet_counts(aggregations.get(name, {}).get("buckets", []))
        for name in request.facets
    }
    return EngineResult(total=total, hits=found, facets=facets)


# ---------------------------------------------------------------------------
# Connection


def connection_options(url: str) -> tuple[dict, tuple[str, str] | None, str]:
    """Split ``OPENSEARCH_URL`` into the client's host, credentials and a safe URL.

    Args:
        url: ``http(s)://[user:password@]host[:port][/prefix]``.

    Returns:
        ``(host, http_auth, display)``: the host dict for
        :class:`opensearchpy.OpenSearch`, the (unquoted) credentials or
        ``None``, and the URL without credentials, for messages.

    Raises:
        EngineUnavailable: the URL is empty or not an http(s) URL.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = f"{parts.scheme}://{parts.hostname}" if parts.hostname else "(empty)"
        raise EngineUnavailable(
            f"OPENSEARCH_URL must be an http(s) URL of the cluster, not {shown}"
        )
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 9200)
    prefix = parts.path.rstrip("/")
    host: dict = {"host": parts.hostname, "port": port, "use_ssl": https}
    if prefix:
        host["url_prefix"] = prefix
    auth = None
    if parts.username is not None:
        auth = (unquote(parts.username), unquote(parts.password or ""))
    shown_host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return host, auth, f"{parts.scheme}://{shown_host}:{port}{prefix}"


def _check_index_name(name: str) -> str:
    if (
        not name
        or name != name.lower()
        or name[0] in "-_+"
        or name in (".", "..")
        or _INDEX_NAME_FORBIDDEN & set(name)
    ):
        raise ValueError(f"{name!r} is not a valid OpenSearch index name")
    return name


class OpenSearchEngine:
    """The engine on an OpenSearch 2.x cluster (see the module docstring).

    Nothing is sent until the first call; the first write or search creates
    the index and its alias if they are missing.

    Args:
        url: the cluster, ``http(s)://[user:password@]host[:port]``; https
            verifies certificates.
        index: the alias searches and writes go through.
        timeout: seconds to wait for a search or a small write.
        client_options: passed on to :class:`opensearchpy.OpenSearch` (a CA
            bundle as ``ca_certs``; tests pass a recording ``transport_class``).
    """

    name = "opensearch"

    def __init__(
        self,
        url: str,
        index: str = "yuecang",
        *,
        timeout: float = TIMEOUT,
        **client_options,
    ) -> None:
        host, auth, self.url = connection_options(url)
        self.alias = _check_index_name(index)
        options = {
            "http_auth": auth,
            "use_ssl": host["use_ssl"],
            "verify_certs": host["use_ssl"],
            "ssl_show_warn": host["use_ssl"],
            "timeout": timeout,
            "max_retries": 2,
            "retry_on_timeout": True,
            "http_compress": True,
        }
        options.update(client_options)
        self.client = OpenSearch(hosts=[host], **options)
        self._lock = threading.Lock()
        self._ready_done = False

    def __repr__(self) -> str:
        return f"OpenSearchEngine({self.url!r}, index={self.alias!r})"

    # -- errors --------------------------------------------------------------

    def _unavailable(self, error: Exception, doing: str) -> EngineUnavailable | None:
        """The :class:`EngineUnavailable` an error means, or ``None`` if it is a bug."""
        where = f"OpenSearch at {self.url}"
        if isinstance(error, errors.ConnectionError):
            # urllib3's message names the host and port, never the credentials.
            message = str(error.error)
            found = _REASON.search(message)
            reason = found.group(0) if found else type(error).__name__
            return EngineUnavailable(f"{where} is unreachable ({reason}) {doing}")
        if isinstance(
            error, errors.AuthenticationException | errors.AuthorizationException
        ):
            return EngineUnavailable(
                f"{where} refused the credentials of OPENSEARCH_URL "
                f"(HTTP {error.status_code}) {doing}"
            )
        if isinstance(error, errors.NotFoundError) and (
            error.error == "index_not_found_exception"
        ):
            return EngineUnavailable(
                f"{where} has no index {self.alias!r} {doing}; "
                "run `python manage.py reindex`"
            )
        if (
            isinstance(error, errors.TransportError)
            and error.status_code in _UNAVAILABLE_STATUSES
        ):
            return EngineUnavailable(
                f"{where} cannot answer now (HTTP {error.status_code}) {doing}"
            )
        return None

    @contextmanager
    def _calling(self, doing: str) -> Iterator[None]:
        """Turn a cluster that cannot answer into :class:`EngineUnavailable`."""
        try:
            yield
        except errors.TransportError as error:
            unavailable = self._unavailable(error, doing)
            if unavailable is None:
                raise
            raise unavailable from error

    # -- the index and its alias ---------------------------------------------

    def _new_index_name(self) -> str:
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S-%f")
        return f"{self.alias}-{stamp}"

    def _ready(self) -> None:
        """Create the index behind the alias on first use, if it is missing."""
        if self._ready_done:
            return
        with self._lock, self._calling("while opening the index"):
            if self._ready_done:
                return
            if not self.client.indices.exists(index=self.alias):
                body = index_body()
                body["aliases"] = {self.alias: {}}
                # A fixed name: two processes starting at once create one index.
                try:
                    self.client.indices.create(index=f"{self.alias}-initial", body=body)
                except errors.RequestError as error:
                    if error.error != "resource_already_exists_exception":
                        raise
            self._ready_done = True

    def _alias_targets(self) -> list[str]:
        """The concrete indices behind the alias (none if it is missing)."""
        try:
            return sorted(self.client.indices.get_alias(name=self.alias))
        except errors.NotFoundError:
            return []

    # -- writes ----------------------------------------------------------------

    def index(
        self,
        documents: Iterable[SearchDocument],
        *,
        workers: int = 1,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Add or replace documents by key; searchable when this returns."""
        self._ready()
        with self._calling("while indexing"):
            return self._load(
                self.alias, documents, workers, progress, refresh="wait_for"
            )

    def _load(
        self,
        index: str,
        documents: Iterable[SearchDocument],
        workers: int,
        progress: Callable[[int], None] | None,
        **bulk_options,
    ) -> int:
        """Bulk-index documents into ``index``, reporting progress; return the count."""
        actions = (
            {"_op_type": "index", "_index": index, "_id": key, "_source": body}
            for key, body in document_bodies(documents, workers=workers)
        )
        count = 0
        for _ok, _item in helpers.streaming_bulk(
            self.client,
            actions,
            chunk_size=BULK_CHUNK,
            max_chunk_bytes=BULK_BYTES,
            max_retries=3,
            request_timeout=BULK_TIMEOUT,
            **bulk_options,
        ):
            count += 1
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(count)
        if progress is not None and count % PROGRESS_EVERY:
            progress(count)
        return count

    def delete(self, keys: Iterable[str]) -> int:
        """Remove documents by key (missing keys are fine); return how many were asked."""
        keys = list(keys)
        if not keys:
            return 0
        self._ready()
        actions = (
            {"_op_type": "delete", "_index": self.alias, "_id": key} for key in keys
        )
        with self._calling("while deleting"):
            helpers.bulk(
                self.client,
                actions,
                chunk_size=BULK_CHUNK,
                ignore_status=(404,),
                refresh="wait_for",
                request_timeout=BULK_TIMEOUT,
            )
        return len(keys)

    def _delete_matching(self, query: dict, doing: str) -> None:
        self._ready()
        with self._calling(doing):
            self.client.delete_by_query(
                index=self.alias,
                body={"query": query},
                conflicts="proceed",
                refresh=True,
                request_timeout=BULK_TIMEOUT,
            )

    def delete_item(self, item: str) -> None:
        """Remove every document of one item (its record, pages, segments)."""
        if item:
            self._delete_matching({"term": {"item": item}}, "while deleting an item")

    def clear(self) -> None:
        """Remove every document (tests; a reindex uses :meth:`replace_all`)."""
        self._delete_matching({"match_all": {}}, "while clearing the index")

    def replace_all(
        self,
        documents: Iterable[SearchDocument],
        progress: Callable[[int], None] | None = None,
        *,
        workers: int | None = None,
    ) -> int:
        """Load a new concrete index, then move the alias to it in one step.

        Searches use the old index until the alias moves; a failed load
        deletes the new index and leaves the old one in place. Writes made to
        the old index during the load are lost with it (run the reindex when
        the archive is quiet, or re-index changed items after).

        Args:
            documents: every document.
            progress: called with the number loaded every
                :data:`PROGRESS_EVERY` documents, and at the end.
            workers: processes to analyse in (default: up to 4).

        Returns:
            How many documents were loaded.
        """
        if workers is None:
            workers = max(1, min(4, os.cpu_count() or 1))
        new = self._new_index_name()
        with self._calling("while creating a new index"):
            self.client.indices.create(index=new, body=index_body(loading=True))
        try:
            with self._calling("while loading the new index"):
                count = self._load(new, documents, workers, progress)
            with self._calling("while swapping the index in"):
                self.client.indices.put_settings(
                    index=new, body={"index": {"refresh_interval": None}}
                )
                self.client.indices.refresh(index=new, request_timeout=BULK_TIMEOUT)
                old = self._alias_targets()
                actions_list: list[dict] = [
                    {"remove": {"index": name, "alias": self.alias}} for name in old
                ]
                if not old and self.client.indices.exists(index=self.alias):
                    # A concrete index under the alias's name (made by hand):
                    # delete it in the same step that puts the alias there.
                    actions_list.append({"remove_index": {"index": self.alias}})
                actions_list.append({"add": {"index": new, "alias": self.alias}})
                self.client.indices.update_aliases(body={"actions": actions_list})
        except BaseException:
            self._delete_quietly([new])
            raise
        self._ready_done = True
        self._delete_quietly(old)
        return count

    def _delete_quietly(self, names: list[str]) -> None:
        """Delete concrete indices, logging (not raising) a failure."""
        if not names:
            return
        try:
            self.client.indices.delete(index=",".join(names), ignore_unavailable=True)
        except Exception:
            logger.warning(
                "could not delete OpenSearch indices %s", names, exc_info=True
            )

    def drop(self) -> None:
        """Delete the alias and every index behind it (tests, decommissioning)."""
        with self._calling("while dropping the index"):
            targets = self._alias_targets()
            if not targets and self.client.indices.exists(index=self.alias):
                targets = [self.alias]
            if targets:
                self.client.indices.delete(index=",".join(targets))
        self._ready_done = False

    # -- reads -----------------------------------------------------------------

    def search(self, request: EngineRequest) -> EngineResult:
        """Answer one request (see :mod:`archive.search.engine` for the semantics)."""
        body = query_body(request)
        self._ready()
        with self._calling("while searching"):
            response = self.client.search(index=self.alias, body=body)
        return result_from_response(response, request)

    def count(self) -> int:
        """How many documents the index holds."""
        self._ready()
        with self._calling("while counting"):
            return int(self.client.count(index=self.alias)["count"])

    def stale(self) -> bool:
        """Whether the live index was built by another schema or analyzer."""
        with self._calling("while reading the mapping"):
            mappings = self.client.indices.get_mapping(index=self.alias)
        expected = {"schema": SCHEMA_VERSION, "analyzer": analyzer_fingerprint()}
        return any(
            entry.get("mappings", {}).get("_meta") != expected
            for entry in mappings.values()
        )

    def health(self) -> dict:
        """``{"ok", "detail", "documents"}`` for ``/healthz``; never raises or creates."""
        where = f"OpenSearch at {self.url}, index {self.alias!r}"
        try:
            status = self.client.cluster.health(request_timeout=HEALTH_TIMEOUT)
            status = status.get("status", "unknown")
            if not self.client.indices.exists(
                index=self.alias, request_timeout=HEALTH_TIMEOUT
            ):
                return {
                    "ok": status != "red",
                    "detail": f"{where}: cluster {status}; no index yet "
                    "(created on first use)",
                    "documents": 0,
                }
            documents = int(
                self.client.count(index=self.alias, request_timeout=HEALTH_TIMEOUT)[
                    "count"
                ]
            )
            stale = self.stale()
        except Exception as error:
            logger.warning("OpenSearch health check failed", exc_info=True)
            unavailable = error if isinstance(error, EngineUnavailable) else None
            if isinstance(error, errors.TransportError):
                unavailable = self._unavailable(error, "")
            detail = str(unavailable).strip() if unavailable else type(error).__name__
            return {"ok": False, "detail": detail, "documents": 0}
        detail = f"{where}: cluster {status}"
        if stale:
            detail += " (built by another analyzer: run manage.py reindex)"
        return {"ok": status != "red", "detail": detail, "documents": documents}
