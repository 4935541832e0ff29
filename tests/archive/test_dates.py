"""Tests for archive.dates: date text of archival records to year ranges.

Expected years are worked out by hand, not taken from the parser: year N of a
reign era is its first year + N - 1 (光緒 began 1875, so 光緒十年 is 1884);
民國N年 is 1911 + N; a sexagenary year Y satisfies (Y - 4) % 60 == index of the
stem-branch pair (甲子 = 0), e.g. 1884 - 4 = 1880, 1880 % 10 = 0 (甲) and
1880 % 12 = 8 (申), so 光緒甲申 is 1884.
"""

import pickle
from dataclasses import FrozenInstanceError
from datetime import date

import pytest

from archive.dates import DateParseError, ParsedDate, parse_date, parse_date_or_none

# (input, year_from, year_to); none of these is approximate.
VALID = [
    # Qing reign eras, with and without dynasty prefix, month and day.
    ("清光緒十年", 1884, 1884),
    ("光绪十年", 1884, 1884),
    ("清光緒十年三月", 1884, 1884),
    ("光緒十年三月初五日", 1884, 1884),
    ("光緒十年閏五月", 1884, 1884),
    ("光緒十年十二月廿三日", 1884, 1884),  # year-level mapping: not 1885
    ("大清光緒十年", 1884, 1884),
    ("國朝乾隆十年", 1745, 1745),
    ("乾隆五十七年", 1792, 1792),
    ("宣統三年", 1911, 1911),
    ("宣统元年", 1909, 1909),
    ("康熙六十一年", 1722, 1722),
    ("康熙卌年", 1701, 1701),  # 1662 + 40 - 1
    ("康熙兩年", 1663, 1663),
    # The last year of every era checks the era table (first + length - 1).
    ("洪武三十一年", 1398, 1398),
    ("建文四年", 1402, 1402),
    ("永乐二十二年", 1424, 1424),
    ("洪熙元年", 1425, 1425),
    ("宣德十年", 1435, 1435),
    ("正统十四年", 1449, 1449),
    ("景泰八年", 1457, 1457),
    ("天顺八年", 1464, 1464),
    ("成化二十三年", 1487, 1487),
    ("弘治十八年", 1505, 1505),
    ("正德十六年", 1521, 1521),
    ("嘉靖四十五年", 1566, 1566),
    ("隆庆六年", 1572, 1572),
    ("萬曆四十八年", 1620, 1620),
    ("万历四十八年", 1620, 1620),
    ("泰昌元年", 1620, 1620),
    ("天啓七年", 1627, 1627),
    ("天啟七年", 1627, 1627),
    ("天启七年", 1627, 1627),
    ("崇禎十七年", 1644, 1644),
    ("崇祯十七年", 1644, 1644),
    ("天命十一年", 1626, 1626),
    ("天聪十年", 1636, 1636),
    ("崇德八年", 1643, 1643),
    ("顺治十八年", 1661, 1661),
    ("雍正十三年", 1735, 1735),
    ("乾隆六十年", 1795, 1795),
    ("嘉庆二十五年", 1820, 1820),
    ("道光三十年", 1850, 1850),
    ("咸丰十一年", 1861, 1861),
    ("同治十三年", 1874, 1874),
    ("光绪三十四年", 1908, 1908),
    # 元年 is year 1.
    ("嘉靖元年", 1522, 1522),
    ("洪武元年", 1368, 1368),
    ("順治元年", 1644, 1644),
    ("大明萬曆元年", 1573, 1573),
    # Whole eras.
    ("光緒年間", 1875, 1908),
    ("光绪年间", 1875, 1908),
    ("光緒", 1875, 1908),
    ("乾隆年間", 1736, 1795),
    # Reign + sexagenary year.
    ("光緒甲申", 1884, 1884),
    ("光緒甲申年", 1884, 1884),
    ("大清光緒甲申年", 1884, 1884),
    ("乾隆壬子", 1792, 1792),
    ("光绪戊戌年", 1898, 1898),
    ("道光庚子", 1840, 1840),
    ("同治甲子", 1864, 1864),
    ("崇禎甲申", 1644, 1644),
    ("宣統辛亥", 1911, 1911),
    # Dynasties alone.
    ("明", 1368, 1644),
    ("清", 1644, 1911),
    ("宋", 960, 1279),
    ("元", 1271, 1368),
    ("清朝", 1644, 1911),
    ("明代", 1368, 1644),
    ("南宋", 1127, 1279),
    # Republic of China.
    ("民國二十七年", 1938, 1938),
    ("民国27年", 1938, 1938),
    ("中華民國三十八年", 1949, 1949),
    ("中华民国三十八年", 1949, 1949),
    ("民國元年", 1912, 1912),
    ("民國卅八年", 1949, 1949),
    ("民國廿六年七月七日", 1937, 1937),
    ("民國一百年", 2011, 2011),
    ("民國一百十年", 2021, 2021),
    # Chinese numerals for Gregorian years.
    ("一九三八年", 1938, 1938),
    ("一八八四年", 1884, 1884),
    ("一九三○年", 1930, 1930),  # ○ (white circle) used as zero
    ("一九三八年五月一日", 1938, 1938),
    ("公元一千九百三十八年", 1938, 1938),
    # Gregorian.
    ("1938", 1938, 1938),
    ("1938年", 1938, 1938),
    ("1938年5月", 1938, 1938),
    ("1938年5月1日", 1938, 1938),
    ("1938-05-01", 1938, 1938),
    ("1938-05", 1938, 1938),
    ("1880-12", 1880, 1880),  # December 1880, not a range
    ("1938/5/1", 1938, 1938),
    ("1940-02-29", 1940, 1940),
    ("公元1884年", 1884, 1884),
    ("西元1884年", 1884, 1884),
    ("AD 1884", 1884, 1884),
    ("公元九十年", 90, 90),
    ("May 1938", 1938, 1938),
    ("1 May 1938", 1938, 1938),
    ("May 1, 1938", 1938, 1938),
    ("12 December 1911", 1911, 1911),
    # Full-width digits, spaces and punctuation.
    ("１９３８年", 1938, 1938),
    ("１９３８－０５－０１", 1938, 1938),
    ("民國　二十七年", 1938, 1938),
    ("清 光緒 十年", 1884, 1884),
    ("１８８０～１８９０", 1880, 1890),
    # Decades.
    ("1930年代", 1930, 1939),
    ("1930s", 1930, 1939),
    ("the 1930s", 1930, 1939),
    ("一九三〇年代", 1930, 1939),
    ("二十世紀三十年代", 1930, 1939),
    ("20世纪30年代", 1930, 1939),
    # Centuries: the Nth century is (N-1)*100+1 .. N*100.
    ("19世紀", 1801, 1900),
    ("十九世紀", 1801, 1900),
    ("十九世纪", 1801, 1900),
    ("19th century", 1801, 1900),
    ("19th-century", 1801, 1900),
    ("20th century", 1901, 2000),
    # Ranges.
    ("1880-1890", 1880, 1890),
    ("1880–1890", 1880, 1890),
    ("1880—1890", 1880, 1890),
    ("1880至1890", 1880, 1890),
    ("1880年至1890年", 1880, 1890),
    ("1880 to 1890", 1880, 1890),
    ("1880-1880", 1880, 1880),
    ("1938-05-01至1940-06-30", 1938, 1940),
    ("1938-05-01 - 1940-06-30", 1938, 1940),
    ("光緒十年至十五年", 1884, 1889),
    ("光绪十年到十五年", 1884, 1889),
    ("清光緒十年至民國元年", 1884, 1912),
    ("民國二十年至三十年", 1931, 1941),
    ("民國20年至100年", 1931, 2011),
    ("光緒十年至1890", 1884, 1890),
    ("乾隆年間至嘉慶年間", 1736, 1820),
    ("1930年代至1940年代", 1930, 1949),
    # A bracketed Gregorian equivalent that agrees.
    ("光緒十年（1884年）", 1884, 1884),
    ("1884(光緒十年)", 1884, 1884),
]

