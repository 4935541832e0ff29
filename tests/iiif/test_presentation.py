"""IIIF Presentation 3.0: manifests, collections and records, through the HTTP client.

Every document the sample archive produces is validated against the IIIF
Presentation 3.0 JSON Schema of the presentation validator
(``tests/data/iiif/iiif_3_0.json``) with one helper, which is itself shown to
reject the validator's broken fixtures and accept its valid ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import jsonschema
import pytest
from django.test import RequestFactory
from django.utils import timezone

from archive.models import (
    AccessLevel,
    Agent,
    Asset,
    Collection,
    Institution,
    Item,
    PageImage,
    ThemeLibrary,
)
from archive.services import asset_create
from iiif import presentation, presentation_signals, selectors
from iiif.identifiers import image_service_id
from tests.archive.factories import (
    CollectionFactory,
    InstitutionFactory,
    ItemFactory,
    jpeg_bytes,
    make_user,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "iiif"
HOST = "http://testserver"
LD_JSON = 'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"'
VOLUME = "gzdd-sanzijing-v1"
ORAL_HISTORY = "oh-teahouse-1938"
DOCUMENTARY = "doc-pearl-river-1950s"
FLAC_SECONDS = 63.85

_SCHEMA = json.loads((DATA / "iiif_3_0.json").read_text(encoding="utf-8"))
_VALIDATOR_CLASS = jsonschema.validators.validator_for(_SCHEMA)
_VALIDATOR = _VALIDATOR_CLASS(_SCHEMA, format_checker=_VALIDATOR_CLASS.FORMAT_CHECKER)

#: Fixtures of the presentation validator that are invalid on purpose: the
#: ``broken_*`` ones, ``non_cc_license.json`` (its ``rights`` is neither a
#: Creative Commons nor a RightsStatements.org URI: the validator's own tests
#: list it as bad) and ``collection_of_canvases.json`` (a Collection's items
#: must be Collections or Manifests, Presentation 3.0 §5.1).
INVALID_FIXTURES = {"non_cc_license.json", "collection_of_canvases.json"}

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _signals_and_cache(settings):
    """Handlers connected (``IiifConfig.ready`` does it), a cold cache, ids from the host."""
    from django.core.cache import cache

    settings.IIIF_BASE_URL = ""
    settings.IIIF_IMAGE_BASE = ""
    presentation_signals.connect()
    cache.clear()
    yield
    cache.clear()


def assert_valid_presentation(doc: dict) -> None:
    """Fail unless ``doc`` is valid IIIF Presentation 3.0 (the validator's JSON Schema)."""
    errors = list(_VALIDATOR.iter_errors(doc))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        path = "/".join(str(p) for p in best.absolute_path)
        raise AssertionError(
            f"{doc.get('id')} is not valid Presentation 3.0 at /{path}: "
            f"{best.message[:500]}"
        )


def _fixtures():
    return sorted((DATA / "pv-fixtures" / "3").glob("*.json"))


def _is_invalid_fixture(path: Path) -> bool:
    return path.name.startswith("broken_") or path.name in INVALID_FIXTURES


@pytest.mark.parametrize("path", _fixtures(), ids=lambda p: p.name)
def test_schema_helper_judges_the_validator_fixtures(path):
    """The one helper rejects every broken fixture and accepts every valid one."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    if _is_invalid_fixture(path):
        with pytest.raises(AssertionError, match="not valid Presentation 3.0"):
            assert_valid_presentation(doc)
    else:
        assert_valid_presentation(doc)


def test_the_fixture_table_covers_broken_and_valid_files():
    names = {p.name for p in _fixtures()}
    assert sum(1 for n in names if n.startswith("broken_")) >= 5
    assert INVALID_FIXTURES <= names
    assert len([p for p in _fixtures() if not _is_invalid_fixture(p)]) >= 10


# ---------------------------------------------------------------------------
# The sample archive, end to end
# ---------------------------------------------------------------------------


@pytest.fixture
def sample(sample_loader):
    """The sample archive as ``make demo`` loads it (derivatives from the session's cache)."""
    return sample_loader()


def _get(client, url, **headers):
    response = client.get(url, **headers)
    assert response["Access-Control-Allow-Origin"] == "*", url
    return response


def _doc(client, url, **headers) -> dict:
    response = _get(client, url, HTTP_ACCEPT="application/ld+json", **headers)
    assert response.status_code == 200, (url, response.status_code)
    assert response["Content-Type"] == LD_JSON
    return json.loads(response.content)


def _walk_collections(client, url, seen, manifests):
    doc = _doc(client, url)
    assert_valid_presentation(doc)
    seen[url] = doc
    for entry in doc["items"]:
        target = entry["id"].removeprefix(HOST)
        if entry["type"] == "Collection" and target not in seen:
            _walk_collections(client, target, seen, manifests)
        elif entry["type"] == "Manifest":
            manifests.add(target)


def test_every_sample_document_validates(client, sample):
    """Every collection reachable from ``top`` and every manifest they list is valid."""
    collections: dict[str, dict] = {}
    manifests: set[str] = set()
    _walk_collections(client, "/iiif/3/collection/top", collections, manifests)
    for item in Item.objects.all():
        assert f"/iiif/3/manifest/{item.public_id}" in manifests, item.public_id
        url = f"/iiif/3/collection/{item.collection.code}"
        assert url in collections
    for url in sorted(manifests):
        doc = _doc(client, url)
        assert_valid_presentation(doc)
        assert doc["@context"] == presentation.CONTEXT
        assert doc["id"] == f"{HOST}{url}"
    # The four theme libraries (two of them empty) are valid collections too.
    for code in ("red", "lingnan", "maritime", "innovation"):
        assert f"/iiif/3/collection/theme-{code}" in collections
    assert len(manifests) == 4


def test_volume_manifest(client, sample):
    doc = _doc(client, f"/iiif/3/manifest/{VOLUME}")
    item = Item.objects.get(public_id=VOLUME)
    pages = list(item.pages.order_by("sequence"))
    assert doc["label"] == {
        "zh-Hant": ["三字經 卷上"],
        "zh-Hans": ["三字经 卷上"],
        "en": ["Three Character Classic, first juan"],
    }
    canvases = doc["items"]
    assert len(canvases) == 10
    assert [c["label"] for c in canvases[:3]] == [
        {"zh-Hant": ["內封"]},
        {"zh-Hant": ["第一葉"]},
        {"zh-Hant": ["第二葉"]},
    ]
    assert canvases[-1]["label"] == {"zh-Hant": ["第九葉"]}
    first = canvases[1]
    page = pages[1]
    service = image_service_id(page.public_id, request=RequestFactory().get("/"))
    assert (first["width"], first["height"]) == (page.width, page.height)
    annotation = first["items"][0]["items"][0]
    assert annotation["motivation"] == "painting"
    assert annotation["target"] == first["id"]
    assert annotation["body"] == {
        "id": f"{service}/full/max/0/default.jpg",
        "type": "Image",
        "format": "image/jpeg",
        "width": page.width,
        "height": page.height,
        "service": [{"id": service, "type": "ImageService3", "profile": "level2"}],
    }
    # Table of contents: 內封, then the 卷 the volume holds (pages 2-10).
    (toc,) = doc["structures"]
    assert toc["label"]["zh-Hant"] == ["目錄"]
    ranges = {
        r["label"].get("none", r["label"].get("zh-Hant"))[0]: r for r in toc["items"]
    }
    assert list(ranges) == ["內封", "卷上"]
    juan = [c["id"] for c in ranges["卷上"]["items"]]
    assert juan == [c["id"] for c in canvases[1:]]
    assert all(c["type"] == "Canvas" for c in ranges["卷上"]["items"])
    assert doc["viewingDirection"] == "right-to-left"
    assert doc["behavior"] == ["paged"]
    assert doc["rights"] == "http://creativecommons.org/publicdomain/mark/1.0/"
    assert doc["requiredStatement"]["label"]["en"] == ["Attribution"]
    assert doc["requiredStatement"]["value"]["zh-Hant"][0].startswith("三字經正文")
    assert doc["requiredStatement"]["value"]["en"][0].startswith("The text is in")
    (provider,) = doc["provider"]
    assert provider["type"] == "Agent"
    assert provider["label"]["zh-Hant"] == ["廣州圖書館"]
    assert provider["label"]["en"] == ["Guangzhou Library"]
    assert provider["homepage"][0]["format"] == "text/html"
    assert doc["navDate"] == "1884-01-01T00:00:00Z"
    (thumb,) = doc["thumbnail"]
    first_service = image_service_id(
        pages[0].public_id, request=RequestFactory().get("/")
    )
    assert thumb["id"].startswith(f"{first_service}/full/")
    assert max(thumb["width"], thumb["height"]) <= 256
    assert thumb["service"][0]["id"] == first_service
    assert doc["homepage"] == [
        {
            "id": f"{HOST}/items/{VOLUME}/",
            "type": "Text",
            "label": doc["label"],
            "format": "text/html",
        }
    ]
    assert [p["id"] for p in doc["partOf"]] == [
        f"{HOST}/iiif/3/collection/gzdd-jing",
        f"{HOST}/iiif/3/collection/theme-lingnan",
    ]
    (see_also,) = doc["seeAlso"]
    assert see_also["id"] == f"{HOST}/iiif/3/record/{VOLUME}.json"
    assert see_also["format"] == "application/json"
    labels = {pair["label"]["en"][0]: pair["value"] for pair in doc["metadata"]}
    assert labels["Date"] == {"zh-Hant": ["清光緒十年"], "en": ["1884"]}
    assert labels["Class (部)"]["zh-Hant"] == ["經部"]
    assert labels["Author"] == {
        "zh-Hant": ["（宋）區適子"],
        "zh-Hans": ["（宋）区适子"],
        "en": ["Ou Shizi (Song)"],
    }
    assert labels["Edition"]["zh-Hant"][0].startswith("清光緒十年廣州粵藏堂刻本")
    assert labels["Places"]["en"] == ["Guangzhou", "Shunde"]
    assert labels["Identifier"] == {"none": [VOLUME]}
    assert labels["Holding institution"]["zh-Hans"] == ["广州图书馆"]
    assert labels["Collection"]["en"] == ["Guangzhou Dadian › Classics (jing)"]


def test_recording_manifests(client, sample):
    doc = _doc(client, f"/iiif/3/manifest/{ORAL_HISTORY}")
    item = Item.objects.get(public_id=ORAL_HISTORY)
    media = item.assets.get(role=Asset.Role.MEDIA)
    assert doc["label"]["yue"] == ["西關茶樓憶一九三八"]
    assert doc["label"]["en"] == ["Remembering 1938 in a Xiguan tea-house"]
    (canvas,) = doc["items"]
    assert abs(canvas["duration"] - FLAC_SECONDS) <= 0.5
    assert "width" not in canvas
    body = canvas["items"][0]["items"][0]["body"]
    assert body["type"] == "Sound"
    # Players get the listening copy (closed passages silenced for the public),
    # never the original, which may hold them.
    assert body["id"] == f"{HOST}/items/{ORAL_HISTORY}/listen/{media.pk}"
    listening = media.derivatives.filter(kind="listening_copy").first()
    expected = listening.media_type if listening else "audio/flac"
    assert body["format"] == expected
    assert abs(body["duration"] - FLAC_SECONDS) <= 0.5
    # No transcript yet: no rendering, no supplementing page.
    assert "rendering" not in canvas and "annotations" not in canvas
    assert "viewingDirection" not in doc and "behavior" not in doc
    # The body is the archive's own listening door, which serves it.
    served = client.get(body["id"].removeprefix(HOST))
    assert served.status_code == 200 and served["Content-Type"] == expected

    video = _doc(client, f"/iiif/3/manifest/{DOCUMENTARY}")
    (canvas,) = video["items"]
    body = canvas["items"][0]["items"][0]["body"]
    assert body["type"] == "Video" and body["format"] == "video/mp4"
    assert (canvas["width"], canvas["height"]) == (640, 360)
    assert (body["width"], body["height"]) == (640, 360)
    assert abs(canvas["duration"] - 19.27) <= 0.5


def test_transcript_hook_adds_supplementing_vtt_and_renderings(
    client, sample, monkeypatch
):
    """What the transcription issue plugs in appears as cookbook 0219/0017 say."""
    item = Item.objects.get(public_id=ORAL_HISTORY)
    media = item.assets.get(role=Asset.Role.MEDIA)
    track = selectors.TranscriptTrack(
        asset_id=media.pk,
        language="yue",
        vtt_path=f"/items/{ORAL_HISTORY}/transcript.vtt",
        text_path=f"/items/{ORAL_HISTORY}/transcript.txt",
    )
    monkeypatch.setattr(selectors, "transcript_tracks", lambda **kw: [track])
    doc = _doc(client, f"/iiif/3/manifest/{ORAL_HISTORY}")
    assert_valid_presentation(doc)
    (canvas,) = doc["items"]
    (page,) = canvas["annotations"]
    (annotation,) = page["items"]
    assert annotation["motivation"] == "supplementing"
    assert annotation["target"] == canvas["id"]
    assert annotation["body"]["id"] == f"{HOST}/items/{ORAL_HISTORY}/transcript.vtt"
    assert annotation["body"]["format"] == "text/vtt"
    assert annotation["body"]["language"] == "yue"
    assert [r["format"] for r in canvas["rendering"]] == ["text/vtt", "text/plain"]


def test_the_hook_is_empty_until_transcription_fills_it(sample):
    item = Item.objects.get(public_id=ORAL_HISTORY)
    assert selectors.transcript_tracks(item=item) == []


def test_collections_and_top(client, sample):
    top = _doc(client, "/iiif/3/collection/top")
    ids = [entry["id"] for entry in top["items"]]
    themes = [
        f"{HOST}/iiif/3/collection/theme-{c}"
        for c in ThemeLibrary.objects.values_list("code", flat=True)
    ]
    assert ids[:4] == themes and len(themes) == 4
    assert f"{HOST}/iiif/3/collection/gzdd" in ids
    # Children nest: 經部 is reached through 廣州大典, not listed at the top.
    assert f"{HOST}/iiif/3/collection/gzdd-jing" not in ids
    gzdd = _doc(client, "/iiif/3/collection/gzdd")
    assert [e["id"] for e in gzdd["items"]] == [f"{HOST}/iiif/3/collection/gzdd-jing"]
    assert gzdd["partOf"][0]["id"] == f"{HOST}/iiif/3/collection/top"
    jing = _doc(client, "/iiif/3/collection/gzdd-jing")
    assert [e["id"] for e in jing["items"]] == [f"{HOST}/iiif/3/manifest/{VOLUME}"]
    assert jing["items"][0]["label"]["zh-Hant"] == ["三字經 卷上"]
    assert jing["partOf"][0]["id"] == f"{HOST}/iiif/3/collection/gzdd"
    lingnan = _doc(client, "/iiif/3/collection/theme-lingnan")
    assert {e["id"] for e in lingnan["items"]} == {
        f"{HOST}/iiif/3/manifest/{VOLUME}",
        f"{HOST}/iiif/3/manifest/{ORAL_HISTORY}",
    }
    assert lingnan["label"]["zh-Hant"] == ["嶺南文化"]
    assert _doc(client, "/iiif/3/collection/theme-innovation")["items"] == []
    assert _get(client, "/iiif/3/collection/no-such").status_code == 404
    assert _get(client, "/iiif/3/collection/theme-nope").status_code == 404


def test_public_headers_negotiation_and_etag(client, sample):
    url = f"/iiif/3/manifest/{VOLUME}"
    plain = _get(client, url)
    assert plain.status_code == 200
    assert plain["Content-Type"] == "application/json"
    assert plain["Cache-Control"] == "public, max-age=300"
    assert "Accept" in plain["Vary"]
    ld = _get(client, url, HTTP_ACCEPT="application/ld+json;profile=x, */*")
    assert ld["Content-Type"] == LD_JSON
    assert ld.content == plain.content
    again = _get(client, url, HTTP_IF_NONE_MATCH=plain["ETag"])
    assert again.status_code == 304
    assert _get(client, "/iiif/3/collection/top")["Cache-Control"] == (
        "public, max-age=300"
    )
    record = _get(client, f"/iiif/3/record/{VOLUME}.json")
    assert record["Content-Type"] == "application/json"
    data = json.loads(record.content)
    assert data["identifier"] == VOLUME
    assert data["work"]["class"] == "經"
    assert data["date"]["year_from"] == 1884
    assert data["manifest"] == f"{HOST}/iiif/3/manifest/{VOLUME}"
    assert _get(client, "/iiif/3/manifest/no-such-item").status_code == 404
    assert client.post(url).status_code == 405


def test_cached_manifest_changes_when_the_title_changes(client, sample):
    """A cached public manifest is rebuilt once the item's title changes."""
    new_title = "Three Character Classic, volume one"

    def retitle():
        item = Item.objects.get(public_id=VOLUME)
        item.title_en = new_title
        item.save()

    before, after = _cached_then(client, f"/iiif/3/manifest/{VOLUME}", retitle)
    assert before["label"]["en"] == ["Three Character Classic, first juan"]
    assert after["label"]["en"] == [new_title]
    assert after["metadata"][0]["value"]["en"] == [new_title]


# ---------------------------------------------------------------------------
# Cache invalidation by signals (without the sample: small items)
# ---------------------------------------------------------------------------


def _page(item, tmp_path, sequence=1, label="", color=(200, 180, 150), **asset_kw):
    source = tmp_path / f"{item.public_id}-{sequence}.jpg"
    source.write_bytes(jpeg_bytes(color=color))
    asset, _ = asset_create(item=item, source=source, role=Asset.Role.PAGE)
    for field, value in asset_kw.items():
        setattr(asset, field, value)
    if asset_kw:
        asset.save()
    return PageImage.objects.create(
        item=item, sequence=sequence, asset=asset, width=64, height=96, label=label
    )


@pytest.fixture
def volume(tmp_path):
    item = ItemFactory(public_id="test-vol", title="測試書 卷一", languages=["lzh"])
    _page(item, tmp_path, 1, "第一葉")
    _page(item, tmp_path, 2, "第二葉", color=(10, 20, 30))
    return item


def test_a_cached_manifest_is_the_built_one_byte_for_byte_with_its_etag(client, sample):
    """Built (no stamp yet), built and stored, then from the cache: one body, one ETag."""
    url = f"/iiif/3/manifest/{VOLUME}"
    answers = [_get(client, url) for _ in range(3)]
    assert len({a.content for a in answers}) == 1
    assert len({a["ETag"] for a in answers}) == 1
    digest = hashlib.sha256(answers[0].content).hexdigest()[:32]
    assert answers[2]["ETag"] == f'"{digest}"'
    assert json.loads(answers[2].content)["id"] == f"{HOST}/iiif/3/manifest/{VOLUME}"
    assert _get(client, url, HTTP_IF_NONE_MATCH=answers[0]["ETag"]).status_code == 304


def _cached_then(client, url, change):
    """Fetch until cached (stamp, then store, then hit), change, fetch again."""
    first = _doc(client, url)
    assert _doc(client, url) == first
    assert _doc(client, url) == first
    change()
    return first, _doc(client, url)


def test_page_label_change_renews_the_manifest(client, volume):
    url = "/iiif/3/manifest/test-vol"

    def relabel():
        page = volume.pages.get(sequence=2)
        page.label = "第二葉下"
        page.save()

    first, after = _cached_then(client, url, relabel)
    assert after["items"][1]["label"] == {"zh-Hant": ["第二葉下"]}


def test_served_from_the_cache_until_a_signal(client, volume):
    """Without a signal the cached copy is served: the cache really is used."""
    url = "/iiif/3/manifest/test-vol"
    _doc(client, url)  # makes the stamp (the first request never stores)
    first = _doc(client, url)  # builds and stores
    PageImage.objects.filter(item=volume, sequence=2).update(label="悄悄改")
    assert _doc(client, url) == first
    presentation.manifest_cache_bump(public_ids=["test-vol"])
    assert _doc(client, url)["items"][1]["label"] == {"none": ["悄悄改"]}


def test_agent_place_institution_and_theme_changes_renew(client, volume):
    url = "/iiif/3/manifest/test-vol"
    from archive.models import ItemAgent, Place

    agent = Agent.objects.create(name="區適子", dynasty="宋")
    ItemAgent.objects.create(item=volume, agent=agent, role="author")
    place = Place.objects.create(name="廣州")
    volume.places.add(place)

    def rename_agent():
        agent.name_en = "Ou Shizi"
        agent.save()

    _, after = _cached_then(client, url, rename_agent)
    pairs = {p["label"]["en"][0]: p["value"] for p in after["metadata"]}
    assert pairs["Author"]["en"] == ["Ou Shizi (Song)"]

    def rename_place():
        place.name_en = "Canton"
        place.save()

    _, after = _cached_then(client, url, rename_place)
    pairs = {p["label"]["en"][0]: p["value"] for p in after["metadata"]}
    assert pairs["Places"]["en"] == ["Canton"]

    def rename_institution():
        institution = Institution.objects.get(pk=volume.institution_id)
        institution.name_en = "Renamed Library"
        institution.save()

    _, after = _cached_then(client, url, rename_institution)
    assert after["provider"][0]["label"]["en"] == ["Renamed Library"]

    def add_theme():
        ThemeLibrary.objects.get(code="maritime").items.add(volume)

    _, after = _cached_then(client, url, add_theme)
    assert after["partOf"][-1]["id"] == f"{HOST}/iiif/3/collection/theme-maritime"


def test_signals_are_connected_by_the_app():
    """``IiifConfig.ready()`` connects the handlers (see presentation_signals)."""
    from django.db.models.signals import post_save

    for entry in list(post_save.receivers):
        if entry[0][0] and str(entry[0][0]).startswith("iiif.presentation"):
            post_save.receivers.remove(entry)
    post_save.sender_receivers_cache.clear()
    assert not presentation_signals.is_connected()
    from django.apps import apps

    apps.get_app_config("iiif").ready()
    assert presentation_signals.is_connected()


# ---------------------------------------------------------------------------
# Access and visibility
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "embargo", "anonymous", "user"),
    [
        (AccessLevel.STAFF, None, 401, 403),
        (AccessLevel.READING_ROOM, None, 401, 403),
        (AccessLevel.EMBARGOED, 30, 401, 403),
        (AccessLevel.WITHDRAWN, None, 410, 410),
    ],
)
def test_refused_manifests(client, tmp_path, level, embargo, anonymous, user):
    until = timezone.localdate() + dt.timedelta(days=embargo) if embargo else None
    item = ItemFactory(
        public_id="closed-vol",
        title="CLOSED-TITLE",
        access_level=level,
        embargo_until=until,
    )
    _page(item, tmp_path)
    reader = make_user("reader")
    for who, status in (("anonymous", anonymous), ("user", user)):
        client.logout()
        if who == "user":
            client.force_login(reader)
        for url in ("/iiif/3/manifest/closed-vol", "/iiif/3/record/closed-vol.json"):
            response = _get(client, url)
            assert response.status_code == status, (url, who)
            assert response["Cache-Control"] == "private, no-store"
            assert b"CLOSED-TITLE" not in response.content
            assert b"closed-vol" not in response.content
    staff = make_user("archivist", groups=["Archivists"])
    client.force_login(staff)
    response = _get(client, "/iiif/3/manifest/closed-vol")
    if level == AccessLevel.WITHDRAWN:
        assert response.status_code == 410
    else:
        assert response.status_code == 200
        assert response["Cache-Control"] == "private, no-store"
        assert_valid_presentation(json.loads(response.content))


