"""StreamField blocks of exhibition pages (issue 6).

Each block renders with a public template under ``themes/blocks/``. A block
that shows an archive record asks :func:`archive.access.can_view` for the
visitor of the page (``context["request"]``) when it renders; when the answer
is no (a restricted, staff-only, embargoed, withdrawn or deleted item), it
renders only the neutral ``themes/blocks/placeholder.html`` and nothing from
the record: no title, no identifier, no image, media or transcript URL.

Stored values (StreamField JSON; ``tests/themes/factories.exhibition_make``
builds pages from them). ``item`` is always an ``archive.Item`` primary key.

``text``
    Rich text (HTML).
``iiif_image``
    ``{item, page, region, caption, alt}``: ``page`` is the 1-based
    ``PageImage.sequence`` (default 1); ``region`` is ``"full"`` or
    ``"x,y,w,h"`` in the page's full-size pixels, inside the page; ``alt``
    is required. Drawn from the IIIF Image API 3.0 at several widths.
``clip``
    ``{item, start, end, caption}``: a recording (oral history or
    documentary) between ``start`` and ``end`` seconds (``end > start``,
    within the recording when its length is known), played from the
    listening door with its captions and the transcript excerpt of those
    seconds as this visitor may read it.
``gallery``
    ``{title, items}``: ``items`` is a list of item primary keys; items the
    visitor may not see are left out (the placeholder when none is left).
``quotation``
    ``{text, item, locator, attribution}``: ``item`` (optional) is the
    source the ``cite`` links to; ``locator`` says where in it (第3頁, 00:12:30).
``volume``
    ``{item, caption}``: a book volume or image set in the Mirador viewer of
    its item page (``iiif/item_viewer.html``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django import forms
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.urls import NoReverseMatch, reverse
from django.utils.functional import cached_property
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.admin.telepath import register
from wagtail.blocks.struct_block import StructBlockAdapter, StructBlockValidationError

from archive.access import can_view
from archive.models import Item
from themes.views import item_chooser_viewset

#: The chooser of archive items (the item's primary key is stored).
ItemChooserBlock = item_chooser_viewset.get_block_class(
    name="ItemChooserBlock", module_path="themes.blocks"
)

#: Widths offered in an image's ``srcset`` (capped by the region's width).
IMAGE_WIDTHS = (400, 800, 1200, 2000)
#: The width of the ``src`` fallback, for browsers that ignore ``srcset``.
IMAGE_DEFAULT_WIDTH = 800
#: The editor's preview of every block (the block picker).
PREVIEW_TEMPLATE = "themes/blocks/preview.html"
#: How wide the image is laid out: the article column, else the screen.
IMAGE_SIZES = "(min-width: 74rem) 70rem, calc(100vw - 2rem)"

FULL_REGION = "full"
_REGION = re.compile(r"^\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*$")

#: Items a clip can play.
RECORDING_KINDS = (Item.Kind.ORAL_HISTORY, Item.Kind.DOCUMENTARY_VIDEO)
#: Items whose pages an image or the viewer shows.
IMAGE_KINDS = (Item.Kind.BOOK_VOLUME, Item.Kind.IMAGE_SET)


# ---------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------


def _visitor(context) -> tuple[object, object]:
    """The request and user a block renders for (anonymous without a request)."""
    request = (context or {}).get("request")
    user = getattr(request, "user", None) or AnonymousUser()
    return request, user


def _visible(item, context) -> bool:
    """Whether the page's visitor may see ``item`` (None, deleted: never)."""
    if item is None:
        return False
    request, user = _visitor(context)
    return can_view(user, item, request)


def _seconds(value: float) -> str:
    """Seconds as a media fragment writes them: ``12``, ``12.5`` (milliseconds at most)."""
    return f"{float(value):.3f}".rstrip("0").rstrip(".")


