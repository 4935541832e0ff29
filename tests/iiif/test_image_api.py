"""The Image API 3.0 grammar, driven by the specification's own examples.

The tables of §4.1 (region), §4.2 (size), §4.3 (rotation), §4.4 (quality),
§4.5 (format), §4.6 (order of implementation), §4.8 (canonical form) and
§9 (URI encoding) use a 300 x 200 image; each example is asserted exactly.
https://iiif.io/api/image/3.0/
"""

from __future__ import annotations

import pytest

from iiif.image_api import (
    CONTEXT,
    BadRequest,
    ImageApiError,
    Limits,
    NotImplementedFeature,
    info_document,
    parse_region,
    parse_request,
    parse_rotation,
    parse_size,
    rotated_size,
)

W, H = 300, 200
#: Limits that never bind in the spec's examples.
ROOMY = Limits(10_000, 10_000, 100_000_000)


def plan(path: str, limits: Limits = ROOMY, width: int = W, height: int = H):
    return parse_request(*path.split("/")).plan(width, height, limits)


# §4.1 Region ------------------------------------------------------------------

REGION_EXAMPLES = [
    # (region, expected (x, y, w, h)); spec example numbers in comments
    ("full", (0, 0, 300, 200)),  # 1
    ("square", (50, 0, 200, 200)),  # 2: centred in the longer dimension
    ("125,15,120,140", (125, 15, 120, 140)),  # 3
    ("pct:41.6,7.5,40,70", (125, 15, 120, 140)),  # 4
    ("125,15,200,200", (125, 15, 175, 185)),  # 5: "Returned image is 175,185 px"
    ("pct:41.6,7.5,66.6,100", (125, 15, 175, 185)),  # 6: "Returned image is 175,185 px"
]


@pytest.mark.parametrize(("region", "rect"), REGION_EXAMPLES)
def test_region_examples(region, rect):
    assert parse_region(region).rect(W, H) == rect
    assert plan(f"{region}/max/0/default.jpg").size == rect[2:]


@pytest.mark.parametrize(
    "region",
    [
        "0,0,0,10",  # zero width: 400 (§4.1)
        "0,0,10,0",
        "pct:0,0,0,50",
        "300,0,10,10",  # entirely outside: 400 (§4.1)
        "0,200,10,10",
        "pct:100,0,10,10",
        "Full",
        "-1,0,10,10",
        "+1,0,10,10",
        "1,2,3",
        "1,2,3,4,5",
        "pct:1,2,3",
        "pct:a,2,3,4",
        "1.5,0,10,10",
        "pct:1e2,0,10,10",
        "",
        "x" * 101,
    ],
)
def test_bad_regions_answer_400(region):
    with pytest.raises(BadRequest) as err:
        parse_region(region).rect(W, H)
    assert err.value.status == 400


# §4.2 Size --------------------------------------------------------------------

SIZE_EXAMPLES = [
    # (size, limits, expected (w, h)); spec example numbers in comments
    ("max", Limits(200, 200, 10**8), (200, 133)),  # 1: "assuming maxWidth of 200px"
    ("^max", Limits(360, 360, 10**8), (360, 240)),  # 1: "assuming maxWidth of 360px"
    ("150,", ROOMY, (150, 100)),  # 2
    ("^360,", ROOMY, (360, 240)),  # 2
    (",150", ROOMY, (225, 150)),  # 3
    ("^,240", ROOMY, (360, 240)),  # 3 (the spec prints ",^240": a typo)
    ("pct:50", ROOMY, (150, 100)),  # 4
    ("^pct:120", ROOMY, (360, 240)),  # 4 (printed "pct:120"; 120 % needs ^)
    ("225,100", ROOMY, (225, 100)),  # 5
    ("^360,360", ROOMY, (360, 360)),  # 5
    ("!225,100", ROOMY, (150, 100)),  # 6: "Returned image is 150,100 px"
    ("^!360,360", ROOMY, (360, 240)),  # 6: "Returned image is 360,240 px"
    ("max", ROOMY, (300, 200)),
    ("^max", Limits(300, 300, 10**8), (300, 200)),
    ("!300,1000", ROOMY, (300, 200)),
    ("max", Limits(1000, 1000, 30_000), (212, 141)),  # maxArea binds
]


@pytest.mark.parametrize(("size", "limits", "expected"), SIZE_EXAMPLES)
def test_size_examples(size, limits, expected):
    assert plan(f"full/{size}/0/default.jpg", limits).size == expected