def test_collections_list_only_visible_items(client, tmp_path):
    collection = CollectionFactory(code="mixed")
    theme = ThemeLibrary.objects.get(code="lingnan")
    for level in (AccessLevel.PUBLIC, AccessLevel.STAFF, AccessLevel.WITHDRAWN):
        item = ItemFactory(
            public_id=f"mixed-{level}",
            title=f"MIXED-{level.upper()}",
            collection=collection,
            access_level=level,
        )
        item.themes.add(theme)
        _page(item, tmp_path, color=(len(level) * 9, 9, 9))
    # An item with nothing to show (no page) is not listed either.
    ItemFactory(public_id="mixed-empty", collection=collection, title="MIXED-EMPTY")
    staff = make_user("archivist", groups=["Archivists"])
    for url in ("/iiif/3/collection/mixed", "/iiif/3/collection/theme-lingnan"):
        client.logout()
        anonymous = _get(client, url)
        body = anonymous.content.decode()
        assert "MIXED-PUBLIC" in body
        assert "MIXED-STAFF" not in body and "MIXED-WITHDRAWN" not in body
        assert "MIXED-EMPTY" not in body
        assert anonymous["Cache-Control"] == "public, max-age=300"
        assert_valid_presentation(json.loads(anonymous.content))
        client.force_login(staff)
        staff_view = _get(client, url)
        body = staff_view.content.decode()
        assert "MIXED-PUBLIC" in body and "MIXED-STAFF" in body
        assert "MIXED-WITHDRAWN" not in body
        assert staff_view["Cache-Control"] == "private, no-store"


