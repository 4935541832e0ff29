"""Read-side queries of the public page tree (no writes here)."""

from __future__ import annotations

from django.db.models import QuerySet
from wagtail.models import Page

from archive import selectors as archive_selectors
from archive.models import ThemeLibrary


def theme_page_list() -> QuerySet:
    """The live theme-library pages, in the theme libraries' fixed order."""
    from themes.models import ThemeLibraryPage

    return (
        ThemeLibraryPage.objects.live()
        .public()
        .select_related("theme")
        .order_by("theme__sort_order")
    )


def exhibition_list(
    *, parent: Page | None = None, limit: int | None = None
) -> QuerySet:
    """Live, public exhibitions, newest first; only ``parent``'s when given."""
    from themes.models import ExhibitionPage

    qs = ExhibitionPage.objects.live().public()
    if parent is not None:
        qs = qs.child_of(parent)
    qs = qs.order_by("-first_published_at", "-pk")
    return qs[:limit] if limit else qs


def recent_item_list(*, request, limit: int = 12) -> QuerySet:
    """The newest items the visitor may see."""
    return archive_selectors.item_list(user=request.user, request=request)[:limit]


def theme_item_list(*, theme: ThemeLibrary, request) -> QuerySet:
    """Items of a theme library the visitor may see, newest first."""
    return archive_selectors.item_list(user=request.user, request=request, theme=theme)


def theme_collection_list(*, theme: ThemeLibrary) -> QuerySet:
    """Collections a curator assigned to a theme library."""
    return theme.collections.select_related("institution").order_by("code")
