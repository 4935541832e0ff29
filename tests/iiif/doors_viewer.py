"""Doors of the Mirador compare page for the access walk (merged by ``doors.py``).

``/viewer/`` is a site door (the chooser lists only what the visitor may see);
``/viewer/?item=…`` also shows one item, so it is walked as an item door too:
refused visitors get the item page's 403/410 without the title.
"""

from __future__ import annotations

ITEM_DOORS = {
    "iiif_viewer": lambda f: [f"/viewer/?item={f.item.public_id}"],
}

SITE_DOORS = {
    "iiif_viewer": ("get", ["/viewer/", "/viewer/?item=no-such-item"]),
}
