"""IIIF Content Search 2.0 and 1.0: search inside one volume or recording.

The doors (DESIGN.md, Public interfaces; declared on manifests by
:func:`iiif.presentation._search_services`):

* ``/iiif/search/2/{item}?q=`` Content Search 2.0: an ``AnnotationPage``;
* ``/iiif/search/2/{item}/autocomplete?q=``: a ``TermPage``;
* ``/iiif/search/1/{item}?q=`` the same search in its 1.0 form, an
  ``sc:AnnotationList`` with ``hits``, because Mirador's search panel speaks
  only 1.0;
* ``/iiif/search/1/{item}/autocomplete?q=``: a ``search:TermList``.

What is searched is what the item's manifest shows as text: the transcribed
text of each page the visitor may see, and the passages of each transcript
they may read. The archive's one search (:func:`archive.search.service.search`,
limited to the item) finds the pages and passages, with the reader's access
applied twice (the engine's access scope, then ``can_view`` on every hit,
closed consent passages included); the pages and passages are then read again
through the selectors the manifest uses, so a hit never points at a canvas
the visitor's manifest lacks.

One *match* is one run of matched text (:func:`archive.search.highlight.spans`):
on a page with a layout it is drawn on the canvas with one box per line it
crosses (:mod:`archive.search.layout`), ``canvas#xywh=x,y,w,h``; on a page
without one it targets the whole canvas; in a transcript it targets the
passage's time, ``canvas#t=start,end``. Matches come in reading order (page
by page, then recording by recording in time order), :data:`PER_PAGE` to a
page of results.

2.0 (Content Search 2.0 §4.2, §4.3.1 and §4.3.4): each part of a match is an
Annotation in ``items`` whose body is the matched text and whose motivation is
``supplementing``, as our manifests' transcript annotations are (the spec's
examples give content annotations the content's own motivation and keep
``highlighting`` and ``contextualizing`` for the ``annotations`` list); one
``contextualizing`` Annotation per match in ``annotations`` carries the text
around it in a ``TextQuoteSelector`` (``prefix``, ``exact``, ``suffix``),
naming all its parts when it crosses lines. Paged results have ``partOf``
(an AnnotationCollection with ``total`` annotations), ``next``, ``prev`` and
``startIndex``.

1.0 (Content Search 1.0 §3.3 and §3.4): each part is an ``oa:Annotation``
(``sc:painting``, ``cnt:ContentAsText``, ``on`` the canvas fragment) in
``resources``, and each match a ``search:Hit`` naming its annotations with
``match``, ``before`` and ``after``; ``within`` is the layer with the number
of hits.

Parameters: ``q``; ``motivation`` (``supplementing`` or ``non-painting`` in
2.0, ``painting`` in 1.0, else nothing matches); ``page`` (ours, 1-based);
``min`` for autocomplete. ``date`` and ``user`` are not supported and are
reported in ``ignored``. A bad ``q``, ``page`` or ``min`` answers 400 with
the reason; an empty ``q`` an empty, valid answer.

The documents are built here as plain JSON: Content Search responses (the
search context, TermPage, 1.0's Presentation 2 shapes) are not resources
iiif-prezi3 models, and views only call these builders.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_safe

from archive.access import decide
from archive.models import Item, PageImage
from archive.search.analysis import chunks
from archive.search.highlight import spans
from archive.search.layout import span_pieces
from archive.search.query import Query, parse
from archive.search.service import MAX_PER_PAGE, Hit, SearchParams, search
from iiif import presentation, selectors
from iiif.presentation_views import (
    PRIVATE_CACHE,
    _answer,
    _error,
    _refusal,
    item_key_valid,
)
from transcription import selectors as transcripts

#: The JSON-LD context of Content Search 2.0 answers (§4.2).
SEARCH2_CONTEXT = "http://iiif.io/api/search/2/context.json"
#: Content Search 1.0 answers with hits use both contexts, in this order (1.0 §3.4).
PRESENTATION2_CONTEXT = "http://iiif.io/api/presentation/2/context.json"
SEARCH2_MEDIA_TYPE = f'application/ld+json;profile="{SEARCH2_CONTEXT}"'
SEARCH1_MEDIA_TYPE = f'application/ld+json;profile="{presentation.SEARCH1_CONTEXT}"'

#: Matches on one page of results.
PER_PAGE = 50
#: The longest ``q`` accepted (characters).
MAX_QUERY = 200
#: No page number beyond this.
MAX_PAGE = 10_000
#: At most this many pages and passages are searched for matches (a whole
#: volume of hits is about a thousand pages).
MAX_DOCUMENTS = 1_000
#: Characters of context each side of a match (``prefix``/``before``, ``suffix``/``after``).
CONTEXT_CHARS = 24
#: At most this many autocomplete terms.
MAX_TERMS = 20
#: The document types content search reads.
DOC_TYPES = ("page", "segment")
#: Parameters of the specifications that these services do not support.
UNSUPPORTED = ("date", "user")


class BadRequest(ValueError):
    """A parameter the services cannot use; the message says which and why (400)."""


class SearchUnavailable(RuntimeError):
    """The search engine did not answer (503)."""


# ---------------------------------------------------------------------------
# Requests


@dataclass(frozen=True)
class SearchRequest:
    """A content search or autocomplete request, checked.

    Attributes:
        q: the query (search) or the beginning of a term (autocomplete).
        page: the page of results asked for, 1-based.
        motivations: the ``motivation`` values asked for (empty: any).
        minimum: autocomplete's ``min``: terms occurring fewer times are left out.
        ignored: parameters of the specification that were given but are not
            supported, for the answer's ``ignored``.
        paged: whether the request named a page.
    """

    q: str = ""
    page: int = 1
    motivations: tuple[str, ...] = ()
    minimum: int = 1
    ignored: tuple[str, ...] = ()
    paged: bool = False


def _whole_number(data, name: str, default: int, maximum: int) -> int:
    raw = data.get(name)
    if raw is None or raw == "":
        return default
    raw = raw.strip()
    # The length first: int() refuses more than 4,300 digits (a ValueError).
    if (
        not raw.isascii()
        or not raw.isdigit()
        or len(raw.lstrip("0")) > len(str(maximum))
        or not 1 <= int(raw) <= maximum
    ):
        raise BadRequest(f"{name} must be a whole number from 1 to {maximum}.")
    return int(raw)


def request_parse(data) -> SearchRequest:
    """Check a request's query parameters (``request.GET``).

    Raises:
        BadRequest: ``q`` is too long, or ``page`` or ``min`` is not a whole
            number in range.
    """
    q = data.get("q") or ""
    if len(q) > MAX_QUERY:
        raise BadRequest(f"q is too long: at most {MAX_QUERY} characters.")
    return SearchRequest(
        q=q.strip(),
        page=_whole_number(data, "page", 1, MAX_PAGE),
        motivations=tuple((data.get("motivation") or "").split()),
        minimum=_whole_number(data, "min", 1, 1_000_000),
        ignored=tuple(name for name in UNSUPPORTED if data.get(name)),
        paged=bool(data.get("page")),
    )


def motivation_matches(motivations: tuple[str, ...], *, version: int) -> bool:
    """Whether annotations of this version's motivation answer a ``motivation`` filter.

    2.0's annotations are ``supplementing`` (so ``non-painting`` also takes
    them); 1.0's are ``sc:painting``. No filter takes everything (2.0 §4.1.1).
    """
    if not motivations:
        return True
    wanted = {m.split(":", 1)[-1] for m in motivations}
    ours = {"supplementing", "non-painting"} if version == 2 else {"painting"}
    return bool(wanted & ours)


# ---------------------------------------------------------------------------
# Matches


@dataclass(frozen=True)
class Part:
    """The part of a match on one line of a page (or a whole passage): where and what.

    Attributes:
        target: the canvas, with its ``#xywh=`` or ``#t=`` fragment when known.
        text: the matched text there.
    """

    target: str
    text: str


@dataclass(frozen=True)
class Match:
    """One run of matched text, with the text around it.

    Attributes:
        key: unique in the item: the page (or passage) and the offsets, for ids.
        exact: the matched text.
        prefix: up to :data:`CONTEXT_CHARS` characters before it.
        suffix: up to :data:`CONTEXT_CHARS` characters after it.
        parts: where it lies: one per line it crosses, in reading order.
        language: the BCP 47 tag of the text, when known (transcripts).
    """

    key: str
    exact: str
    prefix: str
    suffix: str
    parts: tuple[Part, ...]
    language: str = ""


@dataclass
class Found:
    """Every match of a query in one item, in reading order."""

    matches: list[Match] = field(default_factory=list)

    @property
    def annotations(self) -> int:
        """How many annotations the matches make (one per part)."""
        return sum(len(m.parts) for m in self.matches)


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def _tidy(text: str) -> tuple[str, list[int]]:
    """Text for display, and where each offset of ``text`` falls in it.

    Runs of whitespace become one space, and none where both neighbours are
    written without spaces (a column break inside Chinese text is no word
    break). Returns the tidied text and a list mapping every offset of
    ``text`` (and its end) to an offset of the tidied text.
    """
    out: list[str] = []
    where = [0] * (len(text) + 1)
    i, size = 0, len(text)
    while i < size:
        if not text[i].isspace():
            where[i] = len(out)
            out.append(text[i])
            i += 1
            continue
        j = i
        while j < size and text[j].isspace():
            j += 1
        before, after = (out[-1] if out else ""), (text[j] if j < size else "")
        for k in range(i, j):
            where[k] = len(out)
        if before and after and not (_is_wide(before) and _is_wide(after)):
            out.append(" ")
        i = j
    where[size] = len(out)
    return "".join(out), where


def _context(tidy: str, where: list[int], start: int, end: int) -> tuple[str, str, str]:
    a, b = where[start], where[end]
    return tidy[max(0, a - CONTEXT_CHARS) : a], tidy[a:b], tidy[b : b + CONTEXT_CHARS]


def page_canvas_id(manifest: str, page: PageImage) -> str:
    """A page's canvas in its item's manifest (as :func:`iiif.presentation._page_canvas`)."""
    return f"{manifest}/canvas/{page.public_id}"


def media_canvas_id(manifest: str, asset_id: int) -> str:
    """A recording's canvas in its item's manifest (as ``_recording_canvas``)."""
    return f"{manifest}/canvas/media-{asset_id}"


def page_matches(page: PageImage, query: Query, canvas: str) -> list[Match]:
    """The matches of a query on one page, boxed by the page's layout when it has one."""
    marks = spans(page.text, query)
    if not marks:
        return []
    tidy, where = _tidy(page.text)
    found = []
    for (start, end), lines in zip(marks, span_pieces(page, marks), strict=True):
        prefix, exact, suffix = _context(tidy, where, start, end)
        if lines:
            parts = tuple(
                Part(
                    "{}#xywh={},{},{},{}".format(canvas, *piece.box),
                    tidy[where[piece.start] : where[piece.end]],
                )
                for piece in lines
            )
        else:
            parts = (Part(canvas, exact),)
        found.append(
            Match(f"{page.public_id}-{start}-{end}", exact, prefix, suffix, parts)
        )
    return found


