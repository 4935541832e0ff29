"""The relevance set of issue 7 item 7: judged queries, their corpus and the distractors.

``tests/data/relevance/`` holds the judgements (``queries.json``), the
transcripts the sample archive is given for them (``transcripts.json``) and a
few judged documents of our own (``documents.json``); its README describes
the format. This module reads them, resolves the stable references the
judgements use (``page:gzdd-sanzijing-v1#2``, ``segment:oh-teahouse-1938@4.6``)
to the engine's keys, which are random per load, and generates the
distractors.

Distractors are seeded, so every run indexes the same ones. They are
realistic text built from phrase pools: colloquial Cantonese segments,
Standard Written records (some in Simplified), classical page text, that
share characters, words and syllables with the judged documents (廣 and 州
apart, 茶 and 樓 apart, 西門 and 海關, 關西, 三字書, 兩百 for loeng baak, 光州
and 廣洲 for gwong zau), and a few weak ones that name a judged word once in
a long record. None may contain a judged phrase except the one a weak
distractor carries on purpose: :func:`distractors` draws again until it does
not, and the test asserts it (:func:`guard_problems`).
"""

from __future__ import annotations

import fnmatch
import json
import random
import re
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from archive.search.analysis import chunks, fold
from archive.search.engine import Gate, SearchDocument

#: The judged set and its documents.
DATA = Path(__file__).resolve().parents[2] / "data" / "relevance"

#: The query classes issue 7 item 7 asks the set to cover.
CLASSES = (
    "traditional",
    "simplified",
    "jyutping_toned",
    "jyutping_toneless",
    "phrase",
    "cantonese_only",
    "colloquial",
    "standard",
    "variant",
    "filter",
    "exclusion",
    "mixed",
)

#: The issue's floor for the set and for the distractors.
MIN_QUERIES = 40
MIN_DISTRACTORS = 1_000

#: The distractors' seed (any fixed value; changing it redraws them all).
SEED = 7

#: How many distractors of each generated family (see the README).
SEGMENTS = 520
RECORDS = 360
PAGES = 300

#: A draw that still holds a judged phrase after this many tries is a bug
#: in the pools, not bad luck.
MAX_DRAWS = 200

_PUBLIC = (Gate("public"),)
_FILTER = re.compile(
    r"-?(?:kind|place|theme|dialect|collection|decade):(?:\"[^\"]*\"|\S+)"
)
_QUOTED = re.compile(r"\"([^\"]*)\"|“([^”]*)”|「([^」]*)」|『([^』]*)』")


# ---------------------------------------------------------------------------
# The judged set


@dataclass(frozen=True)
class Judgement:
    """One judged query.

    Attributes:
        id: a stable name, used as the test id.
        query: what a person types.
        cls: one of :data:`CLASSES`.
        top3: references that must all rank in the top 3.
        absent: references (or patterns) that must not be hit at all.
        guard: phrases no distractor may contain, besides the query's own.
        note: why.
    """

    id: str
    query: str
    cls: str
    top3: tuple[str, ...]
    absent: tuple[str, ...]
    guard: tuple[str, ...]
    note: str

    @property
    def phrases(self) -> tuple[str, ...]:
        """The judged phrases: the query's own CJK runs (folded) and :attr:`guard`.

        Filters and excluded terms are left out (a distractor may well hold
        what a query excludes); quoted text counts as one run.
        """
        text = _FILTER.sub(" ", self.query)
        runs: list[str] = []
        for match in _QUOTED.finditer(text):
            quoted = next(group for group in match.groups() if group is not None)
            runs += _cjk_runs(quoted.replace(" ", ""))
        text = _QUOTED.sub(" ", text)
        for term in text.split():
            if not term.startswith("-"):
                runs += _cjk_runs(term)
        runs += [_folded(phrase) for phrase in self.guard]
        return tuple(dict.fromkeys(runs))


def _cjk_runs(text: str) -> list[str]:
    return [chunk.text for chunk in chunks(text) if chunk.is_cjk]