# (input, year_from, year_to); all approximate, range not widened.
APPROXIMATE = [
    ("約1938", 1938, 1938),
    ("约1938年", 1938, 1938),
    ("大約光緒十年", 1884, 1884),
    ("大约光绪十年", 1884, 1884),
    ("circa 1938", 1938, 1938),
    ("Circa 1938", 1938, 1938),
    ("c. 1938", 1938, 1938),
    ("c.1938", 1938, 1938),
    ("ca. 1938", 1938, 1938),
    ("ca 1938", 1938, 1938),
    ("1938?", 1938, 1938),
    ("1938？", 1938, 1938),
    ("光緒十年?", 1884, 1884),
    ("1938年左右", 1938, 1938),
    ("約1930年代", 1930, 1939),
    ("c. 1880 - 1890", 1880, 1890),
    ("1880-1890?", 1880, 1890),
    ("約光緒十年至十五年", 1884, 1889),
]

# (input, a fragment the message must contain).
INVALID = [
    ("", "empty"),
    ("   ", "empty"),
    ("清末", "vague"),
    ("明末", "vague"),
    ("晚清", "vague"),
    ("清初", "vague"),
    ("光緒末年", "vague"),
    ("19世紀末", "vague"),
    ("late 19th century", "vague"),
    ("清末至民初", "vague"),
    ("某年", "unspecified"),
    ("民國某年", "unspecified"),
    ("光緒□年", "unspecified"),
    ("unknown", "unknown"),
    ("不詳", "unknown"),
    ("不详", "unknown"),
    ("n.d.", "unknown"),
    ("甲申", "needs a reign era"),
    ("甲申年", "needs a reign era"),
    ("光緒四十年", "光緒 has only 34 years"),
    ("光绪四十年", "光緒 has only 34 years"),
    ("康熙六十二年", "康熙 has only 61 years"),
    ("泰昌二年", "泰昌 has only 1 years"),
    ("光緒〇年", "no year 0"),
    ("光緒甲子", "光緒 (1875-1908) has no 甲子 year"),
    ("康熙壬寅", "1662 and 1722"),
    ("光緒甲丑", "甲丑 is not a sexagenary"),
    ("明乾隆十年", "乾隆 is a Qing"),
    ("光緒十年十三月", "month 13"),
    ("光緒十年三月初十五日", "初 is only used for days 1-10"),
    ("1938-13-01", "month 13 does not exist"),
    ("1938-02-30", "day 30 does not exist"),
    ("1900-02-29", "day 29 does not exist"),
    ("1938年2月30日", "day 30 does not exist"),
    ("民國二十七年二月三十日", "day 30 does not exist"),
    ("May 32, 1938", "day 32 does not exist"),
    ("5/1/1938", "ambiguous"),
    ("1890-1880", "the range ends (1880) before it starts (1890)"),
    ("民國三十年至二十年", "the range ends (1931) before it starts (1941)"),
    ("1880-", "open-ended range"),
    ("至1890", "open-ended range"),
    ("1938至今", "open-ended range"),
    ("1938-present", "open-ended range"),
    ("光緒十年至五十年", "光緒 has only 34 years"),
    ("十年至十五年", "bare year number"),
    ("1880至90", "bare year number"),
    ("1880-90", "neither a year-month"),
    ("30", "bare year number"),
    ("十五年", "bare year number"),
    ("三十年代", "does not say its century"),
    ("1935年代", "does not start a decade"),
    ("193?", "unknown digits"),
    ("19??", "unknown digits"),
    ("19st century", "not an ordinal"),
    ("民國", "no single agreed end year"),
    ("民國〇年", "no year 0"),
    ("公元前221年", "BCE"),
    ("221 BC", "BCE"),
    ("光緒十年(1885)", "disagree"),
    ("c.", "only an approximation marker"),
    ("國朝", "not a recognised date form"),
    ("yesterday", "not a recognised date form"),
]


