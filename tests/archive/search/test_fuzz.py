"""Bad input on search: property-based fuzzing of the query, the page and the API.

Trust issue, "bad input everywhere". What anyone may type or put in a URL:
arbitrary Unicode (CJK, Jyutping-like words, quotes and unbalanced quotes,
``-``, field filters with junk values, control characters, NUL, invalid UTF-8
bytes, very long strings) in ``q`` and in every parameter of
``archive.search.service.params_from`` and docs/search-api.md.

- The parser (``archive.search.query.parse``) is pure: many examples check it
  never fails (its catch-all ``internal_error`` never fires) and keeps its
  promises (limits, filter fields, what is read of a long query).
- The page ``/search/`` forgives: it always answers 200, and never echoes
  what was typed unescaped.
- The API ``/api/search`` is strict: 200, or 400 with a JSON body naming the
  parameters at fault; which answer is due is decided here from the rules of
  docs/search-api.md, written independently of the view. Never a 5xx: with
  the engine up, a 503 would mean the view's catch-all hid a failure.

A small index (two public items) is built once per module.
"""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import quote, quote_from_bytes, urlencode

import pytest
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from archive.search.query import (
    FILTER_FIELDS,
    MAX_CLAUSES,
    MAX_QUERY_CHARS,
    WARNING_CODES,
    parse,
)

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
FUZZ = settings(
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
#: A marker that must never come back unescaped in the page's HTML.
MARKUP = "<x-fuzz>"

# -- What people type ------------------------------------------------------------------

QUERY_PIECES = st.sampled_from(
    [
        "廣州",
        "广州",
        "西關茶樓",
        "我哋",
        "一九三八",
        "gwong2",
        "zau1",
        "gwongzau",
        "gwong2zau1",
        "hong kong",
        "sin",
        '"',
        "“",
        "”",
        "「",
        "」",
        "『",
        "＂",
        "-",
        "--",
        " -",
        "kind:",
        "place:",
        "theme:",
        "dialect:",
        "collection:",
        "decade:",
        "-kind:",
        "decade:1930s",
        "decade:一九三〇年代",
        "decade:9999999999999999999999",
        "decade:-5",
        "kind:oral_history",
        "theme:lingnan",
        "place:廣州",
        ":",
        "x:y",
        " ",
        "\u3000",
        "\t",
        "\n",
        "\x00",
        "\x1b",
        "\u200b",
        "\u0301",
        "\ufeff",
        "\U000e0100",
        "🙂",
        "，",
        "ｇｗｏｎｇ",
        "Ⅻ",
        "ß",
        "ﬁ",
        "İ",
        MARKUP,
        "&amp;",
        "9" * 60,
        "字" * 40,
    ]
)
query_text = st.one_of(
    st.text(max_size=120),
    st.lists(QUERY_PIECES, max_size=30).map("".join),
    st.lists(st.one_of(QUERY_PIECES, st.text(max_size=4)), max_size=25).map(" ".join),
)


# -- The parser: pure, many examples ---------------------------------------------------


@settings(max_examples=600, deadline=None, database=None)
@given(text=query_text)
@example(text='kind:"')
@example(text="-" * 600)
@example(text='"' * 501)
@example(text="decade:" + "9" * 5000)
def test_the_parser_reads_anything_and_keeps_its_promises(text):
    parsed = parse(text)
    assert "internal_error" not in parsed.warning_codes, text
    assert parsed.raw == text
    assert set(parsed.warning_codes) <= set(WARNING_CODES)
    for warning in parsed.warnings:
        assert 0 <= warning.position <= len(text)
    clauses = parsed.must + parsed.phrases + parsed.excluded
    assert len(clauses) <= MAX_CLAUSES
    for clause in clauses:
        for alternative in clause.alternatives:
            assert alternative.terms
            assert all(term.text and term.offset >= 0 for term in alternative.terms)
    for item in parsed.filters:
        assert item.field in FILTER_FIELDS and item.value
        if item.field == "decade":
            assert re.fullmatch(r"-?[0-9]*0", item.value), item


@settings(max_examples=200, deadline=None, database=None)
@given(head=query_text, tail=st.text(min_size=1, max_size=40))
def test_nothing_beyond_the_first_500_characters_is_read(head, tail):
    text = (head + "x" * MAX_QUERY_CHARS)[:MAX_QUERY_CHARS]
    whole, cut = parse(text + tail), parse(text)
    assert whole.warning_codes[0] == "truncated"
    assert (whole.must, whole.phrases, whole.excluded, whole.filters) == (
        cut.must,
        cut.phrases,
        cut.excluded,
        cut.filters,
    )


# -- A small index, built once per module -------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_index_once(django_db_setup, django_db_blocker, tmp_path_factory):
    """Two public items (a recording's record, a volume), indexed; rolled back after."""
    from archive.models import Collection, Item, Place, ThemeLibrary
    from archive.search.indexing import items_reindex
    from tests.archive.factories import InstitutionFactory, ItemFactory

    index = tmp_path_factory.mktemp("fuzz-search-index")
    with (
        django_db_blocker.unblock(),
        override_settings(SEARCH_INDEX_DIR=index),
        transaction.atomic(),
    ):
        institution = InstitutionFactory(code="fuzz-search-lib")
        collection = Collection.objects.create(
            code="fuzz-oral", title="口述歷史", institution=institution
        )
        place = Place.objects.create(name="廣州", name_en="Guangzhou")
        recording = ItemFactory(
            kind=Item.Kind.ORAL_HISTORY,
            institution=institution,
            collection=collection,
            title="西關茶樓憶一九三八",
            title_en="Remembering 1938 in a Xiguan tea-house",
            description="我哋屋企喺西關開茶樓，廣州。",
            date_text="1938",
            year_from=1938,
            year_to=1938,
            dialect="廣州話",
        )
        volume = ItemFactory(
            kind=Item.Kind.BOOK_VOLUME,
            institution=institution,
            title="廣州府志 卷一",
            description="清光緒五年刻本",
        )
        for item in (recording, volume):
            item.places.add(place)
            item.themes.set(ThemeLibrary.objects.filter(code__in=["lingnan", "red"]))
        items_reindex([recording.pk, volume.pk])
        yield index
        transaction.set_rollback(True)


@pytest.fixture
def index(fuzz_index_once, settings, _isolated_storage, db):
    """The module's index for one test."""
    settings.SEARCH_INDEX_DIR = fuzz_index_once


def test_the_index_answers(client, index):
    """The fuzzing below means something only if real searches find things."""
    body = json.loads(client.get("/api/search", {"q": "廣州"}, **EN).content)
    assert body["total"] == 2
    assert client.get("/search/", {"q": "茶樓"}, **EN).status_code == 200


# -- Every parameter, with junk --------------------------------------------------------

NUMBER = st.one_of(
    st.integers(-3, 600).map(str),
    st.sampled_from(["", " 1", "1 ", "01", "1.0", "١", "²", "1e2", "0x1", "9" * 5000]),
    st.text(max_size=6),
)
VALUE = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "oral_history",
            "book_volume",
            "lingnan",
            "red",
            "廣州",
            "广州",
            "廣州話",
            "fuzz-oral",
            "口述歷史",
            "1930",
            "-1930",
            "0",
            "193",
            "١٩٣0",
            "x" * 201,
            "\x00",
            MARKUP,
        ]
    ),
)
PARAMETERS = {
    "page": NUMBER,
    "per_page": NUMBER,
    "sort": st.one_of(
        st.sampled_from(["relevance", "date", "-date", "DATE", ""]), VALUE
    ),
    "type": st.one_of(st.sampled_from(["item", "segment", "page", "work", "x"]), VALUE),
    "kind": VALUE,
    "theme": VALUE,
    "decade": st.one_of(
        st.integers(-300, 300).map(lambda n: str(n * 10)),
        st.integers(-3000, 3000).map(str),
        VALUE,
    ),
    "place": VALUE,
    "dialect": VALUE,
    "collection": VALUE,
    "item": st.one_of(st.sampled_from(["fuzz-x", "a", "A.b_c", "a" * 65]), VALUE),
    "lang": VALUE,
    "script": VALUE,
    "unknown": VALUE,
}
REPEATED = ("type", "kind", "theme", "decade", "place", "dialect", "collection")


