"""The access walk: every routed door, every access level, every kind of visitor.

Nothing restricted may leak: a refused item answers 403/401 (or 410 when
withdrawn) and its title never appears in any page the visitor can fetch.
"""

from __future__ import annotations

import datetime as dt
import io
import wave

import pytest
from django.utils import timezone

from archive.models import (
    AccessGrant,
    AccessLevel,
    Asset,
    Collection,
    Item,
    ThemeLibrary,
)
from archive.services import asset_create
from ingest.derivatives import image_derivatives_make
from tests.archive.doors import (
    ADMIN_PREFIXES,
    ITEM_DOORS,
    SITE_DOORS,
    ItemFixture,
    routed_patterns,
)
from tests.archive.factories import (
    CollectionFactory,
    InstitutionFactory,
    ItemFactory,
    jpeg_bytes,
    make_user,
)

READING_ROOM_IP = "10.20.30.40"
OUTSIDE_IP = "203.0.113.9"

#: level name -> (access_level, embargo_until offset in days or None)
LEVELS = {
    "public": (AccessLevel.PUBLIC, None),
    "reading_room": (AccessLevel.READING_ROOM, None),
    "staff": (AccessLevel.STAFF, None),
    "embargoed": (AccessLevel.EMBARGOED, 30),
    "embargo_passed": (AccessLevel.EMBARGOED, -1),
    "withdrawn": (AccessLevel.WITHDRAWN, None),
}

#: (level, visitor) -> allowed? Anything not allowed must be refused.
#: "granted" holds an active grant to every walk item; "expired" held one that
#: ended an hour ago (the scheduled job has not run: the clock alone closes it).
ALLOWED = {
    "public": {"anonymous", "reading_room", "user", "staff", "granted", "expired"},
    "reading_room": {"reading_room", "staff", "granted"},
    "staff": {"staff", "granted"},
    "embargoed": {"staff", "granted"},
    "embargo_passed": {
        "anonymous",
        "reading_room",
        "user",
        "staff",
        "granted",
        "expired",
    },
    "withdrawn": set(),
}
VISITORS = ("anonymous", "reading_room", "user", "staff", "granted", "expired")


def _wav_bytes() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 800)
    return buf.getvalue()


def _make_item(level: str, tmp_path) -> ItemFixture:
    from archive.models import PageImage
    from iiif.services import page_pyramid_make

    access, offset = LEVELS[level]
    embargo = (
        timezone.localdate() + dt.timedelta(days=offset) if offset is not None else None
    )
    institution = InstitutionFactory(code="walk-lib")
    common = {
        "institution": institution,
        "access_level": access,
        "embargo_until": embargo,
        "title": f"走查 WALK-{level.upper()}-TITLE",
    }
    collection = Collection.objects.filter(
        code="walk-collection"
    ).first() or CollectionFactory(code="walk-collection", institution=institution)
    common["collection"] = collection
    item = ItemFactory(kind=Item.Kind.IMAGE_SET, **common)
    item.themes.set(ThemeLibrary.objects.filter(code="lingnan"))
    page_file = tmp_path / f"{level}.jpg"
    page_file.write_bytes(jpeg_bytes(color=(len(level) * 10, 90, 90)))
    asset, _ = asset_create(item=item, source=page_file, role=Asset.Role.PAGE)
    image_derivatives_make(asset=asset)
    page_pyramid_make(asset=asset)
    page = PageImage.objects.create(
        item=item, sequence=1, asset=asset, width=64, height=96
    )
    recording = ItemFactory(kind=Item.Kind.ORAL_HISTORY, **common)
    recording.themes.set(ThemeLibrary.objects.filter(code="lingnan"))
    media_file = tmp_path / f"{level}.wav"
    media_file.write_bytes(_wav_bytes() + level.encode())
    media, _ = asset_create(item=recording, source=media_file, role=Asset.Role.MEDIA)
    return ItemFixture(
        item=item, page=page, recording=recording, media_asset_id=media.pk
    )


