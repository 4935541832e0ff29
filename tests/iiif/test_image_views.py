"""The Image API over HTTP: every parameter form, errors, headers, limits, cache, access.

The page is made in memory: 1000 x 1500 pixels in four coloured quadrants
(red top left, green top right, blue bottom left, yellow bottom right), stored
through ``archive.services.asset_create`` with its pyramid from
``iiif.services.page_pyramid_make``, so crops, rotations, mirroring and
qualities can be checked by the colour of known pixels.
"""

from __future__ import annotations

import io
import json
import random
from email.utils import formatdate
from urllib.parse import quote

import pytest
from django.urls import reverse
from PIL import Image

from archive.models import AccessLevel, Derivative
from iiif import image_views
from iiif.image_backend import BackendError
from iiif.image_cache import RECORD_FILE
from iiif.services import PYRAMID_RECIPE_VERSION
from tests.archive.factories import make_user
from tests.iiif.conftest import png_bytes

pytestmark = pytest.mark.django_db

RED, GREEN, BLUE, YELLOW = (220, 30, 30), (30, 190, 30), (30, 30, 220), (235, 220, 40)
WHITE = (255, 255, 255)
PROFILE_LINK = '<http://iiif.io/api/image/3/level2.json>;rel="profile"'


def quadrants(width: int = 1000, height: int = 1500) -> bytes:
    image = Image.new("RGB", (width, height), RED)
    half_w, half_h = width // 2, height // 2
    image.paste(GREEN, (half_w, 0, width, half_h))
    image.paste(BLUE, (0, half_h, half_w, height))
    image.paste(YELLOW, (half_w, half_h, width, height))
    return png_bytes(image)


@pytest.fixture
def page(page_with_pyramid):
    return page_with_pyramid(quadrants(), public_id="quad-page")


def url(page_or_id, rest: str = "", version: int | None = None) -> str:
    public_id = getattr(page_or_id, "public_id", page_or_id)
    ident = f"{public_id}~v{version}" if version else public_id
    return f"/iiif/3/image/{ident}" + (f"/{rest}" if rest else "")


def image_of(response) -> Image.Image:
    assert response.status_code == 200, response.content[:200]
    return Image.open(io.BytesIO(response.content))


def near(pixel, expected, tolerance: int = 40) -> bool:
    if isinstance(pixel, int):
        pixel = (pixel,)
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=False))


def assert_colours(img: Image.Image, points: dict) -> None:
    rgb = img.convert("RGBA") if img.mode in ("RGBA", "LA") else img.convert("RGB")
    for (x, y), colour in points.items():
        x = x if x >= 0 else rgb.width + x
        y = y if y >= 0 else rgb.height + y
        pixel = rgb.getpixel((x, y))
        assert near(pixel, colour), f"pixel {(x, y)} is {pixel}, expected {colour}"


# Info and base URI --------------------------------------------------------------


def test_info_json_describes_the_pyramid(client, page):
    response = client.get(url(page, "info.json"), HTTP_HOST="testserver")
    doc = response.json()
    assert response.status_code == 200
    assert doc["id"] == "http://testserver/iiif/3/image/quad-page"
    assert (doc["width"], doc["height"]) == (1000, 1500)
    assert doc["sizes"] == [
        {"width": 125, "height": 187},
        {"width": 250, "height": 375},
        {"width": 500, "height": 750},
        {"width": 1000, "height": 1500},
    ]
    assert doc["tiles"] == [{"width": 256, "height": 256, "scaleFactors": [1, 2, 4, 8]}]
    assert doc["rights"] == page.item.rights_uri
    assert (doc["maxWidth"], doc["maxHeight"], doc["maxArea"]) == (
        10_000,
        10_000,
        50_000_000,
    )
    assert response["Link"] == PROFILE_LINK
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Cache-Control"] == "public, max-age=3600"
    assert "Accept" in response["Vary"]
    versioned = client.get(
        url(page, "info.json", version=PYRAMID_RECIPE_VERSION)
    ).json()
    assert (
        versioned["id"]
        == f"http://testserver/iiif/3/image/quad-page~v{PYRAMID_RECIPE_VERSION}"
    )


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        (None, 'application/ld+json;profile="http://iiif.io/api/image/3/context.json"'),
        (
            "application/ld+json",
            'application/ld+json;profile="http://iiif.io/api/image/3/context.json"',
        ),
        ("application/json", "application/json"),
        ("text/html,application/xhtml+xml,*/*;q=0.8", "application/json"),
        ("application/ld+json;q=0, application/json", "application/json"),
    ],
)
def test_info_json_media_type_follows_accept(client, page, accept, content_type):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = client.get(url(page, "info.json"), **headers)
    assert response["Content-Type"] == content_type


def test_base_uri_redirects_to_info_json(client, page):
    response = client.get(url(page))
    assert response.status_code == 303
    assert response["Location"] == "http://testserver/iiif/3/image/quad-page/info.json"
    assert response["Access-Control-Allow-Origin"] == "*"
    response = client.get(url(page, version=1))
    assert (
        response["Location"] == "http://testserver/iiif/3/image/quad-page~v1/info.json"
    )


def test_iiif_base_url_setting_names_the_service(client, page, settings):
    settings.IIIF_BASE_URL = "https://archive.example.org"
    doc = client.get(url(page, "info.json")).json()
    assert doc["id"] == "https://archive.example.org/iiif/3/image/quad-page"


