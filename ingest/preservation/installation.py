"""Back up and restore a whole installation: the database and the stored files.

A backup is one folder::

    backup.json           what it is: format, version, when, database, migrations
    database.sqlite3      SQLite's online backup API (a consistent copy, live)
    database.pgdump       or PostgreSQL's own dump (``pg_dump --format=custom``)
    storage/…             ARCHIVE_STORAGE_ROOT: originals and derivatives
    media/…               MEDIA_ROOT: Wagtail's editorial images and documents
    manifest-sha256.txt   the SHA-256 of every file above (``{sha256}  {path}``)

The database is copied first, then the files: originals are content-addressed
and never change, so every file the copied database names is in the copy
(one added meanwhile is harmless extra). Temporary files of running ingests
are left out. The folder is written under a temporary name and renamed when
complete.

A restore reads every file of the backup against the manifest first and
refuses the backup, naming each file that is missing, unlisted or different,
before anything is changed; then it restores the database with the
database's own tool (SQLite's backup API into the live file, or
``pg_restore --clean --single-transaction``), replaces the stored files with
the backup's (files the backup does not have are removed) and empties what
was derived from the old state: the IIIF tile cache (which nginx serves
without asking Django) and the manifest cache stamps. The search index is
rebuilt separately (``manage.py reindex``). Stop the web server and the
workers while restoring.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone
from django.utils.translation import gettext as _

from archive.files import CHUNK, INCOMING_PREFIX, atomic_write
from ingest.preservation.records import software_version

BACKUP_FORMAT = "yuecang-backup/1"
INFO = "backup.json"
MANIFEST = "manifest-sha256.txt"
#: Folders of the installation in a backup: (name in the backup, setting).
ROOTS = (("storage", "ARCHIVE_STORAGE_ROOT"), ("media", "MEDIA_ROOT"))
#: The database file in a backup, by vendor.
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
#: Stored originals are read-only; everything else is an ordinary file.
READ_ONLY_PREFIX = "storage/originals/"
_SKIPPED = (INCOMING_PREFIX, ".trash-")
_LINE = re.compile(r"^([0-9a-f]{64})  (.+)$")


class BackupRefused(Exception):
    """A backup that cannot be written or restored, naming the folder and why."""

    def __init__(self, path, message: str):
        self.path = str(path)
        self.message = message
        super().__init__(f"{self.path}: {message}")


@dataclass
class BackupReport:
    """A backup written or restored: where, files and bytes, what to do next."""

    path: Path
    files: int = 0
    bytes: int = 0
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------
# Databases


def database_vendor(settings_dict: dict) -> str:
    """``sqlite`` or ``postgresql`` for a database's settings; others are refused."""
    engine = settings_dict.get("ENGINE", "")
    if engine.endswith("sqlite3"):
        return "sqlite"
    if "postgresql" in engine or "postgis" in engine:
        return "postgresql"
    raise BackupRefused(
        settings_dict.get("NAME", ""),
        _("backups know SQLite and PostgreSQL, not %(engine)s") % {"engine": engine},
    )


def _pg_env(settings_dict: dict) -> dict:
    """Environment pointing PostgreSQL's tools at the database (no password in argv)."""
    env = dict(os.environ)
    values = {
        "PGHOST": settings_dict.get("HOST"),
        "PGPORT": settings_dict.get("PORT"),
        "PGUSER": settings_dict.get("USER"),
        "PGPASSWORD": settings_dict.get("PASSWORD"),
        "PGDATABASE": settings_dict.get("NAME"),
        "PGSSLMODE": (settings_dict.get("OPTIONS") or {}).get("sslmode"),
    }
    env.update({k: str(v) for k, v in values.items() if v})
    return env


def _run(command: list[str], env: dict, where) -> None:
    try:
        subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise BackupRefused(
            where, _("%(tool)s is not installed") % {"tool": command[0]}
        ) from exc
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or exc.stdout or "").strip().splitlines()[-3:]
        raise BackupRefused(
            where,
            _("%(tool)s failed: %(detail)s")
            % {"tool": command[0], "detail": " / ".join(detail)},
        ) from exc


def _regexp(pattern: str, value) -> bool:
    return value is not None and re.search(pattern, str(value)) is not None


