"""IIIF Content Search 2.0 and 1.0 (``iiif/content_search.py``) and page boxes.

The sample archive is loaded once for the module, with a transcript of the
oral history (one passage inside the consent's closed 0:39–0:48.5) and the
search index built, inside a transaction rolled back after it. The answers
are checked against the specifications' required shapes, the manifest they
belong to (every target is one of its canvases) and the page layout (boxes
are those of the matched characters).
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.core.cache import cache

from archive.models import AccessLevel, Item, PageImage
from archive.search.analysis import fold
from archive.search.indexing import items_reindex
from archive.search.layout import boxes_for_spans, span_pieces
from iiif import content_search
from tests.archive.factories import ItemFactory, jpeg_bytes, make_user
from tests.iiif.test_presentation import assert_valid_presentation
from tests.themes.conftest import ORAL_HISTORY, ORAL_HISTORY_SEGMENTS, VOLUME
from tests.transcription.doors import transcript_make

pytestmark = pytest.mark.django_db

HOST = "http://testserver"
IMAGE_ITEM = "iiif-validator-test-image"
SEARCH2 = "http://iiif.io/api/search/2/context.json"
SEARCH1 = "http://iiif.io/api/search/1/context.json"
PRESENTATION2 = "http://iiif.io/api/presentation/2/context.json"
PRESENTATION3 = "http://iiif.io/api/presentation/3/context.json"
#: A passage inside the consent's closed 0:39–0:48.5: only staff may find it.
CLOSED_SEGMENT = (40.0, 45.0, "呢度講到我表叔嘅名同佢屋企地址。", "梁伯")


# ---------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def _searchable(django_db_setup, django_db_blocker, tmp_path_factory, sample_loader):
    """The sample, a transcript of the interview and the index, once per module."""
    from django.db import transaction
    from django.test import override_settings

    storage = tmp_path_factory.mktemp("content-search-storage")
    index = tmp_path_factory.mktemp("content-search-index")
    with (
        django_db_blocker.unblock(),
        override_settings(ARCHIVE_STORAGE_ROOT=storage, SEARCH_INDEX_DIR=index),
        transaction.atomic(),
    ):
        sample_loader()
        interview = Item.objects.get(public_id=ORAL_HISTORY)
        transcript_make(
            interview,
            segments=[*ORAL_HISTORY_SEGMENTS, CLOSED_SEGMENT],
            language="yue",
        )
        items_reindex(list(Item.objects.values_list("pk", flat=True)))
        yield storage, index
        transaction.set_rollback(True)


@pytest.fixture
def sample(_searchable, settings, db):
    """The module's sample, its storage and its index in place; a cold cache."""
    settings.ARCHIVE_STORAGE_ROOT, settings.SEARCH_INDEX_DIR = _searchable
    settings.IIIF_BASE_URL = ""
    settings.IIIF_IMAGE_BASE = ""
    cache.clear()
    yield {item.public_id: item for item in Item.objects.all()}
    cache.clear()


@pytest.fixture
def staff(db):
    return make_user("archivist-search", groups=["Archivists"])


def _get(client, url: str, **params):
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code, response.content)
    return response.json()


def search2(client, item: str, q: str, **params) -> dict:
    return _get(client, f"/iiif/search/2/{item}", q=q, **params)


def search1(client, item: str, q: str, **params) -> dict:
    return _get(client, f"/iiif/search/1/{item}", q=q, **params)


def manifest(client, item: str) -> dict:
    return _get(client, f"/iiif/3/manifest/{item}")


def canvas_of(target: str) -> str:
    return target.split("#", 1)[0]


def xywh(target: str) -> tuple[int, int, int, int]:
    match = re.search(r"#xywh=(\d+),(\d+),(\d+),(\d+)$", target)
    assert match, target
    return tuple(int(v) for v in match.groups())


def contexts(doc: dict) -> dict[str, dict]:
    """2.0: the contextualizing annotations by the item annotation they first name."""
    found = {}
    for page in doc.get("annotations", []):
        for annotation in page["items"]:
            targets = annotation["target"]
            targets = targets if isinstance(targets, list) else [targets]
            found[targets[0]["source"]] = annotation
    return found