def test_reading_room_visitors_get_private_collections(client, settings, tmp_path):
    settings.ARCHIVE_READING_ROOM_NETWORKS = ["10.20.0.0/16"]
    collection = CollectionFactory(code="rr")
    item = ItemFactory(
        public_id="rr-item",
        title="RR-TITLE",
        collection=collection,
        access_level=AccessLevel.READING_ROOM,
    )
    _page(item, tmp_path)
    outside = _get(client, "/iiif/3/collection/rr", REMOTE_ADDR="203.0.113.9")
    assert b"RR-TITLE" not in outside.content
    inside = _get(client, "/iiif/3/collection/rr", REMOTE_ADDR="10.20.30.40")
    assert b"RR-TITLE" in inside.content
    assert inside["Cache-Control"] == "private, no-store"
    manifest = _get(client, "/iiif/3/manifest/rr-item", REMOTE_ADDR="10.20.30.40")
    assert manifest.status_code == 200
    assert manifest["Cache-Control"] == "private, no-store"


def test_stricter_page_is_left_out_and_never_shared(client, tmp_path):
    item = ItemFactory(public_id="part-closed", title="部分")
    _page(item, tmp_path, 1, "第一葉")
    _page(item, tmp_path, 2, "第二葉", color=(1, 2, 3), access_level=AccessLevel.STAFF)
    anonymous = _get(client, "/iiif/3/manifest/part-closed")
    assert anonymous["Cache-Control"] == "private, no-store"
    assert len(json.loads(anonymous.content)["items"]) == 1
    client.force_login(make_user("archivist", groups=["Archivists"]))
    staff = json.loads(_get(client, "/iiif/3/manifest/part-closed").content)
    assert len(staff["items"]) == 2


