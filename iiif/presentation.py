"""IIIF Presentation API 3.0: the one builder of manifests, collections and records.

Every Presentation document the archive serves is built here with iiif-prezi3
(STYLE.md §6); views only decide access, call these functions and answer.

* Image items (book volumes, image sets): a canvas per page image, painted by
  the page's Image API 3.0 service (Presentation 3.0 §5.3, cookbook 0005), with
  ranges for the table of contents (§5.4, cookbook 0024), ``behavior: paged``
  and right-to-left ``viewingDirection`` for traditional Chinese books (§3.2,
  cookbook 0010, 0011).
* Recordings (oral histories, documentaries): a canvas per media file with its
  ``duration`` (and size for video), painted by the file itself (cookbook 0002,
  0003); each readable transcript becomes a ``supplementing`` WebVTT
  annotation and ``rendering`` links (cookbook 0219, 0017) plus a page of
  ``supplementing`` TextualBody annotations on time fragments of the canvas,
  and index points become ranges (cookbook 0026); closed passages are left
  out for everyone (see :func:`iiif.selectors.transcript_tracks`).
* Collections: archive collections, the four theme libraries and ``top``
  (§5.1), listing only what the visitor may see.
* Content Search: volumes with page text and recordings declare their search
  services, 2.0 and 1.0 (:func:`_search_services`, :mod:`iiif.content_search`).
* Authorization Flow 2.0: a page or recording that not every visitor may see
  (shown to staff, the reading room or a person given access) declares its
  ``AuthProbeService2`` on its image service or media body (:mod:`iiif.auth`),
  and the document's ``@context`` then lists the Auth context first. Shared
  manifests never have any: they show only what everyone may see.

Language maps (§4.4) use the record's own forms: ``zh-Hant``, ``zh-Hans`` and
``en``; the source's own text goes under the key of its script, detected per
character with OpenCC, or ``none`` when the script cannot be told; titles of
items whose languages include Cantonese (``yue``) also carry a ``yue`` entry.
Documents never depend on the reader's UI language, so one cached copy serves
everyone.

Manifests of items that every visitor may see are serialized once and cached
under a stamp that signal handlers renew whenever anything shown in them
changes (``iiif.presentation_signals``).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property, lru_cache

import opencc
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.urls import reverse
from iiif_prezi3 import (
    Annotation,
    AnnotationBody,
    AnnotationPage,
    Canvas,
    CanvasRef,
    Class,
    Collection,
    CollectionRef,
    Homepage,
    KeyValueString,
    LinkedResource,
    Manifest,
    ManifestRef,
    Provider,
    Range,
    ServiceV2,
    ServiceV3,
    TextualBody,
)

from archive.access import decide, in_reading_room, is_archive_staff
from archive.models import Agent, Item, PageImage, Place, ThemeLibrary, Work
from iiif import auth, selectors
from iiif.identifiers import base_url, collection_id, image_service_id, manifest_id
from iiif.services import PYRAMID_RECIPE_VERSION

#: The JSON-LD context of every Presentation 3.0 document (§4.6).
CONTEXT = "http://iiif.io/api/presentation/3/context.json"
#: The media type for clients that ask for JSON-LD (§6.3).
LD_JSON = f'application/ld+json;profile="{CONTEXT}"'
#: Bump when the shape of built documents changes, so cached copies are rebuilt.
BUILDER_VERSION = 4

HANT, HANS, EN, YUE, NONE = "zh-Hant", "zh-Hans", "en", "yue", "none"

LanguageMap = dict[str, list[str]]

# ---------------------------------------------------------------------------
# Language maps (Presentation 3.0 §4.4)
# ---------------------------------------------------------------------------

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


@lru_cache(maxsize=2)
def _opencc(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


@lru_cache(maxsize=16384)
def _char_evidence(char: str) -> tuple[bool, bool]:
    """Whether a character changes under t2s (a Traditional form) and under s2t."""
    return (
        _opencc("t2s").convert(char) != char,
        _opencc("s2t").convert(char) != char,
    )


@lru_cache(maxsize=8192)
def script_key(text: str) -> str:
    """The language-map key of Chinese text by its script: ``zh-Hant``, ``zh-Hans`` or ``none``.

    Each Han character is converted on its own both ways with OpenCC (t2s and
    s2t); one that changes under t2s is evidence of Traditional script, one
    that changes under s2t of Simplified. Characters are judged one by one
    because OpenCC's phrase tables rewrite whole words (卷上 → 捲上) and would
    make Traditional text look Simplified. The majority wins; text without
    telling characters (梁伯, 2026-11) or with a tie is ``none``: unsure.
    """
    traditional = simplified = 0
    for char in text:
        if _CJK.match(char):
            t, s = _char_evidence(char)
            traditional += t
            simplified += s
    if traditional > simplified:
        return HANT
    if simplified > traditional:
        return HANS
    return NONE


def language_map(
    original: str, *, hant: str = "", hans: str = "", en: str = "", yue: bool = False
) -> LanguageMap:
    """A language map (§4.4) from a record's forms.

    Args:
        original: the text as the source writes it; it fills the slot of its
            own script when that form is not given, and goes under ``none``
            when its script is unsure and no form repeats it.
        hant: the known Traditional Chinese form.
        hans: the known Simplified Chinese form.
        en: the known English form.
        yue: also give ``original`` as Cantonese (``yue``): the title of
            Cantonese speech, written as it is said.

    Returns:
        The map in the order zh-Hant, zh-Hans, en, yue, none; empty when no
        form has text.
    """
    original = (original or "").strip()
    key = script_key(original) if original else NONE
    found: LanguageMap = {}
    if hant or key == HANT:
        found[HANT] = [hant or original]
    if hans or key == HANS:
        found[HANS] = [hans or original]
    if en:
        found[EN] = [en]
    if yue and original and _CJK.search(original):
        found[YUE] = [original]
    if original and not any(original in values for values in found.values()):
        found[NONE] = [original]
    return {k: v for k, v in found.items() if v and v[0]}


def forms_map(obj, field: str, *, yue: bool = False) -> LanguageMap:
    """The language map of ``obj.<field>`` and its ``_hant``/``_hans``/``_en`` forms."""
    return language_map(
        getattr(obj, field, ""),
        hant=getattr(obj, f"{field}_hant", ""),
        hans=getattr(obj, f"{field}_hans", ""),
        en=getattr(obj, f"{field}_en", ""),
        yue=yue,
    )


def text_map(text: str) -> LanguageMap:
    """The language map of a text with no other forms (a page label, an edition)."""
    return language_map(text)


def _tri(hant: str, hans: str, en: str) -> LanguageMap:
    return {HANT: [hant], HANS: [hans], EN: [en]}


def _pick(lmap: LanguageMap, key: str) -> list[str]:
    """A map's values for ``key``, falling back to ``none`` and then to any language."""
    return lmap.get(key) or lmap.get(NONE) or next(iter(lmap.values()), [])


