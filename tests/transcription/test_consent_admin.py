"""The consent admin: recording and changing a consent with its closed passages.

Saving goes through ``consent_save``: the item's and segments' access levels
change and the silenced copies are queued. Consents are scoped by institution
like transcripts (another institution's is a 404), readable by curators,
never deleted; the item's edit page links to its transcripts and consent.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from archive.models import AccessLevel, Item
from tests.archive.factories import InstitutionFactory, ItemFactory, make_user
from tests.transcription.doors import recording_make, transcript_make
from transcription.models import Consent, Segment
from transcription.services import consent_save
from transcription.tasks import listening_silenced_task

pytestmark = pytest.mark.django_db

INDEX = "transcription_consent:index"
ADD = "transcription_consent:add"


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def home():
    return InstitutionFactory(code="liwan")


@pytest.fixture
def recording(tmp_path, home):
    """A public 40-s interview of ``home`` with a transcript (segments every 4.5–6 s)."""
    item, asset = recording_make(tmp_path, institution=home, title="西關茶樓憶舊")
    transcript_make(item, asset=asset)
    return item


@pytest.fixture
def sent(monkeypatch):
    """Item ids ``listening_silenced_task`` is queued for (not run: no commit in tests)."""
    ids = []
    monkeypatch.setattr(listening_silenced_task, "delay_on_commit", ids.append)
    return ids


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


def form_data(item=None, *passages, allowed="reading_room", initial=0, **fields):
    """POST data of the consent form; ``passages`` are (from, to, until, reason) rows."""
    rows = list(passages) + [("", "", "", "")]
    data = {
        "allowed": allowed,
        "valid_until": "",
        "signed_on": "2024-05-01",
        "notes": "訪問後簽署",
        "closed-TOTAL_FORMS": str(len(rows)),
        "closed-INITIAL_FORMS": str(initial),
        "closed-MIN_NUM_FORMS": "0",
        "closed-MAX_NUM_FORMS": "1000",
    }
    if item is not None:
        data["item"] = str(item.pk)
    for n, (start, end, until, reason) in enumerate(rows):
        data.update(
            {
                f"closed-{n}-start": start,
                f"closed-{n}-end": end,
                f"closed-{n}-until": until,
                f"closed-{n}-reason": reason,
            }
        )
    data.update(fields)
    return data


def levels(item) -> dict[float, str]:
    return dict(
        Segment.objects.filter(transcript__item=item)
        .order_by("start")
        .values_list("start", "access_level")
    )


def edit_url(consent) -> str:
    return reverse("transcription_consent:edit", args=[consent.pk])


# --------------------------------------------------------------------------
# Recording and changing a consent
# --------------------------------------------------------------------------


def test_archivist_records_a_consent_with_closed_passages(archivist, recording, sent):
    page = archivist.get(reverse(ADD) + f"?item={recording.public_id}")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'<option value="{recording.pk}" selected>' in html
    assert "The recording lasts 0:40." in html

    response = archivist.post(
        reverse(ADD), form_data(recording, ("0:24", "30", "", "家事"))
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    consent = Consent.objects.get(item=recording)
    assert consent.allowed == AccessLevel.READING_ROOM
    assert [(r.start, r.end, r.reason) for r in consent.closed_ranges.all()] == [
        (24.0, 30.0, "家事")
    ]
    recording.refresh_from_db()
    assert recording.access_level == AccessLevel.READING_ROOM  # was public
    assert levels(recording)[24.0] == AccessLevel.STAFF
    assert {lv for start, lv in levels(recording).items() if start != 24.0} == {""}
    assert sent == [recording.pk]  # the silenced copy is queued
    listing = archivist.get(response["Location"]).content.decode()
    assert "1 passage closed" in listing and "Reading room" in listing


def test_archivist_changes_the_closed_passages(archivist, recording, sent):
    consent = consent_save(
        item=recording,
        allowed=AccessLevel.PUBLIC,
        closed=[{"start": 24.0, "end": 30.0, "reason": "家事"}],
    )
    page = archivist.get(edit_url(consent)).content.decode()
    assert 'value="0:24"' in page and 'value="0:30"' in page and "家事" in page
    data = form_data(
        None,
        ("0:24", "0:30", "", "家事"),
        ("0", "9.5", "2030-01-01", "鄰居姓名"),
        allowed="public",
        initial=1,
        **{"closed-0-DELETE": "on"},
    )
    response = archivist.post(edit_url(consent), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    passages = [(r.start, r.end, str(r.until)) for r in consent.closed_ranges.all()]
    assert passages == [(0.0, 9.5, "2030-01-01")]
    assert levels(recording) == {
        0.0: AccessLevel.STAFF,
        4.5: AccessLevel.STAFF,
        9.0: AccessLevel.STAFF,  # 9.0–12.0 overlaps 0–9.5
        12.0: "",
        18.0: "",
        24.0: "",  # opened again
        30.0: "",
    }
    assert sent == [recording.pk, recording.pk]
    consent.refresh_from_db()
    assert consent.item_id == recording.pk and consent.notes == "訪問後簽署"


@pytest.mark.parametrize(
    ("passages", "message"),
    [
        (
            [("0:10", "0:20", "", ""), ("0:15", "0:25", "", "")],
            "Closed passages 1 (0:10–0:20) and 2 (0:15–0:25) overlap",
        ),
        ([("0:50", "1:00", "", "")], "which lasts 0:40"),
        ([("0:20", "0:20", "", "")], "must start before it ends"),
        ([("0:20", "0:10", "", "")], "must start before it ends"),
        ([("abc", "0:10", "", "")], "is not a time"),
    ],
)
def test_refused_passages_are_explained_and_nothing_is_saved(
    archivist, recording, sent, passages, message
):
    response = archivist.post(reverse(ADD), form_data(recording, *passages))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Consent.objects.filter(item=recording).exists()
    recording.refresh_from_db()
    assert recording.access_level == AccessLevel.PUBLIC and sent == []


def test_a_service_refusal_comes_back_on_the_form(archivist, recording, sent):
    data = form_data(recording, valid_until="2020-01-01")  # before it was signed
    response = archivist.post(reverse(ADD), data)
    assert response.status_code == 200
    assert "The consent cannot end before the form was signed" in (
        response.content.decode()
    )
    assert not Consent.objects.filter(item=recording).exists()


# --------------------------------------------------------------------------
# Who may do what
# --------------------------------------------------------------------------


def test_another_institutions_archivist_gets_404(stranger, recording, sent):
    consent = consent_save(
        item=recording, allowed=AccessLevel.PUBLIC, closed=[{"start": 1, "end": 2}]
    )
    assert stranger.get(reverse(INDEX)).status_code == 200
    assert recording.title not in stranger.get(reverse(INDEX)).content.decode()
    assert stranger.get(edit_url(consent)).status_code == 404
    inspect = reverse("transcription_consent:inspect", args=[consent.pk])
    assert stranger.get(inspect).status_code == 404
    data = form_data(None, allowed="staff")
    assert stranger.post(edit_url(consent), data).status_code == 404
    assert Consent.objects.get(pk=consent.pk).allowed == AccessLevel.PUBLIC
    # Nor can they record one for the other institution's item.
    other = _another_recording(recording)
    page = stranger.get(reverse(ADD) + f"?item={other.public_id}").content.decode()
    assert f'<option value="{other.pk}"' not in page and other.title not in page
    response = stranger.post(reverse(ADD), form_data(other))
    assert response.status_code == 200
    assert not Consent.objects.filter(item=other).exists()


def _another_recording(recording) -> Item:
    """Another recording of ``recording``'s institution, still without a consent."""
    return ItemFactory(
        kind=Item.Kind.ORAL_HISTORY, institution=recording.institution, title="另一段"
    )


