"""Access requests, access grants and reported concerns: the services (STYLE.md §3).

A visitor refused an item may ask for access (:func:`access_request_file`);
staff grant it to one person for a limited time (:func:`request_grant`,
:func:`grant_create`) or refuse it; a grant opens the item through
``archive.access.decide`` until it expires, which it does by itself: the
decision compares with the clock, and the scheduled :func:`grants_expire`
records each end in the audit log. Anyone who can see an item may report a
concern about it (:func:`concern_file`) for staff to review. Every step is
written to the audit log.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from archive import audit
from archive.models import (
    AccessGrant,
    AccessLevel,
    AccessRequest,
    AuditEvent,
    ConcernReport,
    Item,
)


def grant_max_days() -> int:
    """The longest grant staff may give, in days (``ARCHIVE_GRANT_MAX_DAYS``, 366)."""
    return int(getattr(settings, "ARCHIVE_GRANT_MAX_DAYS", 366))


# ---------------------------------------------------------------------------
# Requests


def access_request_file(
    *,
    item: Item,
    name: str,
    email: str,
    purpose: str,
    affiliation: str = "",
    user=None,
    request=None,
) -> AccessRequest:
    """File a visitor's request for access to ``item`` (never a withdrawn one)."""
    if item.access_level == AccessLevel.WITHDRAWN:
        raise ValidationError(_("This item has been withdrawn."))
    access_request = AccessRequest.objects.create(
        item=item,
        user=user if user is not None and user.is_authenticated else None,
        name=name.strip(),
        email=email.strip(),
        affiliation=affiliation.strip(),
        purpose=purpose.strip(),
    )
    audit.record(
        AuditEvent.Action.REQUEST_FILED,
        item=item,
        actor=access_request.user,
        summary=f"request #{access_request.pk} from {access_request.email}",
        detail={"request": access_request.pk, "email": access_request.email},
        request=request,
    )
    return access_request


def request_refuse(
    access_request: AccessRequest, *, staff, note: str = ""
) -> AccessRequest:
    """Refuse a waiting request (a decided one is left as it is)."""
    if access_request.status != AccessRequest.Status.PENDING:
        raise ValidationError(_("This request has been decided already."))
    access_request.status = AccessRequest.Status.REFUSED
    access_request.decided_by = staff
    access_request.decided_at = timezone.now()
    access_request.staff_note = note
    access_request.save(
        update_fields=["status", "decided_by", "decided_at", "staff_note", "updated_at"]
    )
    audit.record(
        AuditEvent.Action.REQUEST_REFUSED,
        item=access_request.item,
        actor=staff,
        summary=f"request #{access_request.pk} from {access_request.email} refused",
        detail={"request": access_request.pk, "note": note},
    )
    return access_request


def person_for_email(email: str):
    """The account of the person with this email, made (with no password) if missing."""
    User = get_user_model()
    email = User.objects.normalize_email(email.strip())
    user = User.objects.filter(email__iexact=email).order_by("pk").first()
    if user is None:
        user = User(username=email[:150], email=email)
        user.set_unusable_password()
        user.save()
    return user


def password_set_url(user) -> str:
    """A one-time link (path) where a person without a password sets one."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("wagtailadmin_password_reset_confirm", args=[uid, token])


@transaction.atomic
def request_grant(
    access_request: AccessRequest, *, staff, days: int, note: str = ""
) -> AccessGrant:
    """Grant a waiting request: the requester's account (made if missing) gets ``days``."""
    if access_request.status != AccessRequest.Status.PENDING:
        raise ValidationError(_("This request has been decided already."))
    person = access_request.user or person_for_email(access_request.email)
    grant = grant_create(
        item=access_request.item,
        user=person,
        expires_at=timezone.now() + dt.timedelta(days=days),
        staff=staff,
        note=note,
        access_request=access_request,
    )
    access_request.status = AccessRequest.Status.GRANTED
    access_request.user = person
    access_request.decided_by = staff
    access_request.decided_at = timezone.now()
    access_request.staff_note = note
    access_request.save(
        update_fields=[
            "status",
            "user",
            "decided_by",
            "decided_at",
            "staff_note",
            "updated_at",
        ]
    )
    return grant


