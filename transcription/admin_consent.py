"""The consent admin: an interviewee's consent and its closed passages, edited in one form.

A Wagtail model viewset under ``/admin/transcription/consents/``, in the
"Transcripts" menu (``transcription.wagtail_hooks``). Saving goes through
``transcription.services.consent_save``, the one writer of consents: it checks
the closed passages, carries the consent onto the item's and segments' access
levels and queues the silenced listening copies.

Closed passages hang off a plain foreign key, so Wagtail's ``InlinePanel``
(which needs a modelcluster ``ParentalKey``) cannot edit them. As the
archive's agents-with-roles panel does (``archive.admin_views.AgentRolesPanel``),
the form carries an ordinary Django formset (``form.closed_formset``) and
:class:`ClosedPassagesPanel` renders it; the formset is not a model formset,
because the passages are replaced by the service as a whole, never saved row
by row.

Who may do what is the transcript editor's rule (``transcript_policy``): those
who may correct transcripts (``transcription.edit_transcript``: archivists,
central-library staff) record and change consents, those who may read them
(``view_transcript``: curators) see them, each over their own institution's
items only (another institution's consent is a 404). Closing a passage in the
editor needs the same permission, so the two cannot disagree. Consents are
never deleted here: they are the record of what the interviewee signed.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, MultiFieldPanel, ObjectList, Panel
from wagtail.admin.ui.tables import Column, UpdatedAtColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets import AdminDateInput, HeaderButton

from archive.admin_views import (
    InstitutionScopedPermissionPolicy,
    ScopedEditView,
    ScopedHistoryView,
    ScopedIndexView,
    ScopedInspectView,
    ScopedUsageView,
    institution_scope,
)
from archive.models import Asset, Item
from transcription.models import Consent, Transcript
from transcription.services import consent_closed_clean, consent_save
from transcription.services.consent import clock, recording_duration

#: Blank passage rows offered under the existing ones.
EXTRA_PASSAGE_ROWS = 2

#: The menu hook of the "Transcripts" submenu (``transcription.wagtail_hooks``).
TRANSCRIPTION_MENU_HOOK = "register_transcription_menu_item"


class ConsentPermissionPolicy(InstitutionScopedPermissionPolicy):
    """The transcript editor's permissions, over the user's institution's items.

    ``add`` and ``change`` need ``transcription.edit_transcript``, ``view``
    needs ``transcription.view_transcript``; ``delete`` is refused to everyone.
    """

    #: action -> codename of a transcript permission.
    CODENAMES = {
        "add": "edit_transcript",
        "change": "edit_transcript",
        "view": "view_transcript",
    }

    def __init__(self):
        super().__init__(
            Consent, institution_field="item__institution", denied_actions={"delete"}
        )
        # Permission records are the transcript's (see _get_permission_codename).
        self._auth_model_or_name = Transcript

    def _get_permission_codename(self, action):
        return self.CODENAMES.get(action, f"{action}_consent")


consent_policy = ConsentPermissionPolicy()


# --------------------------------------------------------------------------
# Closed passages
# --------------------------------------------------------------------------

_TIMECODE = re.compile(r"^(?:(?:(\d+):)?(\d+):)?(\d+(?:[.,]\d+)?)$")


def parse_timecode(value: str) -> float | None:
    """Seconds from ``750``, ``750.5``, ``12:30`` or ``1:02:03.5``; None when unreadable.

    Minutes and seconds after a larger unit must be below 60.
    """
    match = _TIMECODE.match(value.strip())
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    secs = float(seconds.replace(",", "."))
    if minutes is not None and (
        secs >= 60 or (hours is not None and int(minutes) >= 60)
    ):
        return None
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + secs


class TimecodeField(forms.Field):
    """A time in the recording, typed as seconds or ``H:MM:SS``; cleaned to seconds."""

    widget = forms.TextInput

    def __init__(self, **kwargs):
        kwargs.setdefault(
            # Translators: how to type a time in a recording in the consent form.
            "help_text",
            gettext_lazy("Seconds (750) or hours:minutes:seconds (0:12:30)."),
        )
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "maxlength": "16", "size": "10"}

    def prepare_value(self, value):
        if isinstance(value, int | float):
            return clock(value)
        return value

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, int | float):
            return float(value)
        seconds = parse_timecode(str(value))
        if seconds is None:
            raise ValidationError(
                _("“%(value)s” is not a time: give seconds (750) or 0:12:30."),
                code="invalid",
                params={"value": value},
            )
        return seconds


class ClosedPassageForm(forms.Form):
    """One closed passage: from, to, closed until, why."""

    # Translators: start of a closed passage of a recording.
    start = TimecodeField(label=gettext_lazy("From"))
    # Translators: end of a closed passage of a recording.
    end = TimecodeField(label=gettext_lazy("To"))
    until = forms.DateField(
        label=gettext_lazy("Closed until"),
        required=False,
        widget=AdminDateInput,
        help_text=gettext_lazy("Empty: closed for good."),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=300, required=False
    )


class BaseClosedPassageFormSet(forms.BaseFormSet):
    """The consent's closed passages, checked together by the consent service.

    ``item`` is set by the consent form before validation, so the passages
    are checked against that item's recording.
    """

    item: Item | None = None

    def passages(self) -> list[dict]:
        """The passages kept (not removed, not left blank), as the service takes them."""
        kept = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            kept.append({k: data.get(k) for k in ("start", "end", "until", "reason")})
        return kept

    def clean(self):
        super().clean()
        if any(self.errors) or self.item is None:
            return
        try:
            consent_closed_clean(item=self.item, closed=self.passages())
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc


ClosedPassageFormSet = forms.formset_factory(
    ClosedPassageForm,
    formset=BaseClosedPassageFormSet,
    extra=EXTRA_PASSAGE_ROWS,
    can_delete=True,
)


class ClosedPassagesPanel(Panel):
    """The closed passages of the consent, edited in the same form (``form.closed_formset``)."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "transcription/admin/closed_passages_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["formset"] = self.form.closed_formset
            item = self.form.item_for_passages()
            duration = recording_duration(item=item) if item is not None else None
            context["duration"] = clock(duration) if duration is not None else ""
            return context


