"""IIIF Image API benchmark: our server against IIPImage on the same pyramid.

Run with ``make bench`` or ``.venv/bin/python bench/iiif_tiles.py [--quick]``.

What it does, in one run:

1. Makes a 6000x9000 page (a sample page scaled up, saved as JPEG), ingests it
   into a throw-away archive (SQLite, its own storage folder) and builds the
   pyramid with the project's recipe (``iiif.services.PYRAMID_OPTIONS``).
2. Starts the project in its documented production configuration: nginx in
   front (docs/deploy/nginx.conf), gunicorn ``-k sync -w 2 --timeout 120``,
   ``DJANGO_ENV=production``, the on-disk tile cache on; and, as the named
   baseline, IIPImage 1.1 (Debian ``iipimage-server``, 2 FastCGI processes
   behind lighttpd) reading the same TIFF. Both on 127.0.0.1.
3. Drives both with ``wrk`` over the same request mix, on forms valid in Image
   API 2 and 3 (``w,`` sizes, ``default.jpg``; Debian's IIPImage speaks 2.x):
   every 256-px viewer tile at scale factors 1 to 32 as OpenSeadragon asks for
   them, random 512x512 full-resolution regions, 200-px thumbnails, info.json;
   at concurrency 1, 4 and 16; cold (caches emptied, servers restarted, each
   URL once) and warm (the same URLs again).
4. Prints requests/s, p50 and p99 for each, their ratio to IIPImage, the peak
   RSS of the web processes, and the time to build a 1,000-canvas manifest.

Nothing is asserted; docs/performance.md records the figures.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LUA = ROOT / "bench" / "wrk_paths.lua"
WIDTH, HEIGHT = 6000, 9000
#: The page each server is warmed on before a cold pass.
WARM_WIDTH, WARM_HEIGHT = 2000, 3000
IIPSRV = "/usr/lib/iipimage-server/iipsrv.fcgi"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url_host: str, port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((url_host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {url_host}:{port}")


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time used so far by these processes."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_idle(pids, timeout: float = 120.0) -> None:
    """Wait until the processes have used less than 2 % of a core for a second."""
    deadline = time.monotonic() + timeout
    time.sleep(1.0)
    last = cpu_seconds(pids())
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = cpu_seconds(pids())
        if now - last < 0.02:
            return
        last = now
    raise RuntimeError("the web processes never went idle")


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


class Workdir:
    """The throw-away archive: env, database, storage, the page and its pyramid."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="yuecang-bench-iiif-"))
        self.env = {
            **os.environ,
            "DJANGO_ENV": "production",
            "DJANGO_SETTINGS_MODULE": "archive.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_LOG_LEVEL": "WARNING",
            "DATABASE_URL": f"sqlite:///{self.dir / 'bench.sqlite3'}",
            "ARCHIVE_STORAGE_ROOT": str(self.dir / "storage"),
            "YUECANG_VAR_DIR": str(self.dir / "var"),
            # As documented for production behind nginx (README, hardening.md).
            "ARCHIVE_TRUSTED_PROXIES": "127.0.0.1/32",
            "ARCHIVE_ACCEL_REDIRECT": "/_storage/",
            # One client address makes every request here: the IIIF limit stays
            # on (its counting is measured) but is set where it never refuses.
            "ARCHIVE_RATELIMIT_IIIF": "1000000000",
        }
        if redis_reachable():
            # The documented production cache (shared rate-limit counters).
            self.env["DJANGO_CACHE_URL"] = "redis://127.0.0.1:6379/14"
        self.spent = 0
        self.cache_name = "Redis" if "DJANGO_CACHE_URL" in self.env else "file"
        self.env.pop("CELERY_BROKER_URL", None)
        os.environ.update(self.env)

    def cache_set_aside(self) -> None:
        """Empty the tile cache for a cold pass by moving it aside, not deleting it.

        The old folders are deleted with the work folder at the end of the run.
        Deleting a pass's ~1,200 files right before the next pass made that
        pass pay for it: on ext4 without a journal (this machine's root file
        system), each new inode skips every inode deleted in the last one to
        six minutes (``recently_deleted`` in ``find_inode_bit``; perf), and a
        new file then cost 0.6 to 1 ms of CPU instead of 40 µs, growing with
        every pass. A page nobody has viewed yet on a running server does not
        come right after a thousand deletions; docs/deploy/hardening.md says
        where to put the cache in production.
        """
        cache = Path(self.env["YUECANG_VAR_DIR"]) / "iiif-cache"
        if cache.exists():
            self.spent += 1
            cache.rename(self.dir / f"spent-cache-{self.spent}")

    def build(self) -> tuple[str, Path]:
        """Ingest a 6000x9000 page; return its image identifier and pyramid path.

        Also ingests a second, smaller page (``bench-warm``, 2000x3000, linked
        as ``warm.tif`` for IIPImage): the cold passes warm each server's
        processes on it first, so "cold" means a page nobody has viewed yet on
        a running server, not a server's start-up.
        """
        import django

        django.setup()
        import pyvips
        from django.core.management import call_command

        from archive.models import Asset, Institution, Item, PageImage
        from archive.services import asset_create
        from iiif.identifiers import image_identifier
        from iiif.services import page_pyramid_make

        call_command("migrate", verbosity=0)
        institution = Institution.objects.create(code="bench", name="基準")

        def page_make(source: Path, width: int, height: int, public_id: str) -> Path:
            """A page of a new public volume from a sample scan; its pyramid's path."""
            image = pyvips.Image.new_from_file(str(source))
            image = image.resize(width / image.width, vscale=height / image.height)
            # Scanner-like grain, so the pyramid is as large as a real scan's
            # (about 20 MB at 6000x9000, not the 5 MB of a clean upscale) and
            # decoding costs what it would.
            grain = pyvips.Image.gaussnoise(width, height, sigma=14, mean=0)
            image = (image + grain.bandjoin([grain, grain])).cast("uchar")
            jpeg = self.dir / f"{public_id}-{width}x{height}.jpg"
            image.jpegsave(str(jpeg), Q=90)
            item = Item.objects.create(
                public_id=f"{public_id.removesuffix('-page')}-volume",
                kind=Item.Kind.BOOK_VOLUME,
                institution=institution,
                title="基準",
                rights_uri="http://rightsstatements.org/vocab/NoC-NC/1.0/",
                required_statement="bench",
                access_level="public",
            )
            asset, _ = asset_create(item=item, source=jpeg, role=Asset.Role.PAGE)
            start = time.perf_counter()
            pyramid = page_pyramid_make(asset=asset)
            self.pyramid_seconds = time.perf_counter() - start
            PageImage.objects.create(
                item=item,
                sequence=1,
                asset=asset,
                width=width,
                height=height,
                public_id=public_id,
            )
            return pyramid.abspath

        pages = ROOT / "ingest/sample/dadian/sanzijing-v1/pages"
        warm = page_make(pages / "0001.jpg", WARM_WIDTH, WARM_HEIGHT, "bench-warm")
        measured = page_make(pages / "0002.jpg", WIDTH, HEIGHT, "bench-page")
        shared = self.dir / "iip" / "bench.tif"
        shared.parent.mkdir()
        os.link(measured, shared)
        os.link(warm, self.dir / "iip" / "warm.tif")
        self.warm_identifier = image_identifier("bench-warm")
        return image_identifier("bench-page"), shared


