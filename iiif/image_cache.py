"""A bounded on-disk cache of rendered public images (DESIGN.md, IIIF).

Only responses every visitor may see, asked for under a *versioned*
identifier (whose responses never change), are stored; anything else is
rendered for each request and never written. An entry's path is the request
URL's own segments, exactly as requested (already percent-decoded, already
validated by the Image API grammar)::

    IIIF_CACHE_DIR/{public_id}~v{N}/{region}@{size}@{rotation}@{quality}.{format}

so a front server can serve a warm tile from the URL alone without asking
Django (``docs/deploy/nginx.conf`` joins the four segments it captured with
``@``, which the grammar never uses), and Django's own read path uses the same
file. One flat folder a page: a folder per segment cost three new folders for
every new tile, a fifth of a stored tile's time (docs/performance.md).
:meth:`ImageCache.path` refuses any segment outside the grammar's characters
(digits, letters, ``, . : ! ^ -``), any ``..``, any slash, and a name longer
than file systems allow, so no request can write outside its image's folder.
info.json is never stored (it carries the item's rights, which can change).

Purge: :meth:`ImageCache.purge` removes every ``{public_id}~v*`` folder of the
page images it is given when an item is withdrawn or stops being public, a
page's file becomes stricter, or a pyramid is re-derived or deleted
(``iiif.signals``, in the request or transaction that made the change). Each
folder is first renamed to ``.trash-…`` (atomic: a front server reading the
tree sees the whole folder or nothing) and then deleted.

A render that read the old access state before such a change and writes after
its purge must not leave a file behind, because the front server does not ask
Django again. So a purge first replaces a *generation* token
(``.generation``), and a writer reads that token before its access decision
(:meth:`ImageCache.generation`) and again after its file is in place: when it
changed, the writer removes its own file. Either the writer's second read
comes after the purge's new token (it removes the file), or its file was in
place before the purge renamed the folder away.

Each image folder also holds the page's *record* (``.record.json``): the
pyramid's storage path, modification time and size, written by the request
that found the page public in the database and decided access. While the
folder exists the page is public (a change of access purges the folder, as
above), so a later request for another size or region of the same page reads
the record instead of the database, under the same generation rule. The
record is not a URL a front server serves (it matches only four segments
under the folder).

Writes are atomic (a temporary file under ``.incoming/``, then a rename into
place) and world-readable (the front server runs as another user; the bytes
are public by definition). The size stays under ``IIIF_CACHE_MAX_BYTES``
cheaply: a Django read refreshes an entry's modification time at most once an
hour (front-server reads move its access time, which the sweep also counts),
and after every tenth of the budget written one process (holding a lock file)
sums the folder and removes the least recently used entries down to 90 % of
the budget, with the folders they leave empty.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

logger = logging.getLogger(__name__)

#: A hit refreshes an entry's mtime (its LRU age) when older than this.
TOUCH_INTERVAL = 3600
#: An eviction sweep runs after this fraction of the budget has been written.
SWEEP_FRACTION = 0.1
#: A sweep trims the cache to this fraction of the budget.
SWEEP_TARGET = 0.9
#: A sweep removes temporary files and purge leftovers older than this.
STALE_AFTER = 3600
#: The purge generation token, at the top of the cache folder.
GENERATION_FILE = ".generation"
#: Temporary files are written here (same file system, so the rename is atomic).
INCOMING_DIR = ".incoming"
LOCK_FILE = ".sweep.lock"
#: Joins a request's four segments into one file name (not a grammar character).
SEPARATOR = "@"
#: The longest file name most file systems allow.
MAX_NAME = 255
#: The page's record, at the top of its image folder (see the module docstring).
RECORD_FILE = ".record.json"
#: The fields of a record, all required.
RECORD_FIELDS = {"relpath": str, "mtime_ns": int, "size": int}
TRASH_PREFIX = ".trash-"

#: A page image's public identifier (``archive`` enforces the same form).
_PUBLIC_ID = re.compile(r"^[a-z0-9][a-z0-9-]{2,63}$")
#: A folder of the cache: one version of one page image.
_IMAGE_FOLDER = re.compile(r"^(?P<public_id>[a-z0-9][a-z0-9-]{2,63})~v[1-9][0-9]*$")
#: The characters the Image API grammar allows in region, size and rotation.
_SEGMENT = re.compile(r"^[A-Za-z0-9,.:!^-]{1,100}$")
#: The last segment: ``{quality}.{format}``.
_LAST_SEGMENT = re.compile(r"^[A-Za-z0-9]{1,20}\.[A-Za-z0-9]{1,10}$")


#: How many pages' records a process keeps parsed (see :meth:`ImageCache.record`).
_RECORDS_KEPT = 4096

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)

#: The process's umask: a stored file is made readable by the front server
#: explicitly only when the umask would hide it (one system call a file less).
_UMASK = os.umask(0o022)
os.umask(_UMASK)

#: Well-formed segments, to check an identifier and version with :meth:`ImageCache.path`.
_PROBE = ("full", "max", "0", "default.jpg")


def _safe_segment(value: str, last: bool) -> bool:
    if not isinstance(value, str) or ".." in value or value == ".":
        return False
    return bool((_LAST_SEGMENT if last else _SEGMENT).match(value))


class ImageCache:
    """The on-disk cache of rendered public images.

    Args:
        root: the cache folder (``IIIF_CACHE_DIR``).
        max_bytes: the budget (``IIIF_CACHE_MAX_BYTES``); 0 turns caching off.
    """

    def __init__(self, root: Path, max_bytes: int):
        self.root = Path(root)
        self.max_bytes = max_bytes
        self._generation_path = os.path.join(self.root, GENERATION_FILE)
        self._written = 0
        self._sequence = 0
        self._lock = threading.Lock()
        #: Records already read: path -> (inode, mtime, size, record). Each use
        #: still stats the file, so a purged or rewritten record is never used.
        self._records: dict[str, tuple[int, int, int, dict]] = {}

    @property
    def enabled(self) -> bool:
        """Whether anything is stored at all."""
        return self.max_bytes > 0

    def folder(self, public_id: str, version: int) -> Path:
        """The folder of one version of one page image: ``{public_id}~v{version}``."""
        return self.root / f"{public_id}~v{version}"

    def path(
        self, public_id: str, version: int, segments: Sequence[str]
    ) -> Path | None:
        """Where a request is stored, or None when it must not be stored.

        Args:
            public_id: the page image's public identifier.
            version: the pyramid's recipe version (the ``~v{N}`` of the URL).
            segments: ``(region, size, rotation, "{quality}.{format}")`` exactly as
                requested (percent-decoded, not canonicalised).

        Returns:
            ``root/{public_id}~v{version}/{region}@{size}@{rotation}@{quality}.{format}``,
            or None when the identifier or any segment is outside the grammar's
            characters, names ``.`` or ``..``, or holds a slash, or the name is
            longer than ``MAX_NAME`` bytes.
        """
        if not isinstance(public_id, str) or not _PUBLIC_ID.match(public_id):
            return None
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            return None
        segments = tuple(segments)
        if len(segments) != 4:
            return None
        if not all(_safe_segment(s, i == 3) for i, s in enumerate(segments)):
            return None
        folder = os.path.join(self.root, f"{public_id}~v{version}")
        name = SEPARATOR.join(segments)
        if len(name.encode("utf-8")) > MAX_NAME:
            return None
        path = os.path.join(folder, name)
        # Belt and braces: the segments above cannot climb, but check anyway.
        if os.path.dirname(os.path.normpath(path)) == os.path.normpath(folder):
            return Path(path)
        return None  # pragma: no cover - unreachable with the patterns above

    def get(
        self, public_id: str, version: int, segments: Sequence[str]
    ) -> bytes | None:
        """The cached bytes of a request, or None."""
        if not self.enabled:
            return None
        path = self.path(public_id, version, segments)
        if path is None:
            return None
        try:
            fd = os.open(path, os.O_RDONLY | _O_CLOEXEC)
        except OSError:
            return None
        try:
            mtime = os.fstat(fd).st_mtime
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
        except OSError:
            return None
        finally:
            os.close(fd)
        if time.time() - mtime > TOUCH_INTERVAL:
            try:
                os.utime(path)
            except OSError:
                pass
        return b"".join(chunks)

    @staticmethod
    def _names_folder(public_id: str, version: int) -> bool:
        """Whether the identifier and version name an image folder (as :meth:`path` checks)."""
        return (
            isinstance(public_id, str)
            and _PUBLIC_ID.match(public_id) is not None
            and type(version) is int
            and version >= 1
        )

    def record(self, public_id: str, version: int) -> dict | None:
        """The page's record, or None when there is none or it is not well formed."""
        if not self.enabled or not self._names_folder(public_id, version):
            return None
        path = os.path.join(self.root, f"{public_id}~v{version}", RECORD_FILE)
        try:
            stat = os.stat(path)
        except OSError:
            self._records.pop(path, None)
            return None
        known = self._records.get(path)
        if known is not None and known[:3] == (
            stat.st_ino,
            stat.st_mtime_ns,
            stat.st_size,
        ):
            return known[3]
        try:
            data = json.loads(Path(path).read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or set(data) != set(RECORD_FIELDS):
            return None
        for name, kind in RECORD_FIELDS.items():
            if type(data[name]) is not kind:
                return None
        relpath = data["relpath"]
        if not relpath or relpath.startswith("/") or ".." in relpath.split("/"):
            return None
        if len(self._records) >= _RECORDS_KEPT:
            self._records.clear()
        self._records[path] = (stat.st_ino, stat.st_mtime_ns, stat.st_size, data)
        return data

    def put_record(
        self, public_id: str, version: int, record: dict, *, generation: str | None
    ) -> bool:
        """Store the page's record (see the module docstring), like :meth:`put`."""
        if not self.enabled or generation is None:
            return False
        if self.path(public_id, version, _PROBE) is None:
            return False
        if set(record) != set(RECORD_FIELDS):
            raise ValueError(f"a record has exactly the fields {sorted(RECORD_FIELDS)}")
        path = self.folder(public_id, version) / RECORD_FILE
        data = json.dumps(record, sort_keys=True).encode("utf-8")
        return self._write_unless_purged(path, data, generation)

    def _write_unless_purged(self, path: Path, data: bytes, generation: str) -> bool:
        """Write a file, then remove it again if a purge ran since ``generation``.

        A purge that ran while the response or record was being made may have
        made it wrong (no longer allowed), and may have missed the file.
        Failures only log: a cache is optional.
        """
        try:
            self._write(path, data)
        except OSError as exc:
            logger.info("IIIF cache: could not store %s: %s", path, exc)
            return False
        if self.generation() != generation:
            try:
                os.unlink(path)
            except OSError:
                pass
            return False
        return True

    def generation(self) -> str | None:
        """The purge generation token, to read *before* the access decision.

        Returns "" while no purge has ever run, None when it cannot be read
        (then nothing is written).
        """
        # os.open and os.read: read twice a request, and pathlib's text file
        # costs three more system calls and a decoder each time.
        try:
            fd = os.open(self._generation_path, os.O_RDONLY | _O_CLOEXEC)
        except FileNotFoundError:
            return ""
        except OSError:
            return None
        try:
            chunks = []
            while chunk := os.read(fd, 4096):
                chunks.append(chunk)
            return b"".join(chunks).decode("ascii")
        except (OSError, UnicodeDecodeError):
            return None
        finally:
            os.close(fd)

    def put(
        self,
        public_id: str,
        version: int,
        segments: Sequence[str],
        data: bytes,
        *,
        generation: str | None,
    ) -> Path | None:
        """Store a rendered response atomically; failures only log (a cache is optional).

        Args:
            generation: what :meth:`generation` answered before the access
                decision that allowed this response. When a purge has run
                since, the file is removed again (it may be stale).

        Returns:
            The stored file's path, or None when nothing was stored.
        """
        if not self.enabled or len(data) > self.max_bytes or generation is None:
            return None
        path = self.path(public_id, version, segments)
        if path is None:
            logger.warning(
                "IIIF cache: refused to store %s~v%s/%r", public_id, version, segments
            )
            return None
        if not self._write_unless_purged(path, data, generation):
            return None
        with self._lock:
            self._written += len(data)
            due = self._written >= self.max_bytes * SWEEP_FRACTION
            if due:
                self._written = 0
        if due:
            self.sweep()
        return path

    def _write(self, path: Path, data: bytes) -> None:
        incoming = self.root / INCOMING_DIR
        with self._lock:
            self._sequence += 1
            name = f"put-{os.getpid()}-{threading.get_ident()}-{self._sequence}"
        tmp = os.path.join(incoming, name)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_CLOEXEC
        # Plain descriptors, not file objects: a file object costs three more
        # system calls (fstat, ioctl, lseek) on every tile written.
        try:
            fd = os.open(tmp, flags, 0o644)
        except FileNotFoundError:
            incoming.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, flags, 0o644)
        placed = False
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if _UMASK & 0o044:
                    # Public bytes, read by the front server's user.
                    os.fchmod(fd, 0o644)
            finally:
                os.close(fd)
            for attempt in (1, 2, 3):
                try:
                    os.replace(tmp, path)
                    placed = True
                    break
                except FileNotFoundError:
                    # The folders are made when first needed; a sweep or purge
                    # may also remove one just made: try again.
                    if attempt == 3 or not os.path.exists(tmp):
                        raise
                    os.makedirs(path.parent, exist_ok=True)
        finally:
            if not placed:
                try:
                    os.unlink(tmp)
                except FileNotFoundError:
                    pass

    def purge(self, *public_ids: str) -> int:
        """Remove everything cached for these page images (every ``{id}~v*`` folder).

        The generation token changes first (see the module docstring); then
        each folder is renamed to a ``.trash-`` name, which a front server
        cannot reach, and deleted. Returns the number of folders removed.
        """
        wanted = {p for p in public_ids if isinstance(p, str) and _PUBLIC_ID.match(p)}
        if not wanted:
            return 0
        self._new_generation()
        try:
            names = [entry.name for entry in os.scandir(self.root)]
        except OSError:
            return 0
        removed = 0
        for name in names:
            match = _IMAGE_FOLDER.match(name)
            if not match or match.group("public_id") not in wanted:
                continue
            doomed = self.root / (
                f"{TRASH_PREFIX}{name}-{os.getpid()}-{time.monotonic_ns()}"
            )
            try:
                os.replace(self.root / name, doomed)
            except FileNotFoundError:
                continue  # another process purged it first
            except OSError:
                doomed = self.root / name
            shutil.rmtree(doomed, ignore_errors=True)
            removed += 1
        return removed

    def _new_generation(self) -> None:
        """Replace the generation token atomically (every purge, even of nothing)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".generation-", dir=self.root)
            try:
                with os.fdopen(fd, "w", encoding="ascii") as fh:
                    fh.write(secrets.token_hex(16))
                os.replace(tmp, self.root / GENERATION_FILE)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except OSError as exc:
            logger.warning("IIIF cache: could not renew the generation: %s", exc)

    def size(self) -> int:
        """The bytes the cache holds now (walks the folder)."""
        return sum(size for _, size, _ in self._entries())

    def _entries(self) -> Iterable[tuple[str, int, float]]:
        """Every cached file: path, size and last use (the later of atime and mtime)."""
        for dirpath, dirnames, filenames in os.walk(self.root):
            if dirpath == str(self.root):
                # Only image folders: not the lock, the token, temporary files or trash.
                dirnames[:] = [d for d in dirnames if _IMAGE_FOLDER.match(d)]
                continue
            for name in filenames:
                path = os.path.join(dirpath, name)
                try:
                    stat = os.stat(path)
                except OSError:
                    continue
                yield path, stat.st_size, max(stat.st_atime, stat.st_mtime)

    def _remove_empty_folders(self, path: str) -> None:
        """Remove the folders above an evicted file that it left empty, up to the image folder."""
        root = os.path.normpath(self.root)
        parent = os.path.dirname(path)
        while os.path.dirname(parent) != root and parent.startswith(root + os.sep):
            try:
                os.rmdir(parent)
            except OSError:
                return
            parent = os.path.dirname(parent)
        try:
            os.rmdir(parent)  # the image folder itself, when empty
        except OSError:
            pass

    def _remove_stale(self) -> None:
        """Remove temporary files and purge leftovers of processes that died."""
        cutoff = time.time() - STALE_AFTER
        try:
            entries = list(os.scandir(self.root / INCOMING_DIR))
        except OSError:
            entries = []
        for entry in entries:
            try:
                if entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
            except OSError:
                continue
        try:
            names = [e.name for e in os.scandir(self.root)]
        except OSError:
            return
        for name in names:
            if name.startswith(TRASH_PREFIX):
                shutil.rmtree(self.root / name, ignore_errors=True)

    def sweep(self) -> int:
        """Evict least recently used entries until the cache is under budget.

        Only one process sweeps at a time (a non-blocking lock on a file in
        the cache folder); the others skip. Returns the bytes removed.
        """
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            lock = open(self.root / LOCK_FILE, "w")  # noqa: SIM115 - closed below
        except OSError:
            return 0
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return 0
            self._remove_stale()
            entries = list(self._entries())
            total = sum(size for _, size, _ in entries)
            if total <= self.max_bytes:
                return 0
            target = self.max_bytes * SWEEP_TARGET
            removed = 0
            for path, size, _ in sorted(entries, key=lambda entry: entry[2]):
                if total - removed <= target:
                    break
                try:
                    os.unlink(path)
                except OSError:
                    continue
                removed += size
                self._remove_empty_folders(path)
            logger.info("IIIF cache: evicted %d bytes", removed)
            return removed
        finally:
            lock.close()


_caches: dict[tuple[str, int], ImageCache] = {}
_caches_lock = threading.Lock()


def image_cache(root: Path, max_bytes: int) -> ImageCache:
    """The process's cache object for a folder and budget (one per pair)."""
    key = (str(root), int(max_bytes))
    with _caches_lock:
        cache = _caches.get(key)
        if cache is None:
            cache = _caches[key] = ImageCache(Path(root), int(max_bytes))
        return cache
