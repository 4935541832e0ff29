"""Bad input on the IIIF doors: property-based fuzzing through the HTTP test client.

Trust issue, "bad input everywhere": Image API 3.0 URLs (regions, sizes,
rotations, quality.format and identifiers, valid and broken, info.json and the
base URI), any other path under the prefix, and the Presentation and Content
Search doors. Whatever is asked, the answer is one of :data:`ALLOWED` (never a
5xx), carries CORS, and an error says briefly what is wrong. For image
requests the pure grammar (``iiif.image_api``) is the oracle: the status is
the one it gives, and a 200 is a decodable image of exactly the size its plan
says. The grammar itself is checked against the specification's ASCII syntax
(§4), written here independently, so it cannot accept what the spec does not.

One small public volume (a 300 x 400 page with its pyramid and some text,
indexed) is made once per module; each test runs in a savepoint of it. The
size limits are lowered for these tests (``LIMITS``) so that every image an
example may render stays small and cheap.
"""

from __future__ import annotations

import io
import json
import re
from urllib.parse import quote

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from iiif import image_api
from iiif.services import PYRAMID_RECIPE_VERSION

pytestmark = pytest.mark.django_db

PAGE_W, PAGE_H = 300, 400
PAGE_ID = "fuzz-page"
ITEM_ID = "fuzz-volume"
COLLECTION = "fuzz-collection"
PAGE_TEXT = "廣州西關茶樓 一九三八年 gwong2 zau1 tea house\n第二行 廣州"
#: Small limits, so that ``^max`` and upscaled sizes render at most 0.2 MP.
LIMITS = image_api.Limits(600, 600, 200_000)
#: Every status a door may answer with: never a 5xx.
ALLOWED = {200, 303, 400, 401, 403, 404, 410, 501}
FUZZ = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# -- The page, made once per module ------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_volume_once(django_db_setup, django_db_blocker, tmp_path_factory):
    """A public volume with one page (pyramid, text) and its search index, rolled back after."""
    from archive.models import Asset, Collection, Item, PageImage, ThemeLibrary
    from archive.search.indexing import items_reindex
    from archive.services import asset_create
    from iiif.services import page_pyramid_make
    from tests.archive.factories import InstitutionFactory, ItemFactory

    root = tmp_path_factory.mktemp("fuzz-storage")
    index = tmp_path_factory.mktemp("fuzz-index")
    source = tmp_path_factory.mktemp("fuzz-source") / "page.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (PAGE_W, PAGE_H), (200, 60, 40)).save(buffer, "JPEG")
    source.write_bytes(buffer.getvalue())
    with (
        django_db_blocker.unblock(),
        override_settings(ARCHIVE_STORAGE_ROOT=root, SEARCH_INDEX_DIR=index),
        transaction.atomic(),
    ):
        institution = InstitutionFactory(code="fuzz-lib")
        collection = Collection.objects.create(
            code=COLLECTION, title="測試典藏", institution=institution
        )
        item = ItemFactory(
            public_id=ITEM_ID,
            kind=Item.Kind.BOOK_VOLUME,
            institution=institution,
            collection=collection,
            title="廣州府志 卷一",
        )
        item.themes.set(ThemeLibrary.objects.filter(code="lingnan"))
        asset, _ = asset_create(item=item, source=source, role=Asset.Role.PAGE)
        page_pyramid_make(asset=asset)
        PageImage.objects.create(
            item=item,
            sequence=1,
            asset=asset,
            public_id=PAGE_ID,
            width=PAGE_W,
            height=PAGE_H,
            text=PAGE_TEXT,
        )
        items_reindex([item.pk])
        yield root, index
        transaction.set_rollback(True)


@pytest.fixture
def volume(fuzz_volume_once, settings, _isolated_storage, db):
    """The module's volume for one test, with the small limits in force."""
    from archive.search.engine import engines_forget

    settings.ARCHIVE_STORAGE_ROOT, settings.SEARCH_INDEX_DIR = fuzz_volume_once
    settings.IIIF_MAX_WIDTH = LIMITS.max_width
    settings.IIIF_MAX_HEIGHT = LIMITS.max_height
    settings.IIIF_MAX_AREA = LIMITS.max_area
    engines_forget()
    yield
    engines_forget()


