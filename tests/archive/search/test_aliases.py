"""The colloquial Cantonese ↔ Standard Written Chinese alias layer (queries only)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archive.search.aliases import SCOPES, alias_pieces, alias_table, expand_aliases
from archive.search.analysis import fold, load_table

#: The pairs issue 7 and the brief name; every one must be in the table.
REQUIRED_PAIRS = [
    ("我哋", "我們"),
    ("你哋", "你們"),
    ("佢哋", "他們"),
    ("佢", "他"),
    ("唔", "不"),
    ("係", "是"),
    ("嘅", "的"),
    ("冇", "沒有"),
    ("食", "吃"),
    ("睇", "看"),
    ("講", "說"),
    ("喺", "在"),
    ("咗", "了"),
    ("嘢", "東西"),
    ("啲", "些"),
    ("嚟", "來"),
    ("畀", "給"),
    ("乜嘢", "什麼"),
    ("點解", "為什麼"),
    ("邊度", "哪裡"),
    ("而家", "現在"),
    ("攞", "拿"),
    ("企", "站"),
    ("瞓", "睡"),
    ("飲茶", "喝茶"),
]


def pieces(text: str) -> list[tuple[str, tuple[str, ...]]]:
    return [(piece.text, piece.forms) for piece in alias_pieces(fold(text))]


def test_the_table_is_well_formed():
    rows = load_table("aliases.tsv")
    assert len(rows) >= 60
    seen = set()
    for row in rows:
        assert len(row) == 4, row
        colloquial, standard, scope, note = row
        assert colloquial and standard and note, row
        assert scope in SCOPES, row
        assert fold(colloquial) != fold(standard), row
        assert (fold(colloquial), fold(standard)) not in seen, row
        seen.add((fold(colloquial), fold(standard)))
    for colloquial, standard in REQUIRED_PAIRS:
        assert (fold(colloquial), fold(standard)) in seen, (colloquial, standard)


@pytest.mark.parametrize(("colloquial", "standard"), REQUIRED_PAIRS)
def test_expansion_works_both_ways(colloquial, standard):
    [forms] = expand_aliases([colloquial])
    assert forms[0] == fold(colloquial)
    assert fold(standard) in forms
    [forms] = expand_aliases([standard])
    assert forms[0] == fold(standard)
    assert fold(colloquial) in forms


def test_either_script_expands():
    assert expand_aliases(["我们", "我們"]) == [("我們", "我哋"), ("我們", "我哋")]
    assert expand_aliases(["茶樓"]) == [("茶樓",)]


def test_expansion_is_one_hop():
    [forms] = expand_aliases(["他"])
    assert "佢" in forms and "她" not in forms
    [forms] = expand_aliases(["佢"])
    assert {"他", "她", "它"} <= set(forms)


@pytest.mark.parametrize(
    "word", ["食物", "關係", "企業", "了解", "其他", "電話", "銀行"]
)
def test_risky_forms_are_not_expanded_inside_words(word):
    assert pieces(word) == [(word, (word,))]


def test_a_risky_form_standing_as_a_word_is_expanded():
    assert pieces("佢食咗飯") == [
        ("佢", ("佢", "他", "她", "它")),
        ("食", ("食", "吃")),
        ("咗", ("咗", "了")),
        ("飯", ("飯",)),
    ]


def test_a_query_run_in_either_register():
    assert pieces("我哋去飲茶") == [
        ("我哋", ("我哋", "我們")),
        ("去", ("去",)),
        ("飲茶", ("飲茶", "喝茶")),
    ]
    assert pieces("他不是") == [("他", ("他", "佢")), ("不是", ("不是", "唔係"))]
    # 現在 is itself a form (而家); its 在 is not read as 喺.
    assert pieces("現在") == [("現在", ("現在", "而家"))]


def test_neighbouring_words_that_make_a_form_are_joined():
    assert pieces("冇問題") == [("冇問題", ("冇問題", "沒問題"))]


def test_colloquial_forms_safe_inside_words_are_found_there():
    # pycantonese segments 喺西關啲 as one word; 喺 and 啲 only ever mean at / some.
    assert pieces("喺西關啲") == [
        ("喺", ("喺", "在")),
        ("西關", ("西關",)),
        ("啲", ("啲", "些")),
    ]


QUERY_CHARACTERS = "我哋佢們食咗飯喺在西關茶樓飲喝唔不係是關現冇問題"
CJK = st.text(alphabet=st.sampled_from(QUERY_CHARACTERS), max_size=30)


@given(CJK)
def test_pieces_cover_the_run_exactly(run):
    found = alias_pieces(run)
    assert "".join(piece.text for piece in found) == run
    for piece in found:
        assert piece.forms[0] == piece.text
        assert len(set(piece.forms)) == len(piece.forms)
    assert alias_table().longest >= 2
