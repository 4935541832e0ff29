"""The transcript editor in a real browser (Debian Chromium, driven by Playwright).

The sample archive's oral history (梁伯, 63.9 s of synthetic Cantonese) is
loaded alone and given a transcript made here; an archivist of its institution
opens the editor, seeks by clicking a segment's time, uses the keyboard
shortcuts, corrects a segment, splits one at the playhead, reloads, and
finds the changes kept, with their revisions in the database.
"""

from __future__ import annotations

import pytest

from archive.models import Asset, Institution, Item
from tests.archive.factories import make_user
from tests.iiif.test_viewer_browser import browser_page, wait_for
from transcription.models import Segment, SegmentRevision, Transcript

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ITEM = "oh-teahouse-1938"
#: The sample interview's monologue, one segment a line, as Whisper might time it.
LINES = [
    "我姓梁，街坊都叫我梁伯。我哋屋企喺西關開茶樓，開咗三代人。",
    "一九三八年，我先至十二歲。",
    "嗰年日本軍嘅飛機成日嚟轟炸廣州，警報一響，成條街嘅人都要走去防空洞匿埋。",
    "我阿爸話，茶樓唔可以停，街坊冇地方去，都要有啖茶飲。",
    "朝早五點，師傅已經喺廚房整點心，蝦餃、燒賣、叉燒包，一籠一籠咁蒸。",
    "啲老街坊一盅兩件，坐喺度講吓時局，講吓邊度又炸咗。",
    "到咗十月，廣州淪陷，好多人走難去香港，茶樓都要閂門。",
    "呢啲嘢唔講，後生一輩就唔會知㗎喇。",
]
SEGMENT = 8.0  # seconds a segment


@pytest.fixture
def interview(db, sample_loader):
    sample_loader(("oral-history",))
    item = Item.objects.get(public_id=ITEM)
    asset = item.assets.get(role=Asset.Role.MEDIA)
    transcript = Transcript.objects.create(
        item=item,
        asset=asset,
        register=Transcript.Register.COLLOQUIAL,
        language="yue",
        status=Transcript.Status.DONE,
        engine="faster-whisper",
        model_name="base",
        duration=63.9,
    )
    for n, line in enumerate(LINES):
        Segment.objects.create(
            transcript=transcript,
            start=n * SEGMENT,
            end=n * SEGMENT + SEGMENT - 0.4,
            machine_text=line,
            text=line,
            speaker="梁伯",
        )
    return transcript


