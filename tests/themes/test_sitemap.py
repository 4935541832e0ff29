"""The sitemap (``/sitemap.xml`` and its sections) and ``/robots.txt``.

Only what an anonymous visitor may open is listed: public items and those
whose embargo has lifted, live pages without a view restriction.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from django.utils import timezone
from wagtail.models import PageViewRestriction

from archive.models import AccessLevel
from tests.archive.factories import ItemFactory
from tests.themes.factories import exhibition_make, theme_page

pytestmark = pytest.mark.django_db

NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
HOST = "http://testserver"


def _locs(client, url: str) -> dict[str, str | None]:
    """``{loc: lastmod}`` of a sitemap or sitemap index."""
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    entries = root.findall("sm:url", NS) or root.findall("sm:sitemap", NS)
    return {
        e.findtext("sm:loc", namespaces=NS): e.findtext("sm:lastmod", namespaces=NS)
        for e in entries
    }


def test_sitemap_index_names_the_pages_and_items_sections(client):
    ItemFactory()
    locs = _locs(client, "/sitemap.xml")
    assert set(locs) == {f"{HOST}/sitemap-pages.xml", f"{HOST}/sitemap-items.xml"}
    assert all(locs.values()), "every section has a lastmod"
    response = client.get("/sitemap.xml")
    assert response["Cache-Control"] == "public, max-age=3600"


def test_items_section_lists_only_what_anyone_may_open(client):
    today = timezone.localdate()
    levels = {
        "public": {"access_level": AccessLevel.PUBLIC},
        "passed": {
            "access_level": AccessLevel.EMBARGOED,
            "embargo_until": today - dt.timedelta(days=1),
        },
        "embargoed": {
            "access_level": AccessLevel.EMBARGOED,
            "embargo_until": today + dt.timedelta(days=30),
        },
        "staff": {"access_level": AccessLevel.STAFF},
        "room": {"access_level": AccessLevel.READING_ROOM},
        "withdrawn": {"access_level": AccessLevel.WITHDRAWN},
    }
    items = {name: ItemFactory(**fields) for name, fields in levels.items()}
    locs = _locs(client, "/sitemap-items.xml")
    expected = {
        f"{HOST}/items/{items[name].public_id}/" for name in ("public", "passed")
    }
    assert set(locs) == expected
    public = items["public"]
    assert (
        locs[f"{HOST}/items/{public.public_id}/"]
        == timezone.localtime(public.updated_at).date().isoformat()
    )


def test_pages_section_lists_live_public_pages_only(client):
    exhibition_make(title="茶樓記憶", slug="tea")
    exhibition_make(title="草稿", slug="draft", publish=False, live=False)
    private = exhibition_make(title="內部", slug="private")
    PageViewRestriction.objects.create(
        page=private, restriction_type=PageViewRestriction.PASSWORD, password="pw"
    )
    hidden_theme = theme_page("innovation")
    hidden_theme.unpublish()
    locs = _locs(client, "/sitemap-pages.xml")
    assert set(locs) == {
        f"{HOST}/",
        f"{HOST}/red/",
        f"{HOST}/lingnan/",
        f"{HOST}/maritime/",
        f"{HOST}/lingnan/tea/",
    }
    assert all(locs.values())


def test_unknown_section_is_404(client):
    assert client.get("/sitemap-nothing.xml").status_code == 404


def test_robots_txt_points_at_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.content.decode().splitlines()
    assert lines[0] == "User-agent: *"
    assert "Disallow: /admin/" in lines
    assert "Disallow: /iiif/3/image/" in lines
    assert f"Sitemap: {HOST}/sitemap.xml" in lines
    # Item pages and the images link previews use stay open to crawlers.
    assert not any(
        line.startswith("Disallow: /items") or line == "Disallow: /" for line in lines
    )
