"""Access requests, time-limited grants, reported concerns and the audit log.

The access walk (test_access_walk.py) proves every door for a granted person
and after a grant ends; these tests prove the rules and the paths around them.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from archive import trust
from archive.access import Decision, decide
from archive.models import (
    AccessGrant,
    AccessLevel,
    AccessRequest,
    Asset,
    AuditEvent,
    ConcernReport,
)
from archive.services import asset_create
from tests.archive.factories import InstitutionFactory, ItemFactory, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def lib():
    return InstitutionFactory(code="trust-lib")


@pytest.fixture
def restricted(lib):
    return ItemFactory(
        institution=lib, access_level=AccessLevel.STAFF, title="TRUST-SECRET-TITLE"
    )


@pytest.fixture
def public(lib):
    return ItemFactory(
        institution=lib, access_level=AccessLevel.PUBLIC, title="TRUST-PUBLIC-TITLE"
    )


def _grant(user, item, **delta):
    return AccessGrant.objects.create(
        user=user, item=item, expires_at=timezone.now() + dt.timedelta(**delta)
    )


def _actions(item=None):
    """The actions logged, leaving out the creation of the fixtures' restricted items."""
    qs = AuditEvent.objects.all()
    if item is not None:
        qs = qs.filter(item_public_id=item.public_id)
    return [e.action for e in qs.order_by("pk") if not e.detail.get("created")]


# ---------------------------------------------------------------------------
# The rule


def test_a_grant_opens_the_item_to_its_person_only_until_it_ends(restricted):
    person, other = make_user("person"), make_user("other")
    assert decide(person, restricted) is Decision.FORBIDDEN
    grant = _grant(person, restricted, hours=1)
    assert decide(make_user_fresh(person), restricted) is Decision.ALLOW
    assert decide(other, restricted) is Decision.FORBIDDEN
    grant.expires_at = timezone.now() - dt.timedelta(seconds=1)
    grant.save()
    assert decide(make_user_fresh(person), restricted) is Decision.FORBIDDEN
    grant.expires_at = timezone.now() + dt.timedelta(hours=1)
    grant.revoked_at = timezone.now()
    grant.save()
    assert decide(make_user_fresh(person), restricted) is Decision.FORBIDDEN


def make_user_fresh(user):
    """The same account as a new request would load it (no per-request cache)."""
    return type(user).objects.get(pk=user.pk)


def test_a_grant_ends_with_the_clock_even_inside_one_request(restricted):
    person = make_user("person")
    grant = _grant(person, restricted, hours=1)
    assert decide(person, restricted).allowed
    AccessGrant.objects.filter(pk=grant.pk).update(expires_at=timezone.now())
    # The cached expiry is compared with the clock again at the next decision.
    person._archive_access_grants[restricted.pk] = timezone.now()
    assert not decide(person, restricted).allowed


def test_a_grant_never_opens_what_is_stricter_than_the_item(restricted, tmp_path):
    person = make_user("person")
    _grant(person, restricted, days=1)
    form = tmp_path / "consent.pdf"
    form.write_bytes(b"%PDF-1.4\n% consent\n%%EOF\n")
    consent, _ = asset_create(
        item=restricted, source=form, role=Asset.Role.CONSENT_FORM
    )
    assert decide(person, restricted).allowed
    assert not decide(person, consent).allowed
    restricted.access_level = AccessLevel.WITHDRAWN
    restricted.save()
    assert decide(make_user_fresh(person), restricted) is Decision.GONE


def test_listings_show_granted_items_to_their_person(client, restricted):
    person = make_user("person")
    url = f"/institutions/{restricted.institution.code}/"
    client.force_login(person)
    assert "TRUST-SECRET-TITLE" not in client.get(url).content.decode()
    _grant(person, restricted, days=1)
    assert "TRUST-SECRET-TITLE" in client.get(url).content.decode()
    client.force_login(make_user("other"))
    assert "TRUST-SECRET-TITLE" not in client.get(url).content.decode()


def test_grant_limits(restricted):
    staff = make_user("staff", groups=["Central library staff"])
    person = make_user("person")
    with pytest.raises(ValidationError):
        trust.grant_create(
            item=restricted,
            user=person,
            expires_at=timezone.now() - dt.timedelta(minutes=1),
            staff=staff,
        )
    with pytest.raises(ValidationError):
        trust.grant_create(
            item=restricted,
            user=person,
            expires_at=timezone.now() + dt.timedelta(days=trust.grant_max_days() + 1),
            staff=staff,
        )
    assert not AccessGrant.objects.exists()


# ---------------------------------------------------------------------------
# Requests: the public form, the admin's decision, the end by itself


