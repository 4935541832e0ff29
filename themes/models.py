"""The public page tree: the home page, the four theme-library pages, exhibitions.

    HomePage (the site root, one per site)
      └─ ThemeLibraryPage × 4 (one per ``archive.ThemeLibrary``; slug = its code;
           │   its curated selection of items is ``ThemeFeaturedItem``, an InlinePanel)
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
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, InlinePanel
from wagtail.fields import StreamField
from wagtail.models import Orderable, Page
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

    content_panels = Page.content_panels + [
        FieldPanel("theme"),
        InlinePanel(
            "featured_items",
            # Translators: the curated items shown first on a theme-library page.
            label=_("Selection of items"),
            help_text=_(
                "Shown first, in this order. Visitors see only the items they may open."
            ),
        ),
    ]

    parent_page_types = ["themes.HomePage"]
    subpage_types = ["themes.ExhibitionPage"]
    template = "themes/theme_library_page.html"

    class Meta:
        verbose_name = _("theme library page")
        verbose_name_plural = _("theme library pages")

    def get_context(self, request, *args, **kwargs):
        """The selection, then the items filtered by ``?kind=`` and ``?collection=``."""
        from themes import selectors

        context = super().get_context(request, *args, **kwargs)
        kind = selectors.item_kind_or_blank(request.GET.get("kind", ""))
        collection = selectors.collection_get(code=request.GET.get("collection", ""))
        items = selectors.theme_item_list(
            theme=self.theme, request=request, kind=kind, collection=collection
        )
        paginator = Paginator(items, THEME_ITEMS_PER_PAGE)
        context["items_page"] = paginator.get_page(request.GET.get("page"))
        context["kind"] = kind
        context["kinds"] = selectors.theme_kind_counts(
            theme=self.theme, request=request, collection=collection
        )
        context["collection"] = collection
        context["collections"] = selectors.theme_collection_list(theme=self.theme)
        context["featured"] = selectors.theme_featured_list(page=self, request=request)
        context["exhibitions"] = selectors.exhibition_list(parent=self)
        return context


class _ItemChooserPanel(FieldPanel):
    """A FieldPanel that edits an ``archive.Item`` foreign key with the item chooser.

    The chooser (``themes.views.item_chooser_viewset``) does not register
    itself for every Item foreign key, so the panel names it; it is looked up
    when the form is built, after the admin has loaded.
    """

    def get_form_options(self):
        from themes.views import item_chooser_viewset

        options = super().get_form_options()
        if options:
            options.setdefault("widgets", {})[self.field_name] = (
                item_chooser_viewset.widget_class
            )
        return options


class ThemeFeaturedItem(Orderable):
    """An item a curator puts first on a theme-library page ("selection of items").

    Listed in the curator's order, each with an optional note; visitors see
    only those the access decision lets them open (``selectors.theme_featured_list``).
    """

    page = ParentalKey(
        "themes.ThemeLibraryPage",
        on_delete=models.CASCADE,
        related_name="featured_items",
        verbose_name=_("theme library page"),
    )
    item = models.ForeignKey(
        "archive.Item",
        on_delete=models.CASCADE,
        related_name="+",
        # Translators: one archival record (book volume, interview, film...); 資料 in the glossary.
        verbose_name=_("item"),
    )
    note = models.CharField(
        _("note"),
        max_length=300,
        blank=True,
        help_text=_("Optional: a sentence on why this item is in the selection."),
    )

    panels = [_ItemChooserPanel("item"), FieldPanel("note")]

    class Meta(Orderable.Meta):
        verbose_name = _("featured item")
        verbose_name_plural = _("featured items")

    def __str__(self) -> str:
        return str(self.item)


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

    def serve(self, request, *args, **kwargs):
        """The page; kept out of shared caches for signed-in visitors.

        Blocks render what the visitor may see (``can_view``), so staff may
        get restricted material in the same URL the public gets placeholders.
        """
        response = super().serve(request, *args, **kwargs)
        if request.user.is_authenticated:
            response["Cache-Control"] = "private, no-store"
        patch_vary_headers(response, ["Cookie"])
        return response

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
