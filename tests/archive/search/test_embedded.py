"""The embedded engine's own promises: one writer, generations, other processes, staleness."""

from __future__ import annotations

import datetime
import fcntl
import multiprocessing
import pickle

import pytest

from archive.search.analysis import GAP, SEPARATOR, Field, columns, sequences
from archive.search.embedded import (
    KIND_OF,
    KINDS,
    EmbeddedEngine,
    _prepared_chunk,
    prepared,
)
from archive.search.engine import (
    AccessScope,
    EngineRequest,
    EngineUnavailable,
    SearchDocument,
)
from archive.search.query import Alternative, Clause, Query, Source, Term, parse

PUBLIC = AccessScope(frozenset({"public"}), datetime.date(2026, 11, 29))


def doc(key: str, body: str, title: str = "") -> SearchDocument:
    return SearchDocument(key=key, type="segment", title=title, body=body)


def keys(engine, q: str) -> list[str]:
    result = engine.search(EngineRequest(query=parse(q), scope=PUBLIC, limit=100))
    return sorted(hit.document.key for hit in result.hits)


def total(engine, q: str) -> int:
    return engine.search(EngineRequest(query=parse(q), scope=PUBLIC, limit=0)).total


def test_a_write_waits_for_the_writer_another_process_holds(tmp_path):
    engine = EmbeddedEngine(tmp_path / "index", writer_wait=0.3)
    engine.index([doc("a", "茶樓")])
    with open(tmp_path / "index" / "writer.lock", "a+") as other:
        fcntl.flock(other, fcntl.LOCK_EX)  # as another process would
        with pytest.raises(EngineUnavailable, match="being written by another process"):
            engine.index([doc("b", "茶樓")])
        # Readers never wait for the writer.
        assert keys(engine, "茶樓") == ["a"]
        fcntl.flock(other, fcntl.LOCK_UN)
    engine.index([doc("b", "茶樓")])
    assert keys(engine, "茶樓") == ["a", "b"]


def _write_in_child(path: str, key: str) -> None:
    EmbeddedEngine(path, writer_wait=30).index([doc(key, "西關茶樓")])


def test_writes_of_another_process_are_seen_at_the_next_search(tmp_path):
    path = tmp_path / "index"
    engine = EmbeddedEngine(path, writer_wait=30)
    engine.index([doc("here", "西關茶樓")])
    assert keys(engine, "茶樓") == ["here"]
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=_write_in_child, args=(str(path), f"child{i}"))
        for i in range(2)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(120)
        assert child.exitcode == 0
    assert keys(engine, "茶樓") == ["child0", "child1", "here"]


def test_a_rebuild_is_swapped_in_for_every_reader_and_the_old_folder_removed(tmp_path):
    path = tmp_path / "index"
    writer = EmbeddedEngine(path)
    reader = EmbeddedEngine(path)  # another process's view of the same folder
    writer.index([doc("old", "粵劇")])
    assert keys(reader, "粵劇") == ["old"]
    first = (path / "current").read_text().strip()
    writer.replace_all([doc("new", "粵劇")], workers=1)
    assert keys(reader, "粵劇") == ["new"]
    assert not (path / first).exists()
    assert len(list(path.glob("gen-*"))) == 1


def test_a_failed_rebuild_leaves_the_live_index_as_it_was(tmp_path):
    engine = EmbeddedEngine(tmp_path / "index")
    engine.index([doc("kept", "粵劇")])

    def broken():
        yield doc("new", "粵劇")
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        engine.replace_all(broken(), workers=1)
    assert keys(engine, "粵劇") == ["kept"]
    assert len(list((tmp_path / "index").glob("gen-*"))) == 1


