"""The search analyzer on real Cantonese: folds, unigrams and bigrams, words, offsets."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archive.search.analysis import (
    ANALYZER_VERSION,
    LETTER,
    PAIR_LETTER,
    Field,
    analyze,
    analyzer_fingerprint,
    chunks,
    columns,
    fold,
    load_table,
    search_variants,
)
from archive.text import NORMALISER_VERSION, normalise_for_search

CANTONESE_ONLY = "嘅咗喺冇佢啲嘢攞"


def terms(text: str, *fields: Field) -> list[tuple[str, str, int]]:
    """(field, term, position) of every token, optionally of some fields only."""
    return [
        (token.field.value, token.term, token.position)
        for token in analyze(text)
        if not fields or token.field in fields
    ]


def of(text: str, field: Field) -> list[str]:
    return [token.term for token in analyze(text) if token.field == field]


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [
        ("廣州", "广州"),
        ("我哋細個嗰陣喺西關", "我哋细个嗰阵喺西关"),
        ("阿爺成日話廣州嘅茶樓以前好多人飲茶", "阿爷成日话广州嘅茶楼以前好多人饮茶"),
        ("銀行行長", "银行行长"),
    ],
)
def test_traditional_and_simplified_give_the_same_terms(traditional, simplified):
    assert terms(traditional) == terms(simplified)
    assert of(traditional, Field.CJK1)  # not trivially equal because empty


def test_the_two_scripts_of_guangzhou_share_every_field():
    expected = {
        Field.CJK1: ["廣", "州"],
        Field.CJK2: ["廣州"],
        Field.JYUTPING: ["gwong2", "zau1"],
        Field.JYUTPING_TONELESS: ["gwong", "zau"],
        Field.JYUTPING_WORD: ["gwongzau"],
    }
    for text in ("廣州", "广州"):
        for field, want in expected.items():
            assert of(text, field) == want, (text, field)


def test_cantonese_only_characters_survive_as_terms():
    text = "佢攞咗啲嘢喺度，冇嘅。"
    unigrams = of(text, Field.CJK1)
    for char in CANTONESE_ONLY:
        assert char in unigrams, char
    assert of(CANTONESE_ONLY, Field.CJK1) == list(CANTONESE_ONLY)
    assert "咗啲" in of(text, Field.CJK2)


@pytest.mark.parametrize(
    "forms",
    [
        "着著",  # archive.text's VARIANT_MERGES
        "里裏裡",
        "台臺",
        "峯峰",
        "綫線",
        "衞衛",
        # Rows of data/variants.tsv (OpenCC keeps these apart).
        "靑青",
        "淸清",
        "鬥鬭闘",
        "窗窓牕",
        "妳你",
        "戶户戸",
        "炮砲礮",
        "人⼈",  # U+2F08 KANGXI RADICAL MAN, common in text taken from PDFs
    ],
)
def test_variants_fold_to_one_term(forms):
    assert len({fold(char) for char in forms}) == 1
    assert len({tuple(of(char + "樓", Field.CJK2)) for char in forms}) == 1


def test_each_variant_row_is_needed_and_folds():
    rows = load_table("variants.tsv")
    assert len(rows) >= 20
    for row in rows:
        assert len(row) == 3, row
        variant, form, note = row
        assert len(variant) == len(form) == 1 and note, row
        # Needed: the shared normaliser keeps the two apart (else drop the row).
        assert normalise_for_search(variant) != normalise_for_search(form), row
        # And the search fold joins them.
        assert fold(variant) == fold(form), row
    assert len(search_variants()) == len(rows)


def test_variants_do_not_merge_distinct_words():
    # Different words the table deliberately leaves apart: 凋 "wither" and 雕
    # "carve"; 祇 "earth spirit" (神祇) and 只 "only"; 沈 the surname and 沉 "sink".
    assert fold("凋") != fold("雕")
    assert fold("祇") != fold("只")
    assert fold("沈") != fold("沉")


def test_bigrams_at_consecutive_positions_make_phrases():
    assert terms("西關茶樓", Field.CJK2) == [
        ("cjk2", "西關", 0),
        ("cjk2", "關茶", 1),
        ("cjk2", "茶樓", 2),
    ]
    assert terms("茶", Field.CJK1, Field.CJK2) == [("cjk1", "茶", 0)]


def test_whitespace_bridges_cjk_but_punctuation_breaks_it():
    # A column break in Dadian text, or a Whisper pause, is not a word boundary.
    assert "茶樓" in of("茶\n樓", Field.CJK2)
    assert "茶樓" in of("茶 樓", Field.CJK2)
    # Punctuation is: no bigram across it, and a position gap so phrases stop there.
    assert of("茶，樓", Field.CJK2) == []
    assert terms("茶，樓", Field.CJK1) == [("cjk1", "茶", 0), ("cjk1", "樓", 2)]


def test_latin_words_are_folded_and_numbers_are_words():
    text = "Café ＤＡＤＩＡＮ Straße naïve Ærø 1938年"
    assert of(text, Field.WORD) == [
        "cafe",
        "dadian",
        "strasse",
        "naive",
        "aero",
        "1938",
    ]
    assert of(text, Field.CJK1) == ["年"]


def test_punctuation_symbols_and_emoji_are_dropped():
    assert analyze("🙂！!？，。「」…—※ ") == []
    assert of("🙂茶樓🙂", Field.CJK2) == ["茶樓"]


def test_decomposed_accents_and_variation_selectors_stay_with_their_character():
    # e + COMBINING ACUTE; 葛 + an ideographic variation selector.
    text = "cafe\u0301 葛\U000e0100城"
    assert of(text, Field.WORD) == ["cafe"]
    assert of(text, Field.CJK2) == ["葛城"]
    bigram = next(t for t in analyze(text) if t.field == Field.CJK2)
    assert text[bigram.start : bigram.end] == "葛\U000e0100城"


def test_offsets_point_back_into_the_original_text():
    text = "ＡＢＣ，广州 嘅茶楼\n飲茶。Café 1938年"
    tokens = analyze(text)
    assert tokens
    for token in tokens:
        original = text[token.start : token.end]
        folded = "".join(char for char in fold(original) if not char.isspace())
        if token.field == Field.CJK1:
            assert folded == token.term
        elif token.field == Field.CJK2:
            assert folded == token.term
        elif token.field == Field.WORD:
            ascii_form = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore")
            assert ascii_form.decode() == token.term
    # A hit on 茶樓 is highlighted on the stored (Simplified) characters.
    bigram = next(t for t in tokens if t.field == Field.CJK2 and t.term == "茶樓")
    assert text[bigram.start : bigram.end] == "茶楼"
    bridged = next(t for t in tokens if t.field == Field.CJK2 and t.term == "樓飲")
    assert text[bridged.start : bridged.end] == "楼\n飲"


def test_jyutping_tokens_share_positions_with_characters():
    text = "去廣州飲茶"
    by_position = {t.position: t.term for t in analyze(text) if t.field == Field.CJK1}
    for token in analyze(text):
        if token.field in (Field.JYUTPING, Field.JYUTPING_TONELESS):
            assert text[token.start : token.end] == by_position[token.position]
    word = next(t for t in analyze(text) if t.term == "gwongzau")
    assert (word.position, text[word.start : word.end]) == (1, "廣州")


def test_jyutping_offsets_skip_the_spaces_inside_a_run():
    text = "我哋 去廣\n州，飲 茶"
    tokens = analyze(text)
    toned = [(t.term, text[t.start : t.end]) for t in tokens if t.field == "jyutping"]
    assert toned == [
        ("ngo5", "我"),
        ("dei6", "哋"),
        ("heoi3", "去"),
        ("gwong2", "廣"),
        ("zau1", "州"),
        ("jam2", "飲"),
        ("caa4", "茶"),
    ]
    words = {
        t.term: (t.position, text[t.start : t.end])
        for t in tokens
        if t.field == Field.JYUTPING_WORD
    }
    assert words["gwongzau"] == (3, "廣\n州")
    assert words["ngodei"] == (0, "我哋")


INDEXED_TEXTS = [
    "阿爺成日話廣州嘅茶樓以前好多人飲茶",
    "我哋 去廣\n州，飲 茶。Café 1938年",
    "⼈之初，東濠涌 𠮶啲嘢攞咗返嚟",
    "銀行行長喺西關講「粵劇」同 Cantonese opera",
    "",
    "🙂！",
]


@pytest.mark.parametrize("text", INDEXED_TEXTS)
def test_columns_are_the_analyzers_terms_lettered_with_pairs_for_toneless(text):
    indexed = columns(text)
    tokens = analyze(text)
    toned = {t.position: t.term for t in tokens if t.field == Field.JYUTPING}
    expected = [
        (LETTER[t.field] + t.term, t.position)
        for t in tokens
        if t.field != Field.JYUTPING_TONELESS
    ]
    expected += [
        (PAIR_LETTER + syllable + toned[position + 1], position)
        for position, syllable in toned.items()
        if position + 1 in toned
    ]
    assert sorted(zip(indexed.terms, indexed.positions, strict=True)) == sorted(
        expected
    )
    assert indexed.fields == indexed.starts == indexed.ends == []


def test_pairs_join_neighbours_only():
    # Across a space: neighbours. Across punctuation or a Latin word: not.
    assert [t for t in columns("廣 州，茶樓abc飲").terms if t.startswith("p")] == [
        "pgwong2zau1",
        "pcaa4lau4",
    ]


@pytest.mark.parametrize("text", INDEXED_TEXTS)
def test_each_terms_positions_rise_in_token_order(text):
    # tantivy delta-encodes a term's positions in the order it is given them.
    seen: dict[str, int] = {}
    indexed = columns(text)
    for term, position in zip(indexed.terms, indexed.positions, strict=True):
        assert position >= seen.get(term, -1)
        seen[term] = position


def test_queries_can_skip_jyutping():
    assert {t.field for t in analyze("廣州", jyutping=False)} == {
        Field.CJK1,
        Field.CJK2,
    }


def test_chunks_split_runs_and_words():
    parts = chunks("廣州abc，茶 樓")
    assert [(c.is_cjk, c.text, c.position) for c in parts] == [
        (True, "廣州", 0),
        (False, "abc", 2),
        (True, "茶樓", 4),
    ]
    assert parts[2].spans == ((6, 7), (8, 9))


def test_fingerprint_names_what_the_index_depends_on():
    fingerprint = analyzer_fingerprint()
    assert f"analyzer={ANALYZER_VERSION};" in fingerprint
    assert f"normaliser={NORMALISER_VERSION};" in fingerprint
    assert "variants=" in fingerprint and "pycantonese=" in fingerprint


@given(st.text(max_size=200))
def test_analyze_never_raises_and_offsets_are_in_the_text(text):
    for token in analyze(text):
        assert 0 <= token.start < token.end <= len(text)
        assert token.position >= 0
        assert token.term
    assert len(fold(text)) == len(text)