def layout_box(page: PageImage, chars: str) -> tuple[int, int, int, int]:
    """The union of the layout boxes of a run of characters that lies on one line."""
    for line in page.text_layout["lines"]:
        text = "".join(word[0] for word in line)
        at = text.find(chars)
        if at != -1:
            words = line[at : at + len(chars)]
            left = min(w[1] for w in words)
            top = min(w[2] for w in words)
            right = max(w[1] + w[3] for w in words)
            bottom = max(w[2] + w[4] for w in words)
            return (left, top, right - left, bottom - top)
    raise AssertionError(f"{chars} is on no line of page {page.sequence}")


# ---------------------------------------------------------------------------
# The manifests declare the services


def test_manifests_declare_both_services_and_stay_valid(client, sample):
    for item in (VOLUME, ORAL_HISTORY):
        doc = manifest(client, item)
        assert_valid_presentation(doc)
        services = {s.get("type") or s.get("@type"): s for s in doc["service"]}
        v2 = services["SearchService2"]
        assert v2["id"] == f"{HOST}/iiif/search/2/{item}"
        assert v2["service"] == [
            {
                "id": f"{HOST}/iiif/search/2/{item}/autocomplete",
                "type": "AutoCompleteService2",
            }
        ]
        v1 = services["SearchService1"]
        assert v1["@context"] == SEARCH1
        assert v1["@id"] == f"{HOST}/iiif/search/1/{item}"
        # What Mirador 4 looks for (getManifestSearchService, by profile).
        assert v1["profile"] == "http://iiif.io/api/search/1/search"
        assert v1["service"] == [
            {
                "@id": f"{HOST}/iiif/search/1/{item}/autocomplete",
                "@type": "AutoCompleteService1",
                "profile": "http://iiif.io/api/search/1/autocomplete",
            }
        ]
    # An image with no text to search declares no search.
    assert "service" not in manifest(client, IMAGE_ITEM)


# ---------------------------------------------------------------------------
# Volumes: hits on the right canvas, boxed by the layout


def test_a_phrase_on_a_page_is_found_on_its_canvas_with_its_box(client, sample):
    page = sample[VOLUME].pages.get(sequence=2)
    canvases = [c["id"] for c in manifest(client, VOLUME)["items"]]
    doc = search2(client, VOLUME, "人之初")
    assert doc["@context"] == [SEARCH2, PRESENTATION3]
    assert doc["type"] == "AnnotationPage"
    assert doc["id"] == f"{HOST}/iiif/search/2/{VOLUME}?q={quote('人之初')}"
    [annotation] = doc["items"]
    assert annotation["type"] == "Annotation"
    assert annotation["motivation"] == "supplementing"
    assert annotation["body"] == {
        "type": "TextualBody",
        "value": "人之初",
        "format": "text/plain",
    }
    target = annotation["target"]
    assert (
        canvas_of(target)
        == canvases[1]
        == f"{HOST}/iiif/3/manifest/{VOLUME}/canvas/{page.public_id}"
    )
    assert xywh(target) == layout_box(page, "人之初")
    context = contexts(doc)[annotation["id"]]
    assert context["motivation"] == "contextualizing"
    assert context["target"]["type"] == "SpecificResource"
    [selector] = context["target"]["selector"]
    assert selector["type"] == "TextQuoteSelector"
    assert selector["exact"] == "人之初"
    # The column before and after, without the line breaks between columns.
    assert selector["prefix"].endswith("宋順德區適子撰")
    assert selector["suffix"].startswith("性本善性相近")


def test_a_match_across_two_columns_has_a_box_in_each(client, sample):
    page = sample[VOLUME].pages.get(sequence=2)
    assert "相遠\n苟不" in page.text
    doc = search2(client, VOLUME, "相遠苟不")
    first, second = doc["items"]
    assert [first["body"]["value"], second["body"]["value"]] == ["相遠", "苟不"]
    assert xywh(first["target"]) == layout_box(page, "相遠")
    assert xywh(second["target"]) == layout_box(page, "苟不")
    # One contextualizing annotation names both parts (2.0 §4.3.4).
    [context] = doc["annotations"][0]["items"]
    assert [t["source"] for t in context["target"]] == [first["id"], second["id"]]
    v1 = search1(client, VOLUME, "相遠苟不")
    [hit] = v1["hits"]
    assert hit["match"] == "相遠苟不"
    assert len(hit["annotations"]) == 2


