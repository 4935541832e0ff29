"""The OpenSearch engine without a server: mapping, term strings, query bodies, bulk calls.

No cluster runs here (the shared contract tests run the engine against a real
one when ``OPENSEARCH_URL`` is set). These tests check what the engine sends:

- the strict mapping of the three texts (``title``, ``context``, ``body``)
  and the whitespace-with-fillers strings, decoded back and compared with
  :func:`archive.search.analysis.analyze`;
- the query bodies built from :func:`archive.search.query.parse`, both by
  shape and by :func:`evaluate`, a small model of the Lucene semantics of the
  few query types the engine uses (``bool``, ``term``, ``terms``, ``range``,
  ordered ``span_near`` with ``span_gap`` and ``span_field_masking``). The
  model also enforces the server's rules for span queries (one field per
  ``span_near``, no boosts inside), read from OpenSearch's
  ``SpanNearQueryBuilder`` and ``FieldMaskingSpanQueryBuilder``;
- the requests of writes, through a recording transport that answers only
  acknowledgements (never search results).
"""

from __future__ import annotations

import datetime
import json
import socket

import pytest
from opensearchpy import Transport
from opensearchpy import exceptions as errors

from archive.search import opensearch as os_engine
from archive.search.analysis import Field, Token, analyze
from archive.search.engine import (
    CONTEXT_BOOST,
    CONTEXT_TYPES,
    DOC_TYPES,
    AccessScope,
    EngineRequest,
    EngineUnavailable,
    Gate,
    SearchDocument,
)
from archive.search.opensearch import (
    FILLER,
    MAX_GATES,
    OPEN_GATE,
    TEXTS,
    OpenSearchEngine,
    access_filter,
    alternative_query,
    clause_query,
    connection_options,
    document_body,
    encode_text,
    facet_counts,
    hit_document,
    index_body,
    index_gates,
    positional_string,
    query_body,
    sort_clause,
    text_field,
)
from archive.search.query import Source, parse

CANTONESE = "1938年，我哋喺西關嘅茶樓飲茶。"
LATIN = "Café gwong2 zau1, ABC-def 1938年 Straße ŁÓDŹ"
TODAY = datetime.date(2024, 5, 1)
EVERYONE = AccessScope(frozenset({"public"}), TODAY)
TEXT_FIELDS = {text_field(text, field) for text in TEXTS for field in Field}


# ---------------------------------------------------------------------------
# A model of the query types the engine sends


def _one(mapping: dict) -> tuple:
    assert len(mapping) == 1, mapping
    return next(iter(mapping.items()))


def _values(source: dict, field: str) -> list:
    if field in TEXT_FIELDS:
        return source.get(field, "").split(" ")
    value = source.get(field)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _span_field(query: dict) -> str:
    kind, body = _one(query)
    if kind == "span_term":
        return _one(body)[0]
    if kind == "span_field_masking":
        return body["field"]
    if kind == "span_near":
        return _span_field(body["clauses"][0])
    raise AssertionError(f"no field for {kind}")


def _spans(query: dict, source: dict) -> set[tuple[int, int]]:
    kind, body = _one(query)
    if kind == "span_term":
        field, value = _one(body)
        value = value["value"] if isinstance(value, dict) else value
        words = _values(source, field)
        return {(p, p + 1) for p, word in enumerate(words) if word == value}
    if kind == "span_field_masking":
        assert "boost" not in _one(body["query"])[1], "no boost inside a span"
        return _spans(body["query"], source)
    assert kind == "span_near", kind
    assert body["in_order"] is True and body["slop"] == 0, "only exact runs modelled"
    clauses = body["clauses"]
    main = _span_field(clauses[0])
    for clause in clauses:
        clause_kind, clause_body = _one(clause)
        if clause_kind == "span_gap":
            # SpanNearQueryBuilder: "[span_near] clauses must have same field".
            assert _one(clause_body)[0] == main
        else:
            assert _span_field(clause) == main, "Lucene: one field per span_near"
            assert "boost" not in clause_body, "checkNoBoost: no boost inside"
    assert _one(clauses[0])[0] != "span_gap"
    found = set()
    for start, end in _spans(clauses[0], source):
        ends = {end}
        for clause in clauses[1:]:
            clause_kind, clause_body = _one(clause)
            if clause_kind == "span_gap":
                ends = {e + _one(clause_body)[1] for e in ends}
            else:
                ends = {e for s, e in _spans(clause, source) if s in ends}
        found |= {(start, e) for e in ends}
    return found


def evaluate(query: dict, source: dict) -> bool:
    """Whether a document (its indexed body) matches a query, as Lucene would."""
    kind, body = _one(query)
    if kind == "match_all":
        return True
    if kind == "match_none":
        return False
    if kind == "bool":
        required = body.get("must", []) + body.get("filter", [])
        should = body.get("should", [])
        least = body.get("minimum_should_match", 0 if required or not should else 1)
        return (
            all(evaluate(q, source) for q in required)
            and not any(evaluate(q, source) for q in body.get("must_not", []))
            and sum(evaluate(q, source) for q in should) >= least
        )
    if kind == "term":
        field, value = _one(body)
        value = value["value"] if isinstance(value, dict) else value
        return value in _values(source, field)
    if kind == "terms":
        field, wanted = _one(body)
        return any(value in _values(source, field) for value in wanted)
    if kind == "range":
        field, bounds = _one(body)
        values = _values(source, field)
        return bool(values) and all(
            {"lte": v <= b, "gte": v >= b, "lt": v < b, "gt": v > b}[op]
            for v in values[:1]
            for op, b in bounds.items()
        )
    if kind.startswith("span_"):
        return bool(_spans(query, source))
    raise AssertionError(f"the model does not know {kind}")