@pytest.fixture
def walk(db, tmp_path, settings, client):
    settings.ARCHIVE_READING_ROOM_NETWORKS = ["10.20.0.0/16"]
    fixtures = {level: _make_item(level, tmp_path) for level in LEVELS}
    # Index every item, so the search doors have something they could leak.
    from archive.search.indexing import items_reindex

    items_reindex([pk for f in fixtures.values() for pk in (f.item.pk, f.recording.pk)])
    user = make_user("reader")
    staff = make_user("archivist-walk", groups=["Archivists"])
    granted = make_user("granted-reader")
    expired = make_user("expired-reader")
    now = timezone.now()
    for f in fixtures.values():
        for item in (f.item, f.recording):
            if item.access_level == AccessLevel.WITHDRAWN:
                continue
            AccessGrant.objects.create(
                user=granted, item=item, expires_at=now + dt.timedelta(days=1)
            )
            AccessGrant.objects.create(
                user=expired, item=item, expires_at=now - dt.timedelta(hours=1)
            )
    user.walk_visitors = {"user": user, "staff": staff, "granted": granted}
    user.walk_visitors["expired"] = expired
    return fixtures, user, staff


def _get(client, visitor, url, user, staff, method="get"):
    client.logout()
    if visitor in ("user", "granted", "expired"):
        client.force_login(user.walk_visitors[visitor])
    elif visitor == "staff":
        client.force_login(staff)
    ip = READING_ROOM_IP if visitor == "reading_room" else OUTSIDE_IP
    return getattr(client, method)(url, REMOTE_ADDR=ip)


def _body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def test_every_routed_pattern_is_registered():
    """A new URL pattern without example arguments fails here: no door is forgotten."""
    unregistered = [
        (route, name)
        for route, name in routed_patterns()
        if not route.startswith(ADMIN_PREFIXES)
        and name not in ITEM_DOORS
        and name not in SITE_DOORS
    ]
    assert unregistered == [], (
        f"register these patterns in tests/archive/doors.py: {unregistered}"
    )


def test_registry_has_no_stale_entries():
    """Every registered name is still routed, so the registry cannot rot."""
    routed = {name for _, name in routed_patterns()}
    stale = (set(ITEM_DOORS) | set(SITE_DOORS)) - routed
    assert stale == set()


@pytest.mark.parametrize("level", list(LEVELS))
def test_item_doors_by_level_and_visitor(walk, client, level):
    fixtures, user, staff = walk
    fixture = fixtures[level]
    for name, urls_for in ITEM_DOORS.items():
        for url in urls_for(fixture):
            for visitor in VISITORS:
                response = _get(client, visitor, url, user, staff)
                body = _body(response)
                where = f"{name} {url} as {visitor} ({level})"
                if visitor in ALLOWED[level]:
                    # 303: the Image API base URI redirects to info.json (§2.2).
                    assert response.status_code in (200, 206, 303), where
                else:
                    expected = {410} if level == "withdrawn" else {401, 403}
                    assert response.status_code in expected, (
                        f"{where}: {response.status_code}"
                    )
                    assert f"WALK-{level.upper()}-TITLE" not in body, (
                        f"{where} leaks the title"
                    )
                    assert response["Cache-Control"] == "private, no-store", where


def test_site_doors_never_list_what_the_visitor_may_not_see(walk, client):
    fixtures, user, staff = walk
    for name, (method, urls) in SITE_DOORS.items():
        for url in urls:
            for visitor in VISITORS:
                response = _get(client, visitor, url, user, staff, method=method)
                assert response.status_code < 500, f"{name} {url} as {visitor}"
                body = _body(response)
                for level in LEVELS:
                    if visitor not in ALLOWED[level] or level == "withdrawn":
                        assert f"WALK-{level.upper()}-TITLE" not in body, (
                            f"{name} {url} as {visitor} shows the {level} item"
                        )


def test_public_listing_shows_what_the_visitor_may_see(walk, client):
    """The walk's listing check can fail: allowed items do appear."""
    fixtures, user, staff = walk
    body = _body(_get(client, "anonymous", "/institutions/walk-lib/", user, staff))
    assert "WALK-PUBLIC-TITLE" in body
    assert "WALK-EMBARGO_PASSED-TITLE" in body
    body = _body(_get(client, "reading_room", "/institutions/walk-lib/", user, staff))
    assert "WALK-READING_ROOM-TITLE" in body
    body = _body(_get(client, "staff", "/institutions/walk-lib/", user, staff))
    assert "WALK-STAFF-TITLE" in body and "WALK-EMBARGOED-TITLE" in body
    for url in (
        "/iiif/3/collection/theme-lingnan",
        "/iiif/3/collection/walk-collection",
    ):
        assert "WALK-PUBLIC-TITLE" in _body(
            _get(client, "anonymous", url, user, staff)
        ), url
        assert "WALK-STAFF-TITLE" in _body(_get(client, "staff", url, user, staff)), url


