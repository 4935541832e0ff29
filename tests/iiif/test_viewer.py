"""The Mirador viewer without a browser: the item page's viewer and the compare page."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders

from archive.models import AccessLevel, Item
from tests.archive.factories import ItemFactory, make_user

pytestmark = pytest.mark.django_db

HOST = "http://testserver"


def test_mirador_bundle_is_a_static_file():
    """``make install`` runs ``npm ci``; Django then serves Mirador with no CDN."""
    path = finders.find("mirador/mirador.min.js")
    assert path, "node_modules/mirador/dist is missing: run `make install` (npm ci)"


def test_mirador_bundle_is_a_production_build():
    """Mirador's own UMD file carries React's development build, which logs console
    errors; ``npm run build`` bundles it in production mode instead."""
    path = finders.find("mirador/mirador.min.js")
    with open(path, "rb") as bundle:
        content = bundle.read()
    assert b"Download the React DevTools" not in content
    assert content.startswith(b"var Mirador=")


def test_mirador_bundle_is_served(client):
    response = client.get("/static/mirador/mirador.min.js")
    assert response.status_code == 200
    assert b"Mirador" in b"".join(response.streaming_content)[:2000]


@pytest.mark.parametrize("kind", [Item.Kind.BOOK_VOLUME, Item.Kind.IMAGE_SET])
def test_image_item_page_embeds_the_viewer(client, kind):
    item = ItemFactory(kind=kind, public_id="gzdd-test-v1")
    body = client.get("/items/gzdd-test-v1/").content.decode()
    manifest = f"{HOST}/iiif/3/manifest/{item.public_id}"
    assert 'data-mirador="item"' in body
    assert f'data-manifests="{manifest}"' in body
    # The manifest URL is visible and linked, and IIIF drag and drop carries it.
    assert f'<a class="iiif-manifest" href="{manifest}"><code>{manifest}</code>' in body
    assert (
        f'href="{manifest}?manifest=http%3A%2F%2Ftestserver%2Fiiif%2F3%2Fmanifest%2F'
        f'{item.public_id}"' in body
    )
    assert f'href="/viewer/?item={item.public_id}"' in body
    assert "/static/mirador/mirador.min.js" in body
    assert "/static/iiif/viewer.js" in body
    # The viewer replaces the plain page grid.
    assert 'class="page-grid"' not in body


def test_noscript_lists_the_page_images(client, tmp_path):
    from archive.models import Asset, PageImage
    from archive.services import asset_create
    from tests.archive.factories import jpeg_bytes

    item = ItemFactory(public_id="gzdd-test-v2")
    for sequence in (1, 2):
        source = tmp_path / f"p{sequence}.jpg"
        source.write_bytes(jpeg_bytes(color=(sequence * 40, 90, 90)))
        asset, _ = asset_create(item=item, source=source, role=Asset.Role.PAGE)
        PageImage.objects.create(
            item=item, sequence=sequence, asset=asset, width=64, height=96
        )
    body = client.get("/items/gzdd-test-v2/").content.decode()
    noscript = body.split("<noscript>", 1)[1].split("</noscript>", 1)[0]
    assert 'href="/items/gzdd-test-v2/pages/1.jpg"' in noscript
    assert 'href="/items/gzdd-test-v2/pages/2.jpg"' in noscript
    assert 'data-thumbnails="far-bottom"' in body


@pytest.mark.parametrize(
    ("language", "expected"),
    [("zh-hant", "zh-hant"), ("zh-hans", "zh-hans"), ("en", "en")],
)
def test_viewer_language_follows_the_page(client, language, expected):
    ItemFactory(public_id="gzdd-test-v3")
    client.cookies["yc_language"] = language
    body = client.get("/items/gzdd-test-v3/").content.decode()
    assert f'data-language="{expected}"' in body


def test_recordings_do_not_get_the_image_viewer(client):
    item = ItemFactory(kind=Item.Kind.ORAL_HISTORY)
    body = client.get(f"/items/{item.public_id}/").content.decode()
    assert "data-mirador" not in body


def test_compare_page_without_items_is_a_chooser(client):
    ItemFactory(title="三字經 CHOOSABLE", public_id="gzdd-choose-v1")
    ItemFactory(title="REC-NOT-OFFERED", kind=Item.Kind.ORAL_HISTORY)
    ItemFactory(title="STAFF-NOT-OFFERED", access_level=AccessLevel.STAFF)
    response = client.get("/viewer/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "data-mirador" not in body and "mirador.min.js" not in body
    assert 'value="gzdd-choose-v1"' in body and "CHOOSABLE" in body
    assert "REC-NOT-OFFERED" not in body and "STAFF-NOT-OFFERED" not in body


def test_compare_page_offers_staff_what_staff_may_see(client):
    ItemFactory(title="STAFF-OFFERED", access_level=AccessLevel.STAFF)
    client.force_login(make_user("viewer-staff", groups=["Archivists"]))
    assert "STAFF-OFFERED" in client.get("/viewer/").content.decode()


def test_compare_page_opens_two_items_side_by_side(client):
    first = ItemFactory(public_id="gzdd-compare-v1")
    second = ItemFactory(public_id="compare-image", kind=Item.Kind.IMAGE_SET)
    response = client.get(f"/viewer/?item={first.public_id}&item={second.public_id}")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-mirador="compare"' in body
    assert (
        f'data-manifests="{HOST}/iiif/3/manifest/gzdd-compare-v1 '
        f'{HOST}/iiif/3/manifest/compare-image"' in body
    )
    # The chooser keeps both choices selected.
    assert '<option value="gzdd-compare-v1" selected>' in body
    assert '<option value="compare-image" selected>' in body
    assert response["Cache-Control"] == "private, no-cache"


def test_compare_page_may_open_one_item_twice(client):
    ItemFactory(public_id="gzdd-twice-v1")
    response = client.get("/viewer/?item=gzdd-twice-v1&item=gzdd-twice-v1")
    assert response.status_code == 200


def test_compare_page_ignores_an_empty_choice(client):
    ItemFactory(public_id="gzdd-single-v1")
    response = client.get("/viewer/?item=gzdd-single-v1&item=")
    body = response.content.decode()
    assert response.status_code == 200
    assert f'data-manifests="{HOST}/iiif/3/manifest/gzdd-single-v1"' in body


def test_compare_page_refuses_more_than_two_items(client):
    for n in (1, 2, 3):
        ItemFactory(public_id=f"gzdd-many-v{n}")
    response = client.get(
        "/viewer/?item=gzdd-many-v1&item=gzdd-many-v2&item=gzdd-many-v3"
    )
    assert response.status_code == 400


@pytest.mark.parametrize("public_id", ["no-such-item", "../../etc", "X" * 300])
def test_compare_page_unknown_item_is_404(client, public_id):
    assert client.get("/viewer/", {"item": public_id}).status_code == 404


def test_compare_page_only_opens_image_items(client):
    recording = ItemFactory(kind=Item.Kind.ORAL_HISTORY)
    assert client.get(f"/viewer/?item={recording.public_id}").status_code == 404


@pytest.mark.parametrize(
    ("level", "status"),
    [(AccessLevel.STAFF, 403), (AccessLevel.READING_ROOM, 403)],
)
def test_compare_page_refuses_restricted_items_without_naming_them(
    client, level, status
):
    public = ItemFactory(public_id="gzdd-open-v1")
    hidden = ItemFactory(title="秘本 SECRET-COMPARE", access_level=level)
    response = client.get(f"/viewer/?item={public.public_id}&item={hidden.public_id}")
    body = response.content.decode()
    assert response.status_code == status
    assert "SECRET-COMPARE" not in body and "data-mirador" not in body
    assert response["Cache-Control"] == "private, no-store"


def test_compare_page_shows_a_withdrawn_item_as_a_tombstone(client):
    item = ItemFactory(title="撤回 SECRET-GONE", access_level=AccessLevel.WITHDRAWN)
    response = client.get(f"/viewer/?item={item.public_id}")
    assert response.status_code == 410
    assert "SECRET-GONE" not in response.content.decode()


def test_staff_may_compare_restricted_items(client):
    hidden = ItemFactory(title="STAFF-COMPARE", access_level=AccessLevel.STAFF)
    client.force_login(make_user("viewer-staff-2", groups=["Archivists"]))
    response = client.get(f"/viewer/?item={hidden.public_id}")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
