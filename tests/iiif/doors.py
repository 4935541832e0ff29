"""IIIF doors for the access walk, merged from each part's own registry."""

from importlib import import_module

ITEM_DOORS: dict = {}
SITE_DOORS: dict = {}
for _part in (
    "doors_image",
    "doors_presentation",
    "doors_viewer",
    "doors_search",
    "doors_auth",
):
    try:
        _module = import_module(f"tests.iiif.{_part}")
    except ModuleNotFoundError:
        continue
    ITEM_DOORS.update(getattr(_module, "ITEM_DOORS", {}))
    SITE_DOORS.update(getattr(_module, "SITE_DOORS", {}))