def request_for(text: str, **options) -> EngineRequest:
    options.setdefault("scope", EVERYONE)
    return EngineRequest(query=parse(text), **options)


def finds(
    text: str,
    *,
    body: str = "",
    title: str = "標題",
    doc_type: str = "item",
    **document,
) -> bool:
    """Whether the query ``text`` finds a document with this title and body."""
    source = document_body(
        SearchDocument(f"{doc_type}:x", doc_type, title, body, **document)
    )
    return evaluate(query_body(request_for(text))["query"], source)


def leaves(query: dict, boosts: tuple[float, ...] = ()) -> list[tuple[str, str, tuple]]:
    """Every ``term`` and ``span_term`` of a query: (field, value, boosts on its path)."""
    kind, body = _one(query)
    if kind in ("term", "span_term"):
        field, value = _one(body)
        return [(field, value["value"], boosts)]
    if kind == "bool":
        if "boost" in body:
            boosts = (*boosts, body["boost"])
        parts = [q for key in ("must", "should", "must_not") for q in body.get(key, [])]
        return [leaf for q in parts for leaf in leaves(q, boosts)]
    if kind == "span_near":
        return [leaf for q in body["clauses"] for leaf in leaves(q, boosts)]
    if kind == "span_field_masking":
        return leaves(body["query"], boosts)
    if kind in ("span_gap", "match_all", "match_none"):
        return []
    raise AssertionError(f"no leaves known for {kind}")


def text_of(field: str) -> str | None:
    """The text (``title``, ``context``, ``body``) an index field belongs to.

    ``None`` for a field of no text (``key``, ``gate0_level``).
    """
    found = [t for t in TEXTS if field in {text_field(t, f) for f in Field}]
    return found[0] if found else None


def has_span(query: dict) -> bool:
    """Whether a span query occurs anywhere in ``query``."""
    return '"span_' in json.dumps(query)


# ---------------------------------------------------------------------------
# Mapping


def test_mapping_is_strict_with_every_analyzer_field_of_the_three_texts():
    assert TEXTS == ("title", "context", "body")
    body = index_body()
    mappings = body["mappings"]
    properties = mappings["properties"]
    assert mappings["dynamic"] == "strict"
    for text in ("title", "context", "body"):
        for field in Field:
            mapping = properties[f"{text}_{field.value}"]
            assert mapping["type"] == "text"
            assert mapping["index_options"] == "positions"
            assert mapping["similarity"] == "BM25"
            analyzer = body["settings"]["analysis"]["analyzer"][mapping["analyzer"]]
            tokenizer = body["settings"]["analysis"]["tokenizer"][analyzer["tokenizer"]]
            assert tokenizer["type"] == "whitespace"
            assert tokenizer["max_token_length"] == os_engine.MAX_TERM_CHARS
            assert "filter" not in analyzer  # terms are indexed exactly as written
    for name in (
        "type",
        "kind",
        "theme",
        "place",
        "dialect",
        "collection",
        "decade",
        "item",
        "institution",
        "key",
    ):
        assert properties[name] == {"type": "keyword"}
    assert properties["date"] == {"type": "integer"}
    for i in range(MAX_GATES):
        assert properties[f"gate{i}_level"] == {"type": "keyword"}
        assert properties[f"gate{i}_until"] == {"type": "integer"}
    assert properties["stored"] == {"type": "object", "enabled": False}
    assert mappings["_source"] == {"excludes": ["title_*", "context_*", "body_*"]}
    # The context fields came with schema 2 (older indices read as stale).
    assert mappings["_meta"]["schema"] == os_engine.SCHEMA_VERSION >= 2
    assert set(mappings["_meta"]) == {"schema", "analyzer"}
    assert "refresh_interval" not in body["settings"]["index"]
    assert index_body(loading=True)["settings"]["index"]["refresh_interval"] == "-1"


@pytest.mark.parametrize("doc_type", ["segment", "item"])
def test_every_field_a_document_body_holds_is_mapped(doc_type):
    properties = index_body()["mappings"]["properties"]
    document = SearchDocument(
        f"{doc_type}:1",
        doc_type,
        "西關茶樓",
        CANTONESE + LATIN,
        item="abc",
        gates=(Gate("reading_room"), Gate("embargoed", TODAY)),
        institution=3,
        kind="oral_history",
        themes=("food", "trade"),
        places=("西關",),
        dialect="廣州話",
        collection="c1",
        decade="1930",
        date=1938,
    )
    held = set(document_body(document))
    assert held <= set(properties)
    assert {"title_cjk2", "context_cjk2"} & held, "the title is indexed somewhere"


# ---------------------------------------------------------------------------
# The whitespace-with-fillers strings


@pytest.mark.parametrize("text", [CANTONESE, LATIN, CANTONESE + " " + LATIN])
def test_term_strings_decode_to_the_analyzer_tokens(text):
    encoded = encode_text(text)
    tokens = analyze(text)
    assert tokens, "the sample must give tokens"
    for field in Field:
        words = encoded[field].split(" ") if encoded[field] else []
        assert "" not in words, "exactly one space between words"
        expected = {t.position: t.term for t in tokens if t.field == field}
        decoded = {p: word for p, word in enumerate(words) if word != FILLER}
        assert decoded == expected, field
        if expected:
            assert len(words) == max(expected) + 1