def _public_item(kinds, *, with_pages: bool = False):
    """A public item of one of ``kinds``, for the editor's block previews."""
    from archive.models import AccessLevel

    qs = Item.objects.filter(access_level=AccessLevel.PUBLIC, kind__in=kinds)
    if with_pages:
        qs = qs.filter(pages__isnull=False)
    return qs.order_by("pk").first()


class _RecordBlockMixin:
    """What every block showing one chosen item shares.

    - It remembers that its item was deleted (the stored pk no longer
      loads): Wagtail's chooser gives None for a missing pk, as for "nothing
      chosen", and an optional source that was deleted must still hide the
      block.
    - Its text (captions, alt text, a quotation) is left out of the search
      index while the item is not public: search results and snippets must
      not show what the page hides. The index is refreshed when the
      exhibition is saved again.
    """

    def to_python(self, value):
        result = super().to_python(value)
        result.item_missing = self._missing(value, result)
        return result

    def bulk_to_python(self, values):
        results = super().bulk_to_python(values)
        for raw, result in zip(values, results, strict=False):
            result.item_missing = self._missing(raw, result)
        return results

    @staticmethod
    def _missing(raw, result) -> bool:
        return bool(isinstance(raw, dict) and raw.get("item")) and (
            result.get("item") is None
        )

    def get_searchable_content(self, value):
        item = value.get("item")
        if getattr(value, "item_missing", False) or (
            item is not None and not can_view(AnonymousUser(), item)
        ):
            return []
        return super().get_searchable_content(value)


# ---------------------------------------------------------------------------
# IIIF image (or a crop of it)
# ---------------------------------------------------------------------------


def region_parse(region: str, width: int, height: int) -> tuple[int, int, int, int]:
    """The box ``(x, y, w, h)`` a region names on a page of ``width`` × ``height``.

    ``region`` is ``full`` or ``x,y,w,h`` in full-size pixels (IIIF Image API
    3.0 §4.1, the pixel form); the box must have a size and lie inside the page.

    Raises:
        ValidationError: the region is malformed, empty or outside the page.
    """
    text = (region or "").strip()
    if text.lower() == FULL_REGION:
        return 0, 0, width, height
    match = _REGION.match(text)
    if not match:
        raise ValidationError(
            _('Write "full" or four whole numbers x,y,w,h (pixels of the full page).'),
            code="region_syntax",
        )
    x, y, w, h = (int(n) for n in match.groups())
    if w == 0 or h == 0:
        raise ValidationError(
            _("The region needs a width and a height."), code="region_empty"
        )
    if x + w > width or y + h > height:
        raise ValidationError(
            _(
                "The region goes outside the page, which is %(width)s × %(height)s "
                "pixels."
            ),
            code="region_outside",
            params={"width": width, "height": height},
        )
    return x, y, w, h


def region_normalise(region: str) -> str:
    """``full`` or ``x,y,w,h`` without spaces (the stored and URL form)."""
    text = (region or "").strip()
    if text.lower() == FULL_REGION:
        return FULL_REGION
    return re.sub(r"\s+", "", text)


def srcset_widths(region_width: int) -> list[int]:
    """The widths to offer for a region: :data:`IMAGE_WIDTHS` below it, and its own.

    Never wider than the region (the Image API does not enlarge without ``^``).
    """
    widths = [w for w in IMAGE_WIDTHS if w < region_width]
    widths.append(min(region_width, IMAGE_WIDTHS[-1]))
    return sorted(set(widths))


@dataclass(frozen=True)
class ImageView:
    """What the IIIF-image template draws for one visitor."""

    src: str
    srcset: str
    sizes: str
    width: int
    height: int
    link: str


