"""The transcript editor in the admin: who may read or correct, each JSON endpoint, imports."""

from __future__ import annotations

import json
from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from archive.models import AccessLevel, Place
from tests.archive.factories import (
    CentralInstitutionFactory,
    InstitutionFactory,
    make_user,
)
from tests.transcription.factories import (
    LINES,
    RecordingFactory,
    RecordingItemFactory,
    TranscriptFactory,
    transcript_with_segments,
)
from transcription.models import IndexPoint, Segment, SegmentRevision, Transcript

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def home():
    return InstitutionFactory(code="liwan")


@pytest.fixture
def transcript(home):
    item = RecordingItemFactory(institution=home)
    return transcript_with_segments(LINES[:4], asset=RecordingFactory(item=item))


def login(client, username, groups, institution):
    client.force_login(make_user(username, groups=groups, institution=institution))
    return client


@pytest.fixture
def archivist(client, home):
    return login(client, "archivist", ["Archivists"], home)


@pytest.fixture
def curator(client, home):
    return login(client, "curator", ["Curators"], home)


@pytest.fixture
def stranger(client):
    return login(client, "elsewhere", ["Archivists"], InstitutionFactory(code="haizhu"))


def editor_url(transcript, rest=""):
    return f"/admin/transcription/transcripts/{transcript.public_id}/{rest}"


def post_json(client, url, data=None, **extra):
    return client.post(
        url,
        json.dumps(data or {}),
        content_type="application/json",
        HTTP_X_REQUESTED_WITH="XMLHttpRequest",
        **extra,
    )


def segs(transcript):
    return list(transcript.segments.order_by("start", "pk"))


# --------------------------------------------------------------------------
# Who may do what
# --------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client, transcript):
    segment = segs(transcript)[0]
    for response in (
        client.get("/admin/transcription/"),
        client.get(editor_url(transcript)),
        client.get(f"/admin/transcription/items/{transcript.item.public_id}/"),
        client.post(editor_url(transcript, f"segments/{segment.pk}/"), {"text": "x"}),
    ):
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert Segment.objects.get(pk=segment.pk).text == LINES[0]


def test_curators_read_but_cannot_correct(curator, transcript):
    segment = segs(transcript)[0]
    listing = curator.get("/admin/transcription/")
    assert (
        listing.status_code == 200 and transcript.public_id in listing.content.decode()
    )
    page = curator.get(editor_url(transcript))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-can-edit="false"' in html and 'data-action="approve"' not in html
    assert (
        json.loads(curator.get(editor_url(transcript, "data.json")).content)["can_edit"]
        is False
    )
    for url, data in [
        (f"segments/{segment.pk}/", {"text": "改咗"}),
        (
            f"segments/{segment.pk}/split/",
            {"at": 1, "text_before": "a", "text_after": "b"},
        ),
        (f"segments/{segment.pk}/merge/", {}),
        (f"segments/{segment.pk}/access/", {"level": "staff"}),
        ("speakers/", {"old": "梁伯", "new": "X"}),
        ("approve/", {}),
        ("index-points/", {"start": 1, "title": "x"}),
    ]:
        response = post_json(curator, editor_url(transcript, url), data)
        assert response.status_code == 403, url
        assert "may not correct" in response.json()["error"]
    # The import form is not offered, and its POST is refused.
    item_page = curator.get(f"/admin/transcription/items/{transcript.item.public_id}/")
    assert (
        item_page.status_code == 200
        and "Import a transcript" not in item_page.content.decode()
    )
    assert (
        curator.post(
            f"/admin/transcription/items/{transcript.item.public_id}/"
        ).status_code
        == 302
    )
    assert [s.text for s in segs(transcript)] == LINES[:4]
    assert not SegmentRevision.objects.exists() and not IndexPoint.objects.exists()
    transcript.refresh_from_db()
    assert not transcript.is_reviewed


def test_an_archivist_of_another_institution_is_refused(stranger, transcript):
    segment = segs(transcript)[0]
    assert stranger.get(editor_url(transcript)).status_code == 404
    assert stranger.get(editor_url(transcript, "data.json")).status_code == 404
    item_url = f"/admin/transcription/items/{transcript.item.public_id}/"
    assert stranger.get(item_url).status_code == 404
    response = post_json(
        stranger, editor_url(transcript, f"segments/{segment.pk}/"), {"text": "x"}
    )
    assert response.status_code == 404 and "error" in response.json()
    assert post_json(stranger, editor_url(transcript, "approve/")).status_code == 404
    assert (
        transcript.public_id
        not in stranger.get("/admin/transcription/").content.decode()
    )
    assert Segment.objects.get(pk=segment.pk).text == LINES[0]