# -- Strategies ----------------------------------------------------------------------

#: Characters of the Image API grammar, so junk is often *nearly* valid.
GRAMMAR_CHARS = "0123456789,.:!^-pctmaxfulsqre"
#: Junk: anything printable (no "/", which would split the path), or grammar soup.
junk = st.one_of(
    st.text(
        st.characters(blacklist_characters="/", blacklist_categories=("Cs",)),
        min_size=1,
        max_size=12,
    ),
    st.text(st.sampled_from(GRAMMAR_CHARS), min_size=1, max_size=16),
    st.sampled_from(
        [
            "..",
            ".",
            "%",
            "%2F",
            "\x00",
            "full\n",
            "max\n",
            "0\n",
            "１２",
            "٣",
            "²",
            "1e3",
            "NaN",
            "inf",
            "0x10",
            "+5",
            " 5",
            "5 ",
            "9" * 101,
        ]
    ),
)
integer = st.one_of(
    st.integers(0, PAGE_H + 50),
    st.integers(-(10**6), -1),
    st.sampled_from([0, 1, 10**4, 10**9, 10**30, 10**99]),
).map(str)
decimal = st.one_of(
    integer,
    st.floats(0, 150, allow_nan=False).map(lambda f: f"{f:.4f}"),
    st.sampled_from([".5", "50.", "100", "100.0001", "1e2", "-0", "nan", "inf"]),
)


def _joined(*parts, sep=","):
    return st.tuples(*parts).map(lambda values: sep.join(values))


region = st.one_of(
    st.sampled_from(["full", "square"]),
    _joined(integer, integer, integer, integer),
    _joined(decimal, decimal, decimal, decimal).map(lambda s: "pct:" + s),
    junk,
)
size_body = st.one_of(
    st.just("max"),
    integer.map(lambda w: f"{w},"),
    integer.map(lambda h: f",{h}"),
    decimal.map(lambda p: f"pct:{p}"),
    _joined(integer, integer),
    _joined(integer, integer).map(lambda s: "!" + s),
    st.sampled_from(["full", "0,", ",0", "0,0", "!0,0", "pct:0"]),
)
size = st.one_of(
    size_body, size_body.map(lambda s: "^" + s), junk, junk.map(lambda s: "^" + s)
)
rotation = st.one_of(
    st.integers(-400, 800).map(str),
    st.floats(0, 400, allow_nan=False).map(lambda f: f"{f:.3f}"),
    st.sampled_from(["0", "90", "180", "270", "360", "!0", "!90", "!45.5", "!!0"]),
    junk,
)
quality_format = st.one_of(
    st.tuples(
        st.sampled_from([*image_api.QUALITIES, "native", "grey", "DEFAULT", ""]),
        st.sampled_from(
            [*image_api.FORMATS, *sorted(image_api.UNIMPLEMENTED_FORMATS), "JPG", ""]
        ),
    ).map(".".join),
    junk,
)
#: (identifier as sent, whether it names the page).
identifier = st.one_of(
    st.sampled_from(
        [
            (PAGE_ID, True),
            (f"{PAGE_ID}~v{PYRAMID_RECIPE_VERSION}", True),
            (f"{PAGE_ID}~v{PYRAMID_RECIPE_VERSION + 1}", False),
            (f"{PAGE_ID}~v0", False),
            (f"{PAGE_ID}~v9999999", False),
            ("no-such-page", False),
            ("..", False),
            ("%2e%2e", False),
            ("廣州-page", False),
            ("a" * 300, False),
            (PAGE_ID.upper(), False),
        ]
    ),
    junk.map(lambda s: (s, False)),
)


def segment(value: str) -> str:
    """A path segment as a client sends it: percent-encoded (``/`` never appears)."""
    return quote(value, safe=",:!^~")


