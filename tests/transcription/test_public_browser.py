"""The recording page in a real browser (Debian Chromium, driven by Playwright).

The sample's recordings are loaded once for the module (``committed_sample``:
the tests only read) and the oral history served by a live server with a
transcript: a
click on a line seeks the player there, ``?t=30`` and ``#t=`` cue it, the
highlighted line follows the playback (and stops following when the reader
scrolls the transcript away), the page fits a phone, and nothing logs a
console error.
"""

from __future__ import annotations

import pytest

from tests.iiif.test_viewer_browser import browser_page, wait_for
from tests.transcription.doors import transcript_make

pytestmark = [pytest.mark.browser]

ORAL_HISTORY = "oh-teahouse-1938"
LINES = [
    "我細個嗰陣，喺西關嘅茶樓飲茶。",
    "阿爺每朝都帶我去蓮香樓，叫一盅兩件。",
    "你仲記唔記得嗰陣時嘅點心？",
    "蝦餃燒賣，仲有馬拉糕，好好味㗎。",
    "茶樓啲伙記識晒我哋成家人。",
    "一九三八年日本仔轟炸廣州。",
    "我哋成家走難，去咗鄉下。",
    "屋企有啲嘢，我記得好清楚。",
    "後來返到嚟，茶樓已經冇咗。",
    "而家諗返起，好似發夢咁。",
    "多謝你聽我講。",
]
#: One line every three seconds over the 63.9-second sample interview: more
#: lines than the transcript panel shows at once, so it scrolls.
SEGMENTS = [
    (3.0 * n, 3.0 * n + 3.0, LINES[n % len(LINES)], "訪問者" if n % 5 == 2 else "梁伯")
    for n in range(21)
]
MEDIA = "document.querySelector('[data-recording] audio')"


@pytest.fixture(scope="module")
def sample_parts():
    """The sample's oral history and documentary (not its volume's pyramids)."""
    return ("oral-history", "documentary")


@pytest.fixture(scope="module")
def oral_history(committed_sample):
    """The oral history, with a transcript of ``SEGMENTS``."""
    from archive.models import Item

    item = Item.objects.get(public_id=ORAL_HISTORY)
    transcript_make(item, segments=SEGMENTS)
    return item


def _ready(page, log) -> None:
    wait_for(
        page,
        log,
        lambda: page.evaluate(f"{MEDIA} && {MEDIA}.readyState >= 1"),
        "the recording's metadata",
    )


def _time(page) -> float:
    return page.evaluate(f"{MEDIA}.currentTime")


def _current_starts(page) -> list[str]:
    return page.eval_on_selector_all(
        ".transcript-lines [aria-current='true']",
        "els => els.map(e => e.dataset.start)",
    )


def _no_errors(log) -> None:
    assert log.errors == []
    # Media requests the browser cancels itself when seeking are not failures.
    assert [u for u in log.failed if "/listen/" not in u] == []
    listens = log.matching(rf"/items/{ORAL_HISTORY}/listen/")
    assert listens and all(s in (200, 206) for s, _ in listens), listens


def test_clicking_a_line_seeks_and_the_highlight_follows(
    committed_site, chromium, oral_history
):
    with browser_page(chromium) as (page, log):
        page.goto(f"{committed_site.url}/items/{ORAL_HISTORY}/")
        _ready(page, log)
        assert _current_starts(page) == ["0.0"]  # the first line, before playing

        page.locator(".transcript-lines [data-start='18.0'] .text").click()
        wait_for(page, log, lambda: _time(page) >= 18.0, "the seek to 18 s")
        page.evaluate(f"{MEDIA}.pause()")
        assert 18.0 <= _time(page) < 19.5
        wait_for(page, log, lambda: _current_starts(page) == ["18.0"], "line 18 s lit")

        # The time link seeks too (and does not reload the page).
        page.locator(".transcript-lines [data-start='6.0'] a.time").click()
        wait_for(page, log, lambda: 6.0 <= _time(page) < 7.5, "the seek to 6 s")
        page.evaluate(f"{MEDIA}.pause()")
        assert page.url.endswith(f"/items/{ORAL_HISTORY}/")

        # Playback moves on: the highlight follows and stays in view.
        page.evaluate(
            f"{MEDIA}.currentTime = 55; {MEDIA}.dispatchEvent(new Event('timeupdate'))"
        )
        wait_for(page, log, lambda: _current_starts(page) == ["54.0"], "line 54 s lit")
        in_view = page.evaluate(
            """() => {
                const panel = document.querySelector('[data-transcript]');
                const line = panel.querySelector("[aria-current='true']");
                const p = panel.getBoundingClientRect(), l = line.getBoundingClientRect();
                return l.top >= p.top - 1 && l.bottom <= p.bottom + 1;
            }"""
        )
        assert in_view, "the lit line was not scrolled into the transcript panel"
        assert page.locator("[data-follow]").is_hidden()
        _no_errors(log)


def test_reader_scrolling_away_stops_the_follow(committed_site, chromium, oral_history):
    with browser_page(chromium) as (page, log):
        page.goto(f"{committed_site.url}/items/{ORAL_HISTORY}/")
        _ready(page, log)
        panel = page.locator("[data-transcript]")
        panel.hover()
        page.mouse.wheel(0, 2000)
        follow = page.locator("[data-follow]")
        wait_for(page, log, follow.is_visible, "the follow button")
        before = panel.evaluate("el => el.scrollTop")
        page.evaluate(
            f"{MEDIA}.currentTime = 1; {MEDIA}.dispatchEvent(new Event('timeupdate'))"
        )
        wait_for(page, log, lambda: _current_starts(page) == ["0.0"], "line 0 s lit")
        assert (
            panel.evaluate("el => el.scrollTop") == before
        )  # left where the reader is
        follow.click()
        wait_for(
            page, log, lambda: panel.evaluate("el => el.scrollTop") < before, "back"
        )
        assert follow.is_hidden()
        _no_errors(log)


@pytest.mark.parametrize("suffix", ["?t=30", "#t=30"])
def test_t_starts_at_thirty_seconds(committed_site, chromium, oral_history, suffix):
    with browser_page(chromium) as (page, log):
        page.goto(f"{committed_site.url}/items/{ORAL_HISTORY}/{suffix}")
        _ready(page, log)
        wait_for(page, log, lambda: abs(_time(page) - 30.0) < 0.5, "the cue at 30 s")
        wait_for(page, log, lambda: _current_starts(page) == ["30.0"], "line 30 s lit")
        _no_errors(log)


def test_page_fits_a_phone(committed_site, chromium, oral_history):
    with browser_page(chromium, width=390) as (page, log):
        page.goto(f"{committed_site.url}/items/{ORAL_HISTORY}/")
        _ready(page, log)
        # Nothing of the recording reaches past the screen's right edge.
        wide = page.evaluate(
            """() => Array.from(document.querySelectorAll('[data-recording] *'))
                .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                .map(e => e.tagName + '.' + e.className)"""
        )
        assert wide == [], f"wider than the phone: {wide}"
        audio = page.locator("[data-recording] audio").bounding_box()
        panel = page.locator("[data-transcript]").bounding_box()
        assert panel["y"] >= audio["y"] + audio["height"] - 1, "transcript not below"
        assert audio["width"] >= 300
        _no_errors(log)
