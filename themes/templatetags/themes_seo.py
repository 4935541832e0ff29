"""``{% page_seo %}``: the sharing metadata of the site's Wagtail pages (in <head>)."""

from __future__ import annotations

from django import template

from themes import seo

register = template.Library()


@register.inclusion_tag("archive/includes/meta.html", takes_context=True)
def page_seo(context):
    """Canonical link, Open Graph, Twitter card and JSON-LD of the current page."""
    page = context.get("page")
    request = context.get("request")
    if page is None or request is None:
        return {"meta": None}
    return {"meta": seo.page_meta(page.specific, request, context)}
