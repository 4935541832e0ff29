"""The public page tree: the home page, the four theme-library pages, exhibitions.

    HomePage (the site root, one per site)
      └─ ThemeLibraryPage × 4 (one per ``archive.ThemeLibrary``; slug = its code)
           └─ ExhibitionPage (StreamField of ``themes.blocks``)

The tree is built by the data migration ``0002_page_tree`` (and rebuilt after
a test flush by ``themes.services.page_tree_ensure``), so every installation
has it, demo or not. Pages are not translated as Wagtail locale trees
(DESIGN.md, Languages): an exhibition is written once, in the curator's
script, with an optional English title and summary; the 繁/简 display switch
converts what is shown.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.fields import StreamField
from wagtail.models import Page
from wagtail.search import index

from themes.blocks import ExhibitionStreamBlock

#: Items listed per page on a theme-library page.
THEME_ITEMS_PER_PAGE = 12


def _english(language: str | None = None) -> bool:
    return (language or get_language() or "").lower().startswith("en")


class HomePage(Page):
    """The site's home page: the four theme libraries, new exhibitions, new items."""

    introduction = models.TextField(_("introduction"), blank=True)
    introduction_en = models.TextField(_("introduction (English)"), blank=True)

    content_panels = Page.content_panels + [
        FieldPanel("introduction"),
        FieldPanel("introduction_en"),
    ]

    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["themes.ThemeLibraryPage"]
    max_count = 1
    template = "themes/home_page.html"

    class Meta:
        verbose_name = _("home page")
        verbose_name_plural = _("home pages")

    def introduction_for(self, language: str | None = None) -> str:
        """The introduction in the UI language (English when asked and written)."""
        if _english(language) and self.introduction_en:
            return self.introduction_en
        return self.introduction

    def get_context(self, request, *args, **kwargs):
        from themes import selectors

        context = super().get_context(request, *args, **kwargs)
        context["theme_pages"] = selectors.theme_page_list()
        context["exhibitions"] = selectors.exhibition_list(limit=6)
        context["items"] = selectors.recent_item_list(request=request, limit=12)
        return context


class ThemeLibraryPage(Page):
    """The page presenting one theme library: introduction, collections, items, exhibitions."""

    theme = models.OneToOneField(
        "archive.ThemeLibrary",
        on_delete=models.PROTECT,
        related_name="page",
        verbose_name=_("theme library"),
    )

    content_panels = Page.content_panels + [FieldPanel("theme")]

    parent_page_types = ["themes.HomePage"]
    subpage_types = ["themes.ExhibitionPage"]
    template = "themes/theme_library_page.html"

    class Meta:
        verbose_name = _("theme library page")
        verbose_name_plural = _("theme library pages")

    def get_context(self, request, *args, **kwargs):
        from themes import selectors

        context = super().get_context(request, *args, **kwargs)
        items = selectors.theme_item_list(theme=self.theme, request=request)
        paginator = Paginator(items, THEME_ITEMS_PER_PAGE)
        context["items_page"] = paginator.get_page(request.GET.get("page"))
        context["collections"] = selectors.theme_collection_list(theme=self.theme)
        context["exhibitions"] = selectors.exhibition_list(parent=self)
        return context


class ExhibitionPage(Page):
    """An online exhibition a curator builds from blocks under one theme library."""

    title_en = models.CharField(_("title (English)"), max_length=255, blank=True)
    summary = models.TextField(
        _("summary"),
        blank=True,
        help_text=_(
            "One or two sentences, shown in listings and when the page is shared."
        ),
    )
    summary_en = models.TextField(_("summary (English)"), blank=True)
    body = StreamField(ExhibitionStreamBlock(), blank=True, verbose_name=_("body"))

    content_panels = Page.content_panels + [
        FieldPanel("title_en"),
        FieldPanel("summary"),
        FieldPanel("summary_en"),
        FieldPanel("body"),
    ]
    search_fields = Page.search_fields + [
        index.SearchField("title_en"),
        index.SearchField("summary"),
        index.SearchField("body"),
    ]

    parent_page_types = ["themes.ThemeLibraryPage"]
    subpage_types: list[str] = []
    template = "themes/exhibition_page.html"

    class Meta:
        verbose_name = _("exhibition")
        verbose_name_plural = _("exhibitions")

    def title_for(self, language: str | None = None) -> str:
        """The title in the UI language (English when asked and written)."""
        if _english(language) and self.title_en:
            return self.title_en
        return self.title

    def summary_for(self, language: str | None = None) -> str:
        """The summary in the UI language (English when asked and written)."""
        if _english(language) and self.summary_en:
            return self.summary_en
        return self.summary