def segment_matches(
    segment, query: Query, canvas: str, *, duration: float, language: str = ""
) -> list[Match]:
    """The matches of a query in one transcript passage, on its time on the canvas."""
    if segment.start >= duration:  # past the recording's end: not in the manifest
        return []
    marks = spans(segment.text, query)
    if not marks:
        return []
    target = presentation._time_target(
        canvas, segment.start, min(segment.end, duration)
    )
    tidy, where = _tidy(segment.text)
    found = []
    for start, end in marks:
        prefix, exact, suffix = _context(tidy, where, start, end)
        found.append(
            Match(
                f"segment-{segment.pk}-{start}-{end}",
                exact,
                prefix,
                suffix,
                (Part(target, exact),),
                language,
            )
        )
    return found


def _hits(item: Item, q: str, user, request) -> list[Hit]:
    """The item's pages and passages the query finds that the reader may see."""
    found: list[Hit] = []
    number = 1
    while True:
        result = search(
            SearchParams(
                q=q,
                item=item.public_id,
                types=DOC_TYPES,
                page=number,
                per_page=MAX_PER_PAGE,
            ),
            user=user,
            request=request,
        )
        if result.error:
            raise SearchUnavailable(result.error)
        found += [hit for hit in result.hits if hit.type in DOC_TYPES]
        if number >= result.pages or len(found) >= MAX_DOCUMENTS:
            return found[:MAX_DOCUMENTS]
        number += 1


