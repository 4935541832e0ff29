"""Exhibition pages for tests, built through Wagtail's own tree and revision calls."""

from __future__ import annotations

import json

from themes.models import ExhibitionPage, ThemeLibraryPage
from themes.services import page_tree_ensure


def theme_page(code: str = "lingnan") -> ThemeLibraryPage:
    """The live page of a theme library (the tree is rebuilt if a flush removed it)."""
    page = ThemeLibraryPage.objects.filter(theme__code=code).first()
    if page is None:
        from archive.services import theme_libraries_ensure

        theme_libraries_ensure()
        page_tree_ensure()
        page = ThemeLibraryPage.objects.get(theme__code=code)
    return page


def exhibition_make(
    *,
    theme: str = "lingnan",
    title: str = "茶樓記憶",
    slug: str = "tea-houses",
    body: list[dict] | None = None,
    publish: bool = True,
    **fields,
) -> ExhibitionPage:
    """Add an exhibition under a theme library; ``body`` is StreamField JSON.

    ``body`` items are ``{"type": block name, "value": ...}`` as StreamField
    stores them (``themes/blocks.py`` documents each block's value).
    """
    parent = theme_page(theme)
    fields.setdefault("live", publish)  # a draft is not live until published
    page = ExhibitionPage(title=title, slug=slug, **fields)
    page.body = json.dumps(body or [])
    parent.add_child(instance=page)
    revision = page.save_revision()
    if publish:
        revision.publish()
    page.refresh_from_db()
    return page