def test_central_library_staff_correct_every_institution(client, transcript):
    login(client, "central", ["Central library staff"], CentralInstitutionFactory())
    segment = segs(transcript)[0]
    response = post_json(
        client, editor_url(transcript, f"segments/{segment.pk}/"), {"text": "好"}
    )
    assert response.status_code == 200
    assert Segment.objects.get(pk=segment.pk).text == "好"


def test_users_without_transcript_permissions_see_no_menu_and_get_no_page(
    client, transcript
):
    user = make_user("viewer", institution=transcript.item.institution)
    user.user_permissions.add(*Permission.objects.filter(codename="access_admin"))
    client.force_login(user)
    dashboard = client.get("/admin/").content.decode()
    assert "/admin/transcription/" not in dashboard
    assert client.get(editor_url(transcript))["Location"] == "/admin/"


def test_the_data_migration_gives_the_groups_their_permissions():
    def codenames(name):
        return set(
            Group.objects.get(name=name)
            .permissions.filter(content_type__app_label="transcription")
            .values_list("codename", flat=True)
        )

    assert codenames("Archivists") == {"edit_transcript", "view_transcript"}
    assert codenames("Central library staff") == {"edit_transcript", "view_transcript"}
    assert codenames("Curators") == {"view_transcript"}
    migration = import_module("transcription.migrations.0002_editor_permissions")
    modules = {c.label: c.models_module for c in django_apps.get_app_configs()}
    migration.revoke(django_apps, None)
    assert codenames("Archivists") == set() and codenames("Curators") == set()
    migration.grant(django_apps, None)
    migration.grant(django_apps, None)  # idempotent
    assert codenames("Curators") == {"view_transcript"}
    # Run with the live registry, the migration leaves the app configs as they
    # were: a None models_module would stop post_migrate (content types,
    # permissions, the page tree) after every later flush in this process.
    assert {c.label: c.models_module for c in django_apps.get_app_configs()} == modules


# --------------------------------------------------------------------------
# The pages
# --------------------------------------------------------------------------


def test_the_list_shows_item_register_status_and_review(archivist, transcript, home):
    other = TranscriptFactory(
        asset=RecordingFactory(
            item=RecordingItemFactory(institution=home, title="珠江")
        ),
        register="zh",
        status=Transcript.Status.RUNNING,
    )
    html = archivist.get("/admin/transcription/").content.decode()
    for text in (
        transcript.item.title,
        transcript.item.public_id,
        "written Cantonese (colloquial)",
        "Standard Written Chinese",
        "transcribing",
        "machine-generated, not yet reviewed",
        f'href="/admin/transcription/transcripts/{transcript.public_id}/"',
    ):
        assert text in html
    filtered = archivist.get("/admin/transcription/?register=zh").content.decode()
    assert other.public_id in filtered and transcript.public_id not in filtered
    searched = archivist.get("/admin/transcription/?q=珠江").content.decode()
    assert other.public_id in searched and transcript.public_id not in searched
    assert '"/admin/transcription/"' in archivist.get("/admin/").content.decode()


def test_the_editor_page(archivist, transcript):
    response = archivist.get(editor_url(transcript))
    assert response.status_code == 200
    html = response.content.decode()
    asset = transcript.asset
    assert f'src="/items/{transcript.item.public_id}/files/{asset.pk}"' in html
    assert 'data-can-edit="true"' in html and "transcription/editor.js" in html
    assert "Keyboard shortcuts" in html and "<kbd>Alt</kbd>+<kbd>K</kbd>" in html
    data = json.loads(
        html.split('id="tx-data" type="application/json">')[1].split("</script>")[0]
    )
    assert [s["text"] for s in data["segments"]] == LINES[:4]
    assert data["speakers"] == ["梁伯"] and data["can_edit"] is True


# --------------------------------------------------------------------------
# The JSON endpoints
# --------------------------------------------------------------------------