def test_cantonese_sample_positions():
    encoded = encode_text(CANTONESE)
    word = encoded[Field.WORD].split(" ")
    cjk1 = encoded[Field.CJK1].split(" ")
    cjk2 = encoded[Field.CJK2].split(" ")
    assert word == ["1938"]
    # 年 follows 1938; the comma leaves one empty position before 我.
    assert cjk1[:5] == [FILLER, "年", FILLER, "我", "哋"]
    assert cjk2[9] == "茶樓" and cjk1[9] == "茶"
    assert encoded[Field.JYUTPING_WORD].split(" ")[9] == "caalau"


def test_a_term_that_cannot_be_one_word_becomes_a_filler():
    tokens = [
        Token(Field.WORD, "a", 0, 0, 1),
        Token(Field.WORD, "b c", 1, 2, 5),
        Token(Field.WORD, "x" * (os_engine.MAX_TERM_CHARS + 1), 2, 6, 9),
        Token(Field.WORD, "d", 4, 9, 10),
    ]
    assert positional_string(tokens) == f"a {FILLER} {FILLER} {FILLER} d"
    assert positional_string([]) == ""


# ---------------------------------------------------------------------------
# Documents


def test_document_round_trips_through_source():
    document = SearchDocument(
        key="segment:42",
        type="segment",
        title="茶樓",
        body=CANTONESE,
        item="it1",
        gates=(Gate("public"), Gate("embargoed", datetime.date(2030, 1, 2))),
        institution=7,
        kind="oral_history",
        themes=("food", "trade"),
        places=("西關", "廣州"),
        dialect="廣州話",
        collection="col",
        decade="1930",
        date=1938,
        start=12.25,
        end=0.1 + 0.2,
        speaker="陳太",
        page=None,
        page_id="",
        url="/items/it1/?t=12",
        extra={"n": [1, 2.5, None], "s": "字"},
    )
    wire = json.loads(json.dumps(document_body(document)))
    assert hit_document(wire) == document
    assert hit_document({"stored": wire["stored"]}).end == 0.1 + 0.2
    minimal = SearchDocument("work:1", "work", "書")
    assert hit_document(json.loads(json.dumps(document_body(minimal)))) == minimal


def test_document_body_fields():
    document = SearchDocument(
        "item:a",
        "item",
        "西關",
        "",
        item="a",
        gates=(Gate("staff"), Gate("embargoed", datetime.date(2024, 5, 2))),
        themes=("food",),
        kind="oral_history",
        date=None,
    )
    body = document_body(document)
    assert body["key"] == "item:a" and body["type"] == "item" and body["item"] == "a"
    assert body["theme"] == ["food"] and body["kind"] == "oral_history"
    assert "place" not in body and "date" not in body and "institution" not in body
    assert body["gate0_level"] == "staff" and "gate0_until" not in body
    assert body["gate1_level"] == "embargoed" and body["gate1_until"] == 20240502
    assert body["gate2_level"] == body["gate3_level"] == OPEN_GATE
    assert body["title_cjk2"] == "西關" and "body_cjk1" not in body


def test_a_context_type_puts_its_title_in_the_context_text():
    assert CONTEXT_TYPES == ("segment", "page")
    for doc_type in DOC_TYPES:
        body = document_body(SearchDocument(f"{doc_type}:1", doc_type, "西關", "茶樓"))
        title_fields = {name for name in body if text_of(name) == "title"}
        context_fields = {name for name in body if text_of(name) == "context"}
        assert body["body_cjk2"] == "茶樓", doc_type
        if doc_type in CONTEXT_TYPES:
            assert body["context_cjk2"] == "西關" and body["context_cjk1"] == "西 關"
            assert not title_fields, doc_type
        else:
            assert body["title_cjk2"] == "西關" and body["title_cjk1"] == "西 關"
            assert not context_fields, doc_type
    # The stored document keeps its title as the title, whatever its type.
    segment = SearchDocument("segment:1", "segment", "西關", "茶樓")
    assert hit_document(document_body(segment)).title == "西關"


def test_analysing_in_processes_gives_the_same_bodies_in_order(monkeypatch):
    monkeypatch.setattr(os_engine, "BULK_CHUNK", 3)
    documents = [
        SearchDocument(f"segment:{n}", "segment", f"第{n}段", CANTONESE)
        for n in range(10)
    ]
    assert list(os_engine.document_bodies(documents, workers=2)) == list(
        os_engine.document_bodies(documents, workers=1)
    )


def test_gates_merge_without_changing_who_sees():
    gates = [
        Gate("public"),
        Gate("embargoed", datetime.date(2024, 1, 1)),
        Gate("embargoed", datetime.date(2025, 1, 1)),
        Gate("reading_room"),
        Gate("staff"),
    ]
    assert index_gates(gates) == [
        Gate("public"),
        Gate("reading_room"),
        Gate("staff"),
        Gate("embargoed", datetime.date(2025, 1, 1)),
    ]
    assert index_gates(
        [Gate("public"), Gate("embargoed", TODAY), Gate("embargoed")]
    ) == [
        Gate("public"),
        Gate("embargoed"),
    ]
    # The first gate is the item's own, which a grant opens: it keeps its slot
    # even when another gate repeats it (a closed passage of a staff-only item).
    assert index_gates([Gate("staff"), Gate("staff")]) == [Gate("staff"), Gate("staff")]
    with pytest.raises(ValueError, match="access gates"):
        index_gates([Gate(level) for level in "abcde"])


