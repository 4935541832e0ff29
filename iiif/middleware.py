"""The short way through Django for public Image API requests.

A viewer asks for hundreds of tiles a minute. nginx serves the ones already
on disk; the rest used to pass every middleware (sessions, locale, CSRF,
messages, Wagtail's redirects, django-axes…), which cost about as much as
sending a stored tile. :class:`PublicImageMiddleware` sits right after the
client-address and security middleware and answers the requests of visitors
with no session for pages whose record is in the tile cache (public by
definition, ``iiif.image_cache``), through the same view code
(``iiif.image_views.public_image``) and counted against the same rate limit.
Everything else goes on as before.
"""

from __future__ import annotations

from iiif.image_views import public_image


class PublicImageMiddleware:
    """Answer a public page's image early (see the module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = public_image(request)
        if response is not None:
            return response
        return self.get_response(request)
