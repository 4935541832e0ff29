"""The search page ``/search/?q=`` (issue 7 item 4), on the indexed sample archive.

The sample archive is loaded once per module (rolled back after it), its
oral history given a transcript, and the whole index built once into a
folder of the module's; tests that change access build their own index.
"""

from __future__ import annotations

import io
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.test import override_settings

from archive.models import AccessLevel, Item
from tests.archive.factories import ItemFactory, make_user
from tests.themes import conftest as themes
from tests.themes.conftest import ORAL_HISTORY, ORAL_HISTORY_SEGMENTS, VOLUME

# The sample archive, loaded once per module (fixtures of tests/themes).
sample_loaded_once = themes.sample_loaded_once
sample = themes.sample

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
HIT_LINK = re.compile(r'<a class="hit-link" href="([^"]+)"')


def reindex() -> None:
    """Rebuild the whole index of the current SEARCH_INDEX_DIR, quietly."""
    call_command("reindex", stdout=io.StringIO())


@pytest.fixture(scope="module")
def index_once(sample_loaded_once, django_db_blocker, tmp_path_factory):
    """The sample with its oral history transcribed, indexed into a module folder."""
    from tests.transcription.doors import transcript_make

    folder = tmp_path_factory.mktemp("search-index")
    with (
        django_db_blocker.unblock(),
        override_settings(
            SEARCH_INDEX_DIR=folder, ARCHIVE_STORAGE_ROOT=sample_loaded_once
        ),
    ):
        transcript_make(
            Item.objects.get(public_id=ORAL_HISTORY),
            segments=ORAL_HISTORY_SEGMENTS,
            language="yue",
        )
        reindex()
    return folder


@pytest.fixture
def indexed(index_once, sample, settings):
    """The indexed sample for one test: its items by public id."""
    settings.SEARCH_INDEX_DIR = index_once
    return sample


def hit_links(response) -> list[str]:
    """The links of the hits on a results page, in order."""
    return [unescape(url) for url in HIT_LINK.findall(response.content.decode())]


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(unescape(url)).query)


# -- Finding and showing -------------------------------------------------------


def test_traditional_and_simplified_queries_give_the_same_hits(client, indexed):
    traditional = client.get("/search/", {"q": "廣州"}, **EN)
    simplified = client.get("/search/", {"q": "广州"}, **EN)
    assert traditional.status_code == simplified.status_code == 200
    assert hit_links(traditional) == hit_links(simplified)
    links = hit_links(traditional)
    assert f"/items/{ORAL_HISTORY}/?t=13" in links  # the air-raid segment
    # The title page's imprint: its page in the viewer, zoomed to the hit.
    assert any(link.startswith(f"/items/{VOLUME}/#page=1&xywh=") for link in links)
    assert "7 results for" in traditional.content.decode()


def test_jyutping_finds_the_chinese_text(client, indexed):
    links = hit_links(client.get("/search/", {"q": "gwong2 zau1"}, **EN))
    assert f"/items/{ORAL_HISTORY}/?t=13" in links