def test_the_public_requests_access_and_staff_grant_it(client, restricted):
    page = client.get(f"/items/{restricted.public_id}/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 403
    assert f"/items/{restricted.public_id}/request-access/" in page.content.decode()
    url = f"/items/{restricted.public_id}/request-access/"
    form = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert form.status_code == 200
    assert "TRUST-SECRET-TITLE" not in form.content.decode()
    response = client.post(
        url,
        {
            "name": "陳小姐",
            "email": "chan@example.org",
            "affiliation": "中山大學",
            "purpose": "研究西關口述歷史",
            "website": "",
        },
    )
    assert response.status_code == 200
    request = AccessRequest.objects.get()
    assert (request.item, request.status) == (restricted, "pending")
    assert _actions(restricted) == [AuditEvent.Action.REQUEST_FILED]

    archivist = make_user(
        "archivist", groups=["Archivists"], institution=restricted.institution
    )
    client.force_login(archivist)
    listing = client.get("/admin/access/requests/")
    assert listing.status_code == 200 and "chan@example.org" in listing.content.decode()
    with translation.override("en"):
        decided = client.post(
            f"/admin/access/requests/{request.pk}/decide/",
            {"decision": "grant", "days": "7", "note": "ok"},
            follow=True,
        )
    assert "/admin/password_reset/confirm/" in decided.content.decode()
    grant = AccessGrant.objects.get()
    assert grant.user.email == "chan@example.org"
    assert grant.granted_by == archivist
    assert abs(
        grant.expires_at - (timezone.now() + dt.timedelta(days=7))
    ) < dt.timedelta(minutes=1)
    request.refresh_from_db()
    assert request.status == "granted"
    assert AuditEvent.Action.GRANT_CREATED in _actions(restricted)

    client.force_login(grant.user)
    assert client.get(f"/items/{restricted.public_id}/").status_code == 200
    # Ends by itself: the clock closes the door; the job records it once.
    AccessGrant.objects.filter(pk=grant.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert client.get(f"/items/{restricted.public_id}/").status_code == 403
    assert trust.grants_expire() == 1
    assert trust.grants_expire() == 0
    assert _actions(restricted).count(AuditEvent.Action.GRANT_EXPIRED) == 1


def test_another_institutions_archivist_cannot_decide(client, restricted):
    request = trust.access_request_file(
        item=restricted, name="A", email="a@example.org", purpose="p"
    )
    outsider = make_user(
        "outsider", groups=["Archivists"], institution=InstitutionFactory(code="other")
    )
    client.force_login(outsider)
    response = client.post(
        f"/admin/access/requests/{request.pk}/decide/",
        {"decision": "grant", "days": "7"},
    )
    assert response.status_code == 404
    assert not AccessGrant.objects.exists()
    client.force_login(make_user("visitor"))
    response = client.post(
        f"/admin/access/requests/{request.pk}/decide/",
        {"decision": "grant", "days": "7"},
    )
    assert response.status_code in (302, 403)
    assert not AccessGrant.objects.exists()


def test_a_robot_filling_the_trap_field_files_nothing(client, restricted):
    response = client.post(
        f"/items/{restricted.public_id}/request-access/",
        {
            "name": "bot",
            "email": "bot@example.org",
            "purpose": "x",
            "website": "http://spam.example",
        },
    )
    assert response.status_code == 400
    assert not AccessRequest.objects.exists()


def test_staff_revoke_a_grant(client, restricted):
    staff = make_user("central", groups=["Central library staff"])
    person = make_user("person")
    grant = _grant(person, restricted, days=3)
    client.force_login(staff)
    client.post(f"/admin/access/grants/{grant.pk}/revoke/")
    grant.refresh_from_db()
    assert grant.revoked_at is not None and grant.revoked_by == staff
    assert not decide(make_user_fresh(person), restricted).allowed
    assert AuditEvent.Action.GRANT_REVOKED in _actions(restricted)


def test_staff_grant_directly_from_the_grants_page(client, restricted):
    staff = make_user("central", groups=["Central library staff"])
    client.force_login(staff)
    client.post(
        "/admin/access/grants/add/",
        {"item": restricted.public_id, "email": "reader@example.org", "days": "2"},
    )
    grant = AccessGrant.objects.get()
    assert grant.user.email == "reader@example.org" and grant.item == restricted
    listing = client.get("/admin/access/grants/").content.decode()
    assert "reader@example.org" in listing


# ---------------------------------------------------------------------------
# Concerns


def test_every_public_item_page_links_to_report_a_concern(client, public):
    page = client.get(f"/items/{public.public_id}/", HTTP_ACCEPT_LANGUAGE="en")
    assert f"/items/{public.public_id}/report/" in page.content.decode()
    assert "Report a concern" in page.content.decode()


def test_a_visitor_reports_a_concern_and_staff_review_it(client, public):
    url = f"/items/{public.public_id}/report/"
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"reason": "privacy", "message": "我阿爺嘅地址喺度", "website": ""}
    )
    assert response.status_code == 200
    concern = ConcernReport.objects.get()
    assert (concern.item, concern.reason, concern.status) == (public, "privacy", "open")
    assert _actions(public) == [AuditEvent.Action.CONCERN_FILED]
    staff = make_user("central", groups=["Central library staff"])
    client.force_login(staff)
    assert "我阿爺嘅地址喺度" in client.get("/admin/access/concerns/").content.decode()
    client.post(
        f"/admin/access/concerns/{concern.pk}/review/",
        {"status": "actioned", "note": "withdrawn"},
    )
    concern.refresh_from_db()
    assert concern.status == "actioned" and concern.handled_by == staff


