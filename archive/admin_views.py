"""Wagtail admin plumbing: institution scoping, permission policies and scoped views.

Archivists and curators work for one institution (``StaffProfile``) and see and
edit only that institution's records in the admin; central-library staff
(``archive.edit_all_institutions``, or a profile at the central library) and
superusers see everything. The rule lives in one place, the permission
policies below, and every generic view asks them: the listing through
:meth:`InstitutionScopedPermissionPolicy.scope_queryset`, and the edit, delete,
inspect, history and usage views through the same scoped queryset, so a record
outside a user's scope is a 404 however it is reached.

The viewsets themselves are configured in ``wagtail_hooks.py``.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail.admin import messages
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.panels import Panel
from wagtail.admin.ui.components import Component
from wagtail.admin.views import generic
from wagtail.admin.views.generic import history, usage
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import policy_registry

from archive.models import Asset, Institution, Item, StaffProfile, Work
from archive.scripts import convert_for_display

#: The permission that lifts institution scoping (held by "Central library staff").
EDIT_ALL_INSTITUTIONS = "archive.edit_all_institutions"

#: Every action a listing or an inspect page may be reached with.
ANY_ACTION = ("add", "change", "delete", "view")

_SCOPE_CACHE = "_archive_institution_scope"


# --------------------------------------------------------------------------
# Who sees which institution
# --------------------------------------------------------------------------


def institution_scope(user) -> frozenset[int] | None:
    """Return the institution ids ``user`` may work on in the admin, or None for all.

    None means every institution: superusers, holders of
    ``archive.edit_all_institutions`` and staff whose profile is at the central
    library. Anyone else gets their profile's institution, or an empty set when
    they have no profile, so a missing profile shows nothing rather than
    everything. Cached on the user object (one request).
    """
    cached = getattr(user, _SCOPE_CACHE, False)
    if cached is not False:
        return cached
    scope: frozenset[int] | None
    if not (user.is_authenticated and user.is_active):
        scope = frozenset()
    elif user.is_superuser or user.has_perm(EDIT_ALL_INSTITUTIONS):
        scope = None
    else:
        profile = (
            StaffProfile.objects.filter(user=user)
            .values_list("institution_id", "institution__kind")
            .first()
        )
        institution_id, kind = profile or (None, None)
        if institution_id is None:
            scope = frozenset()
        elif kind == Institution.Kind.CENTRAL:
            scope = None
        else:
            scope = frozenset({institution_id})
    setattr(user, _SCOPE_CACHE, scope)
    return scope


def _edit_all_permission_q() -> Q:
    """Users holding ``edit_all_institutions`` directly or through a group."""
    app_label, codename = EDIT_ALL_INSTITUTIONS.split(".")
    perm = Permission.objects.filter(
        content_type__app_label=app_label, codename=codename
    )
    return Q(user_permissions__in=perm) | Q(groups__permissions__in=perm)


# --------------------------------------------------------------------------
# Permission policies
# --------------------------------------------------------------------------


class ArchivePermissionPolicy(ModelPermissionPolicy):
    """Django model permissions, minus actions the archive never allows in the admin.

    Args:
        model: The model class.
        denied_actions: Actions refused to everyone, superusers included: e.g.
            ``add`` and ``delete`` on the four fixed theme libraries, or on
            stored originals, which only ingest creates.
    """

    def __init__(self, model, *, denied_actions=()):
        super().__init__(model)
        self.denied_actions = frozenset(denied_actions)

    def user_has_permission(self, user, action):
        if action in self.denied_actions:
            return False
        return super().user_has_permission(user, action)

    def users_with_any_permission(self, actions):
        allowed = set(actions) - self.denied_actions
        if not allowed:
            return get_user_model().objects.none()
        return super().users_with_any_permission(allowed)

    def scope_queryset(self, user, queryset: QuerySet) -> QuerySet:
        """Narrow ``queryset`` to what ``user`` may reach; unscoped models keep it all."""
        return queryset


class InstitutionScopedPermissionPolicy(ArchivePermissionPolicy):
    """Model permissions, held only over records of the user's own institution.

    Args:
        model: The model class.
        institution_field: The lookup from the model to its institution, e.g.
            ``"institution"`` or ``"item__institution"``.
        denied_actions: As for :class:`ArchivePermissionPolicy`.
    """

    def __init__(self, model, *, institution_field="institution", denied_actions=()):
        super().__init__(model, denied_actions=denied_actions)
        self.institution_field = institution_field

    def institution_id_of(self, instance) -> int | None:
        """The id of the institution an instance belongs to."""
        *path, last = self.institution_field.split("__")
        for name in path:
            instance = getattr(instance, name, None)
            if instance is None:
                return None
        return getattr(instance, f"{last}_id", None)

    def scope_queryset(self, user, queryset):
        scope = institution_scope(user)
        if scope is None:
            return queryset
        return queryset.filter(**{f"{self.institution_field}__in": scope})

    def user_has_permission_for_instance(self, user, action, instance):
        if not self.user_has_permission(user, action):
            return False
        scope = institution_scope(user)
        return scope is None or self.institution_id_of(instance) in scope

    def instances_user_has_any_permission_for(self, user, actions):
        if not self.user_has_any_permission(user, actions):
            return self.model._default_manager.none()
        return self.scope_queryset(user, self.model._default_manager.all())

    def users_with_any_permission_for_instance(self, actions, instance):
        in_scope = (
            Q(is_superuser=True)
            | _edit_all_permission_q()
            | Q(archive_profile__institution__kind=Institution.Kind.CENTRAL)
            | Q(archive_profile__institution_id=self.institution_id_of(instance))
        )
        return self.users_with_any_permission(actions).filter(in_scope).distinct()


# --------------------------------------------------------------------------
# Views: every object lookup goes through the policy's scope
# --------------------------------------------------------------------------


def _scoped(view, queryset):
    """Narrow a view's queryset to the records its user may reach.

    Whether the user may perform the view's action at all is the model-level
    check every generic view already makes in ``dispatch``; this adds the
    institution, so an out-of-scope record is a 404 on every view.
    """
    policy = policy_registry.get_by_type(view.model)
    if isinstance(policy, ArchivePermissionPolicy):
        return policy.scope_queryset(view.request.user, queryset)
    return queryset


def _script_variants(query: str) -> set[str]:
    """The query as typed plus its Simplified and Traditional forms."""
    return {
        query,
        convert_for_display(query, "hans"),
        convert_for_display(query, "hant"),
    }


class ScopedIndexView(generic.IndexView):
    """A listing of only the records the user may reach, searchable in 繁 or 简."""

    #: Relations shown in the listing's columns, fetched with the rows.
    list_select_related: tuple[str, ...] = ()

    def get_base_queryset(self):
        queryset = _scoped(self, super().get_base_queryset())
        if self.list_select_related:
            queryset = queryset.select_related(*self.list_select_related)
        return queryset

    def search_queryset(self, queryset):
        # Titles are stored as the source writes them, so a search typed in
        # Simplified must also find Traditional text (and the reverse).
        if not self.is_searching or not self.search_fields:
            return super().search_queryset(queryset)
        query = Q()
        for term in _script_variants(self.search_query):
            for field in self.search_fields:
                query |= Q(**{f"{field}__icontains": term})
        return queryset.filter(query)


class DateWarningMixin:
    """Warn after saving when the date text could not be turned into years."""

    def save_action(self):
        response = super().save_action()
        if getattr(self.form, "date_understood", True) is False:
            messages.warning(
                self.request,
                _("The date “%(text)s” was not understood: its year range is empty.")
                % {"text": self.object.date_text},
            )
        return response


class ScopedCreateView(DateWarningMixin, generic.CreateView):
    """Create a record; the form itself limits the institution to the user's own."""


