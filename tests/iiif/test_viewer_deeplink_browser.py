"""Deep links into Mirador (``#page=N&xywh=x,y,w,h``) in a real browser.

``iiif/static/iiif/viewer.js`` documents the link form. The sample's volume and
the validator's image are loaded once for the module (``committed_sample``: the
tests only read) into a live server, and Debian Chromium opens the Dadian volume
(10 pages, shown two by two in Mirador's book view, right to left): the window
must show the linked canvas, whose id is read from the manifest the server
serves, and OpenSeadragon's viewport must frame the linked region.
"""

from __future__ import annotations

import json
from urllib.request import urlopen

import pytest

from tests.iiif.test_viewer_browser import IMAGE_ITEM, VOLUME, browser_page, wait_for

pytestmark = [pytest.mark.browser]

ITEM_PAGE = f"/items/{VOLUME}/"
WINDOW = f"mirador-{VOLUME}-window-1"
#: The least share of the viewport's width or height a linked region must fill.
FILL = 0.8
#: Rounding slack, in image pixels, when the viewport must contain the region.
SLACK = 2

#: The first Mirador window's current canvas, visible canvases and viewer state.
WINDOW_STATE_JS = """(windowId) => {
  const element = document.querySelector("[data-mirador]");
  const viewer = element && element.miradorViewer;
  if (!viewer) return null;
  const state = viewer.store.getState();
  const win = state.windows[windowId];
  if (!win) return null;
  return {canvasId: win.canvasId || null, visible: win.visibleCanvases || []};
}"""

#: OpenSeadragon's current viewport in the pixels of the image a service serves.
IMAGE_BOUNDS_JS = """([windowId, serviceId]) => {
  const ref = window.Mirador.OSDReferences.get(windowId);
  const osd = ref && ref.current;
  if (!osd || !osd.world) return null;
  const strip = (id) => String(id || "").replace(/\\/$/, "");
  for (let i = 0; i < osd.world.getItemCount(); i++) {
    const item = osd.world.getItemAt(i);
    if (strip(item.source.id || item.source["@id"]) !== strip(serviceId)) continue;
    const box = item.viewportToImageRectangle(osd.viewport.getBounds(true));
    return [box.x, box.y, box.width, box.height];
  }
  return null;
}"""


@pytest.fixture(scope="module")
def sample_parts():
    """The Dadian volume and the validator's image (the compare page's second item)."""
    return ("dadian", "iiif-validator")


@pytest.fixture(scope="module")
def volume_exhibition(committed_sample):
    """The path of an exhibition showing the volume in a volume block (kept for the module)."""
    from archive.models import Item
    from tests.themes.factories import exhibition_make

    volume = Item.objects.get(public_id=VOLUME)
    exhibition = exhibition_make(
        body=[{"type": "volume", "value": {"item": volume.pk, "caption": "卷上"}}]
    )
    return exhibition.url


def manifest_canvases(live_server, public_id: str) -> list[tuple[str, str]]:
    """``(canvas id, image service id)`` of each page, as the server serves them."""
    with urlopen(f"{live_server.url}/iiif/3/manifest/{public_id}") as response:
        manifest = json.load(response)
    canvases = []
    for canvas in manifest["items"]:
        body = canvas["items"][0]["items"][0]["body"]
        canvases.append((canvas["id"], body["service"][0]["id"]))
    return canvases


def window_state(page, window_id: str = WINDOW) -> dict | None:
    """The window's canvas and visible canvases in Mirador's store."""
    return page.evaluate(WINDOW_STATE_JS, window_id)


def wait_for_canvas(page, log, canvas_id: str, window_id: str = WINDOW) -> None:
    """Wait until the window shows ``canvas_id``."""
    wait_for(
        page,
        log,
        lambda: (window_state(page, window_id) or {}).get("canvasId") == canvas_id,
        f"the window to show {canvas_id} (it shows {window_state(page, window_id)})",
    )


def image_bounds(page, service_id: str) -> list[float] | None:
    """The viewport as x, y, w, h in the full-size pixels of one page."""
    return page.evaluate(IMAGE_BOUNDS_JS, [WINDOW, service_id])


