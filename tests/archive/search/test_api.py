"""The JSON search API ``/api/search`` and its OpenAPI document (issue 7 item 6).

Answers are checked against the schemas of the served OpenAPI document
(``/api/openapi.json``), so the document cannot drift from the API.
"""

from __future__ import annotations

import json

import jsonschema
import pytest

from archive.models import AccessLevel, Item
from archive.search.engine import FACET_FIELDS
from tests.archive.factories import ItemFactory, make_user
from tests.archive.search import test_views
from tests.archive.search.test_views import reindex
from tests.themes import conftest as themes
from tests.themes.conftest import ORAL_HISTORY, VOLUME

# The indexed sample archive, built once per module (see test_views).
sample_loaded_once = themes.sample_loaded_once
sample = themes.sample
index_once = test_views.index_once
indexed = test_views.indexed

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def api(client, **params):
    return client.get("/api/search", params, **EN)


@pytest.fixture
def openapi(client, db):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    return json.loads(response.content)


def validate(document: dict, instance: dict, schema: str) -> None:
    """Check ``instance`` against one of the document's component schemas."""
    jsonschema.Draft202012Validator(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$ref": f"#/components/schemas/{schema}",
            "components": document["components"],
        },
        format_checker=jsonschema.FormatChecker(),
    ).validate(instance)


# -- The answer --------------------------------------------------------------------


def test_the_answer_has_its_documented_shape(client, indexed, openapi):
    response = api(client, q="廣州")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    validate(openapi, body, "SearchResponse")
    assert body["query"] == "廣州"
    assert (body["total"], body["page"], body["per_page"], body["pages"]) == (
        7,
        1,
        20,
        1,
    )
    assert len(body["hits"]) == 7
    segment = next(hit for hit in body["hits"] if hit["type"] == "segment")
    assert segment["id"].startswith("segment:")
    assert segment["url"] == f"http://testserver/items/{ORAL_HISTORY}/?t=13"
    assert segment["item"] == ORAL_HISTORY
    assert (segment["start"], segment["end"], segment["speaker"]) == (
        13.0,
        20.5,
        "梁伯",
    )
    assert segment["time_label"] == "0:13"
    assert "<mark>廣州</mark>" in segment["snippet"]
    assert {"text": "廣州", "hit": True} in segment["snippet_parts"]
    assert "".join(p["text"] for p in segment["snippet_parts"]) == (
        "嗰年日本軍嘅飛機成日嚟轟炸廣州，警報一響，成條街嘅人都要走去防空洞。"
    )
    assert segment["kind"] == "oral_history"
    assert set(segment["themes"]) == {"lingnan", "red"}
    page = next(hit for hit in body["hits"] if hit["type"] == "page")
    assert page["url"].startswith(f"http://testserver/items/{VOLUME}/#page=")
    assert page["page"] and page["image"] and page["date"] == 1884
    assert set(body["facets"]) == set(FACET_FIELDS)
    types = {v["value"]: v for v in body["facets"]["type"]}
    assert types["segment"]["count"] == 1 and types["segment"]["label"] == (
        "Recording transcripts"
    )
    assert body["suggestions"] == [] and body["warnings"] == []


def test_traditional_simplified_and_jyutping_give_the_same_segment(client, indexed):
    def urls(q):
        return [hit["url"] for hit in json.loads(api(client, q=q).content)["hits"]]

    assert urls("廣州") == urls("广州")
    assert f"http://testserver/items/{ORAL_HISTORY}/?t=13" in urls("gwongzau")


def test_filters_repeat_and_narrow_the_hits(client, indexed):
    body = json.loads(
        client.get("/api/search?q=廣州&type=segment&type=page&sort=date", **EN).content
    )
    assert body["filters"] == {"type": ["segment", "page"]}
    assert body["sort"] == "date"
    assert {hit["type"] for hit in body["hits"]} == {"segment", "page"}
    assert body["total"] == 3
    selected = {v["value"] for v in body["facets"]["type"] if v["selected"]}
    assert selected == {"segment", "page"}
    # Oldest first: the 1884 pages before the 2026 recording.
    assert [hit["date"] for hit in body["hits"]] == [1884, 1884, 2026]


def test_paging_and_its_limits(client, indexed):
    first = json.loads(api(client, q="廣州", per_page=5).content)
    second = json.loads(api(client, q="廣州", per_page=5, page=2).content)
    assert (first["pages"], len(first["hits"]), len(second["hits"])) == (2, 5, 2)
    ids = [h["id"] for h in first["hits"] + second["hits"]]
    assert len(set(ids)) == 7
    beyond = api(client, q="廣州", page=3)
    assert beyond.status_code == 200 and json.loads(beyond.content)["hits"] == []
    assert api(client, q="廣州", per_page=100).status_code == 200
    assert api(client, q="廣州", page=500).status_code == 200


def test_an_empty_result_suggests_other_forms(client, indexed):
    body = json.loads(api(client, q="廣州茶餐廳").content)
    assert body["total"] == 0 and body["hits"] == []
    assert body["suggestions"][0] == "广州茶餐厅"
    assert body["suggestions"][1].startswith("gwong2 zau1")


def test_query_warnings_come_with_their_code_and_words(client, indexed, openapi):
    body = json.loads(api(client, q='"西關').content)
    validate(openapi, body, "SearchResponse")
    assert body["warnings"][0]["code"] == "unclosed_quote"
    assert "quotation mark" in body["warnings"][0]["message"]


