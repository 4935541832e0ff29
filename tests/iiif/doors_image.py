"""Doors of the IIIF Image API for the access walk (merged by ``doors.py``).

Each item door names the walk page's image by its bare and its versioned
identifier. The base URI answers 303 to allowed visitors (§2 of the Image API
recommends it); refused visitors get 401/403/410 like every other door.
"""

from __future__ import annotations

from iiif.services import PYRAMID_RECIPE_VERSION


def _ids(f) -> list[str]:
    return [f.page.public_id, f"{f.page.public_id}~v{PYRAMID_RECIPE_VERSION}"]


def _tile(f) -> str:
    # The first 256-px tile at full resolution, as a viewer asks for it
    # (Implementation Notes §3): the region is clipped to the image.
    width = min(256, f.page.width)
    return f"0,0,256,256/{width},/0/default.jpg"


ITEM_DOORS = {
    "iiif_image_base": lambda f: [f"/iiif/3/image/{i}" for i in _ids(f)],
    "iiif_image_info": lambda f: [f"/iiif/3/image/{i}/info.json" for i in _ids(f)],
    "iiif_image": lambda f: [
        *(f"/iiif/3/image/{i}/full/max/0/default.jpg" for i in _ids(f)),
        f"/iiif/3/image/{f.page.public_id}/{_tile(f)}",
    ],
}

SITE_DOORS = {
    # Any other path under the prefix: 404 with CORS, whoever asks.
    "iiif_image_not_found": (
        "get",
        ["/iiif/3/image/a/b/c", "/iiif/3/image/x/info.xml"],
    ),
}
