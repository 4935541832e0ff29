"""Turn the date text of archival records into sortable year ranges.

Archival records keep the date exactly as the source writes it (清光緒十年,
民國二十七年, 1930年代, c. 1938 ...) and, beside it, an inclusive range of
proleptic Gregorian years that search and sorting can use.  This module derives
that range.  It is deliberately strict: when the text cannot be read without
guessing, :func:`parse_date` raises :class:`DateParseError` and says why, so
that a cataloguer fixes the record instead of the archive silently storing a
wrong year.  The module is pure Python (no Django) so that ingest scripts,
migrations and tests can use it anywhere.

Input is normalised first: NFKC (full-width digits, letters, spaces and
punctuation become ASCII), Simplified characters used by the grammar become
Traditional (光绪 → 光緒, 万历 → 萬曆, 民国 → 民國, 世纪 → 世紀 ...), and
spaces next to Chinese characters are dropped.

Forms understood, and the conventions chosen:

* Ming and Qing reign eras (洪武 ... 崇禎, 天命 ... 宣統), optionally after a
  dynasty prefix (明, 大明, 皇明, 明朝, 清, 大清, 清朝, 國朝).  Year N of an
  era is ``first year + N - 1`` (元年 is year 1).  A Chinese year is mapped
  to the Gregorian year in which it began; a month or day after 年 is checked
  (lunar month 1-12, day 1-30) but not converted, so 光緒十年十二月 is 1884
  even though most of that lunar month fell in January 1885.  An era alone,
  or with 年間, is the whole reign.  An era with a sexagenary year (光緒甲申)
  is the one year of the reign with that cyclic name; none, or two (康熙 has
  61 years, so 康熙壬寅 is both 1662 and 1722), is an error.  The Later Jin
  eras 天命, 天聰 and 崇德 count as Qing eras.
* A dynasty alone is its conventional span: 北宋 960-1127, 南宋 1127-1279,
  宋 960-1279, 元 1271-1368, 明 1368-1644, 清 1644-1911.  Vague periods
  (清初, 清末, 晚清, 明末, 光緒末年, 19世紀末, late 19th century) are refused.
* Republic of China: 民國N年 / 中華民國N年 is ``1911 + N``; post-1949 years
  (民國一百年 → 2011) are fine.  Months and days are Gregorian and checked.
  民國 alone is refused: the Republic has no single agreed end year.
* Gregorian years: 1938, 1938年, 公元1884年, 西元1884年, AD 1884, 一九三八年,
  with optional month and day (1938年5月1日, 1938-05-01, 1938/5/1, May 1938,
  1 May 1938, May 1, 1938), all checked against the calendar.  Without a
  公元/西元/AD marker a Gregorian year needs three or four digits (or a
  Chinese numeral in the thousands, 一千九百三十八年), so a bare "27" or
  "十五年" is refused rather than read as year 27 or 15.  Day-first numeric
  dates (1/5/1938) are refused as ambiguous; 1880-12 is December 1880, and
  1880-90 is refused (neither a month nor a full range).  BCE is not
  supported.
* Decades: 1930年代, 1930s, 一九三〇年代 → 1930-1939; 二十世紀三十年代 →
  1930-1939.  A decade without its century (三十年代) is refused.
* Centuries use the strict convention: the Nth century is the years
  ``(N - 1) * 100 + 1`` to ``N * 100``, so 19世紀 / 十九世紀 / 19th century
  is 1801-1900.
* Ranges: 1880-1890, 1880–1890, 1880至1890, 1880年至1890年, 1880 to 1890.
  ``year_from`` is the start of the first part and ``year_to`` the end of the
  second.  A second part that is a bare year number inherits the era of the
  first (光緒十年至十五年 → 1884-1889; 民國二十年至三十年 → 1931-1941).
  Open (1938-, 1938至今) and reversed ranges are errors.
* A Gregorian equivalent in brackets, 光緒十年（1884年）, must agree with the
  main date; if it does not, that is an error.
* Approximation markers 約, 大約, 大概, circa, c., ca., approx., a trailing ?,
  左右 or 前後 set ``approximate`` without widening the range.
* Explicit years after next year (today's year + 1) are errors; a decade or
  century must have begun by then.
* Chinese numerals: 〇零一二三四五六七八九十百千, 兩, 廿 (20), 卅 (30),
  卌 (40), financial forms (壹貳參...), digit-by-digit years (一九三八), and
  ASCII or full-width Arabic digits.
"""

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

__all__ = ["DateParseError", "ParsedDate", "parse_date", "parse_date_or_none"]


