"""Doors of ``themes`` for the access walk (merged by ``tests/archive/doors.py``).

The sitemap index, its two sections and robots.txt list no single item: the
walk checks that no visitor finds a title there they may not see (the
sitemap names URLs, not titles; ``test_sitemap.py`` checks the URLs).
"""

from __future__ import annotations

ITEM_DOORS: dict = {}

SITE_DOORS = {
    "sitemap": ("get", ["/sitemap.xml"]),
    "sitemap_section": (
        "get",
        ["/sitemap-pages.xml", "/sitemap-items.xml", "/sitemap-nothing.xml"],
    ),
    "robots_txt": ("get", ["/robots.txt"]),
}
