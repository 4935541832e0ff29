"""The IIIF Image API 3.0 grammar: request parsing, region and size maths, info.json.

Pure Python with no Django import (STYLE.md §6), so it can be read against the
specification and tested from its own tables (https://iiif.io/api/image/3.0/).
The request is handled in the order the specification gives (§4.6): parse the
path segments (:func:`parse_request`), then resolve them against the full
image's dimensions and the server's limits (:meth:`ImageRequest.plan`) into an
:class:`ImagePlan` the backend executes: a region rectangle, an exact output
size, mirroring, a rotation, a quality and a format. Every error is an
:class:`ImageApiError` carrying the HTTP status the view answers with (§7.3).

Two readings of the specification are deliberate:

* ``!w,h`` without ``^`` whose box would *enlarge* the region answers 400, as
  the official validator (``size_noup``, level 1), Cantaloupe and IIPImage do;
  §4.2's table can also be read as "return the region unscaled" (see
  IIIF/image-validator#100, cantaloupe#600). ``^!w,h`` enlarges.
* Format values named by §4.5 that this server does not produce (``tif``,
  ``gif``, ``jp2``, ``pdf``) answer 501 Not Implemented (§7.3, "a valid IIIF
  request that is not implemented"); anything else answers 400.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

#: The Image API 3.0 JSON-LD context (§5.2).
CONTEXT = "http://iiif.io/api/image/3/context.json"
PROTOCOL = "http://iiif.io/api/image"
#: The compliance level this server meets in full (§6).
PROFILE = "level2"
PROFILE_URI = "http://iiif.io/api/image/3/level2.json"
#: The media type of info.json when JSON-LD is acceptable (§5.1).
JSONLD_MEDIA_TYPE = f'application/ld+json;profile="{CONTEXT}"'

#: Qualities (§4.4); ``default`` is colour for colour images, gray otherwise.
QUALITIES = ("default", "color", "gray", "bitonal")
#: Formats produced, with their media types (§4.5); jpg and png are level 2's.
FORMATS = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
#: Formats the specification names that this server does not produce (501).
UNIMPLEMENTED_FORMATS = frozenset({"tif", "gif", "jp2", "pdf"})
#: Formats beyond the level 2 profile (§5.7 ``extraFormats``).
EXTRA_FORMATS = ("webp",)
#: Features declared in ``extraFeatures`` (§5.7). The optional ones (mirroring,
#: rotationArbitrary, sizeUpscaling, the two Link headers) are what level 2
#: lacks; the rest repeat the profile for clients that read only this list.
EXTRA_FEATURES = (
    "baseUriRedirect",
    "canonicalLinkHeader",
    "cors",
    "jsonldMediaType",
    "mirroring",
    "profileLinkHeader",
    "regionByPct",
    "regionByPx",
    "regionSquare",
    "rotationArbitrary",
    "rotationBy90s",
    "sizeByConfinedWh",
    "sizeByH",
    "sizeByPct",
    "sizeByW",
    "sizeByWh",
    "sizeUpscaling",
)
#: The tile edge the pyramid is stored with and info.json advertises (§5.4).
TILE_SIZE = 256

#: A path segment longer than this is rejected before any parsing (§10).
_MAX_SEGMENT = 100
# ASCII digits only: ``\d`` would also take ١٢ or １２, which int() reads.
_INT = r"[0-9]+"
# §4.7: decimal digits and "." only; "0.9", also ".9" (SHOULD have the 0).
_FLOAT = r"(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)"
# Anchored with \A and \Z: "$" would also accept a trailing newline ("90\n").
_REGION_PX = re.compile(rf"\A({_INT}),({_INT}),({_INT}),({_INT})\Z")
_REGION_PCT = re.compile(rf"\Apct:({_FLOAT}),({_FLOAT}),({_FLOAT}),({_FLOAT})\Z")
_SIZE_W = re.compile(rf"\A({_INT}),\Z")
_SIZE_H = re.compile(rf"\A,({_INT})\Z")
_SIZE_WH = re.compile(rf"\A({_INT}),({_INT})\Z")
_SIZE_CONFINED = re.compile(rf"\A!({_INT}),({_INT})\Z")
_SIZE_PCT = re.compile(rf"\Apct:({_FLOAT})\Z")
_ROTATION = re.compile(rf"\A(!?)({_FLOAT})\Z")
_QUALITY_FORMAT = re.compile(r"\A([^.]*)\.([^.]*)\Z")


class ImageApiError(Exception):
    """A request the server refuses, with the HTTP status to answer (§7.3).

    Attributes:
        status: 400 (bad syntax or impossible result), 404 (no such image)
            or 501 (valid IIIF the server does not implement).
        parameter: the path segment at fault (region, size, rotation,
            quality, format, identifier), for the error message.
        message: a short human-readable reason (§7.3 recommends one).
    """

    status = 400

    def __init__(self, message: str, *, parameter: str = "", status: int | None = None):
        super().__init__(message)
        self.message = message
        self.parameter = parameter
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        prefix = f"{self.parameter}: " if self.parameter else ""
        return f"{prefix}{self.message}"


class BadRequest(ImageApiError):
    """400 Bad Request: malformed syntax, or a result the specification forbids."""

    status = 400


class NotImplementedFeature(ImageApiError):
    """501 Not Implemented: valid IIIF syntax this server does not support."""

    status = 501


@dataclass(frozen=True)
class Region:
    """A parsed region parameter (§4.1).

    ``kind`` is ``full``, ``square``, ``pixels`` or ``percent``; the four
    numbers are pixels or percentages of the full image and unused for the
    first two kinds.
    """

    kind: str
    x: float = 0
    y: float = 0
    w: float = 0
    h: float = 0

    def rect(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The region as ``(x, y, w, h)`` pixels of a ``width`` x ``height`` image.

        A region reaching past the image is cropped at its edge; one entirely
        outside answers 400 (§4.1). ``square`` is centred in the longer side.
        Percentages round to the nearest pixel, a non-zero extent to at least 1.
        """
        if self.kind == "full":
            return 0, 0, width, height
        if self.kind == "square":
            side = min(width, height)
            return (width - side) // 2, (height - side) // 2, side, side
        if self.kind == "percent":
            x = _round(self.x * width / 100)
            y = _round(self.y * height / 100)
            w = max(1, _round(self.w * width / 100))
            h = max(1, _round(self.h * height / 100))
        else:
            x, y, w, h = int(self.x), int(self.y), int(self.w), int(self.h)
        if x >= width or y >= height:
            raise BadRequest(
                "the region is entirely outside the image", parameter="region"
            )
        return x, y, min(w, width - x), min(h, height - y)