def test_embargo_passed_is_shared(client, tmp_path):
    item = ItemFactory(
        public_id="was-closed",
        access_level=AccessLevel.EMBARGOED,
        embargo_until=timezone.localdate() - dt.timedelta(days=1),
    )
    _page(item, tmp_path)
    response = _get(client, "/iiif/3/manifest/was-closed")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=300"


# ---------------------------------------------------------------------------
# Language maps, table of contents, rights
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("三字經 卷上", "zh-Hant"),  # OpenCC's phrase table would say 捲上
        ("三字经 卷上", "zh-Hans"),
        ("第一葉", "zh-Hant"),
        ("第二叶", "zh-Hans"),
        ("廣州話", "zh-Hant"),
        ("梁伯", "none"),  # the same in both scripts
        ("卷上", "none"),
        ("2026-11", "none"),
        ("IIIF test image", "none"),
    ],
)
def test_script_key(text, key):
    assert presentation.script_key(text) == key


def test_language_map_rules():
    lm = presentation.language_map
    assert lm("三字經", hans="三字经", en="Three") == {
        "zh-Hant": ["三字經"],
        "zh-Hans": ["三字经"],
        "en": ["Three"],
    }
    # An explicit form wins over the original, which is kept under none.
    assert lm("區適子", hant="區適子", hans="区适子") == {
        "zh-Hant": ["區適子"],
        "zh-Hans": ["区适子"],
    }
    assert lm("梁伯", en="Uncle Leung") == {"en": ["Uncle Leung"], "none": ["梁伯"]}
    assert lm("IIIF image", en="IIIF image") == {"en": ["IIIF image"]}
    assert lm("西關茶樓", yue=True)["yue"] == ["西關茶樓"]
    assert "yue" not in lm("Interview", yue=True)
    assert lm("") == {}


