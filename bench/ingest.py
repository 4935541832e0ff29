"""Ingest benchmark: ``ingest_dadian`` pages per minute against doing it by hand.

Run with ``make bench`` or ``.venv/bin/python bench/ingest.py [--pages N]
[--workers N] [--memory-pages M] [--format jpeg|tiff]``.

What it does, in one run:

1. Makes N synthetic 6000x9000 RGB page scans once, into a delivery folder in a
   temporary directory (``institutions.json`` and one ``volume.json`` volume,
   format ``yuecang-batch/2``): paper-toned grain with columns of dark,
   character-sized strokes, saved as JPEG Q90 (about 20 MiB a page, like a real
   scan) or, with ``--format tiff``, as uncompressed TIFF. Every page differs.
2. The named baseline, at the same parallelism (``xargs -P WORKERS``): what any
   ingest must at least do by hand to each file: ``sha256sum FILE``, ``cp FILE
   DEST`` and the libvips command line ``vips tiffsave FILE OUT.tif --tile
   --pyramid --compression jpeg --tile-width 256 --tile-height 256 --Q 85`` (the
   project's pyramid recipe). Timed wall-clock over the whole batch. The Debian
   command line is libvips 8.14 while the project runs the libvips 8.18 of
   pyvips-binary, so the same pyramid is also timed for one file with each, one
   after the other, to show how much of a difference is the library version.
3. The ingest: a fresh SQLite database and storage in a temporary
   ``YUECANG_VAR_DIR`` (``manage.py migrate`` first, not timed), then
   ``manage.py ingest_dadian DELIVERY --workers WORKERS`` timed wall-clock as a
   subprocess, in the documented production settings. Its memory: the peak RSS
   of its largest process (``ru_maxrss`` of the command and the workers it
   reaped, from ``os.wait4``: ``getrusage(RUSAGE_CHILDREN)`` would also count
   this script's other children, the baseline's vips and migrate), and the
   summed RSS and PSS of the whole process tree sampled from /proc every 50 ms
   (RSS counts the pages forked workers share with the command once in each;
   PSS shares them out). The run must have made N pages, or the script fails.
4. Where an ingest's time goes: two more pages ingested in this process, one at
   a time, each ``page_file_process`` under cProfile, split into phases.
5. With ``--memory-pages M`` (100 for the target), a separate M-page volume of
   the same 6000x9000 pages, ingested in its own fresh archive, only for its
   peak memory (and its rate). It takes a few minutes: about 1 s a page to make
   the scans and 1.5 s a page to ingest them on 2 cores.

Targets (the issue's): the ingest within 1.3x of the baseline's time; peak
memory under 1 GiB for a 100-page volume. Nothing is asserted: the script exits
0 whether they are met or not, 1 when the ingest itself failed.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MANAGE = ROOT / "manage.py"
VIPS = "/usr/bin/vips"
RATIO_TARGET = 1.3
MEMORY_TARGET = 2**30  # bytes
PAPER = (222, 208, 178)  # sRGB of the paper
INK = 40
GRAIN = 7  # sigma of the grain; 7 gives JPEG Q90 pages of about 20 MiB
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
BASELINE_SH = (
    'name=$(basename "$1") && sha256sum "$1" >/dev/null && cp "$1" "$OUT/copies/$name"'
    f' && {VIPS} tiffsave "$1" "$OUT/pyramids/$name.tif" {" ".join(PYRAMID_ARGS)}'
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


def baseline_run(files: list[Path], out: Path, workers: int) -> float:
    """sha256sum, cp and vips tiffsave on every file, ``workers`` at a time; seconds."""
    (out / "copies").mkdir(parents=True)
    (out / "pyramids").mkdir()
    start = time.perf_counter()
    subprocess.run(
        ["xargs", "-0", "-n", "1", "-P", str(workers), "sh", "-c", BASELINE_SH, "sh"],
        input=b"\0".join(str(f).encode() for f in files),
        env={**os.environ, "OUT": str(out)},
        check=True,
    )
    seconds = time.perf_counter() - start
    made = len(list((out / "pyramids").glob("*.tif")))
    if made != len(files):
        sys.exit(f"ingest bench: the baseline made {made} pyramids of {len(files)}")
    return seconds


def pyramid_versions(page: Path, out: Path, runs: int = 3) -> tuple[float, float]:
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
                one = self.field(f"/proc/{pid}/status", "VmRSS")
                rss += one
                pss += self.field(f"/proc/{pid}/smaps_rollup", "Pss")
                self.peak_one = max(self.peak_one, one)
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self.most_processes = max(self.most_processes, len(pids))
            time.sleep(self.interval)


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
        with open(log, "wb") as out:
            start = time.perf_counter()
            process = subprocess.Popen(
                [
                    sys.executable,
                    str(MANAGE),
                    "ingest_dadian",
                    str(delivery),
                    "--workers",
                    str(workers),
                ],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            sampler = TreeSampler(process.pid)
            sampler.start()
            # wait4, not Popen.wait: its rusage is the command's and its reaped
            # workers' alone (ru_maxrss: the largest single process, in KiB).
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - start
            process.returncode = os.waitstatus_to_exitcode(status)
            sampler.running = False
            sampler.join()
        return {
            "seconds": seconds,
            "returncode": process.returncode,
            "maxrss": usage.ru_maxrss,
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
        f"< 1 GiB: {verdict(run['maxrss'])}",
        f"  process tree, summed RSS (peak)   {mib(sampler.peak_rss):>10}   "
        f"< 1 GiB: {verdict(sampler.peak_rss)}  ({sampler.most_processes} processes)",
        f"  process tree, summed PSS (peak)   {mib(sampler.peak_pss):>10}   "
        f"< 1 GiB: {verdict(sampler.peak_pss)}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20, help="pages (default 20)")
    parser.add_argument("--width", type=int, default=6000)
    parser.add_argument("--height", type=int, default=9000)
    parser.add_argument(
        "--workers", type=int, default=2, help="parallelism of both (default 2)"
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
            f"{args.workers} workers, {os.cpu_count()} cores"
        )
        sync()
        cli_one, ours_one = pyramid_versions(files[0], work)
        sync()
        base_s = baseline_run(files, work / "baseline", args.workers)
        shutil.rmtree(work / "baseline")
        sync()
        run = ingest_checked(
            Archive(work, "archive"),
            work / "delivery",
            volume_id,
            args.pages,
            args.workers,
        )
        ingest_s = run["seconds"]
        ratio = ingest_s / base_s
        print(
            f"\none pyramid, serial (median of 3): vips CLI ({cli_version}) "
            f"{cli_one:.2f} s; pyvips ({ours_version}) {ours_one:.2f} s"
        )
        print(f"\n{'':44} {'seconds':>8} {'pages/min':>10}")
        print(
            f"{'baseline: sha256sum + cp + vips tiffsave':44} {base_s:8.1f} "
            f"{60 * args.pages / base_s:10.1f}"
        )
        print(
            f"{'ingest_dadian --workers ' + str(args.workers):44} {ingest_s:8.1f} "
            f"{60 * args.pages / ingest_s:10.1f}"
        )
        print(
            f"ratio ingest/baseline {ratio:.2f}x (target <= {RATIO_TARGET}x): "
            f"{'MET' if ratio <= RATIO_TARGET else 'MISSED'}"
        )
        print(f"\npeak memory of the ingest, {args.pages} pages:")
        print("\n".join(memory_lines(run)))
        # Two new pages (not in the archive above), for where the time goes.
        delivery_make(work / "delivery-phases", scans, 2, "bench-phases-v1", 50_000, 2)
        print("\none page, in this process, one at a time (mean of 2, cProfile on):")
        for line in phases(work / "delivery-phases", work):
            print(f"  {line}")
        if args.memory_pages:
            shutil.rmtree(work / "delivery")
            memory_id = "bench-memory-v1"
            start = time.perf_counter()
            delivery_make(
                work / "delivery-memory",
                scans,
                args.memory_pages,
                memory_id,
                100_000,
                args.workers,
            )
            made_s = time.perf_counter() - start
            sync()
            run = ingest_checked(
                Archive(work, "archive-memory"),
                work / "delivery-memory",
                memory_id,
                args.memory_pages,
                args.workers,
            )
            print(
                f"\npeak memory of the ingest, {args.memory_pages} pages (made in "
                f"{made_s:.0f} s; ingested in {run['seconds']:.0f} s, "
                f"{60 * args.memory_pages / run['seconds']:.1f} pages/min):"
            )
            print("\n".join(memory_lines(run)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