def _keys(maps: Sequence[LanguageMap]) -> list[str]:
    keys: list[str] = []
    for lmap in maps:
        for key in lmap:
            if key != NONE and key not in keys:
                keys.append(key)
    return keys or [NONE]


def list_map(maps: Sequence[LanguageMap]) -> LanguageMap:
    """One language map listing several values (authors, places), each in every language."""
    maps = [m for m in maps if m]
    return {key: [v for m in maps for v in _pick(m, key)] for key in _keys(maps)}


def join_map(maps: Sequence[LanguageMap], separator: str) -> LanguageMap:
    """One language map joining several values in one string per language (a path)."""
    maps = [m for m in maps if m]
    return {
        key: [separator.join(" ".join(_pick(m, key)) for m in maps)]
        for key in _keys(maps)
    }


# ---------------------------------------------------------------------------
# Labels the archive itself writes (not translated through gettext: documents
# are language-neutral and cached once for every reader)
# ---------------------------------------------------------------------------

FIELD_LABELS = {
    "title": _tri("題名", "题名", "Title"),
    "work": _tri("書名", "书名", "Work"),
    "volume": _tri("冊次", "册次", "Volume"),
    "date": _tri("日期", "日期", "Date"),
    "bu": _tri("部類", "部类", "Class (部)"),
    "subclass": _tri("類目", "类目", "Subclass"),
    "edition": _tri("版本", "版本", "Edition"),
    "institution": _tri("收藏機構", "收藏机构", "Holding institution"),
    "collection": _tri("館藏", "馆藏", "Collection"),
    "themes": _tri("主題館", "主题馆", "Theme library"),
    "places": _tri("地點", "地点", "Places"),
    "language": _tri("語言", "语言", "Language"),
    "dialect": _tri("方言", "方言", "Dialect"),
    "identifier": _tri("識別碼", "识别码", "Identifier"),
    "dadian_ref": _tri("大典編號", "大典编号", "Guangzhou Dadian reference"),
    "attribution": _tri("鳴謝與版權", "鸣谢与版权", "Attribution"),
    "record": _tri("機讀著錄 (JSON)", "机读著录 (JSON)", "Metadata record (JSON)"),
    "toc": _tri("目錄", "目录", "Table of contents"),
    "body_text": _tri("正文", "正文", "Main text"),
    "transcript_vtt": _tri("逐字稿 (WebVTT)", "逐字稿 (WebVTT)", "Transcript (WebVTT)"),
    "transcript_txt": _tri("逐字稿 (純文字)", "逐字稿 (纯文字)", "Transcript (text)"),
    "item_page": _tri("條目頁", "条目页", "Item page"),
}

ROLE_LABELS = {
    "author": _tri("著者", "著者", "Author"),
    "editor": _tri("編者", "编者", "Editor"),
    "interviewee": _tri("受訪者", "受访者", "Interviewee"),
    "interviewer": _tri("訪問者", "访问者", "Interviewer"),
    "narrator": _tri("旁述", "旁述", "Narrator"),
    "photographer": _tri("攝影", "摄影", "Photographer"),
    "director": _tri("導演", "导演", "Director"),
    "publisher": _tri("出版者", "出版者", "Publisher"),
    "other": _tri("其他責任者", "其他责任者", "Contributor"),
}

#: The Dadian's 部 classes (Work.Bu), in the three languages.
BU_LABELS = {
    "經": _tri("經部", "经部", "Classics (jing)"),
    "史": _tri("史部", "史部", "Histories (shi)"),
    "子": _tri("子部", "子部", "Masters (zi)"),
    "集": _tri("集部", "集部", "Collections (ji)"),
    "叢": _tri("叢部", "丛部", "Collectanea (cong)"),
}

#: Dynasties catalogues name before authors: (Traditional, Simplified, English).
DYNASTIES = {
    "漢": ("漢", "汉", "Han"),
    "晉": ("晉", "晋", "Jin"),
    "南朝": ("南朝", "南朝", "Southern Dynasties"),
    "隋": ("隋", "隋", "Sui"),
    "唐": ("唐", "唐", "Tang"),
    "南漢": ("南漢", "南汉", "Southern Han"),
    "五代": ("五代", "五代", "Five Dynasties"),
    "宋": ("宋", "宋", "Song"),
    "元": ("元", "元", "Yuan"),
    "明": ("明", "明", "Ming"),
    "清": ("清", "清", "Qing"),
    "民國": ("民國", "民国", "Republic of China"),
}

LANGUAGE_NAMES = {
    "lzh": _tri("文言", "文言", "Classical Chinese"),
    "zh": _tri("中文", "中文", "Chinese"),
    "zh-Hant": _tri("中文（繁體）", "中文（繁体）", "Chinese (Traditional)"),
    "zh-Hans": _tri("中文（簡體）", "中文（简体）", "Chinese (Simplified)"),
    "yue": _tri("粵語", "粤语", "Cantonese"),
    "en": _tri("英文", "英文", "English"),
    "zxx": _tri("無語言內容", "无语言内容", "No linguistic content"),
}

TOP_LABEL = _tri("粵藏", "粤藏", "Yuecang")
TOP_SUMMARY = _tri(
    "粵藏的全部公開館藏與四個主題館。",
    "粤藏的全部公开馆藏与四个主题馆。",
    "Every collection and the four theme libraries of the Yuecang archive.",
)

#: Page labels of front matter and back matter, ranges of their own when a
#: volume has no table of contents.
FRONT_MATTER = frozenset(
    "封面 書衣 书衣 書皮 內封 内封 扉頁 扉页 牌記 牌记 "
    "目錄 目录 凡例 序 序一 序二 護葉 护叶".split()
)
BACK_MATTER = frozenset("封底 跋 後記 后记 版權頁 版权页 護葉 护叶".split())
_JUAN = re.compile(r"卷[之第]?[上中下首末〇零一二三四五六七八九十百千0-9]+")


def _is_cantonese(item: Item) -> bool:
    return any(str(tag).split("-")[0] == "yue" for tag in item.languages or [])


def item_label(item: Item) -> LanguageMap:
    """The label of an item's manifest or reference: its title forms (+ ``yue``)."""
    return forms_map(item, "title", yue=_is_cantonese(item))


def _agent_map(agent: Agent) -> LanguageMap:
    names = forms_map(agent, "name")
    if not agent.dynasty:
        return names
    hant, hans, en = DYNASTIES.get(agent.dynasty, (agent.dynasty,) * 3)
    dynasty = {HANT: hant, HANS: hans, EN: en, YUE: hant, NONE: agent.dynasty}
    return {
        key: [f"{name} ({dynasty[key]})" if key == EN else f"（{dynasty[key]}）{name}"]
        for key, values in names.items()
        for name in values[:1]
    }