def database_dump(*, settings_dict: dict, target: Path) -> None:
    """Copy a live database into ``target`` with the database's own tool.

    SQLite: the online backup API, a consistent snapshot even while others
    write (the copy is then switched out of WAL, so it is one self-contained
    file) and checked with ``PRAGMA integrity_check``. PostgreSQL:
    ``pg_dump --format=custom``, checked by listing it with ``pg_restore``.
    """
    vendor = database_vendor(settings_dict)
    if vendor == "sqlite":
        source = sqlite3.connect(str(settings_dict["NAME"]), timeout=30)
        copy = sqlite3.connect(str(target))
        # The schema's CHECK constraints use REGEXP, which Django provides to
        # its own connections; the integrity check evaluates them.
        copy.create_function("REGEXP", 2, _regexp, deterministic=True)
        try:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
            result = copy.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            copy.close()
            source.close()
        if result != "ok":
            raise BackupRefused(
                target, _("the copy fails its integrity check: %(r)s") % {"r": result}
            )
        return
    env = _pg_env(settings_dict)
    _run(
        [
            "pg_dump",
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            "--file",
            str(target),
        ],
        env,
        target,
    )
    _run(["pg_restore", "--list", str(target)], env, target)


def database_load(*, settings_dict: dict, source: Path) -> None:
    """Replace a database's contents with a copy :func:`database_dump` made.

    SQLite: the backup API from the copy into the live file (its other
    connections must be idle). PostgreSQL: ``pg_restore --clean --if-exists
    --single-transaction``: all or nothing; tables the dump does not have
    (made by a later migration) are left as they are.
    """
    vendor = database_vendor(settings_dict)
    if vendor == "sqlite":
        copy = sqlite3.connect(str(source))
        live = sqlite3.connect(str(settings_dict["NAME"]), timeout=30)
        try:
            copy.backup(live)
        finally:
            live.close()
            copy.close()
        return
    _run(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--dbname",
            str(settings_dict["NAME"]),
            str(source),
        ],
        _pg_env(settings_dict),
        source,
    )


def _migrations(connection) -> list[list[str]]:
    from django.db.migrations.recorder import MigrationRecorder

    return sorted(
        [app, name] for app, name in MigrationRecorder(connection).applied_migrations()
    )


# ---------------------------------------------------------------------------
# Files


def _hashed_copy(source: Path, target: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(source, "rb") as src, open(target, "wb") as out:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _files(root: Path) -> list[Path]:
    """Regular files under ``root``, sorted, without running writers' temporary files."""
    if not root.is_dir():
        return []
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(_SKIPPED))
        for name in sorted(files):
            path = Path(folder) / name
            if name.startswith(_SKIPPED) or path.is_symlink() or not path.is_file():
                continue
            found.append(path)
    return found


def _outside_roots(path: Path) -> None:
    """Refuse a backup folder inside the folders it copies (or replaces on restore)."""
    resolved = path.resolve()
    for _name, setting in ROOTS:
        root = Path(getattr(settings, setting)).resolve()
        if resolved == root or root in resolved.parents:
            raise BackupRefused(
                path,
                _("is inside %(setting)s (%(root)s): keep backups elsewhere")
                % {"setting": setting, "root": root},
            )


# ---------------------------------------------------------------------------
# Backup