def test_simplified_and_jyutping_queries_find_the_traditional_text(client, sample):
    page = sample[VOLUME].pages.get(sequence=2)
    for q, exact in (("习相远", "習相遠"), ("jan4 zi1 co1", "人之初")):
        doc = search2(client, VOLUME, q)
        values = [a["body"]["value"] for a in doc["items"]]
        assert exact in values, (q, values)
        annotation = doc["items"][values.index(exact)]
        assert xywh(annotation["target"]) == layout_box(page, exact)


def test_a_page_the_visitor_may_not_see_gives_no_hit(client, page_with_pyramid):
    staff = make_user("archivist-pages", groups=["Archivists"])
    open_page = page_with_pyramid(jpeg_bytes(), name="a.jpg")
    item = open_page.item
    closed_page = page_with_pyramid(
        jpeg_bytes(color=(9, 9, 9)), item=item, name="b.jpg"
    )
    PageImage.objects.filter(pk=open_page.pk).update(text="海幢寺晨鐘")
    PageImage.objects.filter(pk=closed_page.pk).update(text="海幢寺暮鼓")
    closed_page.asset.access_level = AccessLevel.STAFF
    closed_page.asset.save()
    items_reindex([item.pk])
    canvas = f"{HOST}/iiif/3/manifest/{item.public_id}/canvas/"
    doc = search2(client, item.public_id, "海幢寺")
    # No layout: the whole canvas.
    assert [a["target"] for a in doc["items"]] == [canvas + open_page.public_id]
    client.force_login(staff)
    doc = search2(client, item.public_id, "海幢寺")
    assert [a["target"] for a in doc["items"]] == [
        canvas + open_page.public_id,
        canvas + closed_page.public_id,
    ]


# ---------------------------------------------------------------------------
# Recordings: hits on the passage's time


def test_a_word_in_the_interview_is_found_at_its_time(client, sample):
    [canvas] = [c["id"] for c in manifest(client, ORAL_HISTORY)["items"]]
    doc = search2(client, ORAL_HISTORY, "茶樓")
    assert [a["target"] for a in doc["items"]] == [
        f"{canvas}#t=4.6,9.2",
        f"{canvas}#t=20.5,27",
    ]
    assert {a["body"]["value"] for a in doc["items"]} == {"茶樓"}
    assert {a["body"]["language"] for a in doc["items"]} == {"yue"}
    v1 = search1(client, ORAL_HISTORY, "茶楼")  # Simplified
    assert [r["on"] for r in v1["resources"]] == [
        f"{canvas}#t=4.6,9.2",
        f"{canvas}#t=20.5,27",
    ]
    assert v1["hits"][0]["before"].endswith("西關開")


def test_a_closed_passage_is_found_by_staff_only(client, sample, staff):
    assert search2(client, ORAL_HISTORY, "表叔")["items"] == []
    assert search1(client, ORAL_HISTORY, "表叔")["within"]["total"] == 0
    terms = _get(client, f"/iiif/search/2/{ORAL_HISTORY}/autocomplete", q="表")
    assert terms["items"] == []
    client.force_login(make_user("reader-search"))
    assert search2(client, ORAL_HISTORY, "表叔")["items"] == []
    client.force_login(staff)
    response = client.get(f"/iiif/search/2/{ORAL_HISTORY}", {"q": "表叔"})
    assert response["Cache-Control"] == "private, no-store"
    [annotation] = response.json()["items"]
    assert annotation["target"].endswith("#t=40,45")
    terms = _get(client, f"/iiif/search/2/{ORAL_HISTORY}/autocomplete", q="表")
    assert terms["items"] == [{"value": "表叔", "total": 1}]


# ---------------------------------------------------------------------------
# Shapes (Content Search 1.0 §3.3–3.4, 2.0 §4.2–4.3)


