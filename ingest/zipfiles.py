"""Safe extraction of an uploaded delivery zip (pure Python, no Django).

Archivists upload a zip of a delivery (folders of page scans and metadata).
``zip_extract`` unpacks it into an empty folder and never writes outside it.

Two kinds of trouble are told apart:

* the whole archive is refused (``ZipRefused``): it is not a zip or its central
  directory is corrupt, it has too many entries, it declares too many bytes, or
  it turns out to be a zip bomb while unpacking (an entry writes more than its
  header declared, or the total written passes the limit). Anything already
  written is removed again.
* a single entry is refused (a ``ZipEntryProblem`` in the report) and the others
  are still extracted: unsafe names (``..``, absolute paths, NUL), symlinks and
  other special files, duplicates, encrypted entries, suspiciously compressible
  large entries, and corrupt data (CRC errors).

Files are written under a temporary name in their own folder and renamed when
complete, so a crash never leaves half a file under the real name.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import struct
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

try:  # Python may be built without lzma; zipfile then cannot read LZMA entries anyway.
    import lzma

    _LZMA_ERRORS: tuple[type[Exception], ...] = (lzma.LZMAError,)
except ImportError:  # pragma: no cover
    _LZMA_ERRORS = ()

CHUNK_SIZE = 1024 * 1024  # stream entries in 1 MiB chunks
RATIO_MIN_SIZE = 10 * 1024 * 1024  # the ratio cap applies to entries above 10 MiB
FILE_MODE = 0o644
DIR_MODE = 0o755

_FLAG_ENCRYPTED = 0x1
_FLAG_UTF8 = 0x800
_EXTRA_UNICODE_PATH = 0x7075  # Info-ZIP Unicode Path extra field
# Legacy (non-UTF-8) name encodings, tried in order; the first that decodes strictly wins.
# big5hkscs (a superset of Big5 with the Hong Kong characters) only gets a name that
# plain Big5 could not decode.
_LEGACY_ENCODINGS = ("utf-8", "gbk", "big5", "big5hkscs")
_DRIVE = re.compile(r"^[A-Za-z]:")
_JUNK_NAMES = {".ds_store", "thumbs.db"}
_CLASH = "clashes with a file or folder of the same name from an earlier entry"

# What reading a damaged entry can raise: CRC mismatch and bad headers (BadZipFile),
# broken deflate / bzip2 / lzma streams, truncated data (EOFError).
_READ_ERRORS: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    *_LZMA_ERRORS,
)
# Opening an entry can also fail on an unsupported compression method.
_OPEN_ERRORS: tuple[type[Exception], ...] = (
    *_READ_ERRORS,
    NotImplementedError,
    ValueError,
)
# Write failures that belong to one entry (a name that clashes or that the file
# system will not take); anything else (disk full, permissions) stops extraction.
_ENTRY_WRITE_ERRNOS = {
    errno.EEXIST,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.ENAMETOOLONG,
    errno.EILSEQ,
    errno.EINVAL,
}


class ZipRefused(Exception):
    """The whole archive is refused: not a zip, corrupt, too big, or a zip bomb."""


@dataclass
class ZipEntryProblem:
    """One entry that was not extracted, and why, in plain English."""

    name: str  # the entry name as displayed (decoded)
    message: str

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


@dataclass
class ZipExtractReport:
    """What ``zip_extract`` wrote (relative paths with ``/``) and what it refused."""

    extracted: list[str] = field(default_factory=list)
    problems: list[ZipEntryProblem] = field(default_factory=list)


class _EntryRefused(Exception):
    """Internal: this entry is refused with the given message; go on with the next."""


def zip_name_decode(info: zipfile.ZipInfo) -> str:
    """The entry's name as its maker meant it.

    With flag bit 0x800 the stored name is UTF-8 (already decoded by ``zipfile``).
    Otherwise ``zipfile`` decoded the bytes as cp437; a valid Info-ZIP Unicode Path
    extra field (0x7075) wins, else the bytes are tried as UTF-8, GBK, Big5 (and
    Big5-HKSCS), and the cp437 reading is kept if none decodes strictly. The name
    is returned untouched otherwise (NUL characters and backslashes included).
    """
    name = info.orig_filename  # unlike .filename, not cut short at a NUL
    if info.flag_bits & _FLAG_UTF8:
        return name
    try:
        raw = name.encode("cp437")
    except UnicodeEncodeError:  # a ZipInfo not read from an archive with cp437 names
        return name
    unicode_path = _unicode_path_extra(info.extra, raw)
    if unicode_path is not None:
        return unicode_path
    for encoding in _LEGACY_ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return name


def _unicode_path_extra(extra: bytes, raw_name: bytes) -> str | None:
    """The UTF-8 name in an Info-ZIP Unicode Path field, if present and still valid.

    The field holds a version byte (1), the CRC-32 of the header's name bytes and
    the UTF-8 name. A CRC that does not match means a tool renamed the entry
    without updating the field, so the field is ignored.
    """
    offset = 0
    while offset + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, offset)
        body = extra[offset + 4 : offset + 4 + size]
        offset += 4 + size
        if tag != _EXTRA_UNICODE_PATH or len(body) < 5 or body[0] != 1:
            continue
        (name_crc,) = struct.unpack_from("<L", body, 1)
        if name_crc != zlib.crc32(raw_name):
            continue
        try:
            return body[5:].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None


def zip_extract(
    *,
    archive: Path,
    target: Path,
    max_total_bytes: int,
    max_entries: int = 100_000,
    max_ratio: int = 200,
) -> ZipExtractReport:
    """Extract ``archive`` into ``target`` (an empty or new folder), safely.

    Returns the files written and the entries refused. Raises ``ZipRefused`` when
    the whole archive is refused; ``target`` is then left as it was found (removed
    again if this call created it, emptied otherwise). Raises ``ValueError`` if
    ``target`` exists and is not an empty folder.
    """
    archive = Path(archive)
    target = Path(target)
    created = _prepare_target(target)
    root = target.resolve()
    try:
        with open(archive, "rb") as fp:  # a missing archive is the caller's error
            with _open_zip(fp, archive.name) as zf:
                infos = zf.infolist()
                _check_archive_limits(infos, archive.name, max_total_bytes, max_entries)
                return _extract_all(zf, infos, root, max_total_bytes, max_ratio)
    except BaseException:
        _empty_target(root, remove=created)
        raise


def _prepare_target(target: Path) -> bool:
    """Make sure ``target`` is an empty folder; return whether it was created here."""
    if target.exists() or target.is_symlink():
        if not target.is_dir():
            raise ValueError(f"{target} exists and is not a folder")
        if any(target.iterdir()):
            raise ValueError(
                f"{target} is not empty; extract into an empty or new folder"
            )
        return False
    target.mkdir(parents=True)
    os.chmod(target, DIR_MODE)
    return True


def _empty_target(root: Path, *, remove: bool) -> None:
    """Remove everything written under ``root`` (and ``root`` itself if ``remove``)."""
    if remove:
        shutil.rmtree(root, ignore_errors=True)
        return
    for child in root.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _open_zip(fp, label: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(fp)
    except zipfile.BadZipFile as exc:
        raise ZipRefused(f"{label} is not a zip file or is corrupt ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise ZipRefused(
            f"{label} is corrupt: an entry name is marked as UTF-8 but is not valid UTF-8"
        ) from exc
    except (NotImplementedError, ValueError, EOFError, OSError, struct.error) as exc:
        raise ZipRefused(f"{label} cannot be read as a zip file ({exc})") from exc


def _check_archive_limits(
    infos: list[zipfile.ZipInfo], label: str, max_total_bytes: int, max_entries: int
) -> None:
    if len(infos) > max_entries:
        raise ZipRefused(
            f"{label} has {len(infos):,} entries; the limit is {max_entries:,}"
        )
    declared = sum(info.file_size for info in infos)
    if declared > max_total_bytes:
        raise ZipRefused(
            f"{label} would unpack to {declared:,} bytes; the limit is {max_total_bytes:,}"
        )


def _extract_all(
    zf: zipfile.ZipFile,
    infos: list[zipfile.ZipInfo],
    root: Path,
    max_total_bytes: int,
    max_ratio: int,
) -> ZipExtractReport:
    extraction = _Extraction(zf, root, max_total_bytes, max_ratio)
    for info in infos:
        name = zip_name_decode(info)
        shown = name.replace("\x00", "\\x00")
        try:
            extraction.entry(info, name, shown)
        except _EntryRefused as exc:
            extraction.report.problems.append(
                ZipEntryProblem(name=shown, message=str(exc))
            )
    return extraction.report


class _Extraction:
    """The state of one extraction: names seen so far and bytes written so far."""

    def __init__(
        self, zf: zipfile.ZipFile, root: Path, max_total_bytes: int, max_ratio: int
    ):
        self.zf = zf
        self.root = root
        self.max_total_bytes = max_total_bytes
        self.max_ratio = max_ratio
        self.report = ZipExtractReport()
        self.seen: set[str] = set()
        self.written_total = 0

    def entry(self, info: zipfile.ZipInfo, name: str, shown: str) -> None:
        """Extract one entry, or raise ``_EntryRefused`` (or ``ZipRefused``)."""
        parts = _safe_parts(name)
        if _is_junk(parts):
            return
        file_type = stat.S_IFMT(info.external_attr >> 16)
        if stat.S_ISLNK(file_type):
            raise _EntryRefused("is a symbolic link; links are not extracted")
        if file_type and file_type not in (stat.S_IFREG, stat.S_IFDIR):
            raise _EntryRefused(
                "is a special file (device, pipe or socket), not a regular file or folder"
            )
        if name.endswith(("/", "\\")) or file_type == stat.S_IFDIR:
            if parts:
                _guard_write(lambda: _make_dirs(self.root, parts))
            return
        if not parts:
            raise _EntryRefused("has an empty name")
        relative = "/".join(parts)
        if relative in self.seen:
            raise _EntryRefused(
                "has the same name as an earlier entry; only the first is kept"
            )
        self.seen.add(relative)
        if info.flag_bits & _FLAG_ENCRYPTED:
            raise _EntryRefused(
                "is encrypted (password-protected) and cannot be extracted"
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_MIN_SIZE and ratio > self.max_ratio:
            raise _EntryRefused(
                f"unpacks {info.compress_size:,} compressed bytes to {info.file_size:,} bytes "
                f"(ratio {ratio:,.0f}:1, limit {self.max_ratio:,}:1); "
                "refused as a possible zip bomb"
            )
        _guard_write(lambda: self.write_file(info, shown, parts))
        self.report.extracted.append(relative)

    def write_file(self, info: zipfile.ZipInfo, shown: str, parts: list[str]) -> None:
        """Stream one entry to a temporary file in its folder, then rename it into place."""
        folder = _make_dirs(self.root, parts[:-1])
        destination = _inside(self.root, folder / parts[-1])
        if os.path.lexists(destination):
            raise _EntryRefused(_CLASH)
        try:
            source = self.zf.open(info)
        except _OPEN_ERRORS as exc:
            raise _EntryRefused(f"cannot be read from the archive ({exc})") from exc
        fd, temporary = tempfile.mkstemp(prefix=".", suffix=".part", dir=folder)
        written = 0
        try:
            with source, os.fdopen(fd, "wb") as out:
                os.fchmod(out.fileno(), FILE_MODE)
                while True:
                    try:
                        chunk = source.read(CHUNK_SIZE)
                    except _READ_ERRORS as exc:
                        raise _EntryRefused(_corrupt_message(exc)) from exc
                    if not chunk:
                        break
                    written += len(chunk)
                    self.written_total += len(chunk)
                    if self.written_total > self.max_total_bytes:
                        raise ZipRefused(
                            f"{shown} took the bytes written past the limit of "
                            f"{self.max_total_bytes:,} (at least {self.written_total:,}); "
                            "the archive looks like a zip bomb"
                        )
                    if written > info.file_size:
                        raise ZipRefused(
                            f"{shown} unpacks to more than the {info.file_size:,} bytes "
                            f"its header declares (at least {written:,}); "
                            "the archive looks like a zip bomb"
                        )
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, destination)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _safe_parts(name: str) -> list[str]:
    """The entry's path components, or ``_EntryRefused`` if the name is unsafe.

    Backslashes count as separators (Windows tools write them), empty and ``.``
    components are dropped.
    """
    if "\x00" in name:
        raise _EntryRefused("has a NUL character in its name")
    normal = name.replace("\\", "/")
    if normal.startswith("/") or _DRIVE.match(normal):
        raise _EntryRefused(
            "has an absolute path; entries must be relative to the archive"
        )
    parts = [part for part in normal.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise _EntryRefused(
            "has '..' in its path, which would write outside the folder"
        )
    return parts


def _is_junk(parts: list[str]) -> bool:
    """macOS resource forks and Finder/Explorer metadata, skipped silently."""
    if not parts:
        return False
    if "__MACOSX" in parts:
        return True
    last = parts[-1]
    return last.startswith("._") or last.lower() in _JUNK_NAMES


def _guard_write(action):
    """Run a file system action; a clash or unusable name refuses only this entry."""
    try:
        return action()
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
            raise _EntryRefused(_CLASH) from exc
        if exc.errno in _ENTRY_WRITE_ERRNOS:
            raise _EntryRefused(f"could not be written: {exc.strerror or exc}") from exc
        raise


def _inside(root: Path, path: Path) -> Path:
    """``path`` if its resolved form lies strictly inside ``root``; refuse otherwise."""
    resolved = path.resolve()
    if resolved == root or not resolved.is_relative_to(root):
        raise _EntryRefused("would be written outside the target folder")
    return path


def _make_dirs(root: Path, parts: list[str]) -> Path:
    """Create the folders ``root/parts...`` (mode 0o755) and return the deepest."""
    folder = root
    for part in parts:
        folder = _inside(root, folder / part)
        if folder.is_dir() and not folder.is_symlink():
            continue
        os.mkdir(folder, DIR_MODE)
        os.chmod(folder, DIR_MODE)  # mkdir's mode is filtered by the umask
    return folder


def _corrupt_message(exc: BaseException) -> str:
    if isinstance(exc, zipfile.BadZipFile) and "CRC" in str(exc):
        return "is corrupt: its data fails the CRC check"
    return f"is corrupt: its data cannot be decompressed ({exc})"
