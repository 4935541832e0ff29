"""An exhibition page in a real browser (Debian Chromium, driven by Playwright).

The sample archive is loaded once for the module (``committed_sample``: the
tests only read), its oral history given a transcript, and an exhibition built
from the block contract of ``themes/blocks.py``: a crop of
a page of the Dadian volume (``iiif_image``), seconds of the oral history
(``clip``), and two blocks of items an anonymous visitor may not see. The
crop must load from the Image API with the region the curator chose; the
clip must start at its start, stop by itself at its end and show the
transcript of those seconds; the restricted blocks must leave nothing but
the neutral placeholder.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.iiif.test_viewer_browser import browser_page, wait_for
from tests.themes.conftest import (
    DOCUMENTARY,
    ORAL_HISTORY,
    ORAL_HISTORY_SEGMENTS,
    VOLUME,
)

pytestmark = [pytest.mark.browser]

#: The validator's test image (ingest/sample/README.md), made staff-only here.
IMAGE_ITEM = "iiif-validator-test-image"
IMAGE_ITEM_IMAGE = "67352ccc-d1b0-11e1-89ae-279075081939"
#: The crop: full-size pixels of the volume's second page (1200 × 1800).
REGION = "100,200,600,800"
CLIP_START, CLIP_END = 5.0, 9.0
#: The one transcript line said between CLIP_START and CLIP_END (conftest segments).
CLIP_LINE = "我哋屋企喺西關開茶樓，開咗三代人。"
#: Lines of the same interview just before and after the clip.
OUTSIDE_LINES = ["我姓梁，街坊都叫我梁伯。", "一九三八年，我先至十二歲。"]
PLAYER = "document.querySelector('figure.block-clip .clip-player')"


@pytest.fixture(scope="module")
def exhibition(committed_sample):
    """The exhibition, with the documentary and the validator image made staff-only."""
    from archive.models import AccessLevel, Item
    from tests.themes.factories import exhibition_make
    from tests.transcription.doors import transcript_make

    transcript_make(
        Item.objects.get(public_id=ORAL_HISTORY),
        segments=ORAL_HISTORY_SEGMENTS,
        language="yue",
    )
    items = {
        i.public_id: i
        for i in Item.objects.filter(
            public_id__in=[VOLUME, ORAL_HISTORY, DOCUMENTARY, IMAGE_ITEM]
        )
    }
    Item.objects.filter(public_id__in=[DOCUMENTARY, IMAGE_ITEM]).update(
        access_level=AccessLevel.STAFF
    )
    body = [
        {"type": "text", "value": "<p>西關的茶樓，一盅兩件。</p>"},
        {
            "type": "iiif_image",
            "value": {
                "item": items[VOLUME].pk,
                "page": 2,
                "region": REGION,
                "caption": "《三字經》卷上，首葉（局部）",
                "alt": "木刻本三字經首葉的右上部分",
            },
        },
        {
            "type": "clip",
            "value": {
                "item": items[ORAL_HISTORY].pk,
                "start": CLIP_START,
                "end": CLIP_END,
                "caption": "梁伯講西關茶樓",
            },
        },
        {
            "type": "clip",
            "value": {
                "item": items[DOCUMENTARY].pk,
                "start": 2.0,
                "end": 6.0,
                "caption": "珠江",
            },
        },
        {
            "type": "iiif_image",
            "value": {
                "item": items[IMAGE_ITEM].pk,
                "page": 1,
                "region": "full",
                "caption": "測試圖",
                "alt": "測試圖",
            },
        },
    ]
    return exhibition_make(title="茶樓記憶", slug="tea-house-memories", body=body)


def _within(page, seconds: float, condition) -> bool:
    """Whether ``condition()`` comes true within ``seconds`` while the page runs."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        page.wait_for_timeout(100)
    return True


def _open(page, live_server, path: str) -> None:
    page.context.add_cookies(
        [{"name": "yc_language", "value": "zh-hant", "url": live_server.url}]
    )
    response = page.goto(f"{live_server.url}{path}")
    assert response is not None and response.status == 200


