"""The engine contract: every engine gives the same answers to the same requests.

Runs against the embedded engine always and against OpenSearch when
``OPENSEARCH_URL`` is set (marker ``opensearch``; conftest.py). Documents are
built here directly, so these tests need no database.
"""

from __future__ import annotations

import datetime

import pytest

from archive.search.engine import (
    AccessScope,
    EngineRequest,
    Gate,
    SearchDocument,
)
from archive.search.query import parse

TODAY = datetime.date(2026, 11, 29)
PUBLIC = AccessScope(frozenset({"public"}), TODAY)
STAFF = AccessScope(frozenset({"public", "reading_room", "staff", "embargoed"}), TODAY)
READING_ROOM = AccessScope(frozenset({"public", "reading_room"}), TODAY)


def doc(key: str, body: str = "", **fields) -> SearchDocument:
    fields.setdefault("type", "segment")
    fields.setdefault("title", "")
    return SearchDocument(key=key, body=body, **fields)


def keys(engine, q: str = "", **options) -> list[str]:
    options.setdefault("scope", PUBLIC)
    options.setdefault("limit", 50)
    result = engine.search(EngineRequest(query=parse(q), **options))
    return [hit.document.key for hit in result.hits]


CORPUS = [
    doc(
        "a",
        "我哋細個嗰陣，成日去西關嘅茶樓飲茶。",
        kind="oral_history",
        themes=("lingnan",),
        places=("西關",),
        date=1938,
        decade="1930",
        item="oh1",
    ),
    doc(
        "b",
        "西關大屋旁邊有間茶樓，樓下賣點心。",
        kind="oral_history",
        themes=("lingnan", "red"),
        date=1950,
        decade="1950",
        item="oh2",
    ),
    doc(
        "c",
        "1938年廣州淪陷，市民逃難。",
        kind="documentary_video",
        themes=("red",),
        places=("廣州",),
        date=1938,
        decade="1930",
        item="doc1",
    ),
    doc("d", "我們在廣州的茶館喝茶。", kind="book_volume", date=None, item="bk1"),
    doc(
        "e",
        "關於西方的茶葉貿易與樓船。",
        kind="book_volume",
        themes=("maritime",),
        date=1760,
        decade="1760",
        item="bk2",
    ),
    doc(
        "f",
        "佢哋話台山話同廣州話唔同。",
        kind="oral_history",
        dialect="台山話",
        date=1990,
        decade="1990",
        item="oh3",
    ),
]


@pytest.fixture
def corpus(engine):
    assert engine.index(CORPUS) == len(CORPUS)
    return engine


def test_index_counts_and_replaces_by_key(engine):
    engine.index(CORPUS)
    assert engine.count() == len(CORPUS)
    engine.index([doc("a", "完全唔同嘅內容：粵劇")])
    assert engine.count() == len(CORPUS)
    assert keys(engine, "粵劇") == ["a"]
    assert "a" not in keys(engine, "茶樓")


def test_two_characters_match_anywhere_and_one_character_matches_its_unigram(corpus):
    assert set(keys(corpus, "茶樓")) == {"a", "b"}
    assert set(keys(corpus, "樓")) == {"a", "b", "e"}
    assert keys(corpus, "淪陷") == ["c"]


def test_simplified_query_finds_traditional_text(corpus):
    assert set(keys(corpus, "广州")) == set(keys(corpus, "廣州")) == {"c", "d", "f"}
    assert set(keys(corpus, "茶楼")) == {"a", "b"}


def test_all_terms_are_required(corpus):
    assert keys(corpus, "西關 點心") == ["b"]
    assert keys(corpus, "茶樓 淪陷") == []


def test_an_exact_run_ranks_above_its_characters_apart(engine):
    engine.index(
        [
            doc("apart", "西關有好多人，佢哋都鍾意茶，樓上樓下。"),
            doc("run", "我記得西關茶樓，好熱鬧。"),
        ]
    )
    # 西 關 茶 樓 as unigrams match both; the run ranks first.
    assert keys(engine, "西關茶樓")[:1] == ["run"]


def test_quoted_phrase_needs_the_exact_run(corpus):
    assert keys(corpus, '"西關嘅茶樓"') == ["a"]
    assert keys(corpus, '"茶樓飲茶"') == ["a"]
    assert keys(corpus, '"西關茶樓"') == []


def test_a_phrase_may_run_across_words_and_characters(corpus):
    assert keys(corpus, '"1938年"') == ["c"]
    assert keys(corpus, '"1938 廣州"') == []
    # Words, single characters and longer runs in one phrase: only side by side.
    assert keys(corpus, '"1938年廣州"') == ["c"]
    assert keys(corpus, '"1938年淪陷"') == []
    assert keys(corpus, '"市民 逃"') == ["c"]
    assert keys(corpus, '"廣州 逃"') == []
    assert keys(corpus, '"淪陷 市民"') == []  # a comma between them


