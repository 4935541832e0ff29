"""Exhibition blocks ask ``can_view`` for each visitor: a placeholder, and nothing of the record.

Every block that shows an archive item is rendered for an anonymous visitor
and for a curator (staff who may see restricted material) with its item
reading-room only, staff only, under embargo and withdrawn. The anonymous
page must hold the placeholder and nothing from the record: no title in any
form, no public identifier, no image, manifest, media or transcript URL, no
transcript text and not even the curator's quotation from it.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from archive.models import AccessLevel, Asset, Item
from tests.archive.factories import make_user
from tests.themes.test_blocks import (
    DOC,
    ORAL,
    VOLUME,
    attr,
    image_value,
    media_asset,
    path_of,
    render,
    transcript_for,
)

PLACEHOLDER = '<div class="block-placeholder"'
QUOTE = "茶樓一盅兩件"

#: How each restriction is written on the item.
RESTRICTIONS = {
    "reading_room": lambda: {"access_level": AccessLevel.READING_ROOM},
    "staff": lambda: {"access_level": AccessLevel.STAFF},
    "embargoed": lambda: {
        "access_level": AccessLevel.EMBARGOED,
        "embargo_until": timezone.localdate() + timedelta(days=30),
    },
    "withdrawn": lambda: {"access_level": AccessLevel.WITHDRAWN},
}


def _blocks(sample) -> dict:
    """Each record-showing block type: (the item it shows, the block)."""
    volume, oral = sample[VOLUME], sample[ORAL]
    return {
        "iiif_image": (
            volume,
            ("iiif_image", image_value(volume, region="0,0,600,600")),
        ),
        "clip": (oral, ("clip", {"item": oral.pk, "start": 0, "end": 20})),
        "gallery": (volume, ("gallery", {"title": "", "items": [volume.pk]})),
        "quotation": (
            oral,
            (
                "quotation",
                {
                    "text": QUOTE,
                    "item": oral.pk,
                    "locator": "00:00:12",
                    "attribution": "",
                },
            ),
        ),
        "volume": (volume, ("volume", {"item": volume.pk, "caption": ""})),
    }


def assert_nothing_of(html: str, item: Item) -> None:
    """The page holds the placeholder and nothing that names or shows ``item``."""
    assert PLACEHOLDER in html
    for text in (item.title, item.title_hant, item.title_hans, item.title_en):
        if text:
            assert text not in html, text
    assert item.public_id not in html
    for fragment in (
        "/iiif/3/image",
        "/iiif/3/manifest",
        "/listen/",
        "/poster/",
        "transcript.vtt",
        "thumbnail.jpg",
        "data-mirador",
        "<img",
        "<audio",
        "<video",
        "block-quotation",
        QUOTE,
        "西關的茶樓",  # the transcript's first lines
        "我細個嗰陣",
    ):
        assert fragment not in html, fragment


@pytest.fixture
def curator(db):
    """A curator: staff who may see restricted (not withdrawn) material."""
    return make_user("curator", groups=["Curators"])


@pytest.mark.parametrize("restriction", sorted(RESTRICTIONS))
@pytest.mark.parametrize(
    "block", ["iiif_image", "clip", "gallery", "quotation", "volume"]
)
def test_restricted_items_are_a_placeholder_for_the_public(
    client, sample, curator, restriction, block
):
    item, spec = _blocks(sample)[block]
    if block == "clip":
        transcript_for(item)
    Item.objects.filter(pk=item.pk).update(**RESTRICTIONS[restriction]())
    item.refresh_from_db()

    html = render(client, spec, language="en")
    assert_nothing_of(html, item)
    html = render(client, spec, language="zh-hant")
    assert_nothing_of(html, item)

    client.force_login(curator)
    html = render(client, spec, language="zh-hant")
    if restriction == "withdrawn":
        # A withdrawn item is gone on every public door, staff included.
        assert_nothing_of(html, item)
    else:
        assert PLACEHOLDER not in html
        assert item.public_id in html or item.title in html


def test_staff_get_the_restricted_image_they_are_shown(client, sample, curator):
    volume = sample[VOLUME]
    Item.objects.filter(pk=volume.pk).update(access_level=AccessLevel.STAFF)
    client.force_login(curator)
    html = render(client, ("iiif_image", image_value(volume, region="0,0,600,600")))
    src = path_of(attr(html, "img", "src"))
    assert src.startswith("/iiif/3/image/")
    assert client.get(src).status_code == 200
    client.logout()
    assert client.get(src).status_code == 401


def test_a_lifted_embargo_shows_the_item(client, sample):
    volume = sample[VOLUME]
    Item.objects.filter(pk=volume.pk).update(
        access_level=AccessLevel.EMBARGOED,
        embargo_until=timezone.localdate() - timedelta(days=1),
    )
    html = render(client, ("iiif_image", image_value(volume)))
    assert PLACEHOLDER not in html
    assert "/iiif/3/image/" in attr(html, "img", "src")


def test_the_reading_room_sees_reading_room_items(client, sample, settings):
    volume = sample[VOLUME]
    Item.objects.filter(pk=volume.pk).update(access_level=AccessLevel.READING_ROOM)
    spec = ("iiif_image", image_value(volume))
    settings.ARCHIVE_READING_ROOM_NETWORKS = ["10.0.0.0/8"]
    assert PLACEHOLDER in render(client, spec)  # the test client is 127.0.0.1
    settings.ARCHIVE_READING_ROOM_NETWORKS = ["127.0.0.0/8"]
    html = render(client, spec)
    assert PLACEHOLDER not in html
    assert "/iiif/3/image/" in attr(html, "img", "src")


@pytest.mark.parametrize(
    "block", ["iiif_image", "clip", "gallery", "quotation", "volume"]
)
def test_deleted_items_are_a_placeholder(client, sample, block):
    missing = Item.objects.order_by("-pk").first().pk + 1000
    item, (kind, value) = _blocks(sample)[block]
    value = dict(value)
    if kind == "gallery":
        value["items"] = [missing]
    else:
        value["item"] = missing
    html = render(client, (kind, value))
    assert PLACEHOLDER in html
    assert QUOTE not in html
    assert "<img" not in html and "data-mirador" not in html


def test_a_gallery_leaves_out_only_the_items_the_visitor_may_not_see(client, sample):
    volume, oral, doc = sample[VOLUME], sample[ORAL], sample[DOC]
    Item.objects.filter(pk=oral.pk).update(access_level=AccessLevel.STAFF)
    html = render(
        client,
        ("gallery", {"title": "館藏", "items": [volume.pk, oral.pk, doc.pk]}),
        language="zh-hant",
    )
    cards = re.findall(r'<li class="gallery-card">.*?</li>', html, re.S)
    assert len(cards) == 2
    assert VOLUME in cards[0] and DOC in cards[1]
    assert ORAL not in html and oral.title not in html
    assert PLACEHOLDER not in html


def test_a_stricter_page_is_not_shown_though_its_item_is_public(client, sample):
    volume = sample[VOLUME]
    page = volume.pages.get(sequence=1)
    Asset.objects.filter(pk=page.asset_id).update(access_level=AccessLevel.STAFF)
    html = render(
        client,
        ("iiif_image", image_value(volume, page=1)),
        ("iiif_image", image_value(volume, page=2)),
        ("gallery", {"title": "", "items": [volume.pk]}),
    )
    assert html.count(PLACEHOLDER) == 1
    assert page.public_id not in html
    assert volume.pages.get(sequence=2).public_id in html
    card = re.search(r'<li class="gallery-card">.*?</li>', html, re.S).group(0)
    assert "<img" not in card  # the thumbnail is of the first page


def test_a_clip_whose_recording_is_stricter_is_a_placeholder(client, sample):
    oral = sample[ORAL]
    Asset.objects.filter(pk=media_asset(oral).pk).update(is_personal_data=True)
    asset = Asset.objects.get(pk=media_asset(oral).pk)
    assert asset.is_staff_only, "personal data is staff only"
    html = render(client, ("clip", {"item": oral.pk, "start": 0, "end": 10}))
    assert_nothing_of(html, oral)


def test_hidden_items_keep_the_blocks_text_out_of_the_search_index(sample):
    from themes.blocks import ExhibitionStreamBlock

    volume, oral = sample[VOLUME], sample[ORAL]
    stream = ExhibitionStreamBlock()
    raw = [
        {
            "type": "quotation",
            "value": {"text": QUOTE, "item": oral.pk, "locator": "", "attribution": ""},
        },
        {"type": "iiif_image", "value": image_value(volume, caption="書影說明")},
        {
            "type": "quotation",
            "value": {"text": "無出處", "item": None, "locator": "", "attribution": ""},
        },
    ]

    def indexed() -> str:
        return " ".join(stream.get_searchable_content(stream.to_python(raw)))

    assert QUOTE in indexed() and "書影說明" in indexed() and "無出處" in indexed()
    Item.objects.filter(pk=oral.pk).update(access_level=AccessLevel.STAFF)
    assert QUOTE not in indexed() and "書影說明" in indexed()
    Item.objects.filter(pk=volume.pk).update(access_level=AccessLevel.WITHDRAWN)
    assert "書影說明" not in indexed()
    raw[0]["value"]["item"] = Item.objects.order_by("-pk").first().pk + 1000
    Item.objects.filter(pk=oral.pk).update(access_level=AccessLevel.PUBLIC)
    assert QUOTE not in indexed()  # its source was deleted
    assert "無出處" in indexed()
