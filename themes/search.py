"""Exhibitions as search documents (registered with ``archive.search``).

A live exhibition is public (its blocks hide what a visitor may not see when
they render); a draft, an unpublished page or one with a Wagtail view
restriction is not indexed. Publishing, unpublishing, moving and deleting a
page reach the index through ``themes.signals`` → ``archive.search.indexing``.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.utils.html import strip_tags

from archive.search.documents import Source, lines, source_register
from archive.search.engine import SearchDocument
from themes.models import ExhibitionPage, ThemeLibraryPage


def _theme_code(page: ExhibitionPage) -> str:
    parent = page.get_parent()
    specific = parent.specific if parent is not None else None
    if isinstance(specific, ThemeLibraryPage) and specific.theme_id:
        return specific.theme.code
    return ""


def _body_text(page: ExhibitionPage) -> str:
    try:
        parts = page.body.stream_block.get_searchable_content(page.body)
    except Exception:  # noqa: BLE001 - a block that cannot say: index the rest
        parts = []
    return lines(*(strip_tags(str(part)) for part in parts))


def is_indexable(page: ExhibitionPage) -> bool:
    """Whether an exhibition is public: live and not restricted."""
    return page.live and not page.get_view_restrictions().exists()


def exhibition_document(page: ExhibitionPage) -> SearchDocument | None:
    """The document of one exhibition, or None if it must not be found."""
    if not is_indexable(page):
        return None
    year = page.first_published_at.year if page.first_published_at else None
    theme = _theme_code(page)
    return SearchDocument(
        key=f"exhibition:{page.pk}",
        type="exhibition",
        title=page.title,
        body=lines(page.title_en, page.summary, page.summary_en, _body_text(page)),
        kind="exhibition",
        themes=(theme,) if theme else (),
        date=year,
        url=page.url or "",
        extra={"title_en": page.title_en, "summary": page.summary},
    )


def _every() -> Iterator[SearchDocument]:
    for page in ExhibitionPage.objects.live().order_by("pk"):
        document = exhibition_document(page)
        if document is not None:
            yield document


def _visible(documents, user, request) -> set[str]:
    pks = [int(d.key.split(":", 1)[1]) for d in documents]
    live = ExhibitionPage.objects.live().filter(pk__in=pks)
    return {f"exhibition:{page.pk}" for page in live if is_indexable(page)}


def register() -> None:
    """Register the exhibition source (``ThemesConfig.ready()``)."""
    source_register(
        Source(
            type="exhibition",
            every=_every,
            count=lambda: ExhibitionPage.objects.live().count(),
            of_items=None,
            visible=_visible,
        )
    )