def item_matches(*, item: Item, q: str, user=None, request=None) -> Found:
    """Every match of ``q`` in the item that the reader may see, in reading order.

    The caller has decided that the reader may see the item.

    Raises:
        SearchUnavailable: the search engine did not answer.
    """
    query = parse(q)
    hits = _hits(item, q, user, request)
    pages_hit = {hit.page_id for hit in hits if hit.type == "page"}
    segments_hit = {
        int(hit.key.split(":", 1)[1]) for hit in hits if hit.type == "segment"
    }
    manifest = presentation.Urls(request).manifest(item.public_id)
    found = Found()
    if pages_hit:
        full = selectors.manifest_item_get(public_id=item.public_id)
        for page in selectors.visible_pages(item=full, user=user, request=request):
            if page.public_id in pages_hit:
                found.matches += page_matches(
                    page, query, page_canvas_id(manifest, page)
                )
    if segments_hit:
        found.matches += _passage_matches(
            item, query, segments_hit, manifest, user, request
        )
    return found


def _passage_matches(item, query, wanted: set[int], manifest: str, user, request):
    durations = {
        recording.asset.pk: recording.facts.duration
        for recording in selectors.recordings(item=item, user=user, request=request)
    }
    keyed = []
    for order, transcript in enumerate(
        transcripts.transcript_list(item=item, user=user, request=request)
    ):
        if transcript.asset_id not in durations:
            continue
        reading = transcripts.transcript_reading(
            transcript=transcript, user=user, request=request
        )
        language = transcripts.transcript_language(transcript)
        canvas = media_canvas_id(manifest, transcript.asset_id)
        for segment in reading.segments:
            if segment.pk not in wanted:
                continue
            for n, match in enumerate(
                segment_matches(
                    segment,
                    query,
                    canvas,
                    duration=durations[transcript.asset_id],
                    language=language,
                )
            ):
                sort_key = (transcript.asset_id, segment.start, order, segment.pk, n)
                keyed.append((sort_key, match))
    keyed.sort(key=lambda pair: pair[0])
    return [match for _, match in keyed]


