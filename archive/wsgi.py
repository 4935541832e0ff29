"""WSGI entry point (gunicorn ``archive.wsgi:application``)."""

from django.core.wsgi import get_wsgi_application

from archive.settings import use_settings_for_env

use_settings_for_env()
application = get_wsgi_application()
