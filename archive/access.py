"""The one access decision: who may see an item, an asset or (later) a segment.

Every door (pages, IIIF images and manifests, collections, search results,
transcripts and exports, media files and downloads) asks :func:`can_view` or
:func:`decide`; none decides for itself (DESIGN.md, Access).
"""

from __future__ import annotations

import enum
import ipaddress
from functools import lru_cache

from django.conf import settings
from django.utils import timezone

from archive.models import AccessGrant, AccessLevel, Asset, Item, PageImage

#: Per-user cache (one request) of item pk -> the latest expiry of its active grants.
_GRANTS_CACHE = "_archive_access_grants"


class Decision(enum.Enum):
    """The outcome of an access check, with the HTTP status a door should answer."""

    ALLOW = 200
    #: Not allowed now; logging in (as staff) or visiting the reading room might help.
    LOGIN_REQUIRED = 401
    #: Logged in, but still not allowed.
    FORBIDDEN = 403
    #: The item was withdrawn: its stable URL answers with a tombstone.
    GONE = 410

    @property
    def allowed(self) -> bool:
        """Whether the object may be shown."""
        return self is Decision.ALLOW


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]):
    return tuple(
        ipaddress.ip_network(s.strip(), strict=False) for s in spec if s.strip()
    )


def reading_room_networks():
    """Return the configured reading-room networks (ARCHIVE_READING_ROOM_NETWORKS)."""
    return _networks(tuple(settings.ARCHIVE_READING_ROOM_NETWORKS))


def in_reading_room(request) -> bool:
    """Whether a request comes from the reading room's networks.

    The address is the connection's ``REMOTE_ADDR``; a deployment behind a
    proxy must set it from the proxy's trusted header before Django sees it.
    """
    if request is None:
        return False
    addr = request.META.get("REMOTE_ADDR", "")
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in net for net in reading_room_networks())


def is_archive_staff(user) -> bool:
    """Whether a user is library staff who may see restricted material."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.has_perm("archive.view_restricted"))
    )


def level_decision(
    level: str, *, embargo_until=None, user=None, request=None
) -> Decision:
    """Decide for a bare access level (the rule every object reduces to)."""
    if level == AccessLevel.WITHDRAWN:
        return Decision.GONE
    if level == AccessLevel.PUBLIC:
        return Decision.ALLOW
    if level == AccessLevel.EMBARGOED and embargo_until is not None:
        if timezone.localdate() >= embargo_until:
            return Decision.ALLOW
    if is_archive_staff(user):
        return Decision.ALLOW
    if level == AccessLevel.READING_ROOM and in_reading_room(request):
        return Decision.ALLOW
    if user is not None and user.is_authenticated:
        return Decision.FORBIDDEN
    return Decision.LOGIN_REQUIRED


def grant_expires_at(user, item: Item):
    """When ``user``'s grant to ``item`` ends, or None if no grant is active now.

    Cached on the user object (one request), and compared with the clock at
    every call, so a grant that ends during a long request ends there too.
    """
    if user is None or not user.is_authenticated or item.pk is None:
        return None
    cache = getattr(user, _GRANTS_CACHE, None)
    if cache is None:
        cache = {}
        setattr(user, _GRANTS_CACHE, cache)
    if item.pk not in cache:
        cache[item.pk] = (
            AccessGrant.objects.filter(
                user=user,
                item_id=item.pk,
                revoked_at__isnull=True,
                expires_at__gt=timezone.now(),
            )
            .order_by("-expires_at")
            .values_list("expires_at", flat=True)
            .first()
        )
    expires_at = cache[item.pk]
    if expires_at is None or timezone.now() >= expires_at:
        return None
    return expires_at


def _item_decision(user, item: Item, request) -> Decision:
    decision = level_decision(
        item.access_level,
        embargo_until=item.embargo_until,
        user=user,
        request=request,
    )
    if decision is Decision.GONE or item.access_level == AccessLevel.PUBLIC:
        return decision
    if not decision.allowed and grant_expires_at(user, item) is not None:
        decision = Decision.ALLOW
        reason = "grant"
    else:
        reason = "staff"
    if (
        decision.allowed
        and user is not None
        and user.is_authenticated
        and (reason == "grant" or is_archive_staff(user))
        and not (item.embargo_until and not item.embargo_active())
    ):
        from archive.audit import restricted_view

        restricted_view(user, item, request, reason=reason)
    return decision


def decide(user, obj, request=None) -> Decision:
    """Decide whether ``user`` (on ``request``) may see ``obj``.

    Args:
        user: the Django user (``AnonymousUser`` for visitors); may be None.
        obj: an Item, an Asset, a PageImage, or anything with an ``item``
            attribute and optional ``access_level`` (e.g. transcript segments).
        request: the request, for the reading-room network check.

    Returns:
        The :class:`Decision`. Withdrawn items are GONE for everyone, staff
        included, on public doors; staff manage them in the admin. A person
        holding an active grant (``AccessGrant``) sees the item as staff
        would, but a grant never opens what is stricter than the item (staff-only
        assets, closed passages). Staff and granted views of restricted items
        are written to the audit log (``archive.audit.restricted_view``).
    """
    if isinstance(obj, Item):
        return _item_decision(user, obj, request)
    if isinstance(obj, PageImage):
        return decide(user, obj.item, request)
    if isinstance(obj, Asset):
        item_decision = decide(user, obj.item, request)
        if not item_decision.allowed:
            return item_decision
        if obj.is_staff_only:
            return level_decision(AccessLevel.STAFF, user=user, request=request)
        if obj.access_level:
            return level_decision(obj.access_level, user=user, request=request)
        return item_decision
    item = getattr(obj, "item", None)
    if isinstance(item, Item):
        item_decision = decide(user, item, request)
        if not item_decision.allowed:
            return item_decision
        level = getattr(obj, "access_level", "") or ""
        if level:
            return level_decision(
                level,
                embargo_until=getattr(obj, "embargo_until", None),
                user=user,
                request=request,
            )
        return item_decision
    raise TypeError(f"can_view does not know how to decide for {type(obj).__name__}")


def can_view(user, obj, request=None) -> bool:
    """Whether ``user`` may see ``obj``: the one access decision of the archive."""
    return decide(user, obj, request).allowed