@dataclass(frozen=True)
class Size:
    """A parsed size parameter (§4.2).

    ``kind`` is ``max``, ``w`` (``w,``), ``h`` (``,h``), ``pct``, ``wh``
    (``w,h``) or ``confined`` (``!w,h``); ``upscale`` is the ``^`` prefix.
    """

    kind: str
    upscale: bool = False
    width: int | None = None
    height: int | None = None
    percent: float | None = None

    def scaled(self, rw: int, rh: int, limits: Limits) -> tuple[int, int]:
        """The output size for a ``rw`` x ``rh`` region, as §4.2 defines it.

        ``max`` and ``!w,h`` shrink to fit the server's limits; every other
        form answers 400 when it exceeds them, when it would enlarge the
        region without ``^``, or when a side would be under one pixel.
        """
        capped = False
        if self.kind == "max":
            w, h = limits.max_size(rw, rh, upscale=self.upscale)
            capped = True
        elif self.kind == "w":
            w, h = self.width, _round(rh * self.width / rw)
        elif self.kind == "h":
            w, h = _round(rw * self.height / rh), self.height
        elif self.kind == "pct":
            w, h = _round(rw * self.percent / 100), _round(rh * self.percent / 100)
        elif self.kind == "wh":
            w, h = self.width, self.height
        else:  # confined: !w,h
            bw, bh = self.width, self.height
            if bw == 0 or bh == 0:
                raise BadRequest("the size is zero", parameter="size")
            if bw / rw <= bh / rh:
                w, h = bw, min(bh, _round(rh * bw / rw))
            else:
                w, h = min(bw, _round(rw * bh / rh)), bh
            if not self.upscale and (w > rw or h > rh):
                raise BadRequest(
                    "the box would enlarge the region; use ^!w,h", parameter="size"
                )
            if w < 1 or h < 1:  # a 1x3 region in !1,1 is 0x1 (§4.2: 400)
                raise BadRequest(
                    "the scaled image would be under one pixel", parameter="size"
                )
            w, h = limits.fit(w, h)
            capped = True
        if w < 1 or h < 1:
            raise BadRequest(
                "the scaled image would be under one pixel", parameter="size"
            )
        if not self.upscale and (w > rw or h > rh):
            raise BadRequest(
                "the size is larger than the region; use the ^ prefix to upscale",
                parameter="size",
            )
        if not capped and not limits.allows(w, h):
            raise BadRequest(
                f"the size exceeds the server's limits ({limits.describe()})",
                parameter="size",
            )
        return w, h


