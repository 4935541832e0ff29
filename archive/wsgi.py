"""WSGI entry point (gunicorn ``archive.wsgi:application``)."""

import gc

from django.core.wsgi import get_wsgi_application

from archive.settings import use_settings_for_env

use_settings_for_env()
application = get_wsgi_application()

from django.conf import settings  # noqa: E402 (settings are chosen above)

if settings.SEARCH_WARM_AT_START:
    # What the first requests of a worker would otherwise load while a visitor
    # waits: search's word list, converter and syllables (about 10 s), the
    # search engine, the URL patterns with the view modules they import and
    # the reverse lookups every page's links use (about 0.4 s). Not
    # pycantonese's segmenter, which alias splitting loads on the first CJK
    # search (0.8 s and about 190 MiB a process; docs/performance.md).
    from django.urls import reverse

    from archive.search.engine import engine_get
    from archive.search.jyutping import warm_up

    warm_up()
    engine_get()
    reverse("healthz")  # loads the URL conf, its views, every reverse lookup

# What is loaded by now (Django, the URL patterns, search's word list) lives as
# long as the process: keep it out of the garbage collector's full passes,
# which otherwise walk all of it every so often in the middle of a request
# (a 1,000-canvas manifest took 110 to 350 ms by when one fell; bench/iiif_tiles.py).
gc.freeze()