def iiif_image_view(*, item, sequence: int, region: str, request=None, user=None):
    """The image URLs of a page region, or None when the visitor may not see it.

    URLs are Image API 3.0 requests on the page's versioned image service
    (``iiif.identifiers.image_service_id``): ``{service}/{region}/{w},/0/default.jpg``.
    """
    from iiif.identifiers import image_service_id

    if item is None or not can_view(user, item, request):
        return None
    page = item.pages.select_related("asset").filter(sequence=sequence).first()
    if page is None or not can_view(user, page.asset, request):
        return None
    try:
        x, y, w, h = region_parse(region, page.width, page.height)
    except ValidationError:
        return None
    region_path = region_normalise(region)
    service = image_service_id(page.public_id, request=request)
    widths = srcset_widths(w)

    def url(width: int) -> str:
        return f"{service}/{region_path}/{width},/0/default.jpg"

    fallback = max([n for n in widths if n <= IMAGE_DEFAULT_WIDTH] or widths[:1])
    # The viewer's deep link (iiif/static/iiif/viewer.js): the page, and the
    # region as a media fragment in the same full-size pixels.
    link = f"{reverse('item_detail', args=[item.public_id])}#page={page.sequence}"
    if region_path != FULL_REGION:
        link += f"&xywh={region_path}"
    return ImageView(
        src=url(fallback),
        srcset=", ".join(f"{url(n)} {n}w" for n in widths),
        sizes=IMAGE_SIZES,
        width=fallback,
        height=max(1, round(h * fallback / w)),
        link=link,
    )


class IIIFImageBlock(_RecordBlockMixin, blocks.StructBlock):
    """A page of an archive item, whole or cropped, from the IIIF Image API."""

    item = ItemChooserBlock(label=_("Item"))
    page = blocks.IntegerBlock(
        label=_("Page"),
        min_value=1,
        default=1,
        help_text=_("The page's position in the item: 1 is the first page."),
    )
    region = blocks.CharBlock(
        label=_("Region"),
        default=FULL_REGION,
        max_length=64,
        search_index=False,
        help_text=_(
            '"full" for the whole page, or x,y,w,h in pixels of the full-size '
            "page; draw it on the page image below."
        ),
    )
    caption = blocks.CharBlock(label=_("Caption"), required=False)
    alt = blocks.CharBlock(
        label=_("Alternative text"),
        help_text=_("What the image shows, for people who cannot see it."),
    )

    class Meta:
        icon = "image"
        label = _("IIIF image")
        description = _("A page of a scanned item, or a region of it.")
        template = "themes/blocks/iiif_image.html"
        preview_template = PREVIEW_TEMPLATE
        form_classname = "struct-block iiif-image-block"

    def clean(self, value):
        value = super().clean(value)
        item, errors = value.get("item"), {}
        if item is not None:
            page = item.pages.filter(sequence=value.get("page") or 1).first()
            if page is None:
                errors["page"] = ValidationError(
                    _("This item has no page %(page)s; it has %(count)s."),
                    params={"page": value.get("page"), "count": item.pages.count()},
                )
            else:
                try:
                    region_parse(value.get("region"), page.width, page.height)
                except ValidationError as error:
                    errors["region"] = error
        if errors:
            raise StructBlockValidationError(block_errors=errors)
        value["region"] = region_normalise(value.get("region"))
        return value

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        request, user = _visitor(parent_context)
        context["image"] = iiif_image_view(
            item=value.get("item"),
            sequence=value.get("page") or 1,
            region=value.get("region") or FULL_REGION,
            request=request,
            user=user,
        )
        return context

    def get_preview_value(self):
        return self.normalize(
            {
                "item": _public_item(IMAGE_KINDS, with_pages=True),
                "page": 1,
                "region": FULL_REGION,
                "caption": gettext("A page from the archive"),
                "alt": gettext("A page from the archive"),
            }
        )


