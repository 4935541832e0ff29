"""The sitemap (``/sitemap.xml``) and ``/robots.txt``.

``/sitemap.xml`` is a sitemap index (sitemaps.org protocol) naming two
sections, so each stays under the protocol's 50,000 URLs as the archive grows
(Django pages a section past its ``limit`` as ``?p=2``, and the index lists
every page):

- ``/sitemap-pages.xml``: every live Wagtail page of the site without a view
  restriction (``wagtail.contrib.sitemaps``: home, theme libraries,
  exhibitions);
- ``/sitemap-items.xml``: every item page an anonymous visitor may open
  (``archive.selectors.item_list`` for ``AnonymousUser``: public items and
  those whose embargo has lifted; never reading-room, staff-only, embargoed
  or withdrawn ones), with the record's last change as ``lastmod``.

Every URL is on the request's scheme and host, like the IIIF documents.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib.auth.models import AnonymousUser
from django.contrib.sitemaps import Sitemap
from django.db.models import Max
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET
from wagtail.contrib.sitemaps import Sitemap as WagtailSitemap
from wagtail.contrib.sitemaps import views as wagtail_sitemap_views

from archive import selectors as archive_selectors

#: Shared caches may keep the sitemap and robots.txt this long (seconds).
SITEMAP_MAX_AGE = 3600

#: Paths crawlers are asked to leave alone: the admin, the deep-zoom tiles
#: (millions of URLs, each rendered on demand) and search results.
ROBOTS_DISALLOW = ("/admin/", "/iiif/3/image/", "/iiif/search/", "/api/", "/search/")


class PageSitemap(WagtailSitemap):
    """The live, public Wagtail pages of the request's site."""

    def _urls(self, page, protocol, domain):
        urls = super()._urls(page, protocol, domain)
        for url in urls:
            url["location"] = self._on_request_host(url["location"])
        return urls

    def _on_request_host(self, location: str) -> str:
        # Wagtail writes the Site record's hostname; the items section (and
        # every other absolute URL of the site) uses the request's.
        parts = urlsplit(location)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return self.request.build_absolute_uri(path)

    def get_latest_lastmod(self):
        """The newest publication among the pages (the index's ``lastmod``)."""
        return self.items().aggregate(latest=Max("last_published_at"))["latest"]


class ItemSitemap(Sitemap):
    """Every item page an anonymous visitor may open."""

    def items(self):
        """Items visible to ``AnonymousUser`` outside the reading room, oldest first."""
        return (
            archive_selectors.item_list(user=AnonymousUser(), request=None)
            .select_related(None)
            .order_by("pk")
            .only("public_id", "updated_at")
        )

    def location(self, item) -> str:
        """The item page's path."""
        return reverse("item_detail", args=[item.public_id])

    def lastmod(self, item):
        """When the record last changed."""
        return item.updated_at

    def get_latest_lastmod(self):
        """The newest change among the items (the index's ``lastmod``)."""
        return self.items().aggregate(latest=Max("updated_at"))["latest"]


SITEMAPS = {"pages": PageSitemap, "items": ItemSitemap}


def _shared(response):
    response["Cache-Control"] = f"public, max-age={SITEMAP_MAX_AGE}"
    return response


@require_GET
def sitemap_index(request):
    """``/sitemap.xml``: the index of the sitemap's sections."""
    response = wagtail_sitemap_views.index(
        request, SITEMAPS, sitemap_url_name="sitemap_section"
    )
    return _shared(response)


@require_GET
def sitemap_section(request, section: str):
    """``/sitemap-{section}.xml``: one section (``pages`` or ``items``); 404 otherwise."""
    response = wagtail_sitemap_views.sitemap(request, SITEMAPS, section=section)
    return _shared(response)


@require_GET
def robots_txt(request):
    """``/robots.txt``: what crawlers may fetch, and where the sitemap is."""
    lines = ["User-agent: *"]
    lines += [f"Disallow: {path}" for path in ROBOTS_DISALLOW]
    lines += ["", f"Sitemap: {request.build_absolute_uri(reverse('sitemap'))}", ""]
    response = HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")
    return _shared(response)