def process_tree(process: subprocess.Popen | None) -> list[int]:
    """A server's process and its children (gunicorn's workers)."""
    if not process:
        return []
    children = subprocess.run(
        ["pgrep", "-P", str(process.pid)], capture_output=True, text=True
    ).stdout.split()
    return [process.pid, *map(int, children)]


def gunicorn_argv(port: int, workers: int = 2, threads: int = 0) -> list[str]:
    """gunicorn as production runs it (README "Production"): sync workers, on 127.0.0.1.

    ``threads`` > 0: the threaded worker class (``gthread``) instead, as
    ``bench/search.py`` runs it with no front server (a sync worker needs a
    buffering front such as nginx).
    """
    kind = ["-k", "gthread", "--threads", str(threads)] if threads else ["-k", "sync"]
    return [
        str(Path(sys.executable).with_name("gunicorn")),
        "archive.wsgi:application",
        *kind,
        "-w",
        str(workers),
        "--timeout",
        "120",
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]


class Gunicorn:
    """The project in its production configuration."""

    def __init__(self, work: Workdir, workers: int = 2) -> None:
        self.work, self.workers = work, workers
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.stop()
        self.work.cache_set_aside()
        self.process = subprocess.Popen(
            gunicorn_argv(self.port, self.workers),
            cwd=ROOT,
            env=self.work.env,
        )
        wait_for("127.0.0.1", self.port)
        # Each worker builds search's word list as it loads (SEARCH_WARM_AT_START,
        # about 10 s of CPU): measure only once every worker is up and idle.
        wait_idle(self.pids)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)

    def pids(self) -> list[int]:
        return process_tree(self.process)

    def base(self, identifier: str) -> str:
        return f"/iiif/3/image/{identifier}"

    name = (
        "gunicorn -k sync -w 2 --timeout 120 alone (README Production puts nginx "
        "in front), DJANGO_ENV=production"
    )