def test_a_concern_needs_a_reason_and_a_message(client, public):
    response = client.post(f"/items/{public.public_id}/report/", {"reason": "nope"})
    assert response.status_code == 400
    assert not ConcernReport.objects.exists()


def test_the_concern_form_of_a_restricted_item_is_refused(client, restricted):
    response = client.get(f"/items/{restricted.public_id}/report/")
    assert response.status_code == 403
    assert "TRUST-SECRET-TITLE" not in response.content.decode()


# ---------------------------------------------------------------------------
# The audit log


def test_access_changes_and_withdrawals_are_logged(client, public):
    public.access_level = AccessLevel.STAFF
    public.save()
    public.access_level = AccessLevel.WITHDRAWN
    public.withdrawn_note = "takedown"
    public.save()
    assert _actions(public) == [
        AuditEvent.Action.ACCESS_CHANGED,
        AuditEvent.Action.WITHDRAWN,
    ]
    first = AuditEvent.objects.filter(item_public_id=public.public_id).first()
    assert first.detail["to"]["level"] == "withdrawn"
    # A save that changes nothing of access is not logged.
    public.title_en = "Renamed"
    public.save()
    assert len(_actions(public)) == 2
    # The tombstone answers at the stable URL.
    client.logout()
    response = client.get(f"/items/{public.public_id}/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 410
    assert "takedown" in response.content.decode()


def test_a_request_made_change_records_its_actor(rf, public):
    from archive.audit import AuditContextMiddleware

    staff = make_user("central", groups=["Central library staff"])
    request = rf.post("/admin/archive/item/edit/", REMOTE_ADDR="10.1.2.3")
    request.user = staff

    def view(request):
        public.access_level = AccessLevel.READING_ROOM
        public.save()
        return None

    AuditContextMiddleware(view)(request)
    event = AuditEvent.objects.get(item_public_id=public.public_id)
    assert (event.actor, event.actor_name, event.address) == (
        staff,
        "central",
        "10.1.2.3",
    )


def test_staff_views_of_restricted_material_are_logged_once_a_day(client, restricted):
    staff = make_user("central", groups=["Central library staff"])
    client.force_login(staff)
    for _ in range(3):
        assert client.get(f"/items/{restricted.public_id}/").status_code == 200
    views = AuditEvent.objects.filter(action=AuditEvent.Action.RESTRICTED_VIEWED)
    assert views.count() == 1
    assert views.get().actor == staff
    assert views.get().detail["reason"] == "staff"
    person = make_user("person")
    _grant(person, restricted, days=1)
    client.force_login(person)
    assert client.get(f"/items/{restricted.public_id}/").status_code == 200
    assert views.filter(actor=person, detail__reason="grant").count() == 1


def test_views_of_public_material_are_not_logged(client, public):
    client.force_login(make_user("central", groups=["Central library staff"]))
    client.get(f"/items/{public.public_id}/")
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.RESTRICTED_VIEWED)


def test_creating_a_restricted_item_is_logged(restricted, public):
    created = [
        (e.item_public_id, e.action)
        for e in AuditEvent.objects.all()
        if e.detail.get("created")
    ]
    assert created == [(restricted.public_id, AuditEvent.Action.ACCESS_CHANGED)]


def test_only_central_staff_read_the_audit_log(client, restricted):
    trust.access_request_file(
        item=restricted, name="A", email="a@example.org", purpose="p"
    )
    client.force_login(make_user("central", groups=["Central library staff"]))
    page = client.get("/admin/access/audit/")
    assert page.status_code == 200
    assert restricted.public_id in page.content.decode()
    client.force_login(make_user("archivist", groups=["Archivists"]))
    assert client.get("/admin/access/audit/").status_code in (302, 403)
    client.logout()
    assert client.get("/admin/access/audit/").status_code == 302


def test_a_new_person_sets_a_password_by_the_link_and_logs_in_to_see_the_item(
    client, restricted
):
    staff = make_user("central", groups=["Central library staff"])
    person = trust.person_for_email("new.reader@example.org")
    assert not person.has_usable_password()
    trust.grant_create(
        item=restricted,
        user=person,
        expires_at=timezone.now() + dt.timedelta(days=1),
        staff=staff,
    )
    form = client.get(trust.password_set_url(person), follow=True)
    password = "Zq8!long-enough-pass"
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": password, "new_password2": password},
    )
    assert done.status_code == 302
    item_url = f"/items/{restricted.public_id}/"
    refused = client.get(item_url, HTTP_ACCEPT_LANGUAGE="en")
    assert "/_util/login/?next=" in refused.content.decode()
    logged_in = client.post(
        f"/_util/login/?next={item_url}",
        {"username": person.username, "password": password, "next": item_url},
    )
    assert logged_in.status_code == 302 and logged_in["Location"] == item_url
    page = client.get(item_url)
    assert page.status_code == 200
    assert "TRUST-SECRET-TITLE" in page.content.decode()
