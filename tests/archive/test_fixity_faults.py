"""A stored original damaged on disk: fixity finds it, names it, records it, rewrites nothing.

One flipped byte (same size, same name, same mode) and a deleted file, found by
``manage.py fixity`` and the nightly sweep, then shown on the admin dashboard.
The fixity task through a real worker (a file overwritten whole) is in
``tests/archive/test_celery.py``; a re-delivery that restores a damaged
original is in ``tests/ingest/test_faults.py``.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from archive.files import sha256_of
from archive.models import Asset, FixityCheck
from archive.services import asset_create
from archive.tasks import fixity_sweep_task
from tests.archive.factories import ItemFactory, make_user

pytestmark = pytest.mark.django_db


def _flip_a_byte(path: Path) -> None:
    """Flip one bit in the middle of a read-only stored file, as bit rot would."""
    at = path.stat().st_size // 2
    path.chmod(0o644)
    with open(path, "r+b") as fh:
        fh.seek(at)
        byte = fh.read(1)[0]
        fh.seek(at)
        fh.write(bytes([byte ^ 0x01]))
    path.chmod(0o444)


@pytest.fixture
def originals(tmp_path) -> list[Asset]:
    """Three stored originals of one item: one stays intact, one rots, one goes."""
    item = ItemFactory()
    assets = []
    for n in range(3):
        source = tmp_path / f"page-{n}.tif"
        source.write_bytes(b"II*\x00" + bytes([n]) * 40_000)
        assets.append(asset_create(item=item, source=source, role=Asset.Role.PAGE)[0])
    return assets


def _fixity(*args) -> tuple[str, str, CommandError | None]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("fixity", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


def test_the_command_names_a_flipped_byte_and_a_missing_file_and_keeps_the_checksum(
    originals,
):
    intact, rotten, gone = originals
    recorded = rotten.sha256
    _flip_a_byte(rotten.path)
    damaged = rotten.path.read_bytes()
    gone.path.chmod(0o644)
    gone.path.unlink()

    out, err, failed = _fixity("--all")

    assert failed is not None and "2 stored original(s)" in str(failed)
    assert "3 checked, 2 failed" in out
    # Each failure names the asset and the file, and what was expected.
    assert f"FIXITY MISMATCH: asset {rotten.pk}" in err
    assert f"{rotten.path}: expected {recorded}, found {sha256_of(rotten.path)}" in err
    assert (
        f"FIXITY MISSING: asset {gone.pk}" in err and f"{gone.path} is missing" in err
    )
    assert f"asset {intact.pk}" not in err
    check = FixityCheck.objects.get(asset=rotten)
    assert check.outcome == FixityCheck.Outcome.MISMATCH
    assert check.observed_sha256 == sha256_of(rotten.path) != recorded
    assert FixityCheck.objects.get(asset=gone).outcome == FixityCheck.Outcome.MISSING
    assert FixityCheck.objects.get(asset=intact).outcome == FixityCheck.Outcome.OK
    # Nothing took the damaged bytes for the original: neither the record nor the file.
    rotten.refresh_from_db()
    assert rotten.sha256 == recorded
    assert rotten.fixity_status == Asset.FixityStatus.MISMATCH
    assert rotten.path.read_bytes() == damaged

    # The default run (only what is due) still reports both: a failure stays
    # in every report until it is dealt with.
    out, err, failed = _fixity()
    assert failed is not None
    assert "2 checked, 2 failed" in out
    assert f"FIXITY MISMATCH: asset {rotten.pk}" in err
    assert FixityCheck.objects.filter(asset=rotten, outcome="mismatch").count() == 2
    rotten.refresh_from_db()
    assert rotten.sha256 == recorded


def test_the_nightly_sweep_finds_the_damage_and_the_admin_warns(
    originals, client, caplog
):
    intact, rotten, gone = originals
    _flip_a_byte(rotten.path)
    gone.path.chmod(0o644)
    gone.path.unlink()

    counts = fixity_sweep_task.delay().get()

    assert counts == {"ok": 1, "mismatch": 1, "missing": 1}
    assert f"Fixity failure on asset {rotten.pk}" in caplog.text
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_login(make_user("root", superuser=True))
    body = client.get(reverse("wagtailadmin_home")).content.decode()
    assert "2 stored originals failed their fixity check" in body
    listing = client.get(
        reverse("archive_asset:index"), {"fixity_status": ["mismatch", "missing"]}
    ).content.decode()
    assert rotten.original_filename in listing and gone.original_filename in listing
    assert intact.original_filename not in listing
