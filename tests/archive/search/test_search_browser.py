"""The search page in a real browser, with the keyboard only (Debian Chromium, Playwright).

The sample archive is loaded once for the module (``committed_sample``: the
tests only read), its oral history transcribed and everything indexed. A
reader who uses no mouse must be able to reach the header's search box,
search, narrow the result with a facet and open a hit (which plays the
recording from its second); the 繁/简 switch must change how snippets are
shown but never the query.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import override_settings

from tests.archive.search.test_views import reindex
from tests.iiif.test_viewer_browser import browser_page, wait_for
from tests.themes.conftest import ORAL_HISTORY, ORAL_HISTORY_SEGMENTS

pytestmark = [pytest.mark.browser]

#: Tab presses allowed to reach one element (the header and the facets have fewer).
MAX_TABS = 60
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def search_index(committed_sample, tmp_path_factory):
    """The sample with a transcript, indexed into a module folder."""
    from archive.models import Item
    from archive.search.engine import engines_forget
    from tests.transcription.doors import transcript_make

    transcript_make(
        Item.objects.get(public_id=ORAL_HISTORY),
        segments=ORAL_HISTORY_SEGMENTS,
        language="yue",
    )
    folder = tmp_path_factory.mktemp("search-index")
    with override_settings(SEARCH_INDEX_DIR=folder):
        reindex()
        engines_forget()
    return folder


@pytest.fixture
def indexed_site(committed_site, search_index, settings):
    """The live server of the indexed sample (it reads the module's index)."""
    settings.SEARCH_INDEX_DIR = search_index
    return committed_site


def _open(page, live_server, path: str, language: str = "en") -> None:
    page.set_default_timeout(TIMEOUT_MS)
    page.context.add_cookies(
        [{"name": "yc_language", "value": language, "url": live_server.url}]
    )
    response = page.goto(f"{live_server.url}{path}")
    assert response is not None and response.status == 200


def tab_to(page, condition: str, what: str) -> None:
    """Press Tab until ``condition`` (a JS expression) holds for the focused element."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate(
            f"(() => {{ const e = document.activeElement; return {condition}; }})()"
        ):
            return
    focused = page.evaluate("document.activeElement.outerHTML.slice(0, 200)")
    pytest.fail(f"{what} not reached with {MAX_TABS} Tabs; focus is on {focused}")


def wait_until(page, log, condition: str, what: str) -> None:
    """Wait until ``condition`` (a JS expression) holds, across a navigation.

    Polled from here with ``page.evaluate``: ``page.wait_for_function``
    evaluates its string inside the page, which the site's CSP (no
    ``unsafe-eval``) refuses.
    """
    from playwright.sync_api import Error

    def holds() -> bool:
        try:
            return page.evaluate(condition)
        except Error as exc:
            if "context was destroyed" in str(exc):
                return False  # the page is navigating: ask the next one
            raise

    wait_for(page, log, holds, what)


def status(page) -> str:
    return page.locator("#search-status").inner_text()


def test_search_filter_and_open_a_hit_with_the_keyboard_only(indexed_site, chromium):
    with browser_page(chromium) as (page, log):
        _open(page, indexed_site, "/")
        tab_to(page, "e.id === 'site-search-q'", "the header's search box")
        page.keyboard.type("廣州")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/search/\?q="))
        assert parse_qs(urlsplit(page.url).query)["q"] == ["廣州"]
        assert "7 results for 廣州" in status(page)
        assert page.locator("#site-search-q").input_value() == "廣州"

        # The facet of recording transcripts: one hit.
        tab_to(
            page,
            "e.matches('a.facet-link') && e.getAttribute('href').includes('type=segment')",
            "the 'Recording transcripts' facet",
        )
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"type=segment"))
        assert "1 result for 廣州" in status(page)
        assert page.locator("a.facet-link[aria-current='true']").count() == 1

        # From the facets straight to the hits, then into the recording.
        tab_to(page, "e.matches('a.skip-inline')", "the 'Skip to results' link")
        page.keyboard.press("Enter")
        wait_until(
            page, log, "document.activeElement.id === 'results'", "focus on the results"
        )
        tab_to(page, "e.matches('a.hit-link')", "the first hit")
        href = page.evaluate("document.activeElement.getAttribute('href')")
        assert href == f"/items/{ORAL_HISTORY}/?t=13"
        assert "0:13" in page.evaluate("document.activeElement.innerText")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(rf"/items/{ORAL_HISTORY}/\?t=13$"))
        assert log.errors == [], log.errors


def test_the_script_switch_changes_snippets_but_not_the_query(indexed_site, chromium):
    with browser_page(chromium) as (page, log):
        _open(page, indexed_site, "/search/?q=%E5%BB%A3%E5%B7%9E")  # 廣州
        marks = page.locator(".snippet mark")
        # As written: the records hold both forms (a Simplified description too).
        assert "廣州" in marks.all_inner_texts()

        tab_to(page, "e.matches('button[value=\"hans\"]')", "the 简 button")
        page.keyboard.press("Enter")
        wait_until(
            page,
            log,
            "document.querySelector('button[value=\"hans\"]')"
            "?.getAttribute('aria-pressed') === 'true'",
            "the 简 button pressed",
        )
        assert set(marks.all_inner_texts()) == {"广州"}
        # The query is what was typed: in the address, the box and the count.
        assert parse_qs(urlsplit(page.url).query)["q"] == ["廣州"]
        assert page.locator("#site-search-q").input_value() == "廣州"
        assert "results for 廣州" in status(page)
        assert "7 results" in status(page)  # and it finds the same

        tab_to(page, "e.matches('button[value=\"hant\"]')", "the 繁 button")
        page.keyboard.press("Enter")
        wait_until(
            page,
            log,
            "document.querySelector('button[value=\"hant\"]')"
            "?.getAttribute('aria-pressed') === 'true'",
            "the 繁 button pressed",
        )
        assert set(marks.all_inner_texts()) == {"廣州"}
        assert log.errors == [], log.errors
