"""Ingest benchmark: ``ingest_dadian`` pages per minute against doing it by hand.

Run with ``make bench`` or ``.venv/bin/python bench/ingest.py [--pages N]
[--workers N] [--rounds R] [--memory-pages M] [--format jpeg|tiff]``.

What it does, in one run:

1. Makes N synthetic 6000x9000 RGB page scans once (default 20), into a delivery
   folder in a temporary directory (``institutions.json`` and one volume with
   its ``volume.json``, format ``yuecang-batch/2``): paper-toned grain with
   columns of dark, character-sized strokes, saved as JPEG Q90 (about 22 MiB a
   page, like a real scan) or, with ``--format tiff``, as uncompressed TIFF
   (160 MiB a page). Every page differs.
2. The named baseline, at the same parallelism (``xargs -P WORKERS``): what any
   ingest must at least do by hand to each file: ``sha256sum FILE``, ``cp FILE
   DEST`` and the libvips command line ``vips tiffsave FILE OUT.tif --tile
   --pyramid --compression jpeg --tile-width 256 --tile-height 256 --Q 85`` (the
   project's pyramid recipe), timed wall-clock over the whole batch. Debian's
   command line is libvips 8.14 while the project runs the libvips 8.18 of
   pyvips-binary, so the same pyramid is also timed for one file with each,
   serially, and the whole baseline again with the pyramid made by a pyvips
   one-liner (same library as the ingest): a reader can see how much of any
   difference is the library version.
3. The ingest: a fresh SQLite database and storage in a temporary
   ``YUECANG_VAR_DIR`` (``manage.py migrate`` first, not timed), then
   ``manage.py ingest_dadian DELIVERY --workers WORKERS`` timed wall-clock as a
   subprocess, in the documented production settings, and split into start-up,
   planning, pages and finishing by the job's and files' timestamps. Its
   memory: the peak RSS of its largest process, ``getrusage(RUSAGE_CHILDREN)
   .ru_maxrss`` taken in a small launcher process whose only child is the
   command (Linux carries a parent's peak RSS over fork and exec into the
   child's ``ru_maxrss``: measured from this script, it would be this script's
   own peak), checked against the processes' ``VmHWM``; and the summed RSS and
   PSS of the whole process tree sampled from /proc every 50 ms (RSS counts the
   pages forked workers share with the command once in each; PSS shares them
   out). The run must have made N pages, or the script fails (exit status 1).
4. Baseline and ingest are measured ``--rounds`` times (default 3), alternating,
   with medians. Each also reports its CPU seconds (user + sys of all its
   processes) and how much of the machine other processes took meanwhile: on a
   shared machine wall-clock figures swing by 2x, CPU seconds hardly move.
5. Where an ingest's time goes: two more pages ingested in this process, one at
   a time, each ``page_file_process`` under cProfile, split into phases.
6. With ``--memory-pages M`` (100 for the target), a separate M-page volume of
   the same 6000x9000 pages, baseline and ingest once, in its own fresh archive,
   for the ingest's peak memory (and its rate). It takes a few minutes on an
   idle 2-core machine: about 0.7 s a page to make the scans, 0.4 s a page for
   the baseline and 0.5 s a page for the ingest.

Targets (the issue's): the ingest within 1.3x of the baseline's time; peak
memory under 1 GiB for a 100-page volume. Nothing is asserted: the script exits
0 whether they are met or not, 1 when the ingest itself failed. It needs about
2 GiB of temporary disk a round (JPEG) and cleans up after itself.
docs/performance.md records the figures.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import math
import os
import pstats
import random
import re
import resource
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MANAGE = ROOT / "manage.py"
VIPS = "/usr/bin/vips"
RATIO_TARGET = 1.3
MEMORY_TARGET = 2**30  # bytes
PAPER = (222, 208, 178)  # sRGB of the paper
INK = 40
GRAIN = 7  # sigma of the grain; 7 gives JPEG Q90 pages of about 22 MiB
CELL = 100  # px, one character
PYRAMID_ARGS = [
    "--tile",
    "--pyramid",
    "--compression",
    "jpeg",
    "--tile-width",
    "256",
    "--tile-height",
    "256",
    "--Q",
    "85",
]
# One file by hand, as xargs runs it: $1 the page, $OUT the baseline's folder.
BY_HAND = (
    'name=$(basename "$1") && sha256sum "$1" >/dev/null && cp "$1" "$OUT/copies/$name"'
)
BASELINE_SH = (
    f'{BY_HAND} && {VIPS} tiffsave "$1" "$OUT/pyramids/$name.tif" '
    + " ".join(PYRAMID_ARGS)
)
# The same with the project's libvips: the pyramid from a pyvips one-liner.
PYRAMID_PY = (
    "import sys, pyvips; pyvips.Image.new_from_file(sys.argv[1], access='sequential')"
    ".tiffsave(sys.argv[2], tile=True, pyramid=True, compression='jpeg', Q=85,"
    " tile_width=256, tile_height=256)"
)
BASELINE_PYVIPS_SH = (
    f'{BY_HAND} && "$PYTHON" -c "$PYRAMID_PY" "$1" "$OUT/pyramids/$name.tif"'
)
INSTITUTIONS = {
    "format": "yuecang-batch/1",
    "institutions": [
        {
            "code": "gzlib",
            "kind": "central",
            "name": {
                "zh-Hant": "廣州圖書館",
                "zh-Hans": "广州图书馆",
                "en": "Guangzhou Library",
            },
        }
    ],
}


class Scans:
    """Synthetic page scans: one grain rendered once, cropped differently per page."""

    def __init__(self, width: int, height: int, fmt: str) -> None:
        import pyvips

        self.width, self.height, self.fmt = width, height, fmt
        self.slack = 509
        # Paper grain as a scanner makes it: independent in each band, rendered
        # once (about 60 MB) so each page costs little more than its encode.
        self.grain = (
            pyvips.Image.gaussnoise(
                width + self.slack, height + self.slack, mean=128, sigma=GRAIN, seed=1
            )
            .cast("uchar")
            .copy_memory()
        )

    def page(self, seed: int):
        """One page: toned grain, and columns of character cells made of strokes."""
        import pyvips

        rng = random.Random(seed)
        w, h = self.width, self.height

        def grain(offset: int):
            return self.grain.crop(
                rng.randrange(self.slack), rng.randrange(self.slack), w, h
            ) + (offset - 128)

        paper = grain(PAPER[0]).bandjoin([grain(PAPER[1]), grain(PAPER[2])])
        ink = grain(INK)
        cw, ch = math.ceil(w / CELL), math.ceil(h / CELL)
        xyz = pyvips.Image.xyz(cw, ch)
        x, y = xyz[0], xyz[1]
        cells = (
            (pyvips.Image.gaussnoise(cw, ch, sigma=1, mean=0, seed=seed) > 0.3)
            & (x % 3 < 2)  # two columns of text, a gap
            & (x > 4)
            & (x < cw - 5)
            & (y > 6)
            & (y < ch - 6)
        )
        strokes = (
            pyvips.Image.gaussnoise(
                math.ceil(w / 8), math.ceil(h / 8), sigma=1, mean=0, seed=seed + 7919
            )
            > 0.2
        )
        mask = cells.zoom(CELL, CELL).crop(0, 0, w, h) & strokes.zoom(8, 8).crop(
            0, 0, w, h
        )
        page = mask.ifthenelse(ink.bandjoin([ink, ink]), paper)
        return page.cast("uchar").copy(interpretation="srgb")

    def write(self, path: Path, seed: int) -> Path:
        page = self.page(seed)
        if self.fmt == "tiff":
            page.tiffsave(str(path))  # uncompressed strips
        else:
            page.jpegsave(str(path), Q=90)
        return path


def delivery_make(
    folder: Path,
    scans: Scans,
    pages: int,
    volume_id: str,
    first_seed: int,
    workers: int,
) -> list[Path]:
    """A delivery of one volume of ``pages`` new scans; returns the page files."""
    volume = folder / volume_id
    (volume / "pages").mkdir(parents=True)
    (folder / "institutions.json").write_text(
        json.dumps(INSTITUTIONS, ensure_ascii=False), "utf-8"
    )
    ext = "tif" if scans.fmt == "tiff" else "jpg"
    files = [volume / "pages" / f"{n:04d}.{ext}" for n in range(1, pages + 1)]
    with ThreadPoolExecutor(max(2, workers)) as pool:
        list(
            pool.map(lambda n: scans.write(files[n], first_seed + n), range(len(files)))
        )
    data = {
        "format": "yuecang-batch/2",
        "id": volume_id,
        "kind": "book_volume",
        "institution": "gzlib",
        "title": {"original": "廣州大典 基準冊"},
        "language": ["lzh"],
        "rights": {
            "uri": "http://creativecommons.org/publicdomain/mark/1.0/",
            "statement": {"zh-Hant": "廣州圖書館藏", "en": "Guangzhou Library"},
        },
        "access": "public",
        "pages": [
            {"file": f"pages/{f.name}", "label": f"葉{n}"}
            for n, f in enumerate(files, start=1)
        ],
    }
    (volume / "volume.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return files


def sync() -> None:
    """Write back dirty pages (the scans just made), so no timed phase pays for them."""
    subprocess.run(["sync"], check=True)


def baseline_run(
    files: list[Path], out: Path, workers: int, script: str = BASELINE_SH
) -> tuple[float, float]:
    """sha256sum, cp and a pyramid of every file, ``workers`` at a time.

    Returns (wall seconds, CPU seconds of all the processes it ran).
    """
    (out / "copies").mkdir(parents=True)
    (out / "pyramids").mkdir()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        ["xargs", "-0", "-n", "1", "-P", str(workers), "sh", "-c", script, "sh"],
        input=b"\0".join(str(f).encode() for f in files),
        env={
            **os.environ,
            "OUT": str(out),
            "PYTHON": sys.executable,
            "PYRAMID_PY": PYRAMID_PY,
        },
        check=True,
    )
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    made = len(list((out / "pyramids").glob("*.tif")))
    if made != len(files):
        sys.exit(f"ingest bench: the baseline made {made} pyramids of {len(files)}")
    return seconds, cpu


def pyramid_versions(page: Path, out: Path, runs: int = 5) -> tuple[float, float]:
    """Median seconds for one file's pyramid: Debian vips CLI, then pyvips; serial."""
    import pyvips

    cli, ours = [], []
    for n in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [VIPS, "tiffsave", str(page), str(out / f"cli-{n}.tif"), *PYRAMID_ARGS],
            check=True,
        )
        cli.append(time.perf_counter() - start)
        start = time.perf_counter()
        pyvips.Image.new_from_file(str(page), access="sequential").tiffsave(
            str(out / f"pyvips-{n}.tif"),
            tile=True,
            pyramid=True,
            compression="jpeg",
            Q=85,
            tile_width=256,
            tile_height=256,
        )
        ours.append(time.perf_counter() - start)
    return statistics.median(cli), statistics.median(ours)