def grant_create(
    *,
    item: Item,
    user,
    expires_at: dt.datetime,
    staff,
    note: str = "",
    access_request: AccessRequest | None = None,
) -> AccessGrant:
    """Let ``user`` see ``item`` until ``expires_at`` (at most the configured days)."""
    now = timezone.now()
    if item.access_level == AccessLevel.WITHDRAWN:
        raise ValidationError(_("A withdrawn item cannot be granted."))
    if expires_at <= now:
        raise ValidationError(_("A grant must end in the future."))
    if expires_at > now + dt.timedelta(days=grant_max_days()):
        raise ValidationError(
            _("A grant may last at most %(days)d days.") % {"days": grant_max_days()}
        )
    if user is None or not user.is_active:
        raise ValidationError(_("Access can only be granted to an active account."))
    grant = AccessGrant.objects.create(
        user=user,
        item=item,
        expires_at=expires_at,
        granted_by=staff,
        note=note,
        request=access_request,
    )
    audit.record(
        AuditEvent.Action.GRANT_CREATED,
        item=item,
        actor=staff,
        summary=f"{user.get_username()} until {expires_at:%Y-%m-%d %H:%M %Z}",
        detail={
            "grant": grant.pk,
            "person": user.get_username(),
            "expires_at": expires_at.isoformat(),
            "request": access_request.pk if access_request else None,
        },
    )
    return grant


def grant_revoke(grant: AccessGrant, *, staff) -> AccessGrant:
    """End a grant now."""
    if grant.revoked_at is not None:
        return grant
    grant.revoked_at = timezone.now()
    grant.revoked_by = staff
    grant.ended_logged_at = grant.revoked_at
    grant.save(
        update_fields=["revoked_at", "revoked_by", "ended_logged_at", "updated_at"]
    )
    audit.record(
        AuditEvent.Action.GRANT_REVOKED,
        item=grant.item,
        actor=staff,
        summary=f"{grant.user.get_username()} (grant #{grant.pk})",
        detail={"grant": grant.pk, "person": grant.user.get_username()},
    )
    return grant


def grants_expire(now: dt.datetime | None = None) -> int:
    """Record in the audit log every grant that has ended since the last run.

    The grant already stopped opening its item at ``expires_at`` (the access
    decision compares with the clock); this marks it ended once, for the log.
    Returns how many grants were recorded.
    """
    now = now or timezone.now()
    ended = AccessGrant.objects.filter(
        expires_at__lte=now, revoked_at__isnull=True, ended_logged_at__isnull=True
    ).select_related("user", "item")
    count = 0
    for grant in ended:
        with transaction.atomic():
            claimed = AccessGrant.objects.filter(
                pk=grant.pk, ended_logged_at__isnull=True
            ).update(ended_logged_at=now)
            if not claimed:
                continue
            audit.record(
                AuditEvent.Action.GRANT_EXPIRED,
                item=grant.item,
                summary=f"{grant.user.get_username()} (grant #{grant.pk})",
                detail={
                    "grant": grant.pk,
                    "person": grant.user.get_username(),
                    "expires_at": grant.expires_at.isoformat(),
                },
            )
            count += 1
    return count


# ---------------------------------------------------------------------------
# Concerns


def concern_file(
    *,
    item: Item,
    reason: str,
    message: str,
    name: str = "",
    email: str = "",
    request=None,
) -> ConcernReport:
    """File a concern (takedown request, error...) about an item for staff review."""
    if reason not in ConcernReport.Reason.values:
        raise ValidationError(_("Choose a reason."))
    concern = ConcernReport.objects.create(
        item=item,
        reason=reason,
        message=message.strip(),
        name=name.strip(),
        email=email.strip(),
    )
    audit.record(
        AuditEvent.Action.CONCERN_FILED,
        item=item,
        summary=f"concern #{concern.pk}: {reason}",
        detail={"concern": concern.pk, "reason": reason},
        request=request,
    )
    return concern


def concern_review(
    concern: ConcernReport, *, staff, status: str, note: str = ""
) -> ConcernReport:
    """Close a concern as acted on or dismissed, with the staff's note."""
    if status not in (
        ConcernReport.Status.ACTIONED,
        ConcernReport.Status.DISMISSED,
        ConcernReport.Status.OPEN,
    ):
        raise ValidationError(_("Unknown status."))
    concern.status = status
    concern.handled_by = staff
    concern.handled_at = timezone.now()
    concern.staff_note = note
    concern.save(
        update_fields=["status", "handled_by", "handled_at", "staff_note", "updated_at"]
    )
    audit.record(
        AuditEvent.Action.CONCERN_REVIEWED,
        item=concern.item,
        actor=staff,
        summary=f"concern #{concern.pk}: {status}",
        detail={"concern": concern.pk, "status": status, "note": note},
    )
    return concern