def nginx_start(
    folder: Path, *, port: int, upstream: int, cache_dir: Path, storage_root: str
) -> subprocess.Popen:
    """Debian's nginx with docs/deploy/nginx.conf as written, on 127.0.0.1:``port``.

    In front of gunicorn on ``upstream``, 2 worker processes, its files in
    ``folder``; returns once it answers.
    """
    folder.mkdir(exist_ok=True)
    server = (ROOT / "docs" / "deploy" / "nginx.conf").read_text()
    server = server.replace("@IIIF_CACHE_DIR@", str(cache_dir))
    server = server.replace("@UPSTREAM@", f"127.0.0.1:{upstream}")
    server = server.replace("@STORAGE_ROOT@", storage_root)
    server = re.sub(r"listen\s+[^;]+;", f"listen 127.0.0.1:{port};", server, count=1)
    (folder / "server.conf").write_text(server)
    (folder / "nginx.conf").write_text(
        "user root;\nworker_processes 2;\ndaemon off;\n"
        f"pid {folder}/nginx.pid;\nerror_log {folder}/error.log warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n  access_log off;\n"
        f"  client_body_temp_path {folder}/body;\n"
        f"  proxy_temp_path {folder}/proxy;\n"
        f"  fastcgi_temp_path {folder}/fcgi;\n"
        f"  uwsgi_temp_path {folder}/uwsgi;\n"
        f"  scgi_temp_path {folder}/scgi;\n"
        f"  include {folder}/server.conf;\n}}\n"
    )
    process = subprocess.Popen(["nginx", "-c", str(folder / "nginx.conf")])
    wait_for("127.0.0.1", port)
    return process


class NginxFront:
    """The documented production front: nginx serves cached public tiles from disk
    (docs/deploy/nginx.conf) and passes everything else to gunicorn."""

    name = (
        "nginx with docs/deploy/nginx.conf in front of gunicorn -k sync -w 2 "
        "--timeout 120, DJANGO_ENV=production (README Production)"
    )

    def __init__(self, app: Gunicorn) -> None:
        self.app = app
        self.port = free_port()
        self.folder = app.work.dir / "nginx"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.stop()
        self.app.start()
        env = self.app.work.env
        self.process = nginx_start(
            self.folder,
            port=self.port,
            upstream=self.app.port,
            cache_dir=Path(env["YUECANG_VAR_DIR"]) / "iiif-cache",
            storage_root=env["ARCHIVE_STORAGE_ROOT"],
        )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.app.stop()

    def pids(self) -> list[int]:
        return self.app.pids()

    def base(self, identifier: str) -> str:
        return self.app.base(identifier)


