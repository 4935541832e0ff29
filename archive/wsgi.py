"""WSGI entry point (gunicorn ``archive.wsgi:application``)."""

import gc

from django.core.wsgi import get_wsgi_application

from archive.settings import use_settings_for_env

use_settings_for_env()
application = get_wsgi_application()

from django.conf import settings  # noqa: E402 (settings are chosen above)

if settings.SEARCH_WARM_AT_START:
    from archive.search.jyutping import warm_up

    warm_up()

# What is loaded by now (Django, the URL patterns, search's word list) lives as
# long as the process: keep it out of the garbage collector's full passes,
# which otherwise walk all of it every so often in the middle of a request
# (a 1,000-canvas manifest took 110 to 350 ms by when one fell; bench/iiif_tiles.py).
gc.freeze()