def installation_backup(
    *,
    to: Path,
    using: str = DEFAULT_DB_ALIAS,
    progress: Callable[[int], None] | None = None,
) -> BackupReport:
    """Back up the database and the stored files into the new folder ``to``.

    Args:
        to: a folder that does not exist yet (or is empty).
        using: the database alias.
        progress: called with the bytes of each file copied.

    Returns:
        The folder, its file count and size.

    Raises:
        BackupRefused: ``to`` holds something, or the database tool failed
            (nothing is left behind).
    """
    to = Path(to)
    _outside_roots(to)
    if to.exists() and (not to.is_dir() or any(to.iterdir())):
        raise BackupRefused(to, _("exists and is not empty: give a new folder"))
    to.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{to.name}.incoming-", dir=to.parent))
    try:
        connection = connections[using]
        vendor = database_vendor(connection.settings_dict)
        lines: list[str] = []
        report = BackupReport(path=to)
        database_file = DATABASE_FILES[vendor]
        migrations = _migrations(connection)
        database_dump(
            settings_dict=connection.settings_dict, target=staging / database_file
        )
        size = (staging / database_file).stat().st_size
        lines.append(f"{_sha256(staging / database_file)}  {database_file}")
        report.files, report.bytes = 1, size
        roots = {}
        for name, setting in ROOTS:
            root = Path(getattr(settings, setting))
            roots[name] = str(root)
            for path in _files(root):
                relative = path.relative_to(root).as_posix()
                if "\n" in relative or "\r" in relative:
                    report.notes.append(
                        _("left out (a line break in its name): %(path)r")
                        % {"path": relative}
                    )
                    continue
                sha, size = _hashed_copy(path, staging / name / relative)
                lines.append(f"{sha}  {name}/{relative}")
                report.files += 1
                report.bytes += size
                if progress:
                    progress(size)
        info = {
            "format": BACKUP_FORMAT,
            "created_at": timezone.now().isoformat(),
            "software": {"name": "yuecang", "version": software_version()},
            "database": {"vendor": vendor, "file": database_file},
            "migrations": migrations,
            "roots": roots,
            "files": report.files,
            "bytes": report.bytes,
        }
        (staging / INFO).write_text(json.dumps(info, indent=1) + "\n", "utf-8")
        lines.append(f"{_sha256(staging / INFO)}  {INFO}")
        (staging / MANIFEST).write_text("\n".join(lines) + "\n", "utf-8")
        if to.exists():
            to.rmdir()
        os.replace(staging, to)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report


# ---------------------------------------------------------------------------
# Verify and restore


def _listed(source: Path) -> dict[str, str]:
    manifest = source / MANIFEST
    if not manifest.is_file() or manifest.is_symlink():
        raise BackupRefused(source, _("has no %(file)s") % {"file": MANIFEST})
    entries: dict[str, str] = {}
    for n, line in enumerate(manifest.read_text("utf-8").splitlines(), start=1):
        match = _LINE.match(line)
        if not match:
            raise BackupRefused(
                source,
                _("%(file)s line %(n)s is not “sha256  path”")
                % {"file": MANIFEST, "n": n},
            )
        sha, relative = match.groups()
        pure = PurePosixPath(relative)
        if pure.is_absolute() or ".." in pure.parts or relative == MANIFEST:
            raise BackupRefused(
                source,
                _("%(file)s line %(n)s names %(path)s, outside the backup")
                % {"file": MANIFEST, "n": n, "path": relative},
            )
        entries[relative] = sha
    return entries


def backup_verify(*, source: Path) -> tuple[dict, dict[str, str]]:
    """Read every file of a backup against its manifest; nothing is changed.

    Returns:
        The backup's ``backup.json`` and its manifest (path → SHA-256).

    Raises:
        BackupRefused: naming every file that is missing, a link, not listed,
            or whose checksum differs (at most ten, and how many more).
    """
    source = Path(source)
    if not source.is_dir():
        raise BackupRefused(source, _("is not a folder"))
    entries = _listed(source)
    problems = []
    for relative, expected in entries.items():
        path = source / relative
        if path.is_symlink() or not path.is_file():
            problems.append(_("%(path)s is missing") % {"path": relative})
            continue
        found = _sha256(path)
        if found != expected:
            problems.append(
                _("%(path)s does not match its checksum (expected %(e)s, found %(f)s)")
                % {"path": relative, "e": expected, "f": found}
            )
    for folder, dirs, files in os.walk(source):
        for name in [*dirs, *files]:
            path = Path(folder) / name
            relative = path.relative_to(source).as_posix()
            if path.is_symlink():
                problems.append(_("%(path)s is a link") % {"path": relative})
            elif path.is_file() and relative not in entries and relative != MANIFEST:
                problems.append(
                    _("%(path)s is not in the manifest") % {"path": relative}
                )
    if problems:
        more = len(problems) - 10
        text = "; ".join(problems[:10])
        if more > 0:
            text += " " + _("(and %(n)s more)") % {"n": more}
        raise BackupRefused(
            source, _("refused, nothing was changed: %(problems)s") % {"problems": text}
        )
    if INFO not in entries:
        raise BackupRefused(source, _("has no %(file)s") % {"file": INFO})
    info = json.loads((source / INFO).read_text("utf-8"))
    if info.get("format") != BACKUP_FORMAT:
        raise BackupRefused(
            source,
            _("is not a %(format)s backup (it says %(found)r)")
            % {"format": BACKUP_FORMAT, "found": info.get("format")},
        )
    return info, entries