class IIPImage:
    """IIPImage 1.1 from Debian, 2 FastCGI processes behind lighttpd (the baseline)."""

    name = "IIPImage 1.1 (Debian iipimage-server), 2 FastCGI processes behind lighttpd"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.stop()
        conf = self.folder / "lighttpd.conf"
        conf.write_text(
            f'server.document-root = "{self.folder}"\n'
            f"server.port = {self.port}\n"
            'server.bind = "127.0.0.1"\n'
            'server.modules = ("mod_fastcgi")\n'
            f'server.errorlog = "{self.folder}/error.log"\n'
            'fastcgi.server = ( "/fcgi-bin/iipsrv.fcgi" => (( '
            f'"socket" => "{self.folder}/iipsrv.socket", "check-local" => "disable", '
            '"min-procs" => 2, "max-procs" => 2, '
            f'"bin-path" => "{IIPSRV}", '
            f'"bin-environment" => ( "FILESYSTEM_PREFIX" => "{self.folder}/", '
            '"VERBOSITY" => "0", "JPEG_QUALITY" => "85", "MAX_CVT" => "10000" ) )) )\n'
        )
        self.process = subprocess.Popen(["lighttpd", "-D", "-f", str(conf)])
        wait_for("127.0.0.1", self.port)
        time.sleep(1.0)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        subprocess.run(["pkill", "-f", f"{self.folder}/iipsrv.socket"], check=False)

    def pids(self) -> list[int]:
        return []

    def base(self, identifier: str) -> str:
        name = "warm.tif" if identifier.startswith("bench-warm") else "bench.tif"
        return f"/fcgi-bin/iipsrv.fcgi?IIIF={name}"


def viewer_tiles(width: int = WIDTH, height: int = HEIGHT) -> list[str]:
    """Every 256-px tile at scale factors 32 down to 1, in OpenSeadragon's order."""
    paths = []
    for scale in (32, 16, 8, 4, 2, 1):
        span = 256 * scale
        for y in range(0, height, span):
            for x in range(0, width, span):
                w, h = min(span, width - x), min(span, height - y)
                paths.append(f"/{x},{y},{w},{h}/{math.ceil(w / scale)},/0/default.jpg")
    return paths


def random_regions(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    corners = [
        (rng.randrange(0, WIDTH - 512), rng.randrange(0, HEIGHT - 512))
        for _ in range(count)
    ]
    return [f"/{x},{y},512,512/512,/0/default.jpg" for x, y in corners]


def run_wrk(
    port: int, paths: list[str], concurrency: int, once: bool, seconds: int
) -> dict:
    """One wrk run; returns requests/s, p50 and p99 in ms, and non-2xx count."""
    threads = min(concurrency, 2)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("\n".join(paths) + "\n")
        paths_file = fh.name
    env = {
        **os.environ,
        "PATHS_FILE": paths_file,
        "NTHREADS": str(threads),
        "ONCE": "1" if once else "0",
    }
    started = time.perf_counter()
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(concurrency),
            "-d",
            f"{seconds}s",
            "--latency",
            "-s",
            str(LUA),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    wall = time.perf_counter() - started
    os.unlink(paths_file)

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    # wrk divides by the run's full duration even when every thread stopped early
    # (a cold pass): count the requests over the wall time instead.
    done = int(re.search(r"(\d+) requests in", out).group(1))
    rps = (
        done / wall
        if once
        else float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    )
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50": latency("50"),
        "p99": latency("99"),
        "errors": int(errors.group(1)) if errors else 0,
    }


