"""Jyutping: readings of stored text and recognising Jyutping typed in a query."""

from __future__ import annotations

import pytest

from archive.search.analysis import Field, jyutping_terms
from archive.search.jyutping import (
    parse_syllables,
    segment_words,
    syllable_inventory,
    to_hong_kong,
)


def field_terms(text: str, field: Field) -> list[str]:
    return [token.term for token in jyutping_terms(text) if token.field == field]


@pytest.mark.parametrize("text", ["廣州", "广州"])
def test_guangzhou_reads_gwong2_zau1_with_and_without_tones(text):
    assert field_terms(text, Field.JYUTPING) == ["gwong2", "zau1"]
    assert field_terms(text, Field.JYUTPING_TONELESS) == ["gwong", "zau"]
    assert field_terms(text, Field.JYUTPING_WORD) == ["gwongzau"]


def test_cantonese_only_characters_have_readings():
    assert field_terms("嘅咗喺冇佢啲嘢攞", Field.JYUTPING) == [
        "ge3",
        "zo2",
        "hai2",
        "mou5",
        "keoi5",
        "di1",
        "je5",
        "lo2",
    ]


def test_words_choose_the_reading_of_a_character():
    # 行 is hong4 in 銀行 and haang4 in 行街.
    assert field_terms("銀行", Field.JYUTPING) == ["ngan4", "hong4"]
    assert field_terms("行街", Field.JYUTPING) == ["haang4", "gaai1"]


def test_readings_come_from_the_text_as_written_not_the_search_fold():
    # The search fold writes 著 as 着 (zoek6); 著名 is zyu3 ming4.
    assert field_terms("著名", Field.JYUTPING) == ["zyu3", "ming4"]
    # Simplified 干净 is read as 乾淨 (gon1), not as the fold's 幹 (gon3).
    assert field_terms("干净", Field.JYUTPING) == field_terms("乾淨", Field.JYUTPING)
    assert field_terms("乾淨", Field.JYUTPING)[0] == "gon1"


def test_no_jyutping_for_latin_or_unknown_characters():
    assert jyutping_terms("Guangzhou 1938 🙂") == []


def test_segmentation_finds_dictionary_words():
    assert segment_words("我哋去廣州飲茶") == ["我哋", "去", "廣州", "飲茶"]
    assert "".join(segment_words("行長在街上行走")) == "行長在街上行走"


def test_to_hong_kong_converts_by_phrase():
    assert to_hong_kong("我们去广州饮茶") == "我們去廣州飲茶"


@pytest.mark.parametrize(
    ("word", "readings"),
    [
        ("gwong2", [("gwong2",)]),
        ("gwongzau", [("gwong", "zau")]),
        ("gwong2zau1", [("gwong2", "zau1")]),
        ("gwongzau1", [("gwong", "zau1")]),
        ("m4goi1", [("m4", "goi1")]),
        ("hng6", [("hng6",)]),
        ("sinai", [("si", "nai"), ("sin", "ai")]),
    ],
)
def test_query_words_split_into_syllables(word, readings):
    assert parse_syllables(word) == readings


@pytest.mark.parametrize(
    "word", ["", "xyz", "gwong7", "2", "tea", "the", "廣州", "q" * 60]
)
def test_words_that_are_not_jyutping(word):
    assert parse_syllables(word) == []


def test_syllable_inventory_is_jyutping():
    inventory = syllable_inventory()
    assert {"gwong", "zau", "m", "ng", "hoeng", "caa"} <= inventory
    assert not {"x", "tea", "gwong2", "r"} & inventory
    assert 600 < len(inventory) < 1000


def test_kangxi_radicals_are_read_as_their_characters():
    """OCR writes ⼈ for 人: the search fold matches it, and Jyutping reads it."""
    from archive.search.analysis import jyutping_terms

    terms = [t.term for t in jyutping_terms("⼈之初") if t.field == "jyutping"]
    assert terms == ["jan4", "zi1", "co1"]


def test_a_creek_is_read_cung1_not_as_the_surge_opencc_would_make_it():
    from archive.search.analysis import jyutping_terms

    terms = [t.term for t in jyutping_terms("東濠涌") if t.field == "jyutping"]
    assert terms == ["dung1", "hou4", "cung1"]


@pytest.mark.parametrize("warm", ["1", "0"])
def test_the_wsgi_application_builds_the_word_list_at_start_when_asked(warm):
    """SEARCH_WARM_AT_START (on in production): no visitor's search waits for it.

    The word list, the converter and the URL conf's reverse lookups are all
    loaded as the app loads.
    """
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "DJANGO_ENV": "test", "SEARCH_WARM_AT_START": warm}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import archive.wsgi\n"
            "from archive.search import jyutping\n"
            "from django.urls import get_resolver\n"
            "print(jyutping._lexicon.cache_info().currsize,"
            " jyutping._s2hk.cache_info().currsize,"
            " int(get_resolver()._populated))",
        ],
        cwd=Path(__file__).resolve().parents[3],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == [warm] * 3
