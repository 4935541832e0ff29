"""Middleware: the 繁/简 display preference of each request."""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils.translation import get_language

#: Cookie holding the display script: ``hant``, ``hans`` or ``orig`` (as stored).
SCRIPT_COOKIE = "yc_script"
SCRIPTS = ("orig", "hant", "hans")


def script_for(request) -> str:
    """Return the display script: the cookie if set, else what the UI language suggests."""
    chosen = request.COOKIES.get(SCRIPT_COOKIE, "")
    if chosen in SCRIPTS:
        return chosen
    language = (get_language() or "").lower()
    if language == "zh-hans":
        return "hans"
    if language == "zh-hant":
        return "hant"
    return "orig"


class ScriptPreferenceMiddleware:
    """Attach ``request.display_script`` (after LocaleMiddleware chose the language)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.display_script = script_for(request)
        return self.get_response(request)


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Django's LocaleMiddleware, minus ``Vary``/``Content-Language`` on language-neutral URLs.

    Immutable IIIF tiles are the same in every language; varying them on
    Accept-Language would split every cache's copy by browser language.
    """

    def process_response(self, request, response):
        if request.path.startswith(tuple(settings.ARCHIVE_LANGUAGE_NEUTRAL_PREFIXES)):
            return response
        return super().process_response(request, response)
