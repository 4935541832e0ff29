"""Template tags of the item page's sharing metadata and citations.

Tags rather than view context, so any page showing an item can use them and
the item view stays as it is (views parse, decide and render).
"""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils import timezone

from archive import citations, seo

register = template.Library()


@register.inclusion_tag("archive/includes/meta.html", takes_context=True)
def item_meta(context, item):
    """Open Graph, Twitter, canonical and JSON-LD tags of an item page (in <head>)."""
    return {"meta": seo.item_meta(item, context["request"])}


@register.inclusion_tag("archive/includes/meta.html")
def page_meta(meta):
    """The tags of any page's :class:`archive.seo.PageMeta` (in <head>)."""
    return {"meta": meta}


@register.inclusion_tag("archive/includes/citations.html", takes_context=True)
def item_citations(context, item):
    """How to cite the item, with copy buttons and the CSL-JSON and BibTeX files."""
    request = context["request"]
    url = seo.item_url(item, request)
    accessed = timezone.localdate()
    return {
        "item": item,
        "url": url,
        "gbt7714": citations.citation_gbt7714(item, url, accessed),
        "gbt7714_lang": citations.gbt_language(item),
        "chicago": citations.citation_chicago(item, url, accessed),
        "chicago_note": citations.citation_chicago(item, url, accessed, form="note"),
        "bibtex": citations.citation_bibtex(item, url, accessed),
        "csl_url": reverse("item_cite_csl", args=[item.public_id]),
        "bibtex_url": reverse("item_cite_bibtex", args=[item.public_id]),
    }


@register.inclusion_tag("archive/includes/meta.html", takes_context=True)
def institution_meta(context, institution):
    """The sharing tags of an institution's page (in <head>)."""
    return {"meta": seo.institution_meta(institution, context["request"])}


@register.inclusion_tag("archive/includes/meta.html", takes_context=True)
def institution_list_meta(context, institutions):
    """The sharing tags of the list of institutions (in <head>)."""
    return {"meta": seo.institution_list_meta(list(institutions), context["request"])}