@dataclass(frozen=True)
class Rotation:
    """A parsed rotation parameter (§4.3): mirror first, then clockwise degrees."""

    mirror: bool
    degrees: float

    @property
    def canonical(self) -> str:
        """``!`` when mirrored, then an integer where possible (§4.8)."""
        return ("!" if self.mirror else "") + format_number(self.degrees)


@dataclass(frozen=True)
class Limits:
    """The server's size limits, declared in info.json and enforced (§5.2)."""

    max_width: int
    max_height: int
    max_area: int

    def allows(self, w: int, h: int) -> bool:
        """Whether a ``w`` x ``h`` output is within every limit."""
        return w <= self.max_width and h <= self.max_height and w * h <= self.max_area

    def scale_to_fit(self, w: int, h: int) -> float:
        """The largest scale (maybe above 1) at which ``w`` x ``h`` fits every limit."""
        return min(
            self.max_width / w, self.max_height / h, math.sqrt(self.max_area / (w * h))
        )

    def max_size(self, w: int, h: int, *, upscale: bool = False) -> tuple[int, int]:
        """The largest size of ``w`` x ``h``, aspect kept, within every limit.

        Without ``upscale`` it is never larger than ``w`` x ``h`` (``max``);
        with it, it is enlarged up to the limits (``^max``). As in the
        Implementation Notes §4, sides round down so no limit is exceeded.
        """
        scale = self.scale_to_fit(w, h)
        if not upscale:
            scale = min(1.0, scale)
        if scale == 1.0:
            return w, h
        # The epsilon keeps 300 * (200 / 300) at 200, not 199.
        fw = max(1, min(self.max_width, math.floor(w * scale + 1e-9)))
        fh = max(1, min(self.max_height, math.floor(h * scale + 1e-9)))
        while not self.allows(fw, fh) and (fw > 1 or fh > 1):
            fw, fh = max(1, fw - 1), max(1, fh - 1)
        return fw, fh

    def fit(self, w: int, h: int) -> tuple[int, int]:
        """``w`` x ``h`` shrunk, aspect kept, until it fits (never enlarged)."""
        return self.max_size(w, h)

    def describe(self) -> str:
        """The limits as a short text for error messages."""
        return (
            f"maxWidth {self.max_width}, maxHeight {self.max_height}, "
            f"maxArea {self.max_area}"
        )


@dataclass(frozen=True)
class ImagePlan:
    """A request resolved against one image: what the backend must produce.

    Attributes:
        full: the full image's ``(width, height)``.
        region: ``(x, y, w, h)`` in full-image pixels, inside the image.
        size: the exact ``(width, height)`` the region is scaled to, before
            rotation (which may enlarge the canvas, §4.3).
        mirror: reflect on the vertical axis before rotating.
        degrees: clockwise rotation, 0 to 360.
        quality: one of :data:`QUALITIES`.
        format: one of :data:`FORMATS`.
        upscaled: whether the size enlarges the region (canonical ``^``).
        is_max: whether the size is what ``max`` (or ``^max``) gives.
    """

    full: tuple[int, int]
    region: tuple[int, int, int, int]
    size: tuple[int, int]
    mirror: bool
    degrees: float
    quality: str
    format: str
    upscaled: bool
    is_max: bool

    @property
    def media_type(self) -> str:
        """The Content-Type of the encoded image."""
        return FORMATS[self.format]

    @property
    def output_size(self) -> tuple[int, int]:
        """The returned image's dimensions, rotation included (Implementation Notes §5)."""
        return rotated_size(*self.size, self.degrees)

    def canonical(self) -> str:
        """The canonical ``region/size/rotation/quality.format`` path (§4.8)."""
        x, y, w, h = self.region
        region = "full" if self.region == (0, 0, *self.full) else f"{x},{y},{w},{h}"
        if self.is_max:
            size = "^max" if self.upscaled else "max"
        else:
            size = ("^" if self.upscaled else "") + f"{self.size[0]},{self.size[1]}"
        rotation = ("!" if self.mirror else "") + format_number(self.degrees)
        return f"{region}/{size}/{rotation}/{self.quality}.{self.format}"