# ---------------------------------------------------------------------------
# Query bodies: shapes


def test_two_character_query():
    body = query_body(request_for("茶樓"))
    (clause,) = body["query"]["bool"]["must"]
    assert clause == {
        "bool": {
            "should": [
                {
                    "bool": {
                        "must": [{"term": {"title_cjk2": {"value": "茶樓"}}}],
                        "boost": 2.0,
                    }
                },
                {
                    "bool": {
                        "must": [{"term": {"context_cjk2": {"value": "茶樓"}}}],
                        "boost": 0.1,
                    }
                },
                {"term": {"body_cjk2": {"value": "茶樓"}}},
            ],
            "minimum_should_match": 1,
        }
    }
    assert "must_not" not in body["query"]["bool"]


def test_longer_run_requires_its_bigrams_and_boosts_the_exact_run():
    (clause,) = query_body(request_for("西關茶樓"))["query"]["bool"]["must"]
    # The run as typed (ranked first), then its dictionary words apart.
    typed, apart = clause["bool"]["should"]
    assert clause["bool"]["minimum_should_match"] == 1
    assert typed["bool"]["boost"] == os_engine.LITERAL_BOOST
    assert "boost" not in apart["bool"]
    literal = typed["bool"]["must"][0]
    matched = literal["bool"]["must"][0]
    body_terms = matched["bool"]["should"][2]["bool"]["must"]
    assert body_terms == [
        {"term": {"body_cjk2": {"value": bigram}}}
        for bigram in ("西關", "關茶", "茶樓")
    ]
    (run,) = literal["bool"]["should"]
    assert run["bool"]["boost"] == os_engine.RUN_BOOST
    body_run = run["bool"]["must"][0]["bool"]["should"][2]
    assert body_run["span_near"]["slop"] == 0
    assert [_one(c["span_term"])[0] for c in body_run["span_near"]["clauses"]] == [
        "body_cjk2"
    ] * 3


def test_quoted_phrase_is_an_exact_span_run():
    (clause,) = query_body(request_for('"西關茶樓"'))["query"]["bool"]["must"]
    title, context, body = clause["bool"]["should"]
    assert title["bool"]["boost"] == 2.0
    assert context["bool"]["boost"] == 0.1
    assert context["bool"]["must"] == [
        {
            "span_near": {
                "clauses": [
                    {"span_term": {"context_cjk2": {"value": "西關"}}},
                    {"span_term": {"context_cjk2": {"value": "關茶"}}},
                    {"span_term": {"context_cjk2": {"value": "茶樓"}}},
                ],
                "slop": 0,
                "in_order": True,
            }
        }
    ]
    assert body == {
        "span_near": {
            "clauses": [
                {"span_term": {"body_cjk2": {"value": "西關"}}},
                {"span_term": {"body_cjk2": {"value": "關茶"}}},
                {"span_term": {"body_cjk2": {"value": "茶樓"}}},
            ],
            "slop": 0,
            "in_order": True,
        }
    }


def test_cross_field_phrase_masks_to_the_first_field():
    (clause,) = query_body(request_for('"1938年"'))["query"]["bool"]["must"]
    body = clause["bool"]["should"][2]
    assert body == {
        "span_near": {
            "clauses": [
                {"span_term": {"body_word": {"value": "1938"}}},
                {
                    "span_field_masking": {
                        "query": {"span_term": {"body_cjk1": {"value": "年"}}},
                        "field": "body_word",
                    }
                },
            ],
            "slop": 0,
            "in_order": True,
        }
    }


def test_phrase_with_a_gap_uses_an_exact_span_gap():
    (clause,) = query_body(request_for('"西關，茶樓"'))["query"]["bool"]["must"]
    clauses = clause["bool"]["should"][2]["span_near"]["clauses"]
    # 西關 at 0 (its bigram covers 0-1), the comma leaves 2 empty, 茶樓 at 3.
    assert clauses == [
        {"span_term": {"body_cjk2": {"value": "西關"}}},
        {"span_gap": {"body_cjk2": 2}},
        {"span_term": {"body_cjk2": {"value": "茶樓"}}},
    ]


def test_exclusion_is_must_not():
    bool_query = query_body(request_for("茶樓 -飲茶"))["query"]["bool"]
    assert len(bool_query["must"]) == 1
    (excluded,) = bool_query["must_not"]
    assert excluded["bool"]["should"][2] == {"term": {"body_cjk2": {"value": "飲茶"}}}


def test_only_an_exclusion_keeps_everything_else():
    bool_query = query_body(request_for("-飲茶"))["query"]["bool"]
    assert bool_query["must"] == [{"match_all": {}}]
    assert len(bool_query["must_not"]) == 1


def test_toned_jyutping_query():
    clause = parse("gwong2 zau1").must[0]
    literal, reading = clause.alternatives
    assert reading.source == Source.JYUTPING and reading.phrase
    built = clause_query(clause)
    literal_query, reading_query = built["bool"]["should"]
    assert literal_query["bool"]["boost"] == os_engine.LITERAL_BOOST
    body_run = reading_query["bool"]["should"][2]
    assert body_run == {
        "span_near": {
            "clauses": [
                {"span_term": {"body_jyutping": {"value": "gwong2"}}},
                {"span_term": {"body_jyutping": {"value": "zau1"}}},
            ],
            "slop": 0,
            "in_order": True,
        }
    }