def test_snippets_escape_stored_html(client, db, openapi):
    ItemFactory(
        title="廣州 <b>粗體</b> & co", description="<script>alert(1)</script> 廣州"
    )
    reindex()
    body = json.loads(api(client, q="廣州").content)
    validate(openapi, body, "SearchResponse")
    snippets = " ".join(hit["snippet"] for hit in body["hits"])
    assert "<mark>廣州</mark>" in snippets
    assert "&lt;b&gt;" in snippets and "&amp; co" in snippets
    assert "<b>" not in snippets and "<script>" not in snippets
    titles = [hit["title"] for hit in body["hits"]]
    assert "廣州 <b>粗體</b> & co" in titles  # JSON carries text, not HTML


# -- HTTP ---------------------------------------------------------------------------


def test_cors_and_caching_for_anonymous_and_signed_in_callers(client, indexed):
    anonymous = api(client, q="廣州")
    assert anonymous["Access-Control-Allow-Origin"] == "*"
    assert anonymous["Cache-Control"] == "public, max-age=60"
    assert "Cookie" in anonymous["Vary"] and "Accept-Language" in anonymous["Vary"]
    assert anonymous["Link"] == '</api/openapi.json>; rel="service-desc"'
    client.force_login(make_user("api-reader"))
    signed_in = api(client, q="廣州")
    assert signed_in["Cache-Control"] == "private, no-store"
    assert signed_in["Access-Control-Allow-Origin"] == "*"


def test_the_reading_room_gets_private_answers(client, indexed, settings):
    settings.ARCHIVE_READING_ROOM_NETWORKS = ["10.20.0.0/16"]
    inside = client.get("/api/search?q=廣州", REMOTE_ADDR="10.20.30.40")
    assert inside["Cache-Control"] == "private, no-store"


def test_preflight_and_other_methods(client, db, openapi):
    preflight = client.options("/api/search?q=x")
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "GET" in preflight["Access-Control-Allow-Methods"]
    assert client.head("/api/search?q=x").status_code == 200
    assert client.head("/search/?q=x").status_code == 200
    post = client.post("/api/search?q=x")
    assert post.status_code == 405 and post["Allow"] == "GET, HEAD, OPTIONS"
    validate(openapi, json.loads(post.content), "Error")


@pytest.mark.parametrize(
    "query",
    [
        "per_page=abc",
        "per_page=0",
        "per_page=101",
        "page=0",
        "page=-1",
        "page=501",
        "page=",
        "page=１",  # a full-width digit is not a number here
        "sort=newest",
        "type=book",
        "decade=1935",
        "decade=nineteen-thirties",
        "kind=" + "x" * 201,
        "&".join(["theme=lingnan"] * 11),
        "q=" + "廣" * 1001,
    ],
)
def test_bad_parameters_answer_400_in_json(client, db, openapi, query):
    response = client.get(f"/api/search?q=廣州&{query}")
    assert response.status_code == 400, query
    assert response["Access-Control-Allow-Origin"] == "*"
    body = json.loads(response.content)
    validate(openapi, body, "Error")
    assert body["error"] == "invalid_parameter"
    name = query.split("=")[0]
    assert name in {p["parameter"] for p in body["parameters"]}


def test_an_unavailable_engine_answers_503_in_json(client, db, openapi, monkeypatch):
    from archive.search import service
    from archive.search.engine import EngineUnavailable

    class Down:
        def search(self, request):
            raise EngineUnavailable("down for the test")

    monkeypatch.setattr(service, "engine_get", Down)
    response = api(client, q="廣州")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response["Access-Control-Allow-Origin"] == "*"
    body = json.loads(response.content)
    validate(openapi, body, "Error")
    assert body["error"] == "unavailable"


def test_a_failure_inside_search_still_answers_in_json(client, db, monkeypatch):
    from archive.search import views

    def broken(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr(views, "search", broken)
    response = api(client, q="廣州")
    assert response.status_code == 503
    assert json.loads(response.content)["error"] == "unavailable"


# -- Access ---------------------------------------------------------------------------


def test_a_restricted_item_is_listed_only_to_staff(client, indexed, settings, tmp_path):
    settings.SEARCH_INDEX_DIR = tmp_path / "restricted-index"
    Item.objects.filter(public_id=ORAL_HISTORY).update(access_level=AccessLevel.STAFF)
    reindex()
    anonymous = json.loads(api(client, q="茶樓").content)
    assert anonymous["total"] == 0 and anonymous["hits"] == []
    assert all(v["count"] == 0 for f in anonymous["facets"].values() for v in f)
    client.force_login(make_user("api-staff", groups=["Archivists"]))
    staff = api(client, q="茶樓")
    body = json.loads(staff.content)
    assert body["total"] == 6
    assert {hit["item"] for hit in body["hits"]} == {ORAL_HISTORY}
    assert staff["Cache-Control"] == "private, no-store"


# -- The OpenAPI document -------------------------------------------------------------


def test_the_openapi_document_describes_the_search_api(client, openapi):
    assert openapi["openapi"].startswith("3.1.")
    assert openapi["servers"] == [{"url": "http://testserver"}]
    operation = openapi["paths"]["/api/search"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert names == {"q", "item", "sort", "page", "per_page", *FACET_FIELDS}
    assert set(operation["responses"]) == {"200", "400", "405", "503"}
    # Every $ref points at a schema the document has.
    text = json.dumps(openapi)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "')[1:]}:
        name = ref.removeprefix("#/components/schemas/")
        assert name in openapi["components"]["schemas"], ref
    response = client.get("/api/openapi.json")
    assert response["Access-Control-Allow-Origin"] == "*"


def test_the_openapi_document_is_a_valid_openapi_3_1_document(openapi):
    from openapi_spec_validator import validate as validate_spec
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    validate_spec(openapi)
    broken = {**openapi, "paths": {"/api/search": {"get": {"responses": "nope"}}}}
    with pytest.raises(OpenAPIValidationError):
        validate_spec(broken)
