"""The relevance set (issue 7 item 7): judged queries over the sample archive and distractors.

The sample archive (``ingest/sample``, with the transcripts of
``tests/data/relevance/transcripts.json``), the judged documents of
``documents.json`` and the generated distractors are indexed once per module
in the embedded engine. Each judged query is parsed, its filters made
canonical as the search page makes them, and run at the engine level with a
public reader's scope: the service would drop the distractors, which have no
database rows, in its final ``can_view`` check.

A query passes when every ``top3`` document ranks in the top 3, no
``absent`` document is among the first 1,000 hits, and no distractor ranks
above a ``top3`` document. Nothing here is marked xfail: a miss is a bug to
fix in the engine or a judgement to argue about, not to hide.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest

from archive.search.engine import AccessScope, EngineHit, EngineRequest
from archive.search.query import parse
from tests.archive.search import relevance
from tests.archive.search.relevance import References

#: Tests that read the corpus need the test database set up (pytest-django
#: creates it only for tests that ask for it); the corpus rolls its rows back.
uses_corpus = pytest.mark.django_db

#: Hits read per query: the first 1,000, as the issue asks.
LIMIT = 1_000

JUDGEMENTS = relevance.judgements()


@dataclass
class Corpus:
    """The indexed corpus, and each judged query as an engine request."""

    engine: object
    documents: list
    references: References
    requests: dict[str, EngineRequest]
    distractors: list

    def search(self, judgement: relevance.Judgement) -> list[EngineHit]:
        return self.engine.search(self.requests[judgement.id]).hits


def _transcripts_make() -> None:
    from archive.models import Item
    from tests.transcription.doors import transcript_make

    for public_id, transcript in relevance.sample_transcripts().items():
        item = Item.objects.get(public_id=public_id)
        segments = [tuple(segment) for segment in transcript["segments"]]
        transcript_make(item, segments=segments, language=transcript["language"])


def _request(judgement: relevance.Judgement, today: datetime.date) -> EngineRequest:
    """The engine request the search page would make (filters need the database)."""
    from archive.search.service import SearchParams, _filters

    query = parse(judgement.query)
    wanted, unwanted = _filters(SearchParams(q=judgement.query), query)
    return EngineRequest(
        query=query,
        scope=AccessScope(frozenset({"public"}), today),
        filters=wanted,
        excluded_filters=unwanted,
        limit=LIMIT,
    )


@pytest.fixture(scope="module")
def corpus(
    django_db_setup, django_db_blocker, tmp_path_factory, sample_loader
) -> Corpus:
    """Sample archive + judged documents + distractors, indexed once for the module.

    The sample is loaded inside a transaction that is rolled back as soon as
    its documents and the requests are built: the engine keeps what it needs.
    """
    from django.db import transaction
    from django.test import override_settings

    from archive.search.embedded import EmbeddedEngine
    from archive.search.indexing import all_documents

    today = datetime.date.today()
    storage = tmp_path_factory.mktemp("relevance-storage")
    with django_db_blocker.unblock(), override_settings(ARCHIVE_STORAGE_ROOT=storage):
        with transaction.atomic():
            sample_loader()
            _transcripts_make()
            sample = list(all_documents())
            requests = {j.id: _request(j, today) for j in JUDGEMENTS}
            transaction.set_rollback(True)
    distractors = relevance.distractors()
    documents = [*sample, *relevance.extra_documents(), *distractors]
    engine = EmbeddedEngine(tmp_path_factory.mktemp("relevance-index"), writer_wait=10)
    engine.index(documents)
    return Corpus(
        engine=engine,
        documents=documents,
        references=References(documents),
        requests=requests,
        distractors=distractors,
    )


def _report(corpus: Corpus, judgement, hits: list[EngineHit], problems) -> str:
    label = corpus.references.label
    lines = [
        f"{judgement.id} [{judgement.cls}] {judgement.query!r}: {judgement.note}",
        *(f"  - {problem}" for problem in problems),
        f"  top 10 of {len(hits)} hits:",
    ]
    for rank, hit in enumerate(hits[:10], start=1):
        document = hit.document
        text = " ".join(f"{document.title} | {document.body}".split())[:60]
        lines.append(f"  {rank:2d}. {hit.score:8.3f}  {label(document.key):40s} {text}")
    return "\n".join(lines)


@uses_corpus
@pytest.mark.parametrize("judgement", JUDGEMENTS, ids=[j.id for j in JUDGEMENTS])
def test_judged_query(corpus, judgement):
    hits = corpus.search(judgement)
    keys = [hit.document.key for hit in hits]
    rank = {key: position for position, key in enumerate(keys, start=1)}
    references = corpus.references
    problems = []
    for reference in judgement.top3:
        key = references.key(reference)
        if rank.get(key, LIMIT + 1) > 3:
            found = f"rank {rank[key]}" if key in rank else "not found"
            problems.append(f"{reference} should be in the top 3 ({found})")
    present = [
        key
        for reference in judgement.absent
        for key in references.matching(reference)
        if key in rank
    ]
    if present:
        present.sort(key=rank.get)
        shown = ", ".join(
            f"{references.label(k)} (rank {rank[k]})" for k in present[:8]
        )
        more = f" and {len(present) - 8} more" if len(present) > 8 else ""
        problems.append(f"should not appear: {shown}{more}")
    judged = [rank.get(references.key(r)) for r in judgement.top3]
    judged = [position for position in judged if position is not None]
    if judged:
        above = [k for k in keys[: max(judged) - 1] if k.startswith("distractor:")]
        if above:
            shown = ", ".join(f"{k} (rank {rank[k]})" for k in above[:5])
            more = f" and {len(above) - 5} more" if len(above) > 5 else ""
            problems.append(f"distractors outrank a judged document: {shown}{more}")
    assert not problems, _report(corpus, judgement, hits, problems)


@uses_corpus
def test_the_set_covers_the_issue(corpus):
    """At least 40 queries over every class, 1,000 distractors, every reference known."""
    assert len(JUDGEMENTS) >= relevance.MIN_QUERIES
    assert len({j.id for j in JUDGEMENTS}) == len(JUDGEMENTS), "query ids repeat"
    assert {j.cls for j in JUDGEMENTS} == set(relevance.CLASSES)
    assert len(corpus.distractors) >= relevance.MIN_DISTRACTORS
    references = corpus.references
    unknown = []
    for judgement in JUDGEMENTS:
        assert len(judgement.top3) <= 3, judgement.id
        assert judgement.top3 or judgement.absent, f"{judgement.id} judges nothing"
        for reference in judgement.top3:
            if references.is_pattern(reference) or not references.known(reference):
                unknown.append(f"{judgement.id}: top3 {reference}")
        for reference in judgement.absent:
            if not references.known(reference):
                unknown.append(f"{judgement.id}: absent {reference}")
    assert not unknown, unknown


@uses_corpus
def test_distractors_hold_no_judged_phrase(corpus):
    """Only a weak distractor holds a judged phrase: the one it was made for, once."""
    phrases = relevance.judged_phrases()
    assert relevance.guard_problems(corpus.distractors, phrases) == []
    planted = {d.extra["planted"] for d in corpus.distractors if "planted" in d.extra}
    assert planted <= phrases


def test_distractors_are_seeded():
    first, second = relevance.distractors(), relevance.distractors()
    assert first == second
    other = relevance.distractors(seed=relevance.SEED + 1)
    assert [d.key for d in other] == [d.key for d in first]
    assert [d.body for d in other] != [d.body for d in first]


def test_distractors_share_characters_with_the_judged_documents():
    """The near misses the set relies on are there: the characters, not the words."""
    bodies = "\n".join(f"{d.title}\n{d.body}" for d in relevance.distractors())
    for near in (
        "廣東",
        "潮州",
        "茶葉",
        "大樓",
        "西門",
        "海關",
        "關西",
        "三字書",
        "兩百",
    ):
        assert near in bodies, near
    for homophone in ("廣洲", "廣舟", "光州"):
        assert homophone in bodies, homophone
