"""Mirador's search panel finds a phrase of a volume (Debian Chromium via Playwright).

Mirador 4 speaks Content Search 1.0 only: it finds the service on the manifest
by its ``search/1`` profile, asks the autocomplete service as the reader
types, lists the hits and turns to the page of the first one, selecting its
annotation (the box drawn on the page). The sample's volume is loaded, indexed
and served by a live server; no console error may appear.
"""

from __future__ import annotations

import pytest

from tests.iiif.test_content_search import layout_box
from tests.iiif.test_viewer_browser import browser_page, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VOLUME = "gzdd-sanzijing-v1"

#: The viewer's window as the store holds it: its page, the selected annotation
#: and the boxes of the search hits it draws on the page.
WINDOW_STATE = """() => {
  const viewer = document.querySelector('[data-mirador]').miradorViewer;
  const state = viewer.store.getState();
  const win = Object.values(state.windows)[0];
  const found = window.Mirador.getSearchAnnotationsForWindow(state, { windowId: win.id });
  return {
    canvas: win.canvasId,
    visible: win.visibleCanvases || [],
    selected: win.selectedAnnotationId || null,
    boxes: found.flatMap((list) => list.resources.map((r) => [r.targetId, r.fragmentSelector])),
  };
}"""


@pytest.fixture
def indexed_sample(db, sample_loader):
    """The sample's volume, loaded and indexed (tests do not index on save)."""
    from archive.models import Item
    from archive.search.indexing import items_reindex

    sample_loader(("dadian",))
    items_reindex(list(Item.objects.values_list("pk", flat=True)))
    return Item.objects.get(public_id=VOLUME)


def test_mirador_search_panel_finds_a_phrase(
    live_server, chromium_path, indexed_sample
):
    page_two = indexed_sample.pages.get(sequence=2)
    canvas = f"{live_server.url}/iiif/3/manifest/{VOLUME}/canvas/{page_two.public_id}"
    with browser_page(chromium_path) as (page, log):
        page.context.add_cookies(
            [{"name": "yc_language", "value": "en", "url": live_server.url}]
        )
        page.goto(f"{live_server.url}/items/{VOLUME}/")
        search_tab = page.locator(".mirador-window [role=tab][aria-label='Search']")
        wait_for(page, log, lambda: search_tab.count() == 1, "the search tab")
        search_tab.click()
        field = page.get_by_label("search terms")
        wait_for(page, log, lambda: field.count() == 1, "the search field")

        # Typing asks the autocomplete service; its term starts the search.
        field.fill("人之")
        option = page.locator("[role=option]", has_text="人之初")
        wait_for(page, log, lambda: option.count() >= 1, "the autocomplete term")
        option.first.click()

        results = page.locator(".mirador-companion-window-left .MuiListItemText-root")
        hit = results.filter(has=page.locator("strong", has_text="人之初"))
        wait_for(page, log, lambda: hit.count() == 1, "the hit in the results")
        assert "區適子撰" in hit.first.inner_text()  # the text before it

        # Mirador turns to the hit's page and selects its annotation.
        def on_the_page():
            state = page.evaluate(WINDOW_STATE)
            return canvas in state["visible"] and state["selected"]

        wait_for(page, log, on_the_page, "the hit's page, its annotation selected")
        state = page.evaluate(WINDOW_STATE)
        assert state["selected"].startswith(
            f"{live_server.url}/iiif/3/manifest/{VOLUME}/annotation/search-"
        )
        # The box Mirador draws is the phrase's box on that page.
        assert state["boxes"] == [[canvas, list(layout_box(page_two, "人之初"))]]
        page.wait_for_timeout(1000)  # let late requests and errors arrive

        autocomplete = log.matching(rf"/iiif/search/1/{VOLUME}/autocomplete\?q=")
        assert autocomplete and all(s == 200 for s, _ in autocomplete), autocomplete
        searches = log.matching(rf"/iiif/search/1/{VOLUME}\?q=")
        assert searches and all(s == 200 for s, _ in searches), searches
        assert log.failed == []
        assert log.errors == []