def _place_map(place: Place) -> LanguageMap:
    return forms_map(place, "name")


def _theme_map(theme: ThemeLibrary) -> LanguageMap:
    return _tri(theme.name_hant, theme.name_hans, theme.name_en)


def _date_map(text: str, year_from, year_to, approximate: bool) -> LanguageMap:
    lmap = text_map(text)
    if year_from is not None and _CJK.search(text):
        years = str(year_from)
        if year_to is not None and year_to != year_from:
            years = f"{year_from}–{year_to}"
        lmap[EN] = [f"c. {years}" if approximate else years]
    return lmap


def _pair(label: LanguageMap, value: LanguageMap) -> KeyValueString | None:
    if not value or not any(v for values in value.values() for v in values):
        return None
    return KeyValueString(label=label, value=value)


def item_metadata(item: Item) -> list[KeyValueString]:
    """The descriptive ``metadata`` pairs of an item (§3.1): for display, not for machines."""
    work: Work | None = item.work
    pairs: list[KeyValueString | None] = [
        _pair(FIELD_LABELS["title"], item_label(item))
    ]
    if work is not None:
        pairs.append(_pair(FIELD_LABELS["work"], forms_map(work, "title")))
    if item.volume_number:
        n = item.volume_number
        pairs.append(
            _pair(FIELD_LABELS["volume"], _tri(f"第{n}冊", f"第{n}册", f"Volume {n}"))
        )
    dated = item if item.date_text else work
    if dated is not None and dated.date_text:
        pairs.append(
            _pair(
                FIELD_LABELS["date"],
                _date_map(
                    dated.date_text,
                    dated.year_from,
                    dated.year_to,
                    dated.date_approximate,
                ),
            )
        )
    if work is not None:
        if work.bu:
            pairs.append(
                _pair(FIELD_LABELS["bu"], BU_LABELS.get(work.bu, text_map(work.bu)))
            )
        pairs.append(_pair(FIELD_LABELS["subclass"], text_map(work.subclass)))
        pairs.append(_pair(FIELD_LABELS["edition"], text_map(work.edition)))
    roles: dict[str, list[LanguageMap]] = {}
    work_roles = list(work.work_agents.all()) if work is not None else []
    for link in [*work_roles, *item.item_agents.all()]:
        agent_map = _agent_map(link.agent)
        if agent_map not in roles.setdefault(link.role, []):
            roles[link.role].append(agent_map)
    for role, agents in roles.items():
        label = ROLE_LABELS.get(role, ROLE_LABELS["other"])
        pairs.append(_pair(label, list_map(agents)))
    pairs.append(
        _pair(FIELD_LABELS["institution"], forms_map(item.institution, "name"))
    )
    if item.collection is not None:
        chain = [*item.collection.ancestors(), item.collection]
        pairs.append(
            _pair(
                FIELD_LABELS["collection"],
                join_map([forms_map(c, "title") for c in chain], " › "),
            )
        )
    themes = list(item.themes.all())
    if themes:
        pairs.append(
            _pair(FIELD_LABELS["themes"], list_map([_theme_map(t) for t in themes]))
        )
    places = list(item.places.all())
    if places:
        pairs.append(
            _pair(FIELD_LABELS["places"], list_map([_place_map(p) for p in places]))
        )
    if item.languages:
        names = [
            LANGUAGE_NAMES.get(str(tag), {NONE: [str(tag)]}) for tag in item.languages
        ]
        pairs.append(_pair(FIELD_LABELS["language"], list_map(names)))
    pairs.append(_pair(FIELD_LABELS["dialect"], text_map(item.dialect)))
    pairs.append(_pair(FIELD_LABELS["identifier"], {NONE: [item.public_id]}))
    ref = item.dadian_ref or (work.dadian_ref if work is not None else "")
    if ref:
        pairs.append(_pair(FIELD_LABELS["dadian_ref"], {NONE: [ref]}))
    return [p for p in pairs if p is not None]


def rights_uri(uri: str) -> str:
    """The ``rights`` URI (§3.1) in the ``http://`` form the validator requires.

    The archive accepts ``https://creativecommons.org/…`` on input; it is the
    same licence, written as Creative Commons publishes it in RDF.
    """
    return re.sub(r"^https://creativecommons\.org/", "http://creativecommons.org/", uri)


def _navdate(item: Item) -> datetime | None:
    """``navDate`` (§3.1, cookbook 0230): 1 January of the first year, in UTC."""
    year = item.year_from
    if year is None and item.work is not None:
        year = item.work.year_from
    if year is None or not 1 <= year <= 9999:
        return None
    return datetime(year, 1, 1, tzinfo=UTC)


def _is_traditional_book(item: Item) -> bool:
    """A traditional Chinese book, read right to left (cookbook 0010)."""
    if item.kind != Item.Kind.BOOK_VOLUME:
        return False
    for tag in item.languages or []:
        tag = str(tag)
        if tag in ("lzh", "zh", "zh-Hant") or tag.startswith(("lzh-", "zh-Hant-")):
            return True
    return item.work is not None and bool(item.work.bu)


# ---------------------------------------------------------------------------
# Shared parts
# ---------------------------------------------------------------------------


class Urls:
    """Absolute URLs of one request's documents (ids are absolute URIs, §3.2 ``id``)."""

    def __init__(self, request=None):
        self.request = request
        self.base = base_url(request)

    def path(self, path: str) -> str:
        """An absolute URL for a site path."""
        return f"{self.base}{path}"

    def manifest(self, public_id: str) -> str:
        """The manifest of an item."""
        return manifest_id(public_id, request=self.request)

    def collection(self, key: str) -> str:
        """A collection (``top``, ``theme-{code}`` or a collection code)."""
        return collection_id(key, request=self.request)

    def image_service(self, page: PageImage) -> str:
        """The Image API service of a page, with the current pyramid recipe."""
        return image_service_id(page.public_id, request=self.request)


def _service(description: dict) -> ServiceV3:
    """A service description (``iiif.auth``'s plain JSON) as an iiif-prezi3 service, nested too."""
    fields = dict(description)
    nested = fields.pop("service", None)
    if nested:
        fields["service"] = [_service(child) for child in nested]
    return ServiceV3(**fields)


def _image_service(service_id: str, auth_services: Sequence[dict] = ()) -> ServiceV3:
    """An ``ImageService3`` (§3.2 ``service``) with the page's Auth 2.0 probe when restricted."""
    service = ServiceV3(id=service_id, type="ImageService3", profile="level2")
    if auth_services:
        # Auth 2.0 §2.1: MAY be declared with the image service in the manifest.
        service.service = [_service(s) for s in auth_services]
    return service


