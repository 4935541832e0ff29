"""Sharing metadata of the public pages: Open Graph, Twitter cards, canonical links, JSON-LD.

Home, theme library, exhibition (``themes/seo.py``) and the item page
(``archive/seo.py``). The item tests use the sample archive, loaded once for
the module inside a transaction that is rolled back at the end.
"""

from __future__ import annotations

import json
import re
from html import unescape

import pytest

from archive.models import AccessLevel, Collection, Item, ThemeLibrary
from archive.seo import jsonld_script
from tests.archive.factories import ItemFactory, make_user
from tests.themes.factories import exhibition_make, theme_page
from themes.models import ThemeFeaturedItem

VOLUME = "gzdd-sanzijing-v1"
ORAL = "oh-teahouse-1938"
DOC = "doc-pearl-river-1950s"
HOST = "http://testserver"


def jsonld(html: str) -> list:
    """Every JSON-LD block of a page, parsed."""
    blocks = re.findall(
        r'<script type="application/ld\+json">(.*?)</script>', html, flags=re.S
    )
    return [json.loads(block) for block in blocks]


def meta(html: str, key: str) -> list[str]:
    """The contents of ``<meta property|name="key">`` tags, in order."""
    found = re.findall(
        rf'<meta (?:property|name)="{re.escape(key)}" content="([^"]*)">', html
    )
    return [unescape(value) for value in found]


def canonical(html: str) -> str:
    match = re.search(r'<link rel="canonical" href="([^"]*)">', html)
    assert match, "no canonical link"
    return unescape(match.group(1))


def get(client, url: str, language: str = "zh-hant", **extra) -> str:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language, **extra)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


# ---------------------------------------------------------------------------
# The JSON-LD element itself
# ---------------------------------------------------------------------------


def test_jsonld_script_cannot_be_broken_out_of():
    html = jsonld_script({"name": "</script><script>alert(1)</script> & <!--"})
    assert html.count("</script>") == 1 and html.endswith("</script>")
    assert "<script>alert" not in html and "<!--" not in html
    body = html.removeprefix('<script type="application/ld+json">')
    assert json.loads(body.removesuffix("</script>")) == {
        "name": "</script><script>alert(1)</script> & <!--"
    }


# ---------------------------------------------------------------------------
# Home, theme library, exhibition
# ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_home_has_open_graph_and_a_website_with_a_search_action(client):
    html = get(client, "/", language="en")
    assert canonical(html) == f"{HOST}/"
    assert meta(html, "og:url") == [f"{HOST}/"]
    assert meta(html, "og:type") == ["website"]
    assert meta(html, "og:title") == ["粵藏 Yuecang"]
    assert meta(html, "og:description")[0].startswith("Scans of the Guangzhou Dadian")
    assert meta(html, "og:locale") == ["en_GB"]
    assert meta(html, "og:locale:alternate") == ["zh_HK", "zh_CN"]
    assert meta(html, "twitter:card") == ["summary"]
    [site] = jsonld(html)
    assert site["@context"] == "https://schema.org"
    assert site["@type"] == "WebSite" and site["url"] == f"{HOST}/"
    action = site["potentialAction"]
    assert action["@type"] == "SearchAction"
    assert action["target"]["urlTemplate"] == f"{HOST}/search/?q={{search_term_string}}"
    assert action["query-input"] == "required name=search_term_string"


@pytest.mark.django_db
def test_og_locale_follows_the_ui_language(client):
    assert meta(get(client, "/", language="zh-hant"), "og:locale") == ["zh_HK"]
    assert meta(get(client, "/", language="zh-CN"), "og:locale") == ["zh_CN"]


@pytest.mark.django_db
def test_theme_page_is_a_collection_page_listing_only_public_items(client):
    lingnan = ThemeLibrary.objects.get(code="lingnan")
    shown = ItemFactory(title="公開 SEO-PUBLIC", title_en="Open record")
    hidden = ItemFactory(title="職員 SEO-STAFF", access_level=AccessLevel.STAFF)
    room = ItemFactory(title="閱覽室 SEO-ROOM", access_level=AccessLevel.READING_ROOM)
    for item in (shown, hidden, room):
        item.themes.add(lingnan)
    page = theme_page("lingnan")
    ThemeFeaturedItem.objects.create(page=page, item=hidden, sort_order=0)
    staff = make_user("seo-staff", groups=["Archivists"])
    client.force_login(staff)
    html = get(client, "/lingnan/")
    assert "SEO-STAFF" in html  # staff see it in the listing...
    [data] = jsonld(html)
    assert data["@type"] == "CollectionPage"
    assert data["url"] == f"{HOST}/lingnan/" == canonical(html)
    assert data["isPartOf"]["@type"] == "WebSite"
    listed = data["mainEntity"]["itemListElement"]
    # ...but the JSON-LD names only what anyone may see.
    assert [entry["item"]["name"] for entry in listed] == ["公開 SEO-PUBLIC"]
    assert listed[0]["position"] == 1
    assert listed[0]["item"]["url"] == f"{HOST}/items/{shown.public_id}/"
    assert listed[0]["item"]["alternateName"] == "Open record"
    assert "SEO-ROOM" not in json.dumps(data, ensure_ascii=False)
    assert meta(html, "og:title") == ["嶺南文化"]


