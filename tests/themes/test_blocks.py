"""Exhibition blocks render real sample data, and validate what curators enter.

The sample archive (``ingest/sample``: the 三字經 volume, the oral history,
the documentary clip) is loaded once for the module inside a transaction that
is rolled back at the end (each test runs in a savepoint of it), and its
stored files live in one folder for the module.
"""

from __future__ import annotations

import io
import re
from html import unescape
from itertools import count
from urllib.parse import urlsplit

import pytest
from wagtail.blocks.struct_block import StructBlockValidationError

from archive.models import Asset
from tests.themes.factories import exhibition_make
from themes.blocks import (
    ExhibitionStreamBlock,
    chosen_item_ids,
    region_parse,
    srcset_widths,
)

VOLUME = "gzdd-sanzijing-v1"
ORAL = "oh-teahouse-1938"
DOC = "doc-pearl-river-1950s"
IMAGE_SET = "iiif-validator-test-image"

_slugs = count(1)


# ---------------------------------------------------------------------------
# Fixtures and helpers (shared with test_blocks_access.py)
# ---------------------------------------------------------------------------


def media_asset(item) -> Asset:
    return item.assets.filter(role=Asset.Role.MEDIA).order_by("pk").first()


def render(client, *blocks, language: str = "en") -> str:
    """The HTML of a published exhibition made of ``blocks`` ((type, value) pairs)."""
    page = exhibition_make(
        slug=f"exhibition-{next(_slugs)}",
        body=[{"type": kind, "value": value} for kind, value in blocks],
    )
    response = client.get(page.get_url(), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def path_of(url: str) -> str:
    """The site path of an absolute or relative URL (the test client's form)."""
    parts = urlsplit(unescape(url))
    return parts.path + (f"?{parts.query}" if parts.query else "")


def attr(html: str, tag: str, name: str) -> str:
    """The value of ``name`` on the first ``<tag …>`` of ``html``."""
    element = re.search(rf"<{tag}\b[^>]*>", html)
    assert element, f"no <{tag}> in the HTML"
    value = re.search(rf'\s{name}="([^"]*)"', element.group(0))
    assert value, f"<{tag}> has no {name}"
    return unescape(value.group(1))


def body_of(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def stream_block(name: str):
    return ExhibitionStreamBlock().child_blocks[name]


def clean_errors(name: str, value: dict) -> dict:
    """The per-field errors ``clean`` raises for a block value (empty when valid)."""
    block = stream_block(name)
    try:
        block.clean(block.to_python(value))
    except StructBlockValidationError as error:
        return error.block_errors
    return {}


def image_value(item, **fields) -> dict:
    return {
        "item": item.pk if item is not None else None,
        "page": 1,
        "region": "full",
        "caption": "",
        "alt": "三字經書影",
        **fields,
    }


def transcript_for(item, **fields):
    """The oral history's transcript (the seven lines of tests.transcription.doors)."""
    from tests.transcription.doors import transcript_make

    return transcript_make(item, **fields)


# ---------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region_width", "widths"),
    [
        (300, [300]),
        (400, [400]),
        (600, [400, 600]),
        (1200, [400, 800, 1200]),
        (1999, [400, 800, 1200, 1999]),
        (5000, [400, 800, 1200, 2000]),
    ],
)
def test_srcset_widths_never_exceed_the_region(region_width, widths):
    assert srcset_widths(region_width) == widths


@pytest.mark.parametrize(
    ("region", "box"),
    [
        ("full", (0, 0, 1200, 1800)),
        (" FULL ", (0, 0, 1200, 1800)),
        ("0,0,1200,1800", (0, 0, 1200, 1800)),
        ("100, 200, 300, 400", (100, 200, 300, 400)),
    ],
)
def test_region_parse_accepts_full_and_boxes_inside_the_page(region, box):
    assert region_parse(region, 1200, 1800) == box


@pytest.mark.parametrize(
    ("region", "code"),
    [
        ("", "region_syntax"),
        ("square", "region_syntax"),
        ("pct:0,0,50,50", "region_syntax"),
        ("1,2,3", "region_syntax"),
        ("-1,0,10,10", "region_syntax"),
        ("0,0,0,10", "region_empty"),
        ("0,0,1201,10", "region_outside"),
        ("1100,1700,101,50", "region_outside"),
    ],
)
def test_region_parse_refuses_bad_regions(region, code):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        region_parse(region, 1200, 1800)
    assert error.value.code == code


def test_chosen_item_ids_reads_every_block_once_in_order():
    body = [
        {"type": "text", "value": "<p>x</p>"},
        {"type": "iiif_image", "value": {"item": 3, "page": 1}},
        {"type": "gallery", "value": {"items": [{"type": "item", "value": 5}, 3, 7]}},
        {"type": "quotation", "value": {"text": "q", "item": None}},
        {"type": "clip", "value": {"item": "9", "start": 0, "end": 1}},
    ]
    assert chosen_item_ids(body) == [3, 5, 7, 9]


# ---------------------------------------------------------------------------
# text
# ---------------------------------------------------------------------------


def test_text_block_renders_rich_text(client, db):
    html = render(client, ("text", "<h2>茶樓</h2><p>一盅兩件。</p>"))
    assert (
        '<div class="block-text" lang="zh-Hant"><h2>茶樓</h2><p>一盅兩件。</p></div>'
        in html
    )


def test_page_links_the_block_css_and_clip_script(client, db):
    html = render(client, ("text", "<p>x</p>"))
    assert 'href="/static/themes/blocks.css"' in html
    assert 'src="/static/themes/clip.js"' in html
    assert client.get("/static/themes/blocks.css").status_code == 200
    assert client.get("/static/themes/clip.js").status_code == 200


# ---------------------------------------------------------------------------
# iiif_image
# ---------------------------------------------------------------------------


def test_iiif_image_crop_renders_image_api_urls_that_resolve(client, sample):
    from PIL import Image

    volume = sample[VOLUME]
    page = volume.pages.get(sequence=2)
    html = render(
        client,
        (
            "iiif_image",
            image_value(
                volume, page=2, region="100,200,600,900", caption="人之初，性本善"
            ),
        ),
    )
    figure = html[html.index('<figure class="block-iiif-image">') :]
    figure = figure[: figure.index("</figure>")]
    service = f"/iiif/3/image/{page.public_id}~v"
    src = path_of(attr(figure, "img", "src"))
    assert src.startswith(service)
    assert src.endswith("/100,200,600,900/600,/0/default.jpg")
    srcset = [entry.split() for entry in attr(figure, "img", "srcset").split(", ")]
    assert [w for _, w in srcset] == ["400w", "600w"]
    assert attr(figure, "img", "sizes")
    assert attr(figure, "img", "width") == "600"
    assert attr(figure, "img", "height") == "900"
    assert attr(figure, "img", "loading") == "lazy"
    assert attr(figure, "img", "alt") == "三字經書影"
    assert "<figcaption>" in figure and "人之初，性本善" in figure
    assert f'href="/items/{VOLUME}/#page=2&amp;xywh=100,200,600,900"' in figure
    assert "See this detail in the viewer" in figure
    for url, width in srcset:
        response = client.get(path_of(url))
        assert response.status_code == 200, url
        assert response["Content-Type"] == "image/jpeg"
        image = Image.open(io.BytesIO(body_of(response)))
        assert image.size == (int(width[:-1]), round(900 * int(width[:-1]) / 600))


def test_iiif_image_full_page_offers_widths_up_to_the_page(client, sample):
    html = render(client, ("iiif_image", image_value(sample[VOLUME])))
    widths = [e.split()[1] for e in attr(html, "img", "srcset").split(", ")]
    assert widths == ["400w", "800w", "1200w"]
    assert "/full/800,/0/default.jpg" in attr(html, "img", "src")
    assert (attr(html, "img", "width"), attr(html, "img", "height")) == ("800", "1200")
    assert f'href="/items/{VOLUME}/#page=1"' in html
    assert "See the whole page in the viewer" in html
    response = client.get(path_of(attr(html, "img", "src")))
    assert response.status_code == 200


def test_iiif_image_validation(sample):
    volume = sample[VOLUME]
    assert clean_errors("iiif_image", image_value(volume)) == {}
    assert clean_errors("iiif_image", image_value(volume, region="0,0,1200,1800")) == {}
    assert "region" in clean_errors(
        "iiif_image", image_value(volume, region="0,0,2000,10")
    )
    assert "region" in clean_errors("iiif_image", image_value(volume, region="nope"))
    assert "region" in clean_errors("iiif_image", image_value(volume, region="0,0,0,5"))
    assert "page" in clean_errors("iiif_image", image_value(volume, page=11))
    assert "alt" in clean_errors("iiif_image", image_value(volume, alt=""))
    assert "item" in clean_errors("iiif_image", {**image_value(volume), "item": None})


def test_iiif_image_clean_stores_the_region_without_spaces(sample):
    block = stream_block("iiif_image")
    value = block.clean(
        block.to_python(image_value(sample[VOLUME], region=" 1, 2, 30, 40 "))
    )
    assert value["region"] == "1,2,30,40"
    value = block.clean(block.to_python(image_value(sample[VOLUME], region="FULL")))
    assert value["region"] == "full"


# ---------------------------------------------------------------------------
# clip
# ---------------------------------------------------------------------------


def test_clip_plays_the_listening_door_with_captions_and_excerpt(client, sample):
    oral = sample[ORAL]
    asset = media_asset(oral)
    transcript_for(oral)
    html = render(
        client,
        ("clip", {"item": oral.pk, "start": 4.5, "end": 18, "caption": "飲茶"}),
    )
    figure = html[html.index('<figure class="block-clip"') :]
    figure = figure[: figure.index("</figure>")]
    assert 'data-start="4.5"' in figure and 'data-end="18"' in figure
    audio = re.search(r"<audio\b[^>]*>", figure).group(0)
    assert 'class="clip-player"' in audio and "controls" in audio
    assert 'preload="metadata"' in audio
    src = attr(figure, "audio", "src")
    assert src == f"/items/{ORAL}/listen/{asset.pk}#t=4.5,18"
    assert attr(figure, "track", "kind") == "captions"
    track = attr(figure, "track", "src")
    assert track == f"/items/{ORAL}/transcript.vtt"
    assert attr(figure, "track", "srclang") == "yue"
    # The excerpt: the lines overlapping 4.5–18 s, and no others.
    assert "阿爺每朝都帶我去蓮香樓" in figure
    assert "你仲記唔記得嗰陣時嘅點心" in figure
    assert "蝦餃燒賣" in figure
    assert "我細個嗰陣" not in figure
    assert "一九三八年日本仔" not in figure
    assert "飲茶" in figure
    media = client.get(src.split("#")[0], HTTP_RANGE="bytes=0-1023")
    assert media.status_code == 206
    assert media["Content-Type"].startswith("audio/")
    vtt = client.get(track)
    assert vtt.status_code == 200
    assert vtt["Content-Type"].startswith("text/vtt")


def test_clip_of_a_documentary_is_a_video_with_its_poster(client, sample):
    doc = sample[DOC]
    asset = media_asset(doc)
    html = render(client, ("clip", {"item": doc.pk, "start": 2, "end": 8.25}))
    video = re.search(r"<video\b[^>]*>", html).group(0)
    assert 'class="clip-player"' in video and 'preload="metadata"' in video
    src = attr(html, "video", "src")
    assert src == f"/items/{DOC}/listen/{asset.pk}#t=2,8.25"
    assert attr(html, "video", "poster") == f"/items/{DOC}/poster/{asset.pk}.jpg"
    # No transcript yet: neither captions nor an excerpt.
    assert "<track" not in html
    assert "clip-excerpt" not in html
    response = client.get(src.split("#")[0])
    assert response.status_code in (200, 206)
    assert response["Content-Type"].startswith("video/")
    assert client.get(attr(html, "video", "poster")).status_code == 200


def test_clip_excerpt_shows_closed_passages_without_their_text(client, sample):
    from tests.transcription.doors import close_passages

    oral = sample[ORAL]
    transcript = transcript_for(oral)
    close_passages(oral, (24.0, 30.0))
    # A segment of its own stricter level is hidden from the public too.
    transcript.segments.filter(start=9.0).update(access_level="staff")
    html = render(client, ("clip", {"item": oral.pk, "start": 8, "end": 36}))
    excerpt = html[html.index('class="clip-excerpt"') :]
    assert "closed passage 0:24–0:30" in excerpt
    assert "closed passage 0:09–0:12" in excerpt
    assert "屋企有啲事" not in html
    assert "你仲記唔記得嗰陣時嘅點心" not in html
    assert "後來返到嚟，茶樓已經冇咗。" in excerpt
    assert "阿爺每朝都帶我去蓮香樓" in excerpt
    # The door the clip plays silences the closed passage for the public.
    src = attr(html, "audio", "src").split("#")[0]
    assert client.get(src, HTTP_RANGE="bytes=0-99").status_code == 206


def test_clip_validation(sample):
    oral, volume = sample[ORAL], sample[VOLUME]
    value = {"item": oral.pk, "start": 10, "end": 20, "caption": ""}
    assert clean_errors("clip", value) == {}
    assert "end" in clean_errors("clip", {**value, "end": 10})
    assert "end" in clean_errors("clip", {**value, "end": 5})
    # The interview is 63.9 s long.
    assert "end" in clean_errors("clip", {**value, "end": 64.5})
    assert clean_errors("clip", {**value, "end": 63.5}) == {}
    assert "item" in clean_errors("clip", {**value, "item": volume.pk})
    assert "start" in clean_errors("clip", {**value, "start": -1})


# ---------------------------------------------------------------------------
# gallery, quotation, volume
# ---------------------------------------------------------------------------


def test_gallery_shows_item_cards_with_thumbnails(client, sample):
    volume, oral, image_set = sample[VOLUME], sample[ORAL], sample[IMAGE_SET]
    html = render(
        client,
        (
            "gallery",
            {"title": "館藏選粹", "items": [volume.pk, oral.pk, image_set.pk]},
        ),
        language="zh-hant",
    )
    gallery = html[html.index('<section class="block-gallery">') :]
    gallery = gallery[: gallery.index("</section>")]
    assert "館藏選粹" in gallery
    cards = re.findall(r'<li class="gallery-card">.*?</li>', gallery, re.S)
    assert len(cards) == 3
    assert f'href="/items/{VOLUME}/"' in cards[0]
    assert f'src="/items/{VOLUME}/thumbnail.jpg"' in cards[0]
    assert volume.title in cards[0]
    assert str(volume.get_kind_display()) in cards[0]
    assert "<img" not in cards[1]  # a recording has no page to show
    assert oral.title in cards[1]
    assert f'src="/items/{IMAGE_SET}/thumbnail.jpg"' in cards[2]
    for item in (volume, image_set):
        response = client.get(f"/items/{item.public_id}/thumbnail.jpg")
        assert response.status_code == 200


def test_quotation_cites_and_links_its_item(client, sample):
    oral = sample[ORAL]
    html = render(
        client,
        (
            "quotation",
            {
                "text": "一盅兩件，\n歎返個早茶。",
                "item": oral.pk,
                "locator": "00:00:12",
                "attribution": "梁伯",
            },
        ),
        language="zh-hant",
    )
    quote = html[html.index('<blockquote class="block-quotation"') :]
    assert "一盅兩件，<br>歎返個早茶。" in quote
    cite = re.search(r"<cite>.*?</cite>", quote, re.S).group(0)
    assert f'<a href="/items/{ORAL}/">{oral.title}</a>, 00:00:12' in cite
    assert "梁伯" in quote


def test_quotation_without_an_item(client, db):
    html = render(
        client,
        (
            "quotation",
            {"text": "食咗飯未？", "item": None, "locator": "", "attribution": "街坊"},
        ),
    )
    assert '<blockquote class="block-quotation">' in html
    assert "食咗飯未？" in html and "街坊" in html
    assert "block-placeholder" not in html


def test_volume_embeds_the_item_pages_mirador_viewer(client, sample):
    html = render(client, ("volume", {"item": sample[VOLUME].pk, "caption": "卷上"}))
    figure = html[html.index('<figure class="block-volume">') :]
    assert 'data-mirador="item"' in figure
    manifest = attr(figure, "div", "data-manifests")
    assert manifest.endswith(f"/iiif/3/manifest/{VOLUME}")
    assert attr(figure, "div", "data-thumbnails") == "far-bottom"
    assert "/static/mirador/mirador.min.js" in figure
    assert "/static/iiif/viewer.js" in figure
    assert "卷上" in figure
    assert client.get(path_of(manifest)).status_code == 200


def test_volume_validation(sample):
    assert clean_errors("volume", {"item": sample[VOLUME].pk}) == {}
    assert "item" in clean_errors("volume", {"item": sample[ORAL].pk})
    assert "item" in clean_errors("volume", {"item": None})


# ---------------------------------------------------------------------------
# Editor previews
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["text", "iiif_image", "clip", "gallery", "quotation", "volume"]
)
def test_every_block_has_an_icon_a_template_and_a_preview(name, sample, rf):
    from django.contrib.auth.models import AnonymousUser

    block = stream_block(name)
    assert block.meta.icon != "placeholder"
    assert block.meta.template.startswith("themes/blocks/")
    assert block.is_previewable
    request = rf.get("/")
    request.user = AnonymousUser()
    html = block.render(block.get_preview_value(), context={"request": request})
    assert html.strip()
    assert "block-placeholder" not in html