#: Content Search 1.0 (the form Mirador's search panel finds, by profile).
SEARCH1_CONTEXT = "http://iiif.io/api/search/1/context.json"
SEARCH1_PROFILE = "http://iiif.io/api/search/1/search"
AUTOCOMPLETE1_PROFILE = "http://iiif.io/api/search/1/autocomplete"


def _search_services(urls: Urls, item: Item) -> list:
    """The item's Content Search services, each with its autocomplete (``iiif.content_search``).

    Content Search 2.0 §3 (``SearchService2`` with a nested
    ``AutoCompleteService2``), and the same search in its 1.0 form (§3.1 and
    §4.1 of 1.0: ``@context``, ``@id`` and the ``search/1`` profiles), which
    Presentation 3.0 §3.2 ``service`` lists as a ``SearchService1`` and which
    is the only form Mirador's search panel speaks.
    """
    args = [item.public_id]
    search2 = urls.path(reverse("iiif_search2", args=args))
    search1 = urls.path(reverse("iiif_search1", args=args))
    return [
        ServiceV3(
            id=search2,
            type="SearchService2",
            service=[
                ServiceV3(
                    id=urls.path(reverse("iiif_search2_autocomplete", args=args)),
                    type="AutoCompleteService2",
                )
            ],
        ),
        ServiceV2(
            **{
                "@context": SEARCH1_CONTEXT,
                "@id": search1,
                "@type": "SearchService1",
                "profile": SEARCH1_PROFILE,
                "service": [
                    ServiceV2(
                        **{
                            "@id": urls.path(
                                reverse("iiif_search1_autocomplete", args=args)
                            ),
                            "@type": "AutoCompleteService1",
                            "profile": AUTOCOMPLETE1_PROFILE,
                        }
                    )
                ],
            }
        ),
    ]


def _thumbnail(urls: Urls, page: PageImage, box: int = 256) -> AnnotationBody:
    """A small image of a page through its Image API service (§3.1 ``thumbnail``)."""
    scale = min(1.0, box / max(page.width, page.height, 1))
    width = max(1, round(page.width * scale))
    height = max(1, round(page.height * scale))
    service = urls.image_service(page)
    return AnnotationBody(
        id=f"{service}/full/{width},{height}/0/default.jpg",
        type="Image",
        format="image/jpeg",
        width=width,
        height=height,
        service=[
            _image_service(service, auth.image_services(page, request=urls.request))
        ],
    )


def _provider(urls: Urls, institution) -> Provider:
    """The contributing institution as a ``provider`` Agent (§3.1, cookbook 0234)."""
    page = urls.path(reverse("institution_detail", args=[institution.code]))
    name = forms_map(institution, "name")
    return Provider(
        id=page,
        type="Agent",
        label=name,
        homepage=[
            Homepage(
                id=institution.homepage or page,
                type="Text",
                label=name,
                format="text/html",
            )
        ],
    )


def _collection_ref(urls: Urls, key: str, label: LanguageMap) -> CollectionRef:
    return CollectionRef(id=urls.collection(key), type="Collection", label=label)


def _part_of(urls: Urls, key: str, label: LanguageMap) -> Class:
    return Class(id=urls.collection(key), type="Collection", label=label)


def _theme_key(theme: ThemeLibrary) -> str:
    return f"{selectors.THEME_PREFIX}{theme.code}"


# ---------------------------------------------------------------------------
# Manifests (§5.2)
# ---------------------------------------------------------------------------


def _item_manifest(urls: Urls, item: Item) -> Manifest:
    """A manifest with the item-level properties every kind of item shares."""
    summary = forms_map(item, "description")
    statement = language_map(item.required_statement, en=item.required_statement_en)
    part_of = []
    if item.collection is not None:
        part_of.append(
            _part_of(urls, item.collection.code, forms_map(item.collection, "title"))
        )
    part_of += [_part_of(urls, _theme_key(t), _theme_map(t)) for t in item.themes.all()]
    manifest = Manifest(
        id=urls.manifest(item.public_id),
        label=item_label(item),
        metadata=item_metadata(item),
        rights=rights_uri(item.rights_uri),
        provider=[_provider(urls, item.institution)],
        homepage=[
            Homepage(
                id=urls.path(reverse("item_detail", args=[item.public_id])),
                type="Text",
                label=item_label(item),
                format="text/html",
            )
        ],
        seeAlso=[
            LinkedResource(
                id=urls.path(reverse("iiif_record", args=[item.public_id])),
                type="Dataset",
                label=FIELD_LABELS["record"],
                format="application/json",
            )
        ],
        items=[],
    )
    if summary:
        manifest.summary = summary
    if statement:
        manifest.requiredStatement = KeyValueString(
            label=FIELD_LABELS["attribution"], value=statement
        )
    if part_of:
        manifest.partOf = part_of
    navdate = _navdate(item)
    if navdate is not None:
        manifest.navDate = navdate
    return manifest


def _page_canvas(urls: Urls, mid: str, page: PageImage) -> Canvas:
    """One page as a canvas painted by its image service (§5.3, cookbook 0005)."""
    canvas_id = f"{mid}/canvas/{page.public_id}"
    service = urls.image_service(page)
    body = AnnotationBody(
        id=f"{service}/full/max/0/default.jpg",
        type="Image",
        format="image/jpeg",
        width=page.width,
        height=page.height,
        service=[
            _image_service(service, auth.image_services(page, request=urls.request))
        ],
    )
    painting = Annotation(
        id=f"{mid}/annotation/{page.public_id}-image",
        motivation="painting",
        body=body,
        target=canvas_id,
    )
    canvas = Canvas(
        id=canvas_id,
        label=text_map(page.label) or {NONE: [str(page.sequence)]},
        width=page.width,
        height=page.height,
        items=[AnnotationPage(id=f"{mid}/page/{page.public_id}", items=[painting])],
    )
    pairs = []
    if page.folio:
        pairs.append(
            _pair(
                _tri("版心葉次", "版心叶次", "Folio (block centre)"),
                text_map(page.folio),
            )
        )
    if page.blank:
        pairs.append(
            _pair(_tri("頁面", "页面", "Page"), _tri("空白葉", "空白叶", "blank leaf"))
        )
    if pairs:
        canvas.metadata = pairs
    return canvas


@dataclass(frozen=True)
class TocEntry:
    """One division of a volume: a label and the pages (by sequence) it spans."""

    label: LanguageMap
    first: int
    last: int
    children: tuple[TocEntry, ...] = ()


def _toc_from_field(raw, page_count: int) -> list[TocEntry]:
    entries = []
    for entry in raw or []:
        if not isinstance(entry, dict):
            continue
        label = entry.get("label")
        if isinstance(label, dict):
            lmap = language_map(
                label.get("original", ""),
                hant=label.get("zh-Hant", ""),
                hans=label.get("zh-Hans", ""),
                en=label.get("en", ""),
            )
        else:
            lmap = text_map(str(label or ""))
        first, last = entry.get("first"), entry.get("last")
        if not lmap or not isinstance(first, int) or not isinstance(last, int):
            continue
        if not 1 <= first <= last <= page_count:
            continue
        children = tuple(_toc_from_field(entry.get("children"), page_count))
        entries.append(TocEntry(lmap, first, last, children))
    return entries


