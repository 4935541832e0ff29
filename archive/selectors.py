"""Reads and querysets of the archive's core records (STYLE.md §3).

Listing querysets apply the same rule as :func:`archive.access.decide`, so a
list never shows what the item page would refuse.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from archive.access import in_reading_room, is_archive_staff
from archive.models import (
    AccessGrant,
    AccessLevel,
    Collection,
    Institution,
    Item,
    ThemeLibrary,
)


def item_visibility_q(user, request=None) -> Q:
    """Return the filter of items ``user`` may see on public doors (never withdrawn)."""
    today = timezone.localdate()
    allowed = Q(access_level=AccessLevel.PUBLIC) | Q(
        access_level=AccessLevel.EMBARGOED, embargo_until__lte=today
    )
    if is_archive_staff(user):
        return ~Q(access_level=AccessLevel.WITHDRAWN)
    if in_reading_room(request):
        allowed |= Q(access_level=AccessLevel.READING_ROOM)
    if user is not None and user.is_authenticated:
        # Items this person holds an active grant to (never withdrawn ones).
        granted = AccessGrant.objects.filter(
            user=user, revoked_at__isnull=True, expires_at__gt=timezone.now()
        ).values("item_id")
        allowed |= Q(pk__in=granted) & ~Q(access_level=AccessLevel.WITHDRAWN)
    return allowed


def item_list(
    *, user, request=None, institution=None, collection=None, theme=None
) -> QuerySet:
    """Items ``user`` may see, newest first, optionally narrowed."""
    qs = Item.objects.filter(item_visibility_q(user, request)).select_related(
        "institution", "collection"
    )
    if institution is not None:
        qs = qs.filter(institution=institution)
    if collection is not None:
        qs = qs.filter(collection=collection)
    if theme is not None:
        qs = qs.filter(themes=theme)
    return qs


def item_get(*, public_id: str) -> Item | None:
    """The item with this public identifier, whatever its access level (the caller decides)."""
    return (
        Item.objects.select_related("institution", "collection", "work")
        .prefetch_related("themes", "places", "item_agents__agent", "pages")
        .filter(public_id=public_id)
        .first()
    )


def institution_list() -> QuerySet:
    """Every institution, central library first."""
    return Institution.objects.all()


def institution_get(*, code: str) -> Institution | None:
    """The institution with this code."""
    return Institution.objects.filter(code=code).first()


def theme_library_list() -> QuerySet:
    """The four theme libraries, in their fixed order."""
    return ThemeLibrary.objects.all()


def collection_list(*, institution=None) -> QuerySet:
    """Collections, optionally of one institution."""
    qs = Collection.objects.select_related("institution", "parent")
    return qs.filter(institution=institution) if institution is not None else qs