def test_toneless_joined_jyutping_query():
    clause = parse("gwongzau").must[0]
    built = clause_query(clause)["bool"]["should"]
    assert len(built) == 3
    toneless_run = built[1]["bool"]["should"][2]["span_near"]["clauses"]
    assert toneless_run == [
        {"span_term": {"body_jyutping_toneless": {"value": "gwong"}}},
        {"span_term": {"body_jyutping_toneless": {"value": "zau"}}},
    ]
    assert built[2]["bool"]["should"][2] == {
        "term": {"body_jyutping_word": {"value": "gwongzau"}}
    }


@pytest.mark.parametrize(
    "text",
    [
        "茶樓",
        "西關茶樓",
        "我哋好多",
        '"西關茶樓"',
        '"1938年"',
        '"西關，茶樓"',
        "gwong2 zau1",
        "gwongzau",
        "cafe 茶樓 -飲茶",
    ],
)
def test_every_text_query_also_asks_the_context_at_its_low_boost(text):
    assert CONTEXT_BOOST == 0.1 < 1 < os_engine.TITLE_BOOST
    bool_query = query_body(request_for(text))["query"]["bool"]
    found = [
        leaf
        for query in bool_query["must"] + bool_query.get("must_not", [])
        for leaf in leaves(query)
    ]
    by_text: dict = {name: [] for name in TEXTS}
    for field, value, boosts in found:
        by_text[text_of(field)].append(((field.split("_", 1)[1], value), boosts))
    assert by_text["context"], "the context text is queried"
    # The same terms in each text, each weighed by its text's boost first.
    terms = {name: [t for t, _b in entries] for name, entries in by_text.items()}
    assert terms["title"] == terms["context"] == terms["body"]
    assert {b[-1] for _t, b in by_text["context"]} == {CONTEXT_BOOST}
    assert {b[-1] for _t, b in by_text["title"]} == {os_engine.TITLE_BOOST}
    # The body is weighed down by nothing (only the literal and run boosts).
    assert CONTEXT_BOOST not in {b for _t, boosts in by_text["body"] for b in boosts}


def test_a_words_alternative_is_an_and_of_its_terms_without_a_span():
    literal, apart = parse("西關茶樓").must[0].alternatives
    assert literal.source == Source.LITERAL
    assert apart.source == Source.WORDS and not apart.phrase
    query = alternative_query(apart)
    # Required: both words, as plain terms in one text (no span: not adjacent).
    (required,) = query["bool"]["must"]
    assert not has_span(required)
    title, context, body = required["bool"]["should"]
    assert required["bool"]["minimum_should_match"] == 1
    assert body == {
        "bool": {
            "must": [
                {"term": {"body_cjk2": {"value": "西關"}}},
                {"term": {"body_cjk2": {"value": "茶樓"}}},
            ]
        }
    }
    assert title["bool"]["boost"] == os_engine.TITLE_BOOST
    assert context["bool"]["boost"] == CONTEXT_BOOST
    assert title["bool"]["must"] == [
        {
            "bool": {
                "must": [
                    {"term": {"title_cjk2": {"value": "西關"}}},
                    {"term": {"title_cjk2": {"value": "茶樓"}}},
                ]
            }
        }
    ]
    # Any span is only an optional ranking boost: the words apart match without it.
    apart_words = document_body(
        SearchDocument("item:x", "item", "標題", "去西關飲茶，再去茶樓")
    )
    assert evaluate(query, apart_words)
    assert not any(evaluate(q, apart_words) for q in query["bool"].get("should", []))
    assert not evaluate(alternative_query(literal), apart_words)


def test_filters_negated_filters_types_and_item():
    request = request_for(
        "茶",
        filters={"kind": ("oral_history",), "place": ("西關", "廣州"), "theme": ()},
        excluded_filters={"theme": ("food",)},
        types=("item", "segment"),
        item="abc",
    )
    bool_query = query_body(request)["query"]["bool"]
    filters = bool_query["filter"][MAX_GATES:]
    assert filters == [
        {"terms": {"type": ["item", "segment"]}},
        {"term": {"item": "abc"}},
        {"terms": {"kind": ["oral_history"]}},
        {"terms": {"place": ["西關", "廣州"]}},
    ]
    assert bool_query["must_not"] == [{"terms": {"theme": ["food"]}}]
    with pytest.raises(ValueError, match="filter field"):
        query_body(request_for("茶", filters={"speaker": ("x",)}))


def test_access_filter_shape():
    (first, *rest) = access_filter(AccessScope(frozenset({"public", "staff"}), TODAY))
    assert len(rest) == MAX_GATES - 1
    assert first == {
        "bool": {
            "should": [
                {"terms": {"gate0_level": [OPEN_GATE, "public", "staff"]}},
                {
                    "bool": {
                        "filter": [
                            {"term": {"gate0_level": "embargoed"}},
                            {"range": {"gate0_until": {"lte": 20240501}}},
                        ]
                    }
                },
            ],
            "minimum_should_match": 1,
        }
    }


def test_sorting():
    assert sort_clause("relevance") == ["_score", {"key": {"order": "asc"}}]
    assert sort_clause("date") == [
        {"date": {"order": "asc", "missing": "_last"}},
        {"key": {"order": "asc"}},
    ]
    assert sort_clause("-date")[0] == {"date": {"order": "desc", "missing": "_last"}}
    with pytest.raises(ValueError, match="sort"):
        sort_clause("title")
    relevance = query_body(request_for("茶"))
    assert relevance["track_scores"] is True
    dated = query_body(request_for("茶", sort="-date", offset=40, limit=20))
    assert "track_scores" not in dated
    assert (dated["from"], dated["size"]) == (40, 20)
    assert dated["track_total_hits"] is True


