"""The Wagtail admin of the core records: pages render, scoping holds, forms save."""

from __future__ import annotations

import pytest
from django.urls import reverse
from wagtail.permissions import policy_registry

from archive import models
from tests.archive.factories import (
    CentralInstitutionFactory,
    CollectionFactory,
    InstitutionFactory,
    ItemFactory,
    WorkFactory,
    make_user,
)

pytestmark = pytest.mark.django_db

SHA = "ab" * 32
RIGHTS = "http://rightsstatements.org/vocab/NoC-NC/1.0/"


def url(model: str, view: str, *args) -> str:
    return reverse(f"archive_{model}:{view}", args=args)


def make_asset(item, **kwargs) -> models.Asset:
    fields = {
        "role": models.Asset.Role.PAGE,
        "sha256": SHA,
        "storage_path": f"originals/ab/{SHA}",
        "original_filename": "p001.tif",
        "size": 123456,
        "media_type": "image/tiff",
    }
    fields.update(kwargs)
    return models.Asset.objects.create(item=item, **fields)


def item_form_data(item=None, **overrides) -> dict:
    """POST data for the item form: an item's current values, or a new item's."""
    data = {
        "public_id": item.public_id if item else "yc-test-0001",
        "kind": item.kind if item else models.Item.Kind.BOOK_VOLUME,
        "institution": item.institution_id if item else "",
        "collection": "",
        "work": "",
        "volume_number": "",
        "dadian_ref": "",
        "title": item.title if item else "",
        "title_hant": "",
        "title_hans": "",
        "title_en": "",
        "date_text": item.date_text if item else "",
        "description": "",
        "description_hant": "",
        "description_hans": "",
        "description_en": "",
        "languages": "[]",
        "dialect": "",
        "rights_uri": RIGHTS,
        "required_statement": "廣州圖書館藏",
        "required_statement_en": "",
        "access_level": item.access_level if item else models.AccessLevel.PUBLIC,
        "embargo_until": "",
        "withdrawn_note": "",
        "agents-TOTAL_FORMS": "0",
        "agents-INITIAL_FORMS": "0",
        "agents-MIN_NUM_FORMS": "0",
        "agents-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


@pytest.fixture(autouse=True)
def _english_admin(client):
    """Assert on the English UI strings (the site's default language is zh-Hant)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def inst_a():
    return InstitutionFactory(code="liwan", name="荔灣區圖書館")


@pytest.fixture
def inst_b():
    return InstitutionFactory(code="yuexiu", name="越秀區圖書館")


@pytest.fixture
def item_a(inst_a):
    return ItemFactory(institution=inst_a, title="荔灣舊照 甲")


@pytest.fixture
def item_b(inst_b):
    return ItemFactory(institution=inst_b, title="越秀族譜 乙")


@pytest.fixture
def superuser_client(client):
    client.force_login(make_user("root", superuser=True))
    return client


@pytest.fixture
def archivist_a(client, inst_a):
    user = make_user("archivist-a", groups=["Archivists"], institution=inst_a)
    client.force_login(user)
    return client


# --------------------------------------------------------------------------
# Every viewset renders for a superuser
# --------------------------------------------------------------------------


@pytest.fixture
def one_of_each(item_a, inst_a):
    """One record of every model with a viewset, and the text its listing shows."""
    agent = models.Agent.objects.create(name="屈大均", dynasty="清")
    place = models.Place.objects.create(name="西關")
    staff = make_user("colleague", institution=inst_a)
    return {
        "item": (item_a, item_a.title),
        "collection": (
            CollectionFactory(institution=inst_a, title="西關風情"),
            "西關風情",
        ),
        "work": (WorkFactory(title="廣東新語"), "廣東新語"),
        "agent": (agent, "屈大均"),
        "place": (place, "西關"),
        "institution": (inst_a, "荔灣區圖書館"),
        "themelibrary": (models.ThemeLibrary.objects.first(), None),
        "asset": (make_asset(item_a), "p001.tif"),
        "staffprofile": (staff.archive_profile, "colleague"),
    }


@pytest.mark.parametrize(
    "model",
    [
        "item",
        "collection",
        "work",
        "agent",
        "place",
        "institution",
        "themelibrary",
        "asset",
        "staffprofile",
    ],
)
def test_superuser_sees_list_edit_and_inspect_of_every_viewset(
    superuser_client, one_of_each, model
):
    obj, shown = one_of_each[model]
    shown = shown or obj.name_hant

    listing = superuser_client.get(url(model, "index"))
    assert listing.status_code == 200
    assert shown in listing.content.decode()

    edit = superuser_client.get(url(model, "edit", obj.pk))
    assert edit.status_code == 200
    assert 'method="POST"' in edit.content.decode()

    inspect = superuser_client.get(url(model, "inspect", obj.pk))
    assert inspect.status_code == 200


@pytest.mark.parametrize(
    "model",
    ["item", "collection", "work", "agent", "place", "institution", "staffprofile"],
)
def test_superuser_sees_create_form(superuser_client, model):
    response = superuser_client.get(url(model, "add"))
    assert response.status_code == 200
    assert f'action="{url(model, "add")}"' in response.content.decode()


@pytest.mark.parametrize("model", ["asset", "themelibrary"])
def test_nobody_adds_stored_originals_or_theme_libraries(superuser_client, model):
    listing = superuser_client.get(url(model, "index"))
    assert url(model, "add") not in listing.content.decode()
    response = superuser_client.get(url(model, "add"))
    # Wagtail answers a refused admin view by sending the user home.
    assert response.status_code == 302
    assert response["Location"] == reverse("wagtailadmin_home")


def test_four_theme_libraries_cannot_be_deleted(superuser_client):
    theme = models.ThemeLibrary.objects.first()
    response = superuser_client.post(url("themelibrary", "delete", theme.pk))
    assert response.status_code == 302
    assert models.ThemeLibrary.objects.filter(pk=theme.pk).exists()


def test_asset_list_shows_checksum_size_type_and_fixity(superuser_client, item_a):
    make_asset(item_a, fixity_status=models.Asset.FixityStatus.MISMATCH)
    body = superuser_client.get(url("asset", "index")).content.decode()
    assert SHA[:16] in body
    assert "120.6\xa0KB" in body
    assert "image/tiff" in body
    assert "Checksum mismatch" in body


def test_admin_menu_has_archive_group(superuser_client):
    body = superuser_client.get(reverse("wagtailadmin_home")).content.decode()
    assert "Archive" in body
    assert url("item", "index") in body


# --------------------------------------------------------------------------
# Who may reach what
# --------------------------------------------------------------------------


def test_anonymous_user_is_sent_to_login(client, item_a):
    for target in (url("item", "index"), url("item", "edit", item_a.pk)):
        response = client.get(target)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("wagtailadmin_login"))


def test_archivist_lists_and_edits_own_institutions_item(archivist_a, item_a, item_b):
    listing = archivist_a.get(url("item", "index"))
    assert listing.status_code == 200
    body = listing.content.decode()
    assert item_a.title in body
    assert item_b.title not in body

    edit = archivist_a.get(url("item", "edit", item_a.pk))
    assert edit.status_code == 200
    body = edit.content.decode()
    assert item_a.title in body
    assert 'name="agents-TOTAL_FORMS"' in body


def test_archivist_cannot_reach_another_institutions_item(archivist_a, item_b):
    assert archivist_a.get(url("item", "edit", item_b.pk)).status_code == 404
    assert archivist_a.get(url("item", "inspect", item_b.pk)).status_code == 404
    assert archivist_a.get(url("item", "history", item_b.pk)).status_code == 404

    response = archivist_a.post(
        url("item", "edit", item_b.pk), item_form_data(item_b, title="篡改")
    )
    assert response.status_code == 404
    item_b.refresh_from_db()
    assert item_b.title == "越秀族譜 乙"


def test_item_policy_scopes_instances_to_the_users_institution(inst_a, item_a, item_b):
    policy = policy_registry.get_by_type(models.Item)
    archivist = make_user("policy-a", groups=["Archivists"], institution=inst_a)
    central = make_user(
        "policy-central",
        groups=["Central library staff"],
        institution=CentralInstitutionFactory(),
    )

    assert policy.user_has_permission_for_instance(archivist, "change", item_a)
    assert not policy.user_has_permission_for_instance(archivist, "change", item_b)
    assert not policy.user_has_permission_for_instance(archivist, "delete", item_a)
    assert policy.user_has_permission_for_instance(central, "change", item_b)
    assert list(policy.instances_user_has_permission_for(archivist, "change")) == [
        item_a
    ]
    assert set(policy.instances_user_has_permission_for(central, "change")) == {
        item_a,
        item_b,
    }
    editors_of_b = policy.users_with_permission_for_instance("change", item_b)
    assert central in editors_of_b
    assert archivist not in editors_of_b


def test_archivist_cannot_move_item_to_another_institution(archivist_a, item_a, inst_b):
    response = archivist_a.post(
        url("item", "edit", item_a.pk), item_form_data(item_a, institution=inst_b.pk)
    )
    assert response.status_code == 200  # the form comes back with an error
    assert "institution" in response.context["form"].errors
    item_a.refresh_from_db()
    assert item_a.institution_id != inst_b.pk


def test_archivist_sees_only_own_institutions_assets(archivist_a, item_a, item_b):
    make_asset(item_a, original_filename="ours.tif")
    theirs = make_asset(item_b, original_filename="theirs.tif")
    body = archivist_a.get(url("asset", "index")).content.decode()
    assert "ours.tif" in body
    assert "theirs.tif" not in body
    assert archivist_a.get(url("asset", "inspect", theirs.pk)).status_code == 404


def test_staff_without_profile_see_no_items(client, item_a):
    client.force_login(make_user("nowhere", groups=["Archivists"]))
    response = client.get(url("item", "index"))
    assert response.status_code == 200
    assert item_a.title not in response.content.decode()


def test_central_library_staff_edit_every_institutions_item(client, item_a, item_b):
    central = CentralInstitutionFactory()
    client.force_login(
        make_user("central", groups=["Central library staff"], institution=central)
    )
    body = client.get(url("item", "index")).content.decode()
    assert item_a.title in body and item_b.title in body

    assert client.get(url("item", "edit", item_b.pk)).status_code == 200
    response = client.post(
        url("item", "edit", item_b.pk), item_form_data(item_b, title="越秀族譜 改")
    )
    assert response.status_code == 302
    item_b.refresh_from_db()
    assert item_b.title == "越秀族譜 改"


def test_curator_can_view_and_edit_but_not_delete(client, inst_a, item_a):
    client.force_login(make_user("curator", groups=["Curators"], institution=inst_a))
    assert client.get(url("item", "index")).status_code == 200
    edit = client.get(url("item", "edit", item_a.pk))
    assert edit.status_code == 200
    assert url("item", "delete", item_a.pk) not in edit.content.decode()

    response = client.post(url("item", "delete", item_a.pk))
    assert response.status_code == 302
    assert response["Location"] == reverse("wagtailadmin_home")
    assert models.Item.objects.filter(pk=item_a.pk).exists()


def test_archivist_can_only_view_institutions(archivist_a, inst_a):
    assert archivist_a.get(url("institution", "index")).status_code == 200
    response = archivist_a.post(
        url("institution", "edit", inst_a.pk),
        {"code": inst_a.code, "name": "改名", "kind": inst_a.kind},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("wagtailadmin_home")
    inst_a.refresh_from_db()
    assert inst_a.name == "荔灣區圖書館"


# --------------------------------------------------------------------------
# The item form
# --------------------------------------------------------------------------


def test_archivist_creates_item_with_parsed_date(archivist_a, inst_a):
    response = archivist_a.post(
        url("item", "add"),
        item_form_data(title="番禺縣志", institution=inst_a.pk, date_text="清光緒十年"),
    )
    assert response.status_code == 302
    item = models.Item.objects.get(public_id="yc-test-0001")
    assert (item.year_from, item.year_to) == (1884, 1884)
    assert item.institution == inst_a
    assert "1884" in archivist_a.get(url("item", "index")).content.decode()


def test_create_form_offers_only_own_institution(archivist_a, inst_a, inst_b):
    body = archivist_a.get(url("item", "add")).content.decode()
    assert inst_a.name in body
    assert inst_b.name not in body

    response = archivist_a.post(
        url("item", "add"), item_form_data(title="越界", institution=inst_b.pk)
    )
    assert response.status_code == 200
    assert "institution" in response.context["form"].errors
    assert not models.Item.objects.filter(title="越界").exists()


def test_date_not_understood_is_kept_and_flagged(archivist_a, inst_a):
    response = archivist_a.post(
        url("item", "add"),
        item_form_data(title="無年舊照", institution=inst_a.pk, date_text="清末"),
        follow=True,
    )
    assert "was not understood" in response.content.decode()
    item = models.Item.objects.get(title="無年舊照")
    assert item.date_text == "清末"
    assert item.year_from is None and item.year_to is None

    listing = archivist_a.get(url("item", "index"), {"date_status": "not_understood"})
    body = listing.content.decode()
    assert "無年舊照" in body
    assert "not understood" in body
    edit = archivist_a.get(url("item", "edit", item.pk)).content.decode()
    assert "Not understood" in edit


def test_editing_date_text_recomputes_years(archivist_a, item_a):
    response = archivist_a.post(
        url("item", "edit", item_a.pk), item_form_data(item_a, date_text="民國二十七年")
    )
    assert response.status_code == 302
    item_a.refresh_from_db()
    assert (item_a.year_from, item_a.year_to) == (1938, 1938)


def test_item_form_saves_agents_themes_and_places(archivist_a, inst_a):
    agent = models.Agent.objects.create(name="梁啟超")
    place = models.Place.objects.create(name="新會")
    theme = models.ThemeLibrary.objects.first()
    data = item_form_data(
        title="飲冰室合集",
        institution=inst_a.pk,
        themes=[theme.pk],
        places=[place.pk],
        **{
            "agents-TOTAL_FORMS": "1",
            "agents-0-agent": agent.pk,
            "agents-0-role": models.Role.AUTHOR,
            "agents-0-sort_order": "0",
        },
    )
    response = archivist_a.post(url("item", "add"), data)
    assert response.status_code == 302
    item = models.Item.objects.get(title="飲冰室合集")
    assert list(item.item_agents.values_list("agent__name", "role")) == [
        ("梁啟超", "author")
    ]
    assert list(item.themes.all()) == [theme]
    assert list(item.places.all()) == [place]


def test_public_id_cannot_change_through_the_form(archivist_a, item_a):
    original = item_a.public_id
    archivist_a.post(
        url("item", "edit", item_a.pk), item_form_data(item_a, public_id="yc-changed")
    )
    item_a.refresh_from_db()
    assert item_a.public_id == original


def test_search_in_simplified_finds_traditional_title(superuser_client, inst_a):
    ItemFactory(institution=inst_a, title="廣州大典 經部")
    ItemFactory(institution=inst_a, title="佛山舊照")
    response = superuser_client.get(url("item", "index"), {"q": "广州大典"})
    body = response.content.decode()
    assert "廣州大典 經部" in body
    assert "佛山舊照" not in body


def test_item_list_filters_by_institution(superuser_client, item_a, item_b, inst_b):
    body = superuser_client.get(
        url("item", "index"), {"institution": inst_b.pk}
    ).content.decode()
    assert item_b.title in body
    assert item_a.title not in body


# --------------------------------------------------------------------------
# Fixity warning on the dashboard
# --------------------------------------------------------------------------


def test_dashboard_warns_of_failed_fixity(superuser_client, item_a):
    make_asset(item_a, fixity_status=models.Asset.FixityStatus.MISMATCH)
    body = superuser_client.get(reverse("wagtailadmin_home")).content.decode()
    assert "1 stored original failed its fixity check" in body
    assert (
        url("asset", "index") + "?fixity_status=mismatch&amp;fixity_status=missing"
    ) in body


def test_dashboard_is_quiet_when_originals_are_intact(superuser_client, item_a):
    make_asset(item_a, fixity_status=models.Asset.FixityStatus.OK)
    body = superuser_client.get(reverse("wagtailadmin_home")).content.decode()
    assert "failed its fixity check" not in body
    assert "failed their fixity check" not in body


def test_fixity_filter_lists_only_failures(superuser_client, item_a):
    make_asset(item_a, fixity_status="missing", original_filename="gone.tif")
    make_asset(
        item_a, sha256="cd" * 32, fixity_status="ok", original_filename="fine.tif"
    )
    body = superuser_client.get(
        url("asset", "index"), {"fixity_status": ["mismatch", "missing"]}
    ).content.decode()
    assert "gone.tif" in body
    assert "fine.tif" not in body


def test_archivist_is_not_warned_of_other_institutions_failures(archivist_a, item_b):
    make_asset(item_b, fixity_status=models.Asset.FixityStatus.MISMATCH)
    body = archivist_a.get(reverse("wagtailadmin_home")).content.decode()
    assert "fixity check" not in body