def frames(bounds, region) -> bool:
    """Whether the viewport contains ``region`` and the region fills it."""
    if not bounds:
        return False
    x, y, w, h = bounds
    rx, ry, rw, rh = region
    contains = (
        x <= rx + SLACK
        and y <= ry + SLACK
        and x + w >= rx + rw - SLACK
        and y + h >= ry + rh - SLACK
    )
    return contains and max(rw / w, rh / h) >= FILL


def wait_for_region(page, log, service_id: str, region) -> None:
    """Wait until the viewport frames ``region`` of the page ``service_id`` serves."""
    wait_for(
        page,
        log,
        lambda: frames(image_bounds(page, service_id), region),
        f"the viewport to frame {region} (it shows {image_bounds(page, service_id)})",
    )
    page.wait_for_timeout(500)  # the zoom must hold once OpenSeadragon settles
    bounds = image_bounds(page, service_id)
    assert frames(bounds, region), (bounds, region)


def test_page_fragment_opens_that_page(committed_site, chromium):
    canvases = manifest_canvases(committed_site, VOLUME)
    assert len(canvases) == 10
    with browser_page(chromium) as (page, log):
        page.goto(f"{committed_site.url}{ITEM_PAGE}#page=3")
        wait_for_canvas(page, log, canvases[2][0])
        wait_for(page, log, lambda: any(s == 200 for s, _ in log.tiles()), "a tile")
        page.wait_for_timeout(1000)
        # Still page 3 once Mirador has settled, and shown (book view: 2 and 3).
        state = window_state(page)
        assert state["canvasId"] == canvases[2][0]
        assert canvases[2][0] in state["visible"]
        assert log.errors == []


def test_region_fills_the_viewer(committed_site, chromium):
    canvases = manifest_canvases(committed_site, VOLUME)
    region = (100, 200, 400, 300)
    with browser_page(chromium) as (page, log):
        page.goto(f"{committed_site.url}{ITEM_PAGE}#page=3&xywh=100,200,400,300")
        wait_for_canvas(page, log, canvases[2][0])
        wait_for_region(page, log, canvases[2][1], region)
        # The linked zoom is within the viewer's limit: the reader's first
        # scroll zooms further in, rather than snapping back out.
        width = image_bounds(page, canvases[2][1])[2]
        box = page.locator(".mirador-osd-container").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.wheel(0, -100)
        page.wait_for_timeout(1500)
        assert image_bounds(page, canvases[2][1])[2] < width * 0.95
        assert log.errors == []


def test_tall_region_fills_the_viewer_height(committed_site, chromium):
    """A region taller than the viewer's shape fills its height (with the
    ``pixel:`` unit of the media fragment syntax, on a right-hand page)."""
    canvases = manifest_canvases(committed_site, VOLUME)
    region = (700, 100, 300, 1200)
    with browser_page(chromium) as (page, log):
        page.goto(f"{committed_site.url}{ITEM_PAGE}#page=4&xywh=pixel:700,100,300,1200")
        wait_for_canvas(page, log, canvases[3][0])
        wait_for_region(page, log, canvases[3][1], region)
        x, y, w, h = image_bounds(page, canvases[3][1])
        assert region[3] / h >= FILL and region[2] / w < FILL
        assert log.errors == []


def test_query_parameters_open_a_page_and_the_fragment_wins(committed_site, chromium):
    canvases = manifest_canvases(committed_site, VOLUME)
    with browser_page(chromium) as (page, log):
        page.goto(f"{committed_site.url}{ITEM_PAGE}?page=2")
        wait_for_canvas(page, log, canvases[1][0])
        page.goto("about:blank")
        page.goto(f"{committed_site.url}{ITEM_PAGE}?page=2&xywh=0,0,600,450")
        wait_for_canvas(page, log, canvases[1][0])
        wait_for_region(page, log, canvases[1][1], (0, 0, 600, 450))
        page.goto("about:blank")
        page.goto(f"{committed_site.url}{ITEM_PAGE}?page=2#page=5")
        wait_for_canvas(page, log, canvases[4][0])
        assert log.errors == []


