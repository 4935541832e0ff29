"""Accessibility of the public pages in a real browser (Debian Chromium, Playwright, axe-core).

The sample archive is loaded once for the module (``committed_sample``: the
tests only read), its oral history given a transcript and an exhibition built
under 嶺南 (``lingnan``). Each public page is opened in each
UI language at a desktop viewport and in Traditional Chinese at a phone's
(``AXE_RUNS``), and axe-core
(``node_modules/axe-core``, installed by ``make install``) checks it against
WCAG 2.0/2.1 A and AA: no violation of serious or critical impact is allowed.
The keyboard tests check that the skip link is the first tab stop and moves
focus to the content, that every link and button shows a focus ring, and that
the home page does not scroll sideways on a 320 px screen.

Issue 6 (accessibility); the search page joins the list by itself once
``/search/`` is routed to a view of its own (issue 7).
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import service_unavailable
from tests.iiif.test_viewer_browser import BrowserLog, _console_error
from tests.themes.conftest import ORAL_HISTORY, ORAL_HISTORY_SEGMENTS, VOLUME

pytestmark = [pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules/axe-core/axe.min.js"
#: The rule sets checked: WCAG 2.0 and 2.1, levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: Violations of these impacts fail a page; minor and moderate ones are only reported.
BLOCKING = {"serious", "critical"}
LANGUAGES = ["zh-hant", "zh-hans", "en"]
VIEWPORTS = {"phone": (390, 844), "desktop": (1280, 800)}
#: axe's runs on each page: every language at the desktop size, and the phone
#: layout in the first language (the layout is the same in all three; what
#: a language changes, its text and ``lang``, the desktop runs cover). Every
#: language at both sizes doubled the module's time for no rule of its own.
AXE_RUNS = [(language, "desktop") for language in LANGUAGES] + [(LANGUAGES[0], "phone")]
EXHIBITION_SLUG = "a11y-tea-houses"
TIMEOUT_MS = 30_000


def _search_is_routed() -> bool:
    """Whether ``/search/`` is a view of its own rather than a Wagtail page lookup."""
    from django.urls import Resolver404, resolve

    try:
        match = resolve("/search/")
    except Resolver404:
        return False
    return match.url_name != "wagtail_serve"


#: Public pages checked: (case id, path or a marker resolved once data exists).
PAGES = [
    ("home", "/"),
    ("theme", "/lingnan/"),
    ("exhibition", "exhibition"),
    ("volume", f"/items/{VOLUME}/"),
    ("oral-history", f"/items/{ORAL_HISTORY}/"),
    ("institutions", "/institutions/"),
]
if _search_is_routed():  # issue 7: the search page, once it exists
    PAGES.append(("search", "/search/?q=廣州"))


# -- Exhibition used by the page checks --------------------------------------


def exhibition_body() -> list[dict]:
    """A body using every block this project defines that the sample can fill.

    Blocks not yet defined in ``themes.blocks`` are left out, so the page
    checks run against whatever blocks exist today.
    """
    from archive.models import Item
    from themes.blocks import ExhibitionStreamBlock

    names = set(ExhibitionStreamBlock().child_blocks)
    body = [
        {
            "type": "text",
            "value": (
                "<h2>西關茶樓</h2><p>一盅兩件，是廣州人的日常。"
                '<a href="/lingnan/">嶺南文化</a></p>'
            ),
        }
    ]
    volume = Item.objects.get(public_id=VOLUME)
    oral_history = Item.objects.get(public_id=ORAL_HISTORY)
    if "iiif_image" in names:
        body.append(
            {
                "type": "iiif_image",
                "value": {
                    "item": volume.pk,
                    "page": 2,
                    "region": "100,200,600,800",
                    "caption": "《三字經》卷上，首葉",
                    "alt": "木刻本三字經首葉，直排正文",
                },
            }
        )
    if "clip" in names:
        body.append(
            {
                "type": "clip",
                "value": {
                    "item": oral_history.pk,
                    "start": 4.6,
                    "end": 9.2,
                    "caption": "梁伯講西關茶樓",
                },
            }
        )
    return body


@pytest.fixture(scope="module")
def public_site(committed_sample):
    """The sample archive with a transcript and a published exhibition: path by case."""
    from archive.models import Item
    from tests.themes.factories import exhibition_make
    from tests.transcription.doors import transcript_make

    transcript_make(
        Item.objects.get(public_id=ORAL_HISTORY),
        segments=ORAL_HISTORY_SEGMENTS,
        language="yue",
    )
    exhibition = exhibition_make(
        title="茶樓與街坊",
        slug=EXHIBITION_SLUG,
        title_en="Tea houses and neighbours",
        summary="西關茶樓的口述與文獻。",
        body=exhibition_body(),
    )
    paths = {case: path for case, path in PAGES}
    paths["exhibition"] = exhibition.url
    return paths


# -- Browser and axe helpers ---------------------------------------------------


@contextmanager
def viewport_page(browser, live_server, *, language: str, width: int, height: int):
    """A page of a fresh context at ``width``×``height`` speaking ``language``."""
    log = BrowserLog()
    # axe is injected as an inline script: CSP must not refuse it.
    context = browser.new_context(
        viewport={"width": width, "height": height}, bypass_csp=True
    )
    try:
        context.add_cookies(
            [{"name": "yc_language", "value": language, "url": live_server.url}]
        )
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("console", lambda message: _console_error(log, message))
        page.on("pageerror", lambda error: log.errors.append(f"pageerror: {error}"))
        yield page, log
    finally:
        context.close()


def open_settled(page, url: str) -> None:
    """Go to ``url`` and wait until the page and its scripts have settled."""
    response = page.goto(url, wait_until="networkidle")
    assert response is not None and response.status == 200, (url, response)
    if page.locator("[data-mirador]").count():
        # Check the viewer as a visitor meets it, not an empty frame.
        page.locator(".mirador-window").first.wait_for(state="visible")
        page.wait_for_load_state("networkidle")


def axe_run(page) -> list[dict]:
    """Run axe-core on the page (WCAG 2.x A and AA rules) and return its violations."""
    if not AXE.exists():
        service_unavailable(f"axe-core is not installed ({AXE}): run make install")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        WCAG_TAGS,
    )
    return result["violations"]


def describe(violations: list[dict]) -> str:
    """Violations with their nodes, for a failure message a person can act on."""
    lines = []
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"]:
            lines.append(f"      at {json.dumps(node['target'], ensure_ascii=False)}")
            lines.append(f"         {node['html'][:300]}")
            summary = (node.get("failureSummary") or "").replace("\n", "\n         ")
            lines.append(f"         {summary}")
    return "\n".join(lines)


# -- axe: every public page, language and viewport -----------------------------


@pytest.mark.parametrize("case", [case for case, _ in PAGES])
def test_public_page_has_no_serious_axe_violation(
    case, committed_site, chromium, public_site
):
    url = f"{committed_site.url}{public_site[case]}"
    failures, notes = [], []
    for language, viewport in AXE_RUNS:
        width, height = VIEWPORTS[viewport]
        with viewport_page(
            chromium, committed_site, language=language, width=width, height=height
        ) as (page, log):
            open_settled(page, url)
            violations = axe_run(page)
            where = f"{public_site[case]} [{language}, {viewport} {width}×{height}]"
            blocking = [v for v in violations if v["impact"] in BLOCKING]
            if blocking:
                failures.append(f"{where}\n{describe(blocking)}")
            minor = [v["id"] for v in violations if v["impact"] not in BLOCKING]
            if minor:
                notes.append(f"{where}: minor or moderate {minor}")
    assert not failures, "\n".join(
        ["axe-core violations (serious or critical):", *failures, *notes]
    )


# -- Keyboard ------------------------------------------------------------------

#: The element focused now, and whether its focus shows (outline or box-shadow).
FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const again = e.dataset.tabSeen === '1';
  e.dataset.tabSeen = '1';
  const s = getComputedStyle(e);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 1;
  const shadow = s.boxShadow && s.boxShadow !== 'none';
  return {
    again,
    tag: e.tagName.toLowerCase(),
    html: e.outerHTML.slice(0, 160),
    visible: e.matches(':focus-visible') && (outline || shadow),
    style: `outline: ${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}; `
      + `box-shadow: ${s.boxShadow}`,
    inViewer: !!e.closest('[data-mirador]'),
  };
}"""
#: Tab stops walked on one page at most (every page here has fewer).
MAX_TAB_STOPS = 150


