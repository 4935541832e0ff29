"""Settings package: ``base`` holds everything; ``dev``, ``production`` and ``test`` override it.

Entry points (``manage.py``, ``wsgi.py``, the Celery app) pick the module from
``DJANGO_ENV`` through :func:`use_settings_for_env` unless
``DJANGO_SETTINGS_MODULE`` is already set.
"""

import os

SETTINGS_BY_ENV = {
    "development": "archive.settings.dev",
    "production": "archive.settings.production",
    "test": "archive.settings.test",
}


def use_settings_for_env() -> str:
    """Point DJANGO_SETTINGS_MODULE at the module DJANGO_ENV names, and return it.

    Raises:
        SystemExit: DJANGO_ENV names no known environment.
    """
    name = os.environ.get("DJANGO_ENV", "development")
    if name not in SETTINGS_BY_ENV:
        raise SystemExit(
            f"DJANGO_ENV must be one of {', '.join(SETTINGS_BY_ENV)}, not {name!r}"
        )
    return os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_BY_ENV[name])
