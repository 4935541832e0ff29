"""Preservation packages: export the sample archive, wipe, import, compare everything.

The sample archive is loaded once per module (with a transcript, a revision,
a closed passage, a consent form, a stricter file, an index point and a
fixity check added) and exported once; each test wipes the records inside
its own savepoint and imports into an empty storage folder of its own.
Records are compared field by field with a reader of this test's own
(``_row``), not with the exporter's serializer.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import bagit
import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from archive.files import sha256_of
from archive.models import (
    AccessLevel,
    Agent,
    Asset,
    Collection,
    Institution,
    Item,
    PageImage,
    Place,
    StaffProfile,
    Work,
)
from ingest.models import IngestJob
from ingest.preservation.bag_import import bag_check, item_bag_import
from ingest.preservation.records import BagRefused
from tests.archive.factories import ItemFactory, jpeg_bytes, make_user
from transcription.models import (
    Consent,
    IndexPoint,
    Segment,
    SegmentRevision,
    Transcript,
)

ORAL_HISTORY = "oh-teahouse-1938"
VOLUME = "gzdd-sanzijing-v1"
#: The smallest package of the sample (one page): the one tampered with.
SMALL = "iiif-validator-test-image"
KEEPER = "keeper"


def _enrich(folder: Path) -> None:
    """Add what the sample lacks: transcripts, a revision, a consent form, an index point."""
    from archive.services import asset_create, asset_verify_fixity

    keeper = make_user(KEEPER, superuser=True)
    item = Item.objects.get(public_id=ORAL_HISTORY)
    media = item.assets.get(role=Asset.Role.MEDIA)
    (folder / "form.jpg").write_bytes(jpeg_bytes(color=(250, 250, 240)))
    form, _ = asset_create(
        item=item,
        source=folder / "form.jpg",
        role=Asset.Role.CONSENT_FORM,
        original_filename="同意書 梁伯.JPG",
    )
    Consent.objects.filter(item=item).update(form=form)
    (folder / "notes.txt").write_text("訪談筆記（只供職員）\n", "utf-8")
    asset_create(
        item=item,
        source=folder / "notes.txt",
        role=Asset.Role.SUPPLEMENT,
        access_level=AccessLevel.STAFF,
    )
    first = Transcript.objects.create(
        item=item,
        asset=media,
        status=Transcript.Status.DONE,
        review_state=Transcript.Review.APPROVED,
        approved_by=keeper,
        approved_at=timezone.now(),
        engine="faster-whisper",
        model_name="base",
        language="yue",
        options={"beam_size": 5},
        duration=64.0,
        fallbacks=[{"start": 30.0, "temperature": 0.2}],
    )
    rows = [
        (0.0, 4.6, "我姓梁，街坊都叫我梁伯。", "我姓梁街坊叫我梁伯", "梁伯", ""),
        (4.6, 9.2, "我哋屋企喺西關開茶樓。", "我哋屋企喺西關開茶樓。", "梁伯", ""),
        (
            40.0,
            47.0,
            "屋企有啲事，我唔想講。",
            "屋企有啲事，我唔想講。",
            "梁伯",
            "staff",
        ),
    ]
    for start, end, text, machine, speaker, level in rows:
        segment = Segment.objects.create(
            transcript=first,
            start=start,
            end=end,
            text=text,
            machine_text=machine,
            speaker=speaker,
            access_level=level,
            avg_logprob=-0.25,
            words=[[start, start + 0.5, text[:1], 0.9]],
            edited=text != machine,
        )
        if segment.edited:
            SegmentRevision.objects.create(
                segment=segment,
                user=keeper,
                action="edit",
                before={"text": machine},
                after={"text": text},
            )
    Transcript.objects.create(
        item=item,
        asset=media,
        previous=first,
        is_primary=False,
        register=Transcript.Register.STANDARD,
        status=Transcript.Status.DONE,
        engine="faster-whisper",
        language="zh",
    )
    IndexPoint.objects.create(
        item=item,
        start=4.6,
        end=13.0,
        title="西關茶樓",
        keywords=["茶樓", "西關"],
        place=Place.objects.get(name="西關"),
        links=[{"label": "蓮香樓", "url": "https://example.org/lin-heung"}],
    )
    asset_verify_fixity(asset=media)


def _row(obj, *drop: str) -> dict:
    """Every concrete field of ``obj`` except its number and its relations' numbers."""
    skip = {"id", *drop}
    return {
        f.name: getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if f.name not in skip and not f.is_relation
    }


