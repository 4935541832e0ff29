"""Citations of items (archive/citations.py) and their doors ``cite.json`` / ``cite.bib``.

The records are the sample archive's own (``ingest/sample``), made from its
metadata files by the ingest service, without decoding pages or audio: the
三字經 volume (a Qing woodblock edition, author with a dynasty, a publisher in
the edition statement) and the oral history (an interviewee, an ISO date).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from archive.citations import (
    bibtex_escape,
    citation_bibtex,
    citation_chicago,
    citation_csl,
    citation_gbt7714,
)
from archive.models import AccessLevel, Agent, Item, ItemAgent, Role
from ingest.services.items import institutions_load, item_upsert
from ingest.services.jobs import SAMPLE_ROOT

pytestmark = pytest.mark.django_db

ACCESSED = dt.date(2026, 11, 29)
VOLUME_URL = "http://testserver/items/gzdd-sanzijing-v1/"
ORAL_URL = "http://testserver/items/oh-teahouse-1938/"


def _sample_item(folder: str) -> Item:
    institutions_load(path=SAMPLE_ROOT / "institutions.json")
    path = SAMPLE_ROOT / folder
    name = "volume.json" if (path / "volume.json").exists() else "item.json"
    data = json.loads((path / name).read_text(encoding="utf-8"))
    item, _ = item_upsert(folder=path, data=data)
    return item


@pytest.fixture
def volume() -> Item:
    return _sample_item("dadian/sanzijing-v1")


@pytest.fixture
def oral_history() -> Item:
    return _sample_item("oral-history/teahouse-1938")


# ---------------------------------------------------------------------------
# GB/T 7714-2015
# ---------------------------------------------------------------------------


def test_gbt7714_of_the_sanzijing_volume(volume):
    assert citation_gbt7714(volume, VOLUME_URL, ACCESSED) == (
        "區適子. 三字經: 卷上[M/OL]. 刻本. 廣州: 粵藏堂, 1884(清光緒十年)"
        "[2026-11-29]. http://testserver/items/gzdd-sanzijing-v1/."
    )


def test_gbt7714_of_the_oral_history(oral_history):
    assert citation_gbt7714(oral_history, ORAL_URL, ACCESSED) == (
        "梁伯. 西關茶樓憶一九三八[A/OL]. 廣州: 荔灣區圖書館, 2026[2026-11-29]. "
        "http://testserver/items/oh-teahouse-1938/."
    )


def test_gbt7714_names_interviewers_and_drops_a_written_dynasty(oral_history):
    interviewer = Agent.objects.create(name="陳訪員")
    ItemAgent.objects.create(
        item=oral_history, agent=interviewer, role=Role.INTERVIEWER
    )
    Agent.objects.filter(name="梁伯").update(name="〔清〕梁伯")
    assert citation_gbt7714(oral_history, ORAL_URL, ACCESSED) == (
        "梁伯. 西關茶樓憶一九三八[A/OL]. 陳訪員, 採訪. 廣州: 荔灣區圖書館, "
        "2026[2026-11-29]. http://testserver/items/oh-teahouse-1938/."
    )


def test_gbt7714_lists_three_authors_then_deng_in_the_titles_script(volume):
    for n, name in enumerate(["甲", "乙", "丙"], start=1):
        ItemAgent.objects.create(
            item=volume,
            agent=Agent.objects.create(name=name),
            role=Role.AUTHOR,
            sort_order=n,
        )
    volume.title = "三字经 卷上"  # a Simplified record gets Simplified fixed words
    volume.work.edition = ""
    volume.date_text, volume.year_from, volume.year_to = "", None, None
    text = citation_gbt7714(volume, VOLUME_URL, ACCESSED)
    assert text.startswith(
        "區適子, 甲, 乙, 等. 三字经 卷上[M/OL]. [出版地不详]: 粵藏堂, "
    )
    assert "[出版年不详][2026-11-29]" in text


# ---------------------------------------------------------------------------
# Chicago, 17th edition
# ---------------------------------------------------------------------------


def test_chicago_bibliography_of_the_volume(volume):
    assert citation_chicago(volume, VOLUME_URL, ACCESSED) == (
        "Ou Shizi 區適子. 三字經 卷上 [Three Character Classic, first juan]. "
        "Woodblock ed. Guangzhou: Yuecang Hall (fictitious publisher), 1884. "
        "Accessed November 29, 2026. http://testserver/items/gzdd-sanzijing-v1/."
    )


def test_chicago_note_of_the_volume(volume):
    assert citation_chicago(volume, VOLUME_URL, ACCESSED, form="note") == (
        "Ou Shizi 區適子, 三字經 卷上 [Three Character Classic, first juan], "
        "woodblock ed. (Guangzhou: Yuecang Hall (fictitious publisher), 1884), "
        "accessed November 29, 2026, http://testserver/items/gzdd-sanzijing-v1/."
    )


def test_chicago_bibliography_of_the_oral_history(oral_history):
    assert citation_chicago(oral_history, ORAL_URL, ACCESSED) == (
        "Uncle Leung (fictional) 梁伯. “西關茶樓憶一九三八” "
        "[Remembering 1938 in a Xiguan tea-house]. Interview, November 2026. "
        "Cantonese Oral History, Liwan District Library, Guangzhou. "
        "Accessed November 29, 2026. http://testserver/items/oh-teahouse-1938/."
    )


def test_chicago_note_of_the_oral_history_names_the_interviewer(oral_history):
    ItemAgent.objects.create(
        item=oral_history,
        agent=Agent.objects.create(name="陳訪員", name_en="Chan Fong-yuen"),
        role=Role.INTERVIEWER,
    )
    assert citation_chicago(oral_history, ORAL_URL, ACCESSED, form="note") == (
        "Uncle Leung (fictional) 梁伯, “西關茶樓憶一九三八” "
        "[Remembering 1938 in a Xiguan tea-house], interview by Chan Fong-yuen "
        "陳訪員, November 2026, Cantonese Oral History, Liwan District Library, "
        "Guangzhou, accessed November 29, 2026, "
        "http://testserver/items/oh-teahouse-1938/."
    )


# ---------------------------------------------------------------------------
# BibTeX
# ---------------------------------------------------------------------------


def test_bibtex_of_the_volume(volume):
    assert citation_bibtex(volume, VOLUME_URL, ACCESSED) == (
        "@book{gzdd-sanzijing-v1,\n"
        "  author = {{區適子}},\n"
        "  title = {三字經 卷上},\n"
        "  year = {1884},\n"
        "  volume = {1},\n"
        "  edition = {刻本},\n"
        "  publisher = {{粵藏堂}},\n"
        "  address = {廣州},\n"
        "  library = {廣州圖書館, GZDD-JING-0001},\n"
        "  language = {lzh},\n"
        "  note = {清光緒十年},\n"
        "  url = {http://testserver/items/gzdd-sanzijing-v1/},\n"
        "  urldate = {2026-11-29}\n"
        "}\n"
    )


def test_bibtex_of_the_oral_history(oral_history):
    assert citation_bibtex(oral_history, ORAL_URL, ACCESSED) == (
        "@misc{oh-teahouse-1938,\n"
        "  author = {{梁伯}},\n"
        "  title = {西關茶樓憶一九三八},\n"
        "  year = {2026},\n"
        "  date = {2026-11},\n"
        "  howpublished = {Oral-history interview},\n"
        "  organization = {荔灣區圖書館},\n"
        "  library = {荔灣區圖書館},\n"
        "  language = {yue},\n"
        "  url = {http://testserver/items/oh-teahouse-1938/},\n"
        "  urldate = {2026-11-29}\n"
        "}\n"
    )


def test_bibtex_escapes_braces_and_tex_specials(oral_history):
    oral_history.title = "50% {閉} & #1 \\ end_}"
    entry = citation_bibtex(oral_history, ORAL_URL, ACCESSED)
    assert "  title = {50\\% \\{閉\\} \\& \\#1 \\textbackslash{} end\\_\\}},\n" in entry
    # Braces balance, so the entry cannot end early or swallow the next one.
    depth = 0
    for previous, char in zip(" " + entry, entry, strict=False):
        if previous == "\\":
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0
    assert depth == 0
    assert bibtex_escape("~^$") == "\\textasciitilde{}\\textasciicircum{}\\$"


# ---------------------------------------------------------------------------
# CSL-JSON
# ---------------------------------------------------------------------------


def test_csl_of_the_volume(volume):
    assert citation_csl(volume, VOLUME_URL, ACCESSED) == {
        "id": "gzdd-sanzijing-v1",
        "type": "book",
        "title": "三字經 卷上",
        "author": [{"literal": "區適子"}],
        "issued": {"date-parts": [[1884]]},
        "volume": "1",
        "edition": "刻本",
        "publisher": "粵藏堂",
        "publisher-place": "廣州",
        "archive": "廣州圖書館",
        "archive-place": "廣州",
        "archive_collection": "經部",
        "archive_location": "GZDD-JING-0001",
        "language": "lzh",
        "note": "清光緒十年",
        "license": "http://creativecommons.org/publicdomain/mark/1.0/",
        "URL": VOLUME_URL,
        "accessed": {"date-parts": [[2026, 11, 29]]},
    }


def test_csl_of_the_oral_history_is_an_interview(oral_history):
    data = citation_csl(oral_history, ORAL_URL, ACCESSED)
    assert data["type"] == "interview"
    assert data["author"] == [{"literal": "梁伯"}]
    assert data["issued"] == {"date-parts": [[2026, 11]]}
    assert data["genre"] == "Oral-history interview"
    assert data["archive_collection"] == "粵語口述歷史"


def test_csl_of_a_documentary_is_a_motion_picture(oral_history):
    oral_history.kind = Item.Kind.DOCUMENTARY_VIDEO
    assert citation_csl(oral_history, ORAL_URL, ACCESSED)["type"] == "motion_picture"


# ---------------------------------------------------------------------------
# The item page and the doors
# ---------------------------------------------------------------------------


def test_item_page_shows_the_citations_with_copy_buttons(client, volume):
    body = client.get("/items/gzdd-sanzijing-v1/").content.decode()
    assert '<section class="citations"' in body
    assert "區適子. 三字經: 卷上[M/OL]. 刻本. 廣州: 粵藏堂, 1884(清光緒十年)[" in body
    assert "Ou Shizi 區適子. 三字經 卷上 [Three Character Classic, first juan]." in body
    assert "@book{gzdd-sanzijing-v1," in body
    assert body.count("data-copy-target=") == 4
    assert 'href="/items/gzdd-sanzijing-v1/cite.json"' in body
    assert 'href="/items/gzdd-sanzijing-v1/cite.bib"' in body


def test_cite_json_is_a_csl_json_list(client, volume):
    response = client.get("/items/gzdd-sanzijing-v1/cite.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.citationstyles.csl+json"
    assert "gzdd-sanzijing-v1.json" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert [entry["id"] for entry in data] == ["gzdd-sanzijing-v1"]
    assert data[0]["URL"] == VOLUME_URL


def test_cite_bib_is_bibtex(client, volume):
    response = client.get("/items/gzdd-sanzijing-v1/cite.bib")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-bibtex; charset=utf-8"
    assert response.content.decode().startswith("@book{gzdd-sanzijing-v1,\n")


@pytest.mark.parametrize("door", ["cite.json", "cite.bib"])
def test_cite_doors_refuse_what_the_item_page_refuses(client, oral_history, door):
    Item.objects.filter(pk=oral_history.pk).update(access_level=AccessLevel.STAFF)
    response = client.get(f"/items/oh-teahouse-1938/{door}")
    assert response.status_code == 403
    assert "西關茶樓" not in response.content.decode()
    assert response["Cache-Control"] == "private, no-store"
    Item.objects.filter(pk=oral_history.pk).update(access_level=AccessLevel.WITHDRAWN)
    assert client.get(f"/items/oh-teahouse-1938/{door}").status_code == 410
    assert client.get(f"/items/no-such-item/{door}").status_code == 404
