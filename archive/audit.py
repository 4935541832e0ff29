"""The audit log: who changed access, granted or revoked it, withdrew an item, or
looked at restricted material, and when (``AuditEvent``).

Everything is written through :func:`record`; nothing edits or deletes an entry.
The actor of a change made in a request (the admin's item form, say) comes
from :class:`AuditContextMiddleware`, which keeps the request's user and
address for the signal handlers below; a change made by a command or a task
has no actor and is recorded as the system's.

Views of restricted material are recorded by ``archive.access.decide`` itself,
so no door can skip them: once per person, item and day (a viewer asks for
hundreds of tiles; the log wants one line, not hundreds).
"""

from __future__ import annotations

import contextvars
import logging

from django.core.cache import cache
from django.db.models.signals import post_save, pre_save
from django.utils import timezone

from archive.models import AccessLevel, AuditEvent, Item

logger = logging.getLogger(__name__)

#: The request being served, for the actor and address of signal-made entries.
_current_request: contextvars.ContextVar = contextvars.ContextVar(
    "archive_audit_request", default=None
)

#: How long a recorded view suppresses the next one of the same person and item.
VIEW_DEDUPE_SECONDS = 24 * 3600


class AuditContextMiddleware:
    """Keep the request for the audit log's signal handlers (after authentication)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)


def _address(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def _actor(request):
    user = getattr(request, "user", None) if request is not None else None
    if user is not None and user.is_authenticated:
        return user
    return None


def record(
    action: str,
    *,
    item: Item | None = None,
    actor=None,
    summary: str = "",
    detail: dict | None = None,
    request=None,
) -> AuditEvent:
    """Write one audit log entry.

    Args:
        action: one of :class:`AuditEvent.Action`.
        item: the item concerned, if any (its public id is kept as text too).
        actor: the user who acted; by default the current request's user.
        summary: one line a person reads in the log.
        detail: machine-readable details (old and new values...).
        request: the request, by default the current one (for the address).
    """
    request = request if request is not None else _current_request.get()
    if actor is None:
        actor = _actor(request)
    return AuditEvent.objects.create(
        action=action,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_name=actor.get_username() if actor is not None else "",
        item=item,
        item_public_id=item.public_id if item is not None else "",
        summary=summary,
        detail=detail or {},
        address=_address(request),
    )


def restricted_view(user, item: Item, request, *, reason: str) -> None:
    """Record that ``user`` saw restricted ``item`` (once per person, item and day).

    Called by ``archive.access.decide`` when it allows a non-public item to a
    signed-in person: staff, or a person holding a grant. Never raises: a
    failing log must not break the door (the failure is logged).
    """
    today = timezone.localdate().isoformat()
    key = f"audit:view:{user.pk}:{user.get_username()}:{item.public_id}:{today}"
    try:
        if not cache.add(key, 1, VIEW_DEDUPE_SECONDS):
            return
        record(
            AuditEvent.Action.RESTRICTED_VIEWED,
            item=item,
            actor=user,
            summary=f"{item.access_level} item viewed ({reason})",
            detail={
                "level": item.access_level,
                "reason": reason,
                "path": getattr(request, "path", "") if request is not None else "",
            },
            request=request,
        )
    except Exception:  # noqa: BLE001 - the door must answer even if the log fails
        cache.delete(key)
        logger.exception("audit: could not record a view of %s", item.public_id)


# ---------------------------------------------------------------------------
# Access changes of items, whoever makes them (admin, ingest, consent, shell)


def _item_access_remember(sender, instance: Item, **kwargs) -> None:
    if instance.pk is None or kwargs.get("raw"):
        instance._audit_access_before = None
        return
    instance._audit_access_before = (
        Item.objects.filter(pk=instance.pk)
        .values_list("access_level", "embargo_until")
        .first()
    )


def _item_access_record(sender, instance: Item, created: bool, **kwargs) -> None:
    if kwargs.get("raw"):
        return
    before = getattr(instance, "_audit_access_before", None)
    after = (instance.access_level, instance.embargo_until)
    if created:
        if instance.access_level == AccessLevel.PUBLIC:
            return
        before = (None, None)
    elif before is None or tuple(before) == after:
        return
    old_level, old_until = before
    action = (
        AuditEvent.Action.WITHDRAWN
        if instance.access_level == AccessLevel.WITHDRAWN
        and old_level != AccessLevel.WITHDRAWN
        else AuditEvent.Action.ACCESS_CHANGED
    )
    record(
        action,
        item=instance,
        summary=f"{old_level or '-'} → {instance.access_level}",
        detail={
            "from": {
                "level": old_level,
                "embargo_until": old_until.isoformat() if old_until else None,
            },
            "to": {
                "level": instance.access_level,
                "embargo_until": instance.embargo_until.isoformat()
                if instance.embargo_until
                else None,
            },
            "created": created,
        },
    )


def connect() -> None:
    """Connect the item access-change handlers (from ``ArchiveConfig.ready``)."""
    pre_save.connect(
        _item_access_remember, sender=Item, dispatch_uid="audit_item_access_before"
    )
    post_save.connect(
        _item_access_record, sender=Item, dispatch_uid="audit_item_access_after"
    )