def _username(user) -> str:
    return user.username if user else ""


def _manifest(item: Item) -> dict | None:
    from django.contrib.auth import get_user_model

    from iiif import presentation
    from iiif.selectors import manifest_item_get

    keeper = get_user_model().objects.get(username=KEEPER)
    built = presentation.manifest_build(
        item=manifest_item_get(public_id=item.public_id), user=keeper
    )
    return json.loads(presentation.to_json(built)) if built else None


def _snapshot() -> dict:
    """Everything an item is, by stable keys: records, files' checksums, manifest."""
    out = {}
    for item in Item.objects.order_by("public_id"):
        sha = {a.pk: a.sha256 for a in item.assets.all()}
        collection = item.collection
        chain = [*collection.ancestors(), collection] if collection else []
        consent = Consent.objects.filter(item=item).first()
        out[item.public_id] = {
            "item": _row(item),
            "institution": _row(item.institution),
            "collections": [
                (_row(c), c.institution.code, sorted(t.code for t in c.themes.all()))
                for c in chain
            ],
            "work": (
                _row(item.work),
                [
                    (_row(link.agent), link.role, link.sort_order)
                    for link in item.work.work_agents.order_by("sort_order", "pk")
                ],
            )
            if item.work
            else None,
            "themes": sorted(t.code for t in item.themes.all()),
            "places": sorted((p.name, str(p.latitude)) for p in item.places.all()),
            "agents": [
                (_row(link.agent), link.role, link.sort_order)
                for link in item.item_agents.order_by("sort_order", "pk")
            ],
            "assets": [
                (
                    a.pk,
                    _row(a),
                    [_row(c) for c in a.fixity_checks.order_by("checked_at")],
                )
                for a in item.assets.order_by("pk")
            ],
            "files": {a.storage_path: sha256_of(a.path) for a in item.assets.all()},
            "derivatives": sorted(
                (sha[d.asset_id], d.kind, d.recipe_version, d.path, d.width, d.height)
                for d in (d for a in item.assets.all() for d in a.derivatives.all())
                if d.abspath.exists()
            ),
            "pages": [
                (_row(p), sha[p.asset_id], sha.get(p.text_asset_id))
                for p in item.pages.order_by("sequence")
            ],
            "consent": (
                _row(consent),
                sha.get(consent.form_id),
                [_row(r) for r in consent.closed_ranges.order_by("start")],
            )
            if consent
            else None,
            "transcripts": [
                (
                    _row(t),
                    sha[t.asset_id],
                    t.previous.public_id if t.previous else None,
                    _username(t.approved_by),
                    [
                        (
                            _row(s),
                            [
                                (_row(r), _username(r.user))
                                for r in s.revisions.order_by("at")
                            ],
                        )
                        for s in t.segments.order_by("start")
                    ],
                )
                for t in item.transcripts.order_by("public_id")
            ],
            "index_points": [
                (p.pk, _row(p), p.place.name if p.place else None)
                for p in item.index_points.order_by("start")
            ],
            "manifest": _manifest(item),
        }
    return out


def _wipe() -> None:
    """Delete every archival record (inside the test's savepoint)."""
    Consent.objects.all().delete()
    Transcript.objects.all().delete()
    IndexPoint.objects.all().delete()
    PageImage.objects.all().delete()
    IngestJob.objects.all().delete()
    Asset.objects.all().delete()
    Item.objects.all().delete()
    Work.objects.all().delete()
    Agent.objects.all().delete()
    Place.objects.all().delete()
    while Collection.objects.exists():
        Collection.objects.filter(children__isnull=True).delete()
    StaffProfile.objects.all().delete()
    Institution.objects.all().delete()