def test_facets():
    body = query_body(request_for("", facets=("kind", "theme"), facet_size=5))
    assert body["aggs"] == {
        "kind": {"terms": {"field": "kind", "size": 5}},
        "theme": {"terms": {"field": "theme", "size": 5}},
    }
    assert "aggs" not in query_body(request_for(""))
    buckets = [
        {"key": "b", "doc_count": 2},
        {"key": "c", "doc_count": 5},
        {"key": "a", "doc_count": 2},
    ]
    assert facet_counts(buckets) == [("c", 5), ("a", 2), ("b", 2)]


# ---------------------------------------------------------------------------
# Query bodies: what they match (by the model above)


@pytest.mark.parametrize(
    ("query", "body", "found"),
    [
        ("茶樓", CANTONESE, True),
        ("茶樓", "茶，樓", False),
        ("茶", CANTONESE, True),
        # No alias: the run's words apart also match (關茶 is not needed).
        ("西關茶樓", "去西關飲茶，再去茶樓", True),
        ("西關茶樓", "西關嘅茶樓", True),
        ("西關茶樓", "去西關飲茶", False),  # 茶樓 is missing
        ("西關茶樓", "茶樓在西關，關茶", True),  # every bigram, not as a run
        ("蝦餃燒賣", "蝦餃、燒賣", True),
        ("蝦餃燒賣", "蝦餃", False),
        # With an alias the run's forms stay runs: no words-apart alternative.
        ("我哋好多", "我們好多人", True),
        ("我哋好多", "我哋，好多", False),
        ('"西關茶樓"', "去西關茶樓飲茶", True),
        ('"西關茶樓"', "西關嘅茶樓", False),
        ('"西關茶樓"', "去西關飲茶，再去茶樓", False),  # quoted: the exact run
        ('"1938年"', CANTONESE, True),
        ('"1938年"', "1938 年", True),  # whitespace adds no position
        ('"1938年"', "1938，年", False),
        ('"西關，茶樓"', "西關、茶樓", True),
        ('"西關，茶樓"', "西關茶樓", False),
        ("茶樓 -飲茶", CANTONESE, False),
        ("茶樓 -飲茶", "茶樓傾偈", True),
        ("gwong2 zau1", "我喺廣州出世", True),
        ("gwong zau", "我喺廣州出世", True),
        ("gwongzau", "我喺廣州出世", True),
        ("zau1 gwong2", "我喺廣州出世", False),
        ("gwongzau", "我喺廣東出世", False),
        ("cafe", LATIN, True),
        ('"abc-def"', LATIN, True),
        ('"abc def"', LATIN, False),  # the hyphen leaves a position
        ('"straße łódź"', LATIN, True),
    ],
)
def test_query_matches_like_the_engine_contract(query, body, found):
    assert finds(query, body=body) is found


def test_an_alternative_must_match_within_one_text():
    # 西關茶樓 needs 西關, 關茶 and 茶樓 (or, apart, 西關 and 茶樓) in one text.
    assert not finds("西關茶樓", title="西關", body="關茶樓")
    assert not finds("西關茶樓", title="西關", body="茶樓")
    assert not finds("西關茶樓", title="西關", body="茶樓", doc_type="segment")
    assert finds("西關茶樓", title="西關茶樓", body="")
    # Separate clauses may match in different texts.
    assert finds("西關 1938", title="西關", body="1938")


@pytest.mark.parametrize("doc_type", CONTEXT_TYPES)
def test_a_context_title_matches_like_a_title(doc_type):
    assert finds("西關", title="西關", body="茶樓", doc_type=doc_type)
    assert finds('"西關茶樓"', title="西關茶樓", doc_type=doc_type)
    assert finds("sai1 gwaan1", title="西關", doc_type=doc_type)
    assert not finds('"西關茶樓"', title="西關嘅茶樓", doc_type=doc_type)
    assert not finds("茶樓 -西關", title="西關", body="茶樓", doc_type=doc_type)


@pytest.mark.parametrize(
    ("gates", "levels", "today"),
    [
        (gates, levels, today)
        for gates in [
            (),
            (Gate("public"),),
            (Gate("staff"),),
            (Gate("public"), Gate("reading_room")),
            (Gate("embargoed", datetime.date(2024, 5, 1)),),
            (Gate("embargoed", datetime.date(2024, 5, 2)),),
            (Gate("embargoed"),),
            (Gate("embargoed", datetime.date(2020, 1, 1)), Gate("staff")),
            (
                Gate("embargoed", datetime.date(2020, 1, 1)),
                Gate("embargoed", datetime.date(2030, 1, 1)),
            ),
            (Gate("withdrawn"), Gate("public")),
        ]
        for levels in [
            frozenset({"public"}),
            frozenset({"public", "reading_room"}),
            frozenset({"public", "reading_room", "staff", "embargoed"}),
            frozenset({"staff"}),
        ]
        for today in [TODAY, datetime.date(2019, 1, 1)]
    ],
)
def test_access_filter_admits_exactly_what_the_scope_admits(gates, levels, today):
    for granted in (frozenset(), frozenset({"oh1"}), frozenset({"oh2", "oh9"})):
        scope = AccessScope(levels, today, granted)
        document = SearchDocument("item:x", "item", "茶", item="oh1", gates=gates)
        query = {"bool": {"filter": access_filter(scope)}}
        assert evaluate(query, document_body(document)) is scope.admits(document)


