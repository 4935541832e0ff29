"""Searching inside one item: a recording's page offers it, the page and the API honour it."""

from __future__ import annotations

import pytest
from django.utils.translation import override

from archive.models import AccessLevel, Item
from archive.search.indexing import items_reindex
from tests.archive.factories import ItemFactory
from tests.themes.conftest import ORAL_HISTORY

pytestmark = pytest.mark.django_db


@pytest.fixture
def indexed(sample_transcript):
    items_reindex(list(Item.objects.values_list("pk", flat=True)))
    other = ItemFactory(title="另一間西關茶樓", access_level=AccessLevel.PUBLIC)
    items_reindex([other.pk])
    return other


def test_the_recording_page_offers_a_search_inside_it(client, indexed):
    with override("en"):
        page = client.get(f"/items/{ORAL_HISTORY}/", HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert "Search this recording" in text
    assert f'name="item" value="{ORAL_HISTORY}"' in text


def test_the_search_page_keeps_to_the_item(client, indexed):
    everywhere = client.get("/api/search", {"q": "茶樓", "per_page": 100}).json()
    assert any(hit["item"] == indexed.public_id for hit in everywhere["hits"])
    inside = client.get(
        "/api/search", {"q": "茶樓", "item": ORAL_HISTORY, "per_page": 100}
    ).json()
    assert inside["hits"]
    assert {hit["item"] for hit in inside["hits"]} == {ORAL_HISTORY}
    with override("en"):
        page = client.get(
            "/search/", {"q": "茶樓", "item": ORAL_HISTORY}, HTTP_ACCEPT_LANGUAGE="en"
        )
    text = page.content.decode()
    assert "Searching inside" in text and "Search the whole archive" in text
    assert indexed.public_id not in text


def test_a_restricted_item_scope_shows_nothing_of_it(client, indexed):
    Item.objects.filter(public_id=ORAL_HISTORY).update(access_level=AccessLevel.STAFF)
    body = client.get("/api/search", {"q": "茶樓", "item": ORAL_HISTORY}).json()
    assert body["hits"] == [] and body["total"] == 0
    with override("en"):
        page = client.get(
            "/search/", {"q": "茶樓", "item": ORAL_HISTORY}, HTTP_ACCEPT_LANGUAGE="en"
        )
    assert "Searching inside" not in page.content.decode()
    assert "西關茶樓憶一九三八" not in page.content.decode()


def test_the_api_refuses_a_malformed_item(client, db):
    response = client.get("/api/search", {"q": "茶樓", "item": "../etc"})
    assert response.status_code == 400
    assert response.json()["parameters"][0]["parameter"] == "item"