def _stored_files(root) -> list[Path]:
    return [p for p in Path(root).rglob("*") if p.is_file()]


def _sample_load(request) -> None:
    """Load the sample, through the session's loader when there is one.

    ``sample_loader`` (tests/conftest.py) reuses derivatives an earlier load
    of the session made; this module tests making them on import, not on
    loading.
    """
    try:
        load = request.getfixturevalue("sample_loader")
    except pytest.FixtureLookupError:
        from ingest.services import sample_load

        report = sample_load()
        assert report.problems == [], report.problems
    else:
        load()


@pytest.fixture(scope="module")
def exported(request, django_db_setup, django_db_blocker, tmp_path_factory):
    """The enriched sample, exported by the command; rolled back after the module."""
    root = tmp_path_factory.mktemp("bags-storage")
    bags = tmp_path_factory.mktemp("bags")
    with django_db_blocker.unblock(), override_settings(ARCHIVE_STORAGE_ROOT=root):
        with transaction.atomic():
            _sample_load(request)
            _enrich(tmp_path_factory.mktemp("extra"))
            out = io.StringIO()
            call_command(
                "export_bag",
                "--all",
                "--to",
                str(bags),
                "--user",
                KEEPER,
                stdout=out,
                stderr=io.StringIO(),
            )
            yield SimpleNamespace(
                root=root, bags=bags, before=_snapshot(), output=out.getvalue()
            )
            transaction.set_rollback(True)


@pytest.fixture
def archive(exported, settings, db):
    """The module's archive, with an empty storage folder of the test's own."""
    return exported


def test_a_package_holds_everything_and_marks_personal_data(archive):
    assert "4 package(s) written, 0 refused" in archive.output
    bag = bagit.Bag(str(archive.bags / ORAL_HISTORY))
    bag.validate()
    assert set(bag.algorithms) == {"sha256", "sha512"}
    assert bag.info["External-Identifier"] == ORAL_HISTORY
    assert bag.info["Source-Organization"].startswith("荔灣區圖書館")
    assert bag.info["Yuecang-Version"] and bag.info["Bagging-Date"]
    record = json.loads(
        (archive.bags / ORAL_HISTORY / "data/metadata/item.json").read_text()
    )
    form = next(a for a in record["assets"] if a["fields"]["role"] == "consent_form")
    assert form["staff_only"] and form["fields"]["is_personal_data"]
    assert record["personal_data"] == [
        a["path"] for a in record["assets"] if a["staff_only"]
    ]
    assert len(record["personal_data"]) == 1  # the form
    notes = next(a for a in record["assets"] if a["fields"]["role"] == "supplement")
    assert notes["fields"]["access_level"] == "staff" and not notes["staff_only"]
    personal = bag.info["Yuecang-Personal-Data"]  # one value: a string; more: a list
    assert [personal] == [f"data/{p}" for p in record["personal_data"]]
    # Originals byte for byte, under their checksums.
    for asset in record["assets"]:
        stored = archive.root / asset["fields"]["storage_path"]
        packed = archive.bags / ORAL_HISTORY / "data" / asset["path"]
        assert packed.read_bytes() == stored.read_bytes()
    # Closed passages are in the package (it is the archive's copy).
    primary = next(
        t
        for t in record["transcripts"]
        if json.loads((archive.bags / ORAL_HISTORY / "data" / t["json"]).read_text())[
            "fields"
        ]["is_primary"]
    )
    vtt = (archive.bags / ORAL_HISTORY / "data" / primary["vtt"]).read_text()
    assert "屋企有啲事" in vtt and "<v 梁伯>" in vtt
    dc = (archive.bags / VOLUME / "data/metadata/dc.xml").read_text()
    assert '<dc:title xml:lang="zh-Hant">三字經 卷上</dc:title>' in dc
    assert (
        '<dc:title xml:lang="en">Three Character Classic, first juan</dc:title>' in dc
    )
    assert "<dc:type>Text</dc:type>" in dc and "(宋) 區適子" in dc
    manifest = json.loads(
        (archive.bags / VOLUME / "data/iiif/manifest.json").read_text()
    )
    assert manifest == archive.before[VOLUME]["manifest"]