def assert_clear_error(response, status_set=ALLOWED) -> None:
    """Every door's common ground: an allowed status, CORS, a short clear error."""
    assert response.status_code in status_set, (
        response.status_code,
        response.content[:300],
    )
    assert response["Access-Control-Allow-Origin"] == "*"
    if response.status_code >= 400:
        assert 0 < len(response.content) < 600, response.content[:600]


# -- The grammar against the specification's syntax (pure, many examples) ----------

# Image API 3.0 §4.1-§4.5 and §4.7, ASCII only, nothing before or after.
_N = r"[0-9]+"
_F = r"(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)"
SPEC_REGION = re.compile(
    rf"\A(?:full|square|{_N},{_N},{_N},{_N}|pct:{_F},{_F},{_F},{_F})\Z"
)
SPEC_SIZE = re.compile(rf"\A\^?(?:max|{_N},|,{_N}|pct:{_F}|{_N},{_N}|!{_N},{_N})\Z")
SPEC_ROTATION = re.compile(rf"\A!?{_F}\Z")


@settings(max_examples=400, deadline=None, database=None)
@given(region=region, size=size, rotation=rotation)
@example(region="0,0,10,10\n", size="max", rotation="0")
@example(region="full", size="max\n", rotation="0")
@example(region="full", size="max", rotation="90\n")
@example(region="١,٢,٣,٤", size="max", rotation="0")
def test_the_grammar_accepts_only_the_specifications_syntax(region, size, rotation):
    for value, parse, spec in (
        (region, image_api.parse_region, SPEC_REGION),
        (size, image_api.parse_size, SPEC_SIZE),
        (rotation, image_api.parse_rotation, SPEC_ROTATION),
    ):
        try:
            parse(value)
        except image_api.ImageApiError as error:
            assert error.status in (400, 501)
            assert error.parameter in ("region", "size", "rotation")
        else:
            assert spec.match(value), f"{value!r} is not Image API syntax"


@settings(max_examples=400, deadline=None, database=None)
@given(
    region=region,
    size=size,
    rotation=rotation,
    width=st.integers(1, 5000),
    height=st.integers(1, 5000),
)
# Found by CI: a 1x3 image in a 1x1 box is 0 pixels wide (it divided by zero).
@example(region="full", size="!1,1", rotation="0", width=1, height=3)
def test_a_plan_is_within_the_image_and_the_limits(
    region, size, rotation, width, height
):
    """Whatever parses, its plan lies inside the image and within every limit."""
    try:
        parsed = image_api.parse_request(region, size, rotation, "default.jpg")
        plan = parsed.plan(width, height, LIMITS)
    except image_api.ImageApiError as error:
        assert error.status in (400, 501) and str(error)
        return
    x, y, w, h = plan.region
    assert 0 <= x < width and 0 <= y < height
    assert 1 <= w <= width - x and 1 <= h <= height - y
    out_w, out_h = plan.size
    assert out_w >= 1 and out_h >= 1
    assert LIMITS.allows(out_w, out_h)
    if not parsed.size.upscale:
        assert out_w <= w and out_h <= h
    if parsed.size.kind == "w":
        assert out_w == parsed.size.width
    if parsed.size.kind == "h":
        assert out_h == parsed.size.height
    if parsed.size.kind == "wh":
        assert (out_w, out_h) == (parsed.size.width, parsed.size.height)
    if parsed.size.kind == "confined":
        assert out_w <= parsed.size.width and out_h <= parsed.size.height


# -- Image requests over HTTP --------------------------------------------------------


def expected_answer(ident_ok: bool, segments: tuple[str, str, str, str]):
    """What the server must answer, from the pure grammar: (status, plan or None)."""
    if any(not s for s in segments):
        return 404, None  # not an image URL: the catch-all answers
    try:
        parsed = image_api.parse_request(*segments)
    except image_api.ImageApiError as error:
        return error.status, None
    if not ident_ok:
        return 404, None
    try:
        return 200, parsed.plan(PAGE_W, PAGE_H, LIMITS)
    except image_api.ImageApiError as error:
        return error.status, None