# --------------------------------------------------------------------------
# The form
# --------------------------------------------------------------------------


def consent_items(user, *, keep: Item | None = None):
    """Items ``user`` may record a consent for: recordings in their scope without one.

    ``keep`` (the consent's own item, when editing) stays a valid choice.
    """
    queryset = Item.objects.filter(
        Q(kind__in=[Item.Kind.ORAL_HISTORY, Item.Kind.DOCUMENTARY_VIDEO])
        | Q(assets__role=Asset.Role.MEDIA)
    )
    scope = institution_scope(user) if user is not None else frozenset()
    if scope is not None:
        queryset = queryset.filter(institution__in=scope)
    free = Q(consent__isnull=True)
    if keep is not None:
        free |= Q(pk=keep.pk)
    return queryset.filter(free).distinct().order_by("title", "pk")


class ConsentAdminForm(WagtailAdminModelForm):
    """The consent form: the item (fixed once recorded), what was allowed, the passages."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = self.instance
        if "item" in self.fields:
            field = self.fields["item"]
            field.queryset = consent_items(
                self.for_user, keep=instance.item if instance.pk else None
            )
            field.label_from_instance = lambda item: f"{item.title} ({item.public_id})"
            if instance.pk:
                # A consent belongs to one interview: it never moves.
                field.disabled = True
        initial = None
        if instance.pk:
            initial = [
                {"start": r.start, "end": r.end, "until": r.until, "reason": r.reason}
                for r in instance.closed_ranges.order_by("start", "pk")
            ]
        self.closed_formset = ClosedPassageFormSet(
            self.data if self.is_bound else None, prefix="closed", initial=initial
        )

    def item_for_passages(self) -> Item | None:
        """The item whose recording the passages are times in, once known."""
        if self.instance.pk:
            return self.instance.item
        data = getattr(self, "cleaned_data", None) or {}
        if data.get("item"):
            return data["item"]
        initial = self.initial.get("item")
        if isinstance(initial, Item):
            return initial
        if initial:
            return Item.objects.filter(pk=initial).first()
        return None

    def is_valid(self):
        form_valid = super().is_valid()
        self.closed_formset.item = self.item_for_passages()
        return self.closed_formset.is_valid() and form_valid

    def has_changed(self):
        return super().has_changed() or self.closed_formset.has_changed()

    @property
    def media(self):
        return super().media + self.closed_formset.media

    def save(self, commit=True):
        raise NotImplementedError(
            "Consents are saved through transcription.services.consent_save"
        )

    def consent_save(self, *, user) -> Consent:
        """Save the consent and its passages through the service (one transaction)."""
        data = self.cleaned_data
        return consent_save(
            item=self.item_for_passages(),
            allowed=data["allowed"],
            valid_until=data.get("valid_until"),
            signed_on=data.get("signed_on"),
            notes=data.get("notes") or "",
            closed=self.closed_formset.passages(),
            user=user,
        )

    def errors_from(self, exc: ValidationError) -> None:
        """Show a refusal of the service on the form, by field where it has one."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc.messages)
            return
        for name, messages in exc.message_dict.items():
            self.add_error(name if name in self.fields else None, messages)


# --------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------