def test_wipe_import_compare_everything_then_import_again(archive, settings):
    _wipe()
    assert not Item.objects.exists() and not Asset.objects.exists()
    assert _stored_files(settings.ARCHIVE_STORAGE_ROOT) == []
    out = io.StringIO()
    call_command("import_bag", str(archive.bags), stdout=out, stderr=io.StringIO())
    assert "4 created, 0 unchanged, 0 refused" in out.getvalue()
    after = _snapshot()
    assert after.keys() == archive.before.keys()
    for public_id, before in archive.before.items():
        for part, value in before.items():
            assert after[public_id][part] == value, (public_id, part)
    # The manifests in the packages are the ones the archive builds again.
    for public_id in after:
        path = archive.bags / public_id / "data/iiif/manifest.json"
        assert json.loads(path.read_text()) == after[public_id]["manifest"]
    # Importing again writes nothing.
    counts = [m.objects.count() for m in (Item, Asset, PageImage, Segment)]
    files = sorted(_stored_files(settings.ARCHIVE_STORAGE_ROOT))
    out = io.StringIO()
    call_command("import_bag", str(archive.bags), stdout=out, stderr=io.StringIO())
    assert "0 created, 4 unchanged, 0 refused" in out.getvalue()
    assert counts == [m.objects.count() for m in (Item, Asset, PageImage, Segment)]
    assert sorted(_stored_files(settings.ARCHIVE_STORAGE_ROOT)) == files


def test_an_item_already_here_is_left_alone_and_a_different_one_refuses(
    archive, settings
):
    Item.objects.filter(public_id=SMALL).update(title="改過的標題")
    # This test's storage is empty: the item's original is missing here.
    original = Item.objects.get(public_id=SMALL).assets.get()
    assert not original.path.exists()
    result = item_bag_import(path=archive.bags / SMALL)
    assert result.status == "unchanged"
    assert "differs from the package in title" in result.notes[0]
    assert (
        "1 stored original(s) of it were missing and were put back" in (result.notes[1])
    )
    assert sha256_of(original.path) == original.sha256
    assert Item.objects.get(public_id=SMALL).title == "改過的標題"
    assert Asset.objects.filter(item__public_id=SMALL).count() == 1

    _wipe()
    ItemFactory(public_id=ORAL_HISTORY, kind=Item.Kind.ORAL_HISTORY)
    files = _stored_files(settings.ARCHIVE_STORAGE_ROOT)
    with pytest.raises(BagRefused) as refused:
        item_bag_import(path=archive.bags / ORAL_HISTORY)
    assert "another item with the public identifier oh-teahouse-1938" in str(
        refused.value
    )
    assert str(archive.bags / ORAL_HISTORY) in str(refused.value)
    assert Asset.objects.count() == 0
    assert _stored_files(settings.ARCHIVE_STORAGE_ROOT) == files


def _flip_byte(bag: Path) -> str:
    victim = next((bag / "data/originals/page").iterdir())
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    return f"data/originals/page/{victim.name}"


def _extra_file(bag: Path) -> str:
    (bag / "data/originals/page/extra.jpg").write_bytes(jpeg_bytes())
    return (
        "data/originals/page/extra.jpg exists on filesystem but is not in the manifest"
    )


def _link_out(bag: Path) -> str:
    (bag / "data/originals/page/passwd").symlink_to("/etc/passwd")
    return "data/originals/page/passwd is a link"


