"""Public doors of trust: ask for access to a restricted item, report a concern.

Neither page ever shows a restricted item's title: the access request form
names the item by its identifier only, and the concern form is open only to
visitors who may see the item (others get the item's own refusal).
"""

from __future__ import annotations

from django import forms
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from archive import selectors, trust
from archive.access import Decision, decide
from archive.http import PRIVATE_CACHE, item_refusal_response
from archive.models import ConcernReport


class _Honeypot(forms.Form):
    #: Left empty by people; filled by form-filling robots (hidden from people by CSS).
    website = forms.CharField(required=False, label=_("Leave this field empty"))

    def clean_website(self):
        if self.cleaned_data.get("website"):
            raise forms.ValidationError(_("Leave this field empty."))
        return ""


class AccessRequestForm(_Honeypot):
    """What the archive needs to decide a request."""

    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(
        label=_("Email"),
        help_text=_("We write to this address with the decision."),
    )
    affiliation = forms.CharField(
        label=_("Institution or affiliation"), max_length=200, required=False
    )
    purpose = forms.CharField(
        label=_("Why do you need to see it?"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=4000,
    )


class ConcernForm(_Honeypot):
    """A takedown request or another concern about an item."""

    reason = forms.ChoiceField(
        label=_("What is the concern?"), choices=ConcernReport.Reason.choices
    )
    message = forms.CharField(
        label=_("Tell us more"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=4000,
    )
    name = forms.CharField(
        label=_("Your name (optional)"), max_length=200, required=False
    )
    email = forms.EmailField(
        label=_("Email (optional, if you want an answer)"), required=False
    )


def _item(public_id: str):
    item = selectors.item_get(public_id=public_id)
    if item is None:
        raise Http404("No such item")
    return item


def _private(response):
    response["Cache-Control"] = PRIVATE_CACHE
    return response


@require_http_methods(["GET", "POST"])
def request_access(request, item: str):
    """``/items/{item}/request-access/``: ask staff for access to a refused item."""
    obj = _item(item)
    decision = decide(request.user, obj, request)
    if decision is Decision.GONE:
        return item_refusal_response(request, decision, obj)
    if decision.allowed:
        return HttpResponseRedirect(reverse("item_detail", args=[obj.public_id]))
    initial = {}
    if request.user.is_authenticated:
        initial = {
            "email": request.user.email,
            "name": request.user.get_full_name(),
        }
    form = AccessRequestForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        trust.access_request_file(
            item=obj,
            name=data["name"],
            email=data["email"],
            affiliation=data["affiliation"],
            purpose=data["purpose"],
            user=request.user,
            request=request,
        )
        return _private(
            render(
                request, "archive/trust/request_sent.html", {"public_id": obj.public_id}
            )
        )
    return _private(
        render(
            request,
            "archive/trust/request_access.html",
            {"form": form, "public_id": obj.public_id},
            status=400 if request.method == "POST" else 200,
        )
    )


@require_http_methods(["GET", "POST"])
def report_concern(request, item: str):
    """``/items/{item}/report/``: report a concern about an item one may see."""
    obj = _item(item)
    decision = decide(request.user, obj, request)
    if not decision.allowed:
        return item_refusal_response(request, decision, obj)
    form = ConcernForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        trust.concern_file(
            item=obj,
            reason=data["reason"],
            message=data["message"],
            name=data["name"],
            email=data["email"],
            request=request,
        )
        return _private(
            render(request, "archive/trust/concern_sent.html", {"item": obj})
        )
    return _private(
        render(
            request,
            "archive/trust/report_concern.html",
            {"form": form, "item": obj},
            status=400 if request.method == "POST" else 200,
        )
    )