def test_update_saves_and_records_a_revision(archivist, transcript):
    segment = segs(transcript)[0]
    url = editor_url(transcript, f"segments/{segment.pk}/")
    response = post_json(
        archivist, url, {"text": "我姓梁，大家叫我梁伯。", "speaker": "梁伯"}
    )
    assert response.status_code == 200
    body = response.json()
    assert (
        body["segment"]["text"] == "我姓梁，大家叫我梁伯。"
        and body["segment"]["edited"]
    )
    assert body["transcript"]["review_state"] == "in_review"
    revision = SegmentRevision.objects.get()
    assert revision.user.username == "archivist" and revision.action == "edit"
    assert revision.before["text"] == LINES[0]


@pytest.mark.parametrize(
    "data, field, words",
    [
        ({"text": "  "}, "text", "must not be empty"),
        ({"end": -1}, "end", "before the start"),
        ({"start": "soon"}, "start", "seconds"),
        ({"text": 3}, "text", "Give text"),
    ],
)
def test_update_refusals_are_json_400_with_the_message(
    archivist, transcript, data, field, words
):
    segment = segs(transcript)[0]
    response = post_json(
        archivist, editor_url(transcript, f"segments/{segment.pk}/"), data
    )
    assert response.status_code == 400
    body = response.json()
    assert words in body["error"] and field in body["errors"]
    assert not SegmentRevision.objects.exists()


def test_bad_requests(archivist, transcript):
    segment = segs(transcript)[0]
    url = editor_url(transcript, f"segments/{segment.pk}/")
    bad = archivist.post(url, "{not json", content_type="application/json")
    assert bad.status_code == 400 and "JSON" in bad.json()["error"]
    unknown = post_json(archivist, url, {"colour": "red"})
    assert unknown.status_code == 400 and "colour" in unknown.json()["error"]
    assert archivist.get(url).status_code == 405
    missing = post_json(
        archivist, editor_url(transcript, "segments/999999/"), {"text": "x"}
    )
    assert missing.status_code == 404