def test_parallel_analysis_indexes_the_same_as_one_process(tmp_path):
    texts = [f"第{i}段：我哋喺西關嘅茶樓飲茶，講起{i}年嘅廣州。" for i in range(1200)]
    # Titles shared by runs of documents, as a recording's segments share it,
    # across the chunks the workers are given.
    titles = ["陳伯講荔枝灣", "黃婆婆講沙面", ""]
    documents = [doc(str(i), t, titles[(i // 300) % 3]) for i, t in enumerate(texts)]
    one = EmbeddedEngine(tmp_path / "one")
    many = EmbeddedEngine(tmp_path / "many")
    one.replace_all(documents, workers=1)
    many.replace_all(documents, workers=2)
    for q in (
        "茶樓",
        "gwongzau",
        '"1199年"',
        "我們",
        "荔枝灣",
        "沙面",
        "saamin",
        "popo",
    ):
        assert keys(one, q) == keys(many, q)
    assert keys(many, '"1199年"') == ["1199"]
    for engine in (one, many):
        assert total(engine, "荔枝灣") == 600
        assert total(engine, "saa1 min6") == total(engine, "popo") == 300
        assert total(engine, "飲茶") == 1200


@pytest.mark.parametrize(
    "text",
    [
        "我哋 去廣\n州，飲茶。Café 1938年",
        "陳伯講荔枝灣",
        "嗰陣，成日去茶樓，樓下",
        "abc，def ghi",
        "講嘢 ok 嘅，唔該晒 Mr Chan",
    ],
)
def test_sequences_put_every_term_at_its_position_in_its_kinds_field(text):
    value = columns(text)
    expected = {kind: {} for kind in KINDS}
    joined = []
    for term, position in zip(value.terms, value.positions, strict=True):
        if term.startswith("J"):
            joined.append(term)
        else:
            expected[KIND_OF[term[0]]][position] = term
    found = {}
    for kind, sequence in zip(KINDS, sequences(text), strict=True):
        # What the index's tokenizer does: split, count positions, drop gaps.
        tokens = sequence.split(SEPARATOR) if sequence else []
        found[kind] = {p: t for p, t in enumerate(tokens) if t != GAP}
        assert not tokens or tokens[-1] != GAP
    # Joined readings follow the characters in the unigrams' field, after a
    # gap (never in a phrase with them).
    characters = expected["1"]
    last = max(characters, default=-1)
    after = sorted(p for p in found["1"] if p > last)
    assert [found["1"].pop(p) for p in after] == joined
    if joined:
        assert after[0] == last + 2
    assert found == expected
    assert sum(map(len, found.values())) + len(joined) == len(value.terms)


def test_a_prepared_document_crosses_processes_unchanged():
    document = doc("a", "我哋 去廣\n州，飲茶。Café 1938年", "陳伯講荔枝灣")
    ready = prepared(document)
    assert ready.body is not None and any(ready.body)
    assert pickle.loads(pickle.dumps(ready)) == ready
    assert prepared(doc("b", "")).body is None
    assert prepared(doc("c", "，。")).body is None


def test_a_title_repeated_in_a_chunk_is_prepared_once():
    chunk = [doc(str(i), f"第{i}段", "陳伯講荔枝灣") for i in range(3)]
    ready = _prepared_chunk(chunk)
    assert ready[0].title is ready[1].title is ready[2].title
    assert ready[0].body != ready[1].body
    again = pickle.loads(pickle.dumps(ready))
    assert again[0].title is again[2].title
    assert [r.body for r in ready] == [prepared(d).body for d in chunk]


def test_an_index_built_by_another_analyzer_says_it_is_stale(tmp_path):
    engine = EmbeddedEngine(tmp_path / "index")
    engine.index([doc("a", "粵劇")])
    assert engine.stale() is False
    generation = (tmp_path / "index" / "current").read_text().strip()
    (tmp_path / "index" / generation / "LAYOUT").write_text("layout=0;analyzer=0\n")
    assert engine.stale() is True
    assert "reindex" in engine.health()["detail"]


def test_a_missing_index_answers_empty_and_a_missing_generation_says_what_to_do(
    tmp_path,
):
    engine = EmbeddedEngine(tmp_path / "index")
    assert keys(engine, "粵劇") == []
    assert engine.count() == 0
    engine.index([doc("a", "粵劇")])
    (tmp_path / "index" / "current").write_text("gen-gone\n")
    fresh = EmbeddedEngine(tmp_path / "index")
    with pytest.raises(EngineUnavailable, match="reindex"):
        fresh.search(EngineRequest(query=parse("粵劇"), scope=PUBLIC))
    assert fresh.health()["ok"] is False


def _reading_query(*syllables: tuple[str, int]) -> Query:
    """A clause of one Jyutping alternative, as no parser makes it today."""
    terms = tuple(
        Term(
            Field.JYUTPING if text[-1].isdigit() else Field.JYUTPING_TONELESS,
            text,
            offset,
        )
        for text, offset in syllables
    )
    alternative = Alternative(terms, len(terms) > 1, Source.JYUTPING, "")
    return Query(raw="", must=(Clause("", (alternative,)),))


@pytest.mark.parametrize(
    ("syllables", "expected"),
    [
        ((("gwong", 0),), ["a", "b"]),  # one toneless syllable: gwong2 and gwong1
        ((("gwong2", 0),), ["a"]),
        ((("gwong2", 0), ("dung1", 2)), ["a"]),  # 廣?東: not one run
        ((("gwong", 0), ("zau", 2)), []),
        ((("gwong", 0), ("dung", 2)), ["a", "b"]),
    ],
)
def test_readings_the_parser_does_not_make_are_still_answered(
    tmp_path, syllables, expected
):
    engine = EmbeddedEngine(tmp_path / "index")
    engine.index([doc("a", "廣州東山"), doc("b", "光大東門")])
    request = EngineRequest(query=_reading_query(*syllables), scope=PUBLIC, limit=10)
    assert sorted(h.document.key for h in engine.search(request).hits) == expected
