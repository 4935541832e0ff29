"""The embedded search engine: tantivy on local disk, no server (the default).

Why tantivy (PyPI ``tantivy``, the Rust engine behind Quickwit): measured
before the project on 100,000 synthetic segments it indexed pre-split
bigrams 2.4 times faster than SQLite FTS5, answered two-character queries in
0.06 ms p50 (FTS5: 0.7 ms) with a p99 of a few milliseconds (FTS5: 52 ms),
and its index is a third of the size; ``bench/search.py`` measures both again
on every run. It takes our analyzer's tokens as they are
(``PreTokenizedString``), positions included, so the one analyzer
(:mod:`archive.search.analysis`) decides every term and phrases work across
the analyzer's fields.

**Layout.** Each of a document's texts (``title`` or ``context``, and
``body``) has one positional field per kind of term (:data:`KINDS`):
``body_1`` unigrams and Latin words (``1廣``, ``wcafe``), ``body_2`` bigrams
(``2廣州``), ``body_j`` toned syllables (``jgwong2``), ``body_p`` pairs of
neighbouring toned syllables (``pgwong2zau1``), each term at its analyzer
position (:func:`archive.search.analysis.columns`; the one-letter prefix is
kept). A word's joined toneless reading (``Jgwongzau``), never part of a
phrase, follows the characters in ``body_1``, so it is weighed by the length
of the whole text. The fields take plain strings
(:func:`archive.search.analysis.sequences`), split by
tantivy's own tokenizer: building a token object per term in Python, which
tantivy then serialised and parsed again, had been most of the writing
process's time (issue 7: 2,900 to 3,190 segments/s at 100,000). A phrase mixing
bigrams with characters or words is asked as the phrase of its characters.

Jyutping is indexed as toned syllables and pairs of neighbouring ones: a
query of syllables is a phrase of pairs (one term for two syllables), and a
toneless syllable a regular expression over the toned ones
(``pgwong[1-6]zau[1-6]``). A phrase over two single syllables had to check
the positions of every segment holding both, and common syllables are in
thousands; pairs took the Jyutping queries' p99 from about 7 ms to under 2.5
ms at 100,000 segments (docs/performance.md). Facets, filters and sort keys
are fast fields, access gates indexed terms; the whole
:class:`~archive.search.engine.SearchDocument` is stored as JSON.

**One writer.** tantivy allows one writer per index. In production every
write reaches the engine through the Celery task queue ``search``
(:mod:`archive.search.indexing`), which the worker consumes; on top of that,
each write holds an exclusive ``flock`` on ``writer.lock`` (waiting up to
``SEARCH_WRITER_WAIT`` seconds), so a command-line reindex and the worker
wait for each other instead of failing. Readers never lock.

**Generations.** ``SEARCH_INDEX_DIR/current`` names the live index folder
(``gen-...``). :meth:`EmbeddedEngine.replace_all` builds a new generation
beside it and swaps the name atomically (write, fsync, rename), so searches
go on against the old index until the new one is complete; other processes
notice the new name on their next search.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import gc
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import fields
from itertools import islice
from multiprocessing import get_context
from pathlib import Path
from typing import NamedTuple

import tantivy

from archive.search.analysis import (
    GAP,
    LETTER,
    PAIR_LETTER,
    SEPARATOR,
    SEQUENCE_KINDS,
    Field,
    analyzer_fingerprint,
    sequences,
)
from archive.search.engine import (
    CONTEXT_BOOST,
    CONTEXT_TYPES,
    FACET_FIELDS,
    LITERAL_BOOST,
    MAX_GATES,
    RUN_BOOST,
    TITLE_BOOST,
    AccessScope,
    EngineHit,
    EngineRequest,
    EngineResult,
    EngineUnavailable,
    Gate,
    SearchDocument,
)
from archive.search.jyutping import warm_up
from archive.search.query import Alternative, Clause, Source, Term

logger = logging.getLogger(__name__)

#: Raised whenever the schema or the term layout changes (a different value
#: means the index must be rebuilt; ``reindex`` does it).
LAYOUT_VERSION = 4

#: The one-letter prefix of each analyzer field in the positional fields
#: (the analyzer's :data:`~archive.search.analysis.LETTER`).
PREFIX: dict[str, str] = {str(field): letter for field, letter in LETTER.items()}

#: Keyword fields (filters and facets); multi-valued ones may repeat.
KEYWORD_FIELDS = FACET_FIELDS

#: Documents analysed per batch handed to a worker process.
CHUNK = 500

#: The kinds of term, one positional field each per text (the analyzer's
#: sequences): unigrams and Latin words (one position each; words' joined
#: readings after them), bigrams, toned syllables, pairs of syllables. A
#: term's first letter names its kind.
KINDS = SEQUENCE_KINDS
KIND_OF: dict[str, str] = {
    LETTER[Field.CJK1]: "1",
    LETTER[Field.WORD]: "1",
    LETTER[Field.JYUTPING_WORD]: "1",
    LETTER[Field.CJK2]: "2",
    LETTER[Field.JYUTPING]: "j",
    PAIR_LETTER: "p",
}

#: The texts of a document; each has one positional field per kind.
TEXTS = ("title", "context", "body")
TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    text: tuple(f"{text}_{kind}" for kind in KINDS) for text in TEXTS
}

#: The tokenizer of the positional fields (registered on every index opened):
#: it splits a sequence at SEPARATOR and drops the GAPs, keeping their
#: positions, so phrases never run across them.
SEQUENCE = "sequence"


def _sequence_analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(f"[^{SEPARATOR}]+"))
        .filter(tantivy.Filter.custom_stopword([GAP]))
        .build()
    )


def tantivy_index(
    schema: tantivy.Schema, folder: Path, *, reuse: bool
) -> tantivy.Index:
    """A tantivy index on disk, with the positional fields' tokenizer registered."""
    index = tantivy.Index(schema, path=str(folder), reuse=reuse)
    index.register_tokenizer(SEQUENCE, _sequence_analyzer())
    return index


