"""Forms of the archive's Wagtail admin.

The viewsets in ``wagtail_hooks.py`` build their forms from panels on top of
these base classes, which add what panels cannot express: the year range
parsed from the date text on save, the agents-with-roles formset, and the
limit of an archivist's choices to their own institution.
"""

from __future__ import annotations

from django import forms
from django.forms.models import inlineformset_factory
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from archive.admin_views import institution_scope, years_display
from archive.dates import DateParseError, parse_date
from archive.models import Item, ItemAgent, Work, WorkAgent
from archive.services import dated_apply

#: Blank agent rows offered under the existing ones.
EXTRA_AGENT_ROWS = 2


def _agent_formset(parent_model, through_model):
    return inlineformset_factory(
        parent_model,
        through_model,
        fields=["agent", "role", "sort_order"],
        extra=EXTRA_AGENT_ROWS,
        can_delete=True,
    )


ItemAgentFormSet = _agent_formset(Item, ItemAgent)
WorkAgentFormSet = _agent_formset(Work, WorkAgent)


class InstitutionScopedForm(WagtailAdminModelForm):
    """Offers an archivist only their own institution (and its collections).

    Central-library staff and superusers choose from every institution. The
    permission policy stops anyone reaching another institution's record; this
    stops them creating one, or moving a record out of their reach.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        scope = institution_scope(self.for_user) if self.for_user else frozenset()
        if scope is None:
            return
        if "institution" in self.fields:
            field = self.fields["institution"]
            field.queryset = field.queryset.filter(pk__in=scope)
            if len(scope) == 1 and not self.instance.pk:
                field.initial = next(iter(scope))
        if "collection" in self.fields:
            field = self.fields["collection"]
            field.queryset = field.queryset.filter(institution__in=scope)


class DatedAdminForm(WagtailAdminModelForm):
    """Keeps the year range in step with the date text as written.

    On save the range is parsed from ``date_text`` by
    :func:`archive.services.dated_apply`; text the parser cannot read is kept
    with an empty range, and ``date_understood`` tells the view to warn.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.date_understood: bool | None = None
        field = self.fields.get("date_text")
        instance = self.instance
        if field is None or not (instance.pk and instance.date_text):
            return
        if instance.year_from is None:
            try:
                parse_date(instance.date_text)
                reason = _("it has not been parsed yet; saving will parse it")
            except DateParseError as err:
                reason = err.reason
            field.help_text = _(
                "Not understood (%(reason)s): the year range is empty, so the item "
                "cannot be sorted or filtered by date."
            ) % {"reason": reason}
        else:
            field.help_text = _("Understood as %(years)s.") % {
                "years": years_display(instance)
            }

    def save(self, commit=True):
        self.date_understood = dated_apply(
            obj=self.instance, date_text=self.cleaned_data.get("date_text", "")
        )
        return super().save(commit=commit)


class AgentRolesForm(WagtailAdminModelForm):
    """Edits the record's agents and their roles through ``agent_formset``."""

    agent_formset_class: type[forms.BaseInlineFormSet]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.agent_formset = self.agent_formset_class(
            self.data if self.is_bound else None,
            instance=self.instance,
            prefix="agents",
        )

    def is_valid(self):
        form_valid = super().is_valid()
        return self.agent_formset.is_valid() and form_valid

    def has_changed(self):
        return super().has_changed() or self.agent_formset.has_changed()

    @property
    def media(self):
        return super().media + self.agent_formset.media

    def save(self, commit=True):
        instance = super().save(commit=commit)
        self.agent_formset.instance = instance
        if commit:
            self.agent_formset.save()
        else:
            parent_save_m2m = self.save_m2m

            def save_m2m():
                parent_save_m2m()
                self.agent_formset.save()

            self.save_m2m = save_m2m
        return instance


class ItemAdminForm(InstitutionScopedForm, DatedAdminForm, AgentRolesForm):
    """The item form: institution-scoped, dated, with agents and roles."""

    agent_formset_class = ItemAgentFormSet

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Public identifiers are cited in URLs and IIIF ids: set once, never changed.
        if self.instance.pk and "public_id" in self.fields:
            self.fields["public_id"].disabled = True


class WorkAdminForm(DatedAdminForm, AgentRolesForm):
    """The work form: dated, with agents and roles."""

    agent_formset_class = WorkAgentFormSet

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "public_id" in self.fields:
            self.fields["public_id"].disabled = True


class CollectionAdminForm(InstitutionScopedForm):
    """The collection form, limited to the archivist's institution."""


class StaffProfileAdminForm(InstitutionScopedForm):
    """The staff-profile form, limited to the editor's institution."""
