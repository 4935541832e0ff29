"""The shared text normaliser: width, case, script and variant folds on real Cantonese."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archive.text import (
    CANTONESE_PREFERRED,
    VARIANT_MERGES,
    _simplified,
    fold_char,
    normalise_for_cer,
    normalise_for_search,
)

CANTONESE_ONLY = (
    "嘅咗喺冇佢啲嘢攞嚟噉嗰冚睇諗㗎嚿咁乜嘥攰瞓嗌撳嘞喇囉啩吖氹冧孖孭咪嘜㖭閂"
)


def test_cantonese_only_characters_survive_unchanged():
    assert normalise_for_search(CANTONESE_ONLY) == CANTONESE_ONLY
    # Cantonese words whose class OpenCC names after another word keep their own form.
    assert normalise_for_search("係咪搵食郁手晒吓嘩") == "係咪搵食郁手晒吓嘩"


def test_a_real_cantonese_sentence_in_traditional_keeps_every_character():
    sentence = "我哋細個嗰陣，喺西關啲騎樓底度玩，冇乜嘢好攞。"
    # Only the full-width comma (U+FF0C, ASCII punctuation) changes width.
    assert normalise_for_search(sentence) == sentence.replace("，", ",")


@pytest.mark.parametrize(
    ("simplified", "traditional"),
    [
        ("广州", "廣州"),
        ("我哋细个嗰阵喺西关", "我哋細個嗰陣喺西關"),
        ("饮茶食点心", "飲茶食點心"),
        ("佢话唔记得咗", "佢話唔記得咗"),
        ("揾工", "搵工"),
        ("头发", "頭髮"),
    ],
)
def test_simplified_and_traditional_fold_to_the_same_string(simplified, traditional):
    assert normalise_for_search(simplified) == normalise_for_search(traditional)
    assert normalise_for_search(simplified) != simplified or simplified == traditional


def test_guangzhou_folds_to_traditional():
    assert normalise_for_search("广州") == "廣州"
    assert normalise_for_search("廣州") == "廣州"


@pytest.mark.parametrize(
    ("variants", "representative"),
    [
        ("着著", "着"),
        ("里裏裡", "裏"),
        ("台臺檯颱", "台"),
        ("綫線线", "線"),
        ("衛衞卫", "衞"),
        ("峯峰", "峯"),
        ("爲為为", "為"),
        ("衆眾众", "眾"),
        ("搵揾", "搵"),
        ("郁鬱", "郁"),
        ("係系繫", "係"),
        ("什麼什麽什么", "什麼" * 3),
    ],
)
def test_variants_fold_to_one_representative(variants, representative):
    folded = normalise_for_search(variants)
    if len(representative) == 1:
        assert folded == representative * len(variants)
    else:
        assert folded == representative


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ＡＢＣ１２３", "abc123"),
        ("２０２４年３月", "2024年3月"),
        ("Ｗｈｉｓｐｅｒ　ｂａｓｅ！", "whisper base!"),
        ("（１）", "(1)"),
        ("｢廣州｣", "「廣州」"),  # half-width CJK brackets become the full ones
        ("MTR 港鐵 Exit Ａ２", "mtr 港鐵 exit a2"),
    ],
)
def test_width_and_case(text, expected):
    assert normalise_for_search(text) == expected


def test_cjk_punctuation_and_other_compatibility_forms_are_kept_in_the_search_form():
    # Only the width block is NFKC'd: circled numbers and CJK punctuation stay,
    # the full-width comma (a full-width form of ASCII ",") does not.
    assert normalise_for_search("①「廣州」、。㎡，") == "①「廣州」、。㎡,"


def test_mixed_scripts():
    text = "我喺 HKU 讀 Linguistics，教授叫 Dr. Ｃｈａｎ，佢講广东话"
    assert normalise_for_search(text) == (
        "我喺 hku 讀 linguistics,教授叫 dr. chan,佢講廣東話"
    )


def test_search_form_keeps_length_and_offsets():
    text = "佢喺广州　ＡＢＣ茶樓飲咗早茶。"
    folded = normalise_for_search(text)
    assert len(folded) == len(text)
    assert [fold_char(c) for c in text] == list(folded)


def test_cer_form_drops_punctuation_symbols_and_whitespace():
    assert normalise_for_cer("「廣州，」 Hello, World!") == "廣州helloworld"
    assert normalise_for_cer("佢話：『唔得！』\n\t（笑）……") == "佢話唔得笑"
    assert normalise_for_cer("♪ 100% ～ ok? ＃１") == "100ok1"
    assert normalise_for_cer("广州　茶楼\u200b") == normalise_for_cer("廣州茶樓")


def test_cer_form_keeps_every_cantonese_character():
    assert normalise_for_cer(CANTONESE_ONLY) == CANTONESE_ONLY


@given(st.text())
def test_search_fold_is_idempotent_and_length_preserving(text):
    folded = normalise_for_search(text)
    assert len(folded) == len(text)
    assert normalise_for_search(folded) == folded
    assert normalise_for_cer(folded) == normalise_for_cer(text)


@given(st.text(alphabet="广廣州着著里裏裡台臺係系搵揾嘅咗ＡａＢ１ 。，", min_size=1))
def test_a_substring_folds_as_it_does_inside_the_whole(text):
    # Query and document agree: the fold is context-free.
    for start in range(len(text)):
        for end in range(start + 1, len(text) + 1):
            assert (
                normalise_for_search(text[start:end])
                == (normalise_for_search(text)[start:end])
            )


def test_fold_is_idempotent_on_every_cjk_character():
    ranges = [(0x2E80, 0x2FDF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF)]
    wrong = []
    for first, last in ranges:
        for code in range(first, last + 1):
            folded = fold_char(chr(code))
            if len(folded) != 1 or fold_char(folded) != folded:
                wrong.append(chr(code))
    assert wrong == []


def test_preferred_representatives_stay_in_their_class():
    # A representative outside its class would split query and document.
    for simple, preferred in CANTONESE_PREFERRED.items():
        assert _simplified(preferred) == simple, preferred
        assert fold_char(simple) == preferred
    for source, target in VARIANT_MERGES.items():
        assert fold_char(source) == fold_char(target)