@pytest.mark.django_db
def test_theme_page_canonical_keeps_the_page_number_but_not_filters(client):
    lingnan = ThemeLibrary.objects.get(code="lingnan")
    for n in range(13):
        ItemFactory(title=f"第{n}冊").themes.add(lingnan)
    assert canonical(get(client, "/lingnan/?page=2")) == f"{HOST}/lingnan/?page=2"
    assert (
        canonical(get(client, "/lingnan/?page=2&kind=book_volume"))
        == f"{HOST}/lingnan/"
    )


@pytest.mark.django_db
def test_exhibition_is_an_online_exhibition_event_and_its_title_cannot_escape(
    client,
):
    title = "茶樓</script><script>alert('x')</script>"
    page = exhibition_make(
        title=title, summary="西關茶樓的故事。", title_en="Tea houses", slug="seo-tea"
    )
    html = get(client, page.get_url())
    assert "<script>alert(" not in html
    [data] = jsonld(html)
    webpage, event = data["@graph"]
    assert webpage["@type"] == "WebPage" and webpage["name"] == title
    assert webpage["isPartOf"]["@id"] == f"{HOST}/lingnan/"
    assert event["@type"] == "ExhibitionEvent" and event["name"] == title
    assert event["eventAttendanceMode"] == (
        "https://schema.org/OnlineEventAttendanceMode"
    )
    assert event["location"] == {"@type": "VirtualLocation", "url": webpage["url"]}
    assert event["startDate"] == page.first_published_at.date().isoformat()
    assert webpage["mainEntity"] == {"@id": event["@id"]}
    assert meta(html, "og:type") == ["article"]
    assert meta(html, "og:title") == [title]
    assert meta(html, "og:description") == ["西關茶樓的故事。"]
    assert canonical(html) == f"{HOST}/lingnan/seo-tea/"


# ---------------------------------------------------------------------------
# Item pages (the sample archive)
# ---------------------------------------------------------------------------


def test_volume_is_a_book_with_its_agents_publisher_and_rights(client, sample):
    html = get(client, f"/items/{VOLUME}/")
    [book] = jsonld(html)
    assert book["@type"] == "Book"
    assert book["name"] == "三字經 卷上"
    assert book["alternateName"] == [
        "三字经 卷上",
        "Three Character Classic, first juan",
    ]
    assert book["url"] == f"{HOST}/items/{VOLUME}/" == canonical(html)
    assert book["inLanguage"] == "lzh"
    assert book["dateCreated"] == "1884"
    assert book["author"] == [
        {"@type": "Person", "name": "區適子", "alternateName": ["区适子", "Ou Shizi"]}
    ]
    assert [c["name"] for c in book["contributor"]] == ["粵藏堂"]
    assert book["publisher"]["@type"] == "Library"
    assert book["publisher"]["name"] == "廣州圖書館"
    assert book["publisher"]["url"] == f"{HOST}/institutions/gzlib/"
    work, collection = book["isPartOf"]
    assert work == {
        "@type": "Book",
        "name": "三字經",
        "alternateName": ["三字经", "Three Character Classic"],
    }
    assert collection["@type"] == "Collection" and collection["name"] == "經部"
    assert book["license"] == "http://creativecommons.org/publicdomain/mark/1.0/"
    assert book["thumbnailUrl"] == f"{HOST}/items/{VOLUME}/thumbnail.jpg"
    assert book["image"] == f"{HOST}/items/{VOLUME}/pages/1.jpg"
    assert [p["name"] for p in book["spatialCoverage"]] == ["廣州", "順德"]
    assert meta(html, "og:type") == ["book"]
    assert meta(html, "og:image") == [f"{HOST}/items/{VOLUME}/pages/1.jpg"]
    assert meta(html, "twitter:card") == ["summary_large_image"]
    assert meta(html, "og:title") == ["三字經 卷上"]
    # Traditional text is not run through s2hk (which writes 卷 as 捲).
    assert meta(html, "og:description")[0].startswith("三字經卷上，宋順德區適子撰。")
    # The image named for link previews is one an anonymous crawler can fetch.
    client.logout()
    assert client.get(f"/items/{VOLUME}/pages/1.jpg").status_code == 200


