"""Mirador in a real browser (Debian Chromium, driven by Playwright).

The sample's volume and the validator's image are loaded once for the module
and served by a live server (``committed_sample``: the tests only read). The
item page must open its manifest in Mirador, in the page's language, fetch the
Image API's info.json and deep-zoom tiles, and log no console error; the
compare page must open two windows side by side.
"""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

pytestmark = [pytest.mark.browser]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VOLUME = "gzdd-sanzijing-v1"
IMAGE_ITEM = "iiif-validator-test-image"
#: UI language -> (the volume's title in the window bar, Mirador's sidebar button).
LANGUAGES = {
    "zh-hant": ("三字經 卷上", "切換邊欄開關"),
    "zh-hans": ("三字经 卷上", "切换边栏开关"),
    "en": ("Three Character Classic, first juan", "Toggle sidebar"),
}
#: An Image API image request: {image}/{region}/{size}/{rotation}/{quality}.jpg
IMAGE_REQUEST = re.compile(r"/iiif/3/image/[^/]+/([^/]+)/[^/]+/[^/]+/[^/]+\.jpg$")
#: A deep-zoom tile asks for a region (x,y,w,h), not the full image.
TILE_REGION = re.compile(r"^\d+,\d+,\d+,\d+$")
TIMEOUT_MS = 30_000


@dataclass
class BrowserLog:
    """What the page fetched and what it complained about."""

    responses: list[tuple[int, str]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def matching(self, pattern: str) -> list[tuple[int, str]]:
        """Responses whose URL matches ``pattern``."""
        return [(s, u) for s, u in self.responses if re.search(pattern, u)]

    def tiles(self) -> list[tuple[int, str]]:
        """Image API responses for a region of an image: deep-zoom tiles."""
        found = []
        for status, url in self.responses:
            match = IMAGE_REQUEST.search(url.split("?", 1)[0])
            if match and TILE_REGION.match(match.group(1)):
                found.append((status, url))
        return found


def _console_error(log: BrowserLog, message) -> None:
    if message.type != "error":
        return
    where = (message.location or {}).get("url", "")
    log.errors.append(f"console: {message.text} ({where})")


@contextmanager
def browser_page(chromium, *, width: int = 1280):
    """A Chromium page that records responses, failed requests and console errors.

    ``chromium`` is a running browser (the ``chromium`` fixture: the page gets
    a context of its own, closed afterwards) or Debian Chromium's path (a
    browser launched for this page alone).
    """
    if isinstance(chromium, str):
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                with browser_page(browser, width=width) as opened:
                    yield opened
            finally:
                browser.close()
        return
    log = BrowserLog()
    context = chromium.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        page.on("console", lambda message: _console_error(log, message))
        page.on("pageerror", lambda error: log.errors.append(f"pageerror: {error}"))
        page.on("response", lambda r: log.responses.append((r.status, r.url)))
        page.on("requestfailed", lambda r: log.failed.append(r.url))
        yield page, log
    finally:
        context.close()


def wait_for(page, log: BrowserLog, condition, what: str) -> None:
    """Let the page run until ``condition()`` holds; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not condition():
        if time.monotonic() > deadline:
            iiif = [r for r in log.responses if "/iiif/" in r[1]]
            pytest.fail(
                f"timed out waiting for {what}; errors: {log.errors}; "
                f"failed requests: {log.failed}; IIIF responses: {iiif[:20]}"
            )
        page.wait_for_timeout(200)


@pytest.fixture(scope="module")
def sample_parts():
    """The Dadian volume and the validator's image: what the viewer shows."""
    return ("dadian", "iiif-validator")


def _open(page, live_server, path: str, language: str) -> None:
    """Go to ``path`` with the site's language cookie set to ``language``."""
    page.context.add_cookies(
        [{"name": "yc_language", "value": language, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}{path}")


def test_item_page_opens_the_volume_in_mirador(committed_site, chromium):
    title_text, _ = LANGUAGES["zh-hant"]
    with browser_page(chromium) as (page, log):
        _open(page, committed_site, f"/items/{VOLUME}/", "zh-hant")
        title = page.locator(".mirador-window h2").first
        wait_for(
            page,
            log,
            lambda: title.count() and title_text in title.inner_text(),
            "the volume's title in the window",
        )
        wait_for(page, log, lambda: any(s == 200 for s, _ in log.tiles()), "a tile")
        page.wait_for_timeout(1000)  # let late requests and errors arrive

        manifest = log.matching(rf"/iiif/3/manifest/{VOLUME}$")
        assert manifest and all(s == 200 for s, _ in manifest), manifest
        info = log.matching(r"/iiif/3/image/[^/]+/info\.json$")
        assert info, "Mirador never asked for an info.json"
        assert all(s == 200 for s, _ in info), info
        tiles = log.tiles()
        assert all(s == 200 for s, _ in tiles), [t for t in tiles if t[0] != 200]
        assert page.locator(".mirador-osd-container canvas").count() >= 1
        assert log.failed == []
        assert log.errors == []


def test_viewer_speaks_the_page_language(committed_site, chromium):
    with browser_page(chromium) as (page, log):
        for language, (title_text, sidebar_label) in LANGUAGES.items():
            _open(page, committed_site, f"/items/{VOLUME}/", language)
            title = page.locator(".mirador-window h2").first
            wait_for(
                page,
                log,
                lambda title=title, text=title_text: (
                    title.count() and text in title.inner_text()
                ),
                f"the {language} title",
            )
            button = page.locator(f".mirador-window [aria-label='{sidebar_label}']")
            assert button.count() == 1, f"Mirador's UI is not in {language}"
        assert log.errors == []


def test_compare_page_opens_two_windows(committed_site, chromium):
    title_text, _ = LANGUAGES["zh-hant"]
    with browser_page(chromium) as (page, log):
        _open(
            page, committed_site, f"/viewer/?item={VOLUME}&item={IMAGE_ITEM}", "zh-hant"
        )
        windows = page.locator(".mirador-window")
        wait_for(page, log, lambda: windows.count() == 2, "two Mirador windows")
        titles = page.locator(".mirador-window h2")
        wait_for(
            page,
            log,
            lambda: (
                title_text in " ".join(titles.all_inner_texts())
                and "IIIF" in " ".join(titles.all_inner_texts())
            ),
            "both titles",
        )
        wait_for(page, log, lambda: len(log.tiles()) >= 2, "tiles")
        page.wait_for_timeout(1000)
        for item in (VOLUME, IMAGE_ITEM):
            assert (
                200,
                f"{committed_site.url}/iiif/3/manifest/{item}",
            ) in log.responses
        first, second = (windows.nth(i).bounding_box() for i in range(2))
        assert first["x"] + first["width"] <= second["x"] + 1, "not side by side"
        assert all(s == 200 for s, _ in log.matching(r"/iiif/3/"))
        assert log.errors == []
