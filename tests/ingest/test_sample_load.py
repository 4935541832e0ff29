"""The sample archive (batch format 1) loads completely, idempotently, and reports bad items."""

from __future__ import annotations

import json
import shutil

import pytest

from archive.models import Asset, Derivative, FixityCheck, Item, PageImage, Work
from ingest.batch import read_item, validate_item
from ingest.services import SAMPLE_ROOT, sample_load

pytestmark = pytest.mark.django_db


def test_sample_archive_loads_every_item():
    report = sample_load()
    assert report.problems == []
    assert sorted(report.created) == [
        "doc-pearl-river-1950s",
        "gzdd-sanzijing-v1",
        "iiif-validator-test-image",
        "oh-teahouse-1938",
    ]
    volume = Item.objects.get(public_id="gzdd-sanzijing-v1")
    assert volume.kind == Item.Kind.BOOK_VOLUME
    assert volume.work.title == "三字經" and volume.work.bu == Work.Bu.JING
    assert (volume.year_from, volume.year_to) == (1884, 1884)
    assert volume.institution.code == "gzlib"
    assert {t.code for t in volume.themes.all()} == {"lingnan"}
    pages = list(volume.pages.order_by("sequence"))
    assert len(pages) == 10
    assert all(p.width > 1000 and p.height > 1500 for p in pages)
    assert pages[1].text.strip() and pages[1].text_asset.media_type == "application/xml"
    assert Derivative.objects.filter(asset__item=volume, kind="thumbnail").count() == 10
    assert Derivative.objects.filter(asset__item=volume, kind="preview").count() == 10
    interview = Item.objects.get(public_id="oh-teahouse-1938")
    media = interview.assets.get(role=Asset.Role.MEDIA)
    assert media.media_type == "audio/x-flac" or media.media_type == "audio/flac"
    assert interview.item_agents.filter(role="interviewee").exists()
    video = Item.objects.get(public_id="doc-pearl-river-1950s")
    assert video.assets.get(role=Asset.Role.MEDIA).media_type == "video/mp4"
    validator = PageImage.objects.get(public_id="67352ccc-d1b0-11e1-89ae-279075081939")
    assert validator.item.public_id == "iiif-validator-test-image"


def test_loading_twice_changes_nothing():
    sample_load()
    counts = (
        Item.objects.count(),
        Asset.objects.count(),
        PageImage.objects.count(),
        Derivative.objects.count(),
    )
    report = sample_load()
    assert report.created == [] and len(report.unchanged) == 4
    assert counts == (
        Item.objects.count(),
        Asset.objects.count(),
        PageImage.objects.count(),
        Derivative.objects.count(),
    )


def test_stored_sample_passes_fixity(sample_loader):
    from archive.services import fixity_sweep

    sample_loader()
    counts = fixity_sweep(older_than_days=0)
    assert counts["mismatch"] == 0 and counts["missing"] == 0
    assert counts["ok"] == Asset.objects.count() == FixityCheck.objects.count()


def test_a_bad_item_is_reported_and_the_rest_load(tmp_path):
    delivery = tmp_path / "delivery"
    shutil.copytree(SAMPLE_ROOT, delivery, ignore=shutil.ignore_patterns("generate.py"))
    meta = delivery / "documentary" / "pearl-river-1950s" / "item.json"
    data = json.loads(meta.read_text())
    del data["title"]
    data["access"] = "secret"
    meta.write_text(json.dumps(data, ensure_ascii=False))
    report = sample_load(root=delivery)
    messages = [str(p) for p in report.problems]
    assert any("item.json: title: is required" in m for m in messages), messages
    assert any("access: must be one of" in m for m in messages), messages
    # Every problem names the file, relative to the delivery.
    assert all(
        m.startswith("documentary/pearl-river-1950s/item.json") for m in messages
    ), messages
    assert sorted(report.created) == [
        "gzdd-sanzijing-v1",
        "iiif-validator-test-image",
        "oh-teahouse-1938",
    ]
    assert not Item.objects.filter(public_id="doc-pearl-river-1950s").exists()


def test_validator_names_file_field_and_problem(tmp_path):
    folder = tmp_path / "vol"
    (folder / "pages").mkdir(parents=True)
    (folder / "pages" / "0001.jpg").write_bytes(b"")
    meta = folder / "volume.json"
    data = {
        "format": "yuecang-batch/1",
        "kind": "book_volume",
        "institution": "gzlib",
        "title": {"zh-Hant": "無原文"},
        "rights": {"uri": "all rights reserved"},
        "access": "embargoed",
        "themes": ["blue"],
        "pages": [{"file": "pages/0001.jpg"}, {"file": "../../etc/passwd"}],
    }
    problems = {
        (p.field, p.message.split(":")[0]) for p in validate_item(data, meta, folder)
    }
    fields = {f for f, _ in problems}
    assert {
        "title.original",
        "rights.uri",
        "embargo_until",
        "themes[0]",
        "pages[0].file",
        "pages[1].file",
    } <= fields
    messages = " ".join(str(p) for p in validate_item(data, meta, folder))
    assert (
        "is empty (0 bytes)" in messages
        and "points outside the item's folder" in messages
    )


def test_invalid_json_names_the_line(tmp_path):
    folder = tmp_path / "vol"
    folder.mkdir()
    (folder / "item.json").write_text(
        '{\n  "format": "yuecang-batch/1",\n  "kind": \n}'
    )
    record = read_item(folder)
    assert not record.ok
    assert "line 4" in str(record.problems[0]) and "invalid JSON" in str(
        record.problems[0]
    )


def test_table_of_contents_is_stored_and_checked(sample_loader, tmp_path):
    sample_loader()
    volume = Item.objects.get(public_id="gzdd-sanzijing-v1")
    meta = json.loads((SAMPLE_ROOT / "dadian/sanzijing-v1/volume.json").read_text())
    assert volume.toc == meta["toc"] and volume.toc
    folder = tmp_path / "v"
    folder.mkdir()
    bad = {**meta, "toc": [{"label": "", "first": 3, "last": 99}]}
    messages = " ".join(
        str(p) for p in validate_item(bad, folder / "volume.json", folder)
    )
    assert "toc[0].label: is required" in messages
    assert "1 <= first <= last <=" in messages