def test_exclusion_removes_documents(corpus):
    assert set(keys(corpus, "茶樓 -點心")) == {"a"}
    assert set(keys(corpus, '廣州 -"台山話"')) == {"c", "d"}


def test_jyutping_with_and_without_tones(corpus):
    expected = {"c", "d", "f"}
    assert expected <= set(keys(corpus, "gwong2 zau1"))
    assert expected <= set(keys(corpus, "gwongzau"))
    assert expected <= set(keys(corpus, "gwong zau"))
    assert "a" not in keys(corpus, "gwongzau")


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("sai1 gwaan1", {"a", "b"}),  # 西關, not 關於西方
        ("saigwaan", {"a", "b"}),
        ("caa4 lau4", {"a", "b"}),  # 茶樓, not 茶葉 ... 樓船
        ("caa lau", {"a", "b"}),
        ("caa4 lau4 jam2 caa4", {"a"}),
        ("caa lau jam caa", {"a"}),
        ("jat heoi sai", {"a"}),  # 成日去西關: across words, a sixth tone
        ("gwong2 zau", {"c", "d", "f"}),  # toned and toneless mixed
        ("fong1", {"e"}),
        ("zan6 sing4", set()),  # 嗰陣，成日: not across the comma
        ("lau4 lau4", set()),  # 茶樓，樓下
        ("zansing", set()),
        ("茶 -saigwaan", {"d", "e"}),
    ],
)
def test_jyutping_finds_exactly_the_runs_it_reads(corpus, q, expected):
    assert set(keys(corpus, q)) == expected


def test_colloquial_and_standard_forms_find_each_other(corpus):
    colloquial = keys(corpus, "我哋")
    standard = keys(corpus, "我們")
    assert set(colloquial) >= {"a", "d"}
    assert set(standard) >= {"a", "d"}
    # The form as typed ranks first.
    assert colloquial[0] == "a"
    assert standard[0] == "d"


def test_a_hit_in_the_title_weighs_more(engine):
    engine.index(
        [
            doc(
                "body",
                "文章講到珠江同埋其他嘢，內容好長好長好長。",
                title="一篇文章",
                type="item",
            ),
            doc("title", "內容好長好長好長，其他嘢。", title="珠江", type="item"),
        ]
    )
    assert keys(engine, "珠江")[0] == "title"


def test_filters_types_and_item(corpus):
    assert set(keys(corpus, "", filters={"kind": ("oral_history",)})) == {"a", "b", "f"}
    assert set(keys(corpus, "茶樓", filters={"theme": ("red",)})) == {"b"}
    assert set(keys(corpus, "", filters={"theme": ("red", "maritime")})) == {
        "b",
        "c",
        "e",
    }
    assert set(
        keys(corpus, "", filters={"kind": ("oral_history",), "decade": ("1930",)})
    ) == {"a"}
    assert set(keys(corpus, "茶樓", excluded_filters={"theme": ("red",)})) == {"a"}
    assert set(keys(corpus, "", filters={"dialect": ("台山話",)})) == {"f"}
    assert set(keys(corpus, "", filters={"place": ("廣州",)})) == {"c"}
    assert keys(corpus, "茶", item="oh2") == ["b"]
    corpus.index([doc("x", "茶樓", type="item", item="oh9")])
    assert keys(corpus, "茶樓", types=("item",)) == ["x"]
    assert "x" not in keys(corpus, "茶樓", types=("segment",))


def test_a_grant_opens_only_the_item_gate_of_its_items_documents(engine):
    engine.index(
        [
            doc("granted", "粵劇大戲", item="oh1", gates=(Gate("staff"),)),
            doc(
                "granted-closed",
                "粵劇大戲",
                item="oh1",
                gates=(Gate("staff"), Gate("staff")),
            ),
            doc("other", "粵劇大戲", item="oh2", gates=(Gate("staff"),)),
            doc("open", "粵劇大戲", item="oh3"),
        ]
    )
    granted = AccessScope(PUBLIC.levels, TODAY, frozenset({"oh1"}))
    assert set(keys(engine, "粵劇", scope=granted)) == {"granted", "open"}
    assert set(keys(engine, "粵劇")) == {"open"}
    for document in ("granted", "granted-closed", "other", "open"):
        expected = document in ("granted", "open")
        found = document in keys(engine, "粵劇", scope=granted)
        assert found is expected, document