def _toc_from_labels(item: Item, pages: Sequence[PageImage]) -> list[TocEntry]:
    """A table of contents guessed from page labels and the volume title.

    Used while items have no stored table of contents: leading front matter
    (內封, 目錄, 序 …) and trailing back matter (封底, 跋 …) are divisions of
    their own and the pages between are the 卷 the title names (``三字經 卷上``).
    A volume with neither gets no ranges rather than one range of everything.
    """
    if item.kind != Item.Kind.BOOK_VOLUME or not pages:
        return []
    start, end = 0, len(pages)
    while start < end and pages[start].label.strip() in FRONT_MATTER:
        start += 1
    while end > start and pages[end - 1].label.strip() in BACK_MATTER:
        end -= 1
    juan = _JUAN.search(item.title_hant or item.title)
    if juan is None and start == 0 and end == len(pages):
        return []
    entries = [
        TocEntry(text_map(p.label.strip()), p.sequence, p.sequence)
        for p in pages[:start]
    ]
    if start < end:
        label = text_map(juan.group(0)) if juan else FIELD_LABELS["body_text"]
        entries.append(TocEntry(label, pages[start].sequence, pages[end - 1].sequence))
    entries += [
        TocEntry(text_map(p.label.strip()), p.sequence, p.sequence) for p in pages[end:]
    ]
    return entries


def toc_entries(item: Item, pages: Sequence[PageImage]) -> list[TocEntry]:
    """The volume's table of contents: the stored one, else one read from its pages.

    A stored table of contents is ``Item.toc`` (batch format 1 ``toc``:
    ``[{"label", "first", "last", "children"?}]`` with 1-based page
    positions); entries out of range are skipped.
    """
    stored = getattr(item, "toc", None)
    if stored:
        return _toc_from_field(stored, max((p.sequence for p in pages), default=0))
    return _toc_from_labels(item, pages)


def _ranges(
    mid: str, entries: Sequence[TocEntry], canvases: dict[int, str], prefix: str = "r"
) -> list[Range]:
    ranges = []
    for n, entry in enumerate(entries, start=1):
        rid = f"{prefix}{n}"
        items: list = [
            CanvasRef(id=canvases[seq], type="Canvas")
            for seq in range(entry.first, entry.last + 1)
            if seq in canvases
        ]
        if entry.children:
            items = _ranges(mid, entry.children, canvases, prefix=f"{rid}-")
        if items:
            ranges.append(
                Range(id=f"{mid}/range/{rid}", label=entry.label, items=items)
            )
    return ranges


def _structures(
    mid: str, item: Item, pages: Sequence[PageImage], canvases: dict[int, str]
) -> list[Range]:
    """``structures`` (§3.4 and §5.4, cookbook 0024): one 目錄 range holding the divisions."""
    ranges = _ranges(mid, toc_entries(item, pages), canvases)
    if not ranges:
        return []
    return [Range(id=f"{mid}/range/toc", label=FIELD_LABELS["toc"], items=ranges)]


def _image_manifest(urls: Urls, item: Item, pages: list[PageImage]) -> Manifest:
    manifest = _item_manifest(urls, item)
    mid = manifest.id
    manifest.items = [_page_canvas(urls, mid, page) for page in pages]
    manifest.thumbnail = [_thumbnail(urls, pages[0])]
    if item.kind == Item.Kind.BOOK_VOLUME:
        manifest.behavior = ["paged"]
    if _is_traditional_book(item):
        manifest.viewingDirection = "right-to-left"
    structures = _structures(
        mid, item, pages, {p.sequence: f"{mid}/canvas/{p.public_id}" for p in pages}
    )
    if structures:
        manifest.structures = structures
    # Searchable once a page has text (a page's text changing renews the stamp).
    if any(page.text.strip() for page in pages):
        manifest.service = _search_services(urls, item)
    return manifest


#: Media types as detected from the bytes, mapped to their registered names, so
#: browsers asked ``canPlayType(format)`` by AV clients recognise them.
MEDIA_FORMATS = {
    "audio/x-flac": "audio/flac",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/x-m4a": "audio/mp4",
    "video/x-m4v": "video/mp4",
}


def media_format(media_type: str) -> str:
    """The ``format`` (§3.2) of a media file: its detected type, registered name first."""
    return MEDIA_FORMATS.get(media_type, media_type)


def _media_class(media_type: str) -> str:
    return "Video" if media_type.startswith("video/") else "Sound"


#: Transcript labels by register (``Transcript.Register``), and the suffix of
#: a transcript no archivist has approved yet.
TRANSCRIPT_LABELS = {
    "yue": _tri(
        "逐字稿（粵語口語）", "逐字稿（粤语口语）", "Transcript (written Cantonese)"
    ),
    "zh": _tri(
        "逐字稿（書面語）",
        "逐字稿（书面语）",
        "Transcript (Standard Written Chinese)",
    ),
}
UNREVIEWED_SUFFIX = _tri(
    "：機器生成，未經審閱",
    "：机器生成，未经审阅",
    ": machine-generated, not yet reviewed",
)
INDEX_LABEL = _tri("索引", "索引", "Index")


def _seconds(value: float) -> str:
    """Seconds for a media fragment (``#t=12.5,20``): milliseconds at most."""
    return f"{max(value, 0.0):.3f}".rstrip("0").rstrip(".")


def _time_target(canvas_id: str, start: float, end: float) -> str:
    """A temporal fragment of a canvas (Presentation 3.0 §4.3, Media Fragments)."""
    return f"{canvas_id}#t={_seconds(start)},{_seconds(end)}"


def _recording_canvas(
    urls: Urls,
    mid: str,
    item: Item,
    recording: selectors.Recording,
    tracks: Sequence[selectors.TranscriptTrack],
) -> Canvas:
    """One recording as a time-based canvas (§3.2 ``duration``; cookbook 0002, 0003)."""
    asset, facts = recording.asset, recording.facts
    canvas_id = f"{mid}/canvas/media-{asset.pk}"
    kind = _media_class(asset.media_type)
    size = (
        {"width": facts.width, "height": facts.height}
        if kind == "Video" and facts.width and facts.height
        else {}
    )
    # What players play: the listening copy or video proxy (AAC / H.264 in MP4,
    # which every browser plays), with closed passages silenced for readers who
    # may not hear them; the original where none is made yet.
    body = AnnotationBody(
        id=urls.path(reverse("recording_listen", args=[item.public_id, asset.pk])),
        type=kind,
        format=recording.playable_media_type or media_format(asset.media_type),
        duration=facts.duration,
        **size,
    )
    # A recording not every visitor may hear declares its Auth 2.0 probe (§2.1).
    probes = auth.media_services(item, asset, request=urls.request)
    if probes:
        body.service = [_service(s) for s in probes]
    painting = Annotation(
        id=f"{mid}/annotation/media-{asset.pk}",
        motivation="painting",
        body=body,
        target=canvas_id,
    )
    canvas = Canvas(
        id=canvas_id,
        duration=facts.duration,
        items=[AnnotationPage(id=f"{mid}/page/media-{asset.pk}", items=[painting])],
        **size,
    )
    if recording.poster is not None and recording.poster.width:
        canvas.thumbnail = [_poster(urls, item, recording.poster)]
    mine = [t for t in tracks if t.asset_id == asset.pk]
    if mine:
        _add_transcripts(urls, mid, canvas, mine)
    return canvas


