"""Content Search doors for the access walk (merged by ``tests/iiif/doors.py``).

Search and autocomplete inside one item, in both versions: a refused visitor
gets 401/403 (410 when withdrawn), ``private, no-store`` and nothing of the
item; an allowed one an answer (empty here: the walk's items have no text).
"""

from __future__ import annotations

from django.urls import reverse


def _urls(name: str, query: str):
    def urls(f) -> list[str]:
        return [
            f"{reverse(name, args=[f.item.public_id])}?{query}",
            f"{reverse(name, args=[f.recording.public_id])}?{query}",
        ]

    return urls


ITEM_DOORS = {
    "iiif_search2": _urls("iiif_search2", "q=%E8%B5%B0%E6%9F%A5"),
    "iiif_search2_autocomplete": _urls("iiif_search2_autocomplete", "q=WALK"),
    "iiif_search1": _urls("iiif_search1", "q=walk"),
    "iiif_search1_autocomplete": _urls("iiif_search1_autocomplete", "q=%E8%B5%B0"),
}

SITE_DOORS: dict = {}
