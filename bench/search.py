"""Search benchmark: the embedded engine and the JSON API against SQLite FTS5.

Run with ``make bench`` or ``.venv/bin/python bench/search.py [--docs N]
[--quick] [--keep]`` (``--quick``: 10,000 segments; ``--keep`` keeps the
temporary folder). Issue 7, item 8.

What it does, in one run, in a throw-away archive (a temporary folder holds
the SQLite database, the index and the baselines; removed at the end):

1. **Corpus.** ``bench/search_corpus.py`` makes N synthetic colloquial
   Cantonese transcript segments (60 to 90 characters, Traditional) from the
   word statistics of the project's sample texts and HKCanCor, and draws 50
   queries per class from them (so they hit): 1-, 2- and 4-character terms,
   quoted phrases, toned Jyutping (``gwong2 zau1``) and toneless joined
   Jyutping (``gwongzau``). ``manage.py migrate`` runs meanwhile in another
   process (test settings, a new SQLite database; not timed).
2. **Records.** An institution, one public oral-history item per 500
   segments, each with a recording and a finished transcript, and the
   segments (``bulk_create``).
3. **Indexing, the project's engine** (``archive.search.embedded``, tantivy):

   - ``reindex_all()``, the project's own entry point (``manage.py
     reindex``) on all N: documents built from the database by the
     registered sources, analysed (folding, OpenCC, bigrams, Jyutping) in
     the engine's parallel bulk path (``replace_all``: worker processes, one
     per core up to 4), written to a new generation. This index serves
     everything below. The headline rate.
   - ``replace_all()`` of 5,000 ready-made ``SearchDocument`` objects (the
     same bulk path without the database), into a scratch folder;
   - ``index(workers=1)`` of 2,000: the serial path of the indexing task;
   - the same 2,000 again, step by step (analysis with and without
     Jyutping, the engine's token preparation, pickling to the workers,
     tantivy documents, tantivy's writer): where the time goes.

4. **Queries, the engine alone.** ``archive.search.query.parse`` (timed on
   its own), then ``engine.search(EngineRequest(..., scope=public,
   limit=20))``: the total, the top 20 and their stored documents. All 300
   queries: one warm-up pass, then 5 passes single client; then 4 clients
   (threads in this process, each its own shuffled order, 2 passes each).
5. **Queries, the JSON API** ``/api/search?q=`` through Django in this
   process (``django.test.Client``: middleware, view, service, the final
   access check against the database rows, JSON), 20 queries per class
   spread over each list: warm-up, 2 passes single client, then 4 clients
   (threads, one pass each); then the same queries over HTTP to the project
   as deployed (README "Production"): nginx with docs/deploy/nginx.conf in
   front of gunicorn's 2 sync workers (``Served``; kept-alive connections to
   nginx, one per client; without nginx, gunicorn ``gthread`` 2x2 alone),
   single client and 4 clients. The targets apply to what is served over HTTP; the 4 threads
   in one process share one interpreter lock, which no deployment does, and
   are kept for information.
6. **Baselines on the same segments**, each an on-disk SQLite database:

   - **FTS5 over the same pre-split terms** (the fair baseline): the
     project analyzer's ``cjk1`` and ``cjk2`` tokens (no Jyutping), space
     separated, in two columns (``tokenize='ascii'``), the text stored
     alongside; a term is its bigrams ANDed (one character: its unigram), a
     quoted phrase the phrase of its bigrams; one statement gives the top
     20 by bm25 and the total (``count(*) OVER ()``), as the engine also
     returns the total. All character queries, 3 passes single client and
     2 passes each with 4 clients. Indexing is timed with and without the
     analysis, ``optimize`` included.
   - **FTS5 trigram tokenizer** on the raw text, used as its user would
     have to: ``MATCH`` the quoted string when it has 3 characters or more;
     otherwise ``LIKE '%..%'``. The SQLite in this Python (3.40) answers a
     ``LIKE`` of one or two CJK characters on a trigram table with no rows
     at all (ASCII works), so the latency is of the fallback that answers:
     a scan forced with ``+body LIKE``. 20 queries per class, one pass.

   Jyutping cannot be asked of either: "n/a".
7. **Recall** per class against the engine's hit set (every segment it
   matches, not only the top 20), on 10 queries per class (50 with
   ``--quick``): the share of the engine's segments each baseline finds
   (mean over queries), and how many it finds that the engine does not. For
   the trigram baseline: its index alone (``MATCH``), with ``LIKE`` as
   written, and with the forced scan.

Percentiles are of per-request wall time (``time.perf_counter``). The
targets (issue 7 item 8) are printed beside the figures with PASS or MISS;
nothing is asserted and the script exits 0 (1 only if a step fails). The
load average is printed at the start and the end: other work on the machine
slows every figure. docs/performance.md ("Search") records the figures.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The repo root, not bench/, first: bench/ingest.py would hide the ingest app.
sys.path[:] = [str(ROOT)] + [
    p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"
]

from bench.iiif_tiles import (  # noqa: E402
    free_port,
    gunicorn_argv,
    nginx_start,
    process_tree,
    wait_for,
    wait_idle,
)
from bench.search_corpus import QUERY_CLASSES, query_sets, segments  # noqa: E402

SEGMENTS_PER_ITEM = 500
CLIENTS = 4
#: Timed passes over every query: engine, API, FTS5 bigram, FTS5 trigram.
ROUNDS = {"engine": 5, "api": 2, "bigram": 3, "trigram": 1}
#: Passes each client makes when 4 run at once.
ROUNDS_CONCURRENT = {"engine": 2, "api": 1, "bigram": 2}
#: Queries per class for the slow systems (the API, the trigram scans), evenly
#: spread over each class's list so frequent and rare terms both count.
SLOW_QUERIES = 20
TOP = 20
#: Documents for the engine's bulk path without the database, and its serial path.
READY_SAMPLE, READY_SAMPLE_QUICK = 5_000, 2_000
SERIAL_SAMPLE, SERIAL_SAMPLE_QUICK = 2_000, 500
#: Queries per class whose every match is compared (all 50 with --quick).
RECALL_QUERIES, RECALL_QUERIES_QUICK = 10, 50

#: Targets of issue 7 item 8 (milliseconds, documents per second).
TARGET_API_P95 = 30.0
TARGET_API_P95_CONCURRENT = 100.0
TARGET_ENGINE_P99 = 5.0
TARGET_INDEX_RATE = 3000.0

JYUTPING_CLASSES = ("jyutping", "jyutping-toneless")
CHAR_CLASSES = tuple(c for c in QUERY_CLASSES if c not in JYUTPING_CLASSES)


# ---------------------------------------------------------------------------
# Measuring


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; NaN if empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Latencies:
    """Per-request seconds by query class, and the wall time of the whole run."""

    by_class: dict[str, list[float]] = field(default_factory=dict)
    wall: float = 0.0
    errors: int = 0

    def add(self, cls: str, seconds: float) -> None:
        self.by_class.setdefault(cls, []).append(seconds)

    def ms(self, cls: str, q: float) -> float:
        return percentile(self.by_class.get(cls, []), q) * 1000

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.by_class.values())

    @property
    def rate(self) -> float:
        return self.count / self.wall if self.wall else float("nan")


Work = list[tuple[str, str]]  # (class, query)


def work_of(
    queries: dict[str, list[str]], classes: Iterable[str], per_class: int | None = None
) -> Work:
    """(class, query) pairs; ``per_class`` evenly spread ones of each class if given."""
    work = []
    for cls in classes:
        qs = queries[cls]
        if per_class is not None and per_class < len(qs):
            qs = [qs[i * len(qs) // per_class] for i in range(per_class)]
        work += [(cls, q) for q in qs]
    return work


def run_single(run: Callable[[str, str], object], work: Work, rounds: int) -> Latencies:
    """One untimed warm-up pass, then ``rounds`` timed passes, one request at a time."""
    for cls, query in work:
        run(cls, query)
    result = Latencies()
    clock = time.perf_counter
    started = clock()
    for _ in range(rounds):
        for cls, query in work:
            t0 = clock()
            run(cls, query)
            result.add(cls, clock() - t0)
    result.wall = clock() - started
    return result


def run_concurrent(
    make_runner: Callable[[], tuple[Callable[[str, str], object], Callable[[], None]]],
    work: Work,
    rounds: int,
    clients: int = CLIENTS,
) -> Latencies:
    """``clients`` threads, each with its own runner and shuffled copy of the work."""
    result = Latencies()
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    failures: list[BaseException] = []

    def client(number: int) -> None:
        try:
            run, close = make_runner()
        except BaseException as error:  # noqa: BLE001 (re-raised after join; the barrier must not hang)
            failures.append(error)
            barrier.wait()
            return
        order = work * rounds
        random.Random(number).shuffle(order)
        mine: list[tuple[str, float]] = []
        clock = time.perf_counter
        barrier.wait()
        try:
            for cls, query in order:
                t0 = clock()
                run(cls, query)
                mine.append((cls, clock() - t0))
        except BaseException as error:  # noqa: BLE001 (re-raised in the main thread)
            failures.append(error)
        finally:
            close()
        with lock:
            for cls, seconds in mine:
                result.add(cls, seconds)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    result.wall = time.perf_counter() - started
    if failures:
        raise failures[0]
    return result


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def mib(size: float) -> str:
    return f"{size / 2**20:,.1f}"


# ---------------------------------------------------------------------------
# Django, records and the engine


def django_environment(temp: Path) -> dict[str, str]:
    """Point this process (and its children) at test settings and ``temp``.

    Must run before anything imports ``archive``: its Celery app reads the
    settings, which read ``DATABASE_URL`` once.
    """
    os.environ["DJANGO_SETTINGS_MODULE"] = "archive.settings.test"
    os.environ["DATABASE_URL"] = f"sqlite:///{temp / 'archive.sqlite3'}"
    os.environ["YUECANG_VAR_DIR"] = str(temp / "var")
    # The test settings make a temporary folder of their own in each process
    # that loads them: inside ``temp``, they go when it goes.
    os.environ["TMPDIR"] = str(temp)
    tempfile.tempdir = str(temp)
    return dict(os.environ)


def migrate_start(temp: Path) -> subprocess.Popen:
    """``manage.py migrate`` on the new database, in a process of its own."""
    log = open(temp / "migrate.log", "w")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=django_environment(temp),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def django_start(temp: Path) -> None:
    """Django in this process, on the database ``migrate_start`` made."""
    import django
    from django.conf import settings

    django.setup()
    database = Path(settings.DATABASES["default"]["NAME"])
    if (
        settings.SETTINGS_MODULE != "archive.settings.test"
        or temp not in database.parents
    ):
        # Settings loaded before django_environment() would point at the
        # project's own database.
        raise RuntimeError(
            f"refusing to run against {database} ({settings.SETTINGS_MODULE}); "
            "Django was configured before the benchmark set its environment"
        )
    settings.SEARCH_INDEX_DIR = temp / "index"
    settings.SEARCH_AUTO_INDEX = False  # the bench indexes explicitly
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    from archive.search.engine import engines_forget

    engines_forget()


@dataclass
class Records:
    """What the bench created: segment pk and item public id for each text."""

    pks: list[int]
    items: list[str]
    starts: list[float]
    speakers: list[str]


def records_create(texts: list[str]) -> Records:
    """An institution, items with a recording and transcript each, and the segments."""
    import hashlib

    from archive.models import AccessLevel, Asset, Institution, Item
    from transcription.models import Segment, Transcript

    institution = Institution.objects.create(
        code="bench",
        name="基準區圖書館",
        name_en="Bench District Library",
        kind=Institution.Kind.DISTRICT,
    )
    interviewees = ["梁伯", "陳姨", "何生", "黃太", "麥婆婆"]
    pks: list[int] = []
    items: list[str] = []
    starts: list[float] = []
    speakers: list[str] = []
    for first in range(0, len(texts), SEGMENTS_PER_ITEM):
        number = first // SEGMENTS_PER_ITEM + 1
        item = Item.objects.create(
            kind=Item.Kind.ORAL_HISTORY,
            title=f"西關口述歷史 第{number}輯",
            title_en=f"Xiguan oral history {number}",
            institution=institution,
            rights_uri="http://rightsstatements.org/vocab/InC/1.0/",
            required_statement="基準區圖書館藏",
            access_level=AccessLevel.PUBLIC,
        )
        sha = hashlib.sha256(f"bench-{number}".encode()).hexdigest()
        asset = Asset.objects.create(
            item=item,
            role=Asset.Role.MEDIA,
            sha256=sha,
            storage_path=f"{sha[:2]}/{sha}",
            original_filename="interview.flac",
            size=1024,
            media_type="audio/flac",
        )
        chunk = texts[first : first + SEGMENTS_PER_ITEM]
        transcript = Transcript.objects.create(
            item=item,
            asset=asset,
            register=Transcript.Register.COLLOQUIAL,
            language="yue",
            status=Transcript.Status.DONE,
            engine="faster-whisper",
            model_name="base",
            duration=len(chunk) * 5.0,
        )
        rows = [
            Segment(
                transcript=transcript,
                start=k * 5.0,
                end=k * 5.0 + 4.8,
                text=text,
                machine_text=text,
                speaker="訪問者" if k % 3 == 0 else interviewees[number % 5],
            )
            for k, text in enumerate(chunk)
        ]
        Segment.objects.bulk_create(rows, batch_size=2000)
        for row in rows:
            pks.append(row.pk)
            items.append(item.public_id)
            starts.append(row.start)
            speakers.append(row.speaker)
    return Records(pks, items, starts, speakers)


def ready_documents(texts: list[str], records: Records) -> list:
    """The segments as ``SearchDocument`` objects, built directly (no database)."""
    from archive.search.engine import SearchDocument

    return [
        SearchDocument(
            key=f"segment:{pk}",
            type="segment",
            title="",
            body=text,
            item=item,
            gates=(),
            kind="oral_history",
            start=start,
            end=start + 4.8,
            speaker=speaker,
        )
        for text, pk, item, start, speaker in zip(
            texts,
            records.pks,
            records.items,
            records.starts,
            records.speakers,
            strict=True,
        )
    ]


@dataclass
class Indexing:
    label: str
    docs: int
    seconds: float
    size: int | None = None
    note: str = ""

    @property
    def rate(self) -> float:
        return self.docs / self.seconds if self.seconds else float("nan")


def engine_indexing(texts: list[str], records: Records, temp: Path, quick: bool):
    """Index with the project's entry point and the engine's bulk and serial paths."""
    from archive.search import indexing
    from archive.search.embedded import EmbeddedEngine
    from archive.search.engine import engine_get

    results: list[Indexing] = []
    engine = engine_get()
    workers = max(1, min(4, os.cpu_count() or 1))
    t0 = time.perf_counter()
    count = indexing.reindex_all()
    seconds = time.perf_counter() - t0
    size = folder_size(Path(engine.path))
    results.append(
        Indexing(
            "reindex_all(): database -> documents -> engine",
            count,
            seconds,
            size,
            f"parallel bulk path, {workers} analysis processes",
        )
    )
    documents = ready_documents(texts, records)
    sample = documents[: READY_SAMPLE_QUICK if quick else READY_SAMPLE]
    scratch = EmbeddedEngine(temp / "scratch-index", writer_wait=5)
    t0 = time.perf_counter()
    count = scratch.replace_all(sample)
    seconds = time.perf_counter() - t0
    results.append(
        Indexing(
            "replace_all(SearchDocuments), no database",
            count,
            seconds,
            folder_size(temp / "scratch-index"),
            f"parallel bulk path, {workers} analysis processes",
        )
    )
    shutil.rmtree(temp / "scratch-index", ignore_errors=True)
    serial = documents[: SERIAL_SAMPLE_QUICK if quick else SERIAL_SAMPLE]
    scratch = EmbeddedEngine(temp / "serial-index", writer_wait=5)
    t0 = time.perf_counter()
    count = scratch.index(serial, workers=1)
    seconds = time.perf_counter() - t0
    results.append(
        Indexing(
            "index(SearchDocuments, workers=1)",
            count,
            seconds,
            None,
            "serial path (the indexing task's)",
        )
    )
    shutil.rmtree(temp / "serial-index", ignore_errors=True)
    return engine, results, indexing_breakdown(serial, temp)


def indexing_breakdown(documents: list, temp: Path) -> list[tuple[str, float]]:
    """Seconds per document of each step of the engine's write path, serially.

    The engine's own functions on the documents of the serial run, again
    (word caches warm): what a faster pipeline would have to cut.
    """
    import pickle

    from archive.search import embedded
    from archive.search.analysis import analyze

    sample = documents
    clock = time.perf_counter
    steps: list[tuple[str, float]] = []
    t0 = clock()
    for document in sample:
        analyze(document.body, jyutping=False)
    steps.append(
        ("analyze(body, jyutping=False): fold, unigrams, bigrams", clock() - t0)
    )
    t0 = clock()
    for document in sample:
        analyze(document.body)
    steps.append(
        ("analyze(body): the same plus OpenCC s2hk and Jyutping", clock() - t0)
    )
    t0 = clock()
    ready = [embedded.prepared(document) for document in sample]
    steps.append(
        (
            "embedded.prepared(): each text's sequences per kind, stored JSON",
            clock() - t0,
        )
    )
    t0 = clock()
    ready = pickle.loads(pickle.dumps(ready))
    pickle.loads(pickle.dumps(sample))
    steps.append(("pickling to and from the analysis processes", clock() - t0))
    t0 = clock()
    built = [
        embedded.tantivy_document(document, entry)
        for document, entry in zip(sample, ready, strict=True)
    ]
    steps.append(("embedded.tantivy_document(): fields", clock() - t0))
    folder = temp / "breakdown-index"
    folder.mkdir()
    index = embedded.tantivy_index(embedded.schema_build(), folder, reuse=False)
    writer = index.writer(64_000_000, 1)
    t0 = clock()
    for document in built:
        writer.add_document(document)
    writer.commit()
    writer.wait_merging_threads()
    steps.append(("writer.add_document() and commit (tantivy)", clock() - t0))
    shutil.rmtree(folder, ignore_errors=True)
    return [(label, seconds / len(sample)) for label, seconds in steps]


def public_scope():
    from archive.search.engine import AccessScope

    return AccessScope(levels=frozenset({"public"}), today=datetime.date.today())


def engine_runner(engine, queries: dict[str, list[str]]):
    """A runner answering each query from its pre-parsed form, and the totals seen."""
    from archive.search.engine import EngineRequest
    from archive.search.query import parse

    scope = public_scope()
    requests = {
        q: EngineRequest(query=parse(q), scope=scope, limit=TOP)
        for qs in queries.values()
        for q in qs
    }
    totals: dict[str, int] = {}

    def run(cls: str, query: str) -> None:
        result = engine.search(requests[query])
        totals[query] = result.total

    return run, totals


def parse_timings(queries: dict[str, list[str]], rounds: int = 5) -> Latencies:
    from archive.search.query import parse

    return run_single(lambda cls, q: parse(q), work_of(queries, QUERY_CLASSES), rounds)


def recall_queries(
    queries: dict[str, list[str]], per_class: int
) -> dict[str, list[str]]:
    """``per_class`` evenly spread queries of each character class."""
    recall: dict[str, list[str]] = {cls: [] for cls in CHAR_CLASSES}
    for cls, q in work_of(queries, CHAR_CLASSES, per_class):
        recall[cls].append(q)
    return recall


def engine_sets(engine, queries: dict[str, list[str]]) -> dict[str, set[int]]:
    """Every segment pk each query matches (not only the top 20)."""
    from archive.search.engine import EngineRequest
    from archive.search.query import parse

    scope = public_scope()
    found: dict[str, set[int]] = {}
    for q in (q for qs in queries.values() for q in qs):
        request = EngineRequest(
            query=parse(q), scope=scope, types=("segment",), limit=0
        )
        total = engine.search(request).total
        request = EngineRequest(
            query=request.query, scope=scope, types=("segment",), limit=max(total, 1)
        )
        found[q] = {
            int(hit.document.key.split(":", 1)[1])
            for hit in engine.search(request).hits
        }
    return found


# ---------------------------------------------------------------------------
# The JSON API


def api_check() -> str | None:
    """Why the API cannot be measured, or None if ``/api/search`` answers."""
    from django.test import Client

    try:
        response = Client().get("/api/search", {"q": "茶樓"}, follow=True)
    except Exception as error:  # noqa: BLE001 (any failure means "not measured")
        return f"/api/search?q=茶樓 raised {type(error).__name__}: {error}"
    if response.status_code == 404:
        return "/api/search answered 404 (no search API routed yet)"
    if response.status_code != 200:
        return f"/api/search?q=茶樓 answered HTTP {response.status_code}"
    if "json" not in response.get("Content-Type", ""):
        return f"/api/search answered {response.get('Content-Type')}, not JSON"
    return None


def api_runner(errors: list[int]):
    """A runner with its own test client; non-200 status codes go to ``errors``."""
    from django.db import connections
    from django.test import Client

    client = Client()

    def run(cls: str, query: str) -> None:
        response = client.get("/api/search", {"q": query})
        if response.status_code != 200:
            errors.append(response.status_code)

    def close() -> None:
        connections.close_all()  # this thread's connection

    return run, close


#: Whether nginx is there to put in front of the served app.
FRONTED = shutil.which("nginx") is not None


class Served:
    """The project as deployed (README "Production"), on the bench's database and
    index: nginx with docs/deploy/nginx.conf in front of gunicorn's 2 sync workers.

    Without nginx: gunicorn ``gthread``, 2 workers of 2 threads, alone (a sync
    worker needs a buffering front); ``name`` says which ran.
    """

    WORKERS = 2

    def __init__(self, temp: Path) -> None:
        self.temp = temp
        self.port = free_port()
        self.front = FRONTED
        self.app_port = free_port() if self.front else self.port
        self.process: subprocess.Popen | None = None
        self.nginx: subprocess.Popen | None = None

    #: What serves the API in this run.
    name = (
        "nginx + gunicorn sync, 2 workers"
        if FRONTED
        else "gunicorn gthread, 2 workers x 2 threads (no nginx)"
    )

    def start(self) -> None:
        environment = {
            **django_environment(self.temp),
            "SEARCH_INDEX_DIR": str(self.temp / "index"),
            # As production (archive/settings/production.py): each worker loads
            # what its first searches need as it starts, not while one waits.
            "SEARCH_WARM_AT_START": "true",
        }
        self.process = subprocess.Popen(
            gunicorn_argv(self.app_port, self.WORKERS, 0 if self.front else 2),
            cwd=ROOT,
            env=environment,
        )
        wait_for("127.0.0.1", self.app_port)
        # Each worker loads the word list as it starts: measure once all are idle.
        wait_idle(self.pids)
        if self.front:
            self.nginx = nginx_start(
                self.temp / "nginx",
                port=self.port,
                upstream=self.app_port,
                cache_dir=self.temp / "var" / "iiif-cache",
                storage_root=str(self.temp / "storage"),
            )
        # A running server has served searches: the first CJK search of each
        # worker loads pycantonese's segmenter (0.8 s; not at start, it costs
        # 190 MiB a process). Warm every worker with a few, each on a new connection.
        self.warm(["得閒飲茶", "我哋去飲茶", "冇問題"])
        wait_idle(self.pids)

    def warm(self, queries: list[str]) -> None:
        errors: list[int] = []

        def client() -> None:
            for query in queries:  # a new connection each: any worker may take it
                run, close = self.runner(errors)
                run("warm", query)
                close()

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise RuntimeError(f"warming the served app: answers {errors}")

    def pids(self) -> list[int]:
        return process_tree(self.process)

    def stop(self) -> None:
        for process in (self.nginx, self.process):
            if process and process.poll() is None:
                process.terminate()
                process.wait(timeout=30)

    def runner(self, errors: list[int]):
        """A client with one kept-alive connection; non-200 answers go to ``errors``."""
        import http.client
        from urllib.parse import urlencode

        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

        def run(cls: str, query: str) -> None:
            connection.request("GET", "/api/search?" + urlencode({"q": query}))
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors.append(response.status)

        return run, connection.close


# ---------------------------------------------------------------------------
# The baselines


def _cjk(query: str) -> str:
    from archive.search.analysis import chunks

    return "".join(c.text for c in chunks(query.strip('"')) if c.is_cjk)


def bigram_match(cls: str, query: str) -> str:
    """The FTS5 expression a user of pre-split bigrams would write."""
    text = _cjk(query)
    if len(text) == 1:
        return f'uni:"{text}"'
    grams = [text[i : i + 2] for i in range(len(text) - 1)]
    if cls == "phrase":
        return 'bi:"' + " ".join(grams) + '"'
    return "bi:(" + " AND ".join(f'"{g}"' for g in grams) + ")"


#: How the trigram baseline asks a query of 1 or 2 characters, which its
#: index cannot answer: ``LIKE`` as a user would first write it, or a scan
#: forced with ``+body`` (SQLite then tests every row itself).
TRIGRAM_MODES = ("index", "like", "scan")


def trigram_where(query: str, mode: str) -> tuple[str, str, bool] | None:
    """(WHERE clause, parameter, ranked) for the trigram table; None if it cannot ask."""
    text = _cjk(query)
    if len(text) >= 3:
        return "tri MATCH ?", f'"{text}"', True
    if mode == "index":
        return None
    column = "+body" if mode == "scan" else "body"
    return f"{column} LIKE ?", f"%{text}%", False


def trigram_answer(connection: sqlite3.Connection, query: str, mode: str) -> None:
    """Top 20 (by bm25 when MATCH is used) and the total, in one statement."""
    where, parameter, ranked = trigram_where(query, mode)
    order = " ORDER BY rank" if ranked else ""
    connection.execute(
        f"SELECT rowid, body, count(*) OVER () FROM tri WHERE {where}{order} LIMIT {TOP}",
        (parameter,),
    ).fetchall()


def baseline_build(texts: list[str], records: Records, temp: Path):
    """Both FTS5 databases; returns their paths and indexing figures."""
    from archive.search.analysis import Field, analyze

    results: list[Indexing] = []
    bigram_path = temp / "fts5-bigram.sqlite3"
    t0 = time.perf_counter()
    rows = []
    for pk, text in zip(records.pks, texts, strict=True):
        unigrams, bigrams = [], []
        for token in analyze(text, jyutping=False):
            if token.field == Field.CJK2:
                bigrams.append(token.term)
            else:
                unigrams.append(token.term)
        rows.append((pk, " ".join(unigrams), " ".join(bigrams), text))
    split = time.perf_counter() - t0
    connection = sqlite3.connect(bigram_path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    t1 = time.perf_counter()
    with connection:
        connection.execute(
            "CREATE VIRTUAL TABLE bigrams USING fts5(uni, bi, body UNINDEXED, tokenize='ascii')"
        )
        connection.executemany(
            "INSERT INTO bigrams(rowid, uni, bi, body) VALUES (?,?,?,?)", rows
        )
        connection.execute("INSERT INTO bigrams(bigrams) VALUES ('optimize')")
    insert = time.perf_counter() - t1
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    size = bigram_path.stat().st_size
    results.append(
        Indexing(
            "FTS5 bigram: analyzer (cjk1+cjk2) + insert + optimize",
            len(rows),
            split + insert,
            size,
        )
    )
    results.append(
        Indexing("FTS5 bigram: insert + optimize only", len(rows), insert, size)
    )
    del rows

    trigram_path = temp / "fts5-trigram.sqlite3"
    connection = sqlite3.connect(trigram_path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    t0 = time.perf_counter()
    with connection:
        connection.execute(
            "CREATE VIRTUAL TABLE tri USING fts5(body, tokenize='trigram')"
        )
        connection.executemany(
            "INSERT INTO tri(rowid, body) VALUES (?,?)",
            zip(records.pks, texts, strict=True),
        )
        connection.execute("INSERT INTO tri(tri) VALUES ('optimize')")
    seconds = time.perf_counter() - t0
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    results.append(
        Indexing(
            "FTS5 trigram: insert + optimize",
            len(texts),
            seconds,
            trigram_path.stat().st_size,
        )
    )
    return bigram_path, trigram_path, results


def bigram_runner(path: Path):
    connection = sqlite3.connect(path, check_same_thread=False)

    def run(cls: str, query: str) -> None:
        expression = bigram_match(cls, query)
        connection.execute(
            "SELECT rowid, body, count(*) OVER () FROM bigrams WHERE bigrams MATCH ? "
            f"ORDER BY rank LIMIT {TOP}",
            (expression,),
        ).fetchall()

    return run, connection.close


def trigram_runner(path: Path, mode: str):
    connection = sqlite3.connect(path, check_same_thread=False)

    def run(cls: str, query: str) -> None:
        trigram_answer(connection, query, mode)

    return run, connection.close


@dataclass
class Recall:
    mean: float
    extra: int  # documents found that the engine does not find


def recall_of(
    engine_found: dict[str, set[int]],
    found: dict[str, set[int] | None],
    queries: list[str],
) -> Recall:
    shares = []
    extra = 0
    for q in queries:
        expected = engine_found[q]
        got = found.get(q) or set()
        if expected:
            shares.append(len(got & expected) / len(expected))
        extra += len(got - expected)
    return Recall(sum(shares) / len(shares) if shares else float("nan"), extra)


def baseline_sets(
    bigram_path: Path, trigram_path: Path, queries: dict[str, list[str]]
) -> dict[str, dict[str, set[int]]]:
    """Every rowid (segment pk) each baseline finds for each query."""
    bigram = sqlite3.connect(bigram_path)
    trigram = sqlite3.connect(trigram_path)
    sets: dict[str, dict[str, set[int]]] = {"bigram": {}}
    sets.update({f"trigram-{mode}": {} for mode in TRIGRAM_MODES})
    for cls, q in work_of(queries, CHAR_CLASSES):
        sets["bigram"][q] = {
            r
            for (r,) in bigram.execute(
                "SELECT rowid FROM bigrams WHERE bigrams MATCH ?",
                (bigram_match(cls, q),),
            )
        }
        for mode in TRIGRAM_MODES:
            asked = trigram_where(q, mode)
            if asked is None:
                sets[f"trigram-{mode}"][q] = set()
                continue
            where, parameter, _ = asked
            sets[f"trigram-{mode}"][q] = {
                r
                for (r,) in trigram.execute(
                    f"SELECT rowid FROM tri WHERE {where}", (parameter,)
                )
            }
    bigram.close()
    trigram.close()
    return sets


# ---------------------------------------------------------------------------
# Reporting


def package(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 2**20:.0f} GiB"
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory}; Python {platform.python_version()}, "
        f"tantivy {package('tantivy')}, SQLite {sqlite3.sqlite_version}, "
        f"OpenCC {package('OpenCC')}, pycantonese {package('pycantonese')}, "
        f"Django {package('Django')}; {platform.platform()}"
    )


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]
    line = (
        "| "
        + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
        + " |"
    )
    rule = "| " + " | ".join("-" * w for w in widths) + " |"
    body = [
        "| "
        + " | ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True))
        + " |"
        for row in rows
    ]
    return "\n".join([line, rule, *body])


def fmt(value: float, digits: int = 2) -> str:
    if value != value:  # NaN
        return "n/a"
    return f"{value:,.{digits}f}"


def latency_rows(
    single: Latencies | None,
    concurrent: Latencies | None,
    classes: Iterable[str],
    totals: dict[str, list[int]] | None = None,
):
    rows = []
    for cls in classes:
        row = [cls]
        if totals is not None:
            hits = totals.get(cls, [])
            row.append(fmt(sum(hits) / len(hits), 0) if hits else "n/a")
        for result in (single, concurrent):
            if result is None:
                continue
            if cls not in result.by_class:
                row += ["n/a"] * 3
            else:
                row += [fmt(result.ms(cls, q)) for q in (50, 95, 99)]
        rows.append(row)
    return rows


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


# ---------------------------------------------------------------------------
# The run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=100_000, help="segments to index")
    parser.add_argument(
        "--quick", action="store_true", help="10,000 segments (a smoke run)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    n = 10_000 if args.quick else args.docs
    started = time.perf_counter()
    temp = Path(tempfile.mkdtemp(prefix="yuecang-bench-search-"))
    django_environment(temp)
    print(f"Search benchmark: {n:,} segments, temporary folder {temp}", flush=True)
    print(f"Machine: {machine()}", flush=True)
    print(f"Load average at start: {load()}\n", flush=True)
    try:
        return run(n, temp, quick=args.quick, started=started)
    finally:
        if args.keep:
            print(f"kept {temp}")
        else:
            shutil.rmtree(temp, ignore_errors=True)


def step(message: str) -> None:
    print(f"-- {message}", flush=True)


def run(n: int, temp: Path, *, quick: bool, started: float) -> int:
    t0 = time.perf_counter()
    migration = migrate_start(temp)
    texts = segments(n)
    queries = query_sets(texts)
    step(
        f"corpus: {n:,} segments, mean {sum(map(len, texts)) / n:.1f} characters, "
        f"{sum(map(len, queries.values()))} queries ({time.perf_counter() - t0:.1f} s)"
    )
    for cls in QUERY_CLASSES:
        print(f"   {cls}: {', '.join(queries[cls][:6])} ...")
    if migration.wait() != 0:
        print((temp / "migrate.log").read_text(), file=sys.stderr)
        raise RuntimeError("manage.py migrate failed")
    django_start(temp)
    step(f"database migrated meanwhile ({time.perf_counter() - t0:.1f} s, not timed)")
    t0 = time.perf_counter()
    records = records_create(texts)
    step(
        f"records: {len(records.pks):,} segments in {len(set(records.items))} items "
        f"({time.perf_counter() - t0:.1f} s)"
    )

    step("indexing: the project's engine")
    engine, indexings, breakdown = engine_indexing(texts, records, temp, quick)
    for result in indexings:
        print(
            f"   {result.label}: {result.docs:,} in {result.seconds:.1f} s = "
            f"{result.rate:,.0f} docs/s",
            flush=True,
        )

    step("queries: engine alone, single client")
    parsing = parse_timings(queries)
    runner, totals = engine_runner(engine, queries)
    every = work_of(queries, QUERY_CLASSES)
    engine_single = run_single(runner, every, ROUNDS["engine"])
    step("queries: engine alone, 4 clients (threads)")
    engine_concurrent = run_concurrent(
        lambda: (runner, lambda: None), every, ROUNDS_CONCURRENT["engine"]
    )
    hits = {cls: [totals[q] for q in queries[cls]] for cls in QUERY_CLASSES}

    api_single = api_concurrent = http_single = http_concurrent = None
    api_missing = api_check()
    api_errors: list[int] = []
    if api_missing is None:
        # What a served process holds by now lives as long as it: archive/wsgi.py
        # freezes it out of the garbage collector's full passes; so does the bench.
        gc.freeze()
        step("queries: JSON API /api/search, single client")
        some = work_of(queries, QUERY_CLASSES, SLOW_QUERIES)
        api_single = run_single(api_runner(api_errors)[0], some, ROUNDS["api"])
        step("queries: JSON API, 4 clients (threads)")
        api_concurrent = run_concurrent(
            lambda: api_runner(api_errors), some, ROUNDS_CONCURRENT["api"]
        )
        gc.unfreeze()
        served = Served(temp)
        step("queries: JSON API over HTTP, gunicorn as deployed (starting)")
        served.start()
        try:
            step("queries: JSON API over HTTP, single client")
            http_single = run_single(served.runner(api_errors)[0], some, ROUNDS["api"])
            step("queries: JSON API over HTTP, 4 clients")
            http_concurrent = run_concurrent(
                lambda: served.runner(api_errors), some, ROUNDS_CONCURRENT["api"]
            )
        finally:
            served.stop()
    else:
        step(f"API not measured: {api_missing}")

    step("baselines: SQLite FTS5 (bigram, trigram)")
    bigram_path, trigram_path, baseline_indexing = baseline_build(texts, records, temp)
    for result in baseline_indexing:
        print(
            f"   {result.label}: {result.docs:,} in {result.seconds:.1f} s = "
            f"{result.rate:,.0f} docs/s",
            flush=True,
        )
    char_work = work_of(queries, CHAR_CLASSES)
    run_bigram, close_bigram = bigram_runner(bigram_path)
    bigram_single = run_single(run_bigram, char_work, ROUNDS["bigram"])
    close_bigram()
    bigram_concurrent = run_concurrent(
        lambda: bigram_runner(bigram_path), char_work, ROUNDS_CONCURRENT["bigram"]
    )
    run_trigram, close_trigram = trigram_runner(trigram_path, "scan")
    trigram_single = run_single(
        run_trigram, work_of(queries, CHAR_CLASSES, SLOW_QUERIES), ROUNDS["trigram"]
    )
    close_trigram()

    step("recall: every match of the engine and the baselines")
    t0 = time.perf_counter()
    recall_set = recall_queries(
        queries, RECALL_QUERIES_QUICK if quick else RECALL_QUERIES
    )
    expected = engine_sets(engine, recall_set)
    found = baseline_sets(bigram_path, trigram_path, recall_set)
    step(f"recall computed ({time.perf_counter() - t0:.1f} s)")

    report(
        n=n,
        indexings=indexings + baseline_indexing,
        breakdown=breakdown,
        parsing=parsing,
        engine_single=engine_single,
        engine_concurrent=engine_concurrent,
        hits=hits,
        api_single=api_single,
        api_concurrent=api_concurrent,
        http_single=http_single,
        http_concurrent=http_concurrent,
        api_missing=api_missing,
        api_errors=api_errors,
        bigram_single=bigram_single,
        bigram_concurrent=bigram_concurrent,
        trigram_single=trigram_single,
        expected=expected,
        found=found,
        recall_set=recall_set,
    )
    print(
        f"\nTotal time {time.perf_counter() - started:.0f} s; load average at the end: "
        f"{load()} (other processes on the machine share its {os.cpu_count()} cores)."
    )
    return 0


def report(
    *,
    n,
    indexings,
    breakdown,
    parsing,
    engine_single,
    engine_concurrent,
    hits,
    api_single,
    api_concurrent,
    http_single,
    http_concurrent,
    api_missing,
    api_errors,
    bigram_single,
    bigram_concurrent,
    trigram_single,
    expected,
    found,
    recall_set,
) -> None:
    print(f"\n## Indexing ({n:,} segments)\n")
    print(
        table(
            ["what", "docs", "seconds", "docs/s", "size MiB", "note"],
            [
                [
                    r.label,
                    f"{r.docs:,}",
                    fmt(r.seconds, 1),
                    fmt(r.rate, 0),
                    mib(r.size) if r.size else "",
                    r.note,
                ]
                for r in indexings
            ],
        )
    )

    print(
        "\nWhere the engine's write path spends its time (serial, the documents of "
        "index(workers=1) again):\n"
    )
    print(
        table(
            ["step", "µs/doc", "docs/s alone"],
            [
                [label, fmt(seconds * 1e6, 0), fmt(1 / seconds, 0)]
                for label, seconds in breakdown
            ],
        )
    )

    lat = ["p50", "p95", "p99"]
    print("\n## Engine alone: engine.search, top 20 + total (ms)\n")
    print(
        table(
            [
                "class",
                "mean hits",
                *(f"1 client {x}" for x in lat),
                *(f"4 clients {x}" for x in lat),
            ],
            latency_rows(engine_single, engine_concurrent, QUERY_CLASSES, hits),
        )
    )
    print(
        f"\nQueries/s: {engine_single.rate:,.0f} single client, "
        f"{engine_concurrent.rate:,.0f} with 4 clients (threads, one process). "
        "Not included above: parse(q), "
        + ", ".join(f"{cls} p95 {parsing.ms(cls, 95):.2f} ms" for cls in QUERY_CLASSES)
        + "."
    )

    print(
        "\n## JSON API /api/search?q= through Django, in process; 20 queries a class (ms)\n"
    )
    if api_single is None:
        print(f"API not measured: {api_missing}")
    else:
        print(
            table(
                [
                    "class",
                    *(f"1 client {x}" for x in lat),
                    *(f"4 clients {x}" for x in lat),
                ],
                latency_rows(api_single, api_concurrent, QUERY_CLASSES),
            )
        )
        print(
            f"\nRequests/s: {api_single.rate:,.0f} single client, "
            f"{api_concurrent.rate:,.0f} with 4 clients (threads sharing one "
            "interpreter lock: a harsher setting than any deployment)."
        )
        print(
            f"\n## JSON API over HTTP: {Served.name}, as deployed; the same "
            "queries (ms)\n"
        )
        print(
            table(
                [
                    "class",
                    *(f"1 client {x}" for x in lat),
                    *(f"4 clients {x}" for x in lat),
                ],
                latency_rows(http_single, http_concurrent, QUERY_CLASSES),
            )
        )
        print(
            f"\nRequests/s: {http_single.rate:,.0f} single client, "
            f"{http_concurrent.rate:,.0f} with 4 clients; non-200 answers, "
            f"in process and over HTTP: {len(api_errors)}."
        )

    print(
        "\n## Baseline: SQLite FTS5 over the same bigrams, top 20 by bm25 + total (ms)\n"
    )
    print(
        table(
            [
                "class",
                *(f"1 client {x}" for x in lat),
                *(f"4 clients {x}" for x in lat),
            ],
            latency_rows(bigram_single, bigram_concurrent, QUERY_CLASSES),
        )
    )
    print(
        "\n## Baseline: SQLite FTS5 trigram, 20 queries a class (ms)\n\n"
        "MATCH from 3 characters; 1 or 2: a scan (+body LIKE), as LIKE finds nothing.\n"
    )
    print(
        table(
            ["class", *(f"1 client {x}" for x in lat)],
            latency_rows(trigram_single, None, QUERY_CLASSES),
        )
    )

    print("\n## Recall against the engine's hit set\n")
    rows = []
    recalls = {}
    for cls in QUERY_CLASSES:
        if cls in JYUTPING_CLASSES:
            rows.append(
                [cls, "", fmt(sum(hits[cls]) / len(hits[cls]), 0)] + ["n/a"] * 4
            )
            continue
        qs = recall_set[cls]
        recalls[cls] = {
            name: recall_of(expected, found[name], qs)
            for name in ("bigram", *(f"trigram-{m}" for m in TRIGRAM_MODES))
        }
        rows.append(
            [
                cls,
                str(len(qs)),
                fmt(sum(len(expected[q]) for q in qs) / len(qs), 0),
                *(f"{r.mean:.3f} (+{r.extra})" for r in recalls[cls].values()),
            ]
        )
    print(
        table(
            [
                "class",
                "queries",
                "engine segments/query",
                "FTS5 bigram",
                "trigram MATCH only",
                "trigram + LIKE as written",
                "trigram + scan (+body LIKE)",
            ],
            rows,
        )
    )
    print(
        "Mean over the queries of the share of the engine's segments each finds; (+k): "
        "segments it finds that the engine does not, summed. Jyutping: the engine's "
        "mean hits, n/a for the baselines.\nWhere the engine finds more than FTS5 "
        "bigram, it is its aliases (得閒 also finds 有空) and terms split at alias "
        "words (阿爸話乜: 阿爸, 話 and 乜 each required); more than the trigram, "
        "also the bigrams of a term found apart."
    )

    print("\n## Engine vs FTS5 bigram, single client\n")
    rows = []
    for cls in CHAR_CLASSES:
        e95, b95 = engine_single.ms(cls, 95), bigram_single.ms(cls, 95)
        e50, b50 = engine_single.ms(cls, 50), bigram_single.ms(cls, 50)
        rows.append([cls, fmt(b50 / e50, 2) + "x", fmt(b95 / e95, 2) + "x"])
    print(table(["class", "p50 FTS5 / p50 engine", "p95 FTS5 / p95 engine"], rows))
    print("Above 1: the engine is faster.")

    print("\n## Targets (issue 7 item 8)\n")
    checks = []
    bulk = indexings[0]
    checks.append(
        [
            f"indexing, full pipeline >= {TARGET_INDEX_RATE:,.0f} segments/s",
            f"{bulk.rate:,.0f}/s ({bulk.label})",
            verdict(bulk.rate >= TARGET_INDEX_RATE),
        ]
    )
    worst = max(QUERY_CLASSES, key=lambda c: engine_single.ms(c, 99))
    checks.append(
        [
            f"engine p99 < {TARGET_ENGINE_P99:g} ms every class, 1 client",
            f"worst {worst} {engine_single.ms(worst, 99):.2f} ms",
            verdict(
                all(engine_single.ms(c, 99) < TARGET_ENGINE_P99 for c in QUERY_CLASSES)
            ),
        ]
    )
    worst = max(QUERY_CLASSES, key=lambda c: engine_concurrent.ms(c, 99))
    checks.append(
        [
            f"(engine p99 < {TARGET_ENGINE_P99:g} ms every class, 4 clients; for information)",
            f"worst {worst} {engine_concurrent.ms(worst, 99):.2f} ms",
            verdict(
                all(
                    engine_concurrent.ms(c, 99) < TARGET_ENGINE_P99
                    for c in QUERY_CLASSES
                )
            ),
        ]
    )
    if api_single is None:
        checks.append(
            [
                f"API p95 < {TARGET_API_P95:g} ms every class, 1 client",
                "not measured",
                "n/a",
            ]
        )
        checks.append(
            [
                f"API p95 < {TARGET_API_P95_CONCURRENT:g} ms, 4 clients",
                "not measured",
                "n/a",
            ]
        )
    else:
        for result, target, label in (
            (api_single, TARGET_API_P95, "1 client, in process"),
            (http_single, TARGET_API_P95, "1 client, over HTTP"),
            (http_concurrent, TARGET_API_P95_CONCURRENT, "4 clients, over HTTP"),
            (
                api_concurrent,
                TARGET_API_P95_CONCURRENT,
                "4 client threads in one process; for information",
            ),
        ):
            worst = max(QUERY_CLASSES, key=lambda c: result.ms(c, 95))
            checks.append(
                [
                    f"API p95 < {target:g} ms every class, {label}",
                    f"worst {worst} {result.ms(worst, 95):.2f} ms",
                    verdict(all(result.ms(c, 95) < target for c in QUERY_CLASSES)),
                ]
            )
    behind = [
        c for c in CHAR_CLASSES if engine_single.ms(c, 95) >= bigram_single.ms(c, 95)
    ]
    checks.append(
        [
            "engine p95 below FTS5 bigram p95, every class",
            "behind on: " + ", ".join(behind) if behind else "ahead on all 4",
            verdict(not behind),
        ]
    )
    lost = [c for c in CHAR_CLASSES if recalls[c]["trigram-like"].mean < 1.0]
    more = [
        c
        for c in CHAR_CLASSES
        if any(recalls[c][f"trigram-{m}"].extra for m in TRIGRAM_MODES)
    ]
    checks.append(
        [
            "engine ahead of trigram on recall (trigram + LIKE misses some, finds none extra)",
            "trigram + LIKE misses on: "
            + (", ".join(lost) or "none")
            + "; finds extra on: "
            + (", ".join(more) or "none"),
            verdict(bool(lost) and not more),
        ]
    )
    print(table(["target", "measured", ""], checks))


if __name__ == "__main__":
    sys.exit(main())