def test_posts_need_the_csrf_token(transcript, home):
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    login(client, "careful", ["Archivists"], home)
    segment = segs(transcript)[0]
    response = post_json(
        client, editor_url(transcript, f"segments/{segment.pk}/"), {"text": "x"}
    )
    assert response.status_code == 403
    client.get(editor_url(transcript))
    token = client.cookies["csrftoken"].value
    response = post_json(
        client,
        editor_url(transcript, f"segments/{segment.pk}/"),
        {"text": "x"},
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 200


def test_split_and_merge(archivist, transcript):
    a, b, *_ = segs(transcript)
    outside = post_json(
        archivist,
        editor_url(transcript, f"segments/{a.pk}/split/"),
        {"at": 7, "text_before": "我姓梁，", "text_after": "街坊都叫我梁伯。"},
    )
    assert outside.status_code == 400 and "at_seconds" in outside.json()["errors"]
    missing = post_json(
        archivist, editor_url(transcript, f"segments/{a.pk}/split/"), {"at": 2}
    )
    assert missing.status_code == 400 and "text_before" in missing.json()["errors"]
    split = post_json(
        archivist,
        editor_url(transcript, f"segments/{a.pk}/split/"),
        {"at": 1.5, "text_before": "我姓梁，", "text_after": "街坊都叫我梁伯。"},
    )
    assert split.status_code == 200
    first, second = split.json()["segments"]
    assert (first["end"], second["start"], second["text"]) == (
        1.5,
        1.5,
        "街坊都叫我梁伯。",
    )
    merged = post_json(
        archivist, editor_url(transcript, f"segments/{second['id']}/merge/")
    )
    assert merged.status_code == 200
    assert merged.json()["removed"] == b.pk
    assert merged.json()["segment"]["text"] == "街坊都叫我梁伯。" + LINES[1]
    last = segs(transcript)[-1]
    at_end = post_json(archivist, editor_url(transcript, f"segments/{last.pk}/merge/"))
    assert at_end.status_code == 400 and "last segment" in at_end.json()["error"]
    actions = sorted(SegmentRevision.objects.values_list("action", flat=True))
    assert actions == ["merge", "split", "split"]


def test_access_speakers_and_approval(archivist, transcript):
    segment = segs(transcript)[2]
    closed = post_json(
        archivist,
        editor_url(transcript, f"segments/{segment.pk}/access/"),
        {"level": "staff"},
    )
    assert (
        closed.status_code == 200
        and closed.json()["segment"]["access_level"] == "staff"
    )
    wrong = post_json(
        archivist,
        editor_url(transcript, f"segments/{segment.pk}/access/"),
        {"level": "public!"},
    )
    assert wrong.status_code == 400 and "level" in wrong.json()["errors"]
    renamed = post_json(
        archivist, editor_url(transcript, "speakers/"), {"old": "梁伯", "new": "梁先生"}
    )
    assert renamed.status_code == 200
    assert len(renamed.json()["segments"]) == 4 and renamed.json()["speakers"] == [
        "梁先生"
    ]
    nobody = post_json(
        archivist, editor_url(transcript, "speakers/"), {"old": "X", "new": "Y"}
    )
    assert nobody.status_code == 400
    approved = post_json(archivist, editor_url(transcript, "approve/"))
    assert approved.status_code == 200 and approved.json()["transcript"]["approved"]
    assert approved.json()["transcript"]["approved_by"] == "archivist"
    reopened = post_json(archivist, editor_url(transcript, "reopen/"))
    assert reopened.json()["transcript"]["review_state"] == "in_review"
    assert Segment.objects.get(pk=segment.pk).access_level == AccessLevel.STAFF
    assert SegmentRevision.objects.filter(action="access").count() == 1
    assert SegmentRevision.objects.filter(action="speaker").count() == 4


def test_a_running_transcript_cannot_be_approved(archivist, home):
    running = TranscriptFactory(
        asset=RecordingFactory(item=RecordingItemFactory(institution=home)),
        status=Transcript.Status.RUNNING,
    )
    response = post_json(archivist, editor_url(running, "approve/"))
    assert response.status_code == 400 and "finished" in response.json()["error"]


def test_index_points(archivist, transcript):
    place = Place.objects.create(name="西關")
    url = editor_url(transcript, "index-points/")
    missing = post_json(archivist, url, {"start": 3})
    assert missing.status_code == 400 and "title" in missing.json()["errors"]
    created = post_json(
        archivist,
        url,
        {
            "start": "12.5",
            "title": "空襲",
            "keywords": "空襲, 防空洞",
            "place": place.pk,
            "latitude": "23.124",
            "longitude": "113.242",
            "links": [{"label": "背景", "url": "https://example.org/1938"}],
        },
    )
    assert created.status_code == 200
    point = created.json()["index_point"]
    assert point["keywords"] == ["空襲", "防空洞"] and point["place"] == place.pk
    bad = post_json(
        archivist,
        editor_url(transcript, f"index-points/{point['id']}/"),
        {"latitude": 100},
    )
    assert bad.status_code == 400 and "latitude" in bad.json()["errors"]
    changed = post_json(
        archivist,
        editor_url(transcript, f"index-points/{point['id']}/"),
        {"title": "警報"},
    )
    assert changed.json()["index_point"]["title"] == "警報"
    assert IndexPoint.objects.get().title == "警報"
    gone = post_json(
        archivist, editor_url(transcript, f"index-points/{point['id']}/delete/")
    )
    assert gone.json() == {"removed": point["id"]}
    assert not IndexPoint.objects.exists()


# --------------------------------------------------------------------------
# Import on the item's page, primary
# --------------------------------------------------------------------------


def test_import_a_vtt_on_the_items_page(archivist, transcript):
    url = f"/admin/transcription/items/{transcript.item.public_id}/"
    page = archivist.get(url)
    assert page.status_code == 200 and "Import a transcript" in page.content.decode()
    vtt = "WEBVTT\n\n00:00:01.000 --> 00:00:02.500\n<v 梁伯>我姓梁。\n"
    response = archivist.post(
        url,
        {
            "file": SimpleUploadedFile("elsewhere.vtt", vtt.encode(), "text/vtt"),
            "register": "zh",
            "asset": transcript.asset_id,
            "encoding": "utf-8",
        },
    )
    imported = Transcript.objects.exclude(pk=transcript.pk).get()
    assert response.status_code == 302
    assert response["Location"] == editor_url(imported)
    assert imported.register == "zh" and not imported.is_primary
    assert imported.segments.get().speaker == "梁伯"
    bad = archivist.post(
        url,
        {
            "file": SimpleUploadedFile(
                "bad.srt", b"1\n00:00:05,000 --> 00:00:01,000\nx\n"
            ),
            "register": "yue",
            "asset": transcript.asset_id,
            "encoding": "utf-8",
        },
    )
    assert bad.status_code == 400 and "Line 2" in bad.content.decode()
    assert Transcript.objects.count() == 2
    primary = archivist.post(editor_url(imported, "primary/"))
    assert primary.status_code == 302
    imported.refresh_from_db()
    transcript.refresh_from_db()
    assert imported.is_primary and not transcript.is_primary
