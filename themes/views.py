"""Admin views of ``themes``: the item chooser and the region picker's page lookup.

Curators choose archive items for exhibition blocks through a Wagtail
``ChooserViewSet`` on ``archive.Item`` (registered in ``wagtail_hooks.py``);
its ``ChooserBlock`` is ``themes.blocks.ItemChooserBlock``. The chooser lists
only what its user may see on the public doors
(``archive.selectors.item_list``: staff see restricted items, never withdrawn
ones), so the admin never names a record its user could not open.
``region_picker_page`` tells the IIIF-image block's crop widget
(``themes/static/themes/admin/region-picker.js``) which image to draw.
"""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET
from wagtail.admin.forms.choosers import BaseFilterForm
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic.chooser import (
    ChooseResultsView,
    ChooseView,
    ChosenMultipleView,
    ChosenView,
)
from wagtail.admin.viewsets.chooser import ChooserViewSet

from archive import selectors as archive_selectors
from archive.access import can_view
from iiif.identifiers import image_service_id

#: Item fields the chooser's search looks in.
SEARCH_FIELDS = ("title", "title_hant", "title_hans", "title_en", "public_id")
#: The widest image the region picker asks for (it is drawn at most this wide).
PICKER_WIDTH = 1000


def _kind_choices():
    from archive.models import Item

    # Translators: the first option of the chooser's filter by kind of item.
    return [("", _("All kinds")), *Item.Kind.choices]


class ItemFilterForm(BaseFilterForm):
    """Search by title or identifier, and filter by kind (the chooser's form)."""

    q = forms.CharField(
        label=_("Search term"),
        widget=forms.TextInput(attrs={"placeholder": _("Title or identifier")}),
        required=False,
    )
    kind = forms.ChoiceField(
        # Translators: the type of item (book volume, oral-history interview...).
        label=_("Kind"),
        choices=_kind_choices,
        required=False,
        widget=forms.Select(attrs={"data-chooser-modal-search-filter": True}),
    )

    def filter(self, objects):
        objects = super().filter(objects)
        query = (self.cleaned_data.get("q") or "").strip()
        if query:
            match = Q()
            for field in SEARCH_FIELDS:
                match |= Q(**{f"{field}__icontains": query})
            objects = objects.filter(match)
            self.is_searching = True
            self.search_query = query
        kind = self.cleaned_data.get("kind")
        if kind:
            objects = objects.filter(kind=kind)
        return objects


class _ChooserListingMixin:
    """The items the user may see, newest first, with their kind and access level."""

    filter_form_class = ItemFilterForm
    ordering = ("title", "public_id")

    def get_object_list(self):
        return archive_selectors.item_list(user=self.request.user, request=self.request)

    @property
    def columns(self):
        return [
            *super().columns,
            Column("public_id", label=_("Identifier")),
            Column("kind", label=_("Kind"), accessor="get_kind_display"),
            Column(
                "access_level", label=_("Access"), accessor="get_access_level_display"
            ),
        ]


class ItemChooseView(_ChooserListingMixin, ChooseView):
    pass


class ItemChooseResultsView(_ChooserListingMixin, ChooseResultsView):
    pass


class ItemChosenView(ChosenView):
    def get_object(self, pk):
        return archive_selectors.item_list(
            user=self.request.user, request=self.request
        ).get(pk=pk)

    def get_display_title(self, instance):
        return f"{instance.title} ({instance.public_id})"


class ItemChosenMultipleView(ChosenMultipleView):
    def get_objects(self, pks):
        return archive_selectors.item_list(
            user=self.request.user, request=self.request
        ).filter(pk__in=pks)

    def get_display_title(self, instance):
        return f"{instance.title} ({instance.public_id})"


class ItemChooserViewSet(ChooserViewSet):
    """The chooser of archive items for exhibition blocks (the pk is stored)."""

    model = "archive.Item"
    icon = "doc-full"
    # Translators: the button that opens the chooser of archive items.
    choose_one_text = _("Choose an item")
    choose_another_text = _("Choose another item")
    edit_item_text = _("Edit this item")
    choose_view_class = ItemChooseView
    choose_results_view_class = ItemChooseResultsView
    chosen_view_class = ItemChosenView
    chosen_multiple_view_class = ItemChosenMultipleView
    per_page = 20
    # The archive's own Item viewset keeps its own widget for Item foreign keys.
    register_widget = False


item_chooser_viewset = ItemChooserViewSet(
    "themes_item_chooser", url_prefix="themes/item-chooser"
)


def _positive(value) -> int | None:
    return int(value) if str(value or "").isdigit() and int(value) > 0 else None


@require_GET
def region_picker_page(request):
    """The page image the region picker draws (``?item={pk}&page={n}``), as JSON.

    Gives a scaled Image API URL of the page, its full size (the region's
    pixels) and the image service. Answers 404 for an item or page its user
    may not see, as the chooser would.
    """
    item, page = _positive(request.GET.get("item")), _positive(request.GET.get("page"))
    if item is None or page is None:
        raise Http404("Give an item and a page")
    obj = (
        archive_selectors.item_list(user=request.user, request=request)
        .filter(pk=item)
        .first()
    )
    if obj is None:
        raise Http404("No such item")
    image = obj.pages.select_related("asset").filter(sequence=page).first()
    if image is None or not can_view(request.user, image.asset, request):
        raise Http404("No such page")
    width = min(PICKER_WIDTH, image.width)
    service = image_service_id(image.public_id, request=request)
    return JsonResponse(
        {
            "src": f"{service}/full/{width},/0/default.jpg",
            "service": service,
            "width": image.width,
            "height": image.height,
            "pages": obj.pages.count(),
            "label": image.label,
        }
    )