def test_filters_match_any_value_and_negated_filters_remove():
    source = document_body(
        SearchDocument(
            "item:x", "item", "茶", themes=("food", "trade"), places=("西關",), kind="k"
        )
    )

    def kept(**options):
        return evaluate(query_body(request_for("", **options))["query"], source)

    assert kept(filters={"theme": ("trade", "war")})
    assert not kept(filters={"theme": ("war",)})
    assert kept(filters={"theme": ("food",), "place": ("西關", "廣州")})
    assert not kept(filters={"theme": ("food",), "kind": ("other",)})
    assert not kept(excluded_filters={"theme": ("war", "food")})
    assert kept(excluded_filters={"place": ("廣州",)})
    assert kept(types=("segment", "item")) and not kept(types=("page",))
    assert not kept(item="other")


# ---------------------------------------------------------------------------
# Requests of writes, through a recording transport


class RecordingTransport(Transport):
    """Records every request and answers with acknowledgements only.

    It knows which indices and aliases exist (set by the test) so that the
    engine's checks get their real answers; it answers no search or count.
    """

    def __init__(self, hosts, **kwargs):
        super().__init__(hosts, **kwargs)
        self.calls: list[tuple[str, str, dict, object]] = []
        self.existing: set[str] = set()
        self.aliases: dict[str, list[str]] = {}
        self.failure: Exception | None = None

    def perform_request(
        self, method, url, params=None, body=None, timeout=None, ignore=(), headers=None
    ):
        if self.failure is not None:
            raise self.failure
        if isinstance(body, dict | list):
            body = json.loads(self.serializer.dumps(body))
        elif isinstance(body, bytes):
            body = body.decode()
        params = {
            key: value.decode() if isinstance(value, bytes) else value
            for key, value in (params or {}).items()
        }
        self.calls.append((method, url, params, body))
        path = url.strip("/")
        if method == "HEAD":
            return path in self.existing
        if path.startswith("_alias/"):
            name = path.split("/", 1)[1]
            if name not in self.aliases:
                raise errors.NotFoundError(404, f"alias [{name}] missing", {})
            return {index: {"aliases": {name: {}}} for index in self.aliases[name]}
        if path.endswith("_bulk"):
            lines = [json.loads(line) for line in body.splitlines() if line]
            items = []
            for line in lines:
                if set(line) <= {"index", "delete"} and len(line) == 1:
                    op, meta = next(iter(line.items()))
                    status = 201 if op == "index" else 200
                    items.append({op: {**meta, "status": status}})
            return {"errors": False, "items": items}
        if path.endswith("_search") or path.endswith("_count"):
            raise AssertionError("the recording transport answers no searches")
        return {"acknowledged": True}


def recording_engine(
    url: str = "http://localhost:9200", index: str = "yuecang"
) -> tuple[OpenSearchEngine, RecordingTransport]:
    engine = OpenSearchEngine(url, index=index, transport_class=RecordingTransport)
    return engine, engine.client.transport


DOCUMENTS = [
    SearchDocument(f"segment:{n}", "segment", f"第{n}段", "茶樓", item="it")
    for n in range(3)
]


def test_first_use_creates_the_index_behind_the_alias():
    engine, transport = recording_engine()
    assert engine.index([]) == 0
    (head, create) = transport.calls
    assert head[:2] == ("HEAD", "/yuecang")
    method, url, _params, body = create
    assert (method, url) == ("PUT", "/yuecang-initial")
    assert body["aliases"] == {"yuecang": {}}
    assert body["mappings"]["dynamic"] == "strict"
    transport.calls.clear()
    engine.index([])
    assert transport.calls == [], "checked once per engine"


def test_index_bulk_loads_by_key_and_waits_for_refresh():
    engine, transport = recording_engine()
    transport.existing.add("yuecang")
    assert engine.index(DOCUMENTS) == 3
    (bulk,) = [call for call in transport.calls if call[1].endswith("_bulk")]
    method, url, params, body = bulk
    assert params["refresh"] == "wait_for"
    lines = [json.loads(line) for line in body.splitlines()]
    actions, sources = lines[0::2], lines[1::2]
    assert [a["index"]["_id"] for a in actions] == [d.key for d in DOCUMENTS]
    assert {a["index"]["_index"] for a in actions} == {"yuecang"}
    assert [hit_document(s) for s in sources] == DOCUMENTS


def test_delete_and_delete_item():
    engine, transport = recording_engine()
    transport.existing.add("yuecang")
    assert engine.delete(["segment:1", "segment:2"]) == 2
    (_method, url, params, body) = transport.calls[-1]
    assert url == "/_bulk" and params["refresh"] == "wait_for"
    assert [json.loads(line) for line in body.splitlines()] == [
        {"delete": {"_index": "yuecang", "_id": "segment:1"}},
        {"delete": {"_index": "yuecang", "_id": "segment:2"}},
    ]
    engine.delete_item("it")
    (method, url, params, body) = transport.calls[-1]
    assert (method, url) == ("POST", "/yuecang/_delete_by_query")
    assert body == {"query": {"term": {"item": "it"}}}
    assert params["refresh"] == "true" and params["conflicts"] == "proceed"
    calls = len(transport.calls)
    engine.delete_item("")
    engine.delete([])
    assert len(transport.calls) == calls