def test_the_crop_loads_from_the_image_api_with_its_region(
    committed_site, chromium, exhibition
):
    with browser_page(chromium) as (page, log):
        _open(page, committed_site, exhibition.url)
        image = page.locator("figure.block-iiif-image img")
        assert image.count() == 1  # the staff-only image is not there
        image.scroll_into_view_if_needed()  # it loads lazily
        wait_for(
            page,
            log,
            lambda: image.evaluate("img => img.complete && img.naturalWidth > 0"),
            "the crop to load",
        )
        request = re.compile(
            rf"/iiif/3/image/[^/]+/{re.escape(REGION)}/\d+,/0/default\.jpg$"
        )
        assert request.search(image.get_attribute("src")), image.get_attribute("src")
        current = image.evaluate("img => img.currentSrc")
        assert request.search(current), current
        assert (200, current) in log.responses, log.matching(r"/iiif/3/image/")
        # Candidates are "URL width", separated by a comma and a space (the URLs
        # hold commas of their own: the region and the size).
        srcset = image.get_attribute("srcset")
        candidates = [c.split()[0] for c in re.split(r",\s+", srcset.strip())]
        assert candidates and all(request.search(c) for c in candidates), candidates
        # A crop of 600 × 800 pixels: the browser got an image of that shape.
        width, height = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        assert height / width == pytest.approx(800 / 600, rel=0.02)
        assert image.get_attribute("alt") == "木刻本三字經首葉的右上部分"
        assert log.errors == [], log.errors


def test_the_clip_plays_its_seconds_and_shows_their_transcript(
    committed_site, chromium, exhibition
):
    with browser_page(chromium) as (page, log):
        _open(page, committed_site, exhibition.url)
        figure = page.locator("figure.block-clip")
        assert figure.count() == 1  # the staff-only documentary is not there
        assert float(figure.get_attribute("data-start")) == CLIP_START
        assert float(figure.get_attribute("data-end")) == CLIP_END

        excerpt = figure.locator(".clip-excerpt").inner_text()
        assert CLIP_LINE in excerpt
        assert not [line for line in OUTSIDE_LINES if line in excerpt], excerpt

        wait_for(
            page, log, lambda: page.evaluate(f"{PLAYER}.readyState >= 1"), "metadata"
        )
        # Every time the player reports while it plays, from the first frame on.
        page.evaluate(
            f"""() => {{
              const player = {PLAYER};
              window.clipTimes = [];
              player.addEventListener('playing', () => window.clipTimes.push(player.currentTime));
              player.addEventListener('timeupdate', () => {{
                if (!player.paused) window.clipTimes.push(player.currentTime);
              }});
            }}"""
        )
        # The play button of the native controls: the left end of the bar.
        player = figure.locator(".clip-player")
        player.scroll_into_view_if_needed()
        box = player.bounding_box()
        page.mouse.click(box["x"] + 20, box["y"] + box["height"] / 2)
        if not _within(page, 3.0, lambda: not page.evaluate(f"{PLAYER}.paused")):
            # The controls drew their button elsewhere: play after the click anyway
            # (the click was the user gesture the autoplay policy asks for).
            page.evaluate(f"{PLAYER}.play()")
        wait_for(page, log, lambda: not page.evaluate(f"{PLAYER}.paused"), "play")
        wait_for(
            page,
            log,
            lambda: page.evaluate("window.clipTimes.length") >= 2,
            "the playback to advance",
        )
        times = page.evaluate("window.clipTimes")
        assert min(times) >= CLIP_START - 0.3, times

        wait_for(
            page,
            log,
            lambda: page.evaluate(f"{PLAYER}.paused"),
            "the clip to stop by itself",
        )
        stopped = page.evaluate(f"{PLAYER}.currentTime")
        assert CLIP_END - 0.5 <= stopped <= CLIP_END + 0.5, stopped
        times = page.evaluate("window.clipTimes")
        assert min(times) >= CLIP_START - 0.3, times
        assert max(times) >= CLIP_END - 1.0, times  # it really played through
        page.wait_for_timeout(700)
        assert page.evaluate(f"{PLAYER}.paused")
        assert page.evaluate(f"{PLAYER}.currentTime") == pytest.approx(
            stopped, abs=0.05
        )
        assert log.errors == [], log.errors


def test_restricted_items_leave_only_the_placeholder(
    committed_site, chromium, exhibition
):
    from archive.models import Item

    documentary = Item.objects.get(public_id=DOCUMENTARY)
    image_item = Item.objects.get(public_id=IMAGE_ITEM)
    with browser_page(chromium) as (page, log):
        _open(page, committed_site, exhibition.url)
        placeholders = page.locator(".block-placeholder")
        assert placeholders.count() == 2
        for n in range(2):
            block = placeholders.nth(n)
            assert block.locator("img, audio, video, a, track").count() == 0
            assert block.inner_text().strip()
        html = page.content()
        for secret in (
            DOCUMENTARY,
            documentary.title,
            IMAGE_ITEM,
            IMAGE_ITEM_IMAGE,
            image_item.title,
            "珠江",
            "測試圖",
        ):
            assert secret not in html, secret
        page.wait_for_timeout(500)
        # Nothing of the restricted items was even asked for.
        asked = [u for _, u in log.responses]
        assert not [u for u in asked if DOCUMENTARY in u or IMAGE_ITEM_IMAGE in u]
        assert log.errors == [], log.errors
