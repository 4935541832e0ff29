"""Indexing follows changes, and the public never gets a hit it may not see.

Changes queue tasks after the commit (``archive.search.indexing``); here
Celery runs them in-process (eager) once ``django_capture_on_commit_callbacks``
runs the commit hooks. ``test_search_worker.py`` proves the same through a
real worker. Each test has its own index folder (tests/conftest.py).
"""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.utils import timezone

from archive.models import AccessLevel, Item, PageImage
from archive.search.engine import engine_get
from archive.search.indexing import items_reindex
from archive.search.service import SearchParams, search
from tests.archive.factories import ItemFactory, make_user
from tests.themes.conftest import ORAL_HISTORY

pytestmark = pytest.mark.django_db


@pytest.fixture
def auto_index(settings):
    settings.SEARCH_AUTO_INDEX = True


def found(q: str, user=None, request=None, **params) -> list[str]:
    page = search(
        SearchParams(q=q, per_page=100, **params),
        user=user or AnonymousUser(),
        request=request,
    )
    return [hit.key for hit in page.hits]


@pytest.fixture
def staff_user():
    return make_user("archivist", groups=["Archivists"])


def test_a_saved_item_is_indexed_and_its_changes_follow(
    auto_index, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        item = ItemFactory(title="荔枝灣艇仔粥", description="西關小食")
    assert found("艇仔粥") == [f"item:{item.public_id}"]
    with django_capture_on_commit_callbacks(execute=True):
        item.title = "沙河粉"
        item.save()
    assert found("艇仔粥") == []
    assert found("沙河粉") == [f"item:{item.public_id}"]


def test_access_changes_reach_the_index_and_staff_still_find_it(
    auto_index, django_capture_on_commit_callbacks, staff_user
):
    with django_capture_on_commit_callbacks(execute=True):
        item = ItemFactory(title="十三行商館圖")
    key = f"item:{item.public_id}"
    with django_capture_on_commit_callbacks(execute=True):
        item.access_level = AccessLevel.STAFF
        item.save()
    assert found("十三行") == []
    assert found("十三行", user=staff_user) == [key]
    # The engine itself no longer returns it to the public (not only the re-check).
    document = engine_get().search(
        __import__("archive.search.engine", fromlist=["EngineRequest"]).EngineRequest(
            query=__import__("archive.search.query", fromlist=["parse"]).parse(
                "十三行"
            ),
            scope=__import__(
                "archive.search.service", fromlist=["scope_for"]
            ).scope_for(AnonymousUser(), None),
        )
    )
    assert document.total == 0


def test_a_deleted_item_leaves_the_index(
    auto_index, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        item = ItemFactory(title="陳家祠木雕")
    assert found("木雕")
    with django_capture_on_commit_callbacks(execute=True):
        item.delete()
    assert found("木雕") == []
    assert engine_get().count() == 0


def test_a_withdrawn_item_is_not_found_by_anyone(
    auto_index, django_capture_on_commit_callbacks, staff_user
):
    with django_capture_on_commit_callbacks(execute=True):
        item = ItemFactory(title="已撤回嘅相片")
    with django_capture_on_commit_callbacks(execute=True):
        item.access_level = AccessLevel.WITHDRAWN
        item.withdrawn_note = "takedown"
        item.save()
    assert found("撤回", user=staff_user) == []


def test_the_public_gets_no_hit_a_stale_index_would_give(staff_user):
    """can_view at query time: the index says public, the record no longer does."""
    item = ItemFactory(title="東山洋樓")
    items_reindex([item.pk])
    assert found("洋樓") == [f"item:{item.public_id}"]
    Item.objects.filter(pk=item.pk).update(access_level=AccessLevel.STAFF)  # no signal
    assert found("洋樓") == []
    page = search(SearchParams(q="洋樓"), user=AnonymousUser())
    assert page.total == 0
    assert found("洋樓", user=staff_user) == [f"item:{item.public_id}"]


def test_an_embargo_lifts_on_its_date_without_a_reindex(monkeypatch):
    today = timezone.localdate()
    item = ItemFactory(
        title="珠江夜遊紀錄",
        access_level=AccessLevel.EMBARGOED,
        embargo_until=today + datetime.timedelta(days=1),
    )
    items_reindex([item.pk])
    assert found("夜遊") == []
    tomorrow = today + datetime.timedelta(days=1)
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: tomorrow)
    assert found("夜遊") == [f"item:{item.public_id}"]


def test_reading_room_material_is_found_only_in_the_reading_room(settings, rf):
    settings.ARCHIVE_READING_ROOM_NETWORKS = ["10.8.0.0/16"]
    item = ItemFactory(title="族譜抄本", access_level=AccessLevel.READING_ROOM)
    items_reindex([item.pk])
    outside = rf.get("/search/", REMOTE_ADDR="203.0.113.9")
    inside = rf.get("/search/", REMOTE_ADDR="10.8.1.20")
    assert found("族譜", request=outside) == []
    assert found("族譜", request=inside) == [f"item:{item.public_id}"]


def test_page_text_is_indexed_with_its_page(
    auto_index, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        item = ItemFactory(title="番禺縣志")
        page_image = _page(item, sequence=3, text="沙灣何氏")
    assert found("大宗祠") == []
    page_image.text = "沙灣何氏大宗祠"
    with django_capture_on_commit_callbacks(execute=True):
        page_image.save()
    page = search(SearchParams(q="大宗祠"), user=AnonymousUser())
    assert [hit.key for hit in page.hits] == [f"page:{page_image.public_id}"]
    assert page.hits[0].page == 3
    assert page.hits[0].url == f"/items/{item.public_id}/#page=3"
    assert any(piece.hit and piece.text == "大宗祠" for piece in page.hits[0].snippet)


def _page(item, *, sequence: int, text: str) -> PageImage:
    from archive.models import Asset

    asset = Asset.objects.create(
        item=item,
        role=Asset.Role.PAGE,
        original_filename=f"p{sequence}.tif",
        sha256=f"{sequence:064d}",
        size=1,
        media_type="image/tiff",
        storage_path=f"x/{sequence}.tif",
    )
    return PageImage.objects.create(
        item=item, sequence=sequence, asset=asset, width=100, height=200, text=text
    )


def test_segments_are_found_with_their_time_and_follow_edits(
    sample_transcript,
    auto_index,
    django_capture_on_commit_callbacks,
):
    item = Item.objects.get(public_id=ORAL_HISTORY)
    items_reindex([item.pk])
    page = search(SearchParams(q="防空洞"), user=AnonymousUser())
    segment_hits = [hit for hit in page.hits if hit.type == "segment"]
    assert len(segment_hits) == 1
    hit = segment_hits[0]
    assert hit.start == 13.0 and hit.time_label == "0:13"
    assert hit.url == f"/items/{ORAL_HISTORY}/?t=13"
    assert hit.speaker == "梁伯"
    segment = sample_transcript.segments.get(start=13.0)
    with django_capture_on_commit_callbacks(execute=True):
        segment.text = "嗰年成日走警報，大家匿喺騎樓底。"
        segment.save()
    assert [h for h in found("防空洞") if h.startswith("segment:")] == []
    assert found("騎樓底") == [f"segment:{segment.pk}"]


def test_a_closed_passage_is_found_by_staff_only(
    sample_transcript,
    auto_index,
    django_capture_on_commit_callbacks,
    staff_user,
):
    from transcription.models import Segment

    with django_capture_on_commit_callbacks(execute=True):
        closed = Segment.objects.create(
            transcript=sample_transcript,
            start=40.0,
            end=45.0,
            text="呢段講到我三叔嘅私事。",
            speaker="梁伯",
        )
    key = f"segment:{closed.pk}"
    # The sample consent closes 0:39-0:48.5 to everyone but staff.
    assert found("三叔") == []
    assert found("三叔", user=staff_user) == [key]


def test_a_dated_closure_opens_after_the_nightly_review_on_its_date(
    sample_transcript,
    auto_index,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    from transcription.models import Consent, Segment
    from transcription.services import consent_save

    item = Item.objects.get(public_id=ORAL_HISTORY)
    consent = Consent.objects.get(item=item)
    today = timezone.localdate()
    opens = today + datetime.timedelta(days=30)
    with django_capture_on_commit_callbacks(execute=True):
        Segment.objects.create(
            transcript=sample_transcript,
            start=55.0,
            end=58.0,
            text="我阿媽嘅名字唔好講出去。",
            speaker="梁伯",
        )
        consent_save(
            item=item,
            allowed=consent.allowed,
            closed=[{"start": 54.0, "end": 59.0, "until": opens, "reason": "family"}],
        )
    assert found("阿媽") == []
    later = opens
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: later)
    # The record decides until the nightly review re-applies the consent and
    # re-indexes what the clock changed.
    assert found("阿媽") == []
    from transcription.services.consent import consents_review

    with django_capture_on_commit_callbacks(execute=True):
        consents_review(today=later)
    assert len(found("阿媽")) == 1


def test_exhibitions_are_indexed_when_published_and_removed_when_unpublished(
    auto_index, django_capture_on_commit_callbacks
):
    from tests.themes.factories import exhibition_make

    with django_capture_on_commit_callbacks(execute=True):
        page = exhibition_make(title="騎樓與街市", slug="qilou", summary="騎樓下嘅生活")
    hits = search(SearchParams(q="騎樓"), user=AnonymousUser()).hits
    assert [hit.key for hit in hits] == [f"exhibition:{page.pk}"]
    assert hits[0].url == page.url
    with django_capture_on_commit_callbacks(execute=True):
        page.unpublish()
    assert found("騎樓") == []


def test_a_draft_exhibition_is_not_found(
    auto_index, django_capture_on_commit_callbacks
):
    from tests.themes.factories import exhibition_make

    with django_capture_on_commit_callbacks(execute=True):
        exhibition_make(title="未發佈嘅展覽", slug="draft", publish=False)
    assert found("展覽") == []


def test_reindex_rebuilds_everything_with_progress(sample):
    out = StringIO()
    call_command("reindex", stdout=out)
    text = out.getvalue()
    assert "reindex: " in text and "documents indexed with embedded" in text
    assert engine_get().count() > 10
    # Everything of the sample is findable: a page, the work, the item.
    types = {
        hit.type
        for hit in search(
            SearchParams(q="三字經", per_page=50), user=AnonymousUser()
        ).hits
    }
    assert {"item", "page", "work"} <= types


def test_search_tasks_go_to_the_one_writer_queue():
    from archive.celery import app

    for name in ("search_items_task", "search_delete_task", "search_exhibitions_task"):
        route = app.amqp.router.route({}, f"archive.tasks.{name}")
        assert route["queue"].name == "search"


def test_changes_in_one_transaction_queue_one_task(
    auto_index, django_capture_on_commit_callbacks, monkeypatch
):
    from archive import tasks

    calls = []
    monkeypatch.setattr(tasks.search_items_task, "delay", lambda pks: calls.append(pks))
    with django_capture_on_commit_callbacks(execute=True):
        item = ItemFactory(title="一")
        for sequence in range(1, 4):
            _page(item, sequence=sequence, text="頁")
        item.save()
    assert calls == [[item.pk]]


def test_nothing_is_queued_when_auto_indexing_is_off(
    settings, django_capture_on_commit_callbacks, monkeypatch
):
    from archive import tasks

    settings.SEARCH_AUTO_INDEX = False
    calls = []
    monkeypatch.setattr(tasks.search_items_task, "delay", lambda pks: calls.append(pks))
    with django_capture_on_commit_callbacks(execute=True):
        ItemFactory(title="二")
    assert calls == []