def test_rights_are_written_as_http():
    assert presentation.rights_uri("https://creativecommons.org/licenses/by/4.0/") == (
        "http://creativecommons.org/licenses/by/4.0/"
    )
    assert presentation.rights_uri("http://rightsstatements.org/vocab/InC/1.0/") == (
        "http://rightsstatements.org/vocab/InC/1.0/"
    )


def test_stored_table_of_contents_wins(client, volume):
    """When items store a toc (proposed ``Item.toc``), it becomes the ranges."""
    item = selectors.manifest_item_get(public_id="test-vol")
    item.toc = [
        {
            "label": "卷一",
            "first": 1,
            "last": 2,
            "children": [
                {"label": "上", "first": 1, "last": 1},
                {"label": "下", "first": 2, "last": 2},
            ],
        },
        {"label": "越界", "first": 2, "last": 9},  # out of range: skipped
    ]
    manifest = json.loads(presentation.to_json(presentation.manifest_build(item=item)))
    assert_valid_presentation(manifest)
    (toc,) = manifest["structures"]
    (juan,) = toc["items"]
    assert juan["label"] == {"none": ["卷一"]}
    assert [r["label"] for r in juan["items"]] == [{"none": ["上"]}, {"none": ["下"]}]


def test_toc_guess_needs_a_juan_or_front_matter(volume):
    item = selectors.manifest_item_get(public_id="test-vol")
    pages = list(item.pages.all())
    entries = presentation.toc_entries(item, pages)
    assert [(e.label, e.first, e.last) for e in entries] == [({"none": ["卷一"]}, 1, 2)]
    item.title = "測試書"
    assert presentation.toc_entries(item, pages) == []
    item.kind = Item.Kind.IMAGE_SET
    item.title = "測試書 卷一"
    assert presentation.toc_entries(item, pages) == []