@dataclass(frozen=True)
class ParsedDate:
    """A date text and the inclusive range of Gregorian years it denotes.

    Attributes:
        text: The input exactly as given (not normalised), to store verbatim.
        year_from: First year of the range, inclusive, proleptic Gregorian.
        year_to: Last year of the range, inclusive; equals ``year_from`` for a
            single year.
        approximate: True when the source itself marks the date as
            approximate (約, circa, c., ca., ?).  The range is not widened.
    """

    text: str
    year_from: int
    year_to: int
    approximate: bool = False

    def __post_init__(self) -> None:
        if self.year_from > self.year_to:
            raise ValueError(
                f"year_from ({self.year_from}) is after year_to ({self.year_to})"
            )


class DateParseError(ValueError):
    """Raised when a date text cannot be turned into a year range without guessing.

    Attributes:
        text: The input that could not be parsed, as given.
        reason: What could not be understood, in English.
    """

    def __init__(self, text: str, reason: str = "not a recognised date form") -> None:
        self.text = text
        self.reason = reason
        super().__init__(f"cannot parse date {text!r}: {reason}")

    def __reduce__(self):  # keep the exception picklable (Celery results)
        return (type(self), (self.text, self.reason))


class _Reject(Exception):
    """Internal: a fragment was not understood; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Span:
    year_from: int
    year_to: int
    approximate: bool = False
    # Reign era (or 民國) of the text, so that a following bare year can
    # inherit it in a range such as 光緒十年至十五年.
    era: str | None = None


# --------------------------------------------------------------------------
# Reference tables
# --------------------------------------------------------------------------

_MING = "明"
_QING = "清"


@dataclass(frozen=True)
class _Era:
    name: str
    dynasty: str
    first: int
    length: int

    @property
    def last(self) -> int:
        return self.first + self.length - 1


_ERAS: dict[str, _Era] = {
    era.name: era
    for era in (
        _Era("洪武", _MING, 1368, 31),
        _Era("建文", _MING, 1399, 4),
        _Era("永樂", _MING, 1403, 22),
        _Era("洪熙", _MING, 1425, 1),
        _Era("宣德", _MING, 1426, 10),
        _Era("正統", _MING, 1436, 14),
        _Era("景泰", _MING, 1450, 8),
        _Era("天順", _MING, 1457, 8),
        _Era("成化", _MING, 1465, 23),
        _Era("弘治", _MING, 1488, 18),
        _Era("正德", _MING, 1506, 16),
        _Era("嘉靖", _MING, 1522, 45),
        _Era("隆慶", _MING, 1567, 6),
        _Era("萬曆", _MING, 1573, 48),
        _Era("泰昌", _MING, 1620, 1),
        _Era("天啓", _MING, 1621, 7),
        _Era("崇禎", _MING, 1628, 17),
        _Era("天命", _QING, 1616, 11),
        _Era("天聰", _QING, 1627, 10),
        _Era("崇德", _QING, 1636, 8),
        _Era("順治", _QING, 1644, 18),
        _Era("康熙", _QING, 1662, 61),
        _Era("雍正", _QING, 1723, 13),
        _Era("乾隆", _QING, 1736, 60),
        _Era("嘉慶", _QING, 1796, 25),
        _Era("道光", _QING, 1821, 30),
        _Era("咸豐", _QING, 1851, 11),
        _Era("同治", _QING, 1862, 13),
        _Era("光緒", _QING, 1875, 34),
        _Era("宣統", _QING, 1909, 3),
    )
}

# Dynasty prefixes that may stand before a reign era; None accepts either.
_ERA_PREFIXES: dict[str, str | None] = {
    "大明": _MING,
    "皇明": _MING,
    "明朝": _MING,
    "明": _MING,
    "大清": _QING,
    "清朝": _QING,
    "清": _QING,
    "國朝": None,
}

# Dynasties that may stand alone, with their conventional spans.
_DYNASTIES: dict[str, tuple[int, int]] = {
    "北宋": (960, 1127),
    "南宋": (1127, 1279),
    "宋": (960, 1279),
    "元": (1271, 1368),
    "大明": (1368, 1644),
    "皇明": (1368, 1644),
    "明": (1368, 1644),
    "大清": (1644, 1911),
    "清": (1644, 1911),
}

_STEMS = "甲乙丙丁戊己庚辛壬癸"
_BRANCHES = "子丑寅卯辰巳午未申酉戌亥"

_ROC_OFFSET = 1911

# Simplified and variant characters mapped to the forms the grammar uses.
_CHAR_MAP = str.maketrans(
    {
        "乐": "樂",
        "庆": "慶",
        "历": "曆",
        "歷": "曆",
        "万": "萬",
        "启": "啓",
        "啟": "啓",
        "祯": "禎",
        "顺": "順",
        "统": "統",
        "聪": "聰",
        "丰": "豐",
        "绪": "緒",
        "国": "國",
        "华": "華",
        "纪": "紀",
        "约": "約",
        "间": "間",
        "号": "號",
        "闰": "閏",
        "腊": "臘",
        "两": "兩",
        "后": "後",
        "时": "時",
        "详": "詳",
        "无": "無",
        "叶": "葉",
        "现": "現",
        "○": "〇",
        "◯": "〇",
        "壹": "一",
        "貳": "二",
        "贰": "二",
        "參": "三",
        "叁": "三",
        "肆": "四",
        "伍": "五",
        "陸": "六",
        "陆": "六",
        "柒": "七",
        "捌": "八",
        "玖": "九",
        "拾": "十",
        "佰": "百",
        "仟": "千",
    }
)

_CN_DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "兩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_TENS = {"廿": 20, "卅": 30, "卌": 40}

_MONTH_NAMES = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}

_LUNAR_MONTH_NAMES = {"正": 1, "冬": 11, "臘": 12}

_OPEN_ENDS = frozenset(
    {"今", "現在", "現今", "目前", "present", "now", "today", "date"}
)

# --------------------------------------------------------------------------
# Regular expressions
# --------------------------------------------------------------------------

_NUM = "[0-9〇零一二三四五六七八九十百千兩廿卅卌]+"
_NUM_START_RE = re.compile("[0-9〇零一二三四五六七八九十百千兩廿卅卌]|元年")
_ERA_NAMES = "|".join(_ERAS)
_PREFIX_NAMES = "|".join(sorted(_ERA_PREFIXES, key=len, reverse=True))
_DYNASTY_NAMES = "|".join(sorted(_DYNASTIES, key=len, reverse=True))
_MONTH_NAME_RE = "|".join(sorted(_MONTH_NAMES, key=len, reverse=True))
_ORDINAL = "(?:st|nd|rd|th)"

_ERA_RE = re.compile(
    rf"^(?P<prefix>{_PREFIX_NAMES})?(?P<era>{_ERA_NAMES})(?P<rest>.*)$"
)
_ROC_RE = re.compile(r"^(?:中華民國|民國)(?P<rest>.*)$")
_DYNASTY_RE = re.compile(rf"^(?P<name>{_DYNASTY_NAMES})(?:朝|代)?$")
_WHOLE_ERA_RE = re.compile(r"^(?:年間|間|朝|時期)?$")
_YEAR_IN_ERA_RE = re.compile(
    rf"^(?:(?P<first>元)|(?P<num>{_NUM}))(?P<nian>年)?(?P<md>.*)$"
)
_CYCLIC_IN_ERA_RE = re.compile(
    rf"^(?P<stem>[{_STEMS}])(?P<branch>[{_BRANCHES}])(?P<nian>年)?(?P<md>.*)$"
)
_LUNAR_MD_RE = re.compile(
    rf"^(?P<leap>閏)?(?P<month>正|冬|臘|{_NUM})月"
    rf"(?:(?P<early>初)?(?P<day>{_NUM})(?:日|號)?)?$"
)
_GREGORIAN_MD_RE = re.compile(rf"^(?P<month>{_NUM})月(?:(?P<day>{_NUM})(?:日|號)?)?$")
_GREGORIAN_RE = re.compile(
    rf"^(?P<prefix>公元|西元|A\.?D\.?\s*)?(?P<year>{_NUM})"
    rf"(?:\s*(?P<suffix>A\.?D\.?|C\.?E\.?))?(?:(?P<nian>年)(?P<md>.*))?$",
    re.IGNORECASE,
)
_ISO_RE = re.compile(
    r"^(?P<year>[0-9]{4})(?P<sep>[-/.])(?P<month>[0-9]{1,2})"
    r"(?:(?P=sep)(?P<day>[0-9]{1,2}))?$"
)
_DAY_FIRST_RE = re.compile(r"^[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{2,4}$")
_ENGLISH_DMY_RE = re.compile(
    rf"^(?P<day>[0-9]{{1,2}}){_ORDINAL}?\s+(?:of\s+)?(?P<month>{_MONTH_NAME_RE})\.?,?"
    rf"\s+(?P<year>[0-9]{{3,4}})$",
    re.IGNORECASE,
)
_ENGLISH_MDY_RE = re.compile(
    rf"^(?P<month>{_MONTH_NAME_RE})\.?\s+(?P<day>[0-9]{{1,2}}){_ORDINAL}?,?"
    rf"\s+(?P<year>[0-9]{{3,4}})$",
    re.IGNORECASE,
)
_ENGLISH_MY_RE = re.compile(
    rf"^(?P<month>{_MONTH_NAME_RE})\.?,?\s+(?P<year>[0-9]{{3,4}})$", re.IGNORECASE
)
_ENGLISH_DECADE_RE = re.compile(r"^(?:the\s+)?(?P<year>[0-9]{3,4})'?s$", re.IGNORECASE)
_CHINESE_DECADE_RE = re.compile(rf"^(?:公元|西元)?(?P<year>{_NUM})年代$")
_CHINESE_CENTURY_RE = re.compile(
    rf"^(?:公元|西元)?(?P<century>{_NUM})世紀(?:(?P<decade>{_NUM})年代)?$"
)
_ENGLISH_CENTURY_RE = re.compile(
    r"^(?:the\s+)?(?P<century>[0-9]{1,2})(?P<suffix>st|nd|rd|th)[\s-]+century"
    r"(?:\s+(?:AD|CE))?$",
    re.IGNORECASE,
)
_PAREN_RE = re.compile(r"^(?P<main>[^()]+)\((?P<alt>[^()]+)\)$")
_SEPARATOR_RE = re.compile(
    r"\s*(?:至|到|迄|—+|―|–|‐|‑|−|~|〜|-+)\s*|\s+(?:to|until|till)\s+",
    re.IGNORECASE,
)
_ISO_SHAPE_RE = re.compile(r"^[0-9]{4}([-/.])[0-9]{1,2}(?:\1[0-9]{1,2})?$")
_UNKNOWN_DIGITS_RE = re.compile(r"^[0-9]{1,3}(?:[?xXuU]+|-+)$")
_APPROX_PREFIX_RE = re.compile(
    r"^(?:大約|大概|約莫|約|circa|circ\.|approximately|approx\.?|ca\.|ca(?=[\s0-9])"
    r"|c\.)\s*",
    re.IGNORECASE,
)
_APPROX_SUFFIX_RE = re.compile(r"\s*(?:\(\?\)|\?|左右|前後)$")
_UNKNOWN_RE = re.compile(
    r"不詳|未詳|不明|待考|無考|失考|無日期|無年份"
    r"|^(?:unknown|undated|no date|n\.\s?d\.?|s\.\s?d\.?|\?+)$",
    re.IGNORECASE,
)
_BCE_RE = re.compile(r"公元前|西元前|\bB\.?C\.?(?:E\.?)?(?![a-z])", re.IGNORECASE)
_ILLEGIBLE_RE = re.compile(r"某|□|■|〼|幾|若干|\?|[xX]{2}")
_VAGUE_RE = re.compile(
    r"初|末|晚|早|中葉|中期|前期|後期|上半|下半|前半|後半"
    r"|\b(?:early|late|mid|middle|end|beginning|turn)\b|^mid-",
    re.IGNORECASE,
)
_CYCLIC_ONLY_RE = re.compile(rf"^[{_STEMS}][{_BRANCHES}]")
_BARE_NUMBER_RE = re.compile(rf"^(?:{_NUM}|元)年?$")


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def parse_date(text: str) -> ParsedDate:
    """Parse archival date text into an inclusive Gregorian year range.

    The source's own wording is kept in ``ParsedDate.text``; the year range is
    derived from it so that records can be sorted and filtered by date.  The
    parser never guesses: anything vague (清末), unknown (不詳), ambiguous
    (康熙壬寅, 1/5/1938) or impossible (光緒四十年, 1938-02-30) is refused.

    Args:
        text: The date as the source writes it, e.g. ``"清光緒十年"``,
            ``"民国27年"``, ``"1930年代"``, ``"c. 1938"`` or ``"1880-1890"``.

    Returns:
        The parsed date: ``text`` as given, ``year_from`` and ``year_to``
        (inclusive) and whether the source marked it as approximate.

    Raises:
        DateParseError: If the text is empty or cannot be understood without
            guessing; the message names the input and the problem.
        TypeError: If ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"date text must be a string, not {type(text).__name__}")
    normalised = _normalise(text)
    if not normalised:
        raise DateParseError(text, "the date text is empty")
    try:
        span = _parse_text(normalised)
        _check_span(span)
    except _Reject as err:
        raise DateParseError(text, err.reason) from None
    return ParsedDate(
        text=text,
        year_from=span.year_from,
        year_to=span.year_to,
        approximate=span.approximate,
    )


