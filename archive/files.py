"""Pure helpers for stored files: hashing, content-addressed paths, atomic writes, type sniffing.

No Django models here, so ingest workers and commands can use them cheaply.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
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


def atomic_copy(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` so a crash never leaves a half file at ``target``.

    The bytes go to a temporary name in the target's folder, are flushed and
    fsynced, then renamed into place (rename is atomic on one filesystem); the
    folder is fsynced so the rename itself survives a power cut.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".incoming-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out, CHUNK)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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
