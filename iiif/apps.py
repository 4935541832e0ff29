"""App configuration of ``iiif``."""

from django.apps import AppConfig


class IiifConfig(AppConfig):
    """Image API, Presentation manifests, Content Search, the viewer."""

    name = "iiif"
    verbose_name = "IIIF"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Connect the signal handlers that purge the Image API and manifest caches,
        and the one that revokes IIIF Authorization Flow tokens at sign-out.

        Both ``connect`` functions are idempotent (every handler has a
        ``dispatch_uid``), so calling ``ready`` again is harmless.
        """
        from django.contrib.auth.signals import user_logged_out

        from iiif import auth, presentation_signals, signals

        signals.connect()
        presentation_signals.connect()
        # Signing out anywhere (the admin, the site) voids that session's
        # Authorization Flow tokens at once, not when they expire.
        user_logged_out.connect(auth.revoke_on_logout, dispatch_uid="iiif-auth-revoke")