class TreeSampler(threading.Thread):
    """Samples the summed RSS and PSS of a process and all its descendants every 50 ms."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.root, self.interval = pid, interval
        self.peak_rss = self.peak_pss = self.peak_one = 0  # KiB
        self.most_processes = 0
        self.running = True

    def tree(self) -> list[int]:
        pids, todo = [], [self.root]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            try:
                for task in os.listdir(f"/proc/{pid}/task"):
                    children = Path(f"/proc/{pid}/task/{task}/children").read_text()
                    todo += [int(c) for c in children.split()]
            except OSError:
                continue
        return pids

    @staticmethod
    def field(path: str, name: str) -> int:
        try:
            text = Path(path).read_text()
        except OSError:
            return 0
        match = re.search(rf"^{name}:\s+(\d+) kB", text, re.M)
        return int(match.group(1)) if match else 0  # none for a zombie

    def run(self) -> None:
        while self.running:
            rss = pss = 0
            pids = self.tree()
            for pid in pids:
                status = f"/proc/{pid}/status"
                rss += self.field(status, "VmRSS")
                pss += self.field(f"/proc/{pid}/smaps_rollup", "Pss")
                # The process's own high-water mark: no peak between samples lost.
                self.peak_one = max(self.peak_one, self.field(status, "VmHWM"))
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self.most_processes = max(self.most_processes, len(pids))
            time.sleep(self.interval)


#: Starts the ingest and reports on it, from a process of its own: Linux carries
#: a parent's peak RSS over fork and exec into the child's ``ru_maxrss``, so a
#: child of this script (which holds scans and Django by then) would report this
#: script's peak. The launcher is small; its children's ``ru_maxrss`` is theirs.
LAUNCHER = """
import json, resource, subprocess, sys, time
with open(sys.argv[1], "wb") as log:
    started_at, start = time.time(), time.perf_counter()
    child = subprocess.Popen(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT)
    print(child.pid, flush=True)
    code = child.wait()
    seconds, ended_at = time.perf_counter() - start, time.time()
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({
    "returncode": code, "seconds": seconds, "started_at": started_at,
    "ended_at": ended_at, "maxrss": usage.ru_maxrss,
    "cpu": usage.ru_utime + usage.ru_stime,
}), flush=True)
"""


class OtherLoad(threading.Thread):
    """CPU used by processes that are not this script's, sampled every 0.5 s.

    The machine may be shared: the table says how much of it others took while
    each figure was measured, so a reader can tell a clean figure from a noisy one.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.ticks = 0.0  # CPU ticks of other processes since the start
        self.seen: dict[int, int] = {}
        self.running = True
        self.lock = threading.Lock()

    @staticmethod
    def processes() -> dict[int, tuple[int, int]]:
        """pid -> (parent pid, CPU ticks) of every process."""
        table = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                stat = Path(f"/proc/{name}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            table[int(name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
        return table

    def sample(self) -> None:
        table = self.processes()
        ours, todo = set(), [os.getpid()]
        children: dict[int, list[int]] = {}
        for pid, (ppid, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        while todo:
            pid = todo.pop()
            ours.add(pid)
            todo += children.get(pid, [])
        with self.lock:
            for pid, (_, ticks) in table.items():
                if pid not in ours and pid in self.seen:
                    self.ticks += max(0, ticks - self.seen[pid])
            self.seen = {pid: ticks for pid, (_, ticks) in table.items()}

    def run(self) -> None:
        while self.running:
            self.sample()
            time.sleep(0.5)

    def share(self, start: tuple[float, float]) -> float:
        """Share of the machine's CPU others used since ``start`` (from ``mark``)."""
        self.sample()
        ticks, when = self.mark()
        seconds = when - start[1]
        hz = os.sysconf("SC_CLK_TCK")
        return (ticks - start[0]) / hz / (seconds * os.cpu_count()) if seconds else 0

    def mark(self) -> tuple[float, float]:
        with self.lock:
            return self.ticks, time.monotonic()


OTHERS = OtherLoad()


def measured(function, *args, **kwargs):
    """Call ``function``; return its result and the share of CPU others used meanwhile."""
    OTHERS.sample()
    start = OTHERS.mark()
    result = function(*args, **kwargs)
    return result, OTHERS.share(start)


class Archive:
    """A throw-away archive: settings, SQLite database and storage in one folder."""

    def __init__(self, parent: Path, name: str) -> None:
        self.dir = parent / name
        self.dir.mkdir()
        self.db = self.dir / "bench.sqlite3"
        self.env = {
            **os.environ,
            "DJANGO_ENV": "production",
            "DJANGO_SETTINGS_MODULE": "archive.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_LOG_LEVEL": "WARNING",
            "DATABASE_URL": f"sqlite:///{self.db}",
            "ARCHIVE_STORAGE_ROOT": str(self.dir / "storage"),
            "YUECANG_VAR_DIR": str(self.dir / "var"),
        }
        self.env.pop("CELERY_BROKER_URL", None)
        self.env.pop("INGEST_WORKERS", None)

    def migrate(self) -> None:
        subprocess.run(
            [sys.executable, str(MANAGE), "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=self.env,
            check=True,
        )

    def ingest(self, delivery: Path, workers: int) -> dict:
        """Run ingest_dadian as a subprocess; wall seconds, memory, exit status, output."""
        log = self.dir / "ingest.log"
        launcher = subprocess.Popen(
            [
                sys.executable,
                "-c",
                LAUNCHER,
                str(log),
                sys.executable,
                str(MANAGE),
                "ingest_dadian",
                str(delivery),
                "--workers",
                str(workers),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            text=True,
        )
        sampler = TreeSampler(int(launcher.stdout.readline()))
        sampler.start()
        OTHERS.sample()
        others_from = OTHERS.mark()
        result = json.loads(launcher.stdout.readline())
        others = OTHERS.share(others_from)
        launcher.wait()
        sampler.running = False
        sampler.join()
        return {
            **result,
            "others": others,
            "sampler": sampler,
            "output": log.read_text(errors="replace"),
        }

    def pages_made(self, volume_id: str) -> tuple[int, int]:
        """(pages of the volume, files the job marked done) in the archive's database."""
        with sqlite3.connect(self.db) as db:
            pages = db.execute(
                "SELECT count(*) FROM archive_pageimage p JOIN archive_item i "
                "ON p.item_id = i.id WHERE i.public_id = ?",
                (volume_id,),
            ).fetchone()[0]
            done = db.execute(
                "SELECT count(*) FROM ingest_ingestfile WHERE status = 'done'"
            ).fetchone()[0]
        return pages, done


def timeline(archive: Archive, run: dict) -> list[tuple[str, float]]:
    """The ingest's wall time in phases, from the job's and the files' timestamps."""

    def epoch(value: str) -> float:  # Django stores UTC in SQLite
        return datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp()

    with sqlite3.connect(archive.db) as db:
        created, finished = db.execute(
            "SELECT created_at, finished_at FROM ingest_ingestjob"
        ).fetchone()
        first, last = db.execute(
            "SELECT min(claimed_at), max(finished_at) FROM ingest_ingestfile"
        ).fetchone()
    created, finished, first, last = map(epoch, (created, finished, first, last))
    return [
        ("start-up: Python, Django, system checks", created - run["started_at"]),
        ("planning: SHA-256 of each page, fork", first - created),
        ("pages, in the workers", last - first),
        ("finishing, report, exit", run["ended_at"] - last),
    ]


def ingest_checked(
    archive: Archive, delivery: Path, volume_id: str, pages: int, workers: int
):
    """Migrate, ingest, and fail loudly unless the volume got all its pages."""
    archive.migrate()
    sync()
    run = archive.ingest(delivery, workers)
    made, done = archive.pages_made(volume_id)
    if run["returncode"] != 0 or made != pages or done != pages:
        print(run["output"][-3000:], file=sys.stderr)
        print(
            f"ingest bench: the ingest FAILED: exit status {run['returncode']}, "
            f"{made} pages of {pages} in the archive, {done} files done",
            file=sys.stderr,
        )
        sys.exit(1)
    return run


#: Phases of one page: (label, module, function[, calling module, calling function]);
#: a phase's time is the function's cumulative time (from that caller only when named).
PHASES = [
    ("copy + SHA-256 + fsync of the original", "archive/files.py", "incoming_copy"),
    ("header check (type, size, pages)", "ingest/images.py", "page_image_open"),
    ("decode + pyramid + fsync", "iiif/services.py", "page_pyramid_write"),
    (
        "  of which libvips tiffsave",
        "pyvips/vimage.py",
        "call_function",
        "iiif/services.py",
        "page_pyramid_write",
    ),
    (
        "thumbnail + preview from the pyramid",
        "ingest/derivatives.py",
        "image_derivatives_make",
    ),
    ("type sniffing of the stored original", "archive/files.py", "detect_media_type"),
]


def phase_seconds(stats: dict, phase: tuple) -> float:
    """Cumulative seconds of a phase's function in one profile (pstats' raw table)."""
    _, module, name, *caller = phase
    total = 0.0
    for (path, _, func), (_, _, _, cumulative, callers) in stats.items():
        if func != name or not path.endswith(module):
            continue
        if not caller:
            total += cumulative
            continue
        for (c_path, _, c_func), row in callers.items():
            if c_func == caller[1] and c_path.endswith(caller[0]):
                total += row[3]
    return total


def phases(delivery: Path, parent: Path) -> list[str]:
    """Ingest a delivery's pages in this process, one at a time, each under cProfile."""
    archive = Archive(parent, "phases")
    archive.migrate()
    os.environ.update(archive.env)
    import django

    django.setup()
    from ingest.models import IngestFile
    from ingest.services import jobs, pages

    start = time.perf_counter()
    job = jobs.job_plan(job=jobs.job_create(path=delivery))
    planning = time.perf_counter() - start
    files = list(
        job.files.filter(status=IngestFile.Status.PENDING).order_by("sequence")
    )
    sync()
    per_page: dict[str, list[float]] = {phase[0]: [] for phase in PHASES}
    totals, fsyncs = [], []
    for file in files:
        profile = cProfile.Profile()
        start = time.perf_counter()
        profile.enable()
        pages.page_file_process(file=file)
        profile.disable()
        totals.append(time.perf_counter() - start)
        stats = pstats.Stats(profile).stats
        for phase in PHASES:
            per_page[phase[0]].append(phase_seconds(stats, phase))
        fsyncs.append(
            sum(row[3] for (_, _, func), row in stats.items() if "fsync" in func)
        )
    if job.files.filter(status=IngestFile.Status.DONE).count() != len(files):
        return ["the profiled pages were not all ingested"]
    mean_total = statistics.mean(totals)
    lines = [
        f"{'planning (volume.json, SHA-256, rows)':42} "
        f"{planning * 1000 / len(files):7.0f} ms  (in the command, before the workers)"
    ]
    accounted = 0.0
    for label, *_ in PHASES:
        value = statistics.mean(per_page[label])
        if not label.startswith(" "):
            accounted += value
        lines.append(f"{label:42} {value * 1000:7.0f} ms")
    lines.append(
        f"{'database, claims, the rest':42} {(mean_total - accounted) * 1000:7.0f} ms"
    )
    lines.append(f"{'page_file_process in all':42} {mean_total * 1000:7.0f} ms")
    lines.append(
        f"{'  fsync, in all (within the rows above)':42} "
        f"{statistics.mean(fsyncs) * 1000:7.0f} ms"
    )
    return lines


def mib(kib: float) -> str:
    return f"{kib / 1024:,.0f} MiB"


def memory_lines(run: dict) -> list[str]:
    sampler = run["sampler"]
    limit = MEMORY_TARGET // 1024

    def verdict(kib: float) -> str:
        return "MET" if kib < limit else "MISSED"

    return [
        f"  largest process (ru_maxrss)       {mib(run['maxrss']):>10}   "
        f"< 1 GiB: {verdict(run['maxrss'])}  (VmHWM sampled: {mib(sampler.peak_one)})",
        f"  process tree, summed RSS (peak)   {mib(sampler.peak_rss):>10}   "
        f"< 1 GiB: {verdict(sampler.peak_rss)}  ({sampler.most_processes} processes)",
        f"  process tree, summed PSS (peak)   {mib(sampler.peak_pss):>10}   "
        f"< 1 GiB: {verdict(sampler.peak_pss)}",
    ]


def row(label: str, values: list[float], fmt: str, extra: str = "") -> str:
    """One line of the rounds table: each round, then the median."""
    cells = "".join(format(v, fmt) for v in values)
    return f"{label:46}{cells}{format(statistics.median(values), fmt)}{extra}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20, help="pages (default 20)")
    parser.add_argument("--width", type=int, default=6000)
    parser.add_argument("--height", type=int, default=9000)
    parser.add_argument(
        "--workers", type=int, default=2, help="parallelism of both (default 2)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="baseline and ingest measured this many times, alternating (default 3)",
    )
    parser.add_argument(
        "--memory-pages",
        type=int,
        default=0,
        metavar="M",
        help="also ingest an M-page volume for its peak memory (100 for the target; "
        "a few minutes); default 0, skipped",
    )
    parser.add_argument("--format", choices=("jpeg", "tiff"), default="jpeg")
    args = parser.parse_args()
    for tool in (VIPS, "sha256sum", "xargs", "sync"):
        if not shutil.which(tool):
            sys.exit(f"ingest bench: {tool} is missing (apt-get install libvips-tools)")
    import pyvips

    OTHERS.start()
    work = Path(tempfile.mkdtemp(prefix="yuecang-bench-ingest-"))
    try:
        cli_version = subprocess.run(
            [VIPS, "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
        ours_version = "libvips-{}.{}.{}".format(*(pyvips.version(n) for n in range(3)))
        start = time.perf_counter()
        scans = Scans(args.width, args.height, args.format)
        volume_id = "bench-ingest-v1"
        files = delivery_make(
            work / "delivery", scans, args.pages, volume_id, 1, args.workers
        )
        made_s = time.perf_counter() - start
        sizes = [f.stat().st_size for f in files]
        print(
            f"ingest: {args.pages} pages {args.width}x{args.height} RGB "
            f"{args.format.upper()}, {statistics.mean(sizes) / 2**20:.1f} MiB a page "
            f"({sum(sizes) / 2**20:,.0f} MiB), made in {made_s:.0f} s; "
            f"{args.workers} workers, {os.cpu_count()} cores, {args.rounds} rounds"
        )
        sync()
        cli_one, ours_one = pyramid_versions(files[0], work)
        print(
            f"one pyramid, serial (median of 5): vips CLI ({cli_version}) "
            f"{cli_one:.2f} s; pyvips ({ours_version}) {ours_one:.2f} s"
        )
        # The machine's speed drifts (a shared VM): baseline and ingest alternate,
        # and each round's ratio compares runs made next to each other. Nothing is
        # deleted until the end, so no file system clean-up (the disk is mounted
        # with discard) competes with the fsyncs of whatever is measured next.
        base, same, runs, lines = [], [], [], []
        base_cpu, same_cpu = [], []
        others: dict[str, list[float]] = {"base": [], "same": [], "ingest": []}
        for r in range(args.rounds):

            def baselines(r: int = r) -> None:
                sync()
                (seconds, cpu), other = measured(
                    baseline_run, files, work / f"base-{r}", args.workers
                )
                base.append(seconds)
                base_cpu.append(cpu)
                others["base"].append(other)
                sync()
                (seconds, cpu), other = measured(
                    baseline_run,
                    files,
                    work / f"base-py-{r}",
                    args.workers,
                    BASELINE_PYVIPS_SH,
                )
                same.append(seconds)
                same_cpu.append(cpu)
                others["same"].append(other)

            def ingest(r: int = r) -> None:
                archive = Archive(work, f"archive-{r}")
                run = ingest_checked(
                    archive, work / "delivery", volume_id, args.pages, args.workers
                )
                runs.append(run)
                others["ingest"].append(run["others"])
                lines.append(timeline(archive, run))

            for step in (baselines, ingest) if r % 2 == 0 else (ingest, baselines):
                step()
        ingest_s = [run["seconds"] for run in runs]
        ratios = [i / b for i, b in zip(ingest_s, base, strict=True)]
        ratio = statistics.median(ratios)
        heads = "".join(f"{'round ' + str(r + 1):>8}" for r in range(args.rounds))
        print(f"\n{'seconds':46}{heads}{'median':>8}{'pages/min':>11}")

        def rate(values: list[float]) -> str:
            return f"{60 * args.pages / statistics.median(values):11.1f}"

        print(row("baseline: sha256sum + cp + vips tiffsave", base, "8.1f", rate(base)))
        print(
            row(
                f"  the same, pyramid by pyvips {ours_version}",
                same,
                "8.1f",
                rate(same),
            )
        )
        print(
            row(
                f"ingest_dadian --workers {args.workers}",
                ingest_s,
                "8.1f",
                rate(ingest_s),
            )
        )
        print(
            row(
                "ratio ingest / baseline",
                ratios,
                "8.2f",
                f"   target <= {RATIO_TARGET}x: "
                + ("MET" if ratio <= RATIO_TARGET else "MISSED"),
            )
        )
        print(
            row(
                "ratio ingest / same-libvips baseline",
                [i / b for i, b in zip(ingest_s, same, strict=True)],
                "8.2f",
            )
        )
        ingest_cpu = [run["cpu"] for run in runs]
        print(
            "CPU seconds (user + sys of every process; they hardly change when "
            "the machine is shared):"
        )
        print(row("  baseline (vips CLI)", base_cpu, "8.1f"))
        print(row("  baseline (pyvips)", same_cpu, "8.1f"))
        print(row("  ingest", ingest_cpu, "8.1f"))
        print(
            row(
                "  ratio ingest / baseline",
                [i / b for i, b in zip(ingest_cpu, base_cpu, strict=True)],
                "8.2f",
            )
        )
        print(
            row(
                "  ratio ingest / pyvips baseline",
                [i / b for i, b in zip(ingest_cpu, same_cpu, strict=True)],
                "8.2f",
            )
        )
        print("other processes' CPU meanwhile, % of the machine (0 when it is idle):")
        for label, key in (
            ("  during the baseline", "base"),
            ("  during the pyvips baseline", "same"),
            ("  during the ingest", "ingest"),
        ):
            print(row(label, [100 * v for v in others[key]], "8.0f"))
        if max(max(v) for v in others.values()) > 0.05:
            print(
                "  WARNING: the machine was not idle; the figures above are noisy "
                "(rerun on an idle machine)"
            )
        print("\nthe ingest's time, from the job's and the files' timestamps:")
        for n, (label, _) in enumerate(lines[0]):
            print(row(f"  {label}", [line[n][1] for line in lines], "8.1f"))
        pages_s = [dict(line)["pages, in the workers"] for line in lines]
        print(
            row(
                "  pages alone / baseline",
                [p / b for p, b in zip(pages_s, base, strict=True)],
                "8.2f",
            )
        )
        peak = max(runs, key=lambda run: run["sampler"].peak_rss)
        print(f"\npeak memory of the ingest, {args.pages} pages (the largest round):")
        print("\n".join(memory_lines(peak)))
        # Two new pages (not in the archives above), for where the time goes.
        delivery_make(work / "delivery-phases", scans, 2, "bench-phases-v1", 50_000, 2)
        print("\none page, in this process, one at a time (mean of 2, cProfile on):")
        for line in phases(work / "delivery-phases", work):
            print(f"  {line}")
        if args.memory_pages:
            memory_id = "bench-memory-v1"
            start = time.perf_counter()
            files = delivery_make(
                work / "delivery-memory",
                scans,
                args.memory_pages,
                memory_id,
                100_000,
                args.workers,
            )
            made_s = time.perf_counter() - start
            sync()
            (base_s, base_cpu_s), base_other = measured(
                baseline_run, files, work / "base-memory", args.workers
            )
            sync()
            archive = Archive(work, "archive-memory")
            run = ingest_checked(
                archive,
                work / "delivery-memory",
                memory_id,
                args.memory_pages,
                args.workers,
            )
            pages_s = dict(timeline(archive, run))["pages, in the workers"]
            print(
                f"\n{args.memory_pages} pages (made in {made_s:.0f} s), one round: "
                f"baseline {base_s:.1f} s, {60 * args.memory_pages / base_s:.1f} "
                f"pages/min; ingest {run['seconds']:.1f} s, "
                f"{60 * args.memory_pages / run['seconds']:.1f} pages/min; "
                f"{run['seconds'] / base_s:.2f}x (pages alone {pages_s / base_s:.2f}x); "
                f"CPU seconds {base_cpu_s:.0f} and {run['cpu']:.0f} "
                f"({run['cpu'] / base_cpu_s:.2f}x); others took "
                f"{100 * base_other:.0f}% and {100 * run['others']:.0f}% of the machine"
            )
            print(f"peak memory of the ingest, {args.memory_pages} pages:")
            print("\n".join(memory_lines(run)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