class IIIFImageBlockAdapter(StructBlockAdapter):
    """The IIIF-image block's editor form, with the region picker (``region-picker.js``)."""

    js_constructor = "themes.blocks.IIIFImageBlock"

    def js_args(self, block):
        name, children, meta = super().js_args(block)
        try:
            url = reverse("themes_region_picker")
        except NoReverseMatch:  # the admin's URLs are not installed
            url = ""
        meta["regionPicker"] = {
            "url": url,
            "strings": {
                "show": gettext("Show the page to draw a region"),
                "full": gettext("Use the whole page"),
                "preview": gettext("Preview the region"),
                "loading": gettext("Loading the page…"),
                "help": gettext(
                    "Drag across the page to choose a region; the Region field "
                    "is filled in for you."
                ),
                "noItem": gettext("Choose an item first."),
                "notFound": gettext("This page cannot be shown."),
                "image": gettext("The chosen page"),
                "chosen": gettext("Region chosen: %s"),
            },
        }
        return [name, children, meta]

    @cached_property
    def media(self):
        base = super().media
        return forms.Media(
            js=[*base._js, "themes/admin/region-picker.js"],
            css={"all": ["themes/admin/region-picker.css"]},
        )


register(IIIFImageBlockAdapter(), IIIFImageBlock)


# ---------------------------------------------------------------------------
# Audio or video clip with its transcript excerpt
# ---------------------------------------------------------------------------


def _media_asset(item):
    """The recording's first media original (the one a clip plays)."""
    from archive.models import Asset

    return Asset.objects.filter(item=item, role=Asset.Role.MEDIA).order_by("pk").first()


def recording_duration(item) -> float | None:
    """The length in seconds of the recording a clip plays, when it can be read."""
    from iiif.selectors import media_probe

    asset = _media_asset(item)
    if asset is None:
        return None
    facts = media_probe(asset=asset)
    return facts.duration if facts else None


@dataclass
class ClipView:
    """What the clip template shows for one visitor."""

    item: object
    media_url: str
    is_video: bool
    poster_url: str = ""
    #: ``[(url, srclang, label)]`` caption tracks, the shown transcript first.
    tracks: list[tuple[str, str, str]] = field(default_factory=list)
    #: ``transcription.selectors.Line`` overlapping the clip, as the visitor may read them.
    lines: list = field(default_factory=list)
    text_lang: str = "yue-Hant"
    has_transcript: bool = False


def clip_view(*, item, start: float, end: float, request=None, user=None):
    """The media, captions and excerpt of a clip, or None when the visitor may not hear it."""
    from iiif.selectors import recordings
    from transcription import selectors as transcripts
    from transcription.models import Transcript

    if item is None or item.kind not in RECORDING_KINDS:
        return None
    if not can_view(user, item, request):
        return None
    found = recordings(item=item, user=user, request=request)
    if not found:
        return None
    asset = found[0].asset
    fragment = f"#t={_seconds(start)},{_seconds(end)}"
    video = transcripts.is_video(asset)
    view = ClipView(
        item=item,
        media_url=reverse("recording_listen", args=[item.public_id, asset.pk])
        + fragment,
        is_video=video,
    )
    if video and transcripts.poster_get(asset=asset) is not None:
        view.poster_url = reverse("recording_poster", args=[item.public_id, asset.pk])
    primary = transcripts.transcript_get(item=item)
    mine = [
        t
        for t in transcripts.transcript_list(item=item, user=user, request=request)
        if t.asset_id == asset.pk
    ]
    shown = next((t for t in mine if primary and t.pk == primary.pk), None)
    shown = shown or (mine[0] if mine else None)
    for transcript in sorted(mine, key=lambda t: t is not shown):
        if primary is not None and transcript.pk == primary.pk:
            url = reverse("item_transcript", args=[item.public_id, "vtt"])
        else:
            url = reverse(
                "transcript_file", args=[item.public_id, transcript.public_id, "vtt"]
            )
        view.tracks.append(
            (
                url,
                transcripts.transcript_language(transcript),
                str(transcript.get_register_display()),
            )
        )
    if shown is not None:
        reading = transcripts.transcript_reading(
            transcript=shown, user=user, request=request
        )
        view.has_transcript = True
        view.lines = [
            line for line in reading.lines if line.start < end and line.end > start
        ]
        script = getattr(request, "display_script", "orig")
        base = "zh" if shown.register == Transcript.Register.STANDARD else "yue"
        view.text_lang = f"{base}-{'Hans' if script == 'hans' else 'Hant'}"
    return view