@FUZZ
@given(
    ident=identifier,
    region=region,
    size=size,
    rotation=rotation,
    quality_format=quality_format,
)
@example(
    ident=(PAGE_ID, True),
    region="full",
    size="max",
    rotation="0",
    quality_format="default.jpg",
)
@example(
    ident=(f"{PAGE_ID}~v{PYRAMID_RECIPE_VERSION}", True),
    region="pct:10,10,50,50",
    size="^!500,500",
    rotation="!45",
    quality_format="bitonal.png",
)
def test_image_requests_answer_as_the_grammar_says(
    client, volume, ident, region, size, rotation, quality_format
):
    name, ident_ok = ident
    segments = (region, size, rotation, quality_format)
    url = "/iiif/3/image/" + "/".join(segment(s) for s in (name, *segments))
    response = client.get(url)
    assert_clear_error(response)
    status, plan = expected_answer(ident_ok, segments)
    assert response.status_code == status, (url, response.content[:200])
    if status != 200:
        assert response["Content-Type"].startswith("text/plain")
        return
    assert response["Content-Type"] == plan.media_type
    image = Image.open(io.BytesIO(response.content))
    image.load()
    assert image.size == plan.output_size, (url, image.size, plan.output_size)
    assert image.format.lower() == {"jpg": "jpeg"}.get(plan.format, plan.format)


@FUZZ
@given(ident=identifier, info=st.booleans())
def test_info_json_and_base_uri_with_any_identifier(client, volume, ident, info):
    name, ident_ok = ident
    url = "/iiif/3/image/" + segment(name) + ("/info.json" if info else "")
    response = client.get(url)
    assert_clear_error(response)
    if not ident_ok:
        assert response.status_code == 404
    elif info:
        assert response.status_code == 200
        document = json.loads(response.content)
        assert (document["width"], document["height"]) == (PAGE_W, PAGE_H)
        assert document["maxArea"] == LIMITS.max_area
    else:
        assert response.status_code == 303
        assert response["Location"].endswith(f"/{name}/info.json")


path_junk = st.lists(
    st.one_of(junk, st.sampled_from(["..", ".", "", "info.json", "full", "max"])),
    min_size=0,
    max_size=7,
).map(lambda parts: "/".join(segment(p) for p in parts))


@settings(FUZZ, max_examples=60)
@given(rest=path_junk, raw=st.text(min_size=1, max_size=30))
@example(rest="../../../etc/passwd", raw="..")
@example(rest="..%2F..%2Fetc%2Fpasswd", raw="../../etc/passwd")
def test_any_path_under_the_prefix(client, volume, rest, raw):
    """Extra, missing or traversing segments: a 404 (or an answer), never a 5xx.

    A path with a newline after the identifier is routed by no pattern (the
    catch-all's ``<path:>`` is ``.+``, and ``.`` stops at a newline), so
    Django's own 404 page may answer it, without CORS: such a path is only
    checked for its status (see the expected failure below).
    """
    for url in (
        f"/iiif/3/image/{PAGE_ID}/{rest}",
        "/iiif/3/image/" + quote(raw, safe="/"),
    ):
        response = client.get(url)
        if "%0A" in url.split("/", 4)[-1]:
            assert response.status_code in ALLOWED
        else:
            assert_clear_error(response)


# -- Presentation and Content Search --------------------------------------------------

item_id = st.one_of(
    st.sampled_from([ITEM_ID, "top", "theme-lingnan", "theme-nope", COLLECTION]),
    junk,
    st.text(
        st.characters(blacklist_characters="/", blacklist_categories=("Cs",)),
        min_size=1,
        max_size=80,
    ),
)
query_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["廣州", "gwong2 zau1", "廣", '"廣州', "-廣州", "kind:", "x" * 201]
    ),
)
number_text = st.one_of(
    st.integers(-5, 20_000).map(str),
    st.sampled_from(["", "0", "1", "١", "²", "1.5", "9" * 5000, " 2 "]),
    st.text(max_size=8),
)