_WRITER_HEAP = 64_000_000
_NO_DATE_ASC = 10**6
_NO_DATE_DESC = -(10**6)


def schema_build() -> tantivy.Schema:
    """The index schema (see the module docstring)."""
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("key", tokenizer_name="raw")
    builder.add_text_field("item", tokenizer_name="raw")
    for name in KEYWORD_FIELDS:
        builder.add_text_field(name, tokenizer_name="raw", fast=True)
    for i in range(MAX_GATES):
        builder.add_text_field(f"g{i}", tokenizer_name="raw")
        # Read by range queries on the index only: no fast column to build.
        builder.add_integer_field(f"u{i}", indexed=True)
    # Sort keys: read from their fast columns only.
    builder.add_integer_field("date_asc", fast=True)
    builder.add_integer_field("date_desc", fast=True)
    for names in TEXT_FIELDS.values():
        for name in names:
            builder.add_text_field(
                name, tokenizer_name=SEQUENCE, index_option="position"
            )
    builder.add_bytes_field("doc", stored=True)
    return builder.build()


# ---------------------------------------------------------------------------
# Documents


_DOCUMENT_FIELDS = tuple(f.name for f in fields(SearchDocument))


def document_to_json(document: SearchDocument) -> bytes:
    """The stored form of a document."""
    data = {name: getattr(document, name) for name in _DOCUMENT_FIELDS}
    data["gates"] = [
        [g.level, g.embargo_until.isoformat() if g.embargo_until else None]
        for g in document.gates
    ]
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def document_from_json(raw: bytes) -> SearchDocument:
    """Rebuild a stored document."""
    data = json.loads(raw)
    data["gates"] = tuple(
        Gate(level, datetime.date.fromisoformat(until) if until else None)
        for level, until in data["gates"]
    )
    data["themes"] = tuple(data["themes"])
    data["places"] = tuple(data["places"])
    return SearchDocument(**data)