# ---------------------------------------------------------------------------
# Autocomplete


def _visible_texts(item: Item, user, request) -> list[str]:
    """The texts of the item the reader may see: pages, then transcript passages."""
    full = selectors.manifest_item_get(public_id=item.public_id)
    texts = [
        page.text
        for page in selectors.visible_pages(item=full, user=user, request=request)
        if page.text
    ]
    for transcript in transcripts.transcript_list(
        item=item, user=user, request=request
    ):
        reading = transcripts.transcript_reading(
            transcript=transcript, user=user, request=request
        )
        texts += [segment.text for segment in reading.segments if segment.text]
    return texts


def item_terms(
    *, item: Item, prefix: str, minimum: int = 1, user=None, request=None
) -> list[tuple[str, int]]:
    """Terms of the item's visible text that complete ``prefix``, with their counts.

    Matching is on folded text (:func:`archive.search.analysis.fold`: width,
    case, one script), so 學 and its Simplified 学 complete alike. A prefix
    of Chinese characters completes to itself and the character that follows
    it (人 → 人之, 人之 → 人之初: the bigrams the index is made of); a Latin
    prefix completes to whole words. Each term is given as the text most
    often writes it. A prefix mixing both completes to nothing.

    Returns:
        At most :data:`MAX_TERMS` ``(term, count)``, most frequent first.
    """
    typed = chunks(prefix)
    if len(typed) != 1:
        return []
    key = typed[0].text
    counts: Counter[str] = Counter()
    forms: dict[str, Counter[str]] = {}

    def add(term: str, surface: str) -> None:
        counts[term] += 1
        forms.setdefault(term, Counter())[surface] += 1

    for text in _visible_texts(item, user, request):
        for chunk in chunks(text):
            if chunk.is_cjk != typed[0].is_cjk:
                continue
            if not chunk.is_cjk:
                if chunk.text.startswith(key):
                    add(chunk.text, text[chunk.start : chunk.end])
                continue
            size = len(key) + 1
            at = chunk.text.find(key)
            while at != -1 and at + size <= len(chunk.text):
                surface = "".join(text[a:b] for a, b in chunk.spans[at : at + size])
                add(chunk.text[at : at + size], surface)
                at = chunk.text.find(key, at + 1)
    ranked = sorted(
        (term for term, n in counts.items() if n >= minimum),
        key=lambda term: (-counts[term], term),
    )
    return [(forms[t].most_common(1)[0][0], counts[t]) for t in ranked[:MAX_TERMS]]


