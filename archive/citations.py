"""How to cite an item: GB/T 7714-2015, Chicago (17th ed.), BibTeX and CSL-JSON.

Every function takes the item, its permanent URL (``/items/{item}/``, absolute)
and the date the reader consulted it, and returns text (or, for CSL-JSON, a
dict). Citations are documents: like the IIIF manifests they do not depend on
the reader's UI language or 繁/简 choice. Chinese elements are given as the
record writes them; Chicago adds the English forms the record knows.

Choices (the standards leave them open or the records cannot say more):

GB/T 7714-2015 (信息与文献 参考文献著录规则)
    - Document type codes (Appendix B) by kind of item: book volumes ``M``
      (普通图书); oral-history interviews ``A`` (档案: an unpublished record
      kept by an archive); documentaries, image sets and other items ``Z``
      (其他). All carry the carrier code ``OL`` (联机网络): ``[M/OL]``.
    - Authors as catalogues write them, without the dynasty: the standard's
      own example of a Qing woodblock book reads ``汪昂. 增订本草备要: 四卷[M].
      刻本. 京都: 老二酉堂, 1881(清光绪七年).`` A dynasty written into the name
      (``〔清〕陳澧``, ``(宋)區適子``) is removed too (8.1.1). More than three
      authors: the first three, then ``, 等`` (8.1.2). An item without one
      starts with its title, as the numeric system allows (8.1.1 note).
    - Interviewers are other responsible persons: ``名, 採訪`` (8.1.4).
    - A volume of a work is ``作品題名: 卷次`` (title and other title
      information, 8.2), e.g. ``三字經: 卷上``; the edition statement is the
      kind of edition read from the work's edition (``刻本``, ``抄本`` …; 8.3).
    - Publication: for a book the publisher agent, and the place read from
      the edition statement (the text between the date and the publisher in
      ``清光緒十年廣州粵藏堂刻本``), else ``[出版地不詳]`` (8.4.1.3); for
      archival items the holding institution in ``ARCHIVE_CITATION_PLACE``
      (Guangzhou).
    - The year in the Gregorian calendar, with the reign date as written in
      parentheses (8.4.3: ``1881(清光绪七年)``); an approximate year or a
      range in square brackets; then the access date ``[2026-11-29]`` and the
      URL (8.8, 8.9).
    - Fixed words (``採訪``, ``等``, ``出版地不詳`` …) follow the script of the
      item's title (Traditional unless the title is Simplified); punctuation
      is half-width with one space after, as in the standard's examples.

Chicago Manual of Style, 17th ed., notes and bibliography
    - Names and titles as written in Chinese, preceded (names) or followed
      (titles, in brackets) by the record's English form (14.98, 11.94ff.);
      the records hold no pinyin, so titles are not romanized. Names are
      not inverted: Chinese names already put the family name first.
    - Book volumes as books (14.100ff.): edition, place: publisher, year.
      Interviews and other unpublished items as archival material (14.219,
      14.221ff.): title in quotation marks, the genre (``Interview by …``),
      the date, collection, repository and place.
    - An access date is included (14.12): item pages are revised.
    - Plain text: the italics of titles are not marked.

BibTeX and CSL-JSON
    - BibTeX: ``@book`` for book volumes, ``@misc`` otherwise; the key is the
      item's public identifier (ASCII letters, digits and hyphens, unique and
      permanent); special characters are escaped and every name is braced so
      BibTeX never splits a Chinese or corporate name.
    - CSL-JSON (CSL 1.0.2 variables): ``book``, ``interview`` and
      ``motion_picture`` for volumes, oral histories and documentaries,
      ``graphic`` for image sets, ``document`` otherwise; names are
      ``literal`` (a Chinese name cannot be split into family and given
      reliably).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.conf import settings

from archive.models import Agent, Item, Role
from archive.scripts import convert_for_display

#: Where the archive's institutions are, for citations of archival items.
DEFAULT_CITATION_PLACE = {"hant": "廣州", "hans": "广州", "en": "Guangzhou"}

#: GB/T 7714-2015 Appendix B document type codes by kind of item.
GBT_TYPE = {
    Item.Kind.BOOK_VOLUME: "M",
    Item.Kind.ORAL_HISTORY: "A",
    Item.Kind.DOCUMENTARY_VIDEO: "Z",
    Item.Kind.IMAGE_SET: "Z",
    Item.Kind.OTHER: "Z",
}

#: CSL 1.0.2 item types by kind of item.
CSL_TYPE = {
    Item.Kind.BOOK_VOLUME: "book",
    Item.Kind.ORAL_HISTORY: "interview",
    Item.Kind.DOCUMENTARY_VIDEO: "motion_picture",
    Item.Kind.IMAGE_SET: "graphic",
    Item.Kind.OTHER: "document",
}

#: The genre of an item in BibTeX and CSL-JSON: fixed English, like IIIF labels.
GENRE = {
    Item.Kind.BOOK_VOLUME: "Book volume",
    Item.Kind.ORAL_HISTORY: "Oral-history interview",
    Item.Kind.DOCUMENTARY_VIDEO: "Documentary video",
    Item.Kind.IMAGE_SET: "Image set",
    Item.Kind.OTHER: "Archival item",
}

#: Whose names lead a citation, by kind of item (the first role that has any).
PRIMARY_ROLES = {
    Item.Kind.BOOK_VOLUME: (Role.AUTHOR, Role.EDITOR),
    Item.Kind.ORAL_HISTORY: (Role.INTERVIEWEE, Role.NARRATOR),
    Item.Kind.DOCUMENTARY_VIDEO: (Role.DIRECTOR, Role.AUTHOR),
    Item.Kind.IMAGE_SET: (Role.PHOTOGRAPHER, Role.AUTHOR),
    Item.Kind.OTHER: (Role.AUTHOR, Role.EDITOR),
}

#: Kinds of edition (版本類型) found at the end of a Chinese edition statement,
#: longest first, with their English names for Chicago.
EDITION_KINDS = {
    "活字本": "movable-type ed.",
    "石印本": "lithographic ed.",
    "鉛印本": "letterpress ed.",
    "铅印本": "letterpress ed.",
    "影印本": "facsimile ed.",
    "油印本": "mimeograph ed.",
    "套印本": "multicolour woodblock ed.",
    "刻本": "woodblock ed.",
    "刊本": "woodblock ed.",
    "抄本": "manuscript copy",
    "鈔本": "manuscript copy",
    "钞本": "manuscript copy",
    "寫本": "manuscript",
    "写本": "manuscript",
    "稿本": "manuscript draft",
}

#: The fixed words of GB/T citations in each script.
GBT_WORDS = {
    "hant": {
        "et_al": "等",
        "interviewer": "採訪",
        "place_unknown": "[出版地不詳]",
        "publisher_unknown": "[出版者不詳]",
        "year_unknown": "[出版年不詳]",
    },
    "hans": {
        "et_al": "等",
        "interviewer": "采访",
        "place_unknown": "[出版地不详]",
        "publisher_unknown": "[出版者不详]",
        "year_unknown": "[出版年不详]",
    },
}

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

#: A dynasty written before a name: 〔清〕, (宋), [明], 【元】, （清）.
_DYNASTY_PREFIX = re.compile(r"^\s*[〔(（\[【]\s*[^〕)）\]】]{1,4}\s*[〕)）\]】]\s*")
#: ISO 8601 dates as records write them: 2026, 2026-11, 2026-11-02.
_ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_BIBTEX_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_:-]")
_BIBTEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "$": r"\$",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


# ---------------------------------------------------------------------------
# What the record says, read once
# ---------------------------------------------------------------------------


@dataclass
class _Name:
    zh: str
    en: str = ""
    organisation: bool = False

    @property
    def chicago(self) -> str:
        """``Ou Shizi 區適子``: the English form, then the name as written."""
        if self.en and self.en != self.zh:
            return f"{self.en} {self.zh}"
        return self.zh


@dataclass
class _Date:
    text: str = ""
    year_from: int | None = None
    year_to: int | None = None
    approximate: bool = False
    iso: tuple[int, int | None, int | None] | None = None

    @property
    def exact_year(self) -> int | None:
        if self.iso:
            return self.iso[0]
        if self.year_from is not None and self.year_from == self.year_to:
            return None if self.approximate else self.year_from
        return None


@dataclass
class _Record:
    item: Item
    script: str
    authors: list[_Name] = field(default_factory=list)
    interviewers: list[_Name] = field(default_factory=list)
    publishers: list[_Name] = field(default_factory=list)
    date: _Date = field(default_factory=_Date)
    edition_kind: str = ""
    publication_place: _Name | None = None


def _clean_name(name: str) -> str:
    return _DYNASTY_PREFIX.sub("", name or "").strip()


def _name(agent: Agent) -> _Name:
    return _Name(
        zh=_clean_name(agent.name),
        en=agent.name_en.strip(),
        organisation=agent.kind == Agent.Kind.ORGANISATION,
    )


def _script(text: str) -> str:
    """``hans`` when the text is Simplified, else ``hant`` (the archive's default)."""
    if convert_for_display(text, "hans") != text:
        return "hant"
    if convert_for_display(text, "hant") != text:
        return "hans"
    return "hant"


def _roles(item: Item) -> list[tuple[str, Agent]]:
    """(role, agent) of the work, then of the item, each once, in their order."""
    pairs: list[tuple[str, Agent]] = []
    seen = set()
    sources = []
    if item.work_id:
        sources.append(item.work.work_agents.select_related("agent"))
    sources.append(item.item_agents.select_related("agent"))
    for source in sources:
        for link in source:
            key = (link.role, link.agent_id)
            if key not in seen:
                seen.add(key)
                pairs.append((link.role, link.agent))
    return pairs


def _date(item: Item) -> _Date:
    source = item
    if not (item.date_text or item.year_from) and item.work_id:
        source = item.work
    text = (source.date_text or "").strip()
    iso = None
    match = _ISO_DATE.match(text)
    if match:
        iso = (
            int(match.group(1)),
            int(match.group(2)) if match.group(2) else None,
            int(match.group(3)) if match.group(3) else None,
        )
    return _Date(
        text=text,
        year_from=source.year_from,
        year_to=source.year_to,
        approximate=source.date_approximate,
        iso=iso,
    )


def _edition_kind(edition: str) -> str:
    for kind in EDITION_KINDS:
        if kind in edition:
            return kind
    return ""


def _place_from_edition(edition: str, date_text: str, publisher: str) -> str:
    """The place in a catalogue's edition statement: 清光緒十年|廣州|粵藏堂|刻本."""
    if not (edition and publisher) or publisher not in edition:
        return ""
    before = edition[: edition.index(publisher)]
    if date_text and before.startswith(date_text):
        before = before[len(date_text) :]
    elif "年" in before:
        before = before[before.rindex("年") + 1 :]
    before = before.strip(" ,，、:：")
    # A place name, not a sentence: a few Han characters only.
    return before if re.fullmatch(r"[\u3400-\u9fff]{1,8}", before) else ""


def _record(item: Item) -> _Record:
    record = _Record(item=item, script=_script(item.title))
    pairs = _roles(item)
    for role in PRIMARY_ROLES.get(item.kind, (Role.AUTHOR,)):
        record.authors = [_name(a) for r, a in pairs if r == role]
        if record.authors:
            break
    record.interviewers = [_name(a) for r, a in pairs if r == Role.INTERVIEWER]
    record.publishers = [_name(a) for r, a in pairs if r == Role.PUBLISHER]
    record.date = _date(item)
    edition = item.work.edition if item.work_id else ""
    record.edition_kind = _edition_kind(edition)
    if record.publishers:
        place = _place_from_edition(edition, record.date.text, record.publishers[0].zh)
        if place:
            known = item.places.filter(name=place).first()
            record.publication_place = _Name(
                zh=place, en=known.name_en if known else ""
            )
    return record


def _title_parts(item: Item) -> tuple[str, str]:
    """(title, other title information): ``三字經 卷上`` → (``三字經``, ``卷上``)."""
    title = item.title.strip()
    work = item.work.title.strip() if item.work_id else ""
    if work and title.startswith(work) and title != work:
        rest = title[len(work) :].strip(" ,，、:：·")
        if rest:
            return work, rest
    return title, ""


def _citation_place() -> dict[str, str]:
    return getattr(settings, "ARCHIVE_CITATION_PLACE", DEFAULT_CITATION_PLACE)


def _institution_name(item: Item, script: str) -> str:
    institution = item.institution
    if script == "hans" and institution.name_hans:
        return institution.name_hans
    return institution.name


def _collection_name(item: Item, script: str) -> str:
    collection = item.collection
    if collection is None:
        return ""
    if script == "hans" and collection.title_hans:
        return collection.title_hans
    return collection.title


# ---------------------------------------------------------------------------
# GB/T 7714-2015
# ---------------------------------------------------------------------------


def _gbt_names(names: list[_Name], words: dict[str, str]) -> str:
    shown = ", ".join(n.zh for n in names[:3])
    return f"{shown}, {words['et_al']}" if len(names) > 3 else shown


def _gbt_year(date: _Date, words: dict[str, str]) -> str:
    if date.iso:
        return str(date.iso[0])
    if date.year_from is None:
        return f"[{date.text}]" if date.text else words["year_unknown"]
    if date.year_to is not None and date.year_to != date.year_from:
        year = f"[{date.year_from}-{date.year_to}]"
    elif date.approximate:
        year = f"[{date.year_from}]"
    else:
        year = str(date.year_from)
    if date.text and date.text != str(date.year_from):
        year += f"({date.text})"
    return year


def citation_gbt7714(item: Item, url: str, accessed: dt.date) -> str:
    """The item as a GB/T 7714-2015 reference to an online resource (module notes).

    Example: ``區適子. 三字經: 卷上[M/OL]. 刻本. 廣州: 粵藏堂,
    1884(清光緒十年)[2026-11-29]. https://…/items/gzdd-sanzijing-v1/.``
    """
    record = _record(item)
    words = GBT_WORDS[record.script]
    parts: list[str] = []
    if record.authors:
        parts.append(_gbt_names(record.authors, words))
    title, other = _title_parts(item)
    code = GBT_TYPE.get(item.kind, "Z")
    parts.append(f"{title}: {other}[{code}/OL]" if other else f"{title}[{code}/OL]")
    if record.interviewers:
        parts.append(
            f"{_gbt_names(record.interviewers, words)}, {words['interviewer']}"
        )
    if item.kind == Item.Kind.BOOK_VOLUME:
        if record.edition_kind:
            parts.append(record.edition_kind)
        place = (
            record.publication_place.zh
            if record.publication_place
            else words["place_unknown"]
        )
        publisher = (
            record.publishers[0].zh if record.publishers else words["publisher_unknown"]
        )
    else:
        place = _citation_place()[record.script]
        publisher = _institution_name(item, record.script)
    year = _gbt_year(record.date, words)
    parts.append(f"{place}: {publisher}, {year}[{accessed.isoformat()}]")
    parts.append(url)
    return ". ".join(parts) + "."


# ---------------------------------------------------------------------------
# Chicago, 17th edition, notes and bibliography
# ---------------------------------------------------------------------------


def _chicago_names(names: list[_Name], *, note: bool) -> str:
    shown = [n.chicago for n in names]
    if note and len(shown) > 3:
        return f"{shown[0]} et al."
    if len(shown) <= 2:
        return " and ".join(shown)
    return ", ".join(shown[:-1]) + ", and " + shown[-1]


def _chicago_date(date: _Date) -> str:
    if date.iso:
        year, month, day = date.iso
        if month and day:
            return f"{MONTHS[month - 1]} {day}, {year}"
        if month:
            return f"{MONTHS[month - 1]} {year}"
        return str(year)
    if date.year_from is None:
        return "n.d."
    if date.year_to is not None and date.year_to != date.year_from:
        return f"{date.year_from}–{date.year_to}"
    return f"ca. {date.year_from}" if date.approximate else str(date.year_from)


def _chicago_accessed(accessed: dt.date) -> str:
    return f"{MONTHS[accessed.month - 1]} {accessed.day}, {accessed.year}"


def _chicago_title(item: Item, *, quoted: bool) -> str:
    title = f"“{item.title}”" if quoted else item.title
    return f"{title} [{item.title_en}]" if item.title_en else title


def _chicago_genre(item: Item, record: _Record) -> str:
    if item.kind == Item.Kind.ORAL_HISTORY:
        if record.interviewers:
            return "Interview by " + _chicago_names(record.interviewers, note=False)
        return "Interview"
    if item.kind == Item.Kind.DOCUMENTARY_VIDEO:
        return "Video"
    if item.kind == Item.Kind.IMAGE_SET:
        return "Photographs"
    return ""


def citation_chicago(
    item: Item, url: str, accessed: dt.date, *, form: str = "bibliography"
) -> str:
    """The item in Chicago notes-bibliography style: its bibliography entry or note.

    Args:
        item: the item.
        url: its permanent URL.
        accessed: when the reader consulted it.
        form: ``"bibliography"`` (the default) or ``"note"`` (a first full note).
    """
    note = form == "note"
    record = _record(item)
    place = _citation_place()["en"]
    sep = ", " if note else ". "
    parts: list[str] = []
    if record.authors:
        parts.append(_chicago_names(record.authors, note=note))
    if item.kind == Item.Kind.BOOK_VOLUME:
        title = _chicago_title(item, quoted=False)
        edition = EDITION_KINDS.get(record.edition_kind, "")
        pub_place = (
            (record.publication_place.en or record.publication_place.zh)
            if record.publication_place
            else "n.p."
        )
        publisher = (
            (record.publishers[0].en or record.publishers[0].zh)
            if record.publishers
            else "n.p."
        )
        imprint = f"{pub_place}: {publisher}, {_chicago_date(record.date)}"
        if note:
            head = f"{title}, {edition}" if edition else title
            parts.append(f"{head} ({imprint})")
        else:
            parts.append(title)
            if edition:
                parts.append(edition[0].upper() + edition[1:])
            parts.append(imprint)
    else:
        parts.append(_chicago_title(item, quoted=True))
        genre = _chicago_genre(item, record)
        date = _chicago_date(record.date)
        if genre:
            genre = genre[0].lower() + genre[1:] if note else genre
            parts.append(f"{genre}, {date}")
        else:
            parts.append(date)
        holding = [
            item.collection.title_en or item.collection.title
            if item.collection
            else "",
            item.institution.name_en or item.institution.name,
            place,
        ]
        parts.append(", ".join(h for h in holding if h))
    parts.append(f"{'accessed' if note else 'Accessed'} {_chicago_accessed(accessed)}")
    parts.append(url)
    return _join(parts, sep) + "."


def _join(parts: list[str], sep: str) -> str:
    """Join with ``sep``, never doubling the period an abbreviation ends with."""
    text = ""
    for part in parts:
        if text:
            text += sep[1:] if sep.startswith(".") and text.endswith(".") else sep
        text += part
    return text


# ---------------------------------------------------------------------------
# BibTeX
# ---------------------------------------------------------------------------


def bibtex_escape(text: str) -> str:
    """Escape TeX's special characters so any text is a safe BibTeX field value."""
    return "".join(_BIBTEX_SPECIAL.get(c, c) for c in str(text))


def bibtex_key(item: Item) -> str:
    """The entry key: the public identifier, reduced to safe ASCII."""
    return _BIBTEX_KEY_UNSAFE.sub("", item.public_id) or "item"


def citation_bibtex(item: Item, url: str, accessed: dt.date) -> str:
    """The item as a BibTeX entry (``@book`` for volumes, ``@misc`` otherwise).

    Fields are those BibTeX and biblatex both read (``url``/``urldate`` for
    biblatex and natbib styles that show them).
    """
    record = _record(item)
    entry = "book" if item.kind == Item.Kind.BOOK_VOLUME else "misc"
    fields: list[tuple[str, str]] = []

    def names(values: list[_Name]) -> str:
        return " and ".join("{" + bibtex_escape(n.zh) + "}" for n in values)

    if record.authors:
        fields.append(("author", names(record.authors)))
    fields.append(("title", bibtex_escape(item.title)))
    if record.date.exact_year or record.date.year_from is not None:
        fields.append(("year", str(record.date.exact_year or record.date.year_from)))
    if record.date.iso and record.date.iso[1]:
        fields.append(("date", record.date.text))
    if entry == "book":
        if item.volume_number:
            fields.append(("volume", str(item.volume_number)))
        if record.edition_kind:
            fields.append(("edition", bibtex_escape(record.edition_kind)))
        if record.publishers:
            fields.append(("publisher", names(record.publishers[:1])))
        if record.publication_place:
            fields.append(("address", bibtex_escape(record.publication_place.zh)))
    else:
        if record.interviewers:
            fields.append(("editor", names(record.interviewers)))
            fields.append(("editortype", "interviewer"))
        fields.append(("howpublished", bibtex_escape(GENRE.get(item.kind, ""))))
        fields.append(("organization", bibtex_escape(item.institution.name)))
    notes = []
    if record.date.text and not record.date.iso:
        notes.append(record.date.text)
    library = [item.institution.name]
    if item.dadian_ref:
        library.append(item.dadian_ref)
    fields.append(("library", bibtex_escape(", ".join(library))))
    if item.languages:
        fields.append(("language", bibtex_escape(", ".join(item.languages))))
    if notes:
        fields.append(("note", bibtex_escape("; ".join(notes))))
    # A URL is verbatim in biblatex; braces would unbalance the entry.
    fields.append(("url", url.replace("{", "%7B").replace("}", "%7D")))
    fields.append(("urldate", accessed.isoformat()))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{entry}{{{bibtex_key(item)},\n{body}\n}}\n"


# ---------------------------------------------------------------------------
# CSL-JSON
# ---------------------------------------------------------------------------


def _csl_date(date: _Date) -> dict | None:
    if date.iso:
        parts = [p for p in date.iso if p]
        return {"date-parts": [parts]}
    if date.year_from is None:
        return {"literal": date.text} if date.text else None
    value: dict = {"date-parts": [[date.year_from]]}
    if date.year_to is not None and date.year_to != date.year_from:
        value["date-parts"].append([date.year_to])
    if date.approximate:
        value["circa"] = True
    return value


def citation_csl(item: Item, url: str, accessed: dt.date) -> dict:
    """The item as one CSL-JSON item (CSL 1.0.2), for Zotero, Pandoc and citeproc."""
    record = _record(item)
    kind = CSL_TYPE.get(item.kind, "document")
    data: dict = {"id": item.public_id, "type": kind, "title": item.title}
    if record.authors:
        data["author"] = [{"literal": n.zh} for n in record.authors]
    if record.interviewers:
        data["interviewer"] = [{"literal": n.zh} for n in record.interviewers]
    issued = _csl_date(record.date)
    if issued:
        data["issued"] = issued
    if kind == "book":
        if item.volume_number:
            data["volume"] = str(item.volume_number)
        if record.edition_kind:
            data["edition"] = record.edition_kind
        if record.publishers:
            data["publisher"] = record.publishers[0].zh
        if record.publication_place:
            data["publisher-place"] = record.publication_place.zh
    else:
        data["genre"] = GENRE.get(item.kind, "")
    data["archive"] = item.institution.name
    data["archive-place"] = _citation_place()[record.script]
    if item.collection_id:
        data["archive_collection"] = item.collection.title
    if item.dadian_ref:
        data["archive_location"] = item.dadian_ref
    if item.languages:
        data["language"] = item.languages[0]
    if record.date.text and not record.date.iso:
        data["note"] = record.date.text
    data["license"] = item.rights_uri
    data["URL"] = url
    data["accessed"] = {"date-parts": [[accessed.year, accessed.month, accessed.day]]}
    return data


def gbt_language(item: Item) -> str:
    """The language tag of the item's GB/T citation (the script of its title)."""
    return "zh-Hans" if _script(item.title) == "hans" else "zh-Hant"