def _poster(urls: Urls, item: Item, poster) -> AnnotationBody:
    """A video's poster frame (§3.1 ``thumbnail``), served by the recording's poster door."""
    return AnnotationBody(
        id=urls.path(
            reverse("recording_poster", args=[item.public_id, poster.asset_id])
        ),
        type="Image",
        format=poster.media_type or "image/jpeg",
        width=poster.width,
        height=poster.height,
    )


def transcript_label(track: selectors.TranscriptTrack) -> LanguageMap:
    """A transcript's label: its own, else its register, saying when it is unreviewed."""
    if track.label:
        return track.label
    base = TRANSCRIPT_LABELS.get(track.register)
    if base is None:
        return FIELD_LABELS["transcript_vtt"]
    if track.reviewed:
        return base
    return {key: [base[key][0] + UNREVIEWED_SUFFIX[key][0]] for key in base}


def _segment_page(
    canvas: Canvas, track: selectors.TranscriptTrack, n: int, duration: float
) -> AnnotationPage | None:
    """A transcript's passages as ``supplementing`` TextualBody annotations.

    One annotation per passage, targeting the canvas's time fragment
    (``canvas#t=start,end``), so clients that show a transcript beside the
    player (and content search hits) can point into it.
    """
    page_id = f"{canvas.id}/transcript/{track.transcript_id or n}"
    annotations = []
    for k, segment in enumerate(track.segments, start=1):
        if segment.start >= duration:
            continue
        annotations.append(
            Annotation(
                id=f"{page_id}/{k}",
                motivation="supplementing",
                body=TextualBody(
                    value=segment.text,
                    format="text/plain",
                    language=track.language,
                ),
                target=_time_target(
                    canvas.id, segment.start, min(segment.end, duration)
                ),
            )
        )
    if not annotations:
        return None
    return AnnotationPage(id=page_id, label=transcript_label(track), items=annotations)


def _add_transcripts(
    urls: Urls, mid: str, canvas: Canvas, tracks: Sequence[selectors.TranscriptTrack]
) -> None:
    """Transcripts as WebVTT ``supplementing`` annotations and ``rendering`` links.

    Cookbook 0219 (captions: a supplementing annotation whose body is the
    WebVTT file, targeting the canvas) and 0017 (the transcript as a
    ``rendering`` of the canvas, in WebVTT and plain text). Each transcript's
    passages also come as an annotation page of TextualBody annotations on
    time fragments of the canvas (:func:`_segment_page`).
    """
    annotations, renderings, pages = [], [], []
    for n, track in enumerate(tracks, start=1):
        vtt = urls.path(track.vtt_path)
        label = transcript_label(track)
        annotations.append(
            Annotation(
                id=f"{canvas.id}/transcript/{n}",
                motivation="supplementing",
                body=AnnotationBody(
                    id=vtt,
                    type="Text",
                    format="text/vtt",
                    language=track.language,
                    label=label,
                ),
                target=canvas.id,
            )
        )
        renderings.append(
            LinkedResource(id=vtt, type="Text", label=label, format="text/vtt")
        )
        if track.text_path:
            renderings.append(
                LinkedResource(
                    id=urls.path(track.text_path),
                    type="Text",
                    label=FIELD_LABELS["transcript_txt"],
                    format="text/plain",
                )
            )
        page = _segment_page(canvas, track, n, canvas.duration)
        if page is not None:
            pages.append(page)
    canvas.annotations = [
        AnnotationPage(id=f"{canvas.id}/supplementing", items=annotations),
        *pages,
    ]
    canvas.rendering = renderings


def _index_structures(
    mid: str, canvas: Canvas, points: Sequence[selectors.IndexRange]
) -> list[Range]:
    """Index points as ranges of the first recording (§5.4; cookbook 0026 for AV).

    One 索引 range holds a range per point, each pointing at the canvas's
    time fragment from the point to its end (the next point, or the end).
    """
    duration = canvas.duration
    ranges = []
    for n, point in enumerate(points, start=1):
        if point.start >= duration:
            continue
        end = min(point.end if point.end is not None else duration, duration)
        if end <= point.start:
            end = duration
        label = text_map(point.title) or {NONE: [point.title or str(n)]}
        ranges.append(
            Range(
                id=f"{mid}/range/index-{point.key or n}",
                label=label,
                items=[
                    CanvasRef(
                        id=_time_target(canvas.id, point.start, end), type="Canvas"
                    )
                ],
            )
        )
    if not ranges:
        return []
    return [Range(id=f"{mid}/range/index", label=INDEX_LABEL, items=ranges)]


def _recording_manifest(
    urls: Urls,
    item: Item,
    recordings: list[selectors.Recording],
    tracks: Sequence[selectors.TranscriptTrack],
    points: Sequence[selectors.IndexRange] = (),
) -> Manifest:
    manifest = _item_manifest(urls, item)
    mid = manifest.id
    manifest.items = [
        _recording_canvas(urls, mid, item, rec, tracks) for rec in recordings
    ]
    poster = next((r.poster for r in recordings if r.poster and r.poster.width), None)
    if poster is not None:
        manifest.thumbnail = [_poster(urls, item, poster)]
    structures = _index_structures(mid, manifest.items[0], points)
    if structures:
        manifest.structures = structures
    # Always: a transcript may be made after this manifest was cached.
    manifest.service = _search_services(urls, item)
    return manifest


def manifest_build(*, item: Item, user=None, request=None) -> Manifest | None:
    """Build the Presentation 3.0 manifest of an item, as ``user`` may see it.

    The caller has already decided that ``user`` may see the item; this leaves
    out any page or recording that is stricter than the item and refused.

    Args:
        item: an item from :func:`iiif.selectors.manifest_item_get`.
        user: the visitor (pages and recordings stricter than the item are
            checked against them).
        request: the request, for absolute ids and the reading-room check.

    Returns:
        The manifest, or None when the item has nothing to show (a manifest
        must have at least one canvas, §3.4 ``items``).
    """
    urls = Urls(request)
    if item.kind in selectors.RECORDING_KINDS:
        found = selectors.recordings(item=item, user=user, request=request)
        if not found:
            return None
        tracks = selectors.transcript_tracks(item=item, user=user, request=request)
        points = selectors.index_ranges(item=item)
        return _recording_manifest(urls, item, found, tracks, points)
    pages = selectors.visible_pages(item=item, user=user, request=request)
    if not pages:
        return None
    return _image_manifest(urls, item, pages)