def test_image_set_is_not_paged_nor_right_to_left(client, tmp_path):
    item = ItemFactory(public_id="photos", kind=Item.Kind.IMAGE_SET, languages=["zh"])
    _page(item, tmp_path)
    doc = _doc(client, "/iiif/3/manifest/photos")
    assert_valid_presentation(doc)
    assert "behavior" not in doc and "viewingDirection" not in doc
    assert "structures" not in doc and "navDate" not in doc


def test_volume_with_a_bu_reads_right_to_left(client, tmp_path):
    from tests.archive.factories import WorkFactory

    item = ItemFactory(public_id="bu-vol", work=WorkFactory(), languages=[])
    _page(item, tmp_path)
    assert _doc(client, "/iiif/3/manifest/bu-vol")["viewingDirection"] == (
        "right-to-left"
    )
    modern = ItemFactory(public_id="modern-vol", languages=["en"])
    _page(modern, tmp_path, color=(5, 5, 5))
    assert "viewingDirection" not in _doc(client, "/iiif/3/manifest/modern-vol")


def test_item_without_pages_has_no_manifest(client):
    ItemFactory(public_id="no-pages")
    assert _get(client, "/iiif/3/manifest/no-pages").status_code == 404


def test_reserved_keys_resolve_first():
    """``top`` and ``theme-…`` are IIIF's; archive refuses such collection codes."""
    from django.db import IntegrityError, transaction

    for code in ("top", "theme-lingnan"):
        with pytest.raises(IntegrityError), transaction.atomic():
            CollectionFactory(code=code)
    assert selectors.collection_target_get(key="top").kind == "top"
    assert selectors.collection_target_get(key="theme-lingnan").kind == "theme"
    assert selectors.collection_target_get(key="theme-nope") is None


