"""Presentation 3.0 doors for the access walk (merged by ``tests/iiif/doors.py``).

Manifests and metadata records show one item: refused visitors get 401/403
(410 when withdrawn), ``private, no-store`` and no title. Collections list
items: they must never list one the visitor may not see.
"""

from __future__ import annotations

from django.urls import reverse

ITEM_DOORS = {
    "iiif_manifest": lambda f: [
        reverse("iiif_manifest", args=[f.item.public_id]),
        reverse("iiif_manifest", args=[f.recording.public_id]),
    ],
    "iiif_record": lambda f: [
        reverse("iiif_record", args=[f.item.public_id]),
        reverse("iiif_record", args=[f.recording.public_id]),
    ],
}

SITE_DOORS = {
    "iiif_collection": (
        "get",
        [
            "/iiif/3/collection/top",
            "/iiif/3/collection/theme-lingnan",
            "/iiif/3/collection/walk-collection",
        ],
    ),
}
