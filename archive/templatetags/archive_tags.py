"""Template helpers for public pages: the 繁/简 display switch and multilingual fields."""

import re

from django import template
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from archive.scripts import convert_for_display

register = template.Library()


@register.simple_tag(takes_context=True)
def display(context, text):
    """Show stored Chinese text in the reader's chosen script (display only)."""
    request = context.get("request")
    script = getattr(request, "display_script", "orig")
    return convert_for_display(str(text or ""), script)


@register.simple_tag(takes_context=True)
def form_of(context, obj, field="title"):
    """Show ``obj``'s field in the best form for the UI language, then the script choice.

    A record's own Simplified or Traditional form is preferred over converting
    the source text, because editors may have corrected it.
    """
    request = context.get("request")
    script = getattr(request, "display_script", "orig")
    language = (get_language() or "").lower()
    if language.startswith("en") and getattr(obj, f"{field}_en", ""):
        return getattr(obj, f"{field}_en")
    if script in ("hant", "hans") and getattr(obj, f"{field}_{script}", ""):
        return getattr(obj, f"{field}_{script}")
    return convert_for_display(str(getattr(obj, field, "") or ""), script)


#: Han characters (CJK Unified Ideographs, Extension A, compatibility forms).
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@register.simple_tag(takes_context=True)
def lang_attr(context, text):
    """`` lang="zh-Hant"`` (or ``zh-Hans``) where Chinese is shown in a page of another language.

    WCAG 3.1.2 (language of parts): on the English pages, a curator's Chinese
    text says it is Chinese, in the script it is shown in (the 繁/简 switch);
    on the Chinese pages, Chinese text shown in the other script says so too.
    Text without Han characters gets nothing (it follows the page).
    """
    if not _HAN.search(str(text or "")):
        return ""
    request = context.get("request")
    script = getattr(request, "display_script", "orig")
    page = (get_language() or "").lower()
    shown = "zh-Hans" if script == "hans" else "zh-Hant"
    if page == shown.lower():
        return ""
    return mark_safe(f' lang="{shown}"')
