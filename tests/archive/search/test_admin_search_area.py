"""The admin's search box offers the archive search to staff, who find restricted material."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils.translation import override

from archive.models import AccessLevel
from archive.search.indexing import items_reindex
from archive.search.service import SearchParams, search
from archive.wagtail_hooks import register_archive_search_area
from tests.archive.factories import ItemFactory, make_user

pytestmark = pytest.mark.django_db

LABEL = "Archive (records, pages, transcripts)"


def test_staff_get_the_archive_search_area_and_find_restricted_items(client):
    curator = make_user("curator", groups=["Curators"])
    client.force_login(curator)
    with override("en"):
        page = client.get("/admin/pages/search/?q=帳簿", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    text = page.content.decode()
    assert LABEL in text
    assert "/search/?q=" in text
    item = ItemFactory(title="內部茶樓帳簿", access_level=AccessLevel.STAFF)
    items_reindex([item.pk])
    hits = search(SearchParams(q="帳簿"), user=curator).hits
    assert [hit.key for hit in hits] == [f"item:{item.public_id}"]
    assert search(SearchParams(q="帳簿"), user=AnonymousUser()).hits == []


def test_only_staff_are_shown_it(rf):
    area = register_archive_search_area()
    request = rf.get("/admin/pages/search/")
    request.user = make_user("reader")
    assert area.is_shown(request) is False
    request.user = make_user("archivist", groups=["Archivists"])
    assert area.is_shown(request) is True
