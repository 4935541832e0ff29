"""The admin's trust pages: access requests, grants, reported concerns, the audit log.

Archivists see the requests, grants and concerns of their institution's items
(``archive.admin_views.institution_scope``), central-library staff all of
them; only holders of ``archive.view_audit_log`` (central-library staff) read
the audit log. Every action goes through :mod:`archive.trust`, which writes
the log.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from wagtail.admin import messages

from archive import trust
from archive.admin_views import institution_scope
from archive.models import AccessGrant, AccessRequest, AuditEvent, ConcernReport, Item

MANAGE_ACCESS = "archive.manage_access"
REVIEW_CONCERNS = "archive.review_concerns"
VIEW_AUDIT_LOG = "archive.view_audit_log"
PER_PAGE = 50


def _require(request: HttpRequest, *perms: str) -> None:
    user = request.user
    if not (user.is_authenticated and any(user.has_perm(p) for p in perms)):
        raise PermissionDenied


def _scoped(queryset, user):
    scope = institution_scope(user)
    if scope is None:
        return queryset
    return queryset.filter(item__institution_id__in=scope)


def _page(request, queryset):
    return Paginator(queryset, PER_PAGE).get_page(request.GET.get("p"))


def _by_status(request, queryset, statuses, default) -> dict:
    """Narrow a listing to ``?status=`` (``default`` when absent), with the page's context."""
    status = request.GET.get("status", default)
    if status in statuses.values:
        queryset = queryset.filter(status=status)
    return {
        "page": _page(request, queryset),
        "status": status,
        "statuses": statuses.choices,
    }


def _granted_message(request, grant, message: str) -> None:
    """Say a grant was made, with the set-password link for a person without one."""
    if not grant.user.has_usable_password():
        link = request.build_absolute_uri(trust.password_set_url(grant.user))
        message += " " + _(
            "They have no password yet: send them this link to set one: %(link)s"
        ) % {"link": link}
    messages.success(request, message)


def _render(request, template, title, context, icon="lock"):
    return TemplateResponse(
        request,
        template,
        {"page_title": title, "header_title": title, "header_icon": icon, **context},
    )


# ---------------------------------------------------------------------------
# Access requests


