"""粵藏 Yuecang core: the Django project and the archive's core records.

Importing the Celery app here makes ``shared_task`` use it (Celery's Django
integration).
"""

from .celery import app as celery_app

__all__ = ("celery_app",)