# Image requests: every form ------------------------------------------------------

Q = {"tl": (250, 375), "tr": (750, 375), "bl": (250, 1125), "br": (750, 1125)}

IMAGE_CASES = [
    # (path, expected size, {pixel: colour}); pixels relative to the returned image
    (
        "full/max/0/default.jpg",
        (1000, 1500),
        {(250, 375): RED, (750, 375): GREEN, (250, 1125): BLUE, (750, 1125): YELLOW},
    ),
    (
        "square/max/0/default.jpg",
        (1000, 1000),
        {(10, 10): RED, (990, 10): GREEN, (10, 990): BLUE, (990, 990): YELLOW},
    ),
    ("500,0,500,750/max/0/default.jpg", (500, 750), {(5, 5): GREEN, (495, 745): GREEN}),
    (
        "pct:50,50,50,50/max/0/default.jpg",
        (500, 750),
        {(5, 5): YELLOW, (495, 745): YELLOW},
    ),
    ("900,1400,500,500/max/0/default.jpg", (100, 100), {(50, 50): YELLOW}),
    (
        "450,700,100,100/max/0/default.png",
        (100, 100),
        {(20, 20): RED, (80, 20): GREEN, (20, 80): BLUE, (80, 80): YELLOW},
    ),
    ("full/250,/0/default.jpg", (250, 375), {(60, 90): RED, (190, 280): YELLOW}),
    ("full/,375/0/default.jpg", (250, 375), {(60, 90): RED, (190, 280): YELLOW}),
    ("full/pct:25/0/default.jpg", (250, 375), {(60, 90): RED, (190, 280): YELLOW}),
    ("full/!250,250/0/default.jpg", (167, 250), {(40, 60): RED, (125, 190): YELLOW}),
    ("full/300,200/0/default.jpg", (300, 200), {(70, 50): RED, (230, 150): YELLOW}),
    ("full/125,187/0/default.jpg", (125, 187), {(30, 45): RED, (95, 140): YELLOW}),
    ("0,0,100,100/^200,/0/default.jpg", (200, 200), {(100, 100): RED}),
    ("0,0,100,100/^,300/0/default.jpg", (300, 300), {(150, 150): RED}),
    ("0,0,100,100/^pct:150/0/default.jpg", (150, 150), {(75, 75): RED}),
    ("0,0,100,100/^!300,200/0/default.jpg", (200, 200), {(100, 100): RED}),
    ("0,0,100,50/^300,300/0/default.jpg", (300, 300), {(150, 150): RED}),
    (
        "full/max/90/default.jpg",
        (1500, 1000),
        {(20, 20): BLUE, (1480, 20): RED, (20, 980): YELLOW, (1480, 980): GREEN},
    ),
    (
        "full/max/180/default.jpg",
        (1000, 1500),
        {(20, 20): YELLOW, (980, 20): BLUE, (20, 1480): GREEN, (980, 1480): RED},
    ),
    (
        "full/max/270/default.jpg",
        (1500, 1000),
        {(20, 20): GREEN, (1480, 20): YELLOW, (20, 980): RED, (1480, 980): BLUE},
    ),
    (
        "full/max/!0/default.jpg",
        (1000, 1500),
        {(20, 20): GREEN, (980, 20): RED, (20, 1480): YELLOW, (980, 1480): BLUE},
    ),
    (
        "full/max/!90/default.jpg",
        (1500, 1000),
        {(20, 20): YELLOW, (1480, 20): GREEN, (20, 980): BLUE, (1480, 980): RED},
    ),
    (
        "full/max/!180/default.jpg",
        (1000, 1500),
        {(20, 20): BLUE, (980, 20): YELLOW, (20, 1480): RED, (980, 1480): GREEN},
    ),
    ("full/max/0/color.png", (1000, 1500), {(250, 375): RED, (750, 1125): YELLOW}),
    ("full/max/0/default.webp", (1000, 1500), {(250, 375): RED, (750, 1125): YELLOW}),
]


@pytest.mark.parametrize(("path", "size", "pixels"), IMAGE_CASES)
def test_image_forms(client, page, path, size, pixels):
    response = client.get(url(page, path))
    img = image_of(response)
    assert img.size == size
    assert (
        img.format
        == {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}[path.rsplit(".", 1)[1]]
    )
    assert (
        response["Content-Type"]
        == {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}[
            path.rsplit(".", 1)[1]
        ]
    )
    assert_colours(img, pixels)