def _edit_record(bag: Path, change) -> None:
    path = bag / "data/metadata/item.json"
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record, ensure_ascii=False))
    # Re-made manifests: the bag is valid, only our own checks can refuse it.
    bagit.Bag(str(bag)).save(manifests=True)


def _path_out(bag: Path) -> str:
    def change(record):
        record["assets"][0]["path"] = "../../../../etc/passwd"

    _edit_record(bag, change)
    return "../../../../etc/passwd is not a path inside the package"


def _checksum_lie(bag: Path) -> str:
    def change(record):
        record["assets"][0]["fields"]["sha256"] = "0" * 64

    _edit_record(bag, change)
    return "item.json gives SHA-256 " + "0" * 64


def _other_item(bag: Path) -> str:
    def change(record):
        record["public_id"] = record["item"]["fields"]["public_id"] = "yc-somebodyelse"

    _edit_record(bag, change)
    return "names two different items"


@pytest.mark.parametrize(
    "tamper",
    [_flip_byte, _extra_file, _link_out, _path_out, _checksum_lie, _other_item],
)
def test_a_bad_package_is_refused_naming_the_problem_and_nothing_is_written(
    archive, settings, tmp_path, tamper
):
    _wipe()
    bag = tmp_path / SMALL
    shutil.copytree(archive.bags / SMALL, bag)
    expected = tamper(bag)
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 package"):
        call_command("import_bag", str(bag), stdout=io.StringIO(), stderr=err)
    assert f"REFUSED {bag}: " in err.getvalue()
    assert expected in err.getvalue()
    assert not Item.objects.exists() and not Asset.objects.exists()
    assert _stored_files(settings.ARCHIVE_STORAGE_ROOT) == []


def test_a_file_changed_after_the_check_is_refused_and_not_kept(
    archive, settings, tmp_path, monkeypatch
):
    from ingest.preservation import bag_import

    _wipe()
    bag = tmp_path / SMALL
    shutil.copytree(archive.bags / SMALL, bag)
    checked = bag_check(path=bag)
    _flip_byte(bag)  # after the check: only the store's own checksum can tell
    monkeypatch.setattr(bag_import, "bag_check", lambda path: checked)
    with pytest.raises(BagRefused, match="changed while it was imported"):
        item_bag_import(path=bag)
    assert not Item.objects.exists() and not Asset.objects.exists()
    assert _stored_files(settings.ARCHIVE_STORAGE_ROOT) == []


def test_a_damaged_original_is_not_packed(archive, tmp_path):
    from django.contrib.auth import get_user_model

    from ingest.preservation.bag_export import item_bag_export

    item = Item.objects.get(public_id=SMALL)
    asset = item.assets.get()
    damaged = tmp_path / "storage"
    shutil.copytree(archive.root, damaged)
    path = damaged / asset.storage_path
    path.chmod(0o644)
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")
    keeper = get_user_model().objects.get(username=KEEPER)
    with override_settings(ARCHIVE_STORAGE_ROOT=damaged):
        with pytest.raises(BagRefused, match="does not match its checksum"):
            item_bag_export(item=item, to=tmp_path / "out", user=keeper)
    assert list((tmp_path / "out").iterdir()) == []


def test_export_by_collection_and_only_by_staff(archive, tmp_path):
    make_user("reader")
    with pytest.raises(CommandError, match="Only archive staff"):
        call_command("export_bag", VOLUME, "--to", str(tmp_path), "--user", "reader")
    assert list(tmp_path.iterdir()) == []
    with override_settings(ARCHIVE_STORAGE_ROOT=archive.root):
        call_command(
            "export_bag",
            "--collection",
            "gzdd",  # 廣州大典, the parent of the volume's 經部
            "--to",
            str(tmp_path),
            "--user",
            KEEPER,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert [p.name for p in tmp_path.iterdir()] == [VOLUME]


def test_bag_check_reads_a_good_package(archive):
    checked = bag_check(path=archive.bags / VOLUME)
    assert checked.public_id == VOLUME
    assert len(checked.record["pages"]) == 10