# The reign-era table as given in the brief: (era, first year, length).
ERAS = [
    ("洪武", 1368, 31),
    ("建文", 1399, 4),
    ("永樂", 1403, 22),
    ("洪熙", 1425, 1),
    ("宣德", 1426, 10),
    ("正統", 1436, 14),
    ("景泰", 1450, 8),
    ("天順", 1457, 8),
    ("成化", 1465, 23),
    ("弘治", 1488, 18),
    ("正德", 1506, 16),
    ("嘉靖", 1522, 45),
    ("隆慶", 1567, 6),
    ("萬曆", 1573, 48),
    ("泰昌", 1620, 1),
    ("天啓", 1621, 7),
    ("崇禎", 1628, 17),
    ("天命", 1616, 11),
    ("天聰", 1627, 10),
    ("崇德", 1636, 8),
    ("順治", 1644, 18),
    ("康熙", 1662, 61),
    ("雍正", 1723, 13),
    ("乾隆", 1736, 60),
    ("嘉慶", 1796, 25),
    ("道光", 1821, 30),
    ("咸豐", 1851, 11),
    ("同治", 1862, 13),
    ("光緒", 1875, 34),
    ("宣統", 1909, 3),
]


@pytest.mark.parametrize(("era", "first", "length"), ERAS)
def test_every_era_starts_ends_and_stops(era, first, length):
    last = first + length - 1
    assert parse_date(f"{era}元年") == ParsedDate(f"{era}元年", first, first)
    assert parse_date(f"{era}{length}年") == ParsedDate(f"{era}{length}年", last, last)
    assert parse_date(f"{era}年間") == ParsedDate(f"{era}年間", first, last)
    with pytest.raises(DateParseError, match=f"{era} has only {length} years"):
        parse_date(f"{era}{length + 1}年")