def test_the_1_0_answer_has_what_the_spec_and_mirador_need(client, sample):
    doc = search1(client, VOLUME, "教")
    assert doc["@context"] == [PRESENTATION2, SEARCH1]
    assert doc["@type"] == "sc:AnnotationList"
    assert doc["@id"] == f"{HOST}/iiif/search/1/{VOLUME}?q={quote('教')}"
    assert doc["within"]["@type"] == "sc:Layer"
    assert doc["within"]["total"] == len(doc["hits"]) > 3
    assert doc["startIndex"] == 0
    canvases = {c["id"] for c in manifest(client, VOLUME)["items"]}
    ids = set()
    for resource in doc["resources"]:
        assert resource["@type"] == "oa:Annotation"
        assert resource["motivation"] == "sc:painting"
        assert resource["resource"] == {"@type": "cnt:ContentAsText", "chars": "教"}
        assert canvas_of(resource["on"]) in canvases
        xywh(resource["on"])
        ids.add(resource["@id"])
    assert len(ids) == len(doc["resources"])
    for hit in doc["hits"]:
        assert hit["@type"] == "search:Hit"
        assert hit["match"] == "教"
        assert set(hit["annotations"]) <= ids
        assert isinstance(hit.get("before", ""), str)
    # Reading order: canvas by canvas, as Mirador lists them.
    order = [c["id"] for c in manifest(client, VOLUME)["items"]]
    on = [canvas_of(r["on"]) for r in doc["resources"]]
    assert on == sorted(on, key=order.index)


def test_the_2_0_answer_has_what_the_spec_requires(client, sample):
    doc = search2(client, VOLUME, "教")
    ids = {a["id"] for a in doc["items"]}
    assert len(ids) == len(doc["items"]) > 3
    for annotation in doc["items"]:
        assert set(annotation) == {"id", "type", "motivation", "body", "target"}
    [page] = doc["annotations"]
    assert page["type"] == "AnnotationPage"
    assert len(page["items"]) == len(doc["items"])
    for context in page["items"]:
        assert context["type"] == "Annotation"
        assert context["motivation"] == "contextualizing"
        assert context["target"]["source"] in ids
    assert "partOf" not in doc  # one page: a simple list (§4.2.1)


def test_results_are_paged(client, sample, monkeypatch):
    monkeypatch.setattr(content_search, "PER_PAGE", 4)
    expected = sum(p.text.count("不") for p in sample[VOLUME].pages.all())
    assert expected > 8
    doc = search2(client, VOLUME, "不")
    collection = doc["partOf"]
    assert collection["type"] == "AnnotationCollection"
    assert collection["id"] == f"{HOST}/iiif/search/2/{VOLUME}?q={quote('不')}"
    assert collection["total"] == expected
    assert collection["first"]["id"] == doc["id"] == f"{collection['id']}&page=1"
    seen, starts = [], []
    while True:
        assert doc["partOf"] == collection
        starts.append(doc["startIndex"])
        seen += [a["id"] for a in doc["items"]]
        if "next" not in doc:
            break
        query = parse_qs(urlsplit(doc["next"]["id"]).query)
        doc = search2(client, VOLUME, "不", page=query["page"][0])
        assert doc["prev"]["type"] == "AnnotationPage"
    assert doc["id"] == collection["last"]["id"]
    assert len(seen) == len(set(seen)) == expected
    assert starts == list(range(0, expected, 4))
    v1 = search1(client, VOLUME, "不", page=2)
    assert v1["within"]["total"] == expected
    assert v1["startIndex"] == 4
    assert v1["next"].endswith("&page=3") and v1["prev"].endswith("&page=1")
    assert len(v1["hits"]) == 4


def test_parameters(client, sample):
    url = f"/iiif/search/2/{VOLUME}"
    empty = _get(client, url)
    assert empty["items"] == [] and empty["type"] == "AnnotationPage"
    assert search1(client, VOLUME, "")["resources"] == []
    # Motivation: 2.0's annotations are supplementing; date and user are ignored.
    assert search2(client, VOLUME, "人之初", motivation="painting")["items"] == []
    found = search2(client, VOLUME, "人之初", motivation="commenting supplementing")
    assert len(found["items"]) == 1
    ignored = search2(client, VOLUME, "人之初", user="https://example.org/u")
    assert ignored["ignored"] == ["user"] and len(ignored["items"]) == 1
    assert search1(client, VOLUME, "人之初", date="x")["within"]["ignored"] == ["date"]
    for params, word in (
        ({"q": "字" * 201}, "q"),
        ({"q": "人", "page": "two"}, "page"),
        ({"q": "人", "page": "0"}, "page"),
        ({"q": "人", "page": "-1"}, "page"),
    ):
        for path in (url, f"/iiif/search/1/{VOLUME}"):
            response = client.get(path, params)
            assert response.status_code == 400, (path, params)
            assert word in response.json()["error"]
    response = client.get(f"{url}/autocomplete", {"q": "人", "min": "many"})
    assert response.status_code == 400 and "min" in response.json()["error"]
    # A page past the last is empty, not an error.
    assert search2(client, VOLUME, "人之初", page=5)["items"] == []