def run_once(port: int, paths: list[str], concurrency: int) -> dict:
    """A cold pass: every path exactly once over ``concurrency`` keep-alive connections.

    wrk cannot end a run when its list is done (it always runs for its
    duration), so cold passes use this small client and the wall time.
    """
    import http.client
    import queue

    todo: queue.Queue = queue.Queue()
    for path in paths:
        todo.put(path)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def client() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            try:
                path = todo.get_nowait()
            except queue.Empty:
                break
            start = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                latencies.append(elapsed)
                if response.status >= 400:
                    errors += 1
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]

    return {
        "rps": len(latencies) / wall,
        "p50": pct(50),
        "p99": pct(99),
        "errors": errors,
    }


class RssSampler(threading.Thread):
    """Samples the summed RSS of the web processes every 0.2 s."""

    def __init__(self, server) -> None:
        super().__init__(daemon=True)
        self.server, self.peak, self.peak_process, self.running = server, 0, 0, True

    def run(self) -> None:
        while self.running:
            total = 0
            for pid in self.server.pids():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                match = re.search(r"VmRSS:\s+(\d+)", status)
                if match is None:  # a zombie between stop and reaping
                    continue
                kib = int(match.group(1))
                total += kib
                self.peak_process = max(self.peak_process, kib)
            self.peak = max(self.peak, total)
            time.sleep(0.2)