def parse_date_or_none(text: str | None) -> ParsedDate | None:
    """Parse date text, returning None instead of raising when it cannot.

    Useful where the year range is optional, e.g. when importing legacy
    records in bulk: an unparseable date leaves the range empty while the
    source text is still stored.

    Args:
        text: The date text; None or blank text gives None.

    Returns:
        The parsed date, or None if ``text`` is None, blank or not parseable.
    """
    if text is None:
        return None
    try:
        return parse_date(text)
    except DateParseError:
        return None


# --------------------------------------------------------------------------
# Normalisation and helpers
# --------------------------------------------------------------------------


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_CHAR_MAP)
    text = re.sub(r"\s+", " ", text).strip()
    # Spaces next to Chinese characters carry no meaning (民國 二十七 年).
    return re.sub(r"\s*([^\x00-\x7f])\s*", r"\1", text)


def _latest_year() -> int:
    """The latest year a date may name: next year (records may be pre-dated)."""
    return date.today().year + 1


def _check_year(year: int) -> None:
    if year < 1:
        raise _Reject(f"year {year} is not a valid year (BCE is not supported)")
    if year > _latest_year():
        raise _Reject(f"year {year} is in the future")


def _check_period_start(start: int) -> None:
    if start > _latest_year():
        raise _Reject(f"the period starting in {start} is in the future")