def test_curators_read_consents_but_do_not_change_them(curator, recording, sent):
    consent = consent_save(
        item=recording,
        allowed=AccessLevel.PUBLIC,
        closed=[{"start": 24.0, "end": 30.0, "reason": "家事"}],
    )
    assert recording.title in curator.get(reverse(INDEX)).content.decode()
    inspect = curator.get(reverse("transcription_consent:inspect", args=[consent.pk]))
    assert inspect.status_code == 200 and "0:24–0:30: 家事" in inspect.content.decode()
    for response in (
        curator.get(edit_url(consent)),
        curator.post(edit_url(consent), form_data(None, allowed="staff")),
        curator.get(reverse(ADD)),
    ):
        assert response.status_code == 302  # Wagtail sends a refused user home
    assert Consent.objects.get(pk=consent.pk).allowed == AccessLevel.PUBLIC
    # Curators may change the item: its page leads them to the consent to read.
    html = curator.get(reverse("archive_item:edit", args=[recording.pk])).content
    inspect_url = reverse("transcription_consent:inspect", args=[consent.pk])
    assert f'href="{inspect_url}"'.encode() in html
    assert f'href="{edit_url(consent)}"'.encode() not in html


def test_consents_need_the_transcript_permissions(client, recording):
    user = make_user("viewer", institution=recording.institution)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["access_admin", "add_consent", "change_consent"]
        )
    )
    client.force_login(user)
    assert client.get(reverse(INDEX)).status_code == 302
    assert reverse(INDEX) not in client.get("/admin/").content.decode()


def test_nobody_deletes_a_consent(client, recording, sent):
    consent = consent_save(item=recording, allowed=AccessLevel.PUBLIC)
    client.force_login(make_user("root", superuser=True))
    page = client.get(edit_url(consent)).content.decode()
    delete = reverse("transcription_consent:delete", args=[consent.pk])
    assert delete not in page
    assert client.post(delete).status_code == 302
    assert Consent.objects.filter(pk=consent.pk).exists()


def test_consents_are_in_the_transcripts_menu(archivist, recording):
    home = archivist.get("/admin/").content.decode()
    assert reverse(INDEX) in home
    assert reverse("transcription_admin_index") in home


# --------------------------------------------------------------------------
# Links between the item and its transcripts and consent
# --------------------------------------------------------------------------


def test_the_item_edit_page_links_to_transcripts_and_consent(
    archivist, recording, sent
):
    item_edit = reverse("archive_item:edit", args=[recording.pk])
    transcripts = reverse("transcription_admin_item", args=[recording.public_id])
    html = archivist.get(item_edit).content.decode()
    assert f'href="{transcripts}"' in html
    assert f'href="{reverse(ADD)}?item={recording.public_id}"' in html
    consent = consent_save(item=recording, allowed=AccessLevel.PUBLIC)
    html = archivist.get(item_edit).content.decode()
    assert f'href="{edit_url(consent)}"' in html
    assert f"{reverse(ADD)}?item=" not in html
    # The consent page links back.
    html = archivist.get(edit_url(consent)).content.decode()
    assert f'href="{item_edit}"' in html and f'href="{transcripts}"' in html


def test_a_book_volume_has_no_transcripts_link(archivist, home):
    volume = ItemFactory(institution=home)
    html = archivist.get(
        reverse("archive_item:edit", args=[volume.pk])
    ).content.decode()
    assert reverse("transcription_admin_item", args=[volume.public_id]) not in html
    assert f"?item={volume.public_id}" not in html