def manifest_figures() -> str:
    """Time to build a 1,000-canvas manifest, and to serve it again from the cache."""
    try:
        from iiif import presentation  # noqa: F401
    except ImportError:
        return "manifest: iiif.presentation is not there yet"
    from django.core.cache import cache
    from django.test import Client

    from archive.models import Asset, Item, PageImage

    item = Item.objects.get(public_id="bench-volume")
    first = Asset.objects.filter(item=item).first()
    # A page's file is its own asset (one page per asset and item).
    assets = Asset.objects.bulk_create(
        [
            Asset(
                item=item,
                role=first.role,
                sha256=f"{n:064x}",
                storage_path=first.storage_path,
                original_filename=f"{n:04d}.jpg",
                size=first.size,
                media_type=first.media_type,
            )
            for n in range(2, 1001)
        ]
    )
    if assets[0].pk is None:  # back ends that return no keys from bulk_create
        assets = list(
            Asset.objects.filter(item=item).exclude(pk=first.pk).order_by("pk")
        )
    PageImage.objects.bulk_create(
        [
            PageImage(
                item=item,
                sequence=n,
                asset=assets[n - 2],
                width=WIDTH,
                height=HEIGHT,
                label=f"第{n}葉",
                public_id=f"bench-page-{n}",
            )
            for n in range(2, 1001)
        ]
    )
    client = Client()
    # A running server: its process has served a manifest before (imports,
    # converters, templates), though never this one.
    client.get("/iiif/3/manifest/bench-warm-volume", HTTP_HOST="127.0.0.1")
    # As archive/wsgi.py does once the application is loaded.
    gc.freeze()
    builds = []
    for _ in range(5):
        cache.clear()  # the manifest cache: each of these builds it afresh
        start = time.perf_counter()
        response = client.get("/iiif/3/manifest/bench-volume", HTTP_HOST="127.0.0.1")
        builds.append(time.perf_counter() - start)
    builds.sort()
    timings = []
    for _ in range(20):
        start = time.perf_counter()
        client.get("/iiif/3/manifest/bench-volume", HTTP_HOST="127.0.0.1")
        timings.append(time.perf_counter() - start)
    timings.sort()
    return (
        f"manifest, 1,000 canvases: built and served with an empty cache in "
        f"p50 {builds[2] * 1000:.0f} ms (best {builds[0] * 1000:.0f}, worst "
        f"{builds[-1] * 1000:.0f}; status {response.status_code}, "
        f"{len(response.content) // 1024} KiB); from cache p50 {timings[10] * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="concurrency 4 only, short runs"
    )
    args = parser.parse_args()
    for tool in ("wrk", "lighttpd", IIPSRV):
        if not shutil.which(tool) and not os.path.exists(tool):
            sys.exit(
                f"iiif_tiles: {tool} is missing (apt-get install wrk lighttpd iipimage-server)"
            )
    work = Workdir()
    identifier, tif = work.build()
    print(
        f"page {WIDTH}x{HEIGHT}: pyramid built in {work.pyramid_seconds:.2f} s "
        f"({tif.stat().st_size / 2**20:.1f} MiB); Django cache: {work.cache_name}"
    )
    iip = IIPImage(tif.parent)
    ours = NginxFront(Gunicorn(work)) if shutil.which("nginx") else Gunicorn(work)
    if not shutil.which("nginx"):
        print(
            "nginx is missing (apt-get install nginx-light): measuring gunicorn alone"
        )
    tiles = viewer_tiles()
    warm_paths = viewer_tiles(WARM_WIDTH, WARM_HEIGHT)
    concurrencies = [4] if args.quick else [1, 4, 16]
    seconds = 5 if args.quick else 10
    classes = [
        ("viewer tiles, cold", lambda c: tiles, True),
        ("viewer tiles, warm", lambda c: tiles, False),
        ("512-px regions, cold", lambda c: random_regions(400, seed=c), True),
        ("thumbnail 200,", lambda c: ["/full/200,/0/default.jpg"], False),
        ("info.json", lambda c: ["/info.json"], False),
    ]
    results: dict = {}
    peaks = {}
    for server in (iip, ours):
        sampler = RssSampler(server)
        sampler.start()
        for label, make_paths, cold in classes:
            for conc in concurrencies:
                if cold or server.process is None or server.process.poll() is not None:
                    server.start()
                paths = [server.base(identifier) + p for p in make_paths(conc)]
                if cold:
                    # Warm every process on another page (imports, code paths,
                    # connections), leaving this page's caches empty.
                    warm_base = server.base(work.warm_identifier)
                    run_once(
                        server.port,
                        [warm_base + p for p in ["/info.json", *warm_paths]],
                        4,
                    )
                    run_once(server.port, [server.base(identifier) + "/info.json"], 1)
                    results[(server.name, label, conc)] = run_once(
                        server.port, paths, conc
                    )
                else:
                    run_once(server.port, paths, 4)  # fill the caches
                    results[(server.name, label, conc)] = run_wrk(
                        server.port, paths, conc, once=False, seconds=seconds
                    )
                if cold:
                    server.stop()
        server.stop()
        sampler.running = False
        sampler.join()
        peaks[server.name] = (sampler.peak, sampler.peak_process)
    print(f"\nyuecang: {ours.name}\nbaseline: {iip.name}")
    print(
        f"\n{'class':24} {'conc':>4} | {'IIPImage req/s':>14} {'p50':>7} {'p99':>7} | "
        f"{'yuecang req/s':>13} {'p50':>7} {'p99':>7} | {'ratio':>5}"
    )
    for label, _, _ in classes:
        for conc in concurrencies:
            base = results[(iip.name, label, conc)]
            mine = results[(ours.name, label, conc)]
            errors = (
                f"  errors {base['errors']}/{mine['errors']}"
                if base["errors"] or mine["errors"]
                else ""
            )
            print(
                f"{label:24} {conc:>4} | "
                f"{base['rps']:14.0f} {base['p50']:6.1f}ms {base['p99']:6.1f}ms | "
                f"{mine['rps']:13.0f} {mine['p50']:6.1f}ms {mine['p99']:6.1f}ms | "
                f"{mine['rps'] / base['rps']:5.2f}x{errors}"
            )
    total, per_process = peaks[ours.name]
    print(
        f"\nyuecang web processes: peak RSS {total / 1024:.0f} MiB in all, "
        f"{per_process / 1024:.0f} MiB for the largest process"
    )
    print(manifest_figures())
    shutil.rmtree(work.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