@pytest.mark.parametrize(
    ("size", "limits"),
    [
        ("pct:120", ROOMY),  # over 100 without ^ (§4.2)
        ("301,", ROOMY),  # w MUST NOT be greater than the region without ^
        (",201", ROOMY),
        ("301,200", ROOMY),
        ("300,201", ROOMY),
        (
            "!600,1000",
            ROOMY,
        ),  # a box that would enlarge needs ^ (the validator's reading)
        ("0,", ROOMY),  # under one pixel
        (",0", ROOMY),
        ("0,0", ROOMY),
        ("!0,10", ROOMY),
        ("pct:0", ROOMY),
        ("pct:0.1", ROOMY),  # 0.3 x 0.2 px rounds to nothing
        ("^400,", Limits(399, 399, 10**8)),  # over maxWidth
        ("^,400", Limits(1000, 399, 10**8)),  # over maxHeight
        ("250,", Limits(1000, 1000, 30_000)),  # over maxArea
        ("full", ROOMY),  # 2.x's "full" is gone in 3.0
        ("^", ROOMY),
        ("^^max", ROOMY),
        ("!,100", ROOMY),
        ("pct:", ROOMY),
        ("pct:-5", ROOMY),
        ("w,h", ROOMY),
        ("100", ROOMY),
        ("1,2,3", ROOMY),
    ],
)
def test_bad_sizes_answer_400(size, limits):
    with pytest.raises(BadRequest):
        parse_size(size).scaled(W, H, limits)


def test_max_fits_every_limit_and_keeps_the_aspect():
    limits = Limits(800, 800, 400_000)
    assert plan("full/max/0/default.jpg", limits, 1000, 1500).size == (516, 774)
    assert plan("full/^max/0/default.jpg", limits, 1000, 1500).size == (516, 774)


# §4.3 Rotation ----------------------------------------------------------------

ROTATION_EXAMPLES = [
    # (rotation, mirror, degrees, output size of the 300 x 200 full image)
    ("0", False, 0.0, (300, 200)),  # 1
    ("180", False, 180.0, (300, 200)),  # 2
    ("90", False, 90.0, (200, 300)),  # 3
    ("22.5", False, 22.5, (354, 300)),  # 4: cos/sin bounding box (Impl. Notes §5)
    ("!0", True, 0.0, (300, 200)),  # 5
    ("!180", True, 180.0, (300, 200)),  # 6
    ("270", False, 270.0, (200, 300)),
    ("360", False, 360.0, (300, 200)),
    ("0.5", False, 0.5, (302, 203)),
]


@pytest.mark.parametrize(("rotation", "mirror", "degrees", "output"), ROTATION_EXAMPLES)
def test_rotation_examples(rotation, mirror, degrees, output):
    parsed = parse_rotation(rotation)
    assert (parsed.mirror, parsed.degrees) == (mirror, degrees)
    assert plan(f"full/max/{rotation}/default.png").output_size == output


@pytest.mark.parametrize(
    "rotation", ["361", "360.5", "-90", "+90", "!!90", "90!", "abc", "1e2", ""]
)
def test_bad_rotations_answer_400(rotation):
    with pytest.raises(BadRequest):
        parse_rotation(rotation)


def test_rotated_size_matches_the_implementation_notes():
    assert rotated_size(300, 200, 45) == (354, 354)
    assert rotated_size(120, 140, 345) == (152, 166)


# §4.4 Quality and §4.5 Format ---------------------------------------------------


@pytest.mark.parametrize("quality", ["default", "color", "gray", "bitonal"])
def test_quality_examples(quality):
    assert plan(f"full/max/0/{quality}.jpg").quality == quality


@pytest.mark.parametrize("quality", ["grey", "native", "Default", "colour", ""])
def test_unknown_qualities_answer_400(quality):
    with pytest.raises(BadRequest) as err:
        parse_request("full", "max", "0", f"{quality}.jpg")
    assert err.value.parameter == "quality"


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [("jpg", "image/jpeg"), ("png", "image/png"), ("webp", "image/webp")],
)
def test_formats_we_make(fmt, media_type):
    assert plan(f"full/max/0/default.{fmt}").media_type == media_type


@pytest.mark.parametrize("fmt", ["tif", "gif", "jp2", "pdf"])
def test_formats_the_spec_names_but_we_do_not_make_answer_501(fmt):
    with pytest.raises(NotImplementedFeature) as err:
        parse_request("full", "max", "0", f"default.{fmt}")
    assert err.value.status == 501


@pytest.mark.parametrize(
    "last",
    ["default.xyz", "default.JPG", "default", "default.", ".jpg", "default.jpg.png"],
)
def test_other_formats_answer_400(last):
    with pytest.raises(BadRequest) as err:
        parse_request("full", "max", "0", last)
    assert err.value.status == 400


# §4.6 Order of implementation, §4.8 canonical form, §9 URI encoding --------------


def test_order_of_implementation_example():
    # ".../125,15,120,140/90,/!345/gray.jpg"
    result = plan("125,15,120,140/90,/!345/gray.jpg")
    assert result.region == (125, 15, 120, 140)
    assert result.size == (90, 105)
    assert (result.mirror, result.degrees, result.quality, result.format) == (
        True,
        345.0,
        "gray",
        "jpg",
    )
    assert result.canonical() == "125,15,120,140/90,105/!345/gray.jpg"