class ClipBlock(_RecordBlockMixin, blocks.StructBlock):
    """Seconds of an oral history or documentary, with the transcript of those seconds."""

    item = ItemChooserBlock(
        label=_("Recording"),
        help_text=_("An oral-history interview or a documentary video."),
    )
    start = blocks.FloatBlock(
        label=_("Start (seconds)"), min_value=0, help_text=_("e.g. 12.5")
    )
    end = blocks.FloatBlock(
        label=_("End (seconds)"), min_value=0, help_text=_("After the start.")
    )
    caption = blocks.CharBlock(label=_("Caption"), required=False)

    class Meta:
        icon = "media"
        label = _("Audio or video clip")
        description = _("Part of a recording, with its transcript.")
        template = "themes/blocks/clip.html"
        preview_template = PREVIEW_TEMPLATE

    def clean(self, value):
        value = super().clean(value)
        item, errors = value.get("item"), {}
        start, end = value.get("start"), value.get("end")
        if item is not None and item.kind not in RECORDING_KINDS:
            errors["item"] = ValidationError(
                _("Choose an oral-history interview or a documentary video.")
            )
        if start is not None and end is not None:
            if end <= start:
                errors["end"] = ValidationError(_("The end must come after the start."))
            elif item is not None and "item" not in errors:
                duration = recording_duration(item)
                if duration is not None and end > duration + 0.001:
                    errors["end"] = ValidationError(
                        _("The recording is only %(seconds)s seconds long."),
                        params={"seconds": _seconds(duration)},
                    )
        if errors:
            raise StructBlockValidationError(block_errors=errors)
        return value

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        request, user = _visitor(parent_context)
        start = float(value.get("start") or 0)
        end = float(value.get("end") or 0)
        context["clip"] = clip_view(
            item=value.get("item"), start=start, end=end, request=request, user=user
        )
        context["start"] = _seconds(start)
        context["end"] = _seconds(end)
        return context

    def get_preview_value(self):
        return self.normalize(
            {"item": _public_item(RECORDING_KINDS), "start": 0, "end": 10}
        )


# ---------------------------------------------------------------------------
# Gallery, quotation, volume
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """One item of a gallery: the item and whether its thumbnail may be shown."""

    item: object
    thumbnail: bool


class GalleryBlock(blocks.StructBlock):
    """A grid of item cards linking to their pages."""

    title = blocks.CharBlock(label=_("Title"), required=False)
    items = blocks.ListBlock(
        ItemChooserBlock(label=_("Item")), label=_("Items"), min_num=1
    )

    class Meta:
        icon = "grip"
        label = _("Item gallery")
        description = _("A grid of archive items.")
        template = "themes/blocks/gallery.html"
        preview_template = PREVIEW_TEMPLATE

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        request, user = _visitor(parent_context)
        cards = []
        for item in value.get("items") or []:
            if item is None or not can_view(user, item, request):
                continue
            first = item.pages.select_related("asset").order_by("sequence").first()
            cards.append(
                Card(item, first is not None and can_view(user, first.asset, request))
            )
        context["cards"] = cards
        return context

    def get_preview_value(self):
        from archive.models import AccessLevel

        items = Item.objects.filter(access_level=AccessLevel.PUBLIC).order_by("pk")[:4]
        return self.normalize(
            {"title": gettext("From the archive"), "items": list(items)}
        )