def _check_span(span: _Span) -> None:
    if span.year_from < 1:
        raise _Reject("BCE dates are not supported")
    if span.year_from > _latest_year():
        raise _Reject(f"the period starting in {span.year_from} is in the future")


def _is_digit_sequence(text: str) -> bool:
    """True for digit-by-digit numbers (1938, 一九三八), which have no units."""
    if text.isascii():
        return text.isdigit()
    return all(ch in _CN_DIGITS and ch != "兩" for ch in text)


def _parse_number(text: str) -> int:
    """Read an Arabic or Chinese numeral; raise _Reject if it is malformed."""
    if text.isascii():
        if text.isdigit():
            return int(text)
        raise _Reject(f"{text!r} is not a number")
    if _is_digit_sequence(text):
        return int("".join(str(_CN_DIGITS[ch]) for ch in text))
    total = 0
    pending: int | None = None
    last_unit: int | None = None
    after_zero = False
    for i, ch in enumerate(text):
        if ch in _CN_TENS:
            if i != 0:
                raise _Reject(f"malformed Chinese numeral {text!r}")
            total, last_unit = _CN_TENS[ch], 10
        elif ch in _CN_UNITS:
            unit = _CN_UNITS[ch]
            if last_unit is not None and unit >= last_unit:
                raise _Reject(f"malformed Chinese numeral {text!r}")
            if pending is None:
                # 十五 = 15, 一百十 = 110: an implied 一 only before 十.
                if unit != 10 or (i > 0 and last_unit is None and not after_zero):
                    raise _Reject(f"malformed Chinese numeral {text!r}")
                pending = 1
            total += pending * unit
            pending, last_unit, after_zero = None, unit, False
        elif ch in _CN_DIGITS:
            value = _CN_DIGITS[ch]
            if value == 0:
                if last_unit is None or pending is not None or after_zero:
                    raise _Reject(f"malformed Chinese numeral {text!r}")
                after_zero = True
            elif pending is not None:
                raise _Reject(f"malformed Chinese numeral {text!r}")
            else:
                pending = value
        else:
            raise _Reject(f"malformed numeral {text!r}")
    if pending is not None:
        if last_unit is not None and last_unit > 10 and not after_zero:
            # 一百五 may mean 150 or 105 in speech: refuse.
            raise _Reject(f"ambiguous Chinese numeral {text!r}")
        total += pending
    elif after_zero:
        raise _Reject(f"malformed Chinese numeral {text!r}")
    return total