@pytest.mark.parametrize(("text", "year_from", "year_to"), VALID)
def test_parses_exact_range(text, year_from, year_to):
    assert parse_date(text) == ParsedDate(text, year_from, year_to, False)


@pytest.mark.parametrize(("text", "year_from", "year_to"), APPROXIMATE)
def test_approximate_markers_keep_the_range(text, year_from, year_to):
    assert parse_date(text) == ParsedDate(text, year_from, year_to, True)


@pytest.mark.parametrize(("text", "problem"), INVALID)
def test_refuses_to_guess(text, problem):
    with pytest.raises(DateParseError) as info:
        parse_date(text)
    message = str(info.value)
    assert repr(text) in message  # names the input
    assert problem in message  # and the problem
    assert info.value.text == text
    assert parse_date_or_none(text) is None


def test_tables_are_big_enough():
    assert len(VALID) >= 45
    assert len(INVALID) >= 12


def test_text_is_kept_as_given():
    raw = "  清　光緒十年 "
    parsed = parse_date(raw)
    assert parsed.text == raw
    assert (parsed.year_from, parsed.year_to) == (1884, 1884)


def test_next_year_is_allowed_but_not_the_year_after():
    this_year = date.today().year
    assert parse_date(str(this_year + 1)).year_from == this_year + 1
    future = str(this_year + 2)
    with pytest.raises(DateParseError, match="in the future"):
        parse_date(future)
    with pytest.raises(DateParseError, match="in the future"):
        parse_date(f"民國{this_year + 2 - 1911}年")
    with pytest.raises(DateParseError, match="in the future"):
        parse_date(f"1990-{future}")


def test_decade_that_has_not_begun_is_refused():
    decade = (date.today().year + 2) // 10 * 10 + 10
    with pytest.raises(DateParseError, match="in the future"):
        parse_date(f"{decade}年代")


def test_parse_date_or_none():
    assert parse_date_or_none("光緒十年") == ParsedDate("光緒十年", 1884, 1884)
    assert parse_date_or_none("清末") is None
    assert parse_date_or_none("") is None
    assert parse_date_or_none(None) is None


def test_parse_date_rejects_non_strings():
    with pytest.raises(TypeError):
        parse_date(1884)


def test_error_is_a_value_error_and_survives_pickling():
    with pytest.raises(ValueError) as info:
        parse_date("光緒四十年")
    error = info.value
    assert isinstance(error, DateParseError)
    assert error.text == "光緒四十年"
    assert error.reason.startswith("光緒 has only 34 years (1875-1908)")
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error)
    assert (copy.text, copy.reason) == (error.text, error.reason)


def test_parsed_date_is_frozen_and_consistent():
    parsed = parse_date("1938")
    with pytest.raises(FrozenInstanceError):
        parsed.year_from = 1939
    with pytest.raises(ValueError):
        ParsedDate("bad", 1939, 1938)
