"""IIIF Authorization Flow 2.0 doors for the access walk (merged by ``tests/iiif/doors.py``).

They are site doors, not item doors: a probe answers HTTP 200 to everyone,
whatever the visitor may see, because Auth 2.0 §5.2 requires it ("the HTTP
status code of the response itself MUST be 200"); the status the item's door
would answer is the ``status`` inside the JSON. An item door of the walk must
answer 401/403/410, so a probe cannot be one. As site doors, the walk checks
that no probe, access, token or logout page shows the title of anything, to
any visitor, at any level. ``tests/iiif/test_auth.py`` checks that each
probe's ``status`` is what the image and media doors answer, level by level
and visitor by visitor.

The probe URLs name the walk's own pages and recordings, which exist only once
the walk's fixture has made them: the lists are read when the walk iterates
them, not when this module is imported.
"""

from __future__ import annotations

from django.urls import reverse

#: The walk's items carry this in their titles (tests/archive/test_access_walk.py).
WALK_TITLE = "WALK-"
VIEWER = "https://viewer.example.org"


class _WalkProbes:
    """The probe URLs of every page image or recording of the walk, plus an unknown one."""

    def __init__(self, kind: str):
        self.kind = kind

    def __iter__(self):
        from archive.models import Asset, PageImage

        if self.kind == "image":
            pages = PageImage.objects.filter(item__title__contains=WALK_TITLE)
            for page in pages.order_by("pk"):
                yield reverse("iiif_auth_probe_image", args=[page.public_id])
            yield reverse("iiif_auth_probe_image", args=["no-such-image"])
            return
        media = Asset.objects.filter(
            role=Asset.Role.MEDIA, item__title__contains=WALK_TITLE
        ).select_related("item")
        for asset in media.order_by("pk"):
            yield reverse(
                "iiif_auth_probe_media", args=[asset.item.public_id, asset.pk]
            )
        yield reverse("iiif_auth_probe_media", args=["no-such-item", 1])


ITEM_DOORS: dict = {}

SITE_DOORS = {
    "iiif_auth_probe_image": ("get", _WalkProbes("image")),
    "iiif_auth_probe_media": ("get", _WalkProbes("media")),
    "iiif_auth_access": (
        "get",
        [
            f"/iiif/auth/access/login?origin={VIEWER}",
            "/iiif/auth/access/reading-room",
            "/iiif/auth/access/embargo-2031-01-01",
            "/iiif/auth/access/no-such-reason",
        ],
    ),
    "iiif_auth_token": (
        "get",
        [f"/iiif/auth/token?messageId=walk&origin={VIEWER}", "/iiif/auth/token"],
    ),
    # GET only shows the sign-out button; the walk must not sign its visitors out.
    "iiif_auth_logout": ("get", ["/iiif/auth/logout"]),
}