def _strip_approx(text: str) -> tuple[bool, str]:
    """Remove approximation markers; return (were there any, what remains)."""
    approximate = False
    while True:
        stripped = _APPROX_PREFIX_RE.sub("", text, count=1)
        stripped = _APPROX_SUFFIX_RE.sub("", stripped, count=1).strip()
        if stripped == text:
            return approximate, text
        approximate, text = True, stripped


def _cyclic_index(stem: str, branch: str) -> int:
    s, b = _STEMS.index(stem), _BRANCHES.index(branch)
    if s % 2 != b % 2:
        raise _Reject(f"{stem}{branch} is not a sexagenary (干支) year name")
    return next(n for n in range(60) if n % 10 == s and n % 12 == b)


def _check_gregorian_day(year: int, month: int, day: int | None) -> None:
    if not 1 <= month <= 12:
        raise _Reject(f"month {month} does not exist")
    if day is not None and not 1 <= day <= calendar.monthrange(year, month)[1]:
        raise _Reject(f"day {day} does not exist in {year}-{month:02d}")


def _gregorian_md(year: int, md: str) -> bool:
    """Check a 五月一日 tail against the Gregorian calendar; False if no match."""
    if not md:
        return True
    m = _GREGORIAN_MD_RE.match(md)
    if m is None:
        return False
    day = _parse_number(m["day"]) if m["day"] else None
    _check_gregorian_day(year, _parse_number(m["month"]), day)
    return True


