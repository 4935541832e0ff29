"""The Content Security Policy in a real browser (Debian Chromium, driven by Playwright).

The viewer (Mirador), the recording player and the transcript editor must
work under the policy the site sends, with no ``securitypolicyviolation``
event and no console error, while the rate limits run at their defaults
(Mirador's real burst of tiles must never meet them) and the login goes
through django-axes. Each test loads only the part of the sample archive it
shows: the Dadian volume, or the oral history.
"""

from __future__ import annotations

import shutil

import pytest

from tests.iiif.test_viewer_browser import browser_page, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VOLUME = "gzdd-sanzijing-v1"
ORAL_HISTORY = "oh-teahouse-1938"
PASSWORD = "pw-for-the-csp-test"
#: (start, end, text, speaker): a short transcript of the sample interview.
SEGMENTS = [
    (0.0, 4.6, "我姓梁，街坊都叫我梁伯。", "梁伯"),
    (4.6, 9.2, "我哋屋企喺西關開茶樓，開咗三代人。", "梁伯"),
    (9.2, 13.0, "一九三八年，我先至十二歲。", "梁伯"),
    (13.0, 20.5, "嗰年日本軍嘅飛機成日嚟轟炸廣州。", "梁伯"),
    (20.5, 27.0, "我阿爸話，茶樓唔可以停。", "梁伯"),
]
#: Collects CSP violations in every document the page opens (Playwright's init
#: scripts run before the page's own and are not subject to its policy).
LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(
    `${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ` +
    `${e.sourceFile}:${e.lineNumber}`
  );
});
"""


@pytest.fixture(autouse=True)
def _as_in_production(settings, monkeypatch):
    """The rate limits and login throttling on, with fresh counters."""
    from django.core.cache import cache

    # Playwright's sync API runs an event loop in this thread.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.ARCHIVE_RATELIMIT_ENABLED = True
    settings.AXES_ENABLED = True
    cache.clear()


def _load(tmp_path, part: str) -> None:
    """Load one part of the sample archive (docs: ingest/sample/README.md)."""
    from ingest.services import sample_load
    from ingest.services.jobs import SAMPLE_ROOT

    folder = tmp_path / "sample"
    folder.mkdir()
    shutil.copy(SAMPLE_ROOT / "institutions.json", folder / "institutions.json")
    shutil.copytree(SAMPLE_ROOT / part, folder / part)
    report = sample_load(root=folder)
    assert report.problems == [], report.problems


@pytest.fixture
def volume(db, tmp_path):
    _load(tmp_path, "dadian")


@pytest.fixture
def oral_history(db, tmp_path):
    """The sample interview with a transcript, and an archivist of its institution."""
    from archive.models import Institution, Item
    from tests.archive.factories import make_user
    from tests.transcription.doors import transcript_make

    _load(tmp_path, "oral-history")
    item = Item.objects.get(public_id=ORAL_HISTORY)
    make_user(
        "archivist",
        groups=["Archivists"],
        institution=Institution.objects.get(code="liwan"),
        password=PASSWORD,
    )
    return transcript_make(item, segments=SEGMENTS, language="yue")


def _open(page, url: str) -> dict:
    """Go to ``url`` in English and return the document's response headers."""
    page.context.add_cookies([{"name": "yc_language", "value": "en", "url": url}])
    response = page.goto(url)
    return response.headers


def _assert_clean(page, log) -> None:
    page.wait_for_timeout(500)  # let late requests and reports arrive
    assert page.evaluate("window.__cspViolations") == []
    assert [e for e in log.errors if "Content Security Policy" in e] == []
    assert log.errors == []
    assert [u for s, u in log.responses if s == 429] == []


def _strict(headers: dict) -> None:
    """The document came with the strict policy (so this test is not run without one)."""
    policy = {
        part.split()[0]: part.split()[1:]
        for part in headers["content-security-policy"].split(";")
        if part.strip()
    }
    assert policy["script-src"] == ["'self'"], policy
    assert policy["frame-ancestors"] == ["'none'"], policy


def test_mirador_shows_the_volume_under_the_policy(live_server, chromium_path, volume):
    with browser_page(chromium_path) as (page, log):
        page.add_init_script(LISTEN)
        _strict(_open(page, f"{live_server.url}/items/{VOLUME}/"))
        title = page.locator(".mirador-window h2").first
        wait_for(
            page,
            log,
            lambda: title.count() and "Three Character Classic" in title.inner_text(),
            "the volume's title in Mirador's window",
        )
        wait_for(page, log, lambda: any(s == 200 for s, _ in log.tiles()), "a tile")
        assert page.locator(".mirador-osd-container canvas").count() >= 1
        assert all(s == 200 for s, _ in log.tiles())
        _assert_clean(page, log)


def test_the_player_plays_and_seeks_under_the_policy(
    live_server, chromium_path, oral_history
):
    media = "document.querySelector('[data-recording] audio')"
    with browser_page(chromium_path) as (page, log):
        page.add_init_script(LISTEN)
        _strict(_open(page, f"{live_server.url}/items/{ORAL_HISTORY}/"))
        wait_for(
            page,
            log,
            lambda: page.evaluate(f"{media} && {media}.readyState >= 1"),
            "the recording's metadata",
        )
        page.evaluate(f"{media}.muted = true; {media}.play()")
        wait_for(page, log, lambda: page.evaluate(f"{media}.currentTime") > 0.2, "play")
        page.evaluate(f"{media}.pause()")
        page.locator(".transcript-lines [data-start='13.0'] .text").click()
        wait_for(
            page,
            log,
            lambda: 13.0 <= page.evaluate(f"{media}.currentTime") < 15.0,
            "the seek to 13 s",
        )
        _assert_clean(page, log)


def test_the_editor_saves_under_the_policy(live_server, chromium_path, oral_history):
    editor = f"/admin/transcription/transcripts/{oral_history.public_id}/"
    corrected = "我姓梁，街坊都叫我做梁伯。"
    with browser_page(chromium_path) as (page, log):
        page.add_init_script(LISTEN)
        _open(page, f"{live_server.url}/admin/login/?next={editor}")
        page.fill("input[name=username]", "archivist")
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert page.url == f"{live_server.url}{editor}"
        _strict(page.goto(f"{live_server.url}{editor}").headers)
        items = page.locator("#tx-segments > li.tx-segment")
        wait_for(page, log, lambda: items.count() == len(SEGMENTS), "the segments")
        text = items.nth(0).locator('[data-field="text"]')
        text.fill(corrected)
        text.press("Tab")
        status = items.nth(0).locator('[data-field="status"]')
        wait_for(page, log, lambda: status.inner_text() == "Saved", "the save")
        _assert_clean(page, log)
        page.reload()
        wait_for(page, log, lambda: items.count() == len(SEGMENTS), "the reload")
        assert items.nth(0).locator('[data-field="text"]').input_value() == corrected
        _assert_clean(page, log)
