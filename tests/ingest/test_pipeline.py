"""The Dadian ingest pipeline end to end: jobs, pages, re-runs, appends, bad files, recipes.

Deliveries are built in each test's folder with small generated scans; the
bad inputs come from ``tests.ingest.badfiles``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import pyvips
from django.core.management import call_command
from django.core.management.base import CommandError

from archive.files import sha256_of
from archive.models import Asset, Derivative, Item, PageImage
from ingest.models import IngestEvent, IngestFile, IngestJob
from ingest.services import job_create, job_run, sample_load
from tests.ingest import badfiles
from tests.ingest.deliveries import INSTITUTIONS, scan, volume

pytestmark = pytest.mark.django_db


def run(root: Path) -> IngestJob:
    return job_run(job=job_create(path=root))


def storage_files(settings) -> dict[str, float]:
    root = Path(settings.ARCHIVE_STORAGE_ROOT)
    return {
        str(p.relative_to(root)): p.stat().st_mtime_ns
        for p in root.rglob("*")
        if p.is_file()
    }


def assert_no_orphans(settings) -> None:
    """Every stored file is an original or a derivative on record; no temporary files.

    Silenced listening copies are a cache named by their content (recording,
    source and closed passages: ``transcription.selectors.silenced_relpath``),
    not records, and are left out.
    """
    files = {
        f
        for f in storage_files(settings)
        if not f.startswith("derivatives/listening_silenced/")
    }
    temporary = {f for f in files if ".incoming-" in f}
    assert not temporary, temporary
    recorded = set(Asset.objects.values_list("storage_path", flat=True)) | set(
        Derivative.objects.values_list("path", flat=True)
    )
    assert files == recorded, (files - recorded, recorded - files)


def test_a_volume_becomes_pages_canvases_and_tiles(delivery, client, settings):
    job = run(delivery)
    assert job.status == IngestJob.Status.DONE, list(job.events.values_list("message"))
    item = Item.objects.get(public_id="fuzhi-v1")
    pages = list(item.pages.order_by("sequence"))
    assert [p.sequence for p in pages] == [1, 2, 3, 4]
    assert [p.folio for p in pages] == ["", "一", "二", ""]
    assert [p.blank for p in pages] == [False, False, False, True]
    assert (pages[0].width, pages[0].height) == (480, 720)
    assert item.work.bu == "史" and item.toc == [
        {"label": "卷一", "first": 2, "last": 3}
    ]
    # Originals stored untouched, content-addressed.
    for n, page in enumerate(pages, start=1):
        original = delivery / "fuzhi-v1" / "pages" / f"{n:04d}.jpg"
        assert page.asset.path.read_bytes() == original.read_bytes()
        kinds = set(page.asset.derivatives.values_list("kind", flat=True))
        assert kinds == {"pyramid", "thumbnail", "preview"}
    manifest = client.get("/iiif/3/manifest/fuzhi-v1").json()
    labels = [next(iter(c["label"].values()))[0] for c in manifest["items"]]
    assert labels[:2] == ["書衣", "卷一 葉一"]
    assert manifest["structures"][0]["label"]
    folio = manifest["items"][1]["metadata"][0]
    assert folio["label"]["en"] == ["Folio (block centre)"] and "一" in str(
        folio["value"]
    )
    assert manifest["items"][3]["metadata"][0]["value"]["en"] == ["blank leaf"]
    assert "metadata" not in manifest["items"][0]
    service = manifest["items"][1]["items"][0]["items"][0]["body"]["service"][0]["id"]
    tile = client.get(f"{service}/0,0,256,256/256,/0/default.jpg")
    assert tile.status_code == 200 and tile["Content-Type"] == "image/jpeg"
    assert_no_orphans(settings)
    progress = job.files.filter(status=IngestFile.Status.DONE).count()
    assert progress == 4


def test_running_the_same_delivery_again_changes_nothing(delivery, settings):
    run(delivery)
    counts = [m.objects.count() for m in (Item, Asset, PageImage, Derivative)]
    files = storage_files(settings)
    again = run(delivery)
    assert again.status == IngestJob.Status.DONE
    assert [m.objects.count() for m in (Item, Asset, PageImage, Derivative)] == counts
    assert storage_files(settings) == files  # not even rewritten
    assert set(again.files.values_list("status", flat=True)) == {"unchanged"}


def test_a_delivery_that_adds_pages_appends_them(delivery, tmp_path, settings):
    run(delivery)
    folder = delivery / "fuzhi-v1"
    # The whole volume again, with two more pages at its end.
    for n in (5, 6):
        scan(folder / "pages" / f"{n:04d}.jpg", seed=n)
    data = json.loads((folder / "volume.json").read_text("utf-8"))
    data["pages"] += [
        {"file": "pages/0005.jpg", "label": "卷二 葉一", "folio": "一"},
        {"file": "pages/0006.jpg", "label": "卷二 葉二", "folio": "二"},
    ]
    (folder / "volume.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    job = run(delivery)
    assert job.status == IngestJob.Status.DONE
    item = Item.objects.get(public_id="fuzhi-v1")
    assert list(item.pages.values_list("sequence", "label")) == [
        (1, "書衣"),
        (2, "卷一 葉一"),
        (3, "卷一 葉二"),
        (4, "空白葉"),
        (5, "卷二 葉一"),
        (6, "卷二 葉二"),
    ]
    # A delivery of only new pages: they go after the last page.
    extra = tmp_path / "extra"
    extra.mkdir()
    for n in (7, 8):
        scan(extra / "fuzhi-v1" / f"{n:04d}.jpg", seed=n)
    volume(
        extra,
        "fuzhi-v1",
        [
            {"file": "0007.jpg", "label": "卷三 葉一"},
            {"file": "0008.jpg", "label": "卷三 葉二"},
        ],
    )
    run(extra)
    assert list(item.pages.values_list("sequence", flat=True)) == [
        1,
        2,
        3,
        4,
        5,
        6,
        7,
        8,
    ]
    assert item.pages.get(sequence=8).label == "卷三 葉二"
    assert_no_orphans(settings)


def test_bad_files_are_listed_and_the_rest_goes_in(tmp_path, settings, capsys):
    root = tmp_path / "delivery"
    root.mkdir()
    (root / "institutions.json").write_text(json.dumps(INSTITUTIONS), "utf-8")
    folder = root / "mixed"
    pages_dir = folder / "pages"
    pages_dir.mkdir(parents=True)
    good = [scan(pages_dir / "0001.jpg", seed=1), scan(pages_dir / "0009.jpg", seed=9)]
    made = tmp_path / "made"

    def put(make, name, *args):
        target = pages_dir / name
        (made / name).mkdir(parents=True)
        make(made / name, *args).rename(target)
        return target

    bad = {
        "0003.jpg": put(badfiles.truncated_jpeg, "0003.jpg"),
        "0004.tif": put(badfiles.text_named_tif, "0004.tif"),
        "0005.png": put(badfiles.png_bomb, "0005.png"),
        "0006.tif": put(badfiles.multipage_tiff, "0006.tif"),
        "0007.tif": put(badfiles.truncated_tiff_deflate, "0007.tif"),
    }
    converted = {
        "0008.tif": put(badfiles.cmyk_tiff, "0008.tif"),
        "0010.png": put(badfiles.rgba_png, "0010.png"),
        "0011.png": put(badfiles.palette_png, "0011.png"),
        "0012.tif": put(badfiles.rgb16_tiff, "0012.tif"),
        "0013.jpg": put(badfiles.grey_jpeg, "0013.jpg"),
        "0014.jpg": put(badfiles.exif_oriented_jpeg, "0014.jpg", 6),
    }
    names = sorted([p.name for p in good] + list(bad) + list(converted))
    volume(root, "mixed", [{"file": f"pages/{n}"} for n in names])
    # A zero-byte page stops its volume at validation, naming the file.
    (root / "zero").mkdir()
    (made / "zero").mkdir(parents=True)
    badfiles.empty_file(made / "zero").rename(root / "zero" / "0001.jpg")
    volume(root, "zero", [{"file": "0001.jpg"}])
    before = storage_files(settings)
    with pytest.raises(CommandError, match="finished with problems"):
        call_command("ingest_dadian", str(root), "--workers", "1")
    err = capsys.readouterr().err
    job = IngestJob.objects.get()
    assert job.status == IngestJob.Status.DONE_WITH_ERRORS
    failed = dict(
        job.files.filter(status="failed").values_list("display_name", "error")
    )
    expected = {
        "mixed/0003.jpg": "truncated",
        "mixed/0004.tif": "text",
        "mixed/0005.png": "100,000 x 100,000",
        "mixed/0006.tif": "multi-page",
        "mixed/0007.tif": "truncated",
    }
    assert set(failed) == set(expected), failed
    for name, words in expected.items():
        assert words in failed[name], (name, failed[name])
        assert name in err  # the command lists each refused file with its reason
    # The empty page refuses its volume at validation, naming the file.
    zero = job.events.get(where="zero/volume.json")
    assert "0001.jpg" in zero.message and "empty" in zero.message
    assert not Item.objects.filter(public_id="zero").exists()
    item = Item.objects.get(public_id="mixed")
    assert item.pages.count() == len(good) + len(converted)
    for page in item.pages.all():
        pyramid = pyvips.Image.new_from_file(
            str(page.asset.derivatives.get(kind="pyramid").abspath)
        )
        assert pyramid.format == "uchar" and not pyramid.hasalpha()
        assert (pyramid.width, pyramid.height) == (page.width, page.height)
    stored_bad = {sha256_of(p) for p in bad.values()}
    assert not Asset.objects.filter(sha256__in=stored_bad).exists()
    assert not any(sha in f for f in storage_files(settings) for sha in stored_bad)
    assert set(before) <= set(storage_files(settings))
    assert_no_orphans(settings)


def test_the_same_image_twice_in_a_volume_is_reported(delivery):
    folder = delivery / "fuzhi-v1"
    data = json.loads((folder / "volume.json").read_text("utf-8"))
    (folder / "pages" / "0005.jpg").write_bytes(
        (folder / "pages" / "0002.jpg").read_bytes()
    )
    data["pages"].append({"file": "pages/0005.jpg", "label": "重複"})
    (folder / "volume.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    job = run(delivery)
    assert job.status == IngestJob.Status.DONE_WITH_ERRORS
    problem = job.events.get(level="error", field="pages")
    assert "0005.jpg" in problem.message and "0002.jpg" in problem.message
    assert Item.objects.get(public_id="fuzhi-v1").pages.count() == 4


def test_dry_run_checks_everything_and_writes_nothing(delivery, settings, capsys):
    badfiles.text_named_tif(delivery).rename(
        delivery / "fuzhi-v1" / "pages" / "0002.jpg"
    )
    with pytest.raises(CommandError):
        call_command("ingest_dadian", str(delivery), "--dry-run")
    out, err = capsys.readouterr()
    assert "0002.jpg" in err and "text" in err
    assert "3 new page(s)" in out and "nothing was written" in out
    assert not Item.objects.exists() and not IngestJob.objects.exists()
    assert storage_files(settings) == {}


def test_the_command_shows_progress_and_resumes_an_unfinished_job(delivery, capsys):
    job = job_create(path=delivery)
    call_command("ingest_dadian", str(delivery), "--workers", "1")
    out, err = capsys.readouterr()
    assert f"Resuming job #{job.pk}" in out
    # The progress bar: pages done of all, with the rate.
    assert "pages: 100%" in err and "4/4" in err and "page/s" in err
    job.refresh_from_db()
    assert job.status == IngestJob.Status.DONE
    assert IngestJob.objects.count() == 1


def test_a_new_recipe_version_rederives_without_touching_originals(
    delivery, settings, monkeypatch
):
    run(delivery)
    originals = {
        a.pk: (a.path.stat().st_mtime_ns, a.sha256) for a in Asset.objects.all()
    }
    old_pyramids = set(
        Derivative.objects.filter(kind="pyramid").values_list("path", flat=True)
    )
    import iiif.services
    import ingest.services.pages

    monkeypatch.setattr(iiif.services, "PYRAMID_RECIPE_VERSION", 2)
    monkeypatch.setattr(ingest.services.pages, "PYRAMID_RECIPE_VERSION", 2)
    call_command("ingest_rederive")
    for asset in Asset.objects.all():
        assert (asset.path.stat().st_mtime_ns, asset.sha256) == originals[asset.pk]
        versions = set(
            asset.derivatives.filter(kind="pyramid").values_list(
                "recipe_version", flat=True
            )
        )
        assert versions == {1, 2}
    for path in old_pyramids:  # the old pyramids stay beside the new
        assert (Path(settings.ARCHIVE_STORAGE_ROOT) / path).exists()
    new = Derivative.objects.filter(kind="pyramid", recipe_version=2).first()
    assert "/v2/" in new.path and new.abspath.exists()


def test_sample_volume_page_text_and_layout_are_kept():
    sample_load()
    page = PageImage.objects.get(item__public_id="gzdd-sanzijing-v1", sequence=2)
    assert page.text.strip()
    assert page.text_layout["lines"] and len(page.text_layout["lines"][0][0]) == 5
    first_line = "".join(w[0] for w in page.text_layout["lines"][0])
    assert first_line == page.text.splitlines()[0]


def test_progress_counts_and_rate(delivery):
    from ingest.services import job_progress

    job = run(delivery)
    progress = job_progress(job=job)
    assert (progress.total, progress.processed, progress.done, progress.failed) == (
        4,
        4,
        4,
        0,
    )
    assert progress.percent == 100 and progress.pages_per_minute > 0
    assert progress.seconds_left == 0


def test_events_name_each_volume(delivery):
    job = run(delivery)
    info = job.events.filter(level=IngestEvent.Level.INFO, where="fuzhi-v1/volume.json")
    assert info.exists() and "created" in info.first().message
    assert os.path.isabs(job.path)


def test_a_csv_of_many_volumes_with_page_folders(tmp_path, settings):
    """volumes.csv: two volumes of one work; pages found in folders or listed in pages.csv."""
    root = tmp_path / "delivery"
    root.mkdir()
    (root / "institutions.json").write_text(json.dumps(INSTITUTIONS), "utf-8")
    for n in (1, 2, 3):
        scan(root / "冊一" / f"{n:04d}.jpg", seed=n)
    for n in (1, 2):
        scan(root / "冊二" / "pages" / f"葉 {n}.jpg", seed=10 + n)
    (root / "冊二" / "pages.csv").write_text(
        "file,label,folio,blank\npages/葉 1.jpg,卷二 葉一,一,\npages/葉 2.jpg,,,是\n",
        "utf-8",
    )
    (root / "volumes.csv").write_text(
        "folder,id,institution,collection,work_id,work_title,class,authors,volume,"
        "language,rights_uri,access,themes,toc\n"
        "冊一,dsdsj-v1,gzlib,gzdd-shi,dsdsj,東塾讀書記,子,〔清〕陳澧,1,lzh,"
        "http://creativecommons.org/publicdomain/mark/1.0/,public,lingnan,卷一=1-3\n"
        "冊二,dsdsj-v2,gzlib,gzdd-shi,dsdsj,東塾讀書記,子,〔清〕陳澧,2,lzh,"
        "http://creativecommons.org/publicdomain/mark/1.0/,public,lingnan,\n"
        "冊三,dsdsj-v3,nowhere,,dsdsj,東塾讀書記,子,,3,lzh,"
        "http://creativecommons.org/publicdomain/mark/1.0/,public,,\n",
        "utf-8",
    )
    (root / "冊三").mkdir()
    scan(root / "冊三" / "0001.jpg", seed=30)
    job = run(root)
    first = Item.objects.get(public_id="dsdsj-v1")
    second = Item.objects.get(public_id="dsdsj-v2")
    assert first.work == second.work and first.work.title == "東塾讀書記"
    assert first.work.agents.get().dynasty == "清"
    assert first.title == "東塾讀書記 第1冊" and first.pages.count() == 3
    assert first.toc == [{"label": "卷一", "first": 1, "last": 3}]
    assert list(second.pages.values_list("label", "folio", "blank")) == [
        ("卷二 葉一", "一", False),
        ("", "", True),
    ]
    assert second.pages.first().asset.original_filename == "葉 1.jpg"
    refused = job.events.get(level="error", field="institution")
    assert refused.where == "volumes.csv: line 4" and "'nowhere'" in refused.message
    assert not Item.objects.filter(public_id="dsdsj-v3").exists()
    assert job.status == IngestJob.Status.DONE_WITH_ERRORS
    assert (job.items_total, job.items_failed) == (3, 1)


def test_file_names_in_gbk_big5_and_with_spaces_on_disk(tmp_path):
    """Pages found in a folder whose names are GBK or Big5 bytes, not UTF-8."""
    root = tmp_path / "delivery"
    root.mkdir()
    (root / "institutions.json").write_text(json.dumps(INSTITUTIONS), "utf-8")
    folder = root / "v1"
    pages = folder / "pages"
    pages.mkdir(parents=True)
    names = {
        "卷一 第1葉.jpg".encode("gbk"): "卷一 第1葉.jpg",
        "卷一 第2葉.jpg".encode("big5"): "卷一 第2葉.jpg",
        b"page 3.jpg": "page 3.jpg",
    }
    for n, raw in enumerate(names, start=1):
        made = scan(tmp_path / "made" / f"{n}.jpg", seed=n)
        os.rename(os.fsencode(made), os.fsencode(pages) + b"/" + raw)
    volume(root, "v1", [], item_id="gbk-vol")
    meta = json.loads((folder / "volume.json").read_text("utf-8"))
    del meta["pages"]  # version 2: the pages are the images in pages/, in name order
    (folder / "volume.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
    job = run(root)
    assert job.status == IngestJob.Status.DONE, list(job.events.values_list("message"))
    stored = set(
        Item.objects.get(public_id="gbk-vol").pages.values_list(
            "asset__original_filename", flat=True
        )
    )
    assert stored == set(names.values())