def test_hits_are_marked_and_chinese_text_carries_its_language(client, indexed):
    body = client.get("/search/", {"q": "人之初"}, **EN).content.decode()
    assert "<mark>人之初</mark>" in body
    # Stored Chinese on an English page says it is Chinese (WCAG 3.1.2).
    assert re.search(r'<p class="snippet" lang="zh-Hant">[^<]*<mark>人之初', body)
    # English readers get a record's English title; Chinese titles say their script.
    assert "<span>Three Character Classic, first juan</span>" in body
    client.cookies["yc_script"] = "orig"
    body = client.get(
        "/search/", {"q": "人之初"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    assert '<span lang="zh-Hant">三字經 卷上</span>' in body


def test_the_result_count_is_announced_and_the_query_is_in_the_title(client, indexed):
    body = client.get("/search/", {"q": "茶樓"}, **EN).content.decode()
    status = re.search(r'<p id="search-status"[^>]*role="status">(.*?)</p>', body, re.S)
    assert status and "6 results for" in status.group(1)
    assert '<span lang="zh-Hant">茶樓</span>' in status.group(1)
    assert re.search(r"<title>茶樓 · Search · ", body)
    assert '<meta name="robots" content="noindex">' in body


def test_the_empty_search_page_explains_the_query_language(client, indexed):
    response = client.get("/search/", **EN)
    body = response.content.decode()
    assert response.status_code == 200
    assert "noindex" not in body  # the page itself may be found
    assert '<details class="search-help" open>' in body
    assert "kind:oral_history" in body
    assert 'class="hit-link"' not in body


def test_segment_hits_play_from_their_time_and_page_hits_open_their_page(
    client, indexed
):
    body = client.get("/search/", {"q": "茶樓"}, **EN).content.decode()
    segment = re.search(
        rf'href="/items/{ORAL_HISTORY}/\?t=4">.*?</a>', body, re.S
    ).group(0)
    assert "play from" in segment and "0:04" in segment
    assert "Speaker:" in body and "梁伯" in body
    body = client.get("/search/", {"q": "人之初"}, **EN).content.decode()
    page = re.search(
        rf'href="/items/{VOLUME}/#page=2&amp;xywh=(\d+),(\d+),(\d+),(\d+)">.*?</a>',
        body,
        re.S,
    )
    assert page and "page 2" in page.group(0)
    # The box is the first column of 人之初 on the 1200 × 1800 page.
    x, y, w, h = map(int, page.groups())
    assert 0 <= x < x + w <= 1200 and 0 <= y < y + h <= 1800
    assert h > w  # three characters down a column


def test_page_hits_without_a_layout_open_their_page(client, indexed):
    from archive.models import PageImage

    PageImage.objects.filter(item__public_id=VOLUME).update(text_layout=None)
    links = hit_links(client.get("/search/", {"q": "人之初"}, **EN))
    assert links == [f"/items/{VOLUME}/#page=2"]


# -- Facets, paging, sorting ---------------------------------------------------


def facet_links(body: str, name: str) -> dict[str, tuple[str, str]]:
    """value label -> (url, count) of one facet group on a results page."""
    group = re.search(
        rf'<ul class="facet" aria-labelledby="facet-{name}">(.*?)</ul>', body, re.S
    )
    assert group, f"no {name} facet"
    found = {}
    for url, inner in re.findall(
        r'<a class="facet-link" href="([^"]+)"[^>]*>(.*?)</a>', group.group(1), re.S
    ):
        label = re.sub(r"<[^>]+>|✓", "", inner.split('<span class="facet-count"')[0])
        count = re.search(r'class="facet-count"[^>]*>(\d+)<', inner).group(1)
        found[label.strip()] = (unescape(url), count)
    return found


def test_facets_count_and_a_facet_link_narrows_the_result(client, indexed):
    body = client.get("/search/", {"q": "廣州", "sort": "-date"}, **EN).content.decode()
    types = facet_links(body, "type")
    assert types["Recording transcripts"][1] == "1"
    assert types["Book pages"][1] == "2"
    url, _count = types["Recording transcripts"]
    # The link keeps the query and the order and adds the filter.
    assert query(url) == {"q": ["廣州"], "sort": ["-date"], "type": ["segment"]}
    narrowed = client.get(url, **EN)
    assert hit_links(narrowed) == [f"/items/{ORAL_HISTORY}/?t=13"]
    narrowed_body = narrowed.content.decode()
    assert "1 result for" in narrowed_body
    # The chosen value is marked, and its link (and the chip) remove it.
    chosen = facet_links(narrowed_body, "type")["Remove filter Recording transcripts"]
    assert query(chosen[0]) == {"q": ["廣州"], "sort": ["-date"]}
    assert 'aria-current="true"' in narrowed_body
    assert "Filters in use" in narrowed_body
    # Other facets count within the narrowed result: the one segment.
    themes = facet_links(narrowed_body, "theme")
    assert len(themes) == 2 and {count for _url, count in themes.values()} == {"1"}


def test_every_facet_group_is_offered(client, indexed):
    body = client.get("/search/", {"q": "廣州"}, **EN).content.decode()
    for name in ("type", "theme", "kind", "decade", "place", "dialect", "collection"):
        assert facet_links(body, name), name
    places = {
        query(url)["place"][0]: (label, url)
        for label, (url, _count) in facet_links(body, "place").items()
    }
    assert places["順德"][0] == "Shunde"  # labelled in the UI language
    narrowed = client.get(places["順德"][1], **EN)
    assert narrowed.status_code == 200
    # 順德 is the volume's place: its record and two of its pages (the work has none).
    links = hit_links(narrowed)
    assert len(links) == 3
    assert {link.split("/")[2] for link in links} == {VOLUME}


def test_paging_walks_through_every_hit_once(client, indexed):
    everything = hit_links(client.get("/search/", {"q": "廣州"}, **EN))
    assert len(everything) == 7
    seen = []
    for number in (1, 2, 3):
        response = client.get(
            "/search/", {"q": "廣州", "per_page": 3, "page": number}, **EN
        )
        body = response.content.decode()
        seen += hit_links(response)
        assert f'<ol class="hits" start="{(number - 1) * 3 + 1}">' in body
        pager = re.search(
            r'<nav class="search-pager" aria-label="Result pages">(.*?)</nav>',
            body,
            re.S,
        ).group(1)
        current = re.search(r'href="([^"]+)" aria-current="page"', pager)
        assert current and f"Page </span>{number}</a>" in pager
        if number < 3:
            assert 'rel="next"' in pager
        else:
            assert 'rel="next"' not in pager and 'rel="prev"' in pager
    assert sorted(seen) == sorted(everything)  # each hit once, none left out


def test_a_page_past_the_last_says_so(client, indexed):
    body = client.get("/search/", {"q": "廣州", "page": 9}, **EN).content.decode()
    assert "There are no results on this page." in body
    assert "Go to the last page of results" in body


def test_sorting_by_date_orders_the_hits(client, indexed):
    def order(sort: str) -> list[str]:
        links = hit_links(
            client.get(
                "/search/",
                {"q": "廣州", "type": ["item", "page", "segment"], "sort": sort},
                **EN,
            )
        )
        return [link.split("/")[2] for link in links]

    oldest_first = order("date")
    newest_first = order("-date")
    assert oldest_first[:3] == [VOLUME] * 3  # 1884 before the 2026 recordings
    assert VOLUME not in oldest_first[3:]
    assert newest_first[-3:] == [VOLUME] * 3
    assert VOLUME not in newest_first[:-3]
    body = client.get("/search/", {"q": "廣州", "sort": "date"}, **EN).content.decode()
    assert re.search(r'aria-current="true">Date, oldest first<', body)


# -- Suggestions, warnings, failure ---------------------------------------------


def test_an_empty_result_suggests_the_other_script_and_jyutping(client, indexed):
    response = client.get("/search/", {"q": "廣州茶餐廳"}, **EN)
    body = response.content.decode()
    assert response.status_code == 200
    assert "0 results for" in body and "Nothing was found." in body
    suggestions = re.search(r'<ul class="suggestions"[^>]*>(.*?)</ul>', body, re.S)
    assert suggestions
    links = re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', suggestions.group(1))
    texts = [text for _url, text in links]
    assert texts[0] == "广州茶餐厅"
    assert texts[1].startswith("gwong2 zau1")
    assert query(links[0][0])["q"] == ["广州茶餐厅"]
    assert 'lang="zh-Hans">广州茶餐厅<' in suggestions.group(1)


def test_query_warnings_are_explained_in_words(client, indexed):
    body = client.get("/search/", {"q": '"西關 decade:abc'}, **EN).content.decode()
    assert "About your search" in body
    assert "A quotation mark was not closed" in body


def test_an_unavailable_engine_answers_503_with_a_message(client, indexed, monkeypatch):
    from archive.search import service
    from archive.search.engine import EngineUnavailable

    class Down:
        def search(self, request):
            raise EngineUnavailable("down for the test")

    monkeypatch.setattr(service, "engine_get", Down)
    response = client.get("/search/", {"q": "廣州"}, **EN)
    assert response.status_code == 503
    assert "Search is not available just now" in response.content.decode()
    assert response["Retry-After"]


# -- The header box and the 繁/简 switch ------------------------------------------


SEARCH_BOX = re.compile(
    r'<form class="site-search" role="search" action="/search/" method="get">'
    r'.*?<label for="site-search-q"[^>]*>Search the archive</label>'
    r'.*?<input id="site-search-q" type="search" name="q"([^>]*)>',
    re.S,
)


def test_every_public_page_has_the_search_box(client, indexed):
    for path in ("/", "/institutions/", f"/items/{VOLUME}/", "/lingnan/"):
        response = client.get(path, **EN)
        assert response.status_code == 200, path
        box = SEARCH_BOX.search(response.content.decode())
        assert box, path
        assert "value=" not in box.group(1), path
    box = SEARCH_BOX.search(
        client.get("/search/", {"q": "廣州"}, **EN).content.decode()
    )
    assert box and 'value="廣州"' in box.group(1)


def test_the_script_switch_changes_the_display_but_not_the_query(client, indexed):
    client.cookies["yc_script"] = "hans"
    chinese = {"HTTP_ACCEPT_LANGUAGE": "zh-hant"}
    body = client.get("/search/", {"q": "廣州"}, **chinese).content.decode()
    assert "<mark>广州</mark>" in body
    assert "<mark>廣州</mark>" not in body
    assert "三字经 卷上" in body  # titles follow the switch
    assert re.search(r"<title>廣州 · ", body)  # the query does not
    assert 'value="廣州"' in body
    client.cookies["yc_script"] = "hant"
    body = client.get("/search/", {"q": "广州"}, **chinese).content.decode()
    assert "<mark>廣州</mark>" in body
    assert 'value="广州"' in body


# -- Access ----------------------------------------------------------------------


def test_a_restricted_item_is_listed_only_to_staff(client, indexed, settings, tmp_path):
    settings.SEARCH_INDEX_DIR = tmp_path / "restricted-index"
    Item.objects.filter(public_id=ORAL_HISTORY).update(access_level=AccessLevel.STAFF)
    reindex()
    anonymous = client.get("/search/", {"q": "茶樓"}, **EN)
    assert ORAL_HISTORY not in anonymous.content.decode()
    assert "0 results for" in anonymous.content.decode()
    assert anonymous["Cache-Control"] == "no-cache"
    client.force_login(make_user("searcher", groups=["Archivists"]))
    staff = client.get("/search/", {"q": "茶樓"}, **EN)
    assert f"/items/{ORAL_HISTORY}/?t=4" in hit_links(staff)
    assert staff["Cache-Control"] == "private, no-store"


#: level -> (access level, embargo offset in days), as the access walk has them.
LEVELS = {
    "public": (AccessLevel.PUBLIC, None),
    "reading_room": (AccessLevel.READING_ROOM, None),
    "staff": (AccessLevel.STAFF, None),
    "embargoed": (AccessLevel.EMBARGOED, 30),
    "embargo_passed": (AccessLevel.EMBARGOED, -1),
    "withdrawn": (AccessLevel.WITHDRAWN, None),
}
#: visitor -> levels whose items it may find.
SEES = {
    "anonymous": {"public", "embargo_passed"},
    "reading_room": {"public", "embargo_passed", "reading_room"},
    "user": {"public", "embargo_passed"},
    "staff": {"public", "embargo_passed", "reading_room", "staff", "embargoed"},
}


def test_search_lists_each_level_only_to_whom_may_see_it(
    client, db, settings, tmp_path
):
    import datetime as dt

    from django.utils import timezone

    settings.ARCHIVE_READING_ROOM_NETWORKS = ["10.20.0.0/16"]
    for level, (access, offset) in LEVELS.items():
        ItemFactory(
            title=f"走查 WALK-{level.upper()}-TITLE",
            access_level=access,
            embargo_until=(
                timezone.localdate() + dt.timedelta(days=offset)
                if offset is not None
                else None
            ),
        )
    reindex()
    user = make_user("reader")
    staff = make_user("archivist-search", groups=["Archivists"])
    for visitor, sees in SEES.items():
        client.logout()
        if visitor == "user":
            client.force_login(user)
        elif visitor == "staff":
            client.force_login(staff)
        address = "10.20.30.40" if visitor == "reading_room" else "203.0.113.9"
        for url in ("/search/?q=walk", "/api/search?q=walk"):
            body = client.get(url, REMOTE_ADDR=address, **EN).content.decode()
            for level in LEVELS:
                shown = f"WALK-{level.upper()}-TITLE" in body
                assert shown == (level in sees), (url, visitor, level)