def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_main(
    committed_site, chromium, public_site
):
    for language in LANGUAGES:
        for viewport, (width, height) in VIEWPORTS.items():
            with viewport_page(
                chromium, committed_site, language=language, width=width, height=height
            ) as (page, log):
                open_settled(page, f"{committed_site.url}/")
                page.keyboard.press("Tab")
                first = page.evaluate(
                    "() => [document.activeElement.className,"
                    " document.activeElement.getAttribute('href')]"
                )
                assert first == ["skip", "#main"], (language, viewport, first)
                box = page.locator("a.skip").bounding_box()
                assert box and box["x"] >= 0 and box["y"] >= 0, (
                    "the focused skip link is off screen",
                    language,
                    viewport,
                    box,
                )
                assert box["x"] + box["width"] <= width
                page.keyboard.press("Enter")
                page.wait_for_function("document.activeElement.id === 'main'")
                # The next Tab goes on inside the content, not back to the header.
                page.keyboard.press("Tab")
                inside = page.evaluate("!!document.activeElement.closest('#main')")
                assert inside, (language, viewport)
                assert log.errors == [], log.errors


@pytest.mark.parametrize("case", [case for case, _ in PAGES])
def test_every_link_and_button_shows_its_keyboard_focus(
    case, committed_site, chromium, public_site
):
    hidden, seen = [], []
    for viewport, (width, height) in VIEWPORTS.items():
        with viewport_page(
            chromium, committed_site, language="zh-hant", width=width, height=height
        ) as (page, log):
            open_settled(page, f"{committed_site.url}{public_site[case]}")
            for _ in range(MAX_TAB_STOPS):
                page.keyboard.press("Tab")
                focused = page.evaluate(FOCUSED)
                if focused is None:
                    continue
                if focused["again"]:
                    break  # went round the page once
                if focused["tag"] in ("audio", "video") or focused["inViewer"]:
                    # Native media controls and Mirador draw their own rings.
                    continue
                seen.append(focused["html"])
                if not focused["visible"]:
                    hidden.append(
                        f"[{viewport}] {focused['html']}  ({focused['style']})"
                    )
    assert seen, "no tab stop found"
    assert not hidden, "focus not visible on:\n" + "\n".join(dict.fromkeys(hidden))


def test_home_page_does_not_scroll_sideways_on_a_320px_screen(
    committed_site, chromium, public_site
):
    for language in LANGUAGES:
        with viewport_page(
            chromium, committed_site, language=language, width=320, height=640
        ) as (page, log):
            open_settled(page, f"{committed_site.url}/")
            widths = page.evaluate(
                "[document.documentElement.scrollWidth, window.innerWidth]"
            )
            assert widths[0] <= widths[1], (language, widths)