def _lunar_md(md: str) -> bool:
    """Check a 三月初五日 tail of a Chinese-calendar year; False if no match."""
    if not md:
        return True
    m = _LUNAR_MD_RE.match(md)
    if m is None:
        return False
    month_text = m["month"]
    month = _LUNAR_MONTH_NAMES.get(month_text) or _parse_number(month_text)
    if not 1 <= month <= 12:
        raise _Reject(f"lunar month {month} does not exist")
    if m["day"]:
        day = _parse_number(m["day"])
        if not 1 <= day <= 30:
            raise _Reject(f"day {day} does not exist in a lunar month")
        if m["early"] and day > 10:
            raise _Reject(f"初 is only used for days 1-10, not {day}")
    return True


# --------------------------------------------------------------------------
# Parsers for single dates: each returns None if the text is not its form,
# and raises _Reject if it is its form but impossible.
# --------------------------------------------------------------------------


def _parse_era(text: str) -> _Span | None:
    m = _ERA_RE.match(text)
    if m is None:
        return None
    era = _ERAS[m["era"]]
    prefix = m["prefix"]
    if prefix and _ERA_PREFIXES[prefix] not in (None, era.dynasty):
        raise _Reject(
            f"{era.name} is a {_dynasty_label(era.dynasty)} reign era, "
            f"but the text names the {_dynasty_label(_ERA_PREFIXES[prefix])}"
        )
    rest = m["rest"]
    if _WHOLE_ERA_RE.match(rest):
        return _Span(era.first, era.last, era=era.name)

    ym = _YEAR_IN_ERA_RE.match(rest)
    if ym is not None:
        if (ym["first"] or ym["md"]) and not ym["nian"]:
            return None
        number = 1 if ym["first"] else _parse_number(ym["num"])
        if number < 1:
            raise _Reject(f"{era.name} has no year {number}")
        if number > era.length:
            raise _Reject(
                f"{era.name} has only {era.length} years ({era.first}-{era.last}), "
                f"so year {number} does not exist"
            )
        if not _lunar_md(ym["md"]):
            return None
        year = era.first + number - 1
        return _Span(year, year, era=era.name)

    cm = _CYCLIC_IN_ERA_RE.match(rest)
    if cm is not None:
        if cm["md"] and not cm["nian"]:
            return None
        index = _cyclic_index(cm["stem"], cm["branch"])
        name = cm["stem"] + cm["branch"]
        years = [y for y in range(era.first, era.last + 1) if (y - 4) % 60 == index]
        if not years:
            raise _Reject(f"{era.name} ({era.first}-{era.last}) has no {name} year")
        if len(years) > 1:
            listed = " and ".join(str(y) for y in years)
            raise _Reject(
                f"{era.name}{name} is ambiguous: {era.name} has two {name} years "
                f"({listed}); give the year number instead"
            )
        if not _lunar_md(cm["md"]):
            return None
        return _Span(years[0], years[0], era=era.name)
    return None


def _dynasty_label(dynasty: str | None) -> str:
    return {_MING: "Ming (明)", _QING: "Qing (清)"}.get(dynasty or "", "dynasty")


def _parse_roc(text: str) -> _Span | None:
    m = _ROC_RE.match(text)
    if m is None:
        return None
    rest = m["rest"]
    if _WHOLE_ERA_RE.match(rest):
        raise _Reject(
            "the Republic of China (民國) has no single agreed end year "
            "(1949 on the mainland, continuing in Taiwan); give a year"
        )
    ym = _YEAR_IN_ERA_RE.match(rest)
    if ym is None or ((ym["first"] or ym["md"]) and not ym["nian"]):
        return None
    number = 1 if ym["first"] else _parse_number(ym["num"])
    if number < 1:
        raise _Reject(f"民國 has no year {number}; 民國元年 is 1912")
    year = _ROC_OFFSET + number
    _check_year(year)
    if not _gregorian_md(year, ym["md"]):
        return None
    return _Span(year, year, era="民國")