# ---------------------------------------------------------------------------
# Collections (§5.1)
# ---------------------------------------------------------------------------


def _manifest_ref(urls: Urls, item: Item) -> ManifestRef:
    return ManifestRef(
        id=urls.manifest(item.public_id), type="Manifest", label=item_label(item)
    )


def collection_build(
    target: selectors.CollectionTarget, *, user=None, request=None
) -> Collection:
    """Build a collection, listing only the items ``user`` may see.

    ``top`` lists the four theme libraries and the archive's root collections
    (whose children nest inside them); a theme library lists the collections
    and items assigned to it; an archive collection lists its child
    collections and its own items. Items are listed only when they have a
    manifest (a page image, or a recording).

    Args:
        target: what the key names (:func:`iiif.selectors.collection_target_get`).
        user: the visitor, whose visibility narrows the items.
        request: the request, for absolute ids and the reading-room check.

    Returns:
        The iiif-prezi3 Collection.
    """
    urls = Urls(request)
    top = _part_of(urls, selectors.TOP_KEY, TOP_LABEL)
    refs: list = []
    if target.kind == "top":
        refs += [
            _collection_ref(urls, _theme_key(t), _theme_map(t))
            for t in selectors.theme_library_list()
        ]
        refs += [
            _collection_ref(urls, c.code, forms_map(c, "title"))
            for c in selectors.root_collection_list()
        ]
        collection = Collection(
            id=urls.collection(target.key),
            label=TOP_LABEL,
            summary=TOP_SUMMARY,
            items=refs,
        )
        central = selectors.central_institution_get()
        if central is not None:
            collection.provider = [_provider(urls, central)]
        return collection
    if target.kind == "theme":
        theme = target.theme
        refs += [
            _collection_ref(urls, c.code, forms_map(c, "title"))
            for c in selectors.theme_collection_list(theme=theme)
        ]
        items = selectors.presentable_item_list(user=user, request=request, theme=theme)
        refs += [_manifest_ref(urls, i) for i in items]
        collection = Collection(
            id=urls.collection(target.key),
            label=_theme_map(theme),
            items=refs,
            partOf=[top],
        )
        intro = _tri(
            theme.introduction_hant, theme.introduction_hans, theme.introduction_en
        )
        intro = {k: v for k, v in intro.items() if v[0]}
        if intro:
            collection.summary = intro
        central = selectors.central_institution_get()
        if central is not None:
            collection.provider = [_provider(urls, central)]
        return collection
    archive_collection = target.collection
    refs += [
        _collection_ref(urls, c.code, forms_map(c, "title"))
        for c in selectors.child_collection_list(collection=archive_collection)
    ]
    items = selectors.presentable_item_list(
        user=user, request=request, collection=archive_collection
    )
    refs += [_manifest_ref(urls, i) for i in items]
    parent = archive_collection.parent
    collection = Collection(
        id=urls.collection(target.key),
        label=forms_map(archive_collection, "title"),
        items=refs,
        partOf=[
            _part_of(urls, parent.code, forms_map(parent, "title"))
            if parent is not None
            else top
        ],
        provider=[_provider(urls, archive_collection.institution)],
    )
    summary = language_map(
        archive_collection.description, en=archive_collection.description_en
    )
    if summary:
        collection.summary = summary
    return collection


# ---------------------------------------------------------------------------
# The item's metadata record (the manifest's seeAlso)
# ---------------------------------------------------------------------------


def _forms(obj, field: str) -> dict[str, str]:
    return {
        "original": getattr(obj, field, ""),
        "zh-Hant": getattr(obj, f"{field}_hant", ""),
        "zh-Hans": getattr(obj, f"{field}_hans", ""),
        "en": getattr(obj, f"{field}_en", ""),
    }


def _agent_record(link) -> dict:
    agent = link.agent
    return {
        "role": link.role,
        "name": _forms(agent, "name"),
        "dynasty": agent.dynasty,
        "dates": agent.dates,
        "kind": agent.kind,
    }


def record_build(*, item: Item, request=None) -> dict:
    """The item's catalogue record as JSON (the manifest's ``seeAlso``, §3.3.1).

    Machine-readable where ``metadata`` is for display only: the forms of
    every text as stored, the parsed date range, agents with roles, places
    with coordinates, and links to the manifest and the item page. Field names
    follow batch format 1 (docs/ingest-format.md) where they overlap.
    """
    urls = Urls(request)
    work = item.work
    return {
        "id": urls.path(reverse("iiif_record", args=[item.public_id])),
        "type": "yuecang-record/1",
        "identifier": item.public_id,
        "kind": item.kind,
        "title": _forms(item, "title"),
        "description": _forms(item, "description"),
        "date": {
            "text": item.date_text,
            "year_from": item.year_from,
            "year_to": item.year_to,
            "approximate": item.date_approximate,
        },
        "language": list(item.languages or []),
        "dialect": item.dialect,
        "volume": item.volume_number,
        "dadian_ref": item.dadian_ref,
        "work": None
        if work is None
        else {
            "identifier": work.public_id,
            "title": _forms(work, "title"),
            "class": work.bu,
            "subclass": work.subclass,
            "edition": work.edition,
            "dadian_ref": work.dadian_ref,
            "date": {
                "text": work.date_text,
                "year_from": work.year_from,
                "year_to": work.year_to,
            },
            "agents": [_agent_record(link) for link in work.work_agents.all()],
        },
        "agents": [_agent_record(link) for link in item.item_agents.all()],
        "places": [
            {
                "name": _forms(p, "name"),
                "lat": float(p.latitude) if p.latitude is not None else None,
                "lon": float(p.longitude) if p.longitude is not None else None,
            }
            for p in item.places.all()
        ],
        "institution": {
            "code": item.institution.code,
            "name": _forms(item.institution, "name"),
            "homepage": item.institution.homepage,
        },
        "collection": None
        if item.collection is None
        else {
            "code": item.collection.code,
            "title": _forms(item.collection, "title"),
            "iiif": urls.collection(item.collection.code),
        },
        "themes": [t.code for t in item.themes.all()],
        "rights": {
            "uri": rights_uri(item.rights_uri),
            "statement": {
                "original": item.required_statement,
                "en": item.required_statement_en,
            },
        },
        "manifest": urls.manifest(item.public_id),
        "homepage": urls.path(reverse("item_detail", args=[item.public_id])),
        "modified": item.updated_at.isoformat() if item.updated_at else None,
    }