class ScopedEditView(DateWarningMixin, generic.EditView):
    """Edit a record in the user's scope; anything else is a 404."""

    def get_queryset(self):
        return _scoped(self, super().get_queryset())


class ScopedDeleteView(generic.DeleteView):
    """Delete a record in the user's scope; anything else is a 404."""

    def get_queryset(self):
        return _scoped(self, super().get_queryset())


class ScopedInspectView(generic.InspectView):
    """Inspect a record in the user's scope; anything else is a 404."""

    def get_object(self, queryset=None):
        base = _scoped(self, self.model._default_manager.all())
        return get_object_or_404(base, pk=self.pk)


class ScopedHistoryView(history.HistoryView):
    """The history of a record in the user's scope."""

    def get_base_object_queryset(self):
        return _scoped(self, super().get_base_object_queryset())


class ScopedUsageView(usage.UsageView):
    """Where a record in the user's scope is used."""

    def get_base_object_queryset(self):
        return _scoped(self, super().get_base_object_queryset())


# --------------------------------------------------------------------------
# Listing columns and filters
# --------------------------------------------------------------------------


def years_display(obj) -> str:
    """The year range of a dated record for listings: ``1884``, ``c. 1930–1939``.

    A date text the parser could not read shows as "not understood", so
    archivists can find and correct it; no date text shows as a dash.
    """
    if not obj.date_text:
        return "—"
    if obj.year_from is None:
        return str(_("not understood"))
    years = (
        str(obj.year_from)
        if obj.year_from == obj.year_to
        else f"{obj.year_from}–{obj.year_to}"
    )
    return f"c. {years}" if obj.date_approximate else years


