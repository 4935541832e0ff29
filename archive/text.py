"""Normalise Cantonese and Chinese text for comparing and searching, never for display.

The archive stores every text as written (DESIGN.md, "Cantonese text"): a
transcript keeps 廣州 or 广州, 裡 or 裏, full-width ＡＢＣ or ASCII, exactly as
its writer or engine wrote them. Search (the query and the document alike)
and the transcription evaluation (issue 5, part 7) compare a *folded* form
made here, so that differences of script, variant, width and case do not
count as differences of content. Pure Python with OpenCC; no Django.

What :func:`normalise_for_search` does, character by character:

1. **Width.** Characters of the Halfwidth and Fullwidth Forms block (U+FF00 to
   U+FFEF) take their NFKC form: full-width ASCII letters, digits and
   punctuation become ASCII (``ＡＢＣ１２３！`` → ``abc123!`` after step 2),
   half-width CJK punctuation becomes full (``｢`` → ``「``). The ideographic
   space U+3000 becomes a space. NFKC is *not* applied to anything else, so
   CJK compatibility forms, circled numbers and the like are not rewritten by
   this step (OpenCC's own normalisation in step 3 handles the CJK
   compatibility ideographs).
2. **Case.** Letters are lower-cased (``str.lower``), where that gives one
   character.
3. **Script and variants.** Each CJK character is folded through OpenCC to
   one representative in Traditional Chinese, Hong Kong forms: first to its
   Simplified form with ``hk2s`` (which also undoes the Hong Kong variant
   table), then back with ``s2hk``. All the Traditional and variant
   characters that share a Simplified form therefore fold together: 广/廣 →
   廣, 里/裏/裡 → 裏, 台/臺/檯/颱 → 台, 綫/線 → 線, 衛/衞 → 衞. (``s2hk`` or
   ``t2hk`` alone would not do it: both leave 裡 and 裏 apart.) OpenCC keeps
   着 and 著 apart too (著 is also a Simplified character), so
   :data:`VARIANT_MERGES` merges them (→ 着, the Hong Kong form of the
   particle and verb). Adding ``tw2s`` before ``hk2s`` would fold 著 as well,
   but it also moves the Simplified 么 (of 麼) to 幺, splitting 什么 from 什麼;
   a one-entry table is the smaller, safer rule. Where ``s2hk``'s pick would
   turn an everyday Cantonese character into a different word (係 → 系,
   郁 → 鬱, 搵 → 揾 ...), :data:`CANTONESE_PREFERRED` picks the Cantonese
   member as the representative instead; the class is the same, only its
   name changes.

Why character by character and not OpenCC's phrase conversion: the fold is
then context-free, so a query and any substring of a document fold the same
way (the phrase tables would write 里 as 裏 inside 里面 but leave it alone in
a one-character query), and it is length-preserving, so an offset in the
folded text is the offset in the stored text (search highlights, CER
alignments). The price is that classes which share a Simplified form merge
distinct words: 係/系/繫, 髮/發, 乾/幹/干, 後/后, 麵/面, 鐘/鍾. A
one-character search for 係 also finds 系; two characters or more (the bigram
index) keep them apart. For the character error rate this forgives exactly
the errors a script conversion can make (Whisper's 系 for 係), which is what
"after the same normalisation search uses" means in issue 5.

Cantonese-only characters (嘅 咗 喺 冇 佢 啲 嘢 攞 嚟 噉 嗰 冚 ...) have no
Simplified counterpart, or fold back to themselves, and come out unchanged.

:func:`normalise_for_cer` is the same fold with punctuation, symbols,
whitespace and invisible format characters removed, so only the spoken
characters are compared (as Whisper's own ``BasicTextNormalizer`` removes
punctuation and symbols; unlike it, nothing is replaced by a space, because
written Chinese has no spaces between words).

If this fold changes, raise :data:`NORMALISER_VERSION` so that indexes built
with the old one are rebuilt.
"""

from __future__ import annotations

import threading
import unicodedata

#: Bumped whenever the output of :func:`normalise_for_search` changes for any input.
NORMALISER_VERSION = 1

#: One line saying what the CER normalisation does (printed beside every CER).
CER_NORMALISATION = (
    "archive.text.normalise_for_cer v1: full-width forms to ASCII (NFKC on "
    "U+FF00-U+FFEF), lower case, each CJK character folded with OpenCC to one "
    "Traditional (Hong Kong) representative (hk2s then s2hk; 着/著 merged), "
    "punctuation, symbols and whitespace removed"
)

#: Simplified-level merges OpenCC does not make: the key's class joins the value's.
#: 著 is both a Traditional and a Simplified character (著名), so OpenCC never
#: folds it with 着; Taiwan writes 看著 where Hong Kong writes 睇着.
VARIANT_MERGES: dict[str, str] = {"著": "着"}