@st.composite
def requests(draw):
    """GET parameters: ``q`` and any of the others, repeatable ones up to 12 times."""
    params: list[tuple[str, str]] = []
    if draw(st.booleans()):
        params.append(("q", draw(query_text)))
    for name in draw(st.sets(st.sampled_from(sorted(PARAMETERS)), max_size=6)):
        times = draw(st.integers(1, 12)) if name in REPEATED else 1
        params += [(name, draw(PARAMETERS[name])) for _ in range(times)]
    return params


#: Raw query-string bytes: invalid UTF-8, encoded surrogates, stray % signs.
raw_bytes = st.one_of(
    st.binary(max_size=12).map(lambda b: quote_from_bytes(b, safe="")),
    st.sampled_from(["%ED%A0%80", "%FF", "%", "%%", "%0", "%C0%AF", "%00", "+"]),
)


def query_string(params, raw: str = "") -> str:
    encoded = urlencode(params)
    return f"{encoded}&q={raw}" if raw else encoded


# -- The rules of docs/search-api.md, independently -----------------------------------


def _whole(value: str, high: int) -> bool:
    match = re.fullmatch(r"0*([1-9][0-9]{0,5})", value)  # no int() of 5000 digits
    return bool(match) and int(match.group(1)) <= high


def documented_problems(params: list[tuple[str, str]]) -> set[str]:
    """The parameters docs/search-api.md calls invalid (the last of a single one counts)."""
    last = dict(params)
    bad = set()
    for name, high in (("page", 500), ("per_page", 100)):
        if name in last and not _whole(last[name], high):
            bad.add(name)
    if "sort" in last and last["sort"] not in ("relevance", "date", "-date"):
        bad.add("sort")
    for name, value in params:
        if name == "type" and value not in (
            "item",
            "segment",
            "page",
            "work",
            "exhibition",
        ):
            bad.add("type")
        if name == "decade" and not re.fullmatch(r"-?[0-9]*0", value):
            bad.add("decade")
    for name in REPEATED:
        values = [v for n, v in params if n == name]
        if len(values) > 10 or any(len(v) > 200 for v in values):
            bad.add(name)
    if len(last.get("q", "")) > 1000:
        bad.add("q")
    if "item" in last and not re.fullmatch(
        r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", last["item"]
    ):
        bad.add("item")
    return bad


