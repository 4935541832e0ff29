"""Load benchmark: search, IIIF and page views at steady rates while an ingest runs.

Run with ``make bench`` or ``.venv/bin/python bench/load.py [--quick]
[--seconds S] [--search-rate R] [--iiif-rate R] [--page-rate R]
[--scale F] [--ingest-pages N] [--ratelimits on|off] [--database-url URL]
[--broker URL] [--timeout S] [--keep]``. Trust issue, part 8.

What it does, in one run, in a throw-away archive (a temporary folder holds
the SQLite database, storage, search index, broker and caches; removed at the
end, also on Ctrl-C):

1. **Set-up.** ``migrate``, ``load_sample`` (the sample archive: the Dadian
   volume, the image set, the two recordings), ``sample_exhibition``,
   ``reindex`` and ``collectstatic``, all in the documented production
   settings (``DJANGO_ENV=production``, a generated secret, ``ALLOWED_HOSTS``
   127.0.0.1, the tile cache on); PostgreSQL instead of SQLite with
   ``--database-url`` (a database of its own is created on that server and
   dropped at the end), Redis instead of the filesystem broker with
   ``--broker`` (give it a Redis database nobody else uses). Transcription
   on ingest is off (``TRANSCRIPTION_AUTO=false``): Whisper belongs on
   separate machines in production and would otherwise take the two cores
   for minutes. The web side is as the README's "Production" deploys it:
   nginx with docs/deploy/nginx.conf (warm public tiles from the tile cache,
   stored files handed over) in front of gunicorn ``-k sync -w 2``; with
   ``--front none`` (the default when nginx is missing), gunicorn ``-k
   gthread -w 2 --threads 2`` alone, so every request, warm tiles included,
   reaches Django (a sync worker needs a buffering front); one Celery worker with beat
   on the queues ``celery,ingest,transcribe,search`` (as ``make demo``). A
   delivery of N synthetic page scans (2000x3000 JPEG, one volume, batch
   format 2) is made before the clock starts.
2. **Load.** An open-loop generator: every request has its time in a fixed
   schedule (steady rates per class, the same schedule and URLs in every
   phase) and is sent then by a pool of threads whether or not earlier
   answers came back, one connection per request. Latency runs from the
   *scheduled* time to the last byte, so a slow server shows as latency,
   never as fewer requests (no coordinated omission). A reader gives up after
   ``--timeout`` (30 s) from the scheduled time: a request not answered by
   then, sent or still waiting for a free sender, is a timeout. Classes:

   - **search** (5/s): ``/api/search?q=`` and Mirador's content search
     ``/iiif/search/1/{volume}?q=``, with queries drawn from the sample's
     texts and titles in Traditional, Simplified (OpenCC) and Jyutping
     (pycantonese; toned ``gwong2 zau1`` and toneless ``gwongzau``);
   - **iiif** (40/s), viewer-like: 256-px tiles at every scale factor that
     info.json declares (OpenSeadragon's region and ``w,h`` size forms),
     info.json, manifests, the manifest thumbnails and
     ``/items/{item}/thumbnail.jpg``;
   - **pages** (5/s): the home page, the four theme libraries, item pages,
     the sample exhibition, the search page, the viewer, institutions, in
     Traditional, Simplified and English.

3. **Phases.** "no ingest" (the named baseline), then "with ingest":
   ``manage.py ingest_dadian DELIVERY`` starts as the window opens. Before
   each phase gunicorn is restarted, the tile cache and Django's cache
   (manifests, rate-limit counters) are emptied, each worker is warmed with
   a few requests, and the worker's queues must be empty and the worker idle.
4. **Figures.** Per phase and class: requests sent, answered, errors (5xx,
   connection errors, timeouts) and their rate, 429s, other 4xx, and p50,
   p95 and p99 of every request not answered 429 (a failure counts with its
   time to failure, a timeout with the timeout); the requests answered
   within the window; the same for the part of the window the ingest ran;
   the ratio of p95 with the ingest to p95 without; the same per URL kind;
   the generator's own lag; the peak RSS of the gunicorn processes (summed,
   and the largest worker's ``VmHWM``) and of the worker, gunicorn's CPU
   seconds, the machine's busy cores and the load average; how long the
   ingest took and whether every page went in.

Rate limits: the run uses the shipped defaults (``ARCHIVE_RATELIMIT_*``), so a
generator on one address meets them as a scraper would: search allows 120 a
minute, so most of 5 searches a second are answered 429. 429s are counted in
a column of their own, not as errors, and left out of the latencies (they
cost the server almost nothing). ``--ratelimits off`` turns the search and
IIIF limits off for the run (``ARCHIVE_RATELIMIT_SEARCH=0``,
``ARCHIVE_RATELIMIT_IIIF=0``) to measure the whole intended load.

Nothing is asserted: the script exits 0 whatever the figures, 1 when the set-up
or the ingest failed. docs/performance.md ("Load") records the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import http.client
import json
import math
import os
import queue
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.iiif_tiles import gunicorn_argv, nginx_start  # noqa: E402

MANAGE = ROOT / "manage.py"
BIN = Path(sys.executable).parent
SAMPLE = ROOT / "ingest" / "sample"
QUEUES = ("celery", "ingest", "transcribe", "search")
CLASSES = ("search", "iiif", "pages")
INGEST_ID = "bench-load-v1"
LANGUAGES = (("zh-hant", 5), ("zh-hans", 3), ("en", 2))
#: Variables that could point the throw-away archive at shared services.
OUTSIDE = (
    "CELERY_BROKER_URL",
    "CELERY_BROKER_FOLDER",
    "DJANGO_CACHE_URL",
    "SEARCH_BACKEND",
    "SEARCH_INDEX_DIR",
    "OPENSEARCH_URL",
    "IIIF_CACHE_DIR",
    "IIIF_BASE_URL",
    "IIIF_IMAGE_BASE",
    "INGEST_UPLOAD_ROOT",
    "ARCHIVE_READING_ROOM_NETWORKS",
    "ARCHIVE_TRUSTED_PROXIES",
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loadavg() -> float:
    return os.getloadavg()[0]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of ``values`` (sorted or not); nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


# ---------------------------------------------------------------------------
# Processes: trees, memory, CPU
# ---------------------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        children[int(stat.rsplit(")", 1)[1].split()[1])].append(int(entry.name))
    return children


def process_tree(root: int, children: dict[int, list[int]] | None = None) -> list[int]:
    """``root`` and all its descendants (from /proc)."""
    children = children if children is not None else _children_map()
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0


def hwm_bytes(pid: int) -> int:
    """The process's peak RSS so far (``VmHWM``)."""
    try:
        match = re.search(r"VmHWM:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
    except OSError:
        return 0
    return int(match.group(1)) * 1024 if match else 0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes used so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


class Watch(threading.Thread):
    """Samples every 0.5 s: summed RSS of named process trees, the load average."""

    def __init__(self, roots: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.roots = dict(roots)
        self.peak: dict[str, int] = defaultdict(int)
        self.load_max = loadavg()
        self._halt = threading.Event()

    def watch(self, name: str, pid: int) -> None:
        self.roots[name] = pid

    def run(self) -> None:
        while not self._halt.is_set():
            children = _children_map()
            for name, root in list(self.roots.items()):
                total = sum(rss_bytes(p) for p in process_tree(root, children))
                self.peak[name] = max(self.peak[name], total)
            self.load_max = max(self.load_max, loadavg())
            self._halt.wait(0.5)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def stop_group(process: subprocess.Popen | None, grace: float = 20.0) -> None:
    """SIGTERM the process group we started (its own session), SIGKILL after ``grace``."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


# ---------------------------------------------------------------------------
# The throw-away archive
# ---------------------------------------------------------------------------


class Archive:
    """Temporary folder, environment, database; the web server and the worker."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self._drop_database = None
        # The database first: if the server refuses, nothing is left behind.
        database = (
            self._postgres_database(args.database_url) if args.database_url else ""
        )
        self.dir = Path(tempfile.mkdtemp(prefix="yuecang-bench-load-"))
        self.var = self.dir / "var"
        self.logs = self.dir / "logs"
        self.logs.mkdir()
        self.port = free_port()
        # Behind nginx, gunicorn listens on a port of its own and nginx on ``port``.
        self.app_port = free_port() if args.front == "nginx" else self.port
        self.gunicorn: subprocess.Popen | None = None
        self.nginx: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.ingest: subprocess.Popen | None = None
        env = {k: v for k, v in os.environ.items() if k not in OUTSIDE}
        env.update(
            {
                "DJANGO_ENV": "production",
                "DJANGO_SETTINGS_MODULE": "archive.settings.production",
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
                "DJANGO_SECURE_SSL_REDIRECT": "false",
                "DJANGO_LOG_LEVEL": "WARNING",
                "ARCHIVE_STORAGE_ROOT": str(self.dir / "storage"),
                "YUECANG_VAR_DIR": str(self.var),
                "TRANSCRIPTION_AUTO": "false",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if args.ratelimits == "off":
            env["ARCHIVE_RATELIMIT_SEARCH"] = "0"
            env["ARCHIVE_RATELIMIT_IIIF"] = "0"
        if args.broker:
            env["CELERY_BROKER_URL"] = args.broker
        env["DATABASE_URL"] = database or f"sqlite:///{self.dir / 'bench.sqlite3'}"
        if args.front == "nginx":
            # As README "Production" documents behind nginx.
            env["ARCHIVE_TRUSTED_PROXIES"] = "127.0.0.1/32"
            env["ARCHIVE_ACCEL_REDIRECT"] = "/_storage/"
        self.env = env

    def _postgres_database(self, url: str) -> str:
        """Create a database of our own on the given server; return its URL."""
        import psycopg

        name = f"yuecang_bench_load_{secrets.token_hex(4)}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

        def drop() -> None:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        self._drop_database = drop
        return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))

    def manage(self, *command: str, log: str | None = None) -> float:
        """Run a management command to completion; return its wall time."""
        started = time.monotonic()
        out = (self.logs / f"{log or command[0]}.log").open("ab")
        result = subprocess.run(
            [sys.executable, str(MANAGE), *command],
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
        out.close()
        if result.returncode:
            tail = (self.logs / f"{log or command[0]}.log").read_text()[-3000:]
            raise SystemExit(f"load: manage.py {' '.join(command)} failed:\n{tail}")
        return time.monotonic() - started

    def setup(self) -> None:
        steps = [
            ("migrate", "--noinput"),
            ("load_sample",),
            ("sample_exhibition",),
            ("reindex",),
            ("collectstatic", "--noinput"),
        ]
        for step in steps:
            seconds = self.manage(*step)
            print(f"  {step[0]}: {seconds:.1f} s", flush=True)

    def django(self) -> None:
        """Set up Django in this process (to find URLs and check the ingest)."""
        for name in OUTSIDE:
            os.environ.pop(name, None)
        os.environ.update(self.env)
        import django

        django.setup()

    # -- web ---------------------------------------------------------------

    def web_start(self) -> None:
        """Start gunicorn (and nginx in front) afresh, with empty caches."""
        self.web_stop()
        shutil.rmtree(self.var / "iiif-cache", ignore_errors=True)
        shutil.rmtree(self.var / "cache", ignore_errors=True)
        front = self.args.front == "nginx"
        self.gunicorn = subprocess.Popen(
            gunicorn_argv(self.app_port, 2, 0 if front else 2),
            cwd=ROOT,
            env=self.env,
            stdout=(self.logs / "gunicorn.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.gunicorn.poll() is not None:
                raise SystemExit("load: gunicorn exited; see its log")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if get(self.app_port, "/healthz", timeout=10)[0]:
                    break
            time.sleep(0.5)
        else:
            raise SystemExit("load: gunicorn did not answer within 2 minutes")
        if front:
            self.nginx = nginx_start(
                self.dir / "nginx",
                port=self.port,
                upstream=self.app_port,
                cache_dir=self.var / "iiif-cache",
                storage_root=str(self.dir / "storage"),
            )

    def web_stop(self) -> None:
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.terminate()  # in this process's group: not stop_group
            self.nginx.wait(timeout=30)
        self.nginx = None
        stop_group(self.gunicorn, grace=40)
        self.gunicorn = None

    def web_pids(self) -> list[int]:
        return process_tree(self.gunicorn.pid) if self.gunicorn else []

    # -- worker ------------------------------------------------------------

    def worker_start(self) -> None:
        self.worker = subprocess.Popen(
            [
                str(BIN / "celery"),
                "-A",
                "archive",
                "worker",
                "-B",
                "-Q",
                ",".join(QUEUES),
                "--concurrency",
                "1",
                "--loglevel",
                "WARNING",
                "--logfile",
                str(self.logs / "worker.log"),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=(self.logs / "worker.err").open("ab"),
            start_new_session=True,
        )

    def _queued(self) -> int:
        if self.args.broker:
            import redis

            client = redis.Redis.from_url(self.args.broker)
            return sum(client.llen(name) for name in QUEUES)
        folder = self.var / "broker" / "queue"
        return sum(1 for _ in folder.iterdir()) if folder.is_dir() else 0

    def worker_drain(self, limit: float = 600.0) -> float:
        """Wait until the queues are empty and the worker idle; return the wait."""
        started = time.monotonic()
        idle_since = None
        while time.monotonic() - started < limit:
            if self.worker.poll() is not None:
                raise SystemExit("load: the Celery worker exited; see its log")
            before = cpu_seconds(process_tree(self.worker.pid))
            time.sleep(1.0)
            used = cpu_seconds(process_tree(self.worker.pid)) - before
            if self._queued() == 0 and used < 0.05:
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since >= 2.0:
                    return time.monotonic() - started
            else:
                idle_since = None
        print(f"  (the worker was still busy after {limit:.0f} s; going on)")
        return time.monotonic() - started

    def close(self) -> None:
        for process in (self.ingest, self.worker):
            stop_group(process)
        self.web_stop()
        if self._drop_database is not None:
            with contextlib.suppress(Exception):
                from django.db import connections

                connections.close_all()
            try:
                self._drop_database()
            except Exception as exc:  # noqa: BLE001 - report, and go on cleaning up
                print(f"load: could not drop the benchmark database: {exc}")
        if self.args.keep:
            print(f"kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def get(port: int, path: str, timeout: float = 30.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"User-Agent": "yuecang-bench-load"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# ---------------------------------------------------------------------------
# The delivery ingested during the second phase
# ---------------------------------------------------------------------------


def delivery_make(folder: Path, pages: int, width: int, height: int) -> Path:
    """One volume of ``pages`` synthetic scans (batch format 2): grain and text columns."""
    import pyvips

    volume = folder / "dadian" / INGEST_ID
    (volume / "pages").mkdir(parents=True)
    slack = 257
    grain = (
        pyvips.Image.gaussnoise(
            width + slack, height + slack, mean=128, sigma=9, seed=3
        )
        .cast("uchar")
        .copy_memory()
    )
    rng = random.Random(7)
    entries = []
    for n in range(1, pages + 1):

        def band(offset: int):
            x, y = rng.randrange(slack), rng.randrange(slack)
            return grain.crop(x, y, width, height) + (offset - 128)

        paper = band(222).bandjoin([band(208), band(178)])
        cells = (
            pyvips.Image.gaussnoise(width // 40, height // 40, sigma=1, mean=0, seed=n)
            > 0.4
        )
        mask = cells.zoom(40, 40).embed(0, 0, width, height)
        page = mask.ifthenelse([40, 38, 36], paper).cast("uchar")
        page = page.copy(interpretation="srgb")
        name = f"pages/{n:04d}.jpg"
        page.jpegsave(str(volume / name), Q=90)
        entries.append({"file": name, "label": f"第{n}葉"})
    data = {
        "format": "yuecang-batch/2",
        "id": INGEST_ID,
        "kind": "book_volume",
        "institution": "gzlib",
        "title": {"original": "負載測試 卷一", "en": "Load benchmark, volume 1"},
        "language": ["lzh"],
        "rights": {
            "uri": "http://creativecommons.org/publicdomain/mark/1.0/",
            "statement": {"zh-Hant": "基準測試", "en": "Benchmark"},
        },
        "access": "public",
        "themes": ["lingnan"],
        "pages": entries,
    }
    (volume / "volume.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return folder


@dataclass
class IngestRun:
    """``manage.py ingest_dadian DELIVERY`` started with the window, timed to its exit."""

    archive: Archive
    delivery: Path
    pages: int
    started: float = math.nan
    finished: float = math.nan
    returncode: int | None = None
    #: Set by check(): the command succeeded and every page is stored.
    complete: bool = False
    _thread: threading.Thread | None = None

    def start(self) -> None:
        command = [sys.executable, str(MANAGE), "ingest_dadian", str(self.delivery)]
        if self.archive.args.ingest_workers:
            command += ["--workers", str(self.archive.args.ingest_workers)]
        self.started = time.monotonic()
        self.archive.ingest = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.archive.env,
            stdout=(self.archive.logs / "ingest.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._thread = threading.Thread(target=self._wait, daemon=True)
        self._thread.start()

    def _wait(self) -> None:
        self.returncode = self.archive.ingest.wait()
        self.finished = time.monotonic()

    def join(self) -> None:
        self._thread.join()

    def check(self) -> str:
        """What the archive holds after the run: the job's files by status, the pages."""
        from archive.models import PageImage
        from ingest.models import IngestJob
        from ingest.services.jobs import job_counts

        job = (
            IngestJob.objects.filter(path=str(self.delivery.resolve()))
            .order_by("-pk")
            .first()
        )
        stored = PageImage.objects.filter(item__public_id=INGEST_ID).count()
        if job is None:
            return f"no job recorded; {stored} pages stored"
        counts = job_counts(job=job)
        self.complete = (
            self.returncode == 0
            and job.status == IngestJob.Status.DONE
            and counts["done"] == self.pages
            and stored == self.pages
        )
        return (
            f"job {job.status}, files done {counts['done']}/"
            f"{counts['total']}, failed {counts['failed']}; {stored}/{self.pages} "
            f"pages stored; exit status {self.returncode}"
        )


# ---------------------------------------------------------------------------
# What to ask for
# ---------------------------------------------------------------------------

CJK = re.compile(r"[\u3400-\u9fff]{2,}")


def sample_texts() -> list[str]:
    """Runs of CJK text the sample archive indexes: page text, titles, descriptions."""
    texts = [p.read_text("utf-8") for p in sorted(SAMPLE.glob("**/text/*.txt"))]
    for meta in sorted(SAMPLE.glob("**/*.json")):
        if meta.name not in ("item.json", "volume.json"):
            continue
        data = json.loads(meta.read_text("utf-8"))
        for key in ("title", "description"):
            value = data.get(key) or {}
            texts += [value.get("original", ""), value.get("zh-Hant", "")]
    return [run for text in texts for run in CJK.findall(text)]


def queries(rng: random.Random, count: int = 20) -> dict[str, list[str]]:
    """``count`` queries per script, drawn from the sample's texts."""
    import opencc
    import pycantonese

    runs = sample_texts()
    t2s = opencc.OpenCC("t2s")
    words: list[str] = []
    while len(words) < count * 3:
        run = rng.choice(runs)
        size = min(len(run), rng.choice((2, 2, 3, 4)))
        start = rng.randrange(len(run) - size + 1)
        words.append(run[start : start + size])
    traditional = words[:count]
    simplified = [t2s.convert(w) for w in words[count : 2 * count]]
    jyutping = []
    for n, word in enumerate(words[2 * count :]):
        syllables = " ".join(
            jp for _, jp in pycantonese.characters_to_jyutping(word) if jp
        )
        syllables = re.sub(r"(\d)(?=[a-z])", r"\1 ", syllables)
        if not syllables:
            continue
        # Half as typed with tones and spaces, half toneless and joined.
        jyutping.append(
            syllables if n % 2 else re.sub(r"[\d\s]", "", syllables) or syllables
        )
    return {"traditional": traditional, "simplified": simplified, "jyutping": jyutping}


@dataclass
class Plan:
    """The URLs of each class, found in the running archive, and how to draw them."""

    queries: list[str] = field(default_factory=list)
    by_script: dict[str, list[str]] = field(default_factory=dict)
    volume: str = ""
    items: list[str] = field(default_factory=list)
    image_items: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    #: image path -> tile paths per scale factor (largest factor first)
    tiles: dict[str, list[list[str]]] = field(default_factory=dict)
    thumbnails: list[str] = field(default_factory=list)
    exhibitions: list[str] = field(default_factory=list)

    #: class -> (kind, weight)
    KINDS = {
        "search": (("api", 8), ("content-search", 2)),
        "iiif": (
            ("tile", 70),
            ("info.json", 10),
            ("iiif-thumbnail", 8),
            ("item-thumbnail", 7),
            ("manifest", 5),
        ),
        "pages": (
            ("home", 15),
            ("theme", 25),
            ("item", 25),
            ("exhibition", 10),
            ("search-page", 15),
            ("viewer", 5),
            ("institutions", 5),
        ),
    }

    def draw(self, cls: str, rng: random.Random) -> tuple[str, str]:
        kinds, weights = zip(*self.KINDS[cls], strict=True)
        kind = rng.choices(kinds, weights)[0]
        q = quote(rng.choice(self.queries))
        if kind == "api":
            return kind, f"/api/search?q={q}"
        if kind == "content-search":
            return kind, f"/iiif/search/1/{self.volume}?q={q}"
        if kind == "tile":
            image = rng.choice(list(self.tiles))
            level = rng.choice(self.tiles[image])
            return kind, rng.choice(level)
        if kind == "info.json":
            return kind, rng.choice(self.infos)
        if kind == "iiif-thumbnail":
            return kind, rng.choice(self.thumbnails)
        if kind == "item-thumbnail":
            return kind, f"/items/{rng.choice(self.image_items)}/thumbnail.jpg"
        if kind == "manifest":
            return kind, f"/iiif/3/manifest/{rng.choice(self.items)}"
        if kind == "home":
            return kind, "/"
        if kind == "theme":
            theme = rng.choice(("red", "lingnan", "maritime", "innovation"))
            return kind, rng.choice((f"/{theme}/", f"/{theme}/?kind=book_volume"))
        if kind == "item":
            return kind, f"/items/{rng.choice(self.items)}/"
        if kind == "exhibition":
            return kind, rng.choice(self.exhibitions)
        if kind == "search-page":
            return kind, f"/search/?q={q}"
        if kind == "viewer":
            return kind, f"/viewer/?item={rng.choice(self.image_items)}"
        return kind, "/institutions/"


def tile_paths(base: str, info: dict) -> list[list[str]]:
    """Every 256-px tile OpenSeadragon asks for, per scale factor (IIIF 3 forms)."""
    width, height = info["width"], info["height"]
    tiles = (info.get("tiles") or [{"width": 256, "scaleFactors": [1]}])[0]
    size = tiles["width"]
    levels = []
    for factor in sorted(tiles["scaleFactors"], reverse=True):
        span = size * factor
        level = []
        for y in range(0, height, span):
            for x in range(0, width, span):
                w, h = min(span, width - x), min(span, height - y)
                sw, sh = math.ceil(w / factor), math.ceil(h / factor)
                region = "full" if (w, h) == (width, height) else f"{x},{y},{w},{h}"
                scale = "max" if (sw, sh) == (width, height) else f"{sw},{sh}"
                level.append(f"{base}/{region}/{scale}/0/default.jpg")
        levels.append(level)
    return levels


def plan_make(port: int, rng: random.Random) -> Plan:
    """Find the sample's items, images, tiles and exhibition; draw the queries."""
    from archive.models import Item
    from themes.models import ExhibitionPage

    plan = Plan()
    drawn = plan.by_script = queries(rng)
    plan.queries = [q for script in drawn.values() for q in script]
    items = list(Item.objects.order_by("public_id").values_list("public_id", "kind"))
    plan.items = [public_id for public_id, _ in items]
    plan.image_items = [p for p, kind in items if kind in ("book_volume", "image_set")]
    plan.volume = next(p for p, kind in items if kind == "book_volume")
    plan.exhibitions = [p.url for p in ExhibitionPage.objects.live() if p.url]
    for item in plan.image_items:
        status, body = get(port, f"/iiif/3/manifest/{item}")
        if status != 200:
            raise SystemExit(f"load: the manifest of {item} answered {status}")
        manifest = json.loads(body)
        for thumb in manifest.get("thumbnail", []):
            plan.thumbnails.append(urlsplit(thumb["id"]).path)
        for canvas in manifest["items"]:
            body_ = canvas["items"][0]["items"][0]["body"]
            service = body_["service"][0]
            base = urlsplit(service.get("id") or service["@id"]).path
            status, info = get(port, f"{base}/info.json")
            if status != 200:
                raise SystemExit(f"load: {base}/info.json answered {status}")
            plan.infos.append(f"{base}/info.json")
            plan.tiles[base] = tile_paths(base, json.loads(info))
    if not plan.exhibitions:
        plan.exhibitions = ["/lingnan/"]
    return plan


# ---------------------------------------------------------------------------
# The open-loop generator
# ---------------------------------------------------------------------------


@dataclass(slots=True)
class Shot:
    """One request: when it was due (s after the window opened), what, and its fate."""

    at: float
    cls: str
    kind: str
    path: str
    language: str
    lag: float = math.nan  # s from due to sent
    latency: float = math.nan  # s from due to the last byte, or to the failure
    status: int = 0  # HTTP status; 0 when none came
    error: str = ""  # "timeout" or "connection: ..." when no answer came
    sent: bool = False  # False: still waiting for a sender when it timed out

    @property
    def failed(self) -> bool:
        return self.status >= 500 or (self.status == 0)


def schedule(
    plan: Plan, rates: dict[str, float], seconds: float, seed: int
) -> list[Shot]:
    """Steady rates per class over ``seconds``: the same list for the same seed."""
    rng = random.Random(seed)
    languages, weights = zip(*LANGUAGES, strict=True)
    streams = []
    for cls in CLASSES:
        rate = rates[cls]
        if rate <= 0:
            continue
        offset = rng.random() / rate
        stream = []
        for n in range(int(seconds * rate)):
            kind, path = plan.draw(cls, rng)
            language = rng.choices(languages, weights)[0]
            stream.append(Shot(offset + n / rate, cls, kind, path, language))
        streams.append(stream)
    return list(heapq.merge(*streams, key=lambda shot: shot.at))


def fire(
    port: int,
    shots: list[Shot],
    *,
    timeout: float,
    senders: int,
    on_open=None,
) -> float:
    """Send every shot at its time from a pool of threads; return the window's start."""
    todo: queue.SimpleQueue = queue.SimpleQueue()
    opened = time.monotonic() + 0.5

    def sender() -> None:
        while (shot := todo.get()) is not None:
            due = opened + shot.at
            now = time.monotonic()
            shot.lag = now - due
            left = due + timeout - now
            if left <= 0:
                # A reader gives up after ``timeout``: a request the generator
                # could not even send by then (every sender busy waiting on
                # the server) is a timeout, not sent late.
                shot.error, shot.latency = "timeout", shot.lag
                continue
            shot.sent = True
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=left)
            try:
                conn.request(
                    "GET",
                    shot.path,
                    headers={
                        "User-Agent": "yuecang-bench-load",
                        "Accept-Language": shot.language,
                        "Connection": "close",
                    },
                )
                response = conn.getresponse()
                response.read()
                shot.status = response.status
            except TimeoutError:
                shot.error = "timeout"
            except (OSError, http.client.HTTPException) as exc:
                shot.error = f"connection: {type(exc).__name__}"
            finally:
                shot.latency = time.monotonic() - due
                conn.close()
            if shot.latency > timeout and shot.status:  # the body came too late
                shot.status, shot.error = 0, "timeout"

    threading.stack_size(512 * 1024)
    pool = [threading.Thread(target=sender, daemon=True) for _ in range(senders)]
    for thread in pool:
        thread.start()
    time.sleep(max(0.0, opened - time.monotonic()))
    if on_open is not None:
        on_open()
    for shot in shots:
        delay = opened + shot.at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        todo.put(shot)
    for _ in pool:
        todo.put(None)
    # Every request ends by its due time + timeout, so this is the last moment.
    deadline = opened + (shots[-1].at if shots else 0.0) + timeout + 10
    for thread in pool:
        thread.join(max(0.0, deadline - time.monotonic()))
    for shot in shots:
        if math.isnan(shot.latency):  # a sender that never came back
            shot.error, shot.latency = "timeout", timeout
    return opened


# ---------------------------------------------------------------------------
# A phase and its figures
# ---------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    seconds: float
    shots: list[Shot]
    load_start: float
    load_end: float
    load_max: float
    web_peak: int
    web_largest: int
    worker_peak: int
    web_cpu: float
    machine_busy: float
    #: s from the window's opening until the last answer came (or timed out)
    elapsed: float
    #: CPU s of this script (the generator) over ``elapsed``
    generator_cpu: float
    ingest: IngestRun | None = None
    ingest_window: tuple[float, float] | None = None


def stats(shots: list[Shot]) -> dict:
    answered = [s for s in shots if s.status]
    errors = [s for s in shots if s.failed]
    limited = [s for s in shots if s.status == 429]
    latencies = [s.latency * 1000 for s in shots if s.status != 429]
    return {
        "sent": len(shots),
        "answered": len(answered),
        "errors": len(errors),
        "error_rate": len(errors) / len(shots) if shots else math.nan,
        "429": len(limited),
        "4xx": sum(1 for s in answered if 400 <= s.status < 500 and s.status != 429),
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
    }


def fmt_ms(value: float) -> str:
    return (
        "-"
        if math.isnan(value)
        else f"{value:,.0f}"
        if value >= 100
        else f"{value:.1f}"
    )


def fmt_ratio(a: float, b: float) -> str:
    return "-" if math.isnan(a) or math.isnan(b) or not a else f"{b / a:.2f}x"


def class_table(shots: list[Shot], seconds: float, by: str = "cls") -> list[str]:
    groups: dict[str, list[Shot]] = defaultdict(list)
    for shot in shots:
        groups[getattr(shot, by)].append(shot)
    order = (
        CLASSES if by == "cls" else sorted(groups, key=lambda k: (groups[k][0].cls, k))
    )
    lines = [
        f"  {'class' if by == 'cls' else 'kind':15} {'req/s':>6} {'sent':>6} "
        f"{'answered':>8} {'errors':>6} {'err %':>6} {'429':>6} {'4xx':>5} "
        f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    ]
    for key in order:
        if key not in groups:
            continue
        s = stats(groups[key])
        lines.append(
            f"  {key:15} {s['sent'] / seconds:6.1f} {s['sent']:6d} {s['answered']:8d} "
            f"{s['errors']:6d} {100 * s['error_rate']:5.1f}% {s['429']:6d} "
            f"{s['4xx']:5d} {fmt_ms(s['p50']):>8} {fmt_ms(s['p95']):>8} "
            f"{fmt_ms(s['p99']):>8}"
        )
    return lines


def phase_report(phase: Phase) -> None:
    print(
        f"\n== {phase.name}: {phase.seconds:.0f} s; load average "
        f"{phase.load_start:.1f} at the start, {phase.load_end:.1f} at the end, "
        f"{phase.load_max:.1f} at most"
    )
    print("\n".join(class_table(phase.shots, phase.seconds)))
    within = sum(
        1 for s in phase.shots if s.status and s.at + s.latency <= phase.seconds
    )
    print(
        f"  answered within the window: {within} ({within / phase.seconds:.1f}/s) of "
        f"{len(phase.shots)} sent ({len(phase.shots) / phase.seconds:.1f}/s); the "
        f"last answer came {phase.elapsed - phase.seconds:.1f} s after it closed"
    )
    if phase.ingest_window:
        start, end = phase.ingest_window
        during = [s for s in phase.shots if start <= s.at < end]
        if during and 1 < end - start < phase.seconds - 1:
            print(
                f"  while the ingest ran ({start:.1f} s to {end:.1f} s of the window):"
            )
            print("\n".join(class_table(during, end - start)))
        elif end - start >= phase.seconds - 1:
            print("  (the ingest ran through the whole window)")
    lags = [s.lag * 1000 for s in phase.shots if s.sent]
    unsent = sum(1 for s in phase.shots if not s.sent)
    print(
        f"  generator lag (due to sent): p50 {fmt_ms(percentile(lags, 50))} ms, "
        f"p99 {fmt_ms(percentile(lags, 99))} ms, max {fmt_ms(max(lags or [math.nan]))} ms"
        + (
            f"; {unsent} never sent (every sender still waiting on the server "
            f"when they timed out)"
            if unsent
            else ""
        )
    )
    print(
        f"  gunicorn: peak RSS {phase.web_peak / 2**20:.0f} MiB summed (sampled), "
        f"largest process {phase.web_largest / 2**20:.0f} MiB (VmHWM); "
        f"{phase.web_cpu:.1f} CPU s ({phase.web_cpu / phase.elapsed:.2f} cores); "
        f"Celery worker peak RSS {phase.worker_peak / 2**20:.0f} MiB"
    )
    print(
        f"  machine: {phase.machine_busy:.2f} of {os.cpu_count()} cores busy on "
        "average (everything, other sessions included); the generator used "
        f"{phase.generator_cpu:.1f} CPU s ({phase.generator_cpu / phase.elapsed:.2f} "
        "cores)"
    )
    if phase.ingest is not None:
        ingest = phase.ingest
        took = ingest.finished - ingest.started
        print(
            f"  ingest: {ingest.pages} pages in {took:.1f} s "
            f"({60 * ingest.pages / took:.0f} pages/min); {ingest.check()}"
        )
    problems: dict[tuple[str, str], list[str]] = defaultdict(list)
    for shot in phase.shots:
        if shot.failed or (400 <= shot.status < 500 and shot.status != 429):
            what = shot.error or str(shot.status)
            if len(problems[(shot.kind, what)]) < 2:
                problems[(shot.kind, what)].append(shot.path)
    for (kind, what), paths in sorted(problems.items()):
        count = sum(
            1
            for s in phase.shots
            if s.kind == kind and (s.error or str(s.status)) == what
        )
        print(f"  {count} x {what} on {kind}, e.g. {paths[0]}")


def comparison(base: Phase, other: Phase) -> None:
    print(f'\n== p95 "{other.name}" / p95 "{base.name}"')
    groups = [(c, "cls") for c in CLASSES] + [
        (k, "kind") for k in sorted({s.kind for s in base.shots})
    ]
    print(
        f"  {'class / kind':17} {'p95 base':>9} {'p95 ingest':>10} {'ratio':>6} "
        f"{'while ingest':>12} {'ratio':>6}   errors base/ingest, 429 base/ingest"
    )
    window = other.ingest_window or (0.0, other.seconds)
    for key, by in groups:
        a = stats([s for s in base.shots if getattr(s, by) == key])
        b = stats([s for s in other.shots if getattr(s, by) == key])
        c = stats(
            [
                s
                for s in other.shots
                if getattr(s, by) == key and window[0] <= s.at < window[1]
            ]
        )
        label = key if by == "cls" else f"  {key}"
        print(
            f"  {label:17} {fmt_ms(a['p95']):>9} {fmt_ms(b['p95']):>10} "
            f"{fmt_ratio(a['p95'], b['p95']):>6} {fmt_ms(c['p95']):>12} "
            f"{fmt_ratio(a['p95'], c['p95']):>6}   {a['errors']}/{b['errors']}, "
            f"{a['429']}/{b['429']}"
        )


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------


def warm(archive: Archive, plan: Plan) -> None:
    """Each kind of work a few times over, so each gunicorn worker has loaded its code.

    A fresh worker's first search loads pycantonese's lexicon and other tables
    (5 to 10 s on a busy machine); the phases measure the running archive, not
    that. Four at once per URL reach both workers. Django's cache
    (rate-limit counters, manifests) is emptied after, so each window starts
    with no requests counted.
    """
    tile = next(iter(plan.tiles.values()))[0][0]
    paths = [
        "/",
        "/lingnan/",
        "/institutions/",
        f"/items/{plan.volume}/",
        f"/viewer/?item={plan.volume}",
        plan.exhibitions[0],
        plan.infos[0],
        tile,
        plan.thumbnails[0],
        f"/items/{plan.volume}/thumbnail.jpg",
        f"/iiif/3/manifest/{plan.volume}",
    ]
    for script in plan.by_script.values():
        q = quote(script[0])
        paths += [
            f"/api/search?q={q}",
            f"/search/?q={q}",
            f"/iiif/search/1/{plan.volume}?q={q}",
        ]

    def one(path: str) -> None:
        with contextlib.suppress(OSError, http.client.HTTPException):
            get(archive.port, path, timeout=300)

    for path in paths:
        threads = [
            threading.Thread(target=one, args=(path,), daemon=True) for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    shutil.rmtree(archive.var / "cache", ignore_errors=True)


def run_phase(
    archive: Archive,
    plan: Plan,
    name: str,
    args: argparse.Namespace,
    ingest: IngestRun | None,
) -> Phase:
    print(f"\n-- {name}: restarting gunicorn, emptying caches, draining the worker")
    archive.web_start()
    started = time.monotonic()
    warm(archive, plan)
    warmed = time.monotonic() - started
    waited = archive.worker_drain()
    print(
        f"   warmed in {warmed:.0f} s, worker idle after {waited:.0f} s more; "
        f"load average {loadavg():.1f}"
    )
    shots = schedule(plan, args.rates, args.seconds, args.seed)
    watch = Watch({"web": archive.gunicorn.pid, "worker": archive.worker.pid})
    watch.start()
    web_pids = archive.web_pids()
    web_cpu = cpu_seconds(web_pids)
    busy0, total0 = machine_busy()
    own0 = resource.getrusage(resource.RUSAGE_SELF)
    load_start = loadavg()
    opened = fire(
        archive.port,
        shots,
        timeout=args.timeout,
        senders=args.senders,
        on_open=ingest.start if ingest else None,
    )
    busy1, total1 = machine_busy()
    own1 = resource.getrusage(resource.RUSAGE_SELF)
    elapsed = time.monotonic() - opened
    web_pids = archive.web_pids()
    phase = Phase(
        name=name,
        seconds=args.seconds,
        shots=shots,
        load_start=load_start,
        load_end=loadavg(),
        load_max=0.0,
        web_peak=0,
        web_largest=max((hwm_bytes(p) for p in web_pids), default=0),
        worker_peak=0,
        web_cpu=cpu_seconds(web_pids) - web_cpu,
        machine_busy=(busy1 - busy0) / (total1 - total0) * (os.cpu_count() or 1),
        elapsed=elapsed,
        generator_cpu=own1.ru_utime + own1.ru_stime - own0.ru_utime - own0.ru_stime,
    )
    if ingest is not None:
        if ingest.returncode is None:
            print("   the window closed before the ingest finished; waiting for it")
        ingest.join()
        phase.ingest = ingest
        # The part of the window the ingest ran in (it may outlast the window).
        phase.ingest_window = (
            max(0.0, ingest.started - opened),
            min(args.seconds, ingest.finished - opened),
        )
    watch.stop()
    phase.load_max = watch.load_max
    phase.web_peak = watch.peak["web"]
    phase.worker_peak = watch.peak["worker"]
    archive.web_stop()
    return phase


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 s per phase, 12 pages")
    parser.add_argument("--seconds", type=float, help="length of each phase (120)")
    parser.add_argument("--search-rate", type=float, default=5.0, help="per second")
    parser.add_argument("--iiif-rate", type=float, default=40.0, help="per second")
    parser.add_argument("--page-rate", type=float, default=5.0, help="per second")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply every rate (find capacity)"
    )
    parser.add_argument("--ingest-pages", type=int, help="pages in the delivery (40)")
    parser.add_argument(
        "--ingest-size", default="2000x3000", help="page size in px (2000x3000)"
    )
    parser.add_argument(
        "--ingest-workers", type=int, help="ingest_dadian --workers (INGEST_WORKERS)"
    )
    parser.add_argument(
        "--ratelimits",
        choices=("on", "off"),
        default="on",
        help="on: the shipped limits (429s counted apart); off: search and IIIF unlimited",
    )
    parser.add_argument(
        "--database-url", help="a PostgreSQL server to use (postgres://…)"
    )
    parser.add_argument("--broker", help="a Redis broker to use (redis://…/N)")
    parser.add_argument("--timeout", type=float, default=30.0, help="per request, s")
    parser.add_argument("--senders", type=int, default=256, help="sender threads")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--front",
        choices=("nginx", "none"),
        default="nginx" if shutil.which("nginx") else "none",
        help="nginx: as deployed (docs/deploy/nginx.conf, gunicorn sync x2); "
        "none: gunicorn gthread 2x2 alone, every request to Django",
    )
    args = parser.parse_args()
    args.seconds = args.seconds or (20.0 if args.quick else 120.0)
    args.ingest_pages = args.ingest_pages or (12 if args.quick else 40)
    width, height = (int(v) for v in args.ingest_size.lower().split("x"))
    args.rates = {
        "search": args.search_rate * args.scale,
        "iiif": args.iiif_rate * args.scale,
        "pages": args.page_rate * args.scale,
    }

    # Ctrl-C and SIGTERM both end in the finally below, which stops every
    # process this script started and removes its folder.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.stdout.reconfigure(line_buffering=True)
    print(
        f"load: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    print(
        f"      {args.seconds:.0f} s per phase; search {args.rates['search']:g}/s, "
        f"IIIF {args.rates['iiif']:g}/s, pages {args.rates['pages']:g}/s; rate limits "
        f"{'as shipped' if args.ratelimits == 'on' else 'off for search and IIIF'}; "
        f"ingest {args.ingest_pages} pages of {width}x{height}"
    )
    archive = None
    try:
        archive = Archive(args)
        db = "PostgreSQL" if args.database_url else "SQLite"
        broker = "Redis" if args.broker else "filesystem"
        print(f"set-up in {archive.dir} ({db}, {broker} broker):", flush=True)
        archive.setup()
        started = time.monotonic()
        delivery = delivery_make(
            archive.dir / "delivery", args.ingest_pages, width, height
        )
        size = sum(p.stat().st_size for p in delivery.rglob("*.jpg"))
        print(
            f"  delivery: {args.ingest_pages} pages, {size / 2**20:.0f} MiB, "
            f"made in {time.monotonic() - started:.1f} s"
        )
        archive.django()
        archive.worker_start()
        archive.web_start()
        print(
            "  web: "
            + (
                "nginx (docs/deploy/nginx.conf) in front of gunicorn -k sync -w 2, "
                "as deployed"
                if args.front == "nginx"
                else "gunicorn -k gthread -w 2 --threads 2 alone, no front"
            )
        )
        plan = plan_make(archive.port, random.Random(args.seed))
        tiles = sum(len(level) for levels in plan.tiles.values() for level in levels)
        print(
            f"  {len(plan.items)} items, {len(plan.tiles)} page images ({tiles} "
            f"distinct tiles), {len(plan.queries)} queries, e.g. "
            + ", ".join(plan.queries[:: max(1, len(plan.queries) // 6)][:6])
        )
        base = run_phase(archive, plan, "no ingest", args, None)
        phase_report(base)
        ingest = IngestRun(archive, delivery, args.ingest_pages)
        loaded = run_phase(archive, plan, "with ingest", args, ingest)
        phase_report(loaded)
        comparison(base, loaded)
        if not ingest.complete:
            print("\nload: the ingest did not take every page (see above)")
            return 1
    except KeyboardInterrupt:
        print("\nload: interrupted; cleaning up")
        return 130
    finally:
        # A second Ctrl-C must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if archive is not None:
            archive.close()
        print(
            f"load average at the end {' '.join(f'{v:.2f}' for v in os.getloadavg())}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
