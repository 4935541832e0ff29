"""StreamField blocks of exhibition pages.

Each block renders with the public templates under ``themes/blocks/``; a
block that shows an archive record asks ``can_view`` when it renders, so a
restricted item becomes a neutral placeholder for whoever may not see it.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from wagtail import blocks


class ExhibitionStreamBlock(blocks.StreamBlock):
    """The blocks a curator builds an exhibition from."""

    text = blocks.RichTextBlock(
        label=_("Text"),
        features=["h2", "h3", "bold", "italic", "link", "ol", "ul", "blockquote"],
        template="themes/blocks/text.html",
    )

    class Meta:
        label = _("Exhibition")