CANONICAL_EXAMPLES = [
    # (request, canonical form)
    ("full/max/0/default.jpg", "full/max/0/default.jpg"),
    ("square/max/0/default.jpg", "50,0,200,200/max/0/default.jpg"),
    ("0,0,300,200/300,/0/default.jpg", "full/max/0/default.jpg"),
    ("pct:0,0,100,100/pct:100/360/default.jpg", "full/max/360/default.jpg"),
    ("125,15,200,200/max/0/default.jpg", "125,15,175,185/max/0/default.jpg"),
    ("full/150,/0/default.jpg", "full/150,100/0/default.jpg"),
    ("full/!225,100/0/color.png", "full/150,100/0/color.png"),
    ("full/^360,/0/default.jpg", "full/^360,240/0/default.jpg"),
    ("full/^pct:100/0/default.jpg", "full/max/0/default.jpg"),
    ("full/max/!90.0/default.jpg", "full/max/!90/default.jpg"),
    ("full/max/22.50/default.png", "full/max/22.5/default.png"),
    ("full/max/0.9/gray.webp", "full/max/0.9/gray.webp"),
    # §9's examples (id1 is any identifier)
    ("0,10,100,200/pct:50/90/default.png", "0,10,100,190/50,95/90/default.png"),
    ("pct:10,10,80,80/50,/22.5/color.jpg", "30,20,240,160/50,33/22.5/color.jpg"),
    ("full/max/270/gray.jpg", "full/max/270/gray.jpg"),
]


@pytest.mark.parametrize(("request_path", "canonical"), CANONICAL_EXAMPLES)
def test_canonical_form(request_path, canonical):
    assert plan(request_path).canonical() == canonical
    # The canonical form is a fixed point: it parses to the same plan.
    assert plan(canonical).canonical() == canonical


def test_canonical_upscaled_max():
    limits = Limits(600, 600, 10**8)
    assert (
        plan("full/^max/0/default.jpg", limits).canonical() == "full/^max/0/default.jpg"
    )
    assert (
        plan("full/^600,/0/default.jpg", limits).canonical()
        == "full/^max/0/default.jpg"
    )


def test_errors_carry_their_status_and_parameter():
    err = ImageApiError("no such image", parameter="identifier", status=404)
    assert (err.status, str(err)) == (404, "identifier: no such image")
    assert BadRequest("x").status == 400 and NotImplementedFeature("x").status == 501


# §5 Image information -------------------------------------------------------------


def test_info_document_follows_5_2_to_5_7():
    doc = info_document(
        service_id="https://example.org/iiif/3/image/img-abc~v1",
        width=1000,
        height=1500,
        limits=Limits(10_000, 10_000, 50_000_000),
        levels=[(1000, 1500), (500, 750), (250, 375), (125, 187)],
        rights="http://rightsstatements.org/vocab/InC/1.0/",
    )
    assert next(iter(doc)) == "@context" and doc["@context"] == CONTEXT
    assert doc["id"] == "https://example.org/iiif/3/image/img-abc~v1"
    assert (doc["type"], doc["protocol"], doc["profile"]) == (
        "ImageService3",
        "http://iiif.io/api/image",
        "level2",
    )
    assert (doc["width"], doc["height"]) == (1000, 1500)
    assert (doc["maxWidth"], doc["maxHeight"], doc["maxArea"]) == (
        10_000,
        10_000,
        50_000_000,
    )
    assert doc["sizes"] == [
        {"width": 125, "height": 187},
        {"width": 250, "height": 375},
        {"width": 500, "height": 750},
        {"width": 1000, "height": 1500},
    ]
    assert doc["tiles"] == [{"width": 256, "height": 256, "scaleFactors": [1, 2, 4, 8]}]
    assert doc["extraQualities"] == ["color", "gray", "bitonal"]
    assert doc["extraFormats"] == ["webp"]
    assert {
        "mirroring",
        "rotationArbitrary",
        "sizeUpscaling",
        "canonicalLinkHeader",
    } <= set(doc["extraFeatures"])
    assert doc["rights"] == "http://rightsstatements.org/vocab/InC/1.0/"


def test_info_document_keeps_sizes_within_the_limits_and_gray_has_no_color():
    doc = info_document(
        service_id="https://example.org/i",
        width=1000,
        height=1500,
        limits=Limits(800, 800, 400_000),
        levels=[(1000, 1500), (500, 750), (250, 375)],
        color=False,
    )
    assert doc["sizes"] == [
        {"width": 250, "height": 375},
        {"width": 500, "height": 750},
    ]
    assert doc["extraQualities"] == ["gray", "bitonal"]
    assert "rights" not in doc