class DecideForm(forms.Form):
    days = forms.IntegerField(
        label=gettext_lazy("Days of access"), min_value=1, initial=30
    )
    note = forms.CharField(
        label=gettext_lazy("Note (kept with the decision)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


@require_GET
def requests_list(request: HttpRequest) -> HttpResponse:
    """Waiting requests first, then the decided ones."""
    _require(request, MANAGE_ACCESS, "archive.view_accessrequest")
    queryset = _scoped(
        AccessRequest.objects.select_related("item", "decided_by"), request.user
    )
    return _render(
        request,
        "archive/admin/trust_requests.html",
        _("Access requests"),
        {
            **_by_status(
                request, queryset, AccessRequest.Status, AccessRequest.Status.PENDING
            ),
            "form": DecideForm(),
            "can_decide": request.user.has_perm(MANAGE_ACCESS),
        },
    )


@require_POST
def request_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Grant (for the days given) or refuse one waiting request."""
    _require(request, MANAGE_ACCESS)
    access_request = get_object_or_404(
        _scoped(AccessRequest.objects.all(), request.user), pk=pk
    )
    form = DecideForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the number of days of access."))
        return redirect("archive_trust_requests")
    try:
        if request.POST.get("decision") == "grant":
            grant = trust.request_grant(
                access_request,
                staff=request.user,
                days=form.cleaned_data["days"],
                note=form.cleaned_data["note"],
            )
            message = _("Access granted to %(person)s until %(until)s.") % {
                "person": grant.user.get_username(),
                "until": timezone.localtime(grant.expires_at).strftime(
                    "%Y-%m-%d %H:%M"
                ),
            }
            _granted_message(request, grant, message)
        else:
            trust.request_refuse(
                access_request, staff=request.user, note=form.cleaned_data["note"]
            )
            messages.success(request, _("The request was refused."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("archive_trust_requests")


# ---------------------------------------------------------------------------
# Grants


class GrantForm(forms.Form):
    item = forms.CharField(label=gettext_lazy("Item identifier"), max_length=64)
    email = forms.EmailField(label=gettext_lazy("Person's email"))
    days = forms.IntegerField(
        label=gettext_lazy("Days of access"), min_value=1, initial=30
    )
    note = forms.CharField(label=gettext_lazy("Note"), required=False)


@require_GET
def grants_list(request: HttpRequest) -> HttpResponse:
    """Active grants (and, with ?ended=1, the ended ones), with a form for a new one."""
    _require(request, MANAGE_ACCESS, "archive.view_accessgrant")
    queryset = _scoped(
        AccessGrant.objects.select_related("item", "user", "granted_by"), request.user
    )
    ended = request.GET.get("ended") == "1"
    now = timezone.now()
    if ended:
        queryset = queryset.exclude(revoked_at__isnull=True, expires_at__gt=now)
    else:
        queryset = queryset.filter(revoked_at__isnull=True, expires_at__gt=now)
    return _render(
        request,
        "archive/admin/trust_grants.html",
        _("Access grants"),
        {
            "page": _page(request, queryset),
            "ended": ended,
            "form": GrantForm(),
            "can_manage": request.user.has_perm(MANAGE_ACCESS),
        },
    )


@require_POST
def grant_add(request: HttpRequest) -> HttpResponse:
    """Grant a person access to an item directly (no request needed)."""
    _require(request, MANAGE_ACCESS)
    form = GrantForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Fill in the item, the email and the days."))
        return redirect("archive_trust_grants")
    data = form.cleaned_data
    scope = institution_scope(request.user)
    items = Item.objects.filter(public_id=data["item"].strip())
    if scope is not None:
        items = items.filter(institution_id__in=scope)
    item = items.first()
    if item is None:
        messages.error(request, _("No item of yours has that identifier."))
        return redirect("archive_trust_grants")
    try:
        grant = trust.grant_create(
            item=item,
            user=trust.person_for_email(data["email"]),
            expires_at=timezone.now() + dt.timedelta(days=data["days"]),
            staff=request.user,
            note=data["note"],
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("archive_trust_grants")
    message = _("Access granted to %(person)s.") % {"person": grant.user.get_username()}
    _granted_message(request, grant, message)
    return redirect("archive_trust_grants")


@require_POST
def grant_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """End a grant now."""
    _require(request, MANAGE_ACCESS)
    grant = get_object_or_404(_scoped(AccessGrant.objects.all(), request.user), pk=pk)
    trust.grant_revoke(grant, staff=request.user)
    messages.success(request, _("The grant was revoked."))
    return redirect("archive_trust_grants")


# ---------------------------------------------------------------------------
# Concerns


@require_GET
def concerns_list(request: HttpRequest) -> HttpResponse:
    """Open concerns first (?status= for the others)."""
    _require(request, REVIEW_CONCERNS, "archive.view_concernreport")
    queryset = _scoped(
        ConcernReport.objects.select_related("item", "handled_by"), request.user
    )
    return _render(
        request,
        "archive/admin/trust_concerns.html",
        _("Reported concerns"),
        {
            **_by_status(
                request, queryset, ConcernReport.Status, ConcernReport.Status.OPEN
            ),
            "can_review": request.user.has_perm(REVIEW_CONCERNS),
        },
        icon="warning",
    )


@require_POST
def concern_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a concern acted on or dismissed (withdrawing is done on the item)."""
    _require(request, REVIEW_CONCERNS)
    concern = get_object_or_404(
        _scoped(ConcernReport.objects.all(), request.user), pk=pk
    )
    try:
        trust.concern_review(
            concern,
            staff=request.user,
            status=request.POST.get("status", ""),
            note=request.POST.get("note", "")[:4000],
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The concern was updated."))
    return redirect("archive_trust_concerns")


# ---------------------------------------------------------------------------
# The audit log


@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    """Every entry, newest first; filter by action, item identifier or person."""
    _require(request, VIEW_AUDIT_LOG)
    queryset = AuditEvent.objects.all()
    action = request.GET.get("action", "")
    if action in AuditEvent.Action.values:
        queryset = queryset.filter(action=action)
    item = request.GET.get("item", "").strip()
    if item:
        queryset = queryset.filter(item_public_id=item)
    who = request.GET.get("who", "").strip()
    if who:
        queryset = queryset.filter(actor_name=who)
    return _render(
        request,
        "archive/admin/trust_audit.html",
        _("Audit log"),
        {
            "page": _page(request, queryset),
            "actions": AuditEvent.Action.choices,
            "action": action,
            "item": item,
            "who": who,
        },
        icon="history",
    )