# ---------------------------------------------------------------------------
# A large volume builds fast
# ---------------------------------------------------------------------------


#: The queries one manifest build may make, whatever its number of pages.
QUERIES_FOR_ANY_MANIFEST = 15


def test_a_thousand_canvas_manifest_reads_the_database_a_fixed_number_of_times(
    tmp_path,
):
    """A 1,000-page volume builds, validates, and costs no query per page (timing: bench/)."""
    item = ItemFactory(
        public_id="big-vol",
        title="大書 卷一",
        languages=["lzh"],
        collection=Collection.objects.create(
            code="big", title="大", institution=InstitutionFactory()
        ),
    )
    first = _page(item, tmp_path, 1, "封面")
    # One asset per page (an image is a page of one item once), sharing a file.
    assets = Asset.objects.bulk_create(
        Asset(
            item=item,
            role=Asset.Role.PAGE,
            sha256=f"{n:064x}",
            storage_path=first.asset.storage_path,
            size=first.asset.size,
            media_type=first.asset.media_type,
        )
        for n in range(2, 1001)
    )
    PageImage.objects.bulk_create(
        PageImage(
            item=item,
            sequence=n,
            asset=assets[n - 2],
            width=2000,
            height=3000,
            label=f"第{n}葉",
        )
        for n in range(2, 1001)
    )
    # The time is measured by bench/iiif_tiles.py (docs/performance.md); here,
    # that the build reads the database a fixed number of times, not once a page.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        obj = selectors.manifest_item_get(public_id="big-vol")
        body = presentation.to_json(presentation.manifest_build(item=obj))
    doc = json.loads(body)
    assert len(doc["items"]) == 1000
    assert_valid_presentation(doc)
    assert len(queries) <= QUERIES_FOR_ANY_MANIFEST, [q["sql"] for q in queries]
    # The pages (1,000 rows with their files) are read once, not again to
    # filter them by access (selectors.visible_pages).
    page_reads = [q for q in queries if 'FROM "archive_pageimage"' in q["sql"]]
    assert len(page_reads) == 1, [q["sql"] for q in page_reads]