# -- The page and the API over HTTP ---------------------------------------------------


@settings(FUZZ, max_examples=40)
@given(params=requests(), raw=st.one_of(st.just(""), raw_bytes))
@example(params=[("q", "廣州"), ("collection", "\x00")], raw="")
@example(params=[("q", MARKUP + '"')], raw="")
def test_the_page_always_answers_and_never_echoes_markup(client, index, params, raw):
    response = client.get("/search/?" + query_string(params, raw), **EN)
    assert response.status_code == 200, response.content[:300]
    body = response.content.decode()
    assert MARKUP not in body
    assert "<x-fuzz" not in body


@FUZZ
@given(params=requests(), raw=st.one_of(st.just(""), raw_bytes))
@example(params=[("q", "廣州"), ("page", "9" * 5000)], raw="")
@example(params=[("decade", "١٩٣0")], raw="")
@example(params=[("q", "廣州"), ("collection", "\x00")], raw="")
def test_the_api_answers_200_or_a_400_naming_the_parameters(
    client, index, caplog, params, raw
):
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="archive.search.views"):
        response = client.get("/api/search?" + query_string(params, raw), **EN)
    assert response.status_code in (200, 400), response.content[:300]
    assert "search API failed" not in caplog.text
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    expected = documented_problems(params)
    if response.status_code == 400:
        assert body["error"] == "invalid_parameter"
        named = {problem["parameter"] for problem in body["parameters"]}
        assert named == expected, (params, body)
        for problem in body["parameters"]:
            assert problem["message"] and problem["parameter"] in body["message"]
    else:
        assert not expected, (params, expected)
        assert {"query", "total", "hits", "facets", "warnings"} <= set(body)
        assert set(w["code"] for w in body["warnings"]) <= set(WARNING_CODES)


# -- Regressions: bugs the fuzzing found ------------------------------------------


def test_a_page_number_of_5000_digits_is_a_400_not_a_500(client, index):
    """int() refuses more than 4,300 digits; the API checked the length too late."""
    response = client.get("/api/search", {"q": "廣州", "per_page": "9" * 5000}, **EN)
    assert response.status_code == 400
    assert [p["parameter"] for p in json.loads(response.content)["parameters"]] == [
        "per_page"
    ]
    # The page forgives: the default.
    assert client.get("/search/", {"page": "9" * 5000}, **EN).status_code == 200


def test_a_decade_in_other_digits_is_a_400(client, index):
    """``\\d`` took ١٩٣0 (Arabic-Indic digits) as a decade, which no record has."""
    response = client.get("/api/search", {"decade": "١٩٣0"}, **EN)
    assert response.status_code == 400
    assert json.loads(response.content)["parameters"][0]["parameter"] == "decade"


@pytest.mark.parametrize("where", ["/search/", "/api/search"])
def test_a_nul_in_a_filter_is_not_a_server_error(client, index, where):
    """A NUL reached PostgreSQL through the collection filter (a ValueError, 500)."""
    response = client.get(f"{where}?q={quote('廣州')}&collection=%00&place=%00", **EN)
    assert response.status_code == 200
