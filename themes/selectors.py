"""Read-side queries of the public page tree (no writes here)."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, QuerySet
from wagtail.models import Page

from archive import selectors as archive_selectors
from archive.access import can_view
from archive.models import Collection, Item, PageImage, ThemeLibrary


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


def _with_has_pages(qs: QuerySet) -> QuerySet:
    # Item cards show a thumbnail only for items with pages: one query, not one per card.
    return qs.annotate(has_pages=Exists(PageImage.objects.filter(item=OuterRef("pk"))))


def recent_item_list(*, request, limit: int = 12) -> QuerySet:
    """The newest items the visitor may see."""
    items = archive_selectors.item_list(user=request.user, request=request)
    return _with_has_pages(items)[:limit]


def item_kind_or_blank(value: str) -> str:
    """``value`` if it names a kind of item (``?kind=``), else ``""`` (no filter)."""
    return value if value in Item.Kind.values else ""


def collection_get(*, code: str) -> Collection | None:
    """The collection with this code (``?collection=``), or None."""
    return Collection.objects.filter(code=code).first() if code else None


def collection_tree_ids(collection: Collection) -> list[int]:
    """The collection's id and those of every collection nested under it."""
    ids = [collection.pk]
    frontier = [collection.pk]
    while frontier:
        frontier = list(
            Collection.objects.filter(parent__in=frontier)
            .exclude(pk__in=ids)
            .values_list("pk", flat=True)
        )
        ids.extend(frontier)
    return ids


def theme_item_list(
    *,
    theme: ThemeLibrary,
    request,
    kind: str = "",
    collection: Collection | None = None,
) -> QuerySet:
    """Items of a theme library the visitor may see, newest first.

    Narrowed to one kind of item, and to a collection and the collections
    nested in it (so ``?collection=gzdd`` finds the volumes of 經部 too).
    """
    return _with_has_pages(_theme_items(theme, request, kind, collection))


def _theme_items(theme, request, kind="", collection=None) -> QuerySet:
    items = archive_selectors.item_list(user=request.user, request=request, theme=theme)
    if kind:
        items = items.filter(kind=kind)
    if collection is not None:
        items = items.filter(collection__in=collection_tree_ids(collection))
    return items


def theme_kind_counts(
    *, theme: ThemeLibrary, request, collection: Collection | None = None
) -> list[tuple[str, str, int]]:
    """(kind, its label, how many) of the theme's items the visitor may see.

    Kinds without items are left out; the order is that of ``Item.Kind``.
    """
    items = _theme_items(theme, request, collection=collection)
    counts = {
        row["kind"]: row["n"]
        for row in items.order_by()
        .values("kind")
        .annotate(n=Count("pk", distinct=True))
    }
    return [
        (value, label, counts[value])
        for value, label in Item.Kind.choices
        if counts.get(value)
    ]


def theme_featured_list(*, page, request) -> list:
    """The page's selection of items, in the curator's order, that the visitor may see.

    Each entry is a ``ThemeFeaturedItem`` (``.item``, ``.note``). Read through
    the page's relation, so a preview shows unsaved changes; the access
    decision is asked item by item (a selection is a handful).
    """
    featured = []
    for entry in page.featured_items.all():
        item = entry.item if entry.item_id else None
        if item is not None and can_view(request.user, item, request):
            featured.append(entry)
    with_pages = set(
        PageImage.objects.filter(item_id__in=[e.item_id for e in featured])
        .values_list("item_id", flat=True)
        .distinct()
    )
    for entry in featured:
        entry.item.has_pages = entry.item_id in with_pages
    return featured


def theme_collection_list(*, theme: ThemeLibrary) -> QuerySet:
    """Collections a curator assigned to a theme library."""
    return theme.collections.select_related("institution").order_by("code")