#: One text's terms as the index takes them (:func:`analysis.sequences`).
Sequences = tuple[str, ...]


class Prepared(NamedTuple):
    """What indexing a document needs besides the document: its stored JSON and
    the :func:`sequences` of its title and body (None: the text is empty).

    Strings and bytes only: it crosses between processes cheaply (a list of
    small tuples had cost a third of the indexing time to pickle).
    """

    stored: bytes
    title: Sequences | None
    body: Sequences | None


def _sequences_of(text: str) -> Sequences | None:
    return sequences(text) if text else None


def prepared(document: SearchDocument) -> Prepared:
    """Analyse one document for indexing (the costly part: runs in worker processes)."""
    return Prepared(
        document_to_json(document),
        _sequences_of(document.title),
        _sequences_of(document.body),
    )


def _prepared_chunk(documents: list[SearchDocument]) -> list[Prepared]:
    """Prepare a chunk; a title shared by documents is analysed once.

    Segments carry their recording's title, so titles repeat hundreds of
    times: the same object is returned for each, and pickling sends it once
    (its memo).
    """
    titles: dict[str, Sequences | None] = {}
    result = []
    for document in documents:
        title = document.title
        if title not in titles:
            titles[title] = _sequences_of(title)
        result.append(
            Prepared(
                document_to_json(document),
                titles[title],
                _sequences_of(document.body),
            )
        )
    return result


def _worker_start() -> None:
    # Forked from the writing process with its heap frozen (the word list:
    # several hundred megabytes of small objects); freeze again whatever the
    # fork brought, so this process's collections never walk it either.
    gc.freeze()


def _add_text(doc: tantivy.Document, text: str, value: Sequences) -> None:
    for name, sequence in zip(TEXT_FIELDS[text], value, strict=True):
        if sequence:
            doc.add_text(name, sequence)


def tantivy_document(document: SearchDocument, ready: Prepared) -> tantivy.Document:
    """The tantivy document of a :class:`SearchDocument` and its :func:`prepared` form."""
    doc = tantivy.Document()
    doc.add_text("key", document.key)
    if document.item:
        doc.add_text("item", document.item)
    for name in KEYWORD_FIELDS:
        for value in document.facet_values(name):
            doc.add_text(name, value)
    gates = list(document.gates)[:MAX_GATES]
    if len(document.gates) > MAX_GATES:
        raise ValueError(f"{document.key}: more than {MAX_GATES} access gates")
    gates += [Gate("public")] * (MAX_GATES - len(gates))
    for i, gate in enumerate(gates):
        doc.add_text(f"g{i}", gate.level)
        if gate.embargo_until:
            # Only an embargo's date is ever asked for (gate_open).
            doc.add_integer(f"u{i}", gate.embargo_until.toordinal())
    doc.add_integer(
        "date_asc", document.date if document.date is not None else _NO_DATE_ASC
    )
    doc.add_integer(
        "date_desc", document.date if document.date is not None else _NO_DATE_DESC
    )
    if ready.title is not None:
        _add_text(
            doc, "context" if document.type in CONTEXT_TYPES else "title", ready.title
        )
    if ready.body is not None:
        _add_text(doc, "body", ready.body)
    doc.add_bytes("doc", ready.stored)
    return doc


# ---------------------------------------------------------------------------
# Queries

#: The letter of toned syllables; and the query fields read as syllables.
TONED = LETTER[Field.JYUTPING]
_READING_FIELDS = frozenset({Field.JYUTPING, Field.JYUTPING_TONELESS})
_SYLLABLE_TEXT = re.compile(r"[a-z]+[1-6]?")


def _syllable(term: Term) -> str:
    """A query syllable as a regular expression over the indexed toned ones."""
    text = term.text if _SYLLABLE_TEXT.fullmatch(term.text) else re.escape(term.text)
    return text if term.field == Field.JYUTPING else text + "[1-6]"


