"""The admin side of exhibition blocks: the item chooser, the region picker, editor warnings."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import translation
from wagtail.test.utils.form_data import (
    inline_formset,
    nested_form_data,
    rich_text,
    streamfield,
)

from archive.models import AccessLevel, Asset, Item, PageImage
from tests.archive.factories import ItemFactory, make_user
from tests.themes.factories import exhibition_make, theme_page
from themes.blocks import ExhibitionStreamBlock
from themes.models import ExhibitionPage


@pytest.fixture
def admin(db):
    return make_user("admin", superuser=True)


@pytest.fixture
def editor(db):
    """A Wagtail editor who is not archive staff (no ``view_restricted``)."""
    user = make_user("editor")
    user.user_permissions.add(
        Permission.objects.get(
            content_type__app_label="wagtailadmin", codename="access_admin"
        )
    )
    return user


@pytest.fixture
def items(db):
    return {
        "volume": ItemFactory(title="廣州府志 卷一", public_id="fuzhi-v1"),
        "interview": ItemFactory(
            title="西關茶樓憶舊",
            title_en="Tea-house memories",
            public_id="oh-teahouse",
            kind=Item.Kind.ORAL_HISTORY,
        ),
        "closed": ItemFactory(
            title="未公開手稿",
            public_id="ms-closed",
            access_level=AccessLevel.STAFF,
        ),
        "withdrawn": ItemFactory(
            title="已撤回",
            public_id="ms-withdrawn",
            access_level=AccessLevel.WITHDRAWN,
        ),
    }


def modal_html(response) -> str:
    """The HTML of a chooser answer (the modal as JSON, or the results panel)."""
    assert response.status_code == 200
    if response["Content-Type"].startswith("application/json"):
        return response.json()["html"]
    return response.content.decode()


# ---------------------------------------------------------------------------
# The chooser
# ---------------------------------------------------------------------------


def test_chooser_lists_the_items_its_user_may_see(client, admin, items):
    client.force_login(admin)
    html = modal_html(client.get(reverse("themes_item_chooser:choose")))
    for key in ("volume", "interview", "closed"):
        assert items[key].title in html
        assert items[key].public_id in html
    assert "已撤回" not in html  # withdrawn: never shown, so never chosen
    # The access column, in whichever language the admin speaks.
    labels = set()
    for language in ("en", "zh-hant", "zh-hans"):
        with translation.override(language):
            labels.add(str(AccessLevel.STAFF.label))
    assert any(label in html for label in labels)


def test_chooser_searches_titles_and_identifiers(client, admin, items):
    client.force_login(admin)
    url = reverse("themes_item_chooser:choose_results")
    html = modal_html(client.get(url, {"q": "茶樓"}))
    assert "西關茶樓憶舊" in html and "廣州府志" not in html
    html = modal_html(client.get(url, {"q": "tea-house"}))  # the English title
    assert "西關茶樓憶舊" in html and "廣州府志" not in html
    html = modal_html(client.get(url, {"q": "fuzhi"}))  # the public identifier
    assert "廣州府志" in html and "西關茶樓憶舊" not in html


def test_chooser_filters_by_kind(client, admin, items):
    client.force_login(admin)
    url = reverse("themes_item_chooser:choose_results")
    html = modal_html(client.get(url, {"kind": "oral_history"}))
    assert "西關茶樓憶舊" in html and "廣州府志" not in html
    html = modal_html(client.get(url, {"kind": "book_volume"}))
    assert "廣州府志" in html and "西關茶樓憶舊" not in html


def test_editors_who_are_not_staff_choose_only_public_items(client, editor, items):
    client.force_login(editor)
    html = modal_html(client.get(reverse("themes_item_chooser:choose")))
    assert "廣州府志" in html
    assert "未公開手稿" not in html and "ms-closed" not in html
    chosen = reverse("themes_item_chooser:chosen", args=[items["closed"].pk])
    assert client.get(chosen).status_code == 404


def test_chosen_returns_the_items_pk_and_title(client, admin, items):
    client.force_login(admin)
    item = items["volume"]
    response = client.get(reverse("themes_item_chooser:chosen", args=[item.pk]))
    result = response.json()["result"]
    assert result["id"] == str(item.pk)
    assert result["title"] == "廣州府志 卷一 (fuzhi-v1)"


def test_the_chooser_needs_the_admin(client, items):
    response = client.get(reverse("themes_item_chooser:choose"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_gallery_blocks_store_item_pks(items):
    block = ExhibitionStreamBlock()
    value = block.to_python(
        [
            {
                "type": "gallery",
                "value": {"title": "", "items": [items["volume"].pk]},
            }
        ]
    )
    gallery = value[0].value
    assert gallery["items"][0] == items["volume"]
    raw = block.get_prep_value(value)[0]["value"]["items"]
    assert [child["value"] for child in raw] == [items["volume"].pk]


# ---------------------------------------------------------------------------
# The editor: region picker and warnings
# ---------------------------------------------------------------------------


def test_the_editor_loads_the_region_picker(client, admin, items):
    page = exhibition_make(slug="editor-page")
    client.force_login(admin)
    response = client.get(reverse("wagtailadmin_pages:edit", args=[page.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "themes/admin/region-picker.js" in html
    assert "themes/admin/region-picker.css" in html
    assert "themes.blocks.IIIFImageBlock" in html  # the telepath constructor
    assert reverse("themes_region_picker") in html
    assert reverse("themes_item_chooser:choose") in html


def test_the_editor_previews_every_block(client, admin, items):
    client.force_login(admin)
    block = ExhibitionStreamBlock()
    for name, child in block.child_blocks.items():
        response = client.get(
            reverse("wagtailadmin_block_preview"), {"id": child.definition_prefix}
        )
        assert response.status_code == 200, name
        html = response.content.decode()
        assert "/static/themes/blocks.css" in html, name
        assert f"block-{name}" in html, name


def _page_with_pyramid(tmp_path, item) -> PageImage:
    """A real page (a small PNG made in memory) of ``item`` with its pyramid."""
    from PIL import Image

    from archive.services import asset_create
    from iiif.services import page_pyramid_make

    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (180, 40, 30)).save(buffer, "PNG")
    source = tmp_path / f"{item.public_id}.png"
    source.write_bytes(buffer.getvalue())
    asset, _ = asset_create(item=item, source=source, role=Asset.Role.PAGE)
    pyramid = page_pyramid_make(asset=asset)
    return PageImage.objects.create(
        item=item,
        sequence=1,
        asset=asset,
        width=pyramid.width,
        height=pyramid.height,
        label="封面",
    )


def test_region_picker_gives_the_page_image_to_draw(
    client, admin, editor, items, tmp_path
):
    page = _page_with_pyramid(tmp_path, items["closed"])
    url = reverse("themes_region_picker")
    client.force_login(admin)
    response = client.get(url, {"item": items["closed"].pk, "page": 1})
    assert response.status_code == 200
    data = response.json()
    assert (data["width"], data["height"], data["pages"]) == (300, 200, 1)
    assert f"/iiif/3/image/{page.public_id}~v" in data["src"]
    assert data["src"].endswith("/full/300,/0/default.jpg")
    image = client.get(urlsplit(data["src"]).path)
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert client.get(url, {"item": items["closed"].pk, "page": 2}).status_code == 404
    assert client.get(url, {"item": "x", "page": 1}).status_code == 404
    # An editor who may not see the item learns nothing about it.
    client.force_login(editor)
    assert client.get(url, {"item": items["closed"].pk, "page": 1}).status_code == 404


def _edit_data(page, blocks) -> dict:
    return nested_form_data(
        {
            "title": page.title,
            "slug": page.slug,
            "title_en": "",
            "summary": "",
            "summary_en": "",
            "body": streamfield(blocks),
            "comments": inline_formset([]),
        }
    )


def _warnings(response) -> list[str]:
    return [
        str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "warning"
    ]


def test_saving_an_exhibition_warns_about_items_that_are_not_public(
    client, admin, items
):
    page = exhibition_make(slug="warned")
    client.force_login(admin)
    blocks = [
        ("text", rich_text("<p>茶樓</p>")),
        (
            "quotation",
            {
                "text": "一盅兩件",
                "item": items["closed"].pk,
                "locator": "",
                "attribution": "",
            },
        ),
        (
            "gallery",
            {
                "title": "",
                "items": streamfield([("item", items["volume"].pk)]),
            },
        ),
    ]
    response = client.post(
        reverse("wagtailadmin_pages:edit", args=[page.pk]), _edit_data(page, blocks)
    )
    assert response.status_code == 302, response.content[:2000]
    page = ExhibitionPage.objects.get(pk=page.pk).get_latest_revision_as_object()
    assert [b.block_type for b in page.body] == ["text", "quotation", "gallery"]
    warnings = _warnings(response)
    assert len(warnings) == 1
    assert "未公開手稿 (ms-closed, " in warnings[0]
    assert "廣州府志" not in warnings[0]  # public: nothing to say


def test_saving_an_exhibition_of_public_items_gives_no_warning(client, admin, items):
    page = exhibition_make(slug="quiet")
    client.force_login(admin)
    blocks = [
        (
            "quotation",
            {
                "text": "一盅兩件",
                "item": items["volume"].pk,
                "locator": "",
                "attribution": "",
            },
        )
    ]
    response = client.post(
        reverse("wagtailadmin_pages:edit", args=[page.pk]), _edit_data(page, blocks)
    )
    assert response.status_code == 302
    assert _warnings(response) == []


def test_creating_an_exhibition_warns_too(client, admin, items):
    parent = theme_page()
    client.force_login(admin)
    data = nested_form_data(
        {
            "title": "新展覽",
            "slug": "new-exhibition",
            "title_en": "",
            "summary": "",
            "summary_en": "",
            "body": streamfield(
                [
                    (
                        "quotation",
                        {
                            "text": "一盅兩件",
                            "item": items["closed"].pk,
                            "locator": "",
                            "attribution": "",
                        },
                    )
                ]
            ),
            "comments": inline_formset([]),
        }
    )
    response = client.post(
        reverse("wagtailadmin_pages:add", args=["themes", "exhibitionpage", parent.pk]),
        data,
    )
    assert response.status_code == 302, response.content[:2000]
    assert ExhibitionPage.objects.filter(slug="new-exhibition").exists()
    warnings = _warnings(response)
    assert len(warnings) == 1 and "ms-closed" in warnings[0]


def test_the_warning_names_deleted_items(items):
    from themes.wagtail_hooks import exhibition_item_warnings

    page = exhibition_make(
        slug="deleted",
        body=[
            {
                "type": "gallery",
                "value": {"title": "", "items": [items["volume"].pk, 987654]},
            }
        ],
    )
    with translation.override("en"):
        warnings = exhibition_item_warnings(page)
    assert warnings == ["1 chosen item no longer exists; visitors see a placeholder."]


# ---------------------------------------------------------------------------
# The region picker in a real browser
# ---------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_dragging_on_the_page_fills_in_the_region(
    live_server, chromium_path, client, tmp_path, settings
):
    """The curator drags a rectangle on the page image; the Region field gets x,y,w,h."""
    import re

    from playwright.sync_api import sync_playwright

    settings.ARCHIVE_STORAGE_ROOT = tmp_path / "storage"
    admin = make_user("admin", superuser=True)
    item = ItemFactory(title="廣州府志 卷一", public_id="fuzhi-v1")
    _page_with_pyramid(tmp_path, item)
    page = exhibition_make(
        slug="picker",
        body=[
            {
                "type": "iiif_image",
                "value": {
                    "item": item.pk,
                    "page": 1,
                    "region": "full",
                    "caption": "",
                    "alt": "封面",
                },
            }
        ],
    )
    client.force_login(admin)
    session = client.cookies["sessionid"].value
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1000})
            context.add_cookies(
                [{"name": "sessionid", "value": session, "url": live_server.url}]
            )
            tab = context.new_page()
            tab.on("pageerror", lambda error: errors.append(str(error)))
            tab.goto(
                f"{live_server.url}{reverse('wagtailadmin_pages:edit', args=[page.pk])}"
            )
            picker = tab.locator(".region-picker")
            picker.wait_for(timeout=20_000)
            picker.locator("button").first.click()
            image = picker.locator(".region-picker-stage img")
            image.wait_for(state="visible", timeout=20_000)
            tab.wait_for_function(
                "img => img.complete && img.naturalWidth > 0",
                arg=image.element_handle(),
                timeout=20_000,
            )
            box = image.bounding_box()
            tab.mouse.move(
                box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.2
            )
            tab.mouse.down()
            tab.mouse.move(
                box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.7, steps=5
            )
            tab.mouse.up()
            region = tab.locator("#body-0-value-region").input_value()
            match = re.fullmatch(r"(\d+),(\d+),(\d+),(\d+)", region)
            assert match, region
            x, y, w, h = (int(n) for n in match.groups())
            # 10%..60% of 300 px wide and 20%..70% of 200 px high, give or take a pixel.
            assert abs(x - 30) <= 2 and abs(y - 40) <= 2, region
            assert abs(w - 150) <= 3 and abs(h - 100) <= 3, region
            assert picker.locator(".region-picker-box").is_visible()
            picker.locator("button").nth(1).click()  # the whole page
            assert tab.locator("#body-0-value-region").input_value() == "full"
        finally:
            browser.close()
    assert errors == []
