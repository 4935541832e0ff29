"""Backups of the installation: back up, wipe, restore, compare every table and file.

The commands run in this process against the test database (committed data,
``transaction=True``): the restore closes Django's connection and replaces
the database under it with the database's own tool, as it does in
production. SQLite's backup API is also exercised on a plain SQLite file,
so it is covered when the suite runs on PostgreSQL; the PostgreSQL test
checks that a failing ``pg_restore`` leaves the database as it was.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import sqlite3
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection

from archive.models import AccessLevel, Asset, Item
from ingest.preservation.installation import (
    MANIFEST,
    database_dump,
    database_load,
)
from tests.archive.factories import ItemFactory, jpeg_bytes, make_user


@pytest.fixture(autouse=True)
def _english():
    """The commands' messages are asserted in English (the catalogs translate them)."""
    from django.utils import translation

    with translation.override("en"):
        yield


def _archive_build(tmp_path: Path, settings) -> None:
    """A little of everything: an account, an item with an original, an editorial file."""
    from archive.services import asset_create

    make_user("archivist", superuser=True)
    item = ItemFactory(public_id="yc-backup-test", access_level=AccessLevel.STAFF)
    (tmp_path / "scan.jpg").write_bytes(jpeg_bytes())
    asset_create(item=item, source=tmp_path / "scan.jpg", role=Asset.Role.PAGE)
    media = Path(settings.MEDIA_ROOT) / "original_images"
    media.mkdir(parents=True)
    (media / "展覽 hero.jpg").write_bytes(jpeg_bytes(color=(10, 20, 30)))


def _database_state() -> dict:
    """Every row of every table the project's models know, by table."""
    state = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        rows = model._base_manager.order_by("pk").values_list()
        state[model._meta.db_table] = [repr(row) for row in rows]
    return state


def _file_state(settings) -> dict:
    state = {}
    for name in ("ARCHIVE_STORAGE_ROOT", "MEDIA_ROOT"):
        root = Path(getattr(settings, name))
        for path in sorted(root.rglob("*")):
            if path.is_file():
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                state[f"{name}/{path.relative_to(root)}"] = digest
    return state


def _backup(to: Path) -> str:
    out = io.StringIO()
    call_command("backup", "--to", str(to), stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_back_up_wipe_restore_compare_everything(tmp_path, settings):
    _archive_build(tmp_path, settings)
    tables, files = _database_state(), _file_state(settings)
    assert len(files) == 2
    backup = tmp_path / "backup"
    assert "backed up" in _backup(backup)
    magic = {"sqlite": b"SQLite format 3\x00", "postgresql": b"PGDMP"}[
        connection.vendor
    ]
    dump = next(p for p in backup.iterdir() if p.name.startswith("database."))
    assert dump.read_bytes().startswith(magic)

    call_command("flush", interactive=False, verbosity=0)
    shutil.rmtree(settings.ARCHIVE_STORAGE_ROOT)
    shutil.rmtree(settings.MEDIA_ROOT)
    stray = Path(settings.ARCHIVE_STORAGE_ROOT) / "originals" / "stray"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"not in the backup")
    assert not Item.objects.exists()

    out = io.StringIO()
    call_command("restore", str(backup), "--noinput", stdout=out)
    assert "restored the database and 2 files" in out.getvalue()
    assert "manage.py reindex" in out.getvalue()
    assert _database_state() == tables
    assert _file_state(settings) == files
    original = Item.objects.get(public_id="yc-backup-test").assets.get().path
    assert original.stat().st_mode & 0o777 == 0o444