@dataclass(frozen=True)
class ImageRequest:
    """A parsed image request (§2.1), not yet tied to an image's dimensions."""

    region: Region
    size: Size
    rotation: Rotation
    quality: str
    format: str

    def plan(self, width: int, height: int, limits: Limits) -> ImagePlan:
        """Resolve the request against a ``width`` x ``height`` image (§4.1, §4.2).

        Raises:
            BadRequest: the region is outside the image, or the size is
                impossible (zero, an enlargement without ``^``, over a limit).
        """
        rect = self.region.rect(width, height)
        rw, rh = rect[2], rect[3]
        w, h = self.size.scaled(rw, rh, limits)
        upscaled = w > rw or h > rh
        is_max = (w, h) == limits.max_size(rw, rh, upscale=upscaled)
        return ImagePlan(
            full=(width, height),
            region=rect,
            size=(w, h),
            mirror=self.rotation.mirror,
            degrees=self.rotation.degrees,
            quality=self.quality,
            format=self.format,
            upscaled=upscaled,
            is_max=is_max,
        )


def _round(value: float) -> int:
    """Round half up (Python's ``round`` rounds half to even)."""
    return math.floor(value + 0.5)


def format_number(value: float) -> str:
    """A number as §4.7 wants it: an integer where possible, else no trailing zeros."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.10f}".rstrip("0").rstrip(".")


def _check_segment(value: str, parameter: str) -> str:
    if not value or len(value) > _MAX_SEGMENT:
        raise BadRequest("missing or too long", parameter=parameter)
    return value


def parse_region(value: str) -> Region:
    """Parse ``full``, ``square``, ``x,y,w,h`` or ``pct:x,y,w,h`` (§4.1).

    Raises:
        BadRequest: any other syntax, or a zero width or height.
    """
    _check_segment(value, "region")
    if value in ("full", "square"):
        return Region(value)
    if match := _REGION_PX.match(value):
        kind, numbers = "pixels", [int(n) for n in match.groups()]
    elif match := _REGION_PCT.match(value):
        kind, numbers = "percent", [float(n) for n in match.groups()]
    else:
        raise BadRequest(f"{value!r} is not a region", parameter="region")
    if numbers[2] == 0 or numbers[3] == 0:
        raise BadRequest("the region's width or height is zero", parameter="region")
    return Region(kind, *numbers)


def parse_size(value: str) -> Size:
    """Parse every size form of §4.2, each with an optional ``^`` prefix.

    Raises:
        BadRequest: any other syntax (including 2.x's ``full``) or ``pct:0``.
    """
    _check_segment(value, "size")
    upscale = value.startswith("^")
    body = value[1:] if upscale else value
    if body == "max":
        return Size("max", upscale)
    if match := _SIZE_W.match(body):
        return Size("w", upscale, width=int(match.group(1)))
    if match := _SIZE_H.match(body):
        return Size("h", upscale, height=int(match.group(1)))
    if match := _SIZE_WH.match(body):
        return Size(
            "wh", upscale, width=int(match.group(1)), height=int(match.group(2))
        )
    if match := _SIZE_CONFINED.match(body):
        return Size(
            "confined", upscale, width=int(match.group(1)), height=int(match.group(2))
        )
    if match := _SIZE_PCT.match(body):
        percent = float(match.group(1))
        if percent == 0:
            raise BadRequest("pct:0 is an empty image", parameter="size")
        return Size("pct", upscale, percent=percent)
    raise BadRequest(f"{value!r} is not a size", parameter="size")


def parse_rotation(value: str) -> Rotation:
    """Parse ``n`` or ``!n``, with ``n`` a number from 0 to 360 (§4.3).

    Raises:
        BadRequest: any other syntax, or a number out of range.
    """
    _check_segment(value, "rotation")
    match = _ROTATION.match(value)
    if not match:
        raise BadRequest(f"{value!r} is not a rotation", parameter="rotation")
    degrees = float(match.group(2))
    if degrees > 360:
        raise BadRequest("rotation is from 0 to 360 degrees", parameter="rotation")
    return Rotation(mirror=bool(match.group(1)), degrees=degrees)


def parse_quality(value: str) -> str:
    """Check a quality (§4.4); unknown qualities answer 400."""
    if value not in QUALITIES:
        raise BadRequest(
            f"{value[:_MAX_SEGMENT]!r} is not a quality", parameter="quality"
        )
    return value


def parse_format(value: str) -> str:
    """Check a format (§4.5): 501 for formats named by §4.5 that we do not make, else 400."""
    if value in FORMATS:
        return value
    if value in UNIMPLEMENTED_FORMATS:
        raise NotImplementedFeature(
            f"{value} is not produced; use one of {', '.join(FORMATS)}",
            parameter="format",
        )
    raise BadRequest(f"{value[:_MAX_SEGMENT]!r} is not a format", parameter="format")


def parse_request(
    region: str, size: str, rotation: str, quality_format: str
) -> ImageRequest:
    """Parse the four parameter segments of an image request URI (§2.1, §4).

    Args:
        region: the region segment.
        size: the size segment.
        rotation: the rotation segment.
        quality_format: the last segment, ``{quality}.{format}``.

    Returns:
        The parsed request.

    Raises:
        ImageApiError: the first problem found: 400 for bad syntax, 501 for a
            format named by the specification that the server does not make.
    """
    match = _QUALITY_FORMAT.match(quality_format or "")
    if not match:
        raise BadRequest(
            "the last segment must be {quality}.{format}", parameter="format"
        )
    return ImageRequest(
        region=parse_region(region),
        size=parse_size(size),
        rotation=parse_rotation(rotation),
        quality=parse_quality(match.group(1)),
        format=parse_format(match.group(2)),
    )


def rotated_size(w: int, h: int, degrees: float) -> tuple[int, int]:
    """The bounding box of ``w`` x ``h`` rotated by ``degrees`` (Implementation Notes §5)."""
    quarter = degrees % 90 == 0
    if quarter:
        return (h, w) if degrees % 180 == 90 else (w, h)
    radians = math.radians(degrees)
    cos, sin = abs(math.cos(radians)), abs(math.sin(radians))
    return _round(w * cos + h * sin), _round(h * cos + w * sin)


def scale_factors(levels: list[tuple[int, int]]) -> list[int]:
    """Tile scale factors for a pyramid with these level sizes, largest first (§5.4).

    Each level of a libvips pyramid halves the one before, so level ``n``
    serves scale factor ``2**n``.
    """
    return [2**n for n in range(max(1, len(levels)))]


def info_document(
    *,
    service_id: str,
    width: int,
    height: int,
    limits: Limits,
    levels: list[tuple[int, int]],
    color: bool = True,
    rights: str = "",
    tile_size: int = TILE_SIZE,
) -> dict:
    """The image information document (info.json) of one image (§5).

    Args:
        service_id: the image service's base URI, as requested (§5.2 ``id``).
        width: the full image's width in pixels.
        height: the full image's height in pixels.
        limits: the server's size limits (declared and enforced).
        levels: the pyramid's level sizes, full size first; they are the
            preferred ``sizes`` (§5.3) and give the tiles' ``scaleFactors``.
        color: whether the image has colour; a gray image does not list the
            ``color`` quality (§4.4).
        rights: a Creative Commons or RightsStatements.org URI (§5.6).
        tile_size: the square tile edge (§5.4).

    Returns:
        The JSON-ready dict, ``@context`` first (§5.2).
    """
    sizes = sorted(
        {(w, h) for w, h in levels if w >= 1 and h >= 1 and limits.allows(w, h)}
    )
    document = {
        "@context": CONTEXT,
        "id": service_id,
        "type": "ImageService3",
        "protocol": PROTOCOL,
        "profile": PROFILE,
        "width": width,
        "height": height,
        "maxWidth": limits.max_width,
        "maxHeight": limits.max_height,
        "maxArea": limits.max_area,
        "sizes": [{"width": w, "height": h} for w, h in sizes],
        "tiles": [
            {
                "width": tile_size,
                "height": tile_size,
                "scaleFactors": scale_factors(levels),
            }
        ],
        "extraQualities": ["color", "gray", "bitonal"]
        if color
        else ["gray", "bitonal"],
        "extraFormats": list(EXTRA_FORMATS),
        "extraFeatures": list(EXTRA_FEATURES),
    }
    if rights:
        document["rights"] = rights
    return document