def _parse_dynasty(text: str) -> _Span | None:
    m = _DYNASTY_RE.match(text)
    if m is None:
        return None
    first, last = _DYNASTIES[m["name"]]
    return _Span(first, last)


def _parse_iso(text: str) -> _Span | None:
    if _DAY_FIRST_RE.match(text):
        raise _Reject("day and month order is ambiguous; write the date as YYYY-MM-DD")
    m = _ISO_RE.match(text)
    if m is None:
        return None
    year, month = int(m["year"]), int(m["month"])
    if m["day"] is None and m["sep"] == "-" and month > 12:
        raise _Reject(
            f"{text} is neither a year-month (there is no month {month}) nor a "
            "range; write the end year in full, e.g. 1880-1890"
        )
    _check_year(year)
    _check_gregorian_day(year, month, int(m["day"]) if m["day"] else None)
    return _Span(year, year)


def _parse_english(text: str) -> _Span | None:
    m = (
        _ENGLISH_DMY_RE.match(text)
        or _ENGLISH_MDY_RE.match(text)
        or _ENGLISH_MY_RE.match(text)
    )
    if m is None:
        return None
    year = int(m["year"])
    _check_year(year)
    day = int(m["day"]) if "day" in m.groupdict() else None
    _check_gregorian_day(year, _MONTH_NAMES[m["month"].lower()], day)
    return _Span(year, year)


def _parse_gregorian(text: str) -> _Span | None:
    m = _GREGORIAN_RE.match(text)
    if m is None:
        return None
    year_text = m["year"]
    if year_text.isascii() and len(year_text) > 4:
        return None
    if _is_digit_sequence(year_text):
        plain = 3 <= len(year_text) <= 4  # 1938, 一九三八
    else:
        plain = "千" in year_text  # 一千九百三十八; never 十五 (year 15?)
    if not (plain or m["prefix"] or m["suffix"]):
        return None
    year = _parse_number(year_text)
    _check_year(year)
    if m["nian"] and not _gregorian_md(year, m["md"]):
        return None
    return _Span(year, year)


def _decade_span(start: int) -> _Span:
    if start % 10:
        raise _Reject(f"{start} does not start a decade (it should end in 0)")
    _check_period_start(start)
    return _Span(start, start + 9)


def _parse_decade(text: str) -> _Span | None:
    m = _ENGLISH_DECADE_RE.match(text)
    if m is not None:
        return _decade_span(int(m["year"]))
    m = _CHINESE_DECADE_RE.match(text)
    if m is None:
        return None
    year = _parse_number(m["year"])
    if year < 100:
        raise _Reject(
            f"a decade written {m['year']}年代 does not say its century; "
            "write 1930年代 or 二十世紀三十年代"
        )
    return _decade_span(year)


def _parse_century(text: str) -> _Span | None:
    m = _ENGLISH_CENTURY_RE.match(text)
    if m is not None:
        century = int(m["century"])
        expected = (
            "th"
            if 10 <= century % 100 <= 20
            else {1: "st", 2: "nd", 3: "rd"}.get(century % 10, "th")
        )
        if m["suffix"].lower() != expected:
            raise _Reject(f"{century}{m['suffix']} is not an ordinal number")
        decade = None
    else:
        m = _CHINESE_CENTURY_RE.match(text)
        if m is None:
            return None
        century = _parse_number(m["century"])
        decade = _parse_number(m["decade"]) if m["decade"] else None
    if century < 1:
        raise _Reject(f"there is no century {century}")
    if decade is None:
        start, end = (century - 1) * 100 + 1, century * 100
    elif decade % 10 or not 0 <= decade <= 90:
        raise _Reject(f"{decade}年代 is not a decade of a century")
    else:
        start = (century - 1) * 100 + decade
        end = start + 9
    _check_period_start(start)
    return _Span(start, end)


_UNRECOGNISED = "not a recognised date form"

_PARSERS = (
    _parse_iso,
    _parse_english,
    _parse_century,
    _parse_decade,
    _parse_gregorian,
    _parse_roc,
    _parse_era,
    _parse_dynasty,
)