# ---------------------------------------------------------------------------
# Autocomplete


def test_autocomplete_completes_what_the_item_says(client, sample):
    texts = [fold(p.text.replace("\n", "")) for p in sample[VOLUME].pages.all()]
    doc = _get(client, f"/iiif/search/2/{VOLUME}/autocomplete", q="人")
    assert doc["@context"] == SEARCH2
    assert doc["type"] == "TermPage"
    assert doc["id"] == f"{HOST}/iiif/search/2/{VOLUME}/autocomplete?q={quote('人')}"
    terms = {t["value"]: t["total"] for t in doc["items"]}
    assert terms and all(len(t) == 2 and t[0] == "人" for t in terms)
    assert terms["人之"] == sum(t.count("人之") for t in texts)
    totals = [t["total"] for t in doc["items"]]
    assert totals == sorted(totals, reverse=True)
    # Simplified typed, Traditional offered; longer prefixes go on.
    simplified = _get(client, f"/iiif/search/2/{VOLUME}/autocomplete", q="习")
    assert "習相" in [t["value"] for t in simplified["items"]]
    longer = _get(client, f"/iiif/search/2/{VOLUME}/autocomplete", q="人之")
    assert "人之初" in [t["value"] for t in longer["items"]]
    assert all(t["value"].startswith("人之") for t in longer["items"])
    # 1.0, as Mirador reads it: terms with match, url and count.
    v1 = _get(client, f"/iiif/search/1/{ORAL_HISTORY}/autocomplete", q="茶")
    assert v1["@context"] == SEARCH1
    assert v1["@type"] == "search:TermList"
    first = v1["terms"][0]
    assert first["match"] == "茶樓" and first["count"] == 2
    assert first["url"] == f"{HOST}/iiif/search/1/{ORAL_HISTORY}?q={quote('茶樓')}"
    assert search1(client, ORAL_HISTORY, first["match"])["within"]["total"] == 2
    limited = _get(client, f"/iiif/search/1/{ORAL_HISTORY}/autocomplete", q="茶", min=2)
    assert [t["match"] for t in limited["terms"]] == ["茶樓"]


# ---------------------------------------------------------------------------
# Access and headers


def test_doors_refuse_as_the_manifest_does(client):
    staff = make_user("archivist-doors", groups=["Archivists"])
    reader = make_user("reader-doors")
    restricted = ItemFactory(access_level=AccessLevel.STAFF, title="RESTRICTED-TITLE")
    withdrawn = ItemFactory(access_level=AccessLevel.WITHDRAWN)
    paths = [
        "/iiif/search/2/{}",
        "/iiif/search/1/{}",
        "/iiif/search/2/{}/autocomplete",
        "/iiif/search/1/{}/autocomplete",
    ]
    for path in paths:
        url = path.format(restricted.public_id)
        client.logout()
        response = client.get(url, {"q": "廣州"})
        assert response.status_code == 401, url
        assert response["Cache-Control"] == "private, no-store"
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "RESTRICTED-TITLE" not in response.content.decode()
        client.force_login(reader)
        assert client.get(url, {"q": "廣州"}).status_code == 403, url
        client.force_login(staff)
        assert client.get(url, {"q": "廣州"}).status_code == 200, url
        assert client.get(path.format(withdrawn.public_id)).status_code == 410
        assert client.get(path.format("no-such-item"), {"q": "x"}).status_code == 404
        # A bad parameter is not told to a refused visitor before the refusal.
        client.logout()
        assert client.get(url, {"page": "x"}).status_code == 401


