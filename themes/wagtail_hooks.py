"""Wagtail admin configuration of ``themes``: the item chooser and editor warnings.

- The chooser of archive items (``themes.views.item_chooser_viewset``) that
  the exhibition blocks use, under ``/admin/themes/item-chooser/``.
- The region picker's page lookup (``/admin/themes/region-picker/``).
- After an exhibition is saved, a warning names the chosen items that are
  not public: the page shows visitors a placeholder instead of them. It does
  not stop the save: a curator may prepare an exhibition before its items
  open, or show staff what the public will not see.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.urls import path
from django.utils.translation import ngettext
from wagtail import hooks

from themes import views


@hooks.register("register_admin_viewset")
def register_item_chooser():
    return views.item_chooser_viewset


@hooks.register("register_admin_urls")
def register_region_picker():
    return [
        path(
            "themes/region-picker/",
            views.region_picker_page,
            name="themes_region_picker",
        )
    ]


def exhibition_item_warnings(page) -> list[str]:
    """The warnings about an exhibition's chosen items that visitors will not see.

    One message for items that are not public (by title, identifier and
    access level), one for items that no longer exist.
    """
    from archive.access import can_view
    from archive.models import Item
    from themes.blocks import chosen_item_ids

    body = getattr(page, "body", None)
    if body is None:
        return []
    ids = chosen_item_ids(body)
    if not ids:
        return []
    found = Item.objects.in_bulk(ids)
    visitor = AnonymousUser()
    hidden = [
        found[pk] for pk in ids if pk in found and not can_view(visitor, found[pk])
    ]
    missing = [pk for pk in ids if pk not in found]
    warnings = []
    if hidden:
        names = "; ".join(
            f"{item.title} ({item.public_id}, {item.get_access_level_display()})"
            for item in hidden
        )
        warnings.append(
            # Translators: an editor warning after saving an exhibition; %(items)s
            # lists "title (identifier, access level)".
            ngettext(
                "This chosen item is not public, so visitors see a placeholder "
                "instead of it: %(items)s",
                "These chosen items are not public, so visitors see a placeholder "
                "instead of them: %(items)s",
                len(hidden),
            )
            % {"items": names}
        )
    if missing:
        warnings.append(
            # Translators: an editor warning after saving an exhibition.
            ngettext(
                "%(count)d chosen item no longer exists; visitors see a placeholder.",
                "%(count)d chosen items no longer exist; visitors see a placeholder.",
                len(missing),
            )
            % {"count": len(missing)}
        )
    return warnings


@hooks.register("after_create_page")
@hooks.register("after_edit_page")
def warn_about_hidden_items(request, page):
    """Tell the curator which chosen items visitors will not see (never blocks the save)."""
    from themes.models import ExhibitionPage

    if not isinstance(page, ExhibitionPage):
        return None
    for warning in exhibition_item_warnings(page):
        messages.warning(request, warning)
    return None