def test_arbitrary_rotation_has_a_transparent_background_in_png_and_white_in_jpg(
    client, page
):
    png = image_of(client.get(url(page, "full/pct:20/30/default.png")))
    # 200 x 300 rotated by 30 degrees: the bounding box of Implementation Notes §5.
    assert abs(png.width - 323) <= 1 and abs(png.height - 360) <= 1
    assert png.mode == "RGBA"
    assert png.getpixel((0, 0))[3] == 0  # a corner outside the rotated page
    assert_colours(png, {(png.width // 2 - 20, png.height // 2 - 40): RED + (255,)})
    jpg = image_of(client.get(url(page, "full/pct:20/30/default.jpg")))
    assert jpg.mode == "RGB"
    assert_colours(jpg, {(0, 0): WHITE, (-1, -1): WHITE})


def test_gray_and_bitonal(client, page):
    gray = image_of(client.get(url(page, "full/250,/0/gray.jpg")))
    assert gray.mode == "L"
    red, yellow = gray.getpixel(Q_SMALL["tl"]), gray.getpixel(Q_SMALL["br"])
    assert red < yellow  # luminance, not a copy of one channel
    bitonal = image_of(client.get(url(page, "full/250,/0/bitonal.png")))
    assert bitonal.mode == "1"
    assert set(bitonal.convert("L").getdata()) <= {0, 255}
    assert bitonal.convert("L").getpixel(Q_SMALL["tl"]) == 0  # red is dark
    assert bitonal.convert("L").getpixel(Q_SMALL["br"]) == 255  # yellow is light
    bitonal_jpg = image_of(client.get(url(page, "full/250,/0/bitonal.jpg")))
    assert bitonal_jpg.mode == "L"
    assert all(v < 40 or v > 215 for v in bitonal_jpg.getdata())


Q_SMALL = {"tl": (60, 90), "br": (190, 280)}


def test_quality_after_rotation_keeps_the_alpha(client, page):
    img = image_of(client.get(url(page, "full/pct:10/45/gray.png")))
    assert img.mode == "LA" and img.getpixel((0, 0))[1] == 0


def test_every_tile_a_viewer_asks_for(client, page):
    """The tiles of info.json, computed as the Implementation Notes §3 do, all answer."""
    doc = client.get(url(page, "info.json")).json()
    width, height = doc["width"], doc["height"]
    tile = doc["tiles"][0]["width"]
    for s in doc["tiles"][0]["scaleFactors"]:
        for n in range((width + tile * s - 1) // (tile * s)):
            for m in range((height + tile * s - 1) // (tile * s)):
                xr, yr = n * tile * s, m * tile * s
                wr, hr = min(tile * s, width - xr), min(tile * s, height - yr)
                ws, hs = (wr + s - 1) // s, (hr + s - 1) // s
                img = image_of(
                    client.get(url(page, f"{xr},{yr},{wr},{hr}/{ws},/0/default.jpg"))
                )
                assert abs(img.width - ws) <= 0 and abs(img.height - hs) <= 1, (s, n, m)


def test_edge_tiles_are_partial(client, page):
    img = image_of(client.get(url(page, "768,1280,256,256/232,220/0/default.jpg")))
    assert img.size == (232, 220)
    assert_colours(img, {(100, 100): YELLOW})


# Errors ---------------------------------------------------------------------------

ERROR_CASES = [
    ("foo/max/0/default.jpg", 400),
    ("0,0,0,10/max/0/default.jpg", 400),
    ("1000,0,10,10/max/0/default.jpg", 400),  # entirely outside
    ("full/full/0/default.jpg", 400),  # 2.x's size
    ("full/0,/0/default.jpg", 400),
    ("full/1001,/0/default.jpg", 400),  # upscaling without ^
    ("full/pct:101/0/default.jpg", 400),
    ("full/!2000,3000/0/default.jpg", 400),
    ("full/max/361/default.jpg", 400),
    ("full/max/-90/default.jpg", 400),
    ("full/max/0/best.jpg", 400),
    ("full/max/0/default.xyz", 400),
    ("full/max/0/default", 400),
    ("full/max/0/default.tif", 501),
    ("full/max/0/default.gif", 501),
    ("full/max/0/default.jp2", 501),
    ("full/max/0/default.pdf", 501),
]


@pytest.mark.parametrize(("path", "status"), ERROR_CASES)
def test_errors(client, page, path, status):
    response = client.get(url(page, path))
    assert response.status_code == status
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Content-Type"].startswith("text/plain")
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/iiif/3/image/no-such-image/info.json",
        "/iiif/3/image/no-such-image/full/max/0/default.jpg",
        "/iiif/3/image/no-such-image",
        "/iiif/3/image/[frob]/full/max/0/default.jpg",
        "/iiif/3/image/quad-page~v99/info.json",  # a recipe version never made
        "/iiif/3/image/quad-page~v99/full/max/0/default.jpg",
        "/iiif/3/image/a/b/full/max/0/default.jpg",  # an unescaped slash
        "/iiif/3/image/quad-page/info.xml",
        "/iiif/3/image/quad-page/full/max/0",
    ],
)
def test_unknown_identifiers_and_paths_answer_404_with_cors(client, page, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response["Access-Control-Allow-Origin"] == "*"


def test_syntax_is_checked_before_the_identifier(client, db):
    assert (
        client.get("/iiif/3/image/no-such-image/full/max/0/best.jpg").status_code == 400
    )


def test_escaped_identifier_is_decoded(client, page):
    assert (
        client.get("/iiif/3/image/quad%2Dpage/full/max/0/default.jpg").status_code
        == 200
    )


def test_only_get_head_and_options(client, page):
    response = client.post(url(page, "info.json"))
    assert response.status_code == 405
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response["Allow"]
    preflight = client.options(url(page, "full/max/0/default.jpg"))
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "GET" in preflight["Access-Control-Allow-Methods"]


def garbage_segments(rng: random.Random, count: int):
    """Random path segments: printable ASCII, IIIF-ish tokens, non-ASCII, long runs."""
    tokens = [
        "full",
        "max",
        "^",
        "!",
        "pct:",
        ",",
        ".",
        "0",
        "90",
        "-1",
        "1e9",
        ":",
        "~",
    ]
    alphabet = [chr(c) for c in range(33, 127) if chr(c) not in "/?#%"] + [
        "粵",
        "é",
        " ",
    ]
    for _ in range(count):
        parts = []
        for _ in range(4):
            pick = rng.random()
            if pick < 0.4:
                text = "".join(rng.choice(tokens) for _ in range(rng.randint(1, 5)))
            elif pick < 0.9:
                text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
            else:
                text = rng.choice("0123456789,") * rng.randint(50, 300)
            parts.append(text)
        yield parts


def test_garbage_never_answers_500(client, page):
    rng = random.Random(20240601)
    for parts in garbage_segments(rng, 400):
        path = "/".join(quote(p, safe="") for p in parts)
        response = client.get(f"/iiif/3/image/quad-page/{path}")
        assert response.status_code in (200, 400, 404, 501), (
            parts,
            response.status_code,
        )
        assert response["Access-Control-Allow-Origin"] == "*"


EDGE_REGIONS = [
    "full",
    "square",
    "0,0,1,1",
    "999,1499,5,5",
    "pct:0,0,0.01,0.01",
    "pct:99.9,99.9,50,50",
]
EDGE_SIZES = [
    "max",
    "^max",
    "1,",
    ",1",
    "1,1",
    "!1,1",
    "^!1,1",
    "^10000,",
    "^,10000",
    "pct:0.1",
    "^pct:1000",
]
EDGE_ROTATIONS = ["0", "!0", "0.001", "359.999", "90", "!270", "45"]
EDGE_LAST = ["default.jpg", "gray.png", "bitonal.webp", "color.png"]


def test_edge_values_answer_200_or_400(client, page, settings):
    settings.IIIF_MAX_WIDTH = settings.IIIF_MAX_HEIGHT = 2000
    settings.IIIF_MAX_AREA = 2_000_000
    rng = random.Random(7)
    for _ in range(80):
        region, size = rng.choice(EDGE_REGIONS), rng.choice(EDGE_SIZES)
        rotation, last = rng.choice(EDGE_ROTATIONS), rng.choice(EDGE_LAST)
        response = client.get(url(page, f"{region}/{size}/{rotation}/{last}"))
        where = f"{region}/{size}/{rotation}/{last}"
        assert response.status_code in (200, 400), (where, response.content)
        if response.status_code == 200:
            img = Image.open(io.BytesIO(response.content))
            # Rotation may grow the canvas by up to sqrt(2).
            assert img.width <= 2000 * 1.5 and img.height <= 2000 * 1.5, where


# Headers ----------------------------------------------------------------------------


def test_headers_of_a_public_image(client, page):
    bare = client.get(url(page, "full/1000,/0/default.jpg"))
    assert bare["Cache-Control"] == "public, max-age=3600"
    assert bare["Access-Control-Allow-Origin"] == "*"
    assert bare["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in bare["Content-Security-Policy"]
    assert bare["Link"] == (
        '<http://testserver/iiif/3/image/quad-page/full/max/0/default.jpg>;rel="canonical", '
        + PROFILE_LINK
    )
    assert bare["ETag"].startswith('"') and bare["Last-Modified"]
    versioned = client.get(url(page, "pct:0,0,50,50/pct:50/!0/color.png", version=1))
    assert versioned["Cache-Control"] == "public, max-age=31536000, immutable"
    assert versioned["Link"].startswith(
        '<http://testserver/iiif/3/image/quad-page~v1/0,0,500,750/250,375/!0/color.png>;rel="canonical"'
    )


def test_canonical_link_parses_with_the_validators_parser(client, page):
    from iiif_validator.validator import ImageAPI

    response = client.get(url(page, "full/max/0/default.jpg"))
    api = ImageAPI("quad-page", "testserver", version="3.0", debug=False)
    links = api.parse_links(response["Link"])
    assert api.get_uri_for_rel(links, "canonical").endswith("/full/max/0/default.jpg")
    assert (
        api.get_uri_for_rel(links, "profile")
        == "http://iiif.io/api/image/3/level2.json"
    )


def test_etag_and_last_modified_answer_304(client, page):
    first = client.get(url(page, "full/250,/0/default.jpg"))
    etag, modified = first["ETag"], first["Last-Modified"]
    again = client.get(url(page, "full/250,/0/default.jpg"), HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag
    assert again["Access-Control-Allow-Origin"] == "*"
    assert again["Cache-Control"] == "public, max-age=3600"
    # The same request in canonical form has the same ETag.
    assert client.get(url(page, "full/250,375/0/default.jpg"))["ETag"] == etag
    assert client.get(url(page, "full/251,/0/default.jpg"))["ETag"] != etag
    since = client.get(
        url(page, "full/250,/0/default.jpg"), HTTP_IF_MODIFIED_SINCE=modified
    )
    assert since.status_code == 304
    stale = formatdate(0, usegmt=True)
    assert (
        client.get(
            url(page, "full/250,/0/default.jpg"), HTTP_IF_MODIFIED_SINCE=stale
        ).status_code
        == 200
    )
    info = client.get(url(page, "info.json"))
    assert (
        client.get(url(page, "info.json"), HTTP_IF_NONE_MATCH=info["ETag"]).status_code
        == 304
    )


def test_head_answers_the_headers_without_a_body(client, page):
    response = client.head(url(page, "full/250,/0/default.jpg"))
    assert response.status_code == 200
    assert response.content == b""
    assert int(response["Content-Length"]) > 0
    assert response["Content-Type"] == "image/jpeg"
    assert client.head(url(page, "info.json")).status_code == 200


# Limits -------------------------------------------------------------------------------


def test_limits_are_declared_and_enforced(client, page, settings):
    settings.IIIF_MAX_WIDTH, settings.IIIF_MAX_HEIGHT, settings.IIIF_MAX_AREA = (
        800,
        800,
        400_000,
    )
    doc = client.get(url(page, "info.json")).json()
    assert (doc["maxWidth"], doc["maxHeight"], doc["maxArea"]) == (800, 800, 400_000)
    assert {"width": 1000, "height": 1500} not in doc["sizes"]
    assert image_of(client.get(url(page, "full/max/0/default.jpg"))).size == (516, 774)
    assert image_of(client.get(url(page, "full/^max/0/default.jpg"))).size == (516, 774)
    assert image_of(client.get(url(page, "full/!900,900/0/default.jpg"))).size == (
        516,
        774,
    )
    assert image_of(client.get(url(page, "full/500,/0/default.jpg"))).size == (500, 750)
    assert (
        client.get(url(page, "full/600,/0/default.jpg")).status_code == 400
    )  # 600 x 900
    assert client.get(url(page, "full/pct:60/0/default.jpg")).status_code == 400  # area
    assert client.get(url(page, "0,0,100,100/^900,/0/default.jpg")).status_code == 400


# The cache ------------------------------------------------------------------------------

V = PYRAMID_RECIPE_VERSION


def cached_files(settings, public_id: str) -> list:
    """Every file cached for a page image, in all its ``{public_id}~v*`` folders."""
    root = settings.IIIF_CACHE_DIR
    if not root.exists():
        return []
    return sorted(
        p
        for folder in root.glob(f"{public_id}~v*")
        for p in folder.rglob("*")
        if p.is_file() and p.name != RECORD_FILE
    )


def all_cached_files(settings) -> list:
    """Every file under the cache folder but its own bookkeeping (dot names at the top)."""
    root = settings.IIIF_CACHE_DIR
    if not root.exists():
        return []
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and not p.relative_to(root).parts[0].startswith(".")
        and p.name != RECORD_FILE
    )


def test_a_versioned_tile_is_stored_at_its_url_path(client, page, settings):
    """The front server finds the file from the URL alone: segments as asked, not canonical."""
    rest = "pct:0,0,50,50/!200,200/!90/gray.png"
    response = client.get(url(page, rest, version=V))
    assert response.status_code == 200
    assert response["Link"].startswith(
        f"<http://testserver/iiif/3/image/quad-page~v{V}/0,0,500,750/133,200/!90/gray.png>"
    )
    expected = (
        settings.IIIF_CACHE_DIR
        / f"quad-page~v{V}"
        / "pct:0,0,50,50@!200,200@!90@gray.png"
    )
    assert all_cached_files(settings) == [expected]
    assert expected.read_bytes() == response.content
    # Percent-encoded segments are stored decoded, as nginx's $uri has them.
    encoded = client.get(
        f"/iiif/3/image/quad-page~v{V}/pct%3A0%2C0%2C25%2C25/%5E%21100%2C100/0/default.jpg"
    )
    assert encoded.status_code == 200
    stored = (
        settings.IIIF_CACHE_DIR
        / f"quad-page~v{V}"
        / "pct:0,0,25,25@^!100,100@0@default.jpg"
    )
    assert stored.read_bytes() == encoded.content


def test_a_bare_identifier_writes_nothing_but_reads_the_versioned_file(
    client, page, settings, monkeypatch
):
    rest = "0,0,256,256/256,/0/default.jpg"
    assert client.get(url(page, rest)).status_code == 200
    assert all_cached_files(settings) == []
    versioned = client.get(url(page, rest, version=V))
    assert len(all_cached_files(settings)) == 1

    def broken(*args, **kwargs):
        raise BackendError("the backend is not asked for a cached tile")

    monkeypatch.setattr(image_views.backend(), "render", broken)
    bare = client.get(url(page, rest))
    assert bare.status_code == 200 and bare.content == versioned.content
    assert bare["Cache-Control"] == "public, max-age=3600"


def test_info_json_is_never_stored(client, page, settings):
    assert client.get(url(page, "info.json", version=V)).status_code == 200
    assert client.get(url(page, version=V)).status_code == 303
    assert all_cached_files(settings) == []


def test_public_tiles_are_cached_then_purged_on_withdrawal(
    client, page, settings, monkeypatch
):
    tile = url(page, "0,0,256,256/256,/0/default.jpg", version=V)
    first = client.get(tile)
    assert first.status_code == 200
    assert first["Cache-Control"] == "public, max-age=31536000, immutable"
    assert cached_files(settings, page.public_id) == [
        settings.IIIF_CACHE_DIR / f"quad-page~v{V}/0,0,256,256@256,@0@default.jpg"
    ]

    def broken(*args, **kwargs):
        raise BackendError("the backend is not asked for a cached tile")

    monkeypatch.setattr(image_views.backend(), "render", broken)
    second = client.get(tile)
    assert second.status_code == 200 and second.content == first.content

    item = page.item
    item.access_level = AccessLevel.WITHDRAWN
    item.save()
    assert not (settings.IIIF_CACHE_DIR / f"quad-page~v{V}").exists()
    assert all_cached_files(settings) == []
    gone = client.get(tile)
    assert gone.status_code == 410
    assert gone["Cache-Control"] == "private, no-store"
    assert all_cached_files(settings) == []


def test_a_render_that_raced_a_withdrawal_leaves_nothing(
    client, page, settings, monkeypatch
):
    """Allowed before the change, written after its purge: the write is undone."""
    render = image_views.backend().render

    def withdraw_while_rendering(path, plan):
        item = page.item
        item.access_level = AccessLevel.WITHDRAWN
        item.save()  # purges (nothing is cached yet) while this request renders
        return render(path, plan)

    monkeypatch.setattr(image_views.backend(), "render", withdraw_while_rendering)
    tile = url(page, "full/250,/0/default.jpg", version=V)
    assert client.get(tile).status_code == 200  # allowed when it was decided
    assert all_cached_files(settings) == []
    assert client.get(tile).status_code == 410


def test_cache_is_purged_when_the_pyramid_is_made_again(client, page, settings):
    client.get(url(page, "full/250,/0/default.jpg", version=V))
    assert cached_files(settings, page.public_id)
    Derivative.objects.get(asset=page.asset, kind=Derivative.Kind.PYRAMID).save()
    assert cached_files(settings, page.public_id) == []
    assert not (settings.IIIF_CACHE_DIR / f"quad-page~v{V}").exists()


def test_cache_is_purged_when_the_pyramid_is_deleted(client, page, settings):
    client.get(url(page, "full/250,/0/default.jpg", version=V))
    assert cached_files(settings, page.public_id)
    Derivative.objects.get(asset=page.asset, kind=Derivative.Kind.PYRAMID).delete()
    assert cached_files(settings, page.public_id) == []
    assert (
        client.get(url(page, "full/250,/0/default.jpg", version=V)).status_code == 404
    )


def test_cache_is_purged_when_the_page_file_becomes_stricter(client, page, settings):
    client.get(url(page, "full/250,/0/default.jpg", version=V))
    assert cached_files(settings, page.public_id)
    asset = page.asset
    asset.access_level = AccessLevel.STAFF
    asset.save()
    assert cached_files(settings, page.public_id) == []
    assert (
        client.get(url(page, "full/250,/0/default.jpg", version=V)).status_code == 401
    )


def test_cache_is_purged_when_the_page_is_saved_again(client, page, settings):
    client.get(url(page, "full/250,/0/default.jpg", version=V))
    assert cached_files(settings, page.public_id)
    page.save()  # e.g. pointed at another file
    assert cached_files(settings, page.public_id) == []


def test_a_purge_spares_other_pages(client, page, page_with_pyramid, settings):
    other = page_with_pyramid(quadrants(200, 300), public_id="quad-page-2")
    client.get(url(page, "full/100,/0/default.jpg", version=V))
    client.get(url(other, "full/100,/0/default.jpg", version=V))
    item = page.item
    item.access_level = AccessLevel.WITHDRAWN
    item.save()
    assert cached_files(settings, page.public_id) == []
    assert len(cached_files(settings, other.public_id)) == 1


HOSTILE_BUT_VALID = [
    "pct:.5,.5,50,50/^pct:.5/.5/gray.png",
    "pct:0,0,100,100/^!1,1/!.5/bitonal.webp",
    "square/^max/!0/color.png",
    "0,0,1,1/1,1/360/default.jpg",
]
HOSTILE_INVALID = [
    "%2E%2E/max/0/default.jpg",
    "full/%2E%2E/0/default.jpg",
    "full/max/%2E/default.jpg",
    "full/max/0/%2E%2E%2Fdefault.jpg",
    "full/max/0/..%2F..%2F..%2Fevil.jpg",
    "..%2F..%2F..%2Fevil/max/0/default.jpg",
    "full/max/0/default.jpg%00.png",
]


def test_hostile_requests_cannot_write_outside_the_images_folder(
    client, page, settings
):
    folder = (settings.IIIF_CACHE_DIR / f"quad-page~v{V}").resolve()
    for rest in HOSTILE_BUT_VALID:
        response = client.get(url(page, rest, version=V))
        assert response.status_code == 200, (rest, response.content)
    for rest in HOSTILE_INVALID:
        response = client.get(url(page, rest, version=V))
        assert response.status_code in (400, 404), (rest, response.status_code)
    stored = all_cached_files(settings)
    assert len(stored) == len(HOSTILE_BUT_VALID)
    for path in stored:
        assert path.resolve().is_relative_to(folder), path
        assert len(path.resolve().relative_to(folder).parts) == 1, path
    assert (folder / "pct:.5,.5,50,50@^pct:.5@.5@gray.png").is_file()
    # Nothing at all was written outside the cache folder's own tree.
    assert not list(settings.IIIF_CACHE_DIR.parent.glob("evil*"))


def test_cache_stays_within_its_budget(client, page, settings):
    settings.IIIF_CACHE_MAX_BYTES = 60_000
    for width in range(100, 400, 20):
        assert (
            client.get(url(page, f"full/{width},/0/default.png", version=V)).status_code
            == 200
        )
    total = sum(p.stat().st_size for p in all_cached_files(settings))
    assert 0 < total <= 60_000


def test_cache_can_be_turned_off(client, page, settings):
    settings.IIIF_CACHE_MAX_BYTES = 0
    assert (
        client.get(url(page, "full/250,/0/default.jpg", version=V)).status_code == 200
    )
    assert all_cached_files(settings) == []


# Access -------------------------------------------------------------------------------


@pytest.fixture
def restricted(page_with_pyramid):
    return page_with_pyramid(
        quadrants(200, 300), title="機密 SECRET-IMAGE", access_level=AccessLevel.STAFF
    )


@pytest.mark.parametrize("version", [None, PYRAMID_RECIPE_VERSION])
@pytest.mark.parametrize(
    "path", ["", "info.json", "full/max/0/default.jpg", "0,0,10,10/max/0/default.jpg"]
)
def test_restricted_page_refuses_without_revealing_anything(
    client, restricted, settings, path, version
):
    target = url(restricted, path, version=version)
    anonymous = client.get(target)
    assert anonymous.status_code == 401
    assert anonymous["Cache-Control"] == "private, no-store"
    assert anonymous["Access-Control-Allow-Origin"] == "*"
    assert b"SECRET" not in anonymous.content and b"200" not in anonymous.content
    client.force_login(make_user("reader"))
    forbidden = client.get(target)
    assert forbidden.status_code == 403
    assert forbidden["Cache-Control"] == "private, no-store"
    client.force_login(make_user("archivist", groups=["Archivists"]))
    allowed = client.get(target)
    assert allowed.status_code == (303 if path == "" else 200)
    assert allowed["Cache-Control"] == "private, no-store"
    # Even the staff's allowed answer is never written (a front server would serve it).
    assert all_cached_files(settings) == []


def test_restricted_page_refuses_even_bad_sizes_before_checking_them(
    client, restricted
):
    # A size error would reveal the image's dimensions: the refusal comes first.
    assert client.get(url(restricted, "full/201,/0/default.jpg")).status_code == 401


def test_reading_room_sees_reading_room_pages(client, page_with_pyramid, settings):
    settings.ARCHIVE_READING_ROOM_NETWORKS = ["10.20.0.0/16"]
    room = page_with_pyramid(quadrants(200, 300), access_level=AccessLevel.READING_ROOM)
    for version in (None, PYRAMID_RECIPE_VERSION):
        target = url(room, "full/max/0/default.jpg", version=version)
        assert client.get(target, REMOTE_ADDR="10.20.1.2").status_code == 200
        assert client.get(target, REMOTE_ADDR="203.0.113.9").status_code == 401
    assert all_cached_files(settings) == []


def test_withdrawn_page_answers_410(client, page_with_pyramid):
    gone = page_with_pyramid(quadrants(200, 300), access_level=AccessLevel.WITHDRAWN)
    for path in ("", "info.json", "full/max/0/default.jpg"):
        response = client.get(url(gone, path))
        assert response.status_code == 410
        assert response["Cache-Control"] == "private, no-store"


def record_of(settings, public_id: str):
    path = settings.IIIF_CACHE_DIR / f"{public_id}~v{V}" / RECORD_FILE
    return json.loads(path.read_text()) if path.exists() else None


def test_a_public_page_is_recorded_and_its_next_tiles_need_no_query(
    client, page, settings, django_assert_num_queries
):
    """The page's record stands in for the database while its folder exists."""
    assert (
        client.get(url(page, "full/250,/0/default.jpg", version=V)).status_code == 200
    )
    derivative = Derivative.objects.get(asset=page.asset, kind=Derivative.Kind.PYRAMID)
    stat = derivative.abspath.stat()
    assert record_of(settings, page.public_id) == {
        "relpath": derivative.path,
        "mtime_ns": stat.st_mtime_ns,
        "size": stat.st_size,
    }
    with django_assert_num_queries(0):
        response = client.get(
            url(page, "500,750,500,750/250,/0/default.jpg", version=V)
        )
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert_colours(image_of(response), {(125, 187): YELLOW})
    # The same headers as a response decided in the database.
    fresh = client.get(url(page, "500,750,500,750/250,/0/default.jpg"))
    assert response["ETag"] == fresh["ETag"]
    assert response["Link"].replace(f"~v{V}", "") == fresh["Link"].replace(f"~v{V}", "")


def test_a_record_ends_with_the_pages_access(client, page, settings):
    assert (
        client.get(url(page, "full/100,/0/default.jpg", version=V)).status_code == 200
    )
    assert record_of(settings, page.public_id) is not None
    asset = page.asset
    asset.access_level = AccessLevel.STAFF
    asset.save()
    assert record_of(settings, page.public_id) is None
    # Another tile, never cached: the database decides again.
    other = client.get(url(page, "0,0,500,500/100,/0/default.jpg", version=V))
    assert other.status_code == 401
    assert record_of(settings, page.public_id) is None


def test_a_record_of_a_changed_file_is_not_trusted(
    client, page, settings, django_assert_max_num_queries
):
    assert (
        client.get(url(page, "full/100,/0/default.jpg", version=V)).status_code == 200
    )
    path = settings.IIIF_CACHE_DIR / f"{page.public_id}~v{V}" / RECORD_FILE
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "size": record["size"] + 1}))
    with django_assert_max_num_queries(2) as queries:
        assert (
            client.get(
                url(page, "0,0,500,500/100,/0/default.jpg", version=V)
            ).status_code
            == 200
        )
    assert len(queries) >= 1
    assert record_of(settings, page.public_id) == record  # written again


def test_public_images_take_the_short_way_with_the_same_headers(
    client, page, settings, monkeypatch
):
    """Visitors without a session get a recorded page's images before the other middleware."""
    tile = "500,0,500,750/250,/0/default.jpg"
    assert (
        client.get(url(page, "full/100,/0/default.jpg", version=V)).status_code == 200
    )
    # The whole way, for comparison: a session cookie (of nobody) takes it.
    client.cookies[settings.SESSION_COOKIE_NAME] = "no-such-session"
    whole = client.get(url(page, tile, version=V))
    del client.cookies[settings.SESSION_COOKIE_NAME]
    (
        settings.IIIF_CACHE_DIR
        / f"{page.public_id}~v{V}"
        / "500,0,500,750@250,@0@default.jpg"
    ).rename(settings.IIIF_CACHE_DIR / "set-aside")

    def not_asked(*args, **kwargs):
        raise AssertionError("the view behind the middleware was asked")

    monkeypatch.setattr(image_views, "image_request", not_asked)
    monkeypatch.setattr("archive.ratelimit.RateLimitMiddleware.__call__", not_asked)
    short = client.get(url(page, tile, version=V))
    assert short.status_code == whole.status_code == 200
    assert short.content == whole.content
    assert_colours(image_of(short), {(125, 187): GREEN})
    # Every header the whole way sends, but those of the middleware it skips
    # for a visitor with no session (sessions: Vary; locale: Content-Language).
    skipped = {"Vary", "Content-Language", "Date"}
    assert {k for k in whole.headers if k not in skipped} == set(short.headers)
    for name, value in short.headers.items():
        assert whole[name] == value, name
    # A HEAD and a conditional request take it too.
    head = client.head(url(page, tile, version=V))
    assert head.status_code == 200 and head.content == b""
    again = client.get(url(page, tile, version=V), HTTP_IF_NONE_MATCH=short["ETag"])
    assert again.status_code == 304


def test_the_short_way_refuses_hosts_the_whole_way_refuses(client, page, settings):
    settings.IIIF_BASE_URL = "https://iiif.example.org"  # ids need no Host header
    tile = url(page, "0,0,500,500/100,/0/default.jpg", version=V)
    assert (
        client.get(url(page, "full/100,/0/default.jpg", version=V)).status_code == 200
    )
    assert client.get(tile, HTTP_HOST="evil.example.net").status_code == 400
    assert client.get(tile).status_code == 200


def test_the_short_way_counts_against_the_rate_limit(client, page, settings):
    from django.core.cache import cache

    from archive import ratelimit

    settings.ARCHIVE_RATELIMIT_ENABLED = True
    settings.ARCHIVE_RATELIMIT_IIIF = 3
    cache.clear()
    ratelimit._counts.clear()
    try:
        statuses = [
            client.get(
                url(page, f"0,0,{w},{w}/50,/0/default.jpg", version=V),
                REMOTE_ADDR="203.0.113.9",
                HTTP_ACCEPT_LANGUAGE="en",
            )
            for w in (100, 200, 300, 400)
        ]
        assert [r.status_code for r in statuses] == [200, 200, 200, 429]
        assert statuses[-1].content.decode().startswith("Too many requests")
    finally:
        cache.clear()
        ratelimit._counts.clear()


def test_pages_not_every_visitor_may_see_get_no_record(client, restricted, settings):
    client.force_login(make_user("keeper", groups=["Archivists"]))
    response = client.get(url(restricted, "full/100,/0/default.jpg", version=V))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert not (settings.IIIF_CACHE_DIR / f"{restricted.public_id}~v{V}").exists()


def test_urls_are_named(page):
    assert (
        reverse("iiif_image_info", args=["quad-page"])
        == "/iiif/3/image/quad-page/info.json"
    )
    assert reverse("iiif_image_base", args=["quad-page"]) == "/iiif/3/image/quad-page"
    assert (
        reverse("iiif_image", args=["quad-page", "full", "max", "0", "default.jpg"])
        == "/iiif/3/image/quad-page/full/max/0/default.jpg"
    )


def test_a_public_tile_costs_two_queries(client, page, django_assert_max_num_queries):
    client.get(url(page, "full/250,/0/default.jpg"))
    with django_assert_max_num_queries(2):
        assert (
            client.get(url(page, "0,0,256,256/256,/0/default.jpg")).status_code == 200
        )


def test_a_gray_page_offers_no_color_quality_but_answers_it(client, page_with_pyramid):
    gray = Image.new("L", (300, 200), 90)
    gray.paste(200, (150, 0, 300, 200))
    page = page_with_pyramid(png_bytes(gray))
    doc = client.get(url(page, "info.json")).json()
    assert doc["extraQualities"] == ["gray", "bitonal"]
    img = image_of(client.get(url(page, "full/max/0/color.jpg")))  # §4.4: MUST answer
    assert img.mode == "L" and near(img.getpixel((40, 100)), (90,), 10)
    assert near(img.getpixel((260, 100)), (200,), 10)