def _folded(text: str) -> str:
    """Text as search compares it: folded, with whitespace (which splits no word) gone."""
    return "".join(fold(text).split())


@cache
def judgements() -> tuple[Judgement, ...]:
    """The judged set, in file order."""
    data = json.loads((DATA / "queries.json").read_text("utf-8"))
    return tuple(
        Judgement(
            id=entry["id"],
            query=entry["query"],
            cls=entry["class"],
            top3=tuple(entry["top3"]),
            absent=tuple(entry["absent"]),
            guard=tuple(entry.get("guard", ())),
            note=entry.get("note", ""),
        )
        for entry in data["queries"]
    )


def judged_phrases() -> frozenset[str]:
    """Every judged phrase of the set (what distractors must not contain)."""
    return frozenset(p for j in judgements() for p in j.phrases if len(p) > 1)


def sample_transcripts() -> dict[str, dict]:
    """The transcripts given to the sample's recordings: item → language and segments."""
    return json.loads((DATA / "transcripts.json").read_text("utf-8"))


def extra_documents() -> list[SearchDocument]:
    """The judged documents of our own (``documents.json``)."""
    data = json.loads((DATA / "documents.json").read_text("utf-8"))
    documents = []
    for entry in data["documents"]:
        key = entry["key"]
        item = key.replace(":", "-")
        year = entry.get("date")
        documents.append(
            SearchDocument(
                key=key,
                type=entry["type"],
                title=entry["title"],
                body=entry["body"],
                item=item,
                gates=_PUBLIC,
                kind=entry.get("kind", ""),
                themes=tuple(entry.get("themes", ())),
                places=tuple(fold(place) for place in entry.get("places", ())),
                decade=str(year // 10 * 10) if year else "",
                date=year,
                start=entry.get("start"),
                page=entry.get("page"),
                url=f"/items/{item}/",
            )
        )
    return documents


# ---------------------------------------------------------------------------
# References


class References:
    """Resolves the judged set's references to the keys of one indexed corpus.

    A reference is a key (``item:oh-teahouse-1938``, ``extra:sw-memoir``,
    ``distractor:weak-03``), a page by item and sequence
    (``page:gzdd-sanzijing-v1#2``), a segment by item and start second
    (``segment:oh-teahouse-1938@4.6``), or, in ``absent`` only, a
    :mod:`fnmatch` pattern over keys (``distractor:*``, ``distractor:[0-9]*``).
    """

    def __init__(self, documents: list[SearchDocument]) -> None:
        self.keys = [document.key for document in documents]
        self.labels: dict[str, str] = {}
        self._by_reference: dict[str, str] = {}
        for document in documents:
            reference = document.key
            if document.type == "page" and not document.key.startswith(
                ("extra:", "distractor:")
            ):
                reference = f"page:{document.item}#{document.page}"
            elif document.type == "segment" and not document.key.startswith(
                ("extra:", "distractor:")
            ):
                reference = f"segment:{document.item}@{document.start:g}"
            self._by_reference[reference] = document.key
            self.labels[document.key] = reference

    @staticmethod
    def is_pattern(reference: str) -> bool:
        """Whether a reference is a pattern rather than one document."""
        return any(char in reference for char in "*?[")

    def key(self, reference: str) -> str:
        """The key of one document; KeyError if the corpus has none such."""
        if reference.startswith("segment:") and "@" in reference:
            item, _, start = reference.partition("@")
            reference = f"{item}@{float(start):g}"
        return self._by_reference[reference]

    def matching(self, reference: str) -> list[str]:
        """The keys a reference or pattern stands for (a pattern may match none)."""
        if self.is_pattern(reference):
            return fnmatch.filter(self.keys, reference)
        return [self.key(reference)]

    def known(self, reference: str) -> bool:
        """Whether a reference names a document, or a pattern matches one."""
        try:
            return bool(self.matching(reference))
        except KeyError:
            return False

    def label(self, key: str) -> str:
        """The stable reference of a key, for messages."""
        return self.labels.get(key, key)


# ---------------------------------------------------------------------------
# Phrase pools for the distractors

_WHO = (
    "阿媽",
    "阿爺",
    "阿嫲",
    "我細佬",
    "隔籬陳太",
    "個師傅",
    "嗰個老闆",
    "街尾李伯",
    "我表姐",
    "舅父",
    "阿叔",
    "佢老豆",
)
_WHEN = (
    "朝早",
    "晏晝",
    "夜晚",
    "舊陣時",
    "禮拜日",
    "年三十晚",
    "上個月",
    "中秋節",
    "端午",
    "放學之後",
    "開年",
    "琴日",
)
_WHERE = (
    "西門口",
    "海關碼頭",
    "關帝廟",
    "上下九",
    "長堤",
    "沙面",
    "北京路",
    "文德路",
    "大新公司",
    "光孝寺",
    "人民廣場",
    "荔灣湖",
    "黃沙",
    "十三行",
    "西濠口",
    "東山",
    "河南",
    "潮州會館",
    "杭州會館",
    "西華路",
    "西來初地",
    "關前街",
    "廣東銀行",
    "樓梯街",
)
_DO = (
    "買餸",
    "飲涼茶",
    "食雲吞麵",
    "睇大戲",
    "行街",
    "打麻雀",
    "賣魚蛋",
    "修單車",
    "等巴士",
    "搭渡海小輪",
    "煲湯",
    "剪頭髮",
    "寫揮春",
    "學唱粵曲",
    "買茶葉",
    "飲奶茶",
    "食叉燒飯",
    "擺攤",
    "執藥",
    "補鞋",
)
_HOW = (
    "好熱鬧",
    "人山人海",
    "好多人排隊",
    "啲餸好平",
    "啲嘢貴到飛起",
    "冇乜人",
    "好好味",
    "要排好耐",
    "成條街都好靜",
    "燈火通明",
)
_PARTICLE = ("㗎", "喎", "啦", "囉", "咋", "")
_THING = (
    "米舖",
    "當舖",
    "戲院",
    "涼茶舖",
    "茶葉行",
    "金舖",
    "書局",
    "醫館",
    "學堂",
    "大樓",
    "酒家",
    "五金舖",
)
_SHOW = ("大戲", "電影", "舞獅", "龍舟", "煙花", "花燈")
_COLLOQUIAL = (
    "{when}{who}成日帶我去{where}{do}，{how}{p}。",
    "{who}話{where}嗰邊{how}，叫我{when}再去。",
    "我記得{when}{where}有間{thing}，{who}喺度{do}。",
    "{who}同我講，{when}{where}{how}{p}。",
    "嗰陣{where}冇乜車，{who}要行路去{do}。",
    "{when}落雨，{who}喺{where}{do}，{how}。",
    "{who}屋企喺{where}附近，{when}會去{do}。",
    "聽{who}講，{where}以前係{thing}，{how}。",
    "{who}買咗兩百蚊嘢，話{where}{how}{p}。",
    "我細個嗰陣，{who}帶我去{where}睇{show}。",
    "{who}講佢後生嗰陣喺{thing}做嘢，{when}都唔得閒。",
    "佢哋話{where}嗰間{thing}開咗好多年，{how}。",
    "我去過日本關西，{who}話嗰度{how}{p}。",
)

_ERA = (
    "民國初年",
    "清末",
    "一九五零年代",
    "一九六二年",
    "光緒年間",
    "宣統三年",
    "抗戰時期",
    "一九三七年",
    "一九三九年",
    "一九二五年",
    "同治年間",
)
_PLACE = (
    "廣東",
    "潮州",
    "惠州",
    "杭州",
    "蘇州",
    "福州",
    "香港",
    "澳門",
    "佛山",
    "順德",
    "南海",
    "番禺",
    "新會",
    "西樵",
    "三水",
)
_ORG = ("商會", "銀號", "茶葉行", "船務公司", "書局", "善堂", "學堂", "戲班", "報館")
_TRADE = ("茶葉出口", "絲綢", "藥材", "海味", "米糧", "洋貨", "瓷器", "書籍刊印")
_TOPIC = (
    "商號",
    "碼頭",
    "學堂",
    "善堂",
    "戲院",
    "米舖",
    "銀號",
    "海關稅則",
    "州縣地圖",
    "茶葉貿易",
    "三字書刊本",
    "西式建築",
)
_MATERIAL = ("照片", "契約", "信函", "賬簿", "剪報", "地圖", "傳單", "票據")
_COUNT = ("三", "五", "十二", "二十", "兩百", "四十")
_NOTE = (
    "部分紙張受潮，字跡模糊",
    "原件藏於私人收藏家",
    "附有英文說明",
    "曾於本館展出",
    "整理時按原序編號",
    "另有副本存於東山分館",
)
_DONOR = ("居民", "後人", "收藏家", "校友會", "宗親會")
_DESC = (
    "商舖林立，人流稠密",
    "每逢節日張燈結綵",
    "多為兩層磚木建築",
    "沿江設有貨倉",
    "設有大樓一座",
)
_WHO_SW = ("一位老居民", "當年的店員", "退休教師", "船家後人")
_STANDARD = (
    "{era}，{place}{org}在{where}開設了分號，經營{trade}。",
    "本卷收錄{era}{place}{topic}相關{material}{count}件，{note}。",
    "照片攝於{era}，畫面可見{where}的{thing}。",
    "{who_sw}回憶，{era}的{where}{desc}。",
    "此件由{donor}捐贈，{note}。",
    "{place}{org}經營三代，{era}曾兩度遷址。",
    "{era}的{place}，關於{trade}的{material}留存不多。",
    "據{material}記載，{place}{org}曾向{where}一帶的{thing}借款兩百兩。",
)
_RECORD_TITLES = (
    "{place}{topic}{material}選編",
    "{era}{where}{thing}照片",
    "{place}{org}檔案（{era}）",
    "{where}舊影",
    "{place}{org}章程",
    "{where}{thing}口述",
)
_SEGMENT_TITLES = (
    "{where}舊事口述",
    "{place}{org}後人訪談",
    "{where}街景紀錄片",
    "{thing}老店員口述",
)

#: 千字文 and 弟子規 (public domain), for classical page text: the same
#: characters as the Dadian volume (人, 初, 性, 善, 首孝弟 ...), other words.
_CLASSICS = {
    "千字文": (
        "天地玄黃宇宙洪荒日月盈昃辰宿列張寒來暑往秋收冬藏閏餘成歲律呂調陽"
        "雲騰致雨露結為霜金生麗水玉出崑岡劍號巨闕珠稱夜光果珍李柰菜重芥薑"
        "海鹹河淡鱗潛羽翔龍師火帝鳥官人皇始制文字乃服衣裳推位讓國有虞陶唐"
        "弔民伐罪周發殷湯坐朝問道垂拱平章愛育黎首臣伏戎羌遐邇一體率賓歸王"
        "鳴鳳在竹白駒食場化被草木賴及萬方蓋此身髮四大五常恭惟鞠養豈敢毀傷"
        "女慕貞絜男效才良知過必改得能莫忘罔談彼短靡恃己長信使可覆器欲難量"
        "墨悲絲染詩讚羔羊景行維賢克念作聖德建名立形端表正空谷傳聲虛堂習聽"
        "禍因惡積福緣善慶尺璧非寶寸陰是競資父事君曰嚴與敬孝當竭力忠則盡命"
        "臨深履薄夙興溫凊似蘭斯馨如松之盛川流不息淵澄取映容止若思言辭安定"
        "篤初誠美慎終宜令榮業所基籍甚無竟學優登仕攝職從政存以甘棠去而益詠"
        "樂殊貴賤禮別尊卑上和下睦夫唱婦隨外受傅訓入奉母儀諸姑伯叔猶子比兒"
        "孔懷兄弟同氣連枝交友投分切磨箴規仁慈隱惻造次弗離節義廉退顛沛匪虧"
        "性靜情逸心動神疲守真志滿逐物意移堅持雅操好爵自縻"
    ),
    "弟子規": (
        "弟子規聖人訓首孝弟次謹信汎愛眾而親仁有餘力則學文父母呼應勿緩"
        "父母命行勿懶父母教須敬聽父母責須順承冬則溫夏則凊晨則省昏則定"
        "出必告反必面居有常業無變事雖小勿擅為苟擅為子道虧物雖小勿私藏"
        "苟私藏親心傷親所好力為具親所惡謹為去身有傷貽親憂德有傷貽親羞"
        "親愛我孝何難親憎我孝方賢親有過諫使更怡吾色柔吾聲諫不入悅復諫"
    ),
}
_PAGE_TITLES = {
    "千字文": ("千字文 一卷", "增廣千字文註", "千字文釋義 卷上"),
    "弟子規": ("弟子規", "三字書 蒙學本", "弟子規集註 卷一"),
}

#: Weak distractors: a long record that names one judged word once.
_WEAK = (
    ("廣州", "信中提到貨物經廣州轉運。"),
    ("廣州", "賬簿夾有一張廣州寄來的收條。"),
    ("廣州", "其後人多移居廣州。"),
    ("茶樓", "附近原有一間茶樓，後改作貨倉。"),
    ("茶樓", "帳目中有一筆付予茶樓的款項。"),
    ("茶樓", "照片一角可見茶樓招牌。"),
    ("西關", "賬簿末頁記有一位西關客商的名字。"),
    ("西關", "其中一張照片攝於西關。"),
    ("飲茶", "店員每日收工後相約飲茶。"),
    ("飲茶", "信末邀友人得空一同飲茶。"),
    ("三字經", "學堂課本包括三字經及千字文。"),
    ("三字經", "書架上另有三字經一冊。"),
    ("海珠橋", "照片遠處隱約可見海珠橋。"),
    ("海珠橋", "剪報提及海珠橋通車。"),
    ("點心", "會後備有茶水點心。"),
    ("點心", "賬目列有點心費用。"),
    ("街坊", "活動由附近街坊籌辦。"),
    ("街坊", "捐款名單多為街坊。"),
    ("防空洞", "戰時地窖曾用作防空洞。"),
    ("防空洞", "地圖標出兩處防空洞。"),
)

#: Same syllables and tones as 廣州 (gwong2 zau1), in passing.
_GWONGZAU = (
    "佢喺廣舟輪船公司做咗十年水手。",
    "賬簿封面寫有廣洲號藥材行字樣。",
    "香港廣舟輪船公司船票一張，{era}發行。",
    "{who}話以前有間廣洲號，專賣海味。",
)
#: 光州 (gwong1 zau1): the same syllables with another tone.
_GWANGJU = (
    "我去過韓國光州，{who}話嗰度好靚。",
    "韓國光州市的紀念館藏有大量照片。",
    "{era}，有{place}商人到韓國光州經商。",
    "光州事件紀念展的剪報兩張。",
)


# ---------------------------------------------------------------------------
# Drawing text


class _Draw:
    """One seeded draw of text from the pools."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def pick(self, pool):
        return self.rng.choice(pool)

    def slots(self) -> dict[str, str]:
        pick = self.pick
        return {
            "who": pick(_WHO),
            "when": pick(_WHEN),
            "where": pick(_WHERE),
            "do": pick(_DO),
            "how": pick(_HOW),
            "p": pick(_PARTICLE),
            "thing": pick(_THING),
            "show": pick(_SHOW),
            "era": pick(_ERA),
            "place": pick(_PLACE),
            "org": pick(_ORG),
            "trade": pick(_TRADE),
            "topic": pick(_TOPIC),
            "material": pick(_MATERIAL),
            "count": pick(_COUNT),
            "note": pick(_NOTE),
            "donor": pick(_DONOR),
            "desc": pick(_DESC),
            "who_sw": pick(_WHO_SW),
        }

    def fill(self, template: str) -> str:
        return template.format(**self.slots())

    def colloquial(self, count: int) -> str:
        return "".join(self.fill(self.pick(_COLLOQUIAL)) for _ in range(count))

    def standard(self, count: int) -> str:
        return "".join(self.fill(self.pick(_STANDARD)) for _ in range(count))

    def facets(self, kind: str) -> dict:
        year = self.rng.randint(1870, 2020)
        themes = self.rng.sample(("lingnan", "red", "maritime"), self.rng.randint(0, 2))
        return {
            "kind": kind,
            "themes": tuple(sorted(themes)),
            "places": (fold(self.pick(_PLACE)),),
            "decade": str(year // 10 * 10),
            "date": year,
        }


@cache
def _simplified():
    import opencc

    return opencc.OpenCC("t2s")


def _document(key: str, type_: str, title: str, body: str, facets: dict, **extra):
    number = key.partition(":")[2]
    item = f"dx-{number}"
    return SearchDocument(
        key=key,
        type=type_,
        title=title,
        body=body,
        item=item,
        gates=_PUBLIC,
        url=f"/items/{item}/",
        **facets,
        **extra,
    )


def _segment(key: str, draw: _Draw) -> SearchDocument:
    rng = draw.rng
    if rng.random() < 0.8:
        body = draw.colloquial(rng.randint(1, 3))
    else:
        body = draw.standard(rng.randint(1, 2))
    kind = "oral_history" if rng.random() < 0.8 else "documentary_video"
    start = round(rng.uniform(0, 3600), 1)
    return _document(
        key,
        "segment",
        draw.fill(draw.pick(_SEGMENT_TITLES)),
        body,
        draw.facets(kind),
        start=start,
        end=round(start + rng.uniform(3, 12), 1),
    )


def _record(key: str, draw: _Draw) -> SearchDocument:
    rng = draw.rng
    title = draw.fill(draw.pick(_RECORD_TITLES))
    body = draw.standard(rng.randint(2, 4))
    if rng.random() < 0.3:
        title, body = _simplified().convert(title), _simplified().convert(body)
    kind = draw.pick(("book_volume", "image_set", "other", "oral_history"))
    return _document(key, "item", title, body, draw.facets(kind))


def _page(key: str, draw: _Draw) -> SearchDocument:
    rng = draw.rng
    classic = draw.pick(sorted(_CLASSICS))
    text = _CLASSICS[classic]
    size = rng.choice((48, 72, 96))
    start = rng.randrange(0, max(1, len(text) - size))
    run = text[start : start + size]
    body = "\n".join(run[i : i + 12] for i in range(0, len(run), 12))
    return _document(
        key,
        "page",
        draw.pick(_PAGE_TITLES[classic]),
        body,
        draw.facets("book_volume"),
        page=rng.randint(1, 60),
    )


def _weak(key: str, draw: _Draw, sentence: str) -> SearchDocument:
    rng = draw.rng
    sentences = [draw.standard(1) for _ in range(rng.randint(10, 16))]
    sentences.insert(rng.randrange(len(sentences) + 1), sentence)
    kind = draw.pick(("book_volume", "image_set", "other", "oral_history"))
    return _document(
        key,
        "item",
        draw.fill(draw.pick(_RECORD_TITLES)),
        "".join(sentences),
        draw.facets(kind),
    )


def _homophone(key: str, draw: _Draw, sentence: str) -> SearchDocument:
    rng = draw.rng
    if rng.random() < 0.5:
        body = draw.colloquial(1) + draw.fill(sentence) + draw.colloquial(1)
        kind = "oral_history"
        extra = {"start": round(rng.uniform(0, 600), 1)}
        type_, title = "segment", draw.fill(draw.pick(_SEGMENT_TITLES))
    else:
        body = draw.standard(1) + draw.fill(sentence) + draw.standard(2)
        kind, extra = "other", {}
        type_, title = "item", draw.fill(draw.pick(_RECORD_TITLES))
    return _document(key, type_, title, body, draw.facets(kind), **extra)


def phrases_in(text: str, phrases) -> list[str]:
    """The phrases a text contains, compared as search folds both.

    A phrase of three or more characters also counts when the text holds all
    its bigrams, scattered: search matches an unquoted run that way.
    """
    folded = _folded(text)
    bigrams = {folded[i : i + 2] for i in range(len(folded) - 1)}
    return sorted(
        phrase
        for phrase in phrases
        if phrase in folded
        or (
            len(phrase) > 2
            and all(phrase[i : i + 2] in bigrams for i in range(len(phrase) - 1))
        )
    )


def _clean(document: SearchDocument, phrases, allowed: str = "") -> bool:
    found = phrases_in(f"{document.title}\n{document.body}", phrases)
    if not allowed:
        return not found
    text = _folded(f"{document.title}\n{document.body}")
    return set(found) <= {allowed} and text.count(allowed) == 1


def _drawn(key: str, make, phrases, *, seed: int, allowed: str = "") -> SearchDocument:
    """The first draw of ``make`` whose text holds no judged phrase but ``allowed``."""
    for attempt in range(MAX_DRAWS):
        document = make(key, _Draw(random.Random(f"{seed}:{key}:{attempt}")))
        if _clean(document, phrases, allowed):
            return document
    raise AssertionError(f"{key}: no draw without a judged phrase in {MAX_DRAWS} tries")


def distractors(
    phrases: frozenset[str] | None = None, *, seed: int = SEED
) -> list[SearchDocument]:
    """The generated distractors, the same for the same seed and judged phrases.

    Keys: ``distractor:0001`` ... (segments, then records, then pages),
    ``distractor:weak-01`` ... (a judged word once in a long record; its
    ``extra["planted"]`` says which), ``distractor:gwongzau-01`` ... (廣洲,
    廣舟) and ``distractor:gwangju-01`` ... (光州). Each document is drawn from
    its own seed (its key and attempt), so adding a query redraws only the
    documents its phrases touch.

    Args:
        phrases: the judged phrases to keep out (default: the set's own).
        seed: the seed.
    """
    if phrases is None:
        phrases = judged_phrases()
    documents: list[SearchDocument] = []
    makers = [_segment] * SEGMENTS + [_record] * RECORDS + [_page] * PAGES
    for number, make in enumerate(makers, start=1):
        documents.append(_drawn(f"distractor:{number:04d}", make, phrases, seed=seed))
    for number, (word, sentence) in enumerate(_WEAK, start=1):
        document = _drawn(
            f"distractor:weak-{number:02d}",
            lambda key, draw, sentence=sentence: _weak(key, draw, sentence),
            phrases,
            seed=seed,
            allowed=_folded(word),
        )
        documents.append(replace(document, extra={"planted": word}))
    for family, sentences in (("gwongzau", _GWONGZAU), ("gwangju", _GWANGJU)):
        for number in range(1, 9):
            sentence = sentences[(number - 1) % len(sentences)]
            documents.append(
                _drawn(
                    f"distractor:{family}-{number:02d}",
                    lambda key, draw, sentence=sentence: _homophone(
                        key, draw, sentence
                    ),
                    phrases,
                    seed=seed,
                )
            )
    return documents


def guard_problems(documents: list[SearchDocument], phrases) -> list[str]:
    """Distractors that hold a judged phrase they should not (empty when all is well)."""
    problems = []
    for document in documents:
        if not document.key.startswith("distractor:"):
            continue
        planted = document.extra.get("planted", "")
        allowed = _folded(planted) if planted else ""
        if not _clean(document, phrases, allowed):
            found = phrases_in(f"{document.title}\n{document.body}", phrases)
            problems.append(f"{document.key} holds {found} (planted: {planted or '-'})")
    return problems
