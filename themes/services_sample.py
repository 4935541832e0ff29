"""The sample exhibition ``make demo`` shows: 茶樓與讀書聲 under 嶺南文化.

Built from the sample archive's items (``ingest/sample``) through Wagtail's
own calls (a page, a revision, publication), so it is an exhibition like any
curator's: edit it in the admin, unpublish it, delete it. Running it again
changes nothing.
"""

from __future__ import annotations

import json
import logging

from archive.models import Item

logger = logging.getLogger(__name__)

SLUG = "teahouses-and-classics"
TITLE = "茶樓與讀書聲"
TITLE_EN = "Tea-houses and the sound of reading"
#: The sample items the exhibition shows (public ids in ingest/sample).
VOLUME, INTERVIEW, FILM = (
    "gzdd-sanzijing-v1",
    "oh-teahouse-1938",
    "doc-pearl-river-1950s",
)


def _body(items: dict[str, Item]) -> list[dict]:
    volume, interview, film = items[VOLUME], items[INTERVIEW], items[FILM]
    return [
        {
            "type": "text",
            "value": "<p>西關的茶樓裡，街坊一盅兩件、談天說地；書塾裡，孩子朗讀《三字經》。"
            "這個示例展覽把廣州大典的書影、口述歷史與紀錄片放在一起。"
            "（示例內容：人物與錄音均屬虛構。）</p>",
        },
        {
            "type": "iiif_image",
            "value": {
                "item": volume.pk,
                "page": 2,
                "region": "100,150,1000,700",
                "caption": "《三字經》卷上首葉：人之初，性本善。",
                "alt": "木刻本《三字經》的一頁，直行繁體字，由右至左。",
            },
        },
        {
            "type": "quotation",
            "value": {
                "text": "人之初，性本善。性相近，習相遠。",
                "item": volume.pk,
                "locator": "第2頁",
                "attribution": "《三字經》",
            },
        },
        {
            "type": "clip",
            "value": {
                "item": interview.pk,
                "start": 0.0,
                "end": 20.0,
                "caption": "梁伯憶述一九三八年家中的茶樓（虛構示例，合成語音）。",
            },
        },
        {
            "type": "clip",
            "value": {
                "item": film.pk,
                "start": 3.0,
                "end": 15.0,
                "caption": "五十年代的珠江（示意短片）。",
            },
        },
        {
            "type": "gallery",
            "value": {
                "title": "展覽中的資料",
                "items": [volume.pk, interview.pk, film.pk],
            },
        },
        {
            "type": "volume",
            "value": {"item": volume.pk, "caption": "翻閱整冊《三字經》卷上。"},
        },
    ]


def sample_exhibition_make() -> str:
    """Publish the sample exhibition if the sample items exist and it does not.

    Returns:
        ``"made"``, ``"exists"`` or ``"no sample"`` (the sample items are not loaded).
    """
    from themes.models import ExhibitionPage, ThemeFeaturedItem, ThemeLibraryPage

    items = {
        i.public_id: i
        for i in Item.objects.filter(public_id__in=[VOLUME, INTERVIEW, FILM])
    }
    missing = {VOLUME, INTERVIEW, FILM} - set(items)
    if missing:
        logger.warning(
            "sample exhibition: the sample items %s are missing", sorted(missing)
        )
        return "no sample"
    parent = ThemeLibraryPage.objects.filter(theme__code="lingnan").first()
    if (
        parent is None
        or ExhibitionPage.objects.child_of(parent).filter(slug=SLUG).exists()
    ):
        return "exists"
    page = ExhibitionPage(
        title=TITLE,
        title_en=TITLE_EN,
        slug=SLUG,
        summary="西關茶樓的記憶、書塾的讀書聲與珠江舊影：一個用示例資料做的小展覽。",
        summary_en="Memories of a Xiguan tea-house, a child's primer and the old Pearl River: "
        "a small exhibition made from the sample archive.",
    )
    page.body = json.dumps(_body(items))
    parent.add_child(instance=page)
    page.save_revision().publish()
    parent = ThemeLibraryPage.objects.get(pk=parent.pk)
    if not parent.featured_items.exists():
        # Through the page's revision, as the editor does (a ClusterableModel).
        for order, public_id in enumerate([VOLUME, INTERVIEW]):
            parent.featured_items.add(
                ThemeFeaturedItem(item=items[public_id], sort_order=order)
            )
        parent.save_revision().publish()
    return "made"
