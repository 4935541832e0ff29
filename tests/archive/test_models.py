"""The core records: constraints, stable identifiers, theme libraries, access levels."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from archive.access import Decision, can_view, decide
from archive.models import (
    AccessLevel,
    Asset,
    Collection,
    Item,
    PageImage,
    Place,
    ThemeLibrary,
    new_item_public_id,
    public_id_is_valid,
    public_id_validator,
)
from archive.services import asset_create, dated_apply
from tests.archive.factories import (
    CollectionFactory,
    InstitutionFactory,
    ItemFactory,
    WorkFactory,
    jpeg_bytes,
    make_user,
)

pytestmark = pytest.mark.django_db


def test_migration_creates_the_four_theme_libraries():
    themes = {t.code: t for t in ThemeLibrary.objects.all()}
    assert list(themes) == ["red", "lingnan", "maritime", "innovation"]
    assert (themes["red"].name_hant, themes["red"].name_hans) == (
        "紅色文化",
        "红色文化",
    )
    assert (
        themes["lingnan"].name_hant == "嶺南文化"
        and themes["lingnan"].name_hans == "岭南文化"
    )
    assert themes["maritime"].name_en == "Maritime Silk Road culture"
    assert themes["innovation"].name_hant == "創新文化"


def test_theme_migration_is_reversible_and_idempotent():
    from importlib import import_module

    from django.apps import apps

    migration = import_module("archive.migrations.0002_theme_libraries")
    migration.create_themes(apps, None)
    assert ThemeLibrary.objects.count() == 4
    # Going back past this migration first unapplies themes' page tree.
    from themes.models import ThemeLibraryPage

    for page in ThemeLibraryPage.objects.all():
        page.delete()
    migration.remove_themes(apps, None)
    assert ThemeLibrary.objects.count() == 0
    migration.create_themes(apps, None)
    assert ThemeLibrary.objects.count() == 4


def test_staff_groups_have_their_permissions():
    from django.contrib.auth.models import Group

    archivists = Group.objects.get(name="Archivists")
    codes = set(archivists.permissions.values_list("codename", flat=True))
    assert {"access_admin", "change_item", "view_restricted"} <= codes
    assert "edit_all_institutions" not in codes
    central = Group.objects.get(name="Central library staff")
    assert central.permissions.filter(codename="edit_all_institutions").exists()


def test_public_ids_are_random_and_well_formed():
    ids = {new_item_public_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 13 and i.startswith("yc-") for i in ids)


def test_public_id_never_changes_once_saved():
    item = ItemFactory()
    item.public_id = "yc-changed"
    with pytest.raises(ValidationError):
        item.save()
    item.refresh_from_db()
    assert item.public_id != "yc-changed"


@pytest.mark.parametrize("bad", ["Bad ID!", "gzdd-0001\n", "\ngzdd-0001", "ab"])
def test_public_id_format_enforced_by_the_database(bad):
    with pytest.raises(IntegrityError), transaction.atomic():
        ItemFactory(public_id=bad)


@pytest.mark.parametrize("bad", ["Bad ID!", "gzdd-0001\n", "-gzdd", "a" * 65])
def test_public_id_form_is_checked_before_the_database(bad):
    # A final newline passed Python's ``$`` (the pattern ends with ``\Z``).
    assert not public_id_is_valid(bad)
    with pytest.raises(ValidationError):
        public_id_validator(bad)
    assert public_id_is_valid("gzdd-0001")


def test_public_id_is_unique():
    ItemFactory(public_id="gzdd-0001")
    with pytest.raises(IntegrityError), transaction.atomic():
        ItemFactory(public_id="gzdd-0001")


def test_embargo_needs_a_date():
    with pytest.raises(IntegrityError), transaction.atomic():
        ItemFactory(access_level=AccessLevel.EMBARGOED, embargo_until=None)
    item = ItemFactory.build(
        access_level=AccessLevel.EMBARGOED, institution=InstitutionFactory()
    )
    with pytest.raises(ValidationError) as err:
        item.full_clean()
    assert "embargo_until" in err.value.message_dict


def test_volume_number_unique_within_a_work():
    work = WorkFactory()
    ItemFactory(work=work, volume_number=1)
    ItemFactory(work=work, volume_number=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        ItemFactory(work=work, volume_number=1)


def test_rights_must_be_a_known_uri():
    item = ItemFactory.build(
        institution=InstitutionFactory(), rights_uri="all rights reserved"
    )
    with pytest.raises(ValidationError) as err:
        item.full_clean()
    assert "rights_uri" in err.value.message_dict
    item.rights_uri = "https://creativecommons.org/licenses/by/4.0/"
    item.full_clean()


def test_collection_cannot_contain_itself():
    outer = CollectionFactory(code="gzdd")
    inner = CollectionFactory(
        code="gzdd-jing", parent=outer, institution=outer.institution
    )
    assert inner.ancestors() == [outer]
    outer.parent = inner
    with pytest.raises(ValidationError):
        outer.clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        Collection.objects.filter(pk=outer.pk).update(parent=outer)


def test_place_coordinates_in_range_and_paired():
    with pytest.raises(IntegrityError), transaction.atomic():
        Place.objects.create(name="西關", latitude=123, longitude=113)
    with pytest.raises(IntegrityError), transaction.atomic():
        Place.objects.create(name="西關", latitude=23.1, longitude=None)
    place = Place.objects.create(
        name="西關", name_en="Xiguan", latitude=23.124, longitude=113.242
    )
    assert place.name_for("en") == "Xiguan" and place.name_for("zh-hant") == "西關"


def test_dates_keep_the_source_text_beside_the_range():
    item = ItemFactory()
    assert dated_apply(obj=item, date_text="清光緒十年") is True
    item.save()
    item.refresh_from_db()
    assert (item.date_text, item.year_from, item.year_to) == ("清光緒十年", 1884, 1884)
    assert dated_apply(obj=item, date_text="清末") is False
    assert (item.date_text, item.year_from, item.year_to) == ("清末", None, None)


def test_titles_keep_the_source_script_and_offer_forms():
    item = ItemFactory(
        title="三字經", title_hans="三字经", title_en="Three Character Classic"
    )
    assert item.title_for("en") == "Three Character Classic"
    assert item.title_for("zh-hant") == "三字經"
    assert item.title_for("zh-hans") == "三字經"  # source text; display converts a copy


def test_asset_store_is_content_addressed_and_idempotent(tmp_path, settings):
    item = ItemFactory()
    scan = tmp_path / "0001.jpg"
    scan.write_bytes(jpeg_bytes())
    first, created = asset_create(item=item, source=scan, role=Asset.Role.PAGE)
    again, created_again = asset_create(item=item, source=scan, role=Asset.Role.PAGE)
    assert created and not created_again and first.pk == again.pk
    assert first.media_type == "image/jpeg"
    assert first.storage_path.endswith(first.sha256)
    assert first.path.read_bytes() == scan.read_bytes()
    assert Asset.objects.filter(item=item).count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        Asset.objects.create(
            item=item,
            role="page",
            sha256=first.sha256,
            storage_path="x",
            size=1,
            media_type="x",
        )


def test_media_type_comes_from_content_not_name(tmp_path):
    item = ItemFactory()
    fake = tmp_path / "scan.tif"
    fake.write_text("this is not a TIFF")
    asset, _ = asset_create(item=item, source=fake, role=Asset.Role.PAGE)
    assert asset.media_type == "text/plain"


def test_page_image_identifiers_are_stable(tmp_path):
    item = ItemFactory()
    scan = tmp_path / "p.jpg"
    scan.write_bytes(jpeg_bytes())
    asset, _ = asset_create(item=item, source=scan, role=Asset.Role.PAGE)
    page = PageImage.objects.create(
        item=item,
        sequence=1,
        asset=asset,
        width=64,
        height=96,
        public_id="67352ccc-d1b0-11e1-89ae-279075081939",
    )
    page.public_id = "something-else"
    with pytest.raises(ValidationError):
        page.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        PageImage.objects.create(item=item, sequence=1, asset=asset, width=1, height=1)


@pytest.mark.parametrize(
    ("level", "embargo_days", "anonymous", "reading_room", "staff"),
    [
        (AccessLevel.PUBLIC, None, Decision.ALLOW, Decision.ALLOW, Decision.ALLOW),
        (
            AccessLevel.READING_ROOM,
            None,
            Decision.LOGIN_REQUIRED,
            Decision.ALLOW,
            Decision.ALLOW,
        ),
        (
            AccessLevel.STAFF,
            None,
            Decision.LOGIN_REQUIRED,
            Decision.LOGIN_REQUIRED,
            Decision.ALLOW,
        ),
        (
            AccessLevel.EMBARGOED,
            1,
            Decision.LOGIN_REQUIRED,
            Decision.LOGIN_REQUIRED,
            Decision.ALLOW,
        ),
        (AccessLevel.EMBARGOED, 0, Decision.ALLOW, Decision.ALLOW, Decision.ALLOW),
        (AccessLevel.WITHDRAWN, None, Decision.GONE, Decision.GONE, Decision.GONE),
    ],
)
def test_access_decision_table(
    rf, settings, level, embargo_days, anonymous, reading_room, staff
):
    from django.contrib.auth.models import AnonymousUser

    settings.ARCHIVE_READING_ROOM_NETWORKS = ["192.0.2.0/24"]
    embargo = (
        timezone.localdate() + dt.timedelta(days=embargo_days)
        if embargo_days is not None
        else None
    )
    item = ItemFactory(access_level=level, embargo_until=embargo)
    outside = rf.get("/", REMOTE_ADDR="198.51.100.7")
    inside = rf.get("/", REMOTE_ADDR="192.0.2.15")
    archivist = make_user("a1", groups=["Archivists"])
    assert decide(AnonymousUser(), item, outside) is anonymous
    assert decide(AnonymousUser(), item, inside) is reading_room
    assert decide(archivist, item, outside) is staff
    reader = make_user("r1")
    expected_reader = (
        Decision.FORBIDDEN if anonymous is Decision.LOGIN_REQUIRED else anonymous
    )
    if level == AccessLevel.READING_ROOM or anonymous is Decision.LOGIN_REQUIRED:
        expected_reader = Decision.FORBIDDEN
    assert decide(reader, item, outside) is expected_reader


def test_asset_may_be_stricter_than_its_item(tmp_path):
    from django.contrib.auth.models import AnonymousUser

    item = ItemFactory(access_level=AccessLevel.PUBLIC)
    source = tmp_path / "f.bin"
    source.write_bytes(b"abc")
    asset, _ = asset_create(
        item=item, source=source, role=Asset.Role.SUPPLEMENT, access_level="staff"
    )
    assert can_view(AnonymousUser(), item) is True
    assert can_view(AnonymousUser(), asset) is False
    item.access_level = AccessLevel.STAFF
    item.save()
    source.write_bytes(b"abcd")
    open_asset, _ = asset_create(
        item=item, source=source, role=Asset.Role.SUPPLEMENT, access_level="public"
    )
    assert can_view(AnonymousUser(), open_asset) is False  # never looser than its item


def test_can_view_refuses_unknown_objects():
    with pytest.raises(TypeError):
        can_view(None, object())


def test_item_kinds_cover_the_archive():
    assert {
        "book_volume",
        "oral_history",
        "documentary_video",
        "image_set",
        "other",
    } <= set(Item.Kind.values)


def test_collection_codes_reserved_by_iiif_are_refused():
    collection = CollectionFactory.build(code="top", institution=InstitutionFactory())
    with pytest.raises(ValidationError):
        collection.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        CollectionFactory(code="theme-red")
