"""WSGI entry point (gunicorn ``archive.wsgi:application``)."""

from django.core.wsgi import get_wsgi_application

from archive.settings import use_settings_for_env

use_settings_for_env()
application = get_wsgi_application()

from django.conf import settings  # noqa: E402 (settings are chosen above)

if settings.SEARCH_WARM_AT_START:
    from archive.search.jyutping import warm_up

    warm_up()