def _diagnose(text: str) -> str:
    """Explain why text that no parser accepted was refused."""
    if _ILLEGIBLE_RE.search(text):
        return "part of the date is unspecified or illegible (某, □, ?)"
    if _VAGUE_RE.search(text):
        return (
            "it names a vague period (early, middle or late part of an era); "
            "such periods are deliberately not turned into years, so give an "
            "explicit year or range"
        )
    if _CYCLIC_ONLY_RE.match(text):
        return (
            "a sexagenary (干支) year repeats every 60 years, so it needs a "
            "reign era, e.g. 光緒甲申"
        )
    if _BARE_NUMBER_RE.match(text):
        return (
            "a bare year number needs its era or calendar (e.g. 光緒十年, "
            "民國十年, 公元九十年); Gregorian years without 公元/AD need 3-4 digits"
        )
    return _UNRECOGNISED


# --------------------------------------------------------------------------
# Whole texts: parenthesised equivalents and ranges
# --------------------------------------------------------------------------


def _parse_single(text: str) -> _Span:
    text = text.strip()
    if not text:
        raise _Reject("a date part is empty")
    if _UNKNOWN_RE.search(text):
        raise _Reject("the text says the date is unknown")
    if _BCE_RE.search(text):
        raise _Reject("BCE dates are not supported")
    approximate, core = _strip_approx(text)
    if not core:
        raise _Reject("there is only an approximation marker, no date")
    for parser in _PARSERS:
        span = parser(core)
        if span is not None:
            return _Span(span.year_from, span.year_to, approximate, span.era)
    raise _Reject(_diagnose(core))


def _parse_part(text: str) -> _Span:
    """One date, possibly followed by its equivalent in brackets."""
    m = _PAREN_RE.match(text)
    if m is None or m["alt"].strip() == "?":
        return _parse_single(text)
    main, alt = _parse_text(m["main"].strip()), _parse_text(m["alt"].strip())
    if (main.year_from, main.year_to) != (alt.year_from, alt.year_to):
        raise _Reject(
            f"the date ({_show(main)}) and its bracketed equivalent "
            f"({_show(alt)}) disagree"
        )
    return _Span(
        main.year_from, main.year_to, main.approximate or alt.approximate, main.era
    )


def _show(span: _Span) -> str:
    if span.year_from == span.year_to:
        return str(span.year_from)
    return f"{span.year_from}-{span.year_to}"


def _is_open_end(text: str) -> bool:
    _, core = _strip_approx(text)
    return not core or core.lower() in _OPEN_ENDS


def _parse_range_end(text: str, start: _Span) -> _Span:
    """Parse the end of a range; a bare year number inherits the start's era."""
    approx_prefix = _APPROX_PREFIX_RE.match(text)
    position = approx_prefix.end() if approx_prefix else 0
    if start.era and _NUM_START_RE.match(text, position):
        inherited = text[:position] + start.era + text[position:]
        try:
            return _parse_part(inherited)
        except _Reject as err:
            try:
                return _parse_part(text)
            except _Reject:
                raise err from None
    return _parse_part(text)


def _parse_text(text: str) -> _Span:
    """Parse a single date or a range of two dates."""
    if len(text) == 4 and _UNKNOWN_DIGITS_RE.match(text):
        raise _Reject(
            "the year has unknown digits; give an explicit range such as 1930-1939"
        )
    try:
        return _parse_part(text)
    except _Reject as err:
        single_error = err
    if _ISO_SHAPE_RE.match(text) or not _SEPARATOR_RE.search(text):
        raise single_error

    found: list[tuple[_Span, _Span]] = []
    range_errors: list[_Reject] = []
    start_errors: list[_Reject] = []
    for sep in _SEPARATOR_RE.finditer(text):
        left, right = text[: sep.start()].strip(), text[sep.end() :].strip()
        if not left:
            range_errors.append(_Reject("open-ended range: no start date"))
            continue
        if _is_open_end(right):
            range_errors.append(_Reject("open-ended range: no end date"))
            continue
        try:
            start = _parse_part(left)
        except _Reject as err:
            start_errors.append(_Reject(f"start of range {left!r}: {err.reason}"))
            continue
        try:
            end = _parse_range_end(right, start)
        except _Reject as err:
            range_errors.append(_Reject(f"end of range {right!r}: {err.reason}"))
            continue
        found.append((start, end))

    if len(found) > 1:
        raise _Reject("it can be read as a range in more than one way")
    if not found:
        if range_errors:
            raise range_errors[0]
        if single_error.reason == _UNRECOGNISED:
            raise start_errors[0]  # e.g. 十年至十五年: say what is wrong with 十年
        raise single_error
    start, end = found[0]
    if end.year_from < start.year_from or end.year_to < start.year_to:
        raise _Reject(
            f"the range ends ({_show(end)}) before it starts ({_show(start)})"
        )
    return _Span(start.year_from, end.year_to, start.approximate or end.approximate)