def test_og_title_follows_the_ui_language(client, sample):
    html = get(client, f"/items/{VOLUME}/", language="en")
    assert meta(html, "og:title") == ["Three Character Classic, first juan"]
    assert meta(html, "og:locale") == ["en_GB"]


def test_recordings_are_audio_and_video_objects(client, sample):
    [audio] = jsonld(get(client, f"/items/{ORAL}/"))
    assert audio["@type"] == "AudioObject"
    assert audio["inLanguage"] == "yue"
    assert audio["dateCreated"] == "2026-11"
    assert audio["creator"] == [
        {"@type": "Person", "name": "梁伯", "alternateName": "Uncle Leung (fictional)"}
    ]
    assert [c["name"] for c in audio["contributor"]] == ["espeak-ng"]
    assert audio["publisher"]["name"] == "荔灣區圖書館"
    assert audio["isPartOf"]["name"] == "粵語口述歷史"
    assert audio["license"] == "http://creativecommons.org/licenses/by/4.0/"
    assert "uploadDate" in audio
    html = get(client, f"/items/{DOC}/")
    [video] = jsonld(html)
    assert video["@type"] == "VideoObject"
    assert meta(html, "og:type") == ["video.other"]


def test_an_item_title_cannot_break_out_of_the_jsonld(client, sample):
    title = "珠江</script><script>alert(1)</script>"
    Item.objects.filter(public_id=DOC).update(title=title)
    html = get(client, f"/items/{DOC}/")
    assert "<script>alert(1)" not in html
    [video] = jsonld(html)
    assert video["name"] == title


def test_restricted_items_show_no_metadata_and_name_no_image(client, sample, settings):
    Item.objects.filter(public_id=ORAL).update(access_level=AccessLevel.STAFF)
    response = client.get(f"/items/{ORAL}/")
    assert response.status_code == 403
    body = response.content.decode()
    assert jsonld(body) == [] and "og:title" not in body and "西關茶樓" not in body
    # A reading-room visitor sees the page, but crawlers could not fetch its
    # images: none is named.
    settings.ARCHIVE_READING_ROOM_NETWORKS = ["10.0.0.0/8"]
    Item.objects.filter(public_id=VOLUME).update(access_level=AccessLevel.READING_ROOM)
    html = get(client, f"/items/{VOLUME}/", REMOTE_ADDR="10.1.2.3")
    [book] = jsonld(html)
    assert "thumbnailUrl" not in book and "image" not in book
    assert meta(html, "og:image") == []
    assert meta(html, "twitter:card") == ["summary"]


def test_theme_page_image_is_its_first_public_item(client, sample):
    page = theme_page("lingnan")
    volume = Item.objects.get(public_id=VOLUME)
    ThemeFeaturedItem.objects.create(page=page, item=volume, sort_order=0)
    html = get(client, "/lingnan/")
    assert meta(html, "og:image") == [f"{HOST}/items/{VOLUME}/pages/1.jpg"]
    [data] = jsonld(html)
    names = [e["item"]["name"] for e in data["mainEntity"]["itemListElement"]]
    assert names[0] == "三字經 卷上"
    assert Collection.objects.filter(code="gzdd-jing").exists()


def test_institution_pages_describe_the_library(client, db):
    from tests.archive.factories import InstitutionFactory

    InstitutionFactory(
        code="seo-lib", name="荔灣區圖書館</script>", name_en="Liwan District Library"
    )
    html = client.get("/institutions/seo-lib/", HTTP_ACCEPT_LANGUAGE="en").content
    html = html.decode()
    assert canonical(html).endswith("/institutions/seo-lib/")
    assert meta(html, "og:title") == ["Liwan District Library"]
    (data,) = jsonld(html)
    assert data["@type"] in ("Library", "Organization")
    # The record's own name, its other forms as alternates; nothing escapes the script.
    assert data["name"] == "荔灣區圖書館</script>"
    assert data["alternateName"] == "Liwan District Library"
    assert "荔灣區圖書館</script>" not in html.split("ld+json")[1].split("</script>")[0]

    listing = client.get("/institutions/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    (items,) = jsonld(listing)
    assert items["@type"] == "ItemList"
    names = [e["item"]["name"] for e in items["itemListElement"]]
    assert "荔灣區圖書館</script>" in names
    assert canonical(listing).endswith("/institutions/")