def test_access_scope_filters_at_query_time(engine):
    tomorrow = TODAY + datetime.timedelta(days=1)
    engine.index(
        [
            doc("public", "粵劇大戲"),
            doc("staff", "粵劇大戲", gates=(Gate("staff"),)),
            doc("room", "粵劇大戲", gates=(Gate("reading_room"),)),
            doc("later", "粵劇大戲", gates=(Gate("embargoed", tomorrow),)),
            doc("lifted", "粵劇大戲", gates=(Gate("embargoed", TODAY),)),
            doc("two", "粵劇大戲", gates=(Gate("public"), Gate("staff"))),
        ]
    )
    assert set(keys(engine, "粵劇")) == {"public", "lifted"}
    assert set(keys(engine, "粵劇", scope=READING_ROOM)) == {"public", "lifted", "room"}
    assert set(keys(engine, "粵劇", scope=STAFF)) == {
        "public",
        "staff",
        "room",
        "later",
        "lifted",
        "two",
    }
    # The embargo lifts on its date, with no reindex: the scope's day decides.
    next_day = AccessScope(PUBLIC.levels, tomorrow)
    assert set(keys(engine, "粵劇", scope=next_day)) == {"public", "lifted", "later"}
    # Facets and totals never count what the reader may not see.
    result = engine.search(
        EngineRequest(query=parse("粵劇"), scope=PUBLIC, facets=("type",))
    )
    assert result.total == 2
    assert result.facets["type"] == [("segment", 2)]


def test_facets_count_every_match_not_only_the_page(corpus):
    result = corpus.search(
        EngineRequest(
            query=parse(""), scope=PUBLIC, limit=1, facets=("kind", "theme", "decade")
        )
    )
    assert result.total == len(CORPUS)
    assert len(result.hits) == 1
    assert result.facets["kind"] == [
        ("oral_history", 3),
        ("book_volume", 2),
        ("documentary_video", 1),
    ]
    assert result.facets["theme"] == [("lingnan", 2), ("red", 2), ("maritime", 1)]
    assert dict(result.facets["decade"])["1930"] == 2


def test_sorting_by_date_puts_unknown_dates_last(corpus):
    ascending = keys(corpus, "", sort="date")
    descending = keys(corpus, "", sort="-date")
    assert ascending[0] == "e" and ascending[-1] == "d"
    assert descending[0] == "f" and descending[-1] == "d"


def test_paging(corpus):
    everything = keys(corpus, "", sort="date", limit=10)
    pages = [
        keys(corpus, "", sort="date", offset=offset, limit=2) for offset in (0, 2, 4)
    ]
    assert sum(pages, []) == everything
    result = corpus.search(
        EngineRequest(query=parse(""), scope=PUBLIC, offset=4, limit=10)
    )
    assert result.total == len(CORPUS) and len(result.hits) == 2


def test_delete_and_delete_item(corpus):
    corpus.delete(["a"])
    assert "a" not in keys(corpus, "茶樓")
    corpus.index([doc("b2", "西關茶樓第二段", item="oh2")])
    corpus.delete_item("oh2")
    assert keys(corpus, "茶樓") == []
    assert corpus.count() == len(CORPUS) - 2


def test_replace_all_swaps_in_the_new_documents(corpus):
    progress = []
    count = corpus.replace_all(
        [doc("n1", "新嘅內容：粵劇"), doc("n2", "粵劇同南音")], progress.append
    )
    assert count == 2
    assert corpus.count() == 2
    assert set(keys(corpus, "粵劇")) == {"n1", "n2"}
    assert keys(corpus, "茶樓") == []
    assert progress and progress[-1] == 2


def test_clear(corpus):
    corpus.clear()
    assert corpus.count() == 0
    assert keys(corpus, "茶樓") == []


def test_a_hit_gives_back_the_document_as_indexed(engine):
    original = SearchDocument(
        key="segment:42",
        type="segment",
        title="西關茶樓憶一九三八",
        body="我哋去飲茶。",
        item="oh-1",
        gates=(Gate("public"), Gate("embargoed", datetime.date(2020, 1, 2))),
        institution=7,
        kind="oral_history",
        themes=("lingnan", "red"),
        places=("西關",),
        dialect="廣州話",
        collection="oral-history",
        decade="1930",
        date=1938,
        start=12.345,
        end=15.0,
        speaker="陳伯",
        page=None,
        page_id="",
        url="/items/oh-1/?t=12",
        extra={"transcript": "t1", "primary": True, "title_en": "Teahouse"},
    )
    engine.index([original])
    result = engine.search(EngineRequest(query=parse("飲茶"), scope=PUBLIC))
    assert result.hits[0].document == original
    assert result.hits[0].score > 0


def test_a_query_of_filters_alone_lists_documents(corpus):
    result = corpus.search(
        EngineRequest(query=parse(""), scope=PUBLIC, filters={"kind": ("book_volume",)})
    )
    assert result.total == 2


def test_health_reports_documents(corpus):
    report = corpus.health()
    assert report["ok"] is True
    assert report["documents"] == len(CORPUS)
