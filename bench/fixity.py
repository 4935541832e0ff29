"""Fixity benchmark: SHA-256 throughput of the archive's hashing against ``sha256sum``.

Run with ``make bench`` (or ``python bench/fixity.py``). It writes 8 files of
64 MiB to a temporary folder, hashes them with ``archive.files.sha256_of`` and
with coreutils' ``sha256sum`` (the named baseline) in the same run, and prints
MiB/s for both and their ratio. Nothing is asserted: figures go to docs/performance.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archive.files import sha256_of  # noqa: E402

FILES = 8
SIZE = 64 * 1024 * 1024


def main() -> None:
    """Print hashing throughput of the archive and of sha256sum."""
    folder = Path(tempfile.mkdtemp(prefix="yuecang-bench-"))
    try:
        paths = []
        for n in range(FILES):
            path = folder / f"f{n}.bin"
            path.write_bytes(os.urandom(SIZE))
            paths.append(path)
        total_mib = FILES * SIZE / 2**20
        start = time.perf_counter()
        ours = [sha256_of(p) for p in paths]
        ours_s = time.perf_counter() - start
        start = time.perf_counter()
        out = subprocess.run(
            ["sha256sum", *map(str, paths)], capture_output=True, text=True, check=True
        )
        base_s = time.perf_counter() - start
        theirs = [line.split()[0] for line in out.stdout.splitlines()]
        assert ours == theirs, "checksums differ from sha256sum"
        print(f"fixity: {FILES} files x {SIZE // 2**20} MiB (page cache warm)")
        print(f"  archive.files.sha256_of  {total_mib / ours_s:8.0f} MiB/s")
        print(f"  sha256sum (baseline)     {total_mib / base_s:8.0f} MiB/s")
        print(f"  ratio                    {base_s / ours_s:8.2f}x of baseline")
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