@pytest.mark.django_db(transaction=True)
def test_a_damaged_backup_is_refused_naming_the_file_and_nothing_changes(
    tmp_path, settings
):
    _archive_build(tmp_path, settings)
    backup = tmp_path / "backup"
    _backup(backup)
    out = io.StringIO()
    call_command("restore", str(backup), "--check", stdout=out)
    assert "4 files match the manifest" in out.getvalue()
    ItemFactory(public_id="yc-made-after")
    tables, files = _database_state(), _file_state(settings)
    original = next((backup / "storage" / "originals").rglob("*"))
    while original.is_dir():
        original = next(original.iterdir())
    relative = original.relative_to(backup).as_posix()

    def damaged(name: str, damage) -> str:
        copy = tmp_path / name
        shutil.copytree(backup, copy)
        damage(copy)
        with pytest.raises(CommandError) as refused:
            call_command("restore", str(copy), "--noinput", stdout=io.StringIO())
        return str(refused.value)

    def flip(copy: Path) -> None:
        path = copy / relative
        data = bytearray(path.read_bytes())
        data[10] ^= 0xFF
        path.write_bytes(bytes(data))

    message = damaged("flipped", flip)
    assert message.startswith(f"{tmp_path / 'flipped'}: refused, nothing was changed")
    assert f"{relative} does not match its checksum" in message
    message = damaged("missing", lambda copy: (copy / relative).unlink())
    assert f"{relative} is missing" in message
    message = damaged(
        "extra", lambda copy: (copy / "storage" / "extra.bin").write_bytes(b"x")
    )
    assert "storage/extra.bin is not in the manifest" in message

    def escape(copy: Path) -> None:
        manifest = copy / MANIFEST
        manifest.write_text(manifest.read_text() + "0" * 64 + "  ../outside\n")

    assert "names ../outside, outside the backup" in damaged("escape", escape)
    inside = Path(settings.ARCHIVE_STORAGE_ROOT) / "backups" / "b"
    with pytest.raises(CommandError, match="is inside ARCHIVE_STORAGE_ROOT"):
        call_command("backup", "--to", str(inside), stdout=io.StringIO())
    assert not inside.exists()
    assert _database_state() == tables
    assert _file_state(settings) == files


def test_sqlite_backup_api_copies_a_live_database_and_loads_it_back(tmp_path):
    live_path = tmp_path / "live.sqlite3"
    live = sqlite3.connect(live_path)
    live.execute("PRAGMA journal_mode=WAL")
    live.execute("CREATE TABLE item (public_id TEXT, title TEXT)")
    live.execute("INSERT INTO item VALUES ('yc-1', '三字經'), ('yc-2', '茶樓')")
    live.commit()
    settings_dict = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(live_path)}
    copy = tmp_path / "database.sqlite3"
    database_dump(settings_dict=settings_dict, target=copy)
    # One self-contained file, not in WAL mode (nothing beside it).
    assert sorted(
        p.name for p in tmp_path.iterdir() if p.name.startswith("database")
    ) == ["database.sqlite3"]
    live.execute("DELETE FROM item WHERE public_id = 'yc-1'")
    live.execute("INSERT INTO item VALUES ('yc-3', '後來')")
    live.commit()
    # The application's connection stays open (idle) while the copy is loaded.
    database_load(settings_dict=settings_dict, source=copy)
    assert live.execute("SELECT * FROM item ORDER BY public_id").fetchall() == [
        ("yc-1", "三字經"),
        ("yc-2", "茶樓"),
    ]
    live.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_restore_is_all_or_nothing(postgres_required, tmp_path, settings):
    _archive_build(tmp_path, settings)
    backup = tmp_path / "backup"
    _backup(backup)
    ItemFactory(public_id="yc-made-after")
    tables = _database_state()
    # A dump whose last data block is cut short, with a manifest that agrees:
    # pg_restore has dropped and re-made every table when it fails there.
    dump = backup / "database.pgdump"
    dump.write_bytes(dump.read_bytes()[:-64])
    digest = hashlib.sha256(dump.read_bytes()).hexdigest()
    manifest = backup / MANIFEST
    lines = [
        f"{digest}  database.pgdump" if line.endswith("  database.pgdump") else line
        for line in manifest.read_text().splitlines()
    ]
    manifest.write_text("\n".join(lines) + "\n")
    with pytest.raises(CommandError, match="pg_restore failed"):
        call_command("restore", str(backup), "--noinput", stdout=io.StringIO())
    assert _database_state() == tables
