"""Pure helpers for stored files: hashing, content-addressed paths, atomic writes, type sniffing.

No Django models here, so ingest workers and commands can use them cheaply.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import filetype

CHUNK = 1024 * 1024


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
        prefix=".incoming-", suffix=target.suffix, dir=target.parent
    )
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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
