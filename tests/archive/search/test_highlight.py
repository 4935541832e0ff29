"""Highlights fall on the stored text where the query matched, and snippets stay short."""

from __future__ import annotations

from archive.search.highlight import snippet, spans
from archive.search.query import parse


def marked(text: str, q: str) -> list[str]:
    return [text[a:b] for a, b in spans(text, parse(q))]


def test_a_simplified_query_marks_the_traditional_text_as_stored():
    assert marked("我哋喺西關嘅茶樓飲茶", "茶楼") == ["茶樓"]


def test_a_jyutping_reading_marks_only_the_whole_word():
    text = "光緒年間，廣州城內有間茶樓。"
    assert marked(text, "gwongzau") == ["廣州"]
    assert marked(text, "gwong2 zau1") == ["廣州"]


def test_a_phrase_marks_the_run_and_not_its_characters_elsewhere():
    text = "西關有茶，樓上有人；西關茶樓最熱鬧。"
    assert marked(text, '"西關茶樓"') == ["西關茶樓"]


def test_an_alias_is_marked_too():
    assert marked("我們去飲茶", "我哋") == ["我們"]


def test_the_snippet_is_a_window_around_the_first_hit():
    text = "甲" * 200 + "防空洞" + "乙" * 200
    pieces = snippet(text, parse("防空洞"))
    assert pieces[0].text == "…" and pieces[-1].text == "…"
    assert [p.text for p in pieces if p.hit] == ["防空洞"]
    assert sum(len(p.text) for p in pieces) < 130


def test_no_hit_gives_the_beginning_of_the_text():
    pieces = snippet("一" * 100, parse("kind:oral_history"))
    assert len(pieces) == 1 and not pieces[0].hit and pieces[0].text.endswith("…")