class QueryBuilder:
    """Turns an :class:`EngineRequest` into a tantivy query."""

    def __init__(self, schema: tantivy.Schema) -> None:
        self.schema = schema

    def term(self, field: str, text: str) -> tantivy.Query:
        return tantivy.Query.term_query(self.schema, field, text)

    def word(self, text: str, term: str) -> tantivy.Query:
        """One lettered term in its kind's field of a text."""
        return tantivy.Query.term_query(self.schema, f"{text}_{KIND_OF[term[0]]}", term)

    def _all_in(self, text: str, terms: list[str]) -> tantivy.Query:
        if len(terms) == 1:
            return self.word(text, terms[0])
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, self.word(text, t)) for t in terms]
        )

    def _run_in(self, text: str, alternative: Alternative) -> tantivy.Query:
        """The terms at their offsets: a phrase in their kind's field.

        A run mixing bigrams with unigrams or words (``"廣州 好"``, ``"cafe
        茶樓"``) is asked as the phrase of its characters and words, which
        share one field.
        """
        words = [(t.offset, PREFIX[t.field] + t.text) for t in alternative.terms]
        if len(words) == 1:
            return self.word(text, words[0][1])
        kinds = {KIND_OF[term[0]] for _, term in words}
        if len(kinds) > 1:
            if not kinds <= {"1", "2"}:
                # No parser mixes readings with characters in one run.
                return self._all_in(text, [term for _, term in words])
            unigram = LETTER[Field.CJK1]
            at: dict[int, str] = {}
            for offset, term in words:
                if KIND_OF[term[0]] == "2":
                    at[offset] = unigram + term[1]
                    at[offset + 1] = unigram + term[2]
                else:
                    at[offset] = term
            words = sorted(at.items())
            kinds = {"1"}
        field = f"{text}_{kinds.pop()}"
        return tantivy.Query.phrase_query(self.schema, field, words)

    def _either_field(self, make: Callable[[str], tantivy.Query]) -> tantivy.Query:
        return tantivy.Query.boolean_query(
            [
                (
                    tantivy.Occur.Should,
                    tantivy.Query.boost_query(make("title"), TITLE_BOOST),
                ),
                (
                    tantivy.Occur.Should,
                    tantivy.Query.boost_query(make("context"), CONTEXT_BOOST),
                ),
                (tantivy.Occur.Should, make("body")),
            ]
        )

    def _reading_in(self, text: str, alternative: Alternative) -> tantivy.Query:
        """A Jyutping reading: pairs of syllables (see :func:`analysis.columns`).

        Two syllables are one pair term and more a phrase of pairs; a toneless
        syllable is a regular expression over the toned ones. The index holds
        no toneless syllables.
        """
        terms = alternative.terms
        toned = all(t.field == Field.JYUTPING for t in terms)
        schema = self.schema
        syllables, pairs_field = f"{text}_j", f"{text}_p"
        if len(terms) == 1:
            if toned:
                return self.word(text, TONED + terms[0].text)
            return tantivy.Query.regex_query(
                schema, syllables, TONED + _syllable(terms[0])
            )
        offsets = [t.offset for t in terms]
        if offsets != list(range(offsets[0], offsets[0] + len(terms))):
            # Not one run (no parser makes this): syllable by syllable.
            words = [(t.offset, TONED + _syllable(t)) for t in terms]
            return tantivy.Query.regex_phrase_query(schema, syllables, words)
        neighbours = list(zip(terms, terms[1:], strict=False))
        if toned:
            words = [(a.offset, PAIR_LETTER + a.text + b.text) for a, b in neighbours]
            if len(words) == 1:
                return self.word(text, words[0][1])
            return tantivy.Query.phrase_query(schema, pairs_field, words)
        pairs = [
            (a.offset, PAIR_LETTER + _syllable(a) + _syllable(b)) for a, b in neighbours
        ]
        if len(pairs) == 1:
            return tantivy.Query.regex_query(schema, pairs_field, pairs[0][1])
        return tantivy.Query.regex_phrase_query(schema, pairs_field, pairs)

    def alternative(self, alternative: Alternative) -> tantivy.Query:
        """All the terms in one field (as a run, if a phrase); exact runs rank higher."""
        if (alternative.phrase or len(alternative.terms) == 1) and all(
            t.field in _READING_FIELDS for t in alternative.terms
        ):
            return self._either_field(lambda f: self._reading_in(f, alternative))
        if alternative.phrase:
            return self._either_field(lambda f: self._run_in(f, alternative))
        terms = [PREFIX[t.field] + t.text for t in alternative.terms]
        matched = self._either_field(lambda f: self._all_in(f, terms))
        if len(terms) < 2:
            return matched
        run = self._either_field(lambda f: self._run_in(f, alternative))
        return tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Must, matched),
                (tantivy.Occur.Should, tantivy.Query.boost_query(run, RUN_BOOST)),
            ]
        )

    def clause(self, clause: Clause) -> tantivy.Query:
        """Any of the clause's alternatives."""
        alternatives = [a for a in clause.alternatives if a.terms]
        if not alternatives:
            return tantivy.Query.empty_query()
        if len(alternatives) == 1:
            return self.alternative(alternatives[0])
        # The form as typed ranks above its aliases and readings.
        return tantivy.Query.boolean_query(
            [
                (
                    tantivy.Occur.Should,
                    tantivy.Query.boost_query(self.alternative(a), LITERAL_BOOST)
                    if a.source == Source.LITERAL
                    else self.alternative(a),
                )
                for a in alternatives
            ]
        )

    def values(self, field: str, values: Iterable[str]) -> tantivy.Query:
        """Any of a few values (term queries: far cheaper than a term set here)."""
        values = list(dict.fromkeys(values))
        if len(values) == 1:
            return self.term(field, values[0])
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, self.term(field, value)) for value in values]
        )

    def gate_open(self, i: int, scope: AccessScope) -> tantivy.Query:
        level = f"g{i}"
        lifted = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Must, self.term(level, "embargoed")),
                (
                    tantivy.Occur.Must,
                    tantivy.Query.range_query(
                        self.schema,
                        f"u{i}",
                        tantivy.FieldType.Integer,
                        1,
                        scope.today.toordinal(),
                    ),
                ),
            ]
        )
        should = [
            (tantivy.Occur.Should, self.values(level, sorted(scope.levels))),
            (tantivy.Occur.Should, lifted),
        ]
        if i == 0 and scope.items:
            # A grant opens the item's own gate of its documents.
            should.append(
                (tantivy.Occur.Should, self.values("item", sorted(scope.items)))
            )
        return tantivy.Query.boolean_query(should)

    def filters(self, request: EngineRequest) -> list[tuple[object, tantivy.Query]]:
        """The non-scoring parts: access, types, item, facet filters."""
        parts: list[tuple[object, tantivy.Query]] = []
        for i in range(MAX_GATES):
            parts.append((tantivy.Occur.Must, self.gate_open(i, request.scope)))
        if request.types:
            parts.append((tantivy.Occur.Must, self.values("type", request.types)))
        if request.item:
            parts.append((tantivy.Occur.Must, self.term("item", request.item)))
        for name, values in request.filters.items():
            if values:
                parts.append((tantivy.Occur.Must, self.values(name, values)))
        for name, values in request.excluded_filters.items():
            if values:
                parts.append((tantivy.Occur.MustNot, self.values(name, values)))
        return [(occur, tantivy.Query.const_score_query(q, 0.0)) for occur, q in parts]

    def build(self, request: EngineRequest) -> tantivy.Query:
        """The whole query: clauses, exclusions and filters."""
        query = request.query
        parts: list[tuple[object, tantivy.Query]] = []
        for clause in (*query.must, *query.phrases):
            parts.append((tantivy.Occur.Must, self.clause(clause)))
        for clause in query.excluded:
            parts.append((tantivy.Occur.MustNot, self.clause(clause)))
        if not any(occur == tantivy.Occur.Must for occur, _ in parts):
            parts.append(
                (
                    tantivy.Occur.Must,
                    tantivy.Query.const_score_query(tantivy.Query.all_query(), 0.0),
                )
            )
        parts += self.filters(request)
        return tantivy.Query.boolean_query(parts)