@FUZZ
@given(
    which=st.sampled_from(
        [
            "/iiif/3/manifest/{}",
            "/iiif/3/collection/{}",
            "/iiif/3/record/{}.json",
        ]
    ),
    key=item_id,
)
def test_presentation_doors_with_any_identifier(client, volume, which, key):
    response = client.get(which.format(segment(key)))
    assert_clear_error(response)
    body = json.loads(response.content)
    if response.status_code >= 400:
        assert body["error"] and body["status"] == response.status_code


@FUZZ
@given(
    version=st.sampled_from([1, 2]),
    autocomplete=st.booleans(),
    key=item_id,
    q=query_text,
    page=st.none() | number_text,
    minimum=st.none() | number_text,
    motivation=st.none() | st.text(max_size=20),
)
@example(
    version=2,
    autocomplete=False,
    key=ITEM_ID,
    q="廣州",
    page="9" * 5000,
    minimum=None,
    motivation=None,
)
def test_content_search_with_any_parameters(
    client, volume, version, autocomplete, key, q, page, minimum, motivation
):
    url = f"/iiif/search/{version}/{segment(key)}" + (
        "/autocomplete" if autocomplete else ""
    )
    params = {"q": q, "page": page, "min": minimum, "motivation": motivation}
    response = client.get(url, {k: v for k, v in params.items() if v is not None})
    assert_clear_error(response)
    body = json.loads(response.content)
    if response.status_code == 400:
        assert re.match(r"(q|page|min) ", body["error"]), body
    elif response.status_code == 200:
        assert key == ITEM_ID


# -- Regressions: bugs the fuzzing found ------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [
        # "$" let a trailing newline through; \d let Arabic-Indic digits through.
        ("full/max/90%0A/default.jpg", 400),
        ("0,0,10,10%0A/max/0/default.jpg", 400),
        ("full/max%0A/0/default.jpg", 400),
        (quote("١,١,١٠,١٠") + "/max/0/default.jpg", 400),
        ("full/" + quote("１０,") + "/0/default.jpg", 400),
    ],
)
def test_image_segments_outside_the_ascii_grammar_are_400(client, volume, path, status):
    response = client.get(f"/iiif/3/image/{PAGE_ID}/{path}")
    assert response.status_code == status
    assert response["Access-Control-Allow-Origin"] == "*"


def test_a_page_number_of_5000_digits_is_400_not_500(client, volume):
    """int() refuses more than 4,300 digits: content search checked the length too late."""
    for name in ("page", "min"):
        response = client.get(
            f"/iiif/search/2/{ITEM_ID}/autocomplete", {"q": "廣", name: "9" * 5000}
        )
        assert response.status_code == 400
        assert json.loads(response.content)["error"].startswith(f"{name} ")


@pytest.mark.parametrize(
    "url",
    [
        "/iiif/3/manifest/fuzz-vol%00ume",
        "/iiif/3/record/fuzz-vol%00ume.json",
        "/iiif/3/collection/fuzz%00",
        "/iiif/search/2/fuzz-vol%00ume?q=x",
        "/iiif/3/manifest/" + quote(ITEM_ID + "\n"),
    ],
)
def test_identifiers_that_cannot_name_anything_are_404_before_the_database(
    client, volume, url
):
    """A NUL reached PostgreSQL (a ValueError, 500) and control characters the cache."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    # Wagtail's redirect middleware looks up any 404's path; the door reads nothing.
    assert not [q["sql"] for q in queries if '"archive_' in q["sql"]]
    assert response.status_code == 404
    assert response["Access-Control-Allow-Origin"] == "*"
    assert json.loads(response.content)["status"] == 404


def test_an_image_identifier_with_a_trailing_newline_is_404(client, volume):
    response = client.get(f"/iiif/3/image/{PAGE_ID}%0A/info.json")
    assert response.status_code == 404


@pytest.mark.parametrize("url", ["/iiif/3/image/", f"/iiif/3/image/{PAGE_ID}/%0A"])
def test_every_path_under_the_image_prefix_answers_with_cors(client, volume, url):
    response = client.get(url)
    assert response.status_code == 404
    assert response["Access-Control-Allow-Origin"] == "*"