class QuotationBlock(_RecordBlockMixin, blocks.StructBlock):
    """Words quoted from an item (or elsewhere), with a citation linking to the item."""

    text = blocks.TextBlock(label=_("Quotation"))
    item = ItemChooserBlock(label=_("Source item"), required=False)
    locator = blocks.CharBlock(
        label=_("Where in the item"),
        required=False,
        max_length=64,
        search_index=False,
        help_text=_("e.g. 第3頁 or 00:12:30"),
    )
    attribution = blocks.CharBlock(
        label=_("Attribution"),
        required=False,
        help_text=_("Who said or wrote it."),
    )

    class Meta:
        icon = "openquote"
        label = _("Quotation")
        description = _("A quotation with its source.")
        template = "themes/blocks/quotation.html"
        preview_template = PREVIEW_TEMPLATE

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        item = value.get("item")
        # A quotation from a record the visitor may not see is that record's
        # content too: the whole block gives way to the placeholder.
        context["hidden"] = getattr(value, "item_missing", False) or (
            item is not None and not _visible(item, parent_context)
        )
        return context

    def get_preview_value(self):
        return self.normalize(
            {
                "text": "一盅兩件，歎返個早茶。",
                "item": _public_item(RECORDING_KINDS),
                "locator": "00:00:12",
                "attribution": "",
            }
        )


class VolumeBlock(_RecordBlockMixin, blocks.StructBlock):
    """A whole book volume or image set in the Mirador viewer of its item page."""

    item = ItemChooserBlock(
        label=_("Volume"), help_text=_("A book volume or an image set.")
    )
    caption = blocks.CharBlock(label=_("Caption"), required=False)

    class Meta:
        icon = "doc-full"
        label = _("Volume in the viewer")
        description = _("A whole volume to page through and zoom into.")
        template = "themes/blocks/volume.html"
        preview_template = PREVIEW_TEMPLATE

    def clean(self, value):
        value = super().clean(value)
        item = value.get("item")
        if item is not None and (
            item.kind not in IMAGE_KINDS or not item.pages.exists()
        ):
            raise StructBlockValidationError(
                block_errors={
                    "item": ValidationError(
                        _("Choose a book volume or an image set that has pages.")
                    )
                }
            )
        return value

    def get_context(self, value, parent_context=None):
        from iiif.selectors import visible_pages

        context = super().get_context(value, parent_context=parent_context)
        request, user = _visitor(parent_context)
        item = value.get("item")
        pages = []
        if (
            item is not None
            and item.kind in IMAGE_KINDS
            and _visible(item, parent_context)
        ):
            pages = visible_pages(item=item, user=user, request=request)
        context["item"] = item if pages else None
        context["pages"] = pages
        context.setdefault("LANGUAGE_CODE", get_language())
        return context

    def get_preview_value(self):
        return self.normalize({"item": _public_item(IMAGE_KINDS, with_pages=True)})


# ---------------------------------------------------------------------------
# The stream
# ---------------------------------------------------------------------------


class ExhibitionStreamBlock(blocks.StreamBlock):
    """The blocks a curator builds an exhibition from."""

    text = blocks.RichTextBlock(
        label=_("Text"),
        features=["h2", "h3", "bold", "italic", "link", "ol", "ul", "blockquote"],
        template="themes/blocks/text.html",
        preview_template=PREVIEW_TEMPLATE,
        icon="pilcrow",
        preview_value="<h2>茶樓</h2><p>西關的茶樓，一盅兩件。</p>",
        description=_("Headings, paragraphs, lists and links."),
    )
    iiif_image = IIIFImageBlock()
    clip = ClipBlock()
    gallery = GalleryBlock()
    quotation = QuotationBlock()
    volume = VolumeBlock()

    class Meta:
        label = _("Exhibition")


def chosen_item_ids(body) -> list[int]:
    """The primary keys of every item an exhibition body names, in order, once each.

    Read from the stored form (``body.raw_data``), so an item deleted since
    it was chosen is still named.
    """
    found: list[int] = []

    def add(raw):
        if isinstance(raw, dict) and "value" in raw:  # a ListBlock child
            raw = raw["value"]
        if isinstance(raw, int) and raw not in found:
            found.append(raw)
        elif isinstance(raw, str) and raw.isdigit() and int(raw) not in found:
            found.append(int(raw))

    for block in getattr(body, "raw_data", body) or []:
        value = block.get("value") if isinstance(block, dict) else None
        if not isinstance(value, dict):
            continue
        add(value.get("item"))
        for child in value.get("items") or []:
            add(child)
    return found