# ---------------------------------------------------------------------------
# Documents


@dataclass(frozen=True)
class Services:
    """The URLs of one item's search services, and its manifest."""

    manifest: str
    search2: str
    autocomplete2: str
    search1: str
    autocomplete1: str

    @classmethod
    def of(cls, item: Item, request=None) -> Services:
        """The services of ``item`` on this request's host (ids are absolute)."""
        urls = presentation.Urls(request)
        args = [item.public_id]
        return cls(
            manifest=urls.manifest(item.public_id),
            search2=urls.path(reverse("iiif_search2", args=args)),
            autocomplete2=urls.path(reverse("iiif_search2_autocomplete", args=args)),
            search1=urls.path(reverse("iiif_search1", args=args)),
            autocomplete1=urls.path(reverse("iiif_search1_autocomplete", args=args)),
        )


def _url(service: str, req: SearchRequest, *, page: int | None = None, **extra) -> str:
    params: dict[str, object] = {"q": req.q}
    if req.motivations:
        params["motivation"] = " ".join(req.motivations)
    params.update(extra)
    if page is not None:
        params["page"] = page
    return f"{service}?{urlencode(params)}"


@dataclass(frozen=True)
class _Paging:
    number: int
    pages: int
    chosen: list[Match]
    before: list[Match]

    @property
    def paged(self) -> bool:
        return self.pages > 1 or self.number > 1


def _paging(found: Found, req: SearchRequest) -> _Paging:
    pages = max(1, math.ceil(len(found.matches) / PER_PAGE))
    first = (req.page - 1) * PER_PAGE
    return _Paging(
        req.page,
        pages,
        found.matches[first : first + PER_PAGE],
        found.matches[:first],
    )


def _annotation_id(services: Services, match: Match, suffix: str) -> str:
    return f"{services.manifest}/annotation/search-{match.key}-{suffix}"


def _quote(part: Part, prefix: str, suffix: str) -> dict:
    selector = {"type": "TextQuoteSelector"}
    if prefix:
        selector["prefix"] = prefix
    selector["exact"] = part.text
    if suffix:
        selector["suffix"] = suffix
    return selector