def test_changed_fragment_turns_the_page(committed_site, chromium):
    canvases = manifest_canvases(committed_site, VOLUME)
    with browser_page(chromium) as (page, log):
        page.goto(f"{committed_site.url}{ITEM_PAGE}#page=3")
        wait_for_canvas(page, log, canvases[2][0])
        wait_for(page, log, lambda: any(s == 200 for s, _ in log.tiles()), "a tile")
        page.evaluate("window.notReloaded = true")
        page.evaluate("location.hash = '#page=5'")
        wait_for_canvas(page, log, canvases[4][0])
        page.evaluate("location.hash = '#page=6&xywh=200,300,500,400'")
        wait_for_canvas(page, log, canvases[5][0])
        wait_for_region(page, log, canvases[5][1], (200, 300, 500, 400))
        # Back to a page without a region: the whole page, not the old zoom.
        page.evaluate("location.hash = '#page=8'")
        wait_for_canvas(page, log, canvases[7][0])
        wait_for_region(page, log, canvases[7][1], (0, 0, 1200, 1800))
        assert page.evaluate("window.notReloaded") is True
        assert log.errors == []


@pytest.mark.parametrize(
    "link",
    [
        "#page=999",
        "#page=0&xywh=0,0,100,100",
        "#page=abc",
        "?page=4#page=999",  # the fragment wins, and it is out of range
        "?page=-3",
    ],
)
def test_invalid_page_opens_the_first_page(committed_site, chromium, link):
    canvases = manifest_canvases(committed_site, VOLUME)
    with browser_page(chromium) as (page, log):
        page.goto(f"{committed_site.url}{ITEM_PAGE}{link}")
        wait_for_canvas(page, log, canvases[0][0])
        wait_for(page, log, lambda: any(s == 200 for s, _ in log.tiles()), "a tile")
        page.wait_for_timeout(1500)  # a late turn of the page would show here
        assert window_state(page)["canvasId"] == canvases[0][0]
        assert log.errors == []


def test_malformed_region_is_ignored(committed_site, chromium):
    canvases = manifest_canvases(committed_site, VOLUME)
    with browser_page(chromium) as (page, log):
        page.goto(f"{committed_site.url}{ITEM_PAGE}#page=2&xywh=10,10,abc,0")
        wait_for_canvas(page, log, canvases[1][0])
        wait_for(page, log, lambda: any(s == 200 for s, _ in log.tiles()), "a tile")
        page.wait_for_timeout(1500)
        x, y, w, h = image_bounds(page, canvases[1][1])
        assert w >= 1200 and h >= 1800, "a malformed region must leave the whole view"
        assert log.errors == []


def test_compare_page_opens_each_window_at_the_page(committed_site, chromium):
    volume = manifest_canvases(committed_site, VOLUME)
    image = manifest_canvases(committed_site, IMAGE_ITEM)
    with browser_page(chromium) as (page, log):
        page.goto(
            f"{committed_site.url}/viewer/?item={VOLUME}&item={IMAGE_ITEM}#page=4"
        )
        # The volume turns to page 4; the one-page image stays on its only page.
        wait_for_canvas(page, log, volume[3][0], "mirador-compare-window-1")
        wait_for_canvas(page, log, image[0][0], "mirador-compare-window-2")
        page.wait_for_timeout(1000)
        assert log.errors == []


def test_exhibition_volume_block_ignores_the_page_fragment(
    committed_site, chromium, volume_exhibition
):
    """An exhibition's URL is not about the volume it embeds: no deep link."""
    path = volume_exhibition
    canvases = manifest_canvases(committed_site, VOLUME)
    with browser_page(chromium) as (page, log):
        page.goto(f"{committed_site.url}{path}#page=3")
        wait_for_canvas(page, log, canvases[0][0])
        wait_for(page, log, lambda: any(s == 200 for s, _ in log.tiles()), "a tile")
        page.evaluate("location.hash = '#page=5'")
        page.wait_for_timeout(1500)  # a late turn of the page would show here
        assert window_state(page)["canvasId"] == canvases[0][0]
        assert log.errors == []