# ---------------------------------------------------------------------------
# Serialization and the manifest cache
# ---------------------------------------------------------------------------


#: Auth 2.0 services as serialized: a quote inside a text value is
#: backslash-escaped, so only a service's own ``type`` can match.
_AUTH_MARK = '"type":"AuthProbeService2"'


def to_json(resource) -> str:
    """Serialize an iiif-prezi3 resource once, with its ``@context`` first (§4.6).

    pydantic's own JSON encoder is several times faster than iiif-prezi3's
    ``json()`` (which walks a Python copy to rewrite dates) and writes UTC
    datetimes with ``Z`` already. A document with Auth 2.0 services lists the
    Auth context before the Presentation context (Auth 2.0 §2.1, §4.6 here).
    """
    body = resource.model_dump_json(exclude_none=True, by_alias=True)
    if body == "{}":
        return body
    context = f'"{CONTEXT}"'
    if _AUTH_MARK in body:
        context = f'["{auth.AUTH_CONTEXT}","{CONTEXT}"]'
    return f'{{"@context":{context},{body[1:]}'


@dataclass(frozen=True)
class Document:
    """A serialized JSON document and whether every visitor gets the same one."""

    #: The JSON text, or its UTF-8 bytes (a manifest from the cache).
    body: str | bytes
    #: True when the document is the same for every visitor (publicly cacheable).
    shared: bool
    #: A fixed media type; empty for IIIF documents, whose type is negotiated (§6.3).
    media_type: str = ""
    #: The body's ETag when it is already known (stored with a cached manifest).
    known_etag: str = ""

    @cached_property
    def data(self) -> bytes:
        """The body as UTF-8 bytes, as it is sent."""
        return self.body if isinstance(self.body, bytes) else self.body.encode()

    @cached_property
    def etag(self) -> str:
        """A strong ETag of the body."""
        if self.known_etag:
            return self.known_etag
        return '"' + hashlib.sha256(self.data).hexdigest()[:32] + '"'


_STAMP_ALL = "iiif:p3:stamp"


def _stamp_key(public_id: str) -> str:
    return f"iiif:p3:stamp:{public_id}"


def _new_token() -> str:
    return secrets.token_hex(8)


def manifest_stamp(*, public_id: str) -> str | None:
    """The cache stamp of an item's manifest; read it BEFORE reading the item.

    A change committed after the stamp is read renews the stamp
    (:func:`manifest_cache_bump`), so a manifest built from older rows is
    stored under a stamp nobody asks for again. Stamps are random tokens, not
    counters: a stamp evicted from the cache comes back as a new token and
    can never revive an old copy. None when the stamp does not exist yet (it
    is made once the item is known to exist, see :func:`manifest_document`).
    """
    keys = [_STAMP_ALL, _stamp_key(public_id)]
    found = cache.get_many(keys)
    if len(found) < len(keys):
        return None
    return f"{found[keys[0]]}.{found[keys[1]]}"


def _stamp_create(public_id: str) -> None:
    for key in (_STAMP_ALL, _stamp_key(public_id)):
        cache.add(key, _new_token(), None)


def manifest_cache_bump(*, public_ids: Iterable[str] | None = None) -> None:
    """Renew the stamps of these items' manifests (all manifests when None)."""
    if public_ids is None:
        cache.set(_STAMP_ALL, _new_token(), None)
        return
    stamps = {_stamp_key(pid): _new_token() for pid in set(public_ids)}
    if stamps:
        cache.set_many(stamps, None)


def item_is_shared(item: Item) -> bool:
    """Whether an item's manifest is the same for every visitor (so it may be cached).

    True when an anonymous visitor off-site may see the item (public, or an
    embargo that has passed) and none of its pages or recordings is stricter.
    """
    return decide(
        AnonymousUser(), item, None
    ).allowed and not selectors.item_has_restricted_parts(item=item)


def _manifest_cache_key(item: Item, stamp: str, request) -> str:
    version = "|".join(
        [
            stamp,
            item.updated_at.isoformat() if item.updated_at else "",
            base_url(request),
            settings.IIIF_IMAGE_BASE,
            str(PYRAMID_RECIPE_VERSION),
            str(BUILDER_VERSION),
        ]
    )
    digest = hashlib.sha256(version.encode()).hexdigest()[:24]
    # "v2": entries are (ETag, bytes) since 2026-11-30 (str before).
    return f"iiif:p3:manifest:v2:{item.public_id}:{digest}"


def manifest_document(
    *, item: Item, stamp: str | None, user=None, request=None
) -> Document | None:
    """The manifest JSON of an item for this visitor; None when there is nothing to show.

    Shared manifests (:func:`item_is_shared`) are served from the cache,
    built and serialized once per change; all others are built for the
    visitor and never stored. ``item`` may be the bare row
    (:func:`iiif.selectors.item_get`): its pages and relations are read only
    when the manifest is built, so a cache hit costs two small queries.
    """

    def build() -> str | None:
        full = selectors.manifest_item_get(public_id=item.public_id)
        if full is None:  # deleted since the door read it
            return None
        manifest = manifest_build(item=full, user=user, request=request)
        return None if manifest is None else to_json(manifest)

    if not item_is_shared(item):
        body = build()
        return None if body is None else Document(body, shared=False)
    if stamp is None:
        # No stamp was read before the item: build without storing, and make
        # the stamp for the next request (storing now could race a change).
        _stamp_create(item.public_id)
        body = build()
        return None if body is None else Document(body, shared=True)
    key = _manifest_cache_key(item, stamp, request)
    # Stored as (ETag, UTF-8 bytes): a hit neither encodes nor hashes the body
    # again (728 KiB for 1,000 canvases). ("", b"") stores "nothing to show".
    stored = cache.get(key)
    if stored is None:
        body = build() or ""
        built = Document(body, shared=True)
        stored = (built.etag, built.data) if body else ("", b"")
        cache.set(key, stored, settings.IIIF_MANIFEST_CACHE_TIMEOUT)
    etag, data = stored
    return Document(data, shared=True, known_etag=etag) if data else None


def visitor_sees_public_view(user, request) -> bool:
    """Whether a visitor sees exactly what an anonymous off-site visitor sees."""
    return not is_archive_staff(user) and not in_reading_room(request)


def collection_document(
    target: selectors.CollectionTarget, *, user=None, request=None
) -> Document:
    """A collection's JSON for this visitor; shared when they see the public view."""
    collection = collection_build(target, user=user, request=request)
    return Document(to_json(collection), shared=visitor_sees_public_view(user, request))


def record_document(*, item: Item, request=None) -> Document:
    """The item's metadata record as JSON; shared when the item is."""
    body = json.dumps(record_build(item=item, request=request), ensure_ascii=False)
    return Document(body, shared=item_is_shared(item), media_type="application/json")