def test_replace_all_loads_a_new_index_then_swaps_the_alias(monkeypatch):
    monkeypatch.setattr(os_engine, "BULK_CHUNK", 2)
    monkeypatch.setattr(os_engine, "PROGRESS_EVERY", 2)
    engine, transport = recording_engine()
    transport.existing.add("yuecang")
    transport.aliases["yuecang"] = ["yuecang-initial"]
    reported = []
    assert engine.replace_all(DOCUMENTS, reported.append, workers=1) == 3
    assert reported == [2, 3]
    steps = [(method, url) for method, url, _p, _b in transport.calls]
    new = steps[0][1].strip("/")
    assert new.startswith("yuecang-") and new != "yuecang-initial"
    assert steps == [
        ("PUT", f"/{new}"),
        ("POST", "/_bulk"),
        ("POST", "/_bulk"),
        ("PUT", f"/{new}/_settings"),
        ("POST", f"/{new}/_refresh"),
        ("GET", "/_alias/yuecang"),
        ("POST", "/_aliases"),
        ("DELETE", "/yuecang-initial"),
    ]
    create_body = transport.calls[0][3]
    assert create_body["settings"]["index"]["refresh_interval"] == "-1"
    assert "aliases" not in create_body
    bulk_ids = [
        json.loads(line)["index"]["_id"]
        for _m, url, _p, body in transport.calls
        if url == "/_bulk"
        for line in body.splitlines()[0::2]
    ]
    assert bulk_ids == [d.key for d in DOCUMENTS]
    bulk_indices = {
        json.loads(line)["index"]["_index"]
        for _m, url, _p, body in transport.calls
        if url == "/_bulk"
        for line in body.splitlines()[0::2]
    }
    assert bulk_indices == {new}
    assert transport.calls[3][3] == {"index": {"refresh_interval": None}}
    assert transport.calls[6][3] == {
        "actions": [
            {"remove": {"index": "yuecang-initial", "alias": "yuecang"}},
            {"add": {"index": new, "alias": "yuecang"}},
        ]
    }


def test_replace_all_without_an_alias_yet_just_adds_it():
    engine, transport = recording_engine()
    engine.replace_all(DOCUMENTS[:1], workers=1)
    (update,) = [body for _m, url, _p, body in transport.calls if url == "/_aliases"]
    (add,) = update["actions"]
    assert add["add"]["alias"] == "yuecang"
    assert not [call for call in transport.calls if call[0] == "DELETE"]


def test_failed_load_deletes_the_new_index_and_keeps_the_alias():
    engine, transport = recording_engine()
    transport.aliases["yuecang"] = ["yuecang-initial"]

    def broken():
        yield DOCUMENTS[0]
        raise RuntimeError("source failed")

    with pytest.raises(RuntimeError, match="source failed"):
        engine.replace_all(broken(), workers=1)
    new = transport.calls[0][1]
    assert transport.calls[-1][:2] == ("DELETE", new)
    assert not [call for call in transport.calls if call[1] == "/_aliases"]


# ---------------------------------------------------------------------------
# Connection


def test_credentials_leave_the_url_and_https_verifies():
    engine, transport = recording_engine(
        "https://reader:p%40ss@search.example:9243/os/"
    )
    (connection,) = transport.connection_pool.connections
    assert connection.host == "https://search.example:9243"
    assert connection.url_prefix == "/os"
    assert connection.pool.cert_reqs == "CERT_REQUIRED"
    assert connection.headers["authorization"] == "Basic cmVhZGVyOnBAc3M="
    assert engine.url == "https://search.example:9243/os"
    assert "p@ss" not in repr(engine) and "p%40ss" not in repr(engine)


def test_connection_options_defaults():
    host, auth, shown = connection_options("http://localhost")
    assert host == {"host": "localhost", "port": 9200, "use_ssl": False}
    assert auth is None and shown == "http://localhost:9200"
    for bad in ("", "localhost:9200", "ftp://x"):
        with pytest.raises(EngineUnavailable, match="OPENSEARCH_URL"):
            connection_options(bad)
    with pytest.raises(ValueError, match="index name"):
        OpenSearchEngine("http://localhost:9200", index="Yuecang")


def test_unreachable_cluster_is_engine_unavailable_naming_the_url():
    engine, transport = recording_engine("https://reader:s3cret@search.example:9200")
    transport.failure = errors.ConnectionError(
        "N/A",
        "<urllib3.connection.HTTPSConnection object at 0x1>: Failed to establish a "
        "new connection: [Errno 111] Connection refused",
        OSError(),
    )
    with pytest.raises(EngineUnavailable) as raised:
        engine.count()
    message = str(raised.value)
    assert "https://search.example:9200" in message
    assert "[Errno 111] Connection refused" in message
    assert "s3cret" not in message and "reader" not in message
    health = engine.health()
    assert health["ok"] is False and health["documents"] == 0
    assert "https://search.example:9200" in health["detail"]
    assert "s3cret" not in health["detail"]


def test_refused_credentials_are_engine_unavailable():
    engine, transport = recording_engine()
    transport.failure = errors.AuthenticationException(401, "unauthorized", {})
    with pytest.raises(EngineUnavailable, match="refused the credentials"):
        engine.search(request_for("茶"))


def test_a_closed_local_port_is_engine_unavailable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine = OpenSearchEngine(f"http://u:pw@127.0.0.1:{port}", timeout=2)
    with pytest.raises(EngineUnavailable, match=f"http://127.0.0.1:{port}"):
        engine.count()
    health = engine.health()
    assert health["ok"] is False and "pw" not in health["detail"]
