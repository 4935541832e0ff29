"""Template context shared by every public page."""

from django.conf import settings


def archive(request):
    """The site name, the UI languages and the 繁/简 display choice."""
    return {
        "site_name": settings.WAGTAIL_SITE_NAME,
        "display_script": getattr(request, "display_script", "orig"),
    }