def test_consent_form_is_staff_only_on_a_public_item(walk, client, tmp_path):
    fixtures, user, staff = walk
    item = fixtures["public"].recording
    form = tmp_path / "consent.pdf"
    form.write_bytes(b"%PDF-1.4\n% signed consent form of a named person\n%%EOF\n")
    asset, _ = asset_create(item=item, source=form, role=Asset.Role.CONSENT_FORM)
    url = f"/items/{item.public_id}/files/{asset.pk}"
    # A grant to the item does not open the consent form (staff only whatever).
    for visitor in ("anonymous", "reading_room", "user", "granted"):
        response = _get(client, visitor, url, user, staff)
        assert response.status_code in (401, 403), visitor
    assert _get(client, "staff", url, user, staff).status_code == 200


def test_admin_refuses_anonymous_visitors(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_unknown_item_is_404(db, client):
    assert client.get("/items/no-such-item/").status_code == 404


def test_search_lists_what_the_visitor_may_see(walk, client):
    """The search doors' check can fail: the index holds every level, and allowed ones appear."""
    fixtures, user, staff = walk
    for door in ("/search/?q=WALK", "/api/search?q=WALK&per_page=100"):
        body = _body(_get(client, "anonymous", door, user, staff))
        assert "WALK-PUBLIC-TITLE" in body, door
        assert "WALK-EMBARGO_PASSED-TITLE" in body, door
        body = _body(_get(client, "reading_room", door, user, staff))
        assert "WALK-READING_ROOM-TITLE" in body, door
        body = _body(_get(client, "staff", door, user, staff))
        assert "WALK-STAFF-TITLE" in body, door
        assert "WALK-WITHDRAWN-TITLE" not in body, door
        # A grant opens its items in search at once; an ended one closes them.
        body = _body(_get(client, "granted", door, user, staff))
        assert "WALK-STAFF-TITLE" in body, door
        assert "WALK-EMBARGOED-TITLE" in body, door
        assert "WALK-WITHDRAWN-TITLE" not in body, door
        body = _body(_get(client, "expired", door, user, staff))
        assert "WALK-STAFF-TITLE" not in body, door


def test_request_access_form_is_for_refused_visitors_and_never_shows_the_title(
    walk, client
):
    """Refused visitors get the form (200, no title); allowed ones go to the item."""
    fixtures, user, staff = walk
    for level, fixture in fixtures.items():
        url = f"/items/{fixture.item.public_id}/request-access/"
        for visitor in VISITORS:
            response = _get(client, visitor, url, user, staff)
            where = f"{url} as {visitor} ({level})"
            if level == "withdrawn":
                assert response.status_code == 410, where
            elif visitor in ALLOWED[level]:
                assert response.status_code == 302, where
                assert response["Location"].endswith(
                    f"/items/{fixture.item.public_id}/"
                )
            else:
                assert response.status_code == 200, where
                assert response["Cache-Control"] == "private, no-store", where
            assert f"WALK-{level.upper()}-TITLE" not in _body(response), where


def test_stored_files_have_no_guessable_public_path(walk, client):
    """Originals and derivatives are only served through the doors that ask can_view."""
    from archive.models import Derivative

    fixtures, user, staff = walk
    fixture = fixtures["staff"]
    stored = [a.storage_path for a in Asset.objects.filter(item=fixture.recording)]
    stored += [a.storage_path for a in Asset.objects.filter(item=fixture.item)]
    stored += [d.path for d in Derivative.objects.filter(asset__item=fixture.item)]
    assert stored, "the walk item has stored files"
    for relative in stored:
        for prefix in ("/media/", "/storage/", "/static/", "/var/storage/", "/"):
            url = prefix + relative
            for visitor in ("anonymous", "staff"):
                response = _get(client, visitor, url, user, staff)
                if response.status_code == 301:  # APPEND_SLASH, then not found
                    assert response["Location"] == url + "/", url
                    response = _get(client, visitor, url + "/", user, staff)
                assert response.status_code == 404, f"{url} as {visitor}"
