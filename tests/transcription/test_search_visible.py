"""The final check of segment hits (``transcription.search._visible``).

Search re-checks every hit against the live records before showing it; for
segments that includes the consent's closed passages. Here the segments'
own levels are left open (as in an index or a row not yet brought up to
date), so only the closed-passage check can keep them out.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from archive.search.engine import SearchDocument
from tests.archive.factories import make_user
from tests.transcription.doors import recording_make, transcript_make
from transcription.models import ClosedRange, Consent
from transcription.search import _visible

pytestmark = pytest.mark.django_db

SEGMENTS = [(0.0, 5.0, "一盅兩件", "梁伯"), (10.0, 15.0, "三叔嘅私事", "梁伯")]


def _documents(transcripts) -> list[SearchDocument]:
    return [
        SearchDocument(key=f"segment:{s.pk}", type="segment", title="", body=s.text)
        for t in transcripts
        for s in t.segments.order_by("start")
    ]


def test_closed_passages_are_kept_out_for_all_but_staff_in_a_fixed_number_of_queries(
    tmp_path,
):
    transcripts = []
    for n in range(6):
        item, _asset = recording_make(tmp_path, seconds=20.0)
        transcripts.append(transcript_make(item, segments=SEGMENTS))
        if n % 2 == 0:  # a consent without a call to consent_apply: rows stay open
            consent = Consent.objects.create(item=item, allowed=Consent.Allowed.PUBLIC)
            ClosedRange.objects.create(consent=consent, start=9.0, end=16.0)
    documents = _documents(transcripts)
    closed = {
        f"segment:{t.segments.get(start=10.0).pk}"
        for n, t in enumerate(transcripts)
        if n % 2 == 0
    }
    every = {d.key for d in documents}

    with CaptureQueriesContext(connection) as reader_queries:
        shown = _visible(documents, AnonymousUser(), None)
    assert shown == every - closed
    staff = make_user("archivist", groups=["Archivists"])
    assert _visible(documents, staff, None) == every

    # Six recordings cost what one does: the consents are read at once.
    with CaptureQueriesContext(connection) as one_queries:
        _visible(documents[:2], AnonymousUser(), None)
    assert len(reader_queries) == len(one_queries), [
        q["sql"] for q in reader_queries.captured_queries
    ]
