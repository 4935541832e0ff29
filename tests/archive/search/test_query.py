"""The query parser: every construct, mixed queries, and garbage that must not raise."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive.search import query as query_module
from archive.search.analysis import Field
from archive.search.query import (
    MAX_CLAUSES,
    MAX_QUERY_CHARS,
    WARNING_CODES,
    Filter,
    Source,
    parse,
)


def shape(clause):
    """A clause as (source, text, phrase, [(field, term, offset)]) per alternative."""
    return [
        (
            a.source,
            a.text,
            a.phrase,
            [(t.field.value, t.text, t.offset) for t in a.terms],
        )
        for a in clause.alternatives
    ]


def literal_terms(clause):
    return [(t.field.value, t.text, t.offset) for t in clause.alternatives[0].terms]


def test_terms_are_all_required():
    parsed = parse("茶樓 西關")
    assert [c.text for c in parsed.must] == ["茶樓", "西關"]
    assert parsed.phrases == parsed.excluded == parsed.filters == parsed.warnings == ()


def test_one_character_matches_its_unigram_and_more_match_bigrams():
    assert literal_terms(parse("茶").must[0]) == [("cjk1", "茶", 0)]
    assert literal_terms(parse("茶樓").must[0]) == [("cjk2", "茶樓", 0)]
    assert literal_terms(parse("西關茶樓").must[0]) == [
        ("cjk2", "西關", 0),
        ("cjk2", "關茶", 1),
        ("cjk2", "茶樓", 2),
    ]
    assert parse("西關茶樓").must[0].alternatives[0].phrase is False


def test_simplified_and_traditional_queries_parse_the_same():
    assert parse("广州 茶楼").must == parse("廣州 茶樓").must


def test_the_mixed_query_of_the_issue():
    parsed = parse('茶樓 -飲茶 kind:oral_history "一九三八"')
    assert [c.text for c in parsed.must] == ["茶樓"]
    assert [c.text for c in parsed.excluded] == ["飲茶"]
    assert parsed.filters == (Filter("kind", "oral_history", False, "oral_history"),)
    [phrase] = parsed.phrases
    assert shape(phrase) == [
        (
            "literal",
            "一九三八",
            True,
            [("cjk2", "一九", 0), ("cjk2", "九三", 1), ("cjk2", "三八", 2)],
        )
    ]
    assert parsed.warnings == ()


@pytest.mark.parametrize(
    "quoted",
    ['"西關 茶樓"', "「西關 茶樓」", "“西關 茶樓”", "『西關茶樓』", "＂西關茶樓＂"],
)
def test_a_quoted_phrase_is_consecutive_bigrams(quoted):
    [phrase] = parse(quoted).phrases
    [alternative] = phrase.alternatives
    assert alternative.phrase
    assert [(t.field, t.text, t.offset) for t in alternative.terms] == [
        (Field.CJK2, "西關", 0),
        (Field.CJK2, "關茶", 1),
        (Field.CJK2, "茶樓", 2),
    ]


def test_a_phrase_may_mix_words_and_characters():
    [phrase] = parse('"1938年"').phrases
    assert literal_terms(phrase) == [("word", "1938", 0), ("cjk1", "年", 1)]
    assert phrase.alternatives[0].phrase


def test_phrases_are_not_alias_expanded():
    [phrase] = parse('"我哋"').phrases
    assert [a.source for a in phrase.alternatives] == [Source.LITERAL]


def test_terms_are_alias_expanded_both_ways_over_the_whole_run():
    [clause] = parse("我哋飲茶").must
    assert [a.text for a in clause.alternatives] == [
        "我哋飲茶",
        "我哋喝茶",
        "我們飲茶",
        "我們喝茶",
    ]
    assert [a.source for a in clause.alternatives] == [Source.LITERAL] + [
        Source.ALIAS
    ] * 3
    [clause] = parse("我們").must
    assert [a.text for a in clause.alternatives] == ["我們", "我哋"]


def test_alias_forms_keep_the_run_together():
    """佢哋好多 needs 佢哋 (or 他們 ...) next to 好多, not anywhere in the text."""
    [clause] = parse("佢哋好多").must
    for alternative in clause.alternatives:
        offsets = [term.offset for term in alternative.terms]
        assert offsets == list(range(len(offsets)))  # one run of bigrams
        assert len(alternative.text) == 4


def test_a_run_of_several_words_also_matches_its_words_apart():
    [clause] = parse("蝦餃燒賣").must
    literal, apart = clause.alternatives
    assert literal.source == Source.LITERAL
    assert apart.source == Source.WORDS and apart.text == "蝦餃 燒賣"
    assert {term.text for term in apart.terms} == {"蝦餃", "燒賣"}
    # One dictionary word has nothing to take apart.
    [clause] = parse("茶樓").must
    assert [a.source for a in clause.alternatives] == [Source.LITERAL]


def test_exclusions():
    parsed = parse('茶樓 -飲茶 -"西關 茶樓" -kind:book_volume')
    assert [c.text for c in parsed.must] == ["茶樓"]
    assert [c.text for c in parsed.excluded] == ["飲茶", "西關 茶樓"]
    # Exclusions are literal: -飲茶 must not also remove 喝茶.
    assert [a.text for a in parsed.excluded[0].alternatives] == ["飲茶"]
    assert parsed.excluded[1].alternatives[0].phrase
    assert parsed.filters == (Filter("kind", "book_volume", True, "book_volume"),)
    assert parsed.filter_values("kind", negated=True) == ("book_volume",)
    assert parsed.filter_values("kind") == ()


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("kind:oral_history", "kind", "oral_history"),
        ("KIND:Oral_History", "kind", "oral_history"),
        ("kind：oral_history", "kind", "oral_history"),  # full-width colon
        ("place:广州", "place", "廣州"),
        ('place:"西關 荔灣"', "place", "西關 荔灣"),
        ("theme:gzlib", "theme", "gzlib"),
        ("dialect:台山話", "dialect", "台山話"),
        ('collection:"Teahouse  Memories"', "collection", "teahouse memories"),
        ("decade:1930s", "decade", "1930"),
        ("decade:1930年代", "decade", "1930"),
        ("decade:一九三〇年代", "decade", "1930"),
        ("decade:1938", "decade", "1930"),
        ("decade:１９３０Ｓ", "decade", "1930"),
    ],
)
def test_filters(text, field, value):
    parsed = parse(text)
    assert [(f.field, f.value, f.negated) for f in parsed.filters] == [
        (field, value, False)
    ]
    assert parsed.must == () and parsed.warnings == ()


def test_several_values_of_one_filter():
    parsed = parse("place:西關 place:荔灣 kind:oral_history")
    assert parsed.filter_values("place") == ("西關", "荔灣")
    assert parsed.filter_values("kind") == ("oral_history",)


def test_an_unknown_field_is_text():
    parsed = parse("foo:bar 10:30")
    assert parsed.filters == ()
    assert [c.text for c in parsed.must] == ["foo", "bar", "10", "30"]


@pytest.mark.parametrize(
    "text", ["gwong2 zau1", "Gwong2 Zau1", "gwong2zau1", "ｇｗｏｎｇ２ ｚａｕ１"]
)
def test_toned_jyutping_becomes_a_phrase_of_syllables(text):
    [clause] = parse(text).must
    jyutping = [a for a in clause.alternatives if a.source == Source.JYUTPING]
    assert [(t.field, t.text, t.offset) for t in jyutping[0].terms] == [
        (Field.JYUTPING, "gwong2", 0),
        (Field.JYUTPING, "zau1", 1),
    ]
    assert jyutping[0].phrase
    # The words themselves still match as words.
    assert clause.alternatives[0].source == Source.LITERAL


@pytest.mark.parametrize("text", ["gwongzau", "gwong zau"])
def test_toneless_jyutping_matches_syllables_or_the_joined_word(text):
    [clause] = parse(text).must
    jyutping = [shape_alt for shape_alt in shape(clause) if shape_alt[0] == "jyutping"]
    assert jyutping == [
        (
            "jyutping",
            "gwong zau",
            True,
            [("jyutping_toneless", "gwong", 0), ("jyutping_toneless", "zau", 1)],
        ),
        ("jyutping", "gwongzau", False, [("jyutping_word", "gwongzau", 0)]),
    ]


def test_jyutping_next_to_characters():
    parsed = parse("茶樓 gwong2 zau1 1938")
    assert [c.text for c in parsed.must] == ["茶樓", "gwong2 zau1", "1938"]
    assert [a.source for a in parsed.must[2].alternatives] == [Source.LITERAL]


def test_a_lone_toneless_syllable_is_only_a_word():
    [clause] = parse("man").must
    assert shape(clause) == [("literal", "man", False, [("word", "man", 0)])]


def test_english_that_is_also_jyutping_keeps_its_words():
    [clause] = parse("hong kong").must
    assert clause.alternatives[0].terms[0].field == Field.WORD
    assert Source.JYUTPING in {a.source for a in clause.alternatives}


def test_an_excluded_jyutping_word_excludes_its_characters():
    [clause] = parse("茶樓 -gwongzau").excluded
    assert ("jyutping", "gwongzau", False, [("jyutping_word", "gwongzau", 0)]) in shape(
        clause
    )


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ('"西關 茶樓', ["unclosed_quote"]),
        ('"', ["unclosed_quote", "empty_phrase"]),
        ('""', ["empty_phrase"]),
        ("-", ["lone_minus"]),
        ("-- 茶樓", ["lone_minus"]),
        ("kind:", ["empty_filter"]),
        ("kind: oral_history", ["empty_filter"]),
        ('kind:""', ["empty_filter"]),
        ('place:"西關', ["unclosed_quote"]),
        ("decade:三十年代", ["invalid_decade"]),
        ("decade:abc", ["invalid_decade"]),
        ("🙂", ["ignored"]),
        ("!!! ，。", ["ignored", "ignored"]),
        ("-🙂", ["ignored"]),
        ('-"', ["unclosed_quote", "empty_phrase"]),
        ("「『“", ["unclosed_quote", "empty_phrase"]),
        ("\x00\u200b\ufeff", ["ignored"]),
        ("", []),
        ("   ", []),
    ],
)
def test_garbage_gives_warnings_not_exceptions(text, codes):
    parsed = parse(text)
    assert list(parsed.warning_codes) == codes
    assert set(parsed.warning_codes) <= set(WARNING_CODES)


def test_an_unclosed_quote_runs_to_the_end():
    parsed = parse('茶樓 "西關 飲茶')
    assert [c.text for c in parsed.phrases] == ["西關 飲茶"]
    assert [c.text for c in parsed.must] == ["茶樓"]


def test_a_very_long_query_is_cut():
    text = ("廣州茶樓 gwong2 zau1 -飲茶 kind:oral_history 🙂 " * 300)[:10_000]
    parsed = parse(text)
    assert parsed.raw == text
    assert "truncated" in parsed.warning_codes
    clauses = len(parsed.must) + len(parsed.phrases) + len(parsed.excluded)
    assert 0 < clauses <= MAX_CLAUSES
    assert (
        len(parse("茶" * 10_000).must[0].alternatives[0].terms) == MAX_QUERY_CHARS - 1
    )


def test_too_many_terms_are_dropped_with_a_warning():
    words = " ".join(f"w{i}" for i in range(MAX_CLAUSES + 8))
    parsed = parse(words)
    assert len(parsed.must) == MAX_CLAUSES
    assert parsed.warning_codes == ("too_many_terms",)


def test_repeated_terms_count_once():
    assert len(parse("茶樓 茶樓 茶樓").must) == 1


def test_none_and_empty_are_empty_queries():
    assert parse(None).is_empty
    assert parse("").is_empty
    assert not parse("kind:oral_history").is_empty


def test_a_parser_failure_is_caught_and_logged(monkeypatch, caplog):
    def boom(self):
        raise RuntimeError("bug")

    monkeypatch.setattr(query_module._Parser, "run", boom)
    parsed = parse("茶樓")
    assert parsed.warning_codes == ("internal_error",)
    assert parsed.is_empty
    assert "search query parser failed" in caplog.text


QUERY_PIECES = st.sampled_from(
    '" 「 」 “ ” - -- : kind: place: decade: decade:1930s -kind: x:y '
    "廣州 广州 茶樓 我哋 食 gwong2 zau1 gwongzau hong".split()
    + [" ", "  ", "\n", "🙂", "，", "ｇ", "\u0301", "\U000e0100", "a" * 60]
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.text(max_size=300), st.lists(QUERY_PIECES, max_size=40).map("".join))
)
def test_parse_never_raises(text):
    parsed = parse(text)
    assert "internal_error" not in parsed.warning_codes
    assert set(parsed.warning_codes) <= set(WARNING_CODES)
    for clause in parsed.must + parsed.phrases + parsed.excluded:
        assert clause.alternatives
        for alternative in clause.alternatives:
            assert alternative.terms
            assert all(term.text and term.offset >= 0 for term in alternative.terms)
