"""Development settings: the embedded default that ``make demo`` serves."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import VAR_DIR, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)

#: A production secret must never run in development: production secrets are
#: long random strings given to production only, and development reads this
#: generated file instead. If DJANGO_SECRET_KEY is set here, refuse.
if env.str("DJANGO_SECRET_KEY", default=""):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is set but DJANGO_ENV is development: a production "
        "secret must not run with development settings. Unset it, or set "
        "DJANGO_ENV=production."
    )


def _dev_secret() -> str:
    """Return the development secret, generating it once into the var folder."""
    from django.utils.crypto import get_random_string

    path = VAR_DIR / "dev-secret-key.txt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("dev-insecure-" + get_random_string(50))
    return path.read_text().strip()


SECRET_KEY = _dev_secret()