#: Representatives chosen for Cantonese, keyed by the class's Simplified form.
#: ``s2hk`` names these classes after a character that is a different word in
#: Cantonese; the Hong Kong Cantonese conversation corpus (HKCanCor, shipped
#: with pycantonese) uses the member given here far more often (counts there:
#: 係 9,662 vs 系 11; 晒 241 vs 曬 8; 吓 156 vs 嚇 13; 嘩 239 vs 譁 0; 郁 13 vs
#: 鬱 0). 搵 (wan2, to look for) is the form of Hong Kong dictionaries (揾 is
#: its mainland shape; pycantonese reads 揾 alone as wan3).
CANTONESE_PREFERRED: dict[str, str] = {
    "系": "係",  # hai6, "to be"
    "晒": "晒",  # saai3, "all, completely" (s2hk: 曬, to dry in the sun)
    "吓": "吓",  # haa5, "a bit" / interjection (s2hk: 嚇, to frighten)
    "哗": "嘩",  # waa3, interjection (s2hk: 譁)
    "郁": "郁",  # juk1, "to move" (s2hk: 鬱, gloomy)
    "揾": "搵",  # wan2, "to look for"
}

_lock = threading.Lock()
_converters: dict[str, object] = {}


def _convert(config: str, char: str) -> str:
    """One character through an OpenCC configuration (converters made on first use)."""
    converter = _converters.get(config)
    if converter is None:
        import opencc

        converter = _converters.setdefault(config, opencc.OpenCC(config))
    with _lock:
        out = converter.convert(char)
    # A conversion that yields several characters or none would break the
    # one-to-one offsets; keep the character instead (none are known).
    return out if len(out) == 1 else char


def _is_cjk(char: str) -> bool:
    """Whether OpenCC should see the character: a CJK ideograph or compatibility form."""
    return ord(char) >= 0x2E80 and unicodedata.category(char) == "Lo"


def _simplified(char: str) -> str:
    simple = _convert("hk2s", char)
    return VARIANT_MERGES.get(simple, simple)


def _fold_cjk(char: str) -> str:
    simple = _simplified(char)
    return CANTONESE_PREFERRED.get(simple) or _convert("s2hk", simple)


def fold_char(char: str) -> str:
    """The folded form of one character (width, case, script); always one character.

    Args:
        char: a single character.

    Returns:
        The character :func:`normalise_for_search` puts in its place.
    """
    code = ord(char)
    if code == 0x3000:
        return " "
    if 0xFF00 <= code <= 0xFFEF:
        wide = unicodedata.normalize("NFKC", char)
        if len(wide) == 1:
            char = wide
    lower = char.lower()
    if len(lower) == 1:
        char = lower
    if _is_cjk(char):
        folded = _fold_cjk(char)
        # The fold must be idempotent; a representative that folds elsewhere
        # again would make query and document disagree. Follow it to its end.
        for _ in range(3):
            again = _fold_cjk(folded)
            if again == folded:
                break
            folded = again
        char = folded
    return char


class _FoldTable(dict):
    """``str.translate`` table filled on demand: each code point is folded once."""

    def __missing__(self, code: int) -> str:
        folded = fold_char(chr(code))
        self[code] = folded
        return folded


_TABLE = _FoldTable()


def normalise_for_search(text: str) -> str:
    """Fold width, case, script and variants so equal content compares equal.

    Used for documents and queries alike (issue 7's analyzer) and by the CER.
    The result is never shown: stored text stays as written.

    Args:
        text: any text.

    Returns:
        A string of the same length, character ``i`` being the fold of input
        character ``i`` (see the module docstring for the rules).
    """
    return text.translate(_TABLE)


#: Unicode general categories dropped by :func:`normalise_for_cer`: punctuation
#: (P*), symbols (S*), separators (Z*), controls and format characters.
_DROPPED = ("P", "S", "Z", "Cc", "Cf")


class _CerTable(dict):
    """Like :class:`_FoldTable`, with punctuation, symbols and spaces mapped to nothing."""

    def __missing__(self, code: int) -> str | None:
        folded = _TABLE[code]
        category = unicodedata.category(folded)
        keep = not (folded.isspace() or category.startswith(_DROPPED))
        value = folded if keep else None
        self[code] = value
        return value


_CER_TABLE = _CerTable()


def normalise_for_cer(text: str) -> str:
    """The search fold without punctuation, symbols and whitespace: the characters spoken.

    Character error rates (``transcription.evaluation.cer``) count edits over
    this string, so 「廣州，」 and 广州 are the same two characters.

    Args:
        text: any text.

    Returns:
        The folded characters, with every punctuation mark (CJK and ASCII),
        symbol, space, line break and invisible format character removed.
    """
    return text.translate(_CER_TABLE)
