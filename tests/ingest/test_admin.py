"""The ingest pages of the admin: zip upload (and its limits), job progress, events, resume."""

from __future__ import annotations

import io
import json
import socket
import stat
import zipfile
from pathlib import Path

import pytest

from archive.celery import app
from archive.models import Item
from ingest.models import IngestEvent, IngestJob
from tests.archive.factories import InstitutionFactory, make_user
from tests.ingest.test_zipfiles import Raw, write_raw_zip

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_admin(client, settings, tmp_path):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    settings.INGEST_UPLOAD_ROOT = tmp_path / "uploads"


@pytest.fixture
def archivist(client):
    user = make_user(
        "archivist", groups=["Archivists"], institution=InstitutionFactory(code="gz-a")
    )
    client.force_login(user)
    return client


@pytest.fixture
def curator(client):
    user = make_user(
        "curator", groups=["Curators"], institution=InstitutionFactory(code="gz-c")
    )
    client.force_login(user)
    return client


def zip_of(root: Path, extra: list[tuple[zipfile.ZipInfo, bytes]] = ()) -> bytes:
    """A zip of a delivery folder, with extra hand-made entries."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, f"delivery/{path.relative_to(root)}")
        for info, data in extra:
            archive.writestr(info, data)
    return buffer.getvalue()


def upload(client, data: bytes, name: str = "送交 2026-11.zip"):
    payload = io.BytesIO(data)
    payload.name = name
    return client.post("/admin/ingest/upload/", {"delivery": payload})


def test_anonymous_is_sent_to_login(client):
    for url in ("/admin/ingest/", "/admin/ingest/upload/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_curators_watch_jobs_but_cannot_upload_or_resume(curator):
    job = IngestJob.objects.create(path="/tmp/x")
    assert curator.get("/admin/ingest/").status_code == 200
    assert curator.get(f"/admin/ingest/jobs/{job.pk}/").status_code == 200
    # Wagtail answers a refusal in its admin by going back to the dashboard.
    for response in (
        curator.get("/admin/ingest/upload/"),
        curator.post(f"/admin/ingest/jobs/{job.pk}/resume/"),
    ):
        assert response.status_code == 302 and response["Location"] == "/admin/"
    job.refresh_from_db()
    assert job.status == IngestJob.Status.QUEUED


def test_an_uploaded_zip_is_unpacked_and_ingested_by_the_workers(
    archivist,
    delivery,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    outside = tmp_path / "evil.txt"
    symlink = zipfile.ZipInfo("delivery/link.jpg")
    symlink.external_attr = (stat.S_IFLNK | 0o777) << 16
    extra = [
        (zipfile.ZipInfo("../../evil.txt"), b"escape"),
        (zipfile.ZipInfo(str(outside)), b"absolute"),
        (symlink, b"/etc/passwd"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(archivist, zip_of(delivery, extra))
    job = IngestJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/ingest/jobs/{job.pk}/"
    job.refresh_from_db()
    assert (
        job.source == IngestJob.Source.UPLOAD and job.upload_name == "送交 2026-11.zip"
    )
    # The refused entries are listed; the delivery's volume still went in.
    refused = list(job.events.filter(level="error").values_list("where", "message"))
    assert any("../../evil.txt" in where for where, _ in refused), refused
    assert any("link.jpg" in where and "link" in msg.lower() for where, msg in refused)
    assert not outside.exists() and not (tmp_path.parent / "evil.txt").exists()
    assert Item.objects.get(public_id="fuzhi-v1").pages.count() == 4
    assert job.status == IngestJob.Status.DONE_WITH_ERRORS
    # The unpacked copy is gone once the job is over (the originals are in storage).
    assert not Path(job.path).exists()
    page = archivist.get(response["Location"])
    assert page.status_code == 200
    text = page.content.decode()
    assert (
        'data-field="processed">4</span> of <span data-field="total">4</span>' in text
    )
    assert "pages processed" in text and "../../evil.txt" in text
    progress = archivist.get(f"/admin/ingest/jobs/{job.pk}/progress.json").json()
    assert progress["finished"] and progress["processed"] == progress["total"] == 4
    assert progress["percent"] == 100


def test_a_zip_over_the_limit_is_refused_with_the_folder_route(
    archivist, delivery, settings
):
    settings.INGEST_UPLOAD_MAX_BYTES = 10_000
    response = upload(archivist, zip_of(delivery))
    assert response.status_code == 200
    text = response.content.decode()
    assert "larger than" in text and "ingest_dadian" in text
    assert not IngestJob.objects.exists()


def test_a_declared_body_over_the_limit_is_refused_before_reading(archivist, settings):
    settings.INGEST_UPLOAD_MAX_BYTES = 10_000
    response = archivist.post(
        "/admin/ingest/upload/",
        data=b"x" * 100,
        content_type="application/zip",
        CONTENT_LENGTH=str(50 * 1024 * 1024),
    )
    assert response.status_code == 413 and "ingest_dadian" in response.content.decode()
    assert not IngestJob.objects.exists()


def test_a_file_that_is_not_a_zip_is_refused(archivist):
    response = upload(archivist, b"%PDF-1.7 not a zip", name="delivery.zip")
    assert (
        response.status_code == 200 and "is not a zip file" in response.content.decode()
    )
    assert not IngestJob.objects.exists()


def test_a_damaged_zip_fails_its_job_with_the_reason(
    archivist, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        upload(archivist, b"PK\x03\x04" + b"\x00" * 200)
    job = IngestJob.objects.get()
    assert job.status == IngestJob.Status.FAILED
    assert job.events.filter(level=IngestEvent.Level.ERROR).exists()
    assert "送交 2026-11.zip" in job.message


def test_gbk_named_entries_are_decoded(
    archivist, delivery, tmp_path, django_capture_on_commit_callbacks
):
    """A zip made on a Chinese Windows stores GBK names without the UTF-8 flag."""
    volume = delivery / "fuzhi-v1"
    data = json.loads((volume / "volume.json").read_text("utf-8"))
    (volume / "pages" / "0001.jpg").rename(volume / "pages" / "書衣 0001.jpg")
    data["pages"][0]["file"] = "pages/書衣 0001.jpg"
    (volume / "volume.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    entries = [
        Raw(
            name=f"delivery/{p.relative_to(delivery)}".encode("gbk"),
            data=p.read_bytes(),
        )
        for p in sorted(delivery.rglob("*"))
        if p.is_file()
    ]
    buffer = write_raw_zip(tmp_path / "gbk.zip", entries)
    raw = buffer.read_bytes()
    assert "pages/書衣 0001.jpg".encode("gbk") in raw  # the entry name, in GBK
    with django_capture_on_commit_callbacks(execute=True):
        upload(archivist, raw)
    job = IngestJob.objects.get()
    assert job.status == IngestJob.Status.DONE, list(job.events.values_list("message"))
    first = Item.objects.get(public_id="fuzhi-v1").pages.get(sequence=1)
    assert first.asset.original_filename == "書衣 0001.jpg"


def test_resume_hands_an_unfinished_job_back(
    archivist, delivery, django_capture_on_commit_callbacks
):
    job = IngestJob.objects.create(path=str(delivery))
    with django_capture_on_commit_callbacks(execute=True):
        response = archivist.post(f"/admin/ingest/jobs/{job.pk}/resume/")
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == IngestJob.Status.DONE
    assert Item.objects.get(public_id="fuzhi-v1").pages.count() == 4


@pytest.fixture
def broker_down(monkeypatch):
    """The web's broker is a port nobody listens on, and tasks are sent, not run.

    Celery reads ``CELERY_BROKER_URL`` from the environment before its own
    setting (CI sets it), so both change.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    before = app.conf.broker_url, app.conf.task_always_eager
    _pools_forget()  # the pooled connections still lead to the old broker
    monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{port}/0")
    app.conf.broker_url = f"redis://127.0.0.1:{port}/0"
    app.conf.task_always_eager = False
    yield
    _pools_forget()
    app.conf.broker_url, app.conf.task_always_eager = before


def _pools_forget() -> None:
    """Drop Celery's pooled broker connections (what it does after a fork)."""
    app._after_fork()


# Committed for real (as in production): the message is sent when the job is.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("door", ["resume", "upload"])
def test_a_broker_that_is_down_is_said_and_the_job_is_kept(
    archivist, delivery, broker_down, door
):
    if door == "resume":
        job = IngestJob.objects.create(path=str(delivery))
        response = archivist.post(f"/admin/ingest/jobs/{job.pk}/resume/")
    else:
        response = upload(archivist, zip_of(delivery))
        job = IngestJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/ingest/jobs/{job.pk}/"
    page = archivist.get(response["Location"]).content.decode()
    assert "the workers could not be reached" in page
    assert "handed to the workers again" not in page and "was received" not in page
    job.refresh_from_db()
    assert not job.is_finished


def test_the_job_list_shows_each_job_with_its_progress(archivist, delivery):
    from ingest.services import job_create, job_run

    job_run(job=job_create(path=delivery))
    text = archivist.get("/admin/ingest/").content.decode()
    assert (
        "Upload a delivery (zip)" in text and str(delivery) in text and "4 / 4" in text
    )
