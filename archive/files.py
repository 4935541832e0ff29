"""Pure helpers for stored files: hashing, content-addressed paths, atomic writes, type sniffing.

No Django models here, so ingest workers and commands can use them cheaply.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote_from_bytes, unquote_to_bytes

import filetype

CHUNK = 1024 * 1024

#: Temporary files are named after the host and process writing them, so a
#: sweep can tell the leftovers of a killed process from work in progress.
INCOMING_PREFIX = ".incoming-"


def _incoming_prefix() -> str:
    return f"{INCOMING_PREFIX}{socket.gethostname()}-{os.getpid()}-"


_FS_BYTES = "fsbytes:"


def path_to_text(path: Path | str) -> str:
    """A path as text the database can hold, even when its name is not UTF-8.

    Names in GBK or Big5 bytes (files from Chinese Windows machines) come to
    Python with surrogate escapes, which no database accepts; those paths are
    kept percent-encoded behind a prefix, so ``path_from_text`` gives back the
    exact bytes.
    """
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _FS_BYTES + quote_from_bytes(os.fsencode(text), safe="/")
    return text


def path_from_text(text: str) -> Path:
    """The path ``path_to_text`` stored."""
    if text.startswith(_FS_BYTES):
        return Path(os.fsdecode(unquote_to_bytes(text[len(_FS_BYTES) :])))
    return Path(text)


def sha256_of(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in 1 MiB chunks (never whole in memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def original_relpath(sha256: str) -> str:
    """Where an original with this checksum lives, relative to the storage root."""
    return f"originals/{sha256[:2]}/{sha256[2:4]}/{sha256}"


@contextmanager
def atomic_write(target: Path, *, mode: int = 0o644) -> Iterator[Path]:
    """Write ``target`` so a crash never leaves a half file under its name.

    Yields a temporary path in the target's folder for the caller to fill; on
    success it is fsynced, given ``mode``, renamed into place (atomic on one
    filesystem) and the folder fsynced so the rename survives a power cut. On
    any error the temporary file is removed and ``target`` is untouched.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=_incoming_prefix(), suffix=target.suffix, dir=target.parent
    )
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _fsync_dir(folder: Path) -> None:
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


#: Where a stored original that no longer matched its address is kept when a
#: verified copy replaces it (relative to the storage root): evidence of the damage.
DAMAGED_FOLDER = "originals/damaged"


@dataclass
class IncomingFile:
    """A file copied into storage under a temporary name, with its checksum."""

    path: Path
    sha256: str
    size: int
    target: Path
    committed: bool = False
    #: Whether ``commit`` found a damaged file at the target and replaced it.
    replaced_damaged: bool = False

    def commit(self) -> bool:
        """Rename into place (atomic); returns False when the target already held these bytes.

        A good stored original is never replaced: it is re-hashed, and the copy
        dropped. A target whose bytes no longer hash to its address (bit rot,
        a stray write) is damaged: the copy, whose checksum was just computed
        while it was written, takes its place in one rename, and the damaged
        file is kept under ``DAMAGED_FOLDER`` (a hard link made before the
        rename, so the target is never missing).
        """
        self.committed = True
        if self.target.exists():
            if sha256_of(self.target) == self.sha256:
                self.path.unlink(missing_ok=True)
                return False
            root = self.target.parents[3]
            aside = root / DAMAGED_FOLDER / f"{self.sha256}-{time.time_ns()}"
            aside.parent.mkdir(parents=True, exist_ok=True)
            os.link(self.target, aside)
            self.replaced_damaged = True
        os.chmod(self.path, 0o444)
        os.replace(self.path, self.target)
        _fsync_dir(self.target.parent)
        return True


@contextmanager
def incoming_copy(source: Path, root: Path) -> Iterator[IncomingFile]:
    """Copy ``source`` under ``root`` with a temporary name, hashing as it reads (one read).

    The caller checks the copy (decodes it, say) and calls ``commit()`` to
    rename it to its content address (``original_relpath``). Leaving the block
    without committing removes the temporary file.
    """
    folder = root / "originals" / "incoming"
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_incoming_prefix(), dir=folder)
    digest = hashlib.sha256()
    size = 0
    incoming = None
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        sha = digest.hexdigest()
        target = root / original_relpath(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Move beside the target first, so commit() is a rename within one folder.
        beside = target.parent / Path(tmp).name
        os.replace(tmp, beside)
        tmp = str(beside)
        incoming = IncomingFile(path=beside, sha256=sha, size=size, target=target)
        yield incoming
    finally:
        if os.path.exists(tmp) and not (incoming and incoming.committed):
            os.unlink(tmp)


def incoming_sweep(root: Path, *, older_than: float = 24 * 3600) -> list[Path]:
    """Remove temporary files left under ``root`` by killed processes.

    A file is removed when the process that wrote it (this host) is gone, or
    when it is older than ``older_than`` seconds (other hosts, or pid reuse).
    Returns the removed paths.
    """
    removed = []
    host = socket.gethostname()
    now = time.time()
    for path in root.rglob(f"{INCOMING_PREFIX}*"):
        rest = path.name[len(INCOMING_PREFIX) :]
        dead = False
        if rest.startswith(f"{host}-"):
            pid_text = rest[len(host) + 1 :].split("-", 1)[0]
            dead = pid_text.isdigit() and not pid_alive(int(pid_text))
        try:
            stale = now - path.stat().st_mtime > older_than
        except FileNotFoundError:
            continue
        if dead or stale:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (killed, not yet reaped by its parent) is gone for our purpose.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def atomic_copy(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` atomically, read-only (stored originals never change)."""
    with (
        atomic_write(target, mode=0o444) as tmp,
        open(source, "rb") as src,
        open(tmp, "wb") as out,
    ):
        shutil.copyfileobj(src, out, CHUNK)


_TEXT_TYPES = {
    b"<?xml": "application/xml",
    b"<alto": "application/xml",
    b"{": "application/json",
    b"[": "application/json",
    b"WEBVTT": "text/vtt",
}


def detect_media_type(path: Path) -> str:
    """Detect a file's media type from its bytes, never from its name.

    Returns ``application/octet-stream`` when the content is unrecognised and
    ``text/plain`` for valid UTF-8 text.
    """
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if not head:
        return "application/x-empty"
    kind = filetype.guess(head)
    if kind is not None:
        mime = kind.mime
        if mime == "video/quicktime" and b"ftypM4A" in head[:16]:
            return "audio/mp4"
        return mime
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    for prefix, mime in _TEXT_TYPES.items():
        if stripped.startswith(prefix):
            return mime
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the 8 KiB boundary is still text.
        if exc.start < len(head) - 4:
            return "application/octet-stream"
    return "text/plain"