def search2_build(found: Found, req: SearchRequest, services: Services) -> dict:
    """A Content Search 2.0 answer: one AnnotationPage of matches (§4.2, §4.3)."""
    paging = _paging(found, req)
    doc: dict = {
        "@context": [SEARCH2_CONTEXT, presentation.CONTEXT],
        "id": _url(services.search2, req, page=paging.number)
        if paging.paged or req.paged
        else _url(services.search2, req),
        "type": "AnnotationPage",
    }
    if req.ignored:
        doc["ignored"] = list(req.ignored)
    if paging.paged:

        def page_ref(n: int) -> dict:
            return {"id": _url(services.search2, req, page=n), "type": "AnnotationPage"}

        doc["partOf"] = {
            "id": _url(services.search2, req),
            "type": "AnnotationCollection",
            "total": found.annotations,
            "first": page_ref(1),
            "last": page_ref(paging.pages),
        }
        if paging.number < paging.pages:
            doc["next"] = page_ref(paging.number + 1)
        if paging.number > 1:
            doc["prev"] = page_ref(min(paging.number - 1, paging.pages))
        doc["startIndex"] = sum(len(m.parts) for m in paging.before)
    items, context = [], []
    for match in paging.chosen:
        ids = []
        for n, part in enumerate(match.parts, start=1):
            body = {"type": "TextualBody", "value": part.text, "format": "text/plain"}
            if match.language:
                body["language"] = match.language
            ids.append(_annotation_id(services, match, str(n)))
            items.append(
                {
                    "id": ids[-1],
                    "type": "Annotation",
                    "motivation": "supplementing",
                    "body": body,
                    "target": part.target,
                }
            )
        last = len(match.parts) - 1
        targets = [
            {
                "type": "SpecificResource",
                "source": ids[n],
                "selector": [
                    _quote(
                        part,
                        match.prefix if n == 0 else "",
                        match.suffix if n == last else "",
                    )
                ],
            }
            for n, part in enumerate(match.parts)
        ]
        context.append(
            {
                "id": _annotation_id(services, match, "context"),
                "type": "Annotation",
                "motivation": "contextualizing",
                "target": targets[0] if len(targets) == 1 else targets,
            }
        )
    doc["items"] = items
    if context:
        doc["annotations"] = [
            {"id": f"{doc['id']}#context", "type": "AnnotationPage", "items": context}
        ]
    return doc


def search1_build(found: Found, req: SearchRequest, services: Services) -> dict:
    """A Content Search 1.0 answer: an annotation list with hits (1.0 §3.3, §3.4)."""
    paging = _paging(found, req)
    within: dict = {"@type": "sc:Layer", "total": len(found.matches)}
    doc: dict = {
        "@context": [PRESENTATION2_CONTEXT, presentation.SEARCH1_CONTEXT],
        "@id": _url(services.search1, req, page=paging.number)
        if paging.paged or req.paged
        else _url(services.search1, req),
        "@type": "sc:AnnotationList",
        "within": within,
    }
    if req.ignored:
        within["ignored"] = list(req.ignored)
    if paging.paged:
        within["first"] = _url(services.search1, req, page=1)
        within["last"] = _url(services.search1, req, page=paging.pages)
        if paging.number < paging.pages:
            doc["next"] = _url(services.search1, req, page=paging.number + 1)
        if paging.number > 1:
            doc["prev"] = _url(
                services.search1, req, page=min(paging.number - 1, paging.pages)
            )
    doc["startIndex"] = len(paging.before)
    resources, hits = [], []
    for match in paging.chosen:
        ids = []
        for n, part in enumerate(match.parts, start=1):
            ids.append(_annotation_id(services, match, str(n)))
            resources.append(
                {
                    "@id": ids[-1],
                    "@type": "oa:Annotation",
                    "motivation": "sc:painting",
                    "resource": {"@type": "cnt:ContentAsText", "chars": part.text},
                    "on": part.target,
                }
            )
        hit = {"@type": "search:Hit", "annotations": ids, "match": match.exact}
        if match.prefix:
            hit["before"] = match.prefix
        if match.suffix:
            hit["after"] = match.suffix
        hits.append(hit)
    doc["resources"] = resources
    doc["hits"] = hits
    return doc


def autocomplete2_build(
    terms: list[tuple[str, int]], req: SearchRequest, services: Services
) -> dict:
    """A Content Search 2.0 autocomplete answer: a TermPage (§5.2, §5.3)."""
    extra = {"min": req.minimum} if req.minimum > 1 else {}
    doc: dict = {
        "@context": SEARCH2_CONTEXT,
        "id": _url(services.autocomplete2, req, **extra),
        "type": "TermPage",
    }
    if req.ignored:
        doc["ignored"] = list(req.ignored)
    doc["items"] = [{"value": term, "total": count} for term, count in terms]
    return doc


