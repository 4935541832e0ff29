"""The home and theme-library pages: exhibitions, collections, the selection, items.

Built with factories (no files): the pages list records, they do not show
their images.
"""

from __future__ import annotations

import re
from html import unescape

import pytest

from archive.models import AccessLevel, Item, ThemeLibrary
from tests.archive.factories import (
    CollectionFactory,
    InstitutionFactory,
    ItemFactory,
    make_user,
)
from tests.themes.factories import exhibition_make, theme_page
from themes.models import THEME_ITEMS_PER_PAGE, ThemeFeaturedItem, ThemeLibraryPage

pytestmark = pytest.mark.django_db


def _theme(code: str = "lingnan") -> ThemeLibrary:
    return ThemeLibrary.objects.get(code=code)


def _items(n: int, *, theme: str = "lingnan", prefix: str = "冊", **fields):
    items = []
    for i in range(n):
        item = ItemFactory(title=f"{prefix}{i:02d}", **fields)
        item.themes.add(_theme(theme))
        items.append(item)
    return items


def _html(client, url: str, language: str = "zh-hant") -> str:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def _section(html: str, heading_id: str) -> str:
    """The HTML of the <section> labelled by ``heading_id``."""
    match = re.search(
        rf'<section[^>]*aria-labelledby="{heading_id}"[^>]*>(.*?)</section>',
        html,
        flags=re.S,
    )
    assert match, f"no section {heading_id}"
    return match.group(1)


def _hrefs(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'href="([^"]*)"', html)]


def test_home_shows_theme_cards_new_exhibitions_and_new_items(client):
    exhibition_make(title="茶樓記憶", slug="tea")
    exhibition_make(
        title="未發佈 DRAFT-EXHIBITION", slug="draft", publish=False, live=False
    )
    ItemFactory(title="新資料 NEW-ITEM")
    ItemFactory(title="職員 STAFF-ITEM", access_level=AccessLevel.STAFF)
    html = _html(client, "/")
    themes = _section(html, "themes-heading")
    assert _hrefs(themes) == ["/red/", "/lingnan/", "/maritime/", "/innovation/"]
    exhibitions = _section(html, "exhibitions-heading")
    assert "茶樓記憶" in exhibitions and "/lingnan/tea/" in exhibitions
    assert "DRAFT-EXHIBITION" not in html
    assert "NEW-ITEM" in _section(html, "items-heading")
    assert "STAFF-ITEM" not in html


def test_theme_page_lists_its_exhibitions_and_collections_with_useful_links(client):
    exhibition_make(title="茶樓記憶", slug="tea")
    exhibition_make(theme="red", title="紅色 OTHER-THEME", slug="red-one")
    collection = CollectionFactory(code="oral-history", title="粵語口述歷史")
    collection.themes.add(_theme())
    html = _html(client, "/lingnan/")
    assert "茶樓記憶" in _section(html, "exhibitions-heading")
    assert "OTHER-THEME" not in html
    collections = _section(html, "collections-heading")
    assert "粵語口述歷史" in collections
    links = _hrefs(collections)
    assert "?collection=oral-history#items" in links
    assert "/iiif/3/collection/oral-history" in links
    assert client.get("/iiif/3/collection/oral-history").status_code == 200


def test_theme_items_come_twelve_a_page(client):
    _items(THEME_ITEMS_PER_PAGE + 2)
    _items(1, theme="red", prefix="RED-ONLY")
    first = _section(_html(client, "/lingnan/"), "items-heading")
    assert first.count('class="card"') == THEME_ITEMS_PER_PAGE
    assert "?page=2#items" in _hrefs(first)
    second = _section(_html(client, "/lingnan/?page=2"), "items-heading")
    assert second.count('class="card"') == 2
    assert "RED-ONLY" not in first + second


