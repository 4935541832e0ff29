"""A bounded on-disk cache of rendered public images (DESIGN.md, IIIF).

Only responses every visitor may see are stored; anything else is rendered
for each request and never written. Entries live at
``IIIF_CACHE_DIR/{public_id}/v{version}/{sha256 of the canonical request}.{format}``,
so everything cached for one page image sits in one folder that
:meth:`ImageCache.purge` removes when the item is withdrawn, stops being
public, or its pyramid is re-derived (``iiif.signals``). A purge cannot make a
refused image visible: the view asks the access decision before it reads the
cache.

Writes are atomic (a temporary file in the same folder, then a rename). The
size stays under ``IIIF_CACHE_MAX_BYTES`` cheaply: a reader refreshes an
entry's modification time at most once an hour, and after every tenth of the
budget written one process (holding a lock file) sums the folder and removes
the least recently used entries down to 90 % of the budget.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

logger = logging.getLogger(__name__)

#: A hit refreshes an entry's mtime (its LRU age) when older than this.
TOUCH_INTERVAL = 3600
#: An eviction sweep runs after this fraction of the budget has been written.
SWEEP_FRACTION = 0.1
#: A sweep trims the cache to this fraction of the budget.
SWEEP_TARGET = 0.9
_TEMP_PREFIX = ".incoming-"


class ImageCache:
    """The on-disk cache of rendered public images.

    Args:
        root: the cache folder (``IIIF_CACHE_DIR``).
        max_bytes: the budget (``IIIF_CACHE_MAX_BYTES``); 0 turns caching off.
    """

    def __init__(self, root: Path, max_bytes: int):
        self.root = Path(root)
        self.max_bytes = max_bytes
        self._written = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """Whether anything is stored at all."""
        return self.max_bytes > 0

    def folder(self, public_id: str) -> Path:
        """The folder holding every cached response of one page image."""
        return self.root / public_id

    def path(self, public_id: str, version: int, canonical: str) -> Path:
        """Where one canonical request of one image version is stored."""
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        fmt = canonical.rsplit(".", 1)[-1]
        return self.folder(public_id) / f"v{version}" / f"{digest}.{fmt}"

    def get(self, public_id: str, version: int, canonical: str) -> bytes | None:
        """The cached bytes of a request, or None."""
        if not self.enabled:
            return None
        path = self.path(public_id, version, canonical)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        try:
            if time.time() - path.stat().st_mtime > TOUCH_INTERVAL:
                os.utime(path)
        except OSError:
            pass
        return data

    def put(self, public_id: str, version: int, canonical: str, data: bytes) -> None:
        """Store a rendered response atomically; failures only log (a cache is optional)."""
        if not self.enabled or len(data) > self.max_bytes:
            return
        path = self.path(public_id, version, canonical)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except OSError as exc:
            # A purge may remove the folder under a concurrent writer.
            logger.info("IIIF cache: could not store %s: %s", path.name, exc)
            return
        with self._lock:
            self._written += len(data)
            due = self._written >= self.max_bytes * SWEEP_FRACTION
            if due:
                self._written = 0
        if due:
            self.sweep()

    def purge(self, public_id: str) -> None:
        """Remove everything cached for one page image (all versions)."""
        folder = self.folder(public_id)
        if not folder.exists():
            return
        # Rename first, so the folder disappears at once even while a large
        # tree is being deleted and a concurrent writer cannot refill it.
        doomed = self.root / f".purge-{public_id}-{os.getpid()}-{time.monotonic_ns()}"
        try:
            os.replace(folder, doomed)
        except OSError:
            doomed = folder
        shutil.rmtree(doomed, ignore_errors=True)

    def size(self) -> int:
        """The bytes the cache holds now (walks the folder)."""
        return sum(size for _, size, _ in self._entries())

    def _entries(self):
        for dirpath, _, filenames in os.walk(self.root):
            for name in filenames:
                if name.startswith(".") and dirpath == str(self.root):
                    continue  # the lock file
                path = os.path.join(dirpath, name)
                try:
                    stat = os.stat(path)
                except OSError:
                    continue
                yield path, stat.st_size, stat.st_mtime

    def sweep(self) -> int:
        """Evict least recently used entries until the cache is under budget.

        Only one process sweeps at a time (a non-blocking lock on a file in
        the cache folder); the others skip. Returns the bytes removed.
        """
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            lock = open(self.root / ".sweep.lock", "w")  # noqa: SIM115 - closed below
        except OSError:
            return 0
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return 0
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