def autocomplete1_build(
    terms: list[tuple[str, int]], req: SearchRequest, services: Services
) -> dict:
    """A Content Search 1.0 autocomplete answer: a search:TermList (1.0 §4.3)."""
    extra = {"min": req.minimum} if req.minimum > 1 else {}
    doc: dict = {
        "@context": presentation.SEARCH1_CONTEXT,
        "@id": _url(services.autocomplete1, req, **extra),
        "@type": "search:TermList",
    }
    if req.ignored:
        doc["ignored"] = list(req.ignored)
    doc["terms"] = [
        {
            "match": term,
            "url": _url(
                services.search1, SearchRequest(q=term, motivations=req.motivations)
            ),
            "count": count,
        }
        for term, count in terms
    ]
    return doc


# ---------------------------------------------------------------------------
# Doors


def _json_error(request, status: int, message: str) -> HttpResponse:
    body = json.dumps({"status": status, "error": message})
    return _answer(request, body, status=status, cache_control=PRIVATE_CACHE)


def _respond(request, item: Item, doc: dict, media_type: str) -> HttpResponse:
    """The answer, publicly cacheable only when every visitor would get the same."""
    shared = presentation.item_is_shared(
        item
    ) and presentation.visitor_sees_public_view(request.user, request)
    cache_control = (
        f"public, max-age={settings.IIIF_PRESENTATION_MAX_AGE}"
        if shared
        else PRIVATE_CACHE
    )
    return _answer(
        request,
        json.dumps(doc, ensure_ascii=False),
        status=200,
        cache_control=cache_control,
        media_type=media_type,
    )


def _open(request, public_id: str) -> tuple[Item | None, HttpResponse | None]:
    """The item if the visitor may see it, else the refusal (as the manifest door)."""
    if not item_key_valid(public_id):
        return None, _error(request, 404)
    item = selectors.item_get(public_id=public_id)
    if item is None:
        return None, _error(request, 404)
    decision = decide(request.user, item, request)
    if not decision.allowed:
        return None, _refusal(request, decision)
    return item, None


def _search(request, public_id: str, *, version: int) -> HttpResponse:
    item, refused = _open(request, public_id)
    if refused is not None:
        return refused
    try:
        req = request_parse(request.GET)
    except BadRequest as error:
        return _json_error(request, 400, str(error))
    found = Found()
    if req.q and motivation_matches(req.motivations, version=version):
        try:
            found = item_matches(item=item, q=req.q, user=request.user, request=request)
        except SearchUnavailable:
            return _json_error(request, 503, "Search is unavailable; try again soon.")
    services = Services.of(item, request)
    if version == 2:
        doc, media_type = search2_build(found, req, services), SEARCH2_MEDIA_TYPE
    else:
        doc, media_type = search1_build(found, req, services), SEARCH1_MEDIA_TYPE
    return _respond(request, item, doc, media_type)


def _autocomplete(request, public_id: str, *, version: int) -> HttpResponse:
    item, refused = _open(request, public_id)
    if refused is not None:
        return refused
    try:
        req = request_parse(request.GET)
    except BadRequest as error:
        return _json_error(request, 400, str(error))
    terms: list[tuple[str, int]] = []
    if req.q and motivation_matches(req.motivations, version=version):
        terms = item_terms(
            item=item,
            prefix=req.q,
            minimum=req.minimum,
            user=request.user,
            request=request,
        )
    services = Services.of(item, request)
    if version == 2:
        doc, media_type = autocomplete2_build(terms, req, services), SEARCH2_MEDIA_TYPE
    else:
        doc, media_type = autocomplete1_build(terms, req, services), SEARCH1_MEDIA_TYPE
    return _respond(request, item, doc, media_type)


@require_safe
def search_v2(request, item: str):
    """Content Search 2.0 inside one item (``/iiif/search/2/{item}?q=``)."""
    return _search(request, item, version=2)


@require_safe
def search_v1(request, item: str):
    """Content Search 1.0 inside one item (``/iiif/search/1/{item}?q=``), for Mirador."""
    return _search(request, item, version=1)


@require_safe
def autocomplete_v2(request, item: str):
    """Content Search 2.0 autocomplete (``/iiif/search/2/{item}/autocomplete?q=``)."""
    return _autocomplete(request, item, version=2)


@require_safe
def autocomplete_v1(request, item: str):
    """Content Search 1.0 autocomplete (``/iiif/search/1/{item}/autocomplete?q=``)."""
    return _autocomplete(request, item, version=1)
