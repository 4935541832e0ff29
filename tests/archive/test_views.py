"""Public pages: home, item page, tombstone, institutions, language and 繁/简 switches, health."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
from django.utils import timezone

from archive.http import _accel_uri
from archive.models import AccessLevel, Asset, WorkerHeartbeat
from archive.services import asset_create
from tests.archive.factories import InstitutionFactory, ItemFactory

pytestmark = pytest.mark.django_db


def test_home_lists_theme_libraries_and_public_items(client):
    ItemFactory(title="廣州府志 PUBLIC-HOME")
    ItemFactory(title="機密 HIDDEN-HOME", access_level=AccessLevel.STAFF)
    body = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    for name in ("紅色文化", "嶺南文化", "海絲文化", "創新文化"):
        assert name in body
    assert "PUBLIC-HOME" in body
    assert "HIDDEN-HOME" not in body


def test_item_page_shows_the_record(client):
    institution = InstitutionFactory(code="liwan", name="荔灣區圖書館")
    item = ItemFactory(
        title="三字經",
        title_en="Three Character Classic",
        date_text="清光緒十年",
        year_from=1884,
        year_to=1884,
        institution=institution,
    )
    response = client.get(f"/items/{item.public_id}/", HTTP_ACCEPT_LANGUAGE="zh-hant")
    body = response.content.decode()
    assert response.status_code == 200
    assert "三字經" in body and "清光緒十年" in body and "1884" in body
    assert "荔灣區圖書館" in body and item.public_id in body
    assert "http://rightsstatements.org/vocab/NoC-NC/1.0/" in body


def test_withdrawn_item_answers_410_with_a_tombstone(client):
    item = ItemFactory(
        title="撤回 SECRET-WITHDRAWN",
        access_level=AccessLevel.WITHDRAWN,
        withdrawn_note="應捐贈者要求撤回。",
    )
    response = client.get(f"/items/{item.public_id}/")
    body = response.content.decode()
    assert response.status_code == 410
    assert item.public_id in body and "應捐贈者要求撤回。" in body
    assert "SECRET-WITHDRAWN" not in body


def test_embargo_lifts_on_its_date(client):
    item = ItemFactory(
        access_level=AccessLevel.EMBARGOED,
        embargo_until=timezone.localdate() + dt.timedelta(days=1),
    )
    assert client.get(f"/items/{item.public_id}/").status_code == 403
    item.embargo_until = timezone.localdate()
    item.save()
    assert client.get(f"/items/{item.public_id}/").status_code == 200


def test_ui_language_follows_the_cookie_and_accept_language(client):
    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Theme libraries" in english and 'lang="en"' in english
    simplified = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert 'lang="zh-Hans"' in simplified and "主题馆" in simplified
    response = client.post("/i18n/setlang/", {"language": "zh-hant", "next": "/"})
    assert response.status_code == 302
    traditional = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="zh-Hant"' in traditional and "主題館" in traditional


def test_script_switch_converts_display_only(client):
    item = ItemFactory(title="廣州嶺南學堂")
    url = f"/items/{item.public_id}/"
    response = client.post("/display-script/", {"script": "hans", "next": url})
    assert response.status_code == 302 and response["Location"] == url
    assert "广州岭南学堂" in client.get(url).content.decode()
    client.post("/display-script/", {"script": "orig", "next": url})
    assert "廣州嶺南學堂" in client.get(url).content.decode()
    item.refresh_from_db()
    assert item.title == "廣州嶺南學堂"  # stored text untouched


def test_script_switch_refuses_foreign_redirects(client):
    response = client.post(
        "/display-script/", {"script": "hans", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_media_file_supports_byte_ranges(client, tmp_path):
    item = ItemFactory()
    source = tmp_path / "clip.bin"
    source.write_bytes(bytes(range(256)) * 4)
    asset, _ = asset_create(item=item, source=source, role=Asset.Role.MEDIA)
    url = f"/items/{item.public_id}/files/{asset.pk}"
    whole = client.get(url)
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes"
    part = client.get(url, HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206
    assert part["Content-Range"] == "bytes 10-19/1024"
    assert b"".join(part.streaming_content) == bytes(range(10, 20))
    tail = client.get(url, HTTP_RANGE="bytes=-4")
    assert b"".join(tail.streaming_content) == bytes(range(252, 256))
    assert client.get(url, HTTP_RANGE="bytes=5000-").status_code == 416


def test_media_file_behind_nginx_is_handed_over_with_x_accel_redirect(
    client, tmp_path, settings
):
    """With ARCHIVE_ACCEL_REDIRECT the door decides and nginx sends the bytes."""
    settings.ARCHIVE_ACCEL_REDIRECT = "/_storage/"
    item = ItemFactory()
    source = tmp_path / "訪談.wav"
    source.write_bytes(bytes(range(256)) * 4)
    asset, _ = asset_create(item=item, source=source, role=Asset.Role.MEDIA)
    url = f"/items/{item.public_id}/files/{asset.pk}"
    response = client.get(url, HTTP_RANGE="bytes=10-19")
    # nginx answers the range from the file itself: Django sends no body.
    assert response.status_code == 200 and response.content == b""
    assert response["X-Accel-Redirect"] == "/_storage/" + quote(asset.storage_path)
    assert response["Cache-Control"] and response["X-Content-Type-Options"] == "nosniff"
    assert "Content-Range" not in response
    assert "%E8%A8%AA%E8%AB%87.wav" in response["Content-Disposition"]
    # The access decision still comes first: a refused visitor gets no hand-over.
    item.access_level = AccessLevel.STAFF
    item.save()
    refused = client.get(url)
    assert refused.status_code == 403 and "X-Accel-Redirect" not in refused
    # A file outside the storage root is sent by Django, as without nginx.
    assert _accel_uri(asset.path) is not None
    assert _accel_uri(source) is None


def test_institution_pages_browse_by_institution(client):
    liwan = InstitutionFactory(code="liwan", name="荔灣區圖書館")
    other = InstitutionFactory(code="yuexiu", name="越秀區圖書館")
    ItemFactory(title="西關大屋 LIWAN-ITEM", institution=liwan)
    ItemFactory(title="北京路 YUEXIU-ITEM", institution=other)
    listing = client.get("/institutions/").content.decode()
    assert "荔灣區圖書館" in listing and "越秀區圖書館" in listing
    detail = client.get("/institutions/liwan/").content.decode()
    assert "LIWAN-ITEM" in detail and "YUEXIU-ITEM" not in detail
    assert client.get("/institutions/nowhere/").status_code == 404


def test_healthz_reports_each_component(client):
    body = client.get("/healthz").json()
    assert set(body["components"]) == {
        "database",
        "broker",
        "worker",
        "search",
        "storage",
    }
    assert body["components"]["database"]["state"] == "ok"
    assert body["components"]["worker"]["state"] == "down"  # no worker has reported
    assert body["status"] == "degraded"
    WorkerHeartbeat.objects.create(hostname="w1", last_seen=timezone.now())
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["components"]["worker"]["state"] == "ok"


def test_healthz_calls_a_stale_worker_down(client, settings):
    settings.ARCHIVE_HEARTBEAT_MAX_AGE = 60
    WorkerHeartbeat.objects.create(
        hostname="w1", last_seen=timezone.now() - dt.timedelta(seconds=120)
    )
    assert client.get("/healthz").json()["components"]["worker"]["state"] == "down"


def test_healthz_answers_503_when_storage_is_unusable(client, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    settings.ARCHIVE_STORAGE_ROOT = blocker / "storage"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["components"]["storage"]["state"] == "down"


def test_language_neutral_urls_do_not_vary_on_accept_language(client):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Accept-Language" in page.get("Vary", "")
    image = client.get(
        "/iiif/3/image/no-such-image/info.json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert image.status_code == 404
    assert "Accept-Language" not in image.get("Vary", "")
    assert "Content-Language" not in image


@pytest.mark.parametrize(
    ("stored", "hant", "hans"),
    [
        # Traditional text is never run through Simplified-to-Traditional:
        # OpenCC would read 卷上 as "roll up" and write 捲上.
        ("三字經 卷上", "三字經 卷上", "三字经 卷上"),
        ("卷上", "卷上", "卷上"),
        ("皇后", "皇后", "皇后"),
        ("咸豐三年", "咸豐三年", "咸丰三年"),
        # Simplified text is converted, phrases included.
        ("广州的图书馆", "廣州的圖書館", "广州的图书馆"),
        ("头发", "頭髮", "头发"),
        ("咸丰三年", "咸豐三年", "咸丰三年"),
        # Cantonese characters stay as they are in both scripts.
        ("我哋喺度食咗飯", "我哋喺度食咗飯", "我哋喺度食咗饭"),
    ],
)
def test_display_conversion_never_rewrites_traditional_text(stored, hant, hans):
    from archive.scripts import convert_for_display

    assert convert_for_display(stored, "hant") == hant
    assert convert_for_display(stored, "hans") == hans
    assert convert_for_display(stored, "orig") == stored