def test_kind_filter_counts_kinds_and_keeps_the_page_param(client):
    _items(THEME_ITEMS_PER_PAGE + 1, prefix="VOL")
    _items(2, prefix="ORAL", kind=Item.Kind.ORAL_HISTORY)
    html = _section(_html(client, "/lingnan/?kind=oral_history"), "items-heading")
    assert html.count('class="card"') == 2 and "VOL" not in html
    current = re.findall(r'<a href="([^"]*)" aria-current="true">', html)
    assert [unescape(h) for h in current] == ["?kind=oral_history#items"]
    assert "?kind=book_volume#items" in _hrefs(html)
    # The pager keeps the filter; the filter links start again at page one.
    html = _section(_html(client, "/lingnan/?kind=book_volume"), "items-heading")
    assert "?kind=book_volume&page=2#items" in _hrefs(html)
    html = _section(_html(client, "/lingnan/?kind=book_volume&page=2"), "items-heading")
    assert html.count('class="card"') == 1
    assert "?kind=book_volume&page=1#items" in _hrefs(html)
    assert "?kind=oral_history#items" in _hrefs(html)
    counts = re.findall(r'<span class="count">\((\d+)\)</span>', html)
    assert counts == ["13", "2"]


def test_an_unknown_kind_is_no_filter(client):
    _items(2)
    html = _section(_html(client, "/lingnan/?kind=nonsense"), "items-heading")
    assert html.count('class="card"') == 2


def test_collection_filter_takes_nested_collections(client):
    institution = InstitutionFactory(code="gzlib")
    dadian = CollectionFactory(code="gzdd", title="廣州大典", institution=institution)
    jing = CollectionFactory(
        code="gzdd-jing", title="經部", parent=dadian, institution=institution
    )
    other = CollectionFactory(code="oral", title="口述", institution=institution)
    dadian.themes.add(_theme())
    _items(2, prefix="JING", collection=jing)
    _items(1, prefix="ORAL", collection=other)
    html = _section(_html(client, "/lingnan/?collection=gzdd"), "items-heading")
    assert html.count('class="card"') == 2 and "ORAL" not in html
    assert "廣州大典" in html  # says which collection it shows
    assert "/lingnan/#items" in _hrefs(html)  # ...with a way back to all items
    html = _section(_html(client, "/lingnan/?collection=no-such"), "items-heading")
    assert html.count('class="card"') == 3


def test_selection_comes_first_in_the_curators_order_for_those_who_may_see_it(
    client,
):
    page = theme_page("lingnan")
    first, second = _items(2, prefix="SELECTED")
    hidden = ItemFactory(title="職員 STAFF-SELECTED", access_level=AccessLevel.STAFF)
    ThemeFeaturedItem.objects.create(
        page=page, item=second, sort_order=0, note="先看這冊"
    )
    ThemeFeaturedItem.objects.create(page=page, item=hidden, sort_order=1)
    ThemeFeaturedItem.objects.create(page=page, item=first, sort_order=2)
    html = _html(client, "/lingnan/")
    featured = _section(html, "featured-heading")
    assert featured.index("SELECTED01") < featured.index("SELECTED00")
    assert "先看這冊" in featured
    assert "STAFF-SELECTED" not in html
    assert html.index('id="featured-heading"') < html.index('id="items-heading"')
    client.force_login(make_user("curator-staff", groups=["Archivists"]))
    assert "STAFF-SELECTED" in _section(_html(client, "/lingnan/"), "featured-heading")


def test_no_selection_no_section(client):
    assert 'id="featured-heading"' not in _html(client, "/lingnan/")


def test_editors_choose_the_selection_with_the_item_chooser(client):
    page = theme_page("lingnan")
    client.force_login(make_user("admin", superuser=True))
    response = client.get(f"/admin/pages/{page.pk}/edit/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "featured_items-TOTAL_FORMS" in body
    assert "/admin/themes/item-chooser/" in body


def test_the_selection_survives_a_revision_and_publication(client):
    page = theme_page("lingnan")
    item = ItemFactory(title="經選 FORM-SELECTED")
    page.featured_items.create(item=item, note="入門")
    page.save_revision().publish()
    page = ThemeLibraryPage.objects.get(pk=page.pk)
    assert [(f.item_id, f.note) for f in page.featured_items.all()] == [
        (item.pk, "入門")
    ]
