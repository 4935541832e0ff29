"""Public URLs of ``themes`` outside the Wagtail page tree: the sitemap and robots.txt.

Included by ``archive/urls.py`` by name (``include("themes.urls")``), before
Wagtail's catch-all, so ``archive`` never imports ``themes``.
"""

from django.urls import path

from themes import sitemaps

urlpatterns = [
    path("sitemap.xml", sitemaps.sitemap_index, name="sitemap"),
    path(
        "sitemap-<slug:section>.xml", sitemaps.sitemap_section, name="sitemap_section"
    ),
    path("robots.txt", sitemaps.robots_txt, name="robots_txt"),
]