class ConsentSaveMixin:
    """Save through ``consent_save``; its refusals come back as form errors."""

    def save_instance(self):
        return self.form.consent_save(user=self.request.user)

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except ValidationError as exc:
            form.errors_from(exc)
            self.produced_error_message = self.get_error_message()
            return self.form_invalid(form)

    def get_success_message(self, instance=None):
        consent = instance or self.object
        item = consent.item
        count = consent.closed_ranges.count()
        closed = ngettext(
            "%(count)s passage closed", "%(count)s passages closed", count
        ) % {"count": count}
        return _(
            "Consent for “%(item)s” saved (%(closed)s); "
            "the item's access is now “%(level)s”."
        ) % {
            "item": item.title,
            "closed": closed,
            "level": item.get_access_level_display(),
        }


class ConsentIndexView(ScopedIndexView):
    """The consents of the user's institution's recordings."""

    def get_base_queryset(self):
        return super().get_base_queryset().annotate(closed_count=Count("closed_ranges"))


class ConsentCreateView(ConsentSaveMixin, generic.CreateView):
    """Record a consent; ``?item={public_id}`` chooses the item (from its edit page)."""

    def get_initial(self):
        initial = super().get_initial()
        public_id = self.request.GET.get("item")
        if public_id:
            item = consent_items(self.request.user).filter(public_id=public_id).first()
            if item is not None:
                initial["item"] = item
        return initial


class ConsentEditView(ConsentSaveMixin, ScopedEditView):
    """Change a consent of the user's institution; another institution's is a 404."""

    @cached_property
    def header_buttons(self):
        item = self.object.item
        return [
            HeaderButton(
                # Translators: button on the consent page leading to its item's record.
                _("Item"),
                url=reverse("archive_item:edit", args=[item.pk]),
                icon_name="doc-full",
                priority=10,
            ),
            HeaderButton(
                _("Transcripts"),
                url=reverse("transcription_admin_item", args=[item.public_id]),
                icon_name="doc-full",
                priority=20,
            ),
        ]


class ConsentInspectView(ScopedInspectView):
    """A consent as curators may read it, with its closed passages."""

    def get_field_label(self, field_name, field):
        if field_name == "closed_ranges":
            return _("Closed passages")
        return super().get_field_label(field_name, field)

    def get_closed_ranges_display_value(self):
        shown = []
        for passage in self.object.closed_ranges.order_by("start", "pk"):
            text = f"{clock(passage.start)}–{clock(passage.end)}"
            if passage.until:
                # Translators: a closed passage of a recording that opens on a date.
                until = _("until %(date)s") % {"date": passage.until.isoformat()}
                text += f" ({until})"
            if passage.reason:
                text += f": {passage.reason}"
            shown.append(text)
        return "; ".join(shown) or "—"


class ConsentViewSet(ModelViewSet):
    """Consents in the "Transcripts" menu, scoped by institution, saved through the service."""

    model = Consent
    name = "transcription_consent"
    url_prefix = "transcription/consents"
    icon = "lock"
    # Translators: admin menu entry for the interviewees' consents.
    menu_label = gettext_lazy("Consents")
    menu_hook = TRANSCRIPTION_MENU_HOOK
    menu_order = 200
    index_view_class = ConsentIndexView
    add_view_class = ConsentCreateView
    edit_view_class = ConsentEditView
    inspect_view_class = ConsentInspectView
    history_view_class = ScopedHistoryView
    usage_view_class = ScopedUsageView
    inspect_view_enabled = True
    copy_view_enabled = False
    list_display = [
        Column("item", label=gettext_lazy("Item"), accessor="item"),
        Column(
            "public_id",
            label=gettext_lazy("Identifier"),
            accessor=lambda c: c.item.public_id,
        ),
        "allowed",
        "valid_until",
        Column(
            "closed_count",
            label=gettext_lazy("Closed passages"),
            sort_key="closed_count",
        ),
        UpdatedAtColumn(label=gettext_lazy("Updated")),
    ]
    list_filter = ["allowed"]
    search_fields = ["item__title", "item__public_id", "notes"]
    inspect_view_fields = [
        "item",
        "allowed",
        "valid_until",
        "signed_on",
        "form",
        "notes",
        "closed_ranges",
    ]
    edit_handler = ObjectList(
        [
            FieldPanel("item"),
            MultiFieldPanel(
                [
                    FieldPanel("allowed"),
                    FieldPanel("valid_until"),
                    FieldPanel("signed_on"),
                    FieldPanel("form", read_only=True),
                ],
                # Translators: heading of what the interviewee allowed in the consent form.
                heading=gettext_lazy("What the interviewee allowed"),
            ),
            ClosedPassagesPanel(heading=gettext_lazy("Closed passages")),
            FieldPanel("notes"),
        ],
        base_form_class=ConsentAdminForm,
    )

    def get_index_view_kwargs(self, **kwargs):
        return super().get_index_view_kwargs(list_select_related=("item",), **kwargs)

    def get_permissions_to_register(self):
        # The policy uses the transcript permissions; the consent's own model
        # permissions would only clutter the group editor.
        return Permission.objects.none()