def _unknown_migrations(applied: list) -> list[str]:
    """Migrations a backup had applied that this code lacks (a newer version's)."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    for migration in loader.disk_migrations.values():
        known.update(tuple(key) for key in migration.replaces or ())
    return sorted(
        f"{app}.{name}"
        for app, name in applied
        if app in loader.migrated_apps and (app, name) not in known
    )


def _migrations_pending(connection) -> bool:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def _tree_restore(source: Path, root: Path, relatives: list[str], name: str) -> int:
    """Make ``root`` hold exactly the backup's files: copy each, remove the others."""
    root.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for relative in relatives:
        target = root / relative
        wanted.add(target)
        mode = 0o444 if f"{name}/{relative}".startswith(READ_ONLY_PREFIX) else 0o644
        with atomic_write(target, mode=mode) as tmp:
            shutil.copyfile(source / relative, tmp)
    removed = 0
    for folder, dirs, files in os.walk(root, topdown=False):
        for file_name in files:
            path = Path(folder) / file_name
            if path not in wanted:
                path.unlink()
                removed += 1
        for dir_name in dirs:
            path = Path(folder) / dir_name
            if path.is_symlink():
                path.unlink()
            elif not any(path.iterdir()):
                path.rmdir()
    return removed


def _derived_caches_empty() -> None:
    """Forget what was derived from the state before the restore (access may differ)."""
    from django.contrib.contenttypes.models import ContentType

    from iiif.image_cache import image_cache
    from iiif.presentation import manifest_cache_bump

    ContentType.objects.clear_cache()
    manifest_cache_bump()
    cache_dir = Path(settings.IIIF_CACHE_DIR)
    if cache_dir.is_dir():
        ids = {
            entry.name.split("~v", 1)[0]
            for entry in os.scandir(cache_dir)
            if "~v" in entry.name and not entry.name.startswith(".")
        }
        image_cache(cache_dir, settings.IIIF_CACHE_MAX_BYTES).purge(*ids)


def installation_restore(
    *, source: Path, using: str = DEFAULT_DB_ALIAS
) -> BackupReport:
    """Restore the database and the stored files from a verified backup.

    Every file is checked against the backup's manifest first; a backup that
    does not match is refused, naming the files, and nothing is changed.
    Then the database (all or nothing on PostgreSQL), then the files.

    Raises:
        BackupRefused: the backup is damaged or incomplete, was made on
            another database or by a newer version, or the database tool
            failed.
    """
    source = Path(source)
    _outside_roots(source)
    info, entries = backup_verify(source=source)
    connection = connections[using]
    vendor = database_vendor(connection.settings_dict)
    database = info.get("database") or {}
    if (
        database.get("vendor") == vendor
        and database.get("file") != DATABASE_FILES[vendor]
    ):
        raise BackupRefused(source, _("backup.json names an unexpected database file"))
    if database.get("vendor") != vendor:
        raise BackupRefused(
            source,
            _(
                "is a backup of a %(theirs)s database and this installation uses "
                "%(ours)s: restore it on %(theirs)s, or move items with export_bag "
                "and import_bag"
            )
            % {"theirs": database.get("vendor"), "ours": vendor},
        )
    unknown = _unknown_migrations(info.get("migrations") or [])
    if unknown:
        raise BackupRefused(
            source,
            _(
                "was made by a newer version (migrations unknown here: %(names)s): "
                "upgrade this installation first"
            )
            % {"names": ", ".join(unknown[:5])},
        )
    if connection.in_atomic_block:
        raise BackupRefused(source, _("a restore cannot run inside a transaction"))
    report = BackupReport(path=source)
    connection.close()
    database_load(
        settings_dict=connection.settings_dict, source=source / database["file"]
    )
    for name, setting in ROOTS:
        prefix = f"{name}/"
        relatives = [r[len(prefix) :] for r in entries if r.startswith(prefix)]
        root = Path(getattr(settings, setting))
        removed = _tree_restore(source / name, root, relatives, name)
        report.files += len(relatives)
        if removed:
            report.notes.append(
                _(
                    "%(n)s file(s) under %(root)s that the backup does not have "
                    "were removed"
                )
                % {"n": removed, "root": root}
            )
    _derived_caches_empty()
    if _migrations_pending(connection):
        report.notes.append(
            _("this version has migrations the backup lacks: run manage.py migrate")
        )
    report.notes.append(_("rebuild the search index: manage.py reindex"))
    return report