class DatedFilterSet(WagtailFilterSet):
    """Adds a filter on whether a record's date text was understood."""

    DATE_CHOICES = [
        ("understood", _("Understood")),
        ("not_understood", _("Not understood")),
        ("none", _("No date")),
    ]

    date_status = django_filters.ChoiceFilter(
        label=_("Date"), choices=DATE_CHOICES, method="filter_date_status"
    )

    def filter_date_status(self, queryset, name, value):
        if value == "understood":
            return queryset.filter(year_from__isnull=False)
        if value == "not_understood":
            return queryset.exclude(date_text="").filter(year_from__isnull=True)
        if value == "none":
            return queryset.filter(date_text="")
        return queryset


class ItemFilterSet(DatedFilterSet):
    """Filters of the item listing."""

    class Meta:
        model = Item
        fields = ["kind", "access_level", "institution", "themes"]


class WorkFilterSet(DatedFilterSet):
    """Filters of the work listing."""

    class Meta:
        model = Work
        fields = ["bu"]


#: Fixity outcomes that need attention.
FIXITY_FAILURES = (Asset.FixityStatus.MISMATCH, Asset.FixityStatus.MISSING)


class AssetFilterSet(WagtailFilterSet):
    """Filters of the stored-originals listing; several fixity states at once."""

    fixity_status = django_filters.MultipleChoiceFilter(
        label=_("Fixity"),
        choices=Asset.FixityStatus.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Asset
        fields = ["fixity_status", "role", "media_type", "is_personal_data"]


# --------------------------------------------------------------------------
# Panels
# --------------------------------------------------------------------------


class AgentRolesPanel(Panel):
    """The agents of an item or work with their roles, edited in the same form.

    ``ItemAgent`` and ``WorkAgent`` hang off plain foreign keys, so Wagtail's
    ``InlinePanel`` (which needs a ``ParentalKey``) cannot edit them; the form
    carries an ordinary Django inline formset (``form.agent_formset``) and this
    panel renders it.
    """

    class BoundPanel(Panel.BoundPanel):
        template_name = "archive/admin/agent_roles_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["formset"] = self.form.agent_formset
            return context


# --------------------------------------------------------------------------
# Dashboard
# --------------------------------------------------------------------------


class FixityWarningPanel(Component):
    """Dashboard warning: stored originals whose latest fixity check failed."""

    name = "archive_fixity_warning"
    template_name = "archive/admin/fixity_warning_panel.html"
    order = 50

    def __init__(self, failures: int):
        self.failures = failures

    def get_context_data(self, parent_context=None):
        url = reverse("archive_asset:index")
        query = "&".join(f"fixity_status={status}" for status in FIXITY_FAILURES)
        return {"failures": self.failures, "url": f"{url}?{query}"}


def fixity_failure_count(user) -> int:
    """How many stored originals ``user`` may see failed their latest fixity check."""
    queryset = Asset.objects.filter(fixity_status__in=FIXITY_FAILURES)
    policy = policy_registry.get_by_type(Asset)
    if not policy.user_has_any_permission(user, ANY_ACTION):
        return 0
    if isinstance(policy, ArchivePermissionPolicy):
        queryset = policy.scope_queryset(user, queryset)
    return queryset.count()