def test_an_archivist_corrects_and_splits_while_listening(
    live_server, chromium_path, interview, monkeypatch
):
    # Playwright's sync API runs an event loop in this thread; the ORM calls
    # below are plain synchronous test code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    transcript = interview
    make_user(
        "archivist",
        groups=["Archivists"],
        institution=Institution.objects.get(code="liwan"),
        password="pw-for-the-test",
    )
    url = f"{live_server.url}/admin/transcription/transcripts/{transcript.public_id}/"
    corrected = "我姓梁，街坊都叫我做梁伯。我哋屋企喺西關開茶樓，開咗三代人。"

    with browser_page(chromium_path) as (page, log):
        page.context.add_cookies(
            [{"name": "yc_language", "value": "en", "url": live_server.url}]
        )
        page.goto(f"{live_server.url}/admin/login/?next={url[len(live_server.url) :]}")
        page.fill("input[name=username]", "archivist")
        page.fill("input[name=password]", "pw-for-the-test")
        page.click("button[type=submit]")
        items = page.locator("#tx-segments > li.tx-segment")
        status = page.locator("#tx-status")
        media = "document.getElementById('tx-media')"
        wait_for(page, log, lambda: items.count() == len(LINES), "the segments")
        wait_for(
            page,
            log,
            lambda: page.evaluate(f"{media}.readyState") >= 1,
            "the recording",
        )
        assert page.evaluate(f"{media}.duration") == pytest.approx(63.9, abs=0.2)
        assert page.evaluate(f"{media}.currentSrc").endswith(
            f"/items/{ITEM}/files/{transcript.asset_id}"
        )

        # Clicking a segment's time seeks there; the segment is highlighted.
        items.nth(3).locator('[data-action="seek"]').click()
        wait_for(
            page,
            log,
            lambda: page.evaluate(f"{media}.currentTime") >= 3 * SEGMENT - 0.01,
            "the seek to the fourth segment",
        )
        assert page.evaluate(f"{media}.currentTime") < 4 * SEGMENT
        wait_for(
            page,
            log,
            lambda: "is-current" in (items.nth(3).get_attribute("class") or ""),
            "the fourth segment highlighted",
        )
        assert items.nth(3).get_attribute("aria-current") == "true"

        # Alt+K plays or pauses; leave it paused, then Alt+L is 5 s forward.
        paused = page.evaluate(f"{media}.paused")
        page.keyboard.press("Alt+KeyK")
        wait_for(
            page,
            log,
            lambda: page.evaluate(f"{media}.paused") != paused,
            "Alt+K to play or pause",
        )
        if not page.evaluate(f"{media}.paused"):
            page.keyboard.press("Alt+KeyK")
            wait_for(page, log, lambda: page.evaluate(f"{media}.paused"), "the pause")
        before = page.evaluate(f"{media}.currentTime")
        page.keyboard.press("Alt+KeyL")
        assert page.evaluate(f"{media}.currentTime") == pytest.approx(
            before + 5, abs=0.05
        )
        playhead = page.evaluate(f"{media}.currentTime")
        assert 3 * SEGMENT < playhead < 4 * SEGMENT - 0.4

        # Correct the first segment's text; leaving it saves it.
        first_text = items.nth(0).locator('[data-field="text"]')
        first_text.fill(corrected)
        first_text.press("Tab")
        wait_for(
            page,
            log,
            lambda: (
                items.nth(0).locator('[data-field="status"]').inner_text() == "Saved"
            ),
            "the correction saved",
        )
        assert items.nth(0).locator('[data-flag="edited"]').is_visible()

        # Alt+Down from the first segment goes to the second: player and cursor.
        first_text.focus()
        page.keyboard.press("Alt+ArrowDown")
        assert page.evaluate(f"{media}.currentTime") == pytest.approx(SEGMENT, abs=0.01)
        assert page.evaluate(
            "document.activeElement.closest('.tx-segment').dataset.id"
        ) == str(transcript.segments.order_by("start")[1].pk)

        # Split the fourth segment at the playhead, where the cursor is.
        page.evaluate(f"{media}.currentTime = {playhead}")
        fourth = items.nth(3).locator('[data-field="text"]')
        fourth.click()
        fourth.press("Home")
        for _ in range(10):  # the cursor after 我阿爸話，茶樓唔可以
            fourth.press("ArrowRight")
        items.nth(3).locator('[data-action="split"]').click()
        wait_for(page, log, lambda: items.count() == len(LINES) + 1, "the split")
        wait_for(
            page, log, lambda: status.inner_text() == "Split in two.", "the message"
        )
        assert (
            items.nth(3).locator('[data-field="text"]').input_value()
            == "我阿爸話，茶樓唔可以"
        )
        assert items.nth(4).locator('[data-field="text"]').input_value() == (
            "停，街坊冇地方去，都要有啖茶飲。"
        )
        # The new segment has the focus and the place in the list is kept.
        assert page.evaluate("document.activeElement.dataset.field") == "text"
        assert log.errors == [], log.errors

        # Reload: everything is there.
        page.reload()
        wait_for(page, log, lambda: items.count() == len(LINES) + 1, "the reload")
        assert items.nth(0).locator('[data-field="text"]').input_value() == corrected
        assert (
            items.nth(3).locator('[data-field="text"]').input_value()
            == "我阿爸話，茶樓唔可以"
        )
        starts = page.locator('#tx-segments [data-action="seek"]').all_inner_texts()
        assert starts[3:5] == ["00:00:24.0", f"00:00:{playhead:04.1f}"]
        assert not log.errors, log.errors
        assert not [u for u in log.failed if "/admin/" in u], log.failed

    segments = list(transcript.segments.order_by("start", "pk"))
    assert len(segments) == len(LINES) + 1
    assert segments[0].text == corrected and segments[0].edited
    assert segments[4].start == pytest.approx(playhead, abs=0.001)
    revisions = list(
        SegmentRevision.objects.filter(segment__transcript=transcript)
        .order_by("pk")
        .values_list("action", "user__username")
    )
    assert revisions == [
        ("edit", "archivist"),
        ("split", "archivist"),
        ("split", "archivist"),
    ]
    transcript.refresh_from_db()
    assert transcript.review_state == Transcript.Review.IN_REVIEW