def test_headers(client, sample, staff):
    response = client.get(f"/iiif/search/2/{VOLUME}", {"q": "人"})
    assert response["Content-Type"] == f'application/ld+json;profile="{SEARCH2}"'
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cache-Control"].startswith("public, max-age=")
    response = client.get(f"/iiif/search/1/{VOLUME}/autocomplete", {"q": "人"})
    assert response["Content-Type"] == f'application/ld+json;profile="{SEARCH1}"'
    client.force_login(staff)
    response = client.get(f"/iiif/search/1/{VOLUME}", {"q": "人"})
    assert response["Cache-Control"] == "private, no-store"
    assert client.post(f"/iiif/search/1/{VOLUME}", {"q": "人"}).status_code == 405


# ---------------------------------------------------------------------------
# Boxes of spans (archive/search/layout.py)


def _page(text: str, lines, width=1000, height=1000):
    return SimpleNamespace(
        text=text,
        text_layout={"width": width, "height": height, "lines": lines},
        width=width,
        height=height,
    )


def columns() -> list:
    """Two columns of a vertical page, right to left (a fresh copy each time)."""
    return [
        [["甲", 900, 100, 50, 50], ["乙", 900, 160, 50, 50], ["丙", 900, 220, 50, 50]],
        [["丁", 800, 100, 50, 50], ["戊", 800, 160, 52, 50]],
    ]


def test_boxes_follow_the_layout_line_by_line():
    page = _page("甲乙丙\n丁戊", columns())
    assert boxes_for_spans(page, [(1, 3)]) == [(900, 160, 50, 110)]
    # A span across the column break: one box per column.
    assert boxes_for_spans(page, [(2, 6)]) == [(900, 220, 50, 50), (800, 100, 52, 110)]
    [[first, second]] = span_pieces(page, [(2, 6)])
    assert (first.start, first.end, second.start, second.end) == (2, 3, 4, 6)
    assert boxes_for_spans(page, [(0, 1), (5, 6)]) == [
        (900, 100, 50, 50),
        (800, 160, 52, 50),
    ]


def test_boxes_when_the_text_is_not_the_layouts_own():
    # Other line breaks and a character the layout lacks.
    page = _page("甲 乙\n丙丁X戊", columns())
    assert boxes_for_spans(page, [(4, 8)]) == [(900, 220, 50, 50), (800, 100, 52, 110)]
    assert boxes_for_spans(page, [(6, 7)]) == []
    # The text in Simplified, the layout in Traditional: they fold together.
    page = _page(
        "习相远", [[["習", 0, 0, 10, 10], ["相", 0, 10, 10, 10], ["遠", 0, 20, 10, 10]]]
    )
    assert boxes_for_spans(page, [(0, 3)]) == [(0, 0, 10, 30)]
    # A character the layout reads otherwise gets no box; its neighbours do.
    lines = columns()
    lines[0][1][0] = "乚"
    page = _page("甲乙丙\n丁戊", lines)
    assert boxes_for_spans(page, [(0, 3)]) == [(900, 100, 50, 170)]
    assert boxes_for_spans(page, [(1, 2)]) == []


def test_boxes_of_words_and_of_no_layout():
    # A column set as one word is shared out; a Latin word keeps its box.
    page = _page(
        "天地玄黃 Hello world",
        [
            [["天地玄黃", 10, 0, 40, 400]],
            [["Hello", 0, 500, 100, 20], ["world", 110, 500, 90, 20]],
        ],
    )
    assert boxes_for_spans(page, [(1, 3)]) == [(10, 100, 40, 200)]
    assert boxes_for_spans(page, [(13, 15)]) == [(110, 500, 90, 20)]
    assert boxes_for_spans(page, [(0, 4), (5, 16)]) == [
        (10, 0, 40, 400),
        (0, 500, 200, 20),
    ]
    # Boxes are cut at the page's edge.
    edge = _page("甲", [[["甲", 990, 990, 50, 50]]])
    assert boxes_for_spans(edge, [(0, 1)]) == [(990, 990, 10, 10)]
    plain = _page("甲乙", [[["甲乙", 0, 0, 0, 0]]])
    assert boxes_for_spans(plain, [(0, 2)]) == []
    assert (
        boxes_for_spans(
            SimpleNamespace(text="甲", text_layout=None, width=1, height=1), [(0, 1)]
        )
        == []
    )
    assert boxes_for_spans(_page("甲", "not a layout"), [(0, 1)]) == []
