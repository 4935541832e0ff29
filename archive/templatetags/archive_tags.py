"""Template helpers for public pages: the 繁/简 display switch and multilingual fields."""

from django import template
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