# ---------------------------------------------------------------------------
# The engine


class EmbeddedEngine:
    """The on-disk tantivy engine (see the module docstring).

    Args:
        path: the index folder (``SEARCH_INDEX_DIR``); created when missing.
        writer_wait: seconds a write waits for another process's writer.
    """

    name = "embedded"

    def __init__(self, path: Path | str, *, writer_wait: float | None = None) -> None:
        self.path = Path(path)
        if writer_wait is None:
            from django.conf import settings

            writer_wait = float(getattr(settings, "SEARCH_WRITER_WAIT", 60.0))
        self.writer_wait = writer_wait
        self.schema = schema_build()
        self.builder = QueryBuilder(self.schema)
        self._thread_lock = threading.RLock()
        self._index: tantivy.Index | None = None
        self._generation: str | None = None
        self._meta_mtime: float | None = None

    # -- files ---------------------------------------------------------------

    @property
    def _current_file(self) -> Path:
        return self.path / "current"

    def _read_current(self) -> str | None:
        try:
            name = self._current_file.read_text().strip()
        except FileNotFoundError:
            return None
        return name or None

    def _write_current(self, name: str) -> None:
        temporary = self.path / f".current.{uuid.uuid4().hex}"
        with open(temporary, "w") as handle:
            handle.write(name + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self._current_file)
        directory = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def _new_generation(self) -> tuple[str, tantivy.Index]:
        name = "gen-" + time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        folder = self.path / name
        folder.mkdir(parents=True)
        (folder / "LAYOUT").write_text(
            f"layout={LAYOUT_VERSION};{analyzer_fingerprint()}\n"
        )
        return name, tantivy_index(self.schema, folder, reuse=False)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the one writer: this process's lock, then the folder's flock."""
        self.path.mkdir(parents=True, exist_ok=True)
        with self._thread_lock:
            with open(self.path / "writer.lock", "a+") as handle:
                deadline = time.monotonic() + self.writer_wait
                while True:
                    try:
                        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() >= deadline:
                            raise EngineUnavailable(
                                f"the search index {self.path} is being written by "
                                f"another process (waited {self.writer_wait:.0f} s)"
                            ) from None
                        time.sleep(0.05)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def _open(self, *, create: bool) -> tantivy.Index | None:
        """The live index (reopened when another process swapped generations)."""
        name = self._read_current()
        if name is None:
            if not create:
                return None
            name, index = self._new_generation()
            self._write_current(name)
            self._index, self._generation = index, name
            self._meta_mtime = None
            return index
        if name != self._generation or self._index is None:
            folder = self.path / name
            if not folder.is_dir():
                raise EngineUnavailable(
                    f"the search index {self.path} names {name}, which is missing; "
                    "run `python manage.py reindex`"
                )
            self._index = tantivy_index(self.schema, folder, reuse=True)
            self._generation = name
            self._meta_mtime = None
        return self._index

    def _fresh_searcher(self, index: tantivy.Index) -> tantivy.Searcher:
        """A searcher that sees every commit so far, from any process."""
        meta = self.path / (self._generation or "") / "meta.json"
        try:
            mtime = meta.stat().st_mtime_ns
        except FileNotFoundError:
            mtime = None
        if mtime != self._meta_mtime:
            index.reload()
            self._meta_mtime = mtime
        return index.searcher()

    # -- writes ------------------------------------------------------------

    def _prepared_stream(
        self, documents: Iterable[SearchDocument], workers: int
    ) -> Iterator[tuple[SearchDocument, Prepared]]:
        iterator = iter(documents)
        if workers <= 1:
            for document in iterator:
                yield document, prepared(document)
            return
        # Analysis (OpenCC, Jyutping) is most of the cost: spread it over
        # processes, in order, a few chunks ahead. The documents stay here;
        # only the packed analysis comes back.
        chunks = iter(lambda: list(islice(iterator, CHUNK)), [])
        # The word list and reading tables are loaded once, here, and shared
        # with the forked workers; frozen out of the garbage collector for the
        # length of the run, so that neither side walks them again and again
        # (that was a third of the analysis time).
        warm_up()
        gc.collect()
        gc.freeze()
        try:
            yield from self._in_pool(chunks, workers)
        finally:
            gc.unfreeze()

    @staticmethod
    def _in_pool(
        chunks: Iterator[list[SearchDocument]], workers: int
    ) -> Iterator[tuple[SearchDocument, Prepared]]:
        with ProcessPoolExecutor(
            workers, mp_context=get_context("fork"), initializer=_worker_start
        ) as pool:
            pending: list[tuple[list[SearchDocument], Future]] = []

            def drain(
                entry: tuple[list[SearchDocument], Future],
            ) -> Iterator[tuple[SearchDocument, Prepared]]:
                chunk, future = entry
                yield from zip(chunk, future.result(), strict=True)

            for chunk in chunks:
                pending.append((chunk, pool.submit(_prepared_chunk, chunk)))
                if len(pending) > workers * 2:
                    yield from drain(pending.pop(0))
            for entry in pending:
                yield from drain(entry)

    def _write(
        self,
        writer: tantivy.IndexWriter,
        documents: Iterable[SearchDocument],
        *,
        delete_first: bool,
        workers: int,
        progress: Callable[[int], None] | None,
    ) -> int:
        count = 0
        for document, ready in self._prepared_stream(documents, workers):
            if delete_first:
                writer.delete_documents_by_term("key", document.key)
            writer.add_document(tantivy_document(document, ready))
            count += 1
            if progress is not None and count % 500 == 0:
                progress(count)
        if progress is not None:
            progress(count)
        return count

    def index(
        self,
        documents: Iterable[SearchDocument],
        *,
        workers: int = 1,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Add or replace documents by key; committed and visible on return."""
        with self._writing():
            index = self._open(create=True)
            writer = index.writer(_WRITER_HEAP, 1)
            try:
                count = self._write(
                    writer,
                    documents,
                    delete_first=True,
                    workers=workers,
                    progress=progress,
                )
                writer.commit()
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()
            index.reload()
            return count

    def _delete_terms(self, field: str, values: Iterable[str]) -> int:
        values = list(values)
        if not values:
            return 0
        with self._writing():
            index = self._open(create=True)
            writer = index.writer(_WRITER_HEAP, 1)
            try:
                for value in values:
                    writer.delete_documents_by_term(field, value)
                writer.commit()
            finally:
                writer.wait_merging_threads()
            index.reload()
        return len(values)

    def delete(self, keys: Iterable[str]) -> int:
        """Remove documents by key."""
        return self._delete_terms("key", keys)

    def delete_item(self, item: str) -> None:
        """Remove every document of one item."""
        if item:
            self._delete_terms("item", [item])

    def replace_all(
        self,
        documents: Iterable[SearchDocument],
        progress: Callable[[int], None] | None = None,
        *,
        workers: int | None = None,
    ) -> int:
        """Build a new generation from ``documents`` and swap it in."""
        if workers is None:
            workers = max(1, min(4, os.cpu_count() or 1))
        with self._writing():
            old = self._read_current()
            name, index = self._new_generation()
            try:
                writer = index.writer(_WRITER_HEAP * 2, 1)
                try:
                    count = self._write(
                        writer,
                        documents,
                        delete_first=False,
                        workers=workers,
                        progress=progress,
                    )
                    writer.commit()
                finally:
                    writer.wait_merging_threads()
            except BaseException:
                shutil.rmtree(self.path / name, ignore_errors=True)
                raise
            self._write_current(name)
            self._index, self._generation, self._meta_mtime = index, name, None
            index.reload()
            if old and old != name:
                shutil.rmtree(self.path / old, ignore_errors=True)
            self._remove_orphans(keep=name)
            return count

    def _remove_orphans(self, *, keep: str) -> None:
        for folder in self.path.glob("gen-*"):
            if folder.name != keep and folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)

    def clear(self) -> None:
        """Remove every document."""
        with self._writing():
            index = self._open(create=True)
            writer = index.writer(_WRITER_HEAP, 1)
            try:
                writer.delete_all_documents()
                writer.commit()
            finally:
                writer.wait_merging_threads()
            index.reload()

    # -- reads -------------------------------------------------------------

    def search(self, request: EngineRequest) -> EngineResult:
        """Answer one request (see :mod:`archive.search.engine` for the semantics)."""
        with self._thread_lock:
            index = self._open(create=False)
            if index is None:
                return EngineResult(total=0, hits=[], facets={})
            searcher = self._fresh_searcher(index)
        query = self.builder.build(request)
        limit = max(0, request.limit)
        arguments: dict = {"limit": max(1, limit), "count": True}
        if request.offset:
            arguments["offset"] = request.offset
        if request.sort == "date":
            arguments["order_by_field"] = "date_asc"
            arguments["order"] = tantivy.Order.Asc
        elif request.sort == "-date":
            arguments["order_by_field"] = "date_desc"
            arguments["order"] = tantivy.Order.Desc
        result = searcher.search(query, **arguments)
        hits = []
        if limit:
            for order_key, address in result.hits:
                stored = searcher.doc(address)
                document = document_from_json(stored.get_first("doc"))
                score = float(order_key) if request.sort == "relevance" else 0.0
                hits.append(EngineHit(document, score))
        facets = self._facets(searcher, query, request) if request.facets else {}
        return EngineResult(total=result.count or 0, hits=hits, facets=facets)

    def _facets(self, searcher, query, request: EngineRequest) -> dict:
        aggregations = {
            name: {"terms": {"field": name, "size": request.facet_size}}
            for name in request.facets
        }
        answer = searcher.aggregate(query, aggregations)
        facets: dict[str, list[tuple[str, int]]] = {}
        for name in request.facets:
            buckets = answer.get(name, {}).get("buckets", [])
            pairs = [(str(b["key"]), int(b["doc_count"])) for b in buckets]
            pairs.sort(key=lambda pair: (-pair[1], pair[0]))
            facets[name] = pairs
        return facets

    def count(self) -> int:
        """How many documents the live index holds."""
        with self._thread_lock:
            index = self._open(create=False)
            if index is None:
                return 0
            return self._fresh_searcher(index).num_docs

    def stale(self) -> bool:
        """Whether the live index was built by another layout or analyzer."""
        name = self._read_current()
        if name is None:
            return False
        try:
            built = (self.path / name / "LAYOUT").read_text().strip()
        except FileNotFoundError:
            return True
        return built != f"layout={LAYOUT_VERSION};{analyzer_fingerprint()}"

    def health(self) -> dict:
        """The engine's state for ``/healthz``; never raises."""
        try:
            documents = self.count()
        except Exception as error:  # noqa: BLE001 - report, never fail the health page
            return {
                "ok": False,
                "detail": f"{type(error).__name__}: {error}",
                "documents": 0,
            }
        detail = f"tantivy index at {self.path}"
        if self.stale():
            detail += " (built by another analyzer: run manage.py reindex)"
        return {"ok": True, "detail": detail, "documents": documents}
