"""App configuration of ``iiif``."""

from django.apps import AppConfig


class IiifConfig(AppConfig):
    """Image API, Presentation manifests, Content Search, the viewer."""

    name = "iiif"
    verbose_name = "IIIF"
    default_auto_field = "django.db.models.BigAutoField"
