#!/usr/bin/env python3
"""Generate the small sample archive that ``make demo`` loads.

Everything under ``ingest/sample/`` except this script, ``README.md`` and the copied
IIIF validator image is *made up by us* and says so:

* ``dadian/sanzijing-v1/``: ten page images of a Guangzhou Dadian style woodblock
  volume of 三字經 (text public domain, attributed to 區適子 of Shunde), drawn with
  Pillow and the Noto CJK fonts, with per-page plain text and ALTO v4 XML whose
  character boxes are the ink boxes of the glyphs exactly as drawn. The edition
  (光緒十年, 廣州粵藏堂) and the red 粵藏示例 seal are fictitious.
* ``oral-history/teahouse-1938/``: a fictional elderly tea-house owner's Cantonese
  monologue, spoken by the synthetic espeak-ng ``yue`` voice, as 16 kHz mono FLAC.
* ``documentary/pearl-river-1950s/``: an 18 s animated clip of a stylised Pearl
  River, H.264 + AAC in MP4 made with PyAV, with an espeak-ng Cantonese narration
  and burnt-in subtitles.
* ``iiif-validator/``: the official IIIF Image API validator test image (copied,
  Apache-2.0), plus the same image and IIIF Presentation fixtures under
  ``tests/data/iiif/``.
* ``institutions.json`` and every ``item.json`` / ``volume.json`` (batch format
  version 1; the oral history's ``item.json`` is version 2 for its consent, see
  ``docs/ingest-format.md``).

Only the maintainer runs this; the outputs are committed, so a fresh clone never
needs espeak-ng, sox or the fonts. Run it from anywhere with the project's Python::

    python ingest/sample/generate.py            # everything
    python ingest/sample/generate.py dadian     # one part: dadian, oral, documentary,
                                                #   iiif, metadata

Needs: Pillow, numpy, PyAV (``av``, whose FFmpeg has libx264 and aac), and the
Debian packages ``fonts-noto-cjk``, ``espeak-ng`` and ``sox``. Output is
deterministic for a given set of tool versions: all randomness is seeded, x264 runs
single-threaded, and no timestamps are written into the files.
"""

# ruff: noqa: E501  (metadata prose and the ALTO template read better unwrapped)
from __future__ import annotations

import argparse
import fractions
import functools
import json
import logging
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SHARED_IIIF = REPO.parent / "shared" / "data" / "iiif"

log = logging.getLogger("ingest.sample.generate")

FORMAT = "yuecang-batch/1"
#: Items that use format 2 features (the oral history's consent).
FORMAT_2 = "yuecang-batch/2"
GENERATOR = "ingest/sample/generate.py"

# Rights URIs. IIIF Presentation 3.0 (and the presentation validator's schema)
# only accepts the http:// forms of Creative Commons and RightsStatements.org URIs.
PDM = "http://creativecommons.org/publicdomain/mark/1.0/"
CC_BY = "http://creativecommons.org/licenses/by/4.0/"
RS_INC = "http://rightsstatements.org/vocab/InC/1.0/"


# --------------------------------------------------------------------------- fonts
@functools.cache
def find_font(family: str, style: str = "Regular") -> tuple[str, int]:
    """Return (file, face index) of an installed font family via fontconfig."""
    out = subprocess.run(
        ["fc-list", "-f", "%{file}|%{family}|%{style}|%{index}\n"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    candidates = []
    for line in out.splitlines():
        path, fams, styles, index = line.split("|")
        if family in fams.split(",") and style in styles.split(","):
            candidates.append((path, int(index)))
    if not candidates:
        raise SystemExit(
            f"font {family!r} {style} not found: apt-get install fonts-noto-cjk"
        )
    return sorted(candidates)[0]


def cjk_font(
    size: int, *, serif: bool = True, bold: bool = False
) -> ImageFont.FreeTypeFont:
    """Noto Serif CJK TC (falling back to Noto Sans CJK TC) at ``size`` pixels."""
    style = "Bold" if bold else "Regular"
    families = (
        ["Noto Serif CJK TC", "Noto Sans CJK TC"] if serif else ["Noto Sans CJK TC"]
    )
    for fam in families:
        try:
            path, index = find_font(fam, style)
        except SystemExit:
            continue
        return ImageFont.truetype(path, size, index=index)
    path, index = find_font("Noto Sans CJK TC", "Regular")
    return ImageFont.truetype(path, size, index=index)


# ================================================================== 1. Dadian volume
#: 三字經, the first half in the Song-era recension (to 炎宋興 … 南北混), as printed:
#: no punctuation. Public domain. Written out from the standard text.
SANZIJING = (
    "人之初性本善性相近習相遠苟不教性乃遷教之道貴以專"
    "昔孟母擇鄰處子不學斷機杼竇燕山有義方教五子名俱揚"
    "養不教父之過教不嚴師之惰子不學非所宜幼不學老何為"
    "玉不琢不成器人不學不知義為人子方少時親師友習禮儀"
    "香九齡能溫席孝於親所當執融四歲能讓梨弟於長宜先知"
    "首孝弟次見聞知某數識某文一而十十而百百而千千而萬"
    "三才者天地人三光者日月星三綱者君臣義父子親夫婦順"
    "曰春夏曰秋冬此四時運不窮曰南北曰西東此四方應乎中"
    "曰水火木金土此五行本乎數曰仁義禮智信此五常不容紊"
    "稻粱菽麥黍稷此六穀人所食馬牛羊雞犬豕此六畜人所飼"
    "曰喜怒曰哀懼愛惡欲七情具匏土革木石金絲與竹乃八音"
    "高曾祖父而身身而子子而孫自子孫至玄曾乃九族人之倫"
    "父子恩夫婦從兄則友弟則恭長幼序友與朋君則敬臣則忠"
    "此十義人所同凡訓蒙須講究詳訓詁明句讀為學者必有初"
    "小學終至四書論語者二十篇群弟子記善言孟子者七篇止"
    "講道德說仁義作中庸乃孔伋中不偏庸不易作大學乃曾子"
    "自修齊至平治孝經通四書熟如六經始可讀詩書易禮春秋"
    "號六經當講求有連山有歸藏有周易三易詳有典謨有訓誥"
    "有誓命書之奧我周公作周禮著六官存治體大小戴注禮記"
    "述聖言禮樂備曰國風曰雅頌號四詩當諷詠詩既亡春秋作"
    "寓褒貶別善惡三傳者有公羊有左氏有穀梁經既明方讀子"
    "撮其要記其事五子者有荀揚文中子及老莊經子通讀諸史"
    "考世系知終始自羲農至黃帝號三皇居上世唐有虞號二帝"
    "相揖遜稱盛世夏有禹商有湯周文武稱三王夏傳子家天下"
    "四百載遷夏社湯伐夏國號商六百載至紂亡周武王始誅紂"
    "八百載最長久周轍東王綱墜逞干戈尚遊說始春秋終戰國"
    "五霸強七雄出嬴秦氏始兼併傳二世楚漢爭高祖興漢業建"
    "至孝平王莽篡光武興為東漢四百年終於獻魏蜀吳爭漢鼎"
    "號三國迄兩晉宋齊繼梁陳承為南朝都金陵北元魏分東西"
    "宇文周與高齊迨至隋一土宇不再傳失統緒唐高祖起義師"
    "除隋亂創國基二十傳三百載梁滅之國乃改梁唐晉及漢周"
    "稱五代皆有由炎宋興受周禪十八傳南北混"
)

CN_DIGITS = "〇一二三四五六七八九"


def cn_number(n: int) -> str:
    """1..99 as Chinese numerals, as folio numbers are cut in the 版心 (十一, 二十)."""
    tens, ones = divmod(n, 10)
    s = ("" if tens <= 1 else CN_DIGITS[tens]) + ("十" if tens else "")
    return s + (CN_DIGITS[ones] if ones else "")


# Page geometry (pixels). One image is one leaf (葉) laid flat: the right half-leaf
# is read first, the 版心 (centre strip with fishtails, title and folio) in the middle.
W, H = 1200, 1800
FRAME = (95, 200, 1105, 1640)  # outer line of the double frame (四周雙邊)
INSET = 12  # distance from outer to inner frame line
BAN_X0, BAN_X1 = 560, 640  # 版心 strip, inner edges
COLS_PER_HALF = 4
CHARS_PER_COL = 12
TEXT_SIZE = 88
TEXT_PITCH = 118
INK = np.array([28, 22, 18], dtype=np.float32)
PUBLISHER = "粵藏堂"  # fictitious
TITLE_COL = "三字經卷上"
AUTHOR_COL = "宋順德區適子撰"
END_COL = "三字經卷上終"
COLOPHON = ["光緒十年孟春", f"廣州{PUBLISHER}校刊"]


@dataclass
class Glyph:
    """One drawn character and the ink box it left on the page."""

    char: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive), page pixels


@dataclass
class Column:
    """One column of text (an ALTO TextLine), in reading order."""

    glyphs: list[Glyph] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(g.char for g in self.glyphs)


class Sheet:
    """A page being drawn: separate masks for text ink, rule ink and seal ink."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.text = Image.new("L", (W, H), 0)
        self.rules = Image.new("L", (W, H), 0)
        self.seal = Image.new("L", (W, H), 0)
        self.columns: list[Column] = []

    # -- drawing primitives ------------------------------------------------------
    def glyph(
        self,
        ch: str,
        cx: float,
        cy: float,
        font: ImageFont.FreeTypeFont,
        target: Image.Image | None = None,
    ) -> Glyph:
        """Draw ``ch`` centred on (cx, cy) and return its measured ink box."""
        size = int(font.size * 1.6)
        tile = Image.new("L", (size, size), 0)
        ImageDraw.Draw(tile).text(
            (size / 2, size / 2), ch, font=font, fill=255, anchor="mm"
        )
        ys, xs = np.nonzero(np.asarray(tile) > 40)
        ox, oy = round(cx - size / 2), round(cy - size / 2)
        target = self.text if target is None else target
        region = (ox, oy, ox + size, oy + size)
        target.paste(ImageChops.lighter(target.crop(region), tile), region)
        return Glyph(
            ch,
            (
                ox + int(xs.min()),
                oy + int(ys.min()),
                ox + int(xs.max()) + 1,
                oy + int(ys.max()) + 1,
            ),
        )

    def column(
        self,
        text: str,
        cx: float,
        y_first: float,
        pitch: float,
        font: ImageFont.FreeTypeFont,
        jitter: float = 2.0,
    ) -> Column:
        """Set ``text`` vertically, top to bottom, centred on x = cx."""
        col = Column()
        for i, ch in enumerate(text):
            dx, dy = self.rng.uniform(-jitter, jitter, 2)
            col.glyphs.append(self.glyph(ch, cx + dx, y_first + i * pitch + dy, font))
        self.columns.append(col)
        return col

    def line(
        self,
        p0: tuple[float, float],
        p1: tuple[float, float],
        width: int,
        mask: Image.Image | None = None,
    ) -> None:
        """A slightly wavering cut line, as a woodblock rule prints."""
        mask = self.rules if mask is None else mask
        d = ImageDraw.Draw(mask)
        n = max(2, int(np.hypot(p1[0] - p0[0], p1[1] - p0[1]) // 60))
        pts = []
        for t in np.linspace(0, 1, n + 1):
            wob = self.rng.normal(0, 0.7)
            x = p0[0] + (p1[0] - p0[0]) * t + (wob if p0[0] == p1[0] else 0)
            y = p0[1] + (p1[1] - p0[1]) * t + (wob if p0[1] == p1[1] else 0)
            pts.append((x, y))
        d.line(pts, fill=255, width=width, joint="curve")

    def rect(self, box: tuple[float, float, float, float], width: int) -> None:
        x0, y0, x1, y1 = box
        self.line((x0, y0), (x1, y0), width)
        self.line((x1, y0), (x1, y1), width)
        self.line((x1, y1), (x0, y1), width)
        self.line((x0, y1), (x0, y0), width)

    # -- composition ------------------------------------------------------------
    def render(self, path: Path) -> None:
        """Composite ink on aged paper, save as JPEG (quality 80), re-measure glyph boxes.

        The ink is roughened as a woodblock prints it (blurred, then cut at a noisy
        threshold), so each glyph's box is measured again on the final ink: the ALTO
        boxes are where the ink really is in the saved image.
        """
        rng = self.rng
        paper = aged_paper(rng)
        grain = smooth_noise(rng, (H // 4, W // 4))
        density = 0.80 + 0.20 * smooth_noise(rng, (36, 24))
        worn = np.where(smooth_noise(rng, (H // 6, W // 6)) > 0.86, 0.5, 1.0)

        def woodblock(mask: Image.Image, spread: float = 1.6) -> np.ndarray:
            soft = (
                np.asarray(mask.filter(ImageFilter.GaussianBlur(spread)), np.float32)
                / 255.0
            )
            cut = 0.5 + 0.22 * (grain - 0.5) - (0.12 if spread < 1 else 0)
            a = np.clip((soft - cut) * 5 + 0.5, 0, 1) * density * worn
            return (
                np.asarray(
                    Image.fromarray((a * 255).astype(np.uint8)).filter(
                        ImageFilter.GaussianBlur(0.6)
                    ),
                    np.float32,
                )
                / 255.0
            )

        text_a = woodblock(self.text)
        ink = np.maximum(text_a, woodblock(self.rules, 0.7) * 0.95)[..., None]
        out = paper * (1 - ink) + INK * ink
        if self.seal.getbbox():
            seal = woodblock(self.seal, 0.9) * (
                0.6 + 0.35 * smooth_noise(rng, (60, 40))
            )
            seal = seal[..., None]
            out = out * (1 - seal) + np.array([178, 40, 32], np.float32) * seal
        img = Image.fromarray(np.clip(out, 0, 255).astype(np.uint8), "RGB")
        path.parent.mkdir(parents=True, exist_ok=True)
        img.save(path, "JPEG", quality=80, optimize=True, subsampling=2)
        for col in self.columns:
            for g in col.glyphs:
                x0, y0, x1, y1 = g.box
                m = 6
                win = text_a[y0 - m : y1 + m, x0 - m : x1 + m] > 0.25
                ys, xs = np.nonzero(win)
                g.box = (
                    x0 - m + int(xs.min()),
                    y0 - m + int(ys.min()),
                    x0 - m + int(xs.max()) + 1,
                    y0 - m + int(ys.max()) + 1,
                )


def smooth_noise(rng: np.random.Generator, grid: tuple[int, int]) -> np.ndarray:
    """Smooth noise in [0, 1], shape (H, W), from a coarse random grid."""
    g = (rng.random(grid) * 255).astype(np.uint8)
    return (
        np.asarray(Image.fromarray(g).resize((W, H), Image.BICUBIC), np.float32) / 255.0
    )


def aged_paper(rng: np.random.Generator) -> np.ndarray:
    """Warm bamboo-paper tone with mottling, fibres, foxing, water stains, dark edges."""
    base = np.array([224, 203, 162], np.float32)
    tone = (smooth_noise(rng, (9, 6)) - 0.5) * 18 + (
        smooth_noise(rng, (60, 40)) - 0.5
    ) * 8
    img = np.broadcast_to(base, (H, W, 3)).copy() + tone[..., None]
    # Fibres: faint short strokes.
    fib = Image.new("L", (W, H), 0)
    d = ImageDraw.Draw(fib)
    for _ in range(500):
        x, y = rng.uniform(0, W), rng.uniform(0, H)
        ang, ln = rng.uniform(0, np.pi), rng.uniform(6, 26)
        d.line(
            [(x, y), (x + ln * np.cos(ang), y + ln * np.sin(ang))],
            fill=int(rng.uniform(20, 60)),
        )
    img -= (np.asarray(fib, np.float32) / 255.0 * 22)[..., None]
    # Irregular water stains with a darker tide mark at their rim, and foxing spots.
    field = smooth_noise(rng, (11, 8))
    wet = np.clip((field - 0.74) * 7, 0, 1)
    tide = np.clip(1 - np.abs(field - 0.74) * 60, 0, 1)
    spots = Image.new("L", (W, H), 0)
    ds = ImageDraw.Draw(spots)
    for _ in range(int(rng.integers(15, 40))):
        cx, cy, r = rng.uniform(0, W), rng.uniform(0, H), rng.uniform(1.5, 6)
        ds.ellipse([cx - r, cy - r, cx + r, cy + r], fill=int(rng.uniform(80, 160)))
    s = 0.32 * wet + 0.3 * tide
    s += np.asarray(spots.filter(ImageFilter.GaussianBlur(3)), np.float32) / 255.0
    s = s[..., None]
    img = img * (1 - 0.3 * s) + np.array([150, 105, 55], np.float32) * 0.3 * s
    # Darker, browner edges of an old leaf.
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    edge = np.minimum.reduce([xx, W - 1 - xx, yy, H - 1 - yy])
    img *= (1 - 0.16 * np.exp(-edge / 45.0))[..., None]
    img += rng.normal(0, 1.2, (H, W, 1)).astype(np.float32)
    return img


def column_centres() -> list[float]:
    """x centres of the 8 text columns in reading order (right half first)."""
    x_in0, x_in1 = FRAME[0] + INSET, FRAME[2] - INSET
    right = [(BAN_X1, x_in1)]
    left = [(x_in0, BAN_X0)]
    out = []
    for lo, hi in right + left:
        w = (hi - lo) / COLS_PER_HALF
        out += [hi - w * (i + 0.5) for i in range(COLS_PER_HALF)]
    return out


def column_rules() -> list[float]:
    """x positions of the column rules (界行) inside each half-leaf."""
    x_in0, x_in1 = FRAME[0] + INSET, FRAME[2] - INSET
    out = []
    for lo, hi in ((BAN_X1, x_in1), (x_in0, BAN_X0)):
        w = (hi - lo) / COLS_PER_HALF
        out += [lo + w * i for i in range(1, COLS_PER_HALF)]
    return out


def draw_leaf_furniture(
    sheet: Sheet, folio: int | None, left_rules: bool = True
) -> None:
    """Double frame, column rules, 版心 with fishtails, title and folio number."""
    x0, y0, x1, y1 = FRAME
    sheet.rect(FRAME, 7)
    yi0, yi1 = y0 + INSET, y1 - INSET
    sheet.rect((x0 + INSET, yi0, x1 - INSET, yi1), 2)
    rules = column_rules()
    for x in rules if left_rules else rules[: COLS_PER_HALF - 1]:
        sheet.line((x, yi0), (x, yi1), 2)
    sheet.line((BAN_X0, yi0), (BAN_X0, yi1), 2)
    sheet.line((BAN_X1, yi0), (BAN_X1, yi1), 2)
    d = ImageDraw.Draw(sheet.rules)
    mid = (BAN_X0 + BAN_X1) / 2
    # Upper black fishtail (黑魚尾), V notch pointing up from below.
    fy = yi0 + 118
    sheet.line((BAN_X0, fy), (BAN_X1, fy), 2)
    d.polygon(
        [
            (BAN_X0, fy + 3),
            (BAN_X1, fy + 3),
            (BAN_X1, fy + 44),
            (mid, fy + 24),
            (BAN_X0, fy + 44),
        ],
        fill=255,
    )
    # Lower fishtail, mirrored, with its rule beneath.
    ly = yi1 - 150
    d.polygon(
        [
            (BAN_X0, ly),
            (mid, ly + 20),
            (BAN_X1, ly),
            (BAN_X1, ly + 41),
            (BAN_X0, ly + 41),
        ],
        fill=255,
    )
    sheet.line((BAN_X0, ly + 44), (BAN_X1, ly + 44), 2)
    if folio is None:
        return
    small = cjk_font(40, bold=True)
    for i, ch in enumerate("三字經"):
        sheet.glyph(ch, mid, fy + 92 + i * 48, small, target=sheet.rules)
    for i, ch in enumerate(cn_number(folio)):
        sheet.glyph(ch, mid, ly - 330 + i * 48, small, target=sheet.rules)
    tiny = cjk_font(28)
    for i, ch in enumerate(PUBLISHER):
        sheet.glyph(ch, mid, ly + 66 + i * 30, tiny, target=sheet.rules)


def draw_seal(sheet: Sheet, x: float, y: float, size: int, text: str) -> None:
    """A square red relief seal (朱文) of four characters, read right column first."""
    d = ImageDraw.Draw(sheet.seal)
    d.rectangle([x, y, x + size, y + size], outline=255, width=7)
    font = cjk_font(int(size * 0.40), bold=True)
    half = size / 2
    order = [
        (x + size - half / 2 - 4, y + half / 2 + 4),
        (x + size - half / 2 - 4, y + size - half / 2 - 4),
        (x + half / 2 + 4, y + half / 2 + 4),
        (x + half / 2 + 4, y + size - half / 2 - 4),
    ]
    for ch, (cx, cy) in zip(text, order, strict=True):
        sheet.glyph(ch, cx, cy, font, target=sheet.seal)


def title_page(sheet: Sheet) -> None:
    """內封: double frame in three panels, edition, big title, publisher."""
    x0, y0, x1, y1 = FRAME
    sheet.rect(FRAME, 7)
    xi0, yi0, xi1, yi1 = x0 + INSET, y0 + INSET, x1 - INSET, y1 - INSET
    sheet.rect((xi0, yi0, xi1, yi1), 2)
    r_rule, l_rule = xi1 - 230, xi0 + 230
    sheet.line((r_rule, yi0), (r_rule, yi1), 3)
    sheet.line((l_rule, yi0), (l_rule, yi1), 3)
    f_small, f_big = cjk_font(76, bold=True), cjk_font(250, bold=True)
    sheet.column("光緒十年刊", (r_rule + xi1) / 2, yi0 + 110, 96, f_small)
    sheet.column("三字經", (l_rule + r_rule) / 2, yi0 + 300, 420, f_big, jitter=3)
    pub = f"廣州{PUBLISHER}藏板"
    sheet.column(pub, (xi0 + l_rule) / 2, yi1 - 110 - 96 * (len(pub) - 1), 96, f_small)


def layout_volume() -> list[Sheet]:
    """Lay the whole volume out leaf by leaf; returns the ten drawn sheets."""
    sheets = [Sheet(seed=1001)]
    title_page(sheets[0])
    draw_seal(sheets[0], 960, 1440, 110, "粵藏示例")
    font = cjk_font(TEXT_SIZE, bold=True)
    centres = column_centres()
    yi0, yi1 = FRAME[1] + INSET, FRAME[3] - INSET
    y_first = yi0 + (yi1 - yi0 - (CHARS_PER_COL - 1) * TEXT_PITCH) / 2
    text = SANZIJING
    leaf = 0
    while text or leaf == 0:
        leaf += 1
        sheet = Sheet(seed=1001 + leaf)
        # The last leaf, if its text, a blank column and the end-of-juan line all fit in
        # the right half-leaf, gets a colophon cartouche (牌記) on an unruled left half.
        last = leaf > 1 and -(-len(text) // CHARS_PER_COL) + 2 <= COLS_PER_HALF
        draw_leaf_furniture(sheet, folio=leaf, left_rules=not last)
        cols = list(centres)
        if leaf == 1:
            sheet.column(TITLE_COL, cols.pop(0), y_first, TEXT_PITCH, font)
            sheet.column(
                AUTHOR_COL, cols.pop(0), y_first + TEXT_PITCH * 5, TEXT_PITCH, font
            )
            draw_seal(sheet, FRAME[2] - INSET - 112, FRAME[3] - 250, 96, "粵藏示例")
        while cols and text:
            chunk, text = text[:CHARS_PER_COL], text[CHARS_PER_COL:]
            sheet.column(chunk, cols.pop(0), y_first, TEXT_PITCH, font)
        if not text and cols:
            if len(cols) > 4:  # leave one column blank before the end-of-juan line
                cols.pop(0)
            sheet.column(END_COL, cols.pop(0), y_first, TEXT_PITCH, font)
        if last:
            bx0, bx1 = centres[6] - 56, centres[5] + 56
            by0, by1 = FRAME[3] - INSET - 820, FRAME[3] - INSET - 60
            sheet.rect((bx0, by0, bx1, by1), 3)
            sheet.line(((bx0 + bx1) / 2, by0), ((bx0 + bx1) / 2, by1), 2)
            f = cjk_font(72, bold=True)
            for k, line in enumerate(COLOPHON):
                pitch = (by1 - by0 - 140) / (len(line) - 1)
                sheet.column(line, centres[5 + k], by0 + 70, pitch, f, jitter=1.5)
        sheets.append(sheet)
    return sheets


def alto_xml(page_no: int, image_name: str, columns: list[Column]) -> str:
    """ALTO v4.4: one TextBlock, one TextLine per column, one String per character."""

    def box_attrs(b: tuple[int, int, int, int]) -> str:
        x0, y0, x1, y1 = b
        return f'HPOS="{x0}" VPOS="{y0}" WIDTH="{x1 - x0}" HEIGHT="{y1 - y0}"'

    def union(boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
        return (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )

    pid = f"p{page_no:04d}"
    lines_xml = []
    all_boxes = []
    for li, col in enumerate(columns, 1):
        boxes = [g.box for g in col.glyphs]
        all_boxes += boxes
        strings = "\n".join(
            f'            <String ID="{pid}_l{li:02d}_s{si:02d}" {box_attrs(g.box)} '
            f"CONTENT={quoteattr(g.char)}/>"
            for si, g in enumerate(col.glyphs, 1)
        )
        lines_xml.append(
            f'          <TextLine ID="{pid}_l{li:02d}" {box_attrs(union(boxes))} BASEDIRECTION="ttb">\n'
            f"{strings}\n          </TextLine>"
        )
    lines = "\n".join(lines_xml)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alto xmlns="http://www.loc.gov/standards/alto/ns-v4#"
      xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
      xsi:schemaLocation="http://www.loc.gov/standards/alto/ns-v4# http://www.loc.gov/standards/alto/v4/alto-4-4.xsd"
      SCHEMAVERSION="4.4">
  <Description>
    <MeasurementUnit>pixel</MeasurementUnit>
    <sourceImageInformation>
      <fileName>{image_name}</fileName>
    </sourceImageInformation>
    <Processing ID="gen1">
      <processingCategory>contentGeneration</processingCategory>
      <processingAgency>粵藏 Yuecang sample archive</processingAgency>
      <processingStepDescription>Synthetic page drawn by {GENERATOR}; every String box is the measured ink box of the glyph as drawn (not OCR).</processingStepDescription>
      <processingSoftware>
        <softwareName>{GENERATOR}</softwareName>
      </processingSoftware>
    </Processing>
  </Description>
  <Layout>
    <Page ID="{pid}" PHYSICAL_IMG_NR="{page_no}" WIDTH="{W}" HEIGHT="{H}" LANG="lzh" PROCESSINGREFS="gen1">
      <PrintSpace HPOS="{FRAME[0]}" VPOS="{FRAME[1]}" WIDTH="{FRAME[2] - FRAME[0]}" HEIGHT="{FRAME[3] - FRAME[1]}">
        <TextBlock ID="{pid}_b1" {box_attrs(union(all_boxes))} LANG="lzh" BASEDIRECTION="ttb">
{lines}
        </TextBlock>
      </PrintSpace>
    </Page>
  </Layout>
</alto>
"""


def generate_dadian() -> None:
    """Pages, text, ALTO and volume.json for dadian/sanzijing-v1."""
    out = HERE / "dadian" / "sanzijing-v1"
    for sub in ("pages", "text", "alto"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir(parents=True)
    sheets = layout_volume()
    assert len(sheets) == 10, f"layout gives {len(sheets)} pages, expected 10"
    pages = []
    for n, sheet in enumerate(sheets, 1):
        name = f"{n:04d}"
        sheet.render(out / "pages" / f"{name}.jpg")
        (out / "text" / f"{name}.txt").write_text(
            "".join(c.text + "\n" for c in sheet.columns), encoding="utf-8"
        )
        (out / "alto" / f"{name}.xml").write_text(
            alto_xml(n, f"{name}.jpg", sheet.columns), encoding="utf-8"
        )
        pages.append(
            {
                "file": f"pages/{name}.jpg",
                "label": "內封" if n == 1 else f"第{cn_number(n - 1)}葉",
                "image_id": None,
                "text": f"text/{name}.txt",
                "alto": f"alto/{name}.xml",
            }
        )
    volume = {
        "format": FORMAT,
        "id": "gzdd-sanzijing-v1",
        "kind": "book_volume",
        "institution": "gzlib",
        "collection": "gzdd-jing",
        "work": {
            "id": "gzdd-sanzijing",
            "title": {
                "original": "三字經",
                "zh-Hant": "三字經",
                "zh-Hans": "三字经",
                "en": "Three Character Classic",
            },
            "class": "經",
            "subclass": "小學類",
            "edition": f"清光緒十年廣州{PUBLISHER}刻本 (fictitious)",
            "agents": [
                {
                    "name": {
                        "original": "區適子",
                        "zh-Hant": "區適子",
                        "zh-Hans": "区适子",
                        "en": "Ou Shizi",
                    },
                    "role": "author",
                    "dynasty": "宋",
                }
            ],
        },
        "volume": 1,
        "dadian_ref": "GZDD-JING-0001",
        "title": {
            "original": "三字經 卷上",
            "zh-Hant": "三字經 卷上",
            "zh-Hans": "三字经 卷上",
            "en": "Three Character Classic, first juan",
        },
        "description": {
            "original": "三字經卷上，宋順德區適子撰。示例資料：書影由粵藏以程式繪製，"
            f"版本「光緒十年廣州{PUBLISHER}藏板」及「粵藏示例」印章均屬虛構；正文屬公有領域。",
            "zh-Hans": "三字经卷上，宋顺德区适子撰。示例资料：书影由粤藏以程序绘制，"
            "版本“光绪十年广州粤藏堂藏板”及“粤藏示例”印章均属虚构；正文属公有领域。",
            "en": "First juan of the Three Character Classic, attributed to Ou Shizi of Shunde "
            "(Song). Sample data: the page images were drawn by the Yuecang project's "
            "generator with Noto fonts; the edition (Guangxu 10 = 1884, Yuecang Hall, "
            "Guangzhou) and the red seal are fictitious. The text is in the public domain.",
        },
        "date": "清光緒十年",
        "language": ["lzh"],
        "agents": [
            {
                "name": {
                    "original": f"{PUBLISHER}",
                    "en": "Yuecang Hall (fictitious publisher)",
                },
                "role": "publisher",
            }
        ],
        "places": [
            {
                "name": {"original": "廣州", "zh-Hans": "广州", "en": "Guangzhou"},
                "lat": 23.1291,
                "lon": 113.2644,
            },
            {
                "name": {"original": "順德", "zh-Hans": "顺德", "en": "Shunde"},
                "lat": 22.8058,
                "lon": 113.2933,
            },
        ],
        "rights": {
            "uri": PDM,
            "statement": {
                "zh-Hant": "三字經正文屬公有領域；本示例書影由粵藏項目生成，無已知版權限制。",
                "en": "The text is in the public domain; these sample page images were "
                "generated by the Yuecang project and carry no known copyright restrictions.",
            },
        },
        "access": "public",
        "embargo_until": None,
        "themes": ["lingnan"],
        "pages": pages,
        "toc": [
            {"label": "內封", "first": 1, "last": 1},
            {"label": "卷上", "first": 2, "last": len(pages)},
        ],
    }
    write_json(out / "volume.json", volume)
    log.info(f"dadian: {len(pages)} pages, {len(SANZIJING)} text characters")


# ================================================================ 2. Oral history
#: A fictional interviewee: 梁伯, born 1926, whose family ran a tea-house in Xiguan.
MONOLOGUE = """\
我姓梁，街坊都叫我梁伯。我哋屋企喺西關開茶樓，開咗三代人。
一九三八年，我先至十二歲。嗰年日本軍嘅飛機成日嚟轟炸廣州，警報一響，成條街嘅人都要走去防空洞匿埋。
我阿爸話，茶樓唔可以停，街坊冇地方去，都要有啖茶飲。
朝早五點，師傅已經喺廚房整點心，蝦餃、燒賣、叉燒包，一籠一籠咁蒸。
啲老街坊一盅兩件，坐喺度講吓時局，講吓邊度又炸咗。
有啲後生仔喺茶樓度派傳單，叫大家齊心抗日，佢哋好多後來都冇返嚟。
有一日，炸彈跌咗喺隔籬街，成間茶樓啲玻璃都震爛晒，我哋一家人攬住一齊匿喺樓梯底，唔敢出聲。
到咗十月，廣州淪陷，好多人走難去香港，茶樓都要閂門。
而家我老咗，每次同孫仔去飲茶，聽到啲杯碟聲，我就諗返起嗰段日子。
呢啲嘢唔講，後生一輩就唔會知㗎喇。
"""


def espeak(text: str, wav: Path, speed: int, voice: str = "yue") -> float:
    """Speak ``text`` with espeak-ng into ``wav``; return the duration in seconds."""
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), text],
        check=True,
        capture_output=True,
    )
    with wave.open(str(wav)) as w:
        return w.getnframes() / w.getframerate()


def generate_oral() -> None:
    """reference.txt, interview.flac and item.json for the tea-house monologue."""
    out = HERE / "oral-history" / "teahouse-1938"
    out.mkdir(parents=True, exist_ok=True)
    (out / "reference.txt").write_text(MONOLOGUE, encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        # Pick the espeak speed (words per minute) that lands nearest 62 s, within 55-70 s.
        best = min((abs(espeak(MONOLOGUE, wav, s) - 62), s) for s in range(130, 200, 5))
        speed = best[1]
        espeak(MONOLOGUE, wav, speed)
        flac = out / "interview.flac"
        flac.unlink(missing_ok=True)
        # 0.6 s of room tone either side, normalised to -1 dBFS, 16 kHz mono 16-bit.
        subprocess.run(
            [
                "sox",
                "-R",
                str(wav),
                "-C",
                "8",
                "-r",
                "16000",
                "-c",
                "1",
                "-b",
                "16",
                str(flac),
                "pad",
                "0.6",
                "0.6",
                "gain",
                "-n",
                "-1",
            ],
            check=True,
        )
    dur = float(
        subprocess.run(
            ["soxi", "-D", str(flac)], capture_output=True, text=True, check=True
        ).stdout
    )
    assert 55 <= dur <= 70, dur
    item = {
        "format": FORMAT_2,
        "id": "oh-teahouse-1938",
        "kind": "oral_history",
        "institution": "liwan",
        "collection": "oral-history",
        "title": {
            "original": "西關茶樓憶一九三八",
            "zh-Hant": "西關茶樓憶一九三八",
            "zh-Hans": "西关茶楼忆一九三八",
            "en": "Remembering 1938 in a Xiguan tea-house",
        },
        "description": {
            "original": "示例口述歷史：虛構人物「梁伯」憶述一九三八年西關茶樓、空襲與飲茶點心。"
            "人物及內容均屬虛構，聲音為 espeak-ng 合成語音（粵語），並非真人錄音。",
            "zh-Hans": "示例口述历史：虚构人物“梁伯”忆述一九三八年西关茶楼、空袭与饮茶点心。"
            "人物及内容均属虚构，声音为 espeak-ng 合成语音（粤语），并非真人录音。",
            "en": "Sample oral history: the fictional 'Uncle Leung' remembers his family's "
            "Xiguan tea-house in 1938, the air raids, yum cha and dim sum. The person "
            "and story are fictional and the voice is synthetic (espeak-ng, Cantonese), "
            "not a real recording.",
        },
        "date": "2026-11",
        "language": ["yue"],
        "dialect": "廣州話",
        "agents": [
            {
                "name": {
                    "original": "梁伯",
                    "zh-Hans": "梁伯",
                    "en": "Uncle Leung (fictional)",
                },
                "role": "interviewee",
            },
            {
                "name": {"original": "espeak-ng", "en": "espeak-ng (synthetic voice)"},
                "role": "narrator",
            },
        ],
        "places": [
            {
                "name": {"original": "西關", "zh-Hans": "西关", "en": "Xiguan"},
                "lat": 23.124,
                "lon": 113.242,
            }
        ],
        "rights": {
            "uri": CC_BY,
            "statement": {
                "zh-Hant": "粵藏項目製作的合成示例錄音，以 CC BY 4.0 授權。",
                "en": "Synthetic sample recording made by the Yuecang project, licensed CC BY 4.0.",
            },
        },
        "access": "public",
        "embargo_until": None,
        # Batch format 2: the interviewee's consent, with one closed passage.
        "consent": {
            "allowed": "public",
            "valid_until": None,
            "signed_on": "2026-11-02",
            "notes": "示例同意紀錄：梁伯為虛構人物，並無簽署的同意書。"
            "Sample consent: Uncle Leung is fictional; there is no signed form.",
            "closed": [
                {
                    "start": "00:00:39",
                    "end": "00:00:48.5",
                    "until": None,
                    "reason": "受訪者要求不公開家人避難的一段（示例）",
                }
            ],
        },
        "themes": ["lingnan", "red"],
        "media": [{"file": "interview.flac", "reference_text": "reference.txt"}],
    }
    write_json(out / "item.json", item)
    log.info(f"oral: espeak speed {speed}, {dur:.1f} s, {flac.stat().st_size} bytes")


# ================================================================== 3. Documentary
NARRATION = [
    "五十年代嘅珠江，由朝到晚都好熱鬧。",
    "疍家艇喺江面搖嚟搖去，渡輪由海珠橋底下慢慢駛過。",
    "岸邊嘅騎樓同碼頭，住滿咗靠江搵食嘅街坊。",
]
VW, VH, FPS = 640, 360, 24
TITLE_SECONDS = 3.0


def generate_documentary() -> None:
    """reference.txt, clip.mp4 and item.json for the Pearl River clip."""
    import av  # imported here so the other parts run without PyAV

    out = HERE / "documentary" / "pearl-river-1950s"
    out.mkdir(parents=True, exist_ok=True)
    (out / "reference.txt").write_text("\n".join(NARRATION) + "\n", encoding="utf-8")
    sr = 22050
    # Narration: one espeak call per sentence so subtitles can follow the voice.
    cues, chunks, t = [], [], TITLE_SECONDS
    with tempfile.TemporaryDirectory() as tmp:
        for i, sentence in enumerate(NARRATION):
            wav = Path(tmp) / f"n{i}.wav"
            espeak(sentence, wav, 165)
            with wave.open(str(wav)) as w:
                assert w.getframerate() == sr
                pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(
                    np.float32
                )
            pcm /= 32768.0
            chunks.append((t, pcm))
            cues.append((t, t + len(pcm) / sr, sentence))
            t += len(pcm) / sr + 0.45
    duration = max(15.0, round(t + 1.0, 2))  # the last sentence, a pause, the fade
    assert duration <= 20.0, f"narration too long for a 15-20 s clip: {duration:.1f} s"
    n_samples = int(duration * sr)
    audio = np.zeros(n_samples, np.float32)
    for start, pcm in chunks:
        i = int(start * sr)
        audio[i : i + len(pcm)] += pcm[: n_samples - i] * 0.8
    # Quiet river ambience under the scene (low-passed noise), fading in after the title.
    rng = np.random.default_rng(7)
    noise = np.convolve(rng.normal(0, 1, n_samples), np.ones(40) / 40, "same").astype(
        np.float32
    )
    env = np.clip((np.arange(n_samples) / sr - TITLE_SECONDS + 0.5) / 1.5, 0, 1)
    audio += noise * 0.05 * env
    fade = np.clip((duration - np.arange(n_samples) / sr) / 0.8, 0, 1)
    audio = np.clip(audio * fade, -1, 1).astype(np.float32)

    path = out / "clip.mp4"
    path.unlink(missing_ok=True)
    container = av.open(
        str(path), "w", format="mp4", options={"movflags": "+faststart"}
    )
    container.metadata["title"] = "珠江舊影（示意短片）"
    container.metadata["comment"] = (
        "Synthetic demo clip generated by ingest/sample/generate.py; voice: espeak-ng"
    )
    vs = container.add_stream("libx264", rate=FPS)
    vs.width, vs.height, vs.pix_fmt = VW, VH, "yuv420p"
    vs.options = {
        "crf": "27",
        "preset": "slow",
        "threads": "1",
        "x264-params": "threads=1",
    }
    as_ = container.add_stream("aac", rate=sr)
    as_.layout = "mono"
    as_.bit_rate = 48000
    scene = RiverScene(seed=11)
    n_frames = int(round(duration * FPS))
    frame_size, a_pos = 1024, 0
    for fi in range(n_frames):
        tsec = fi / FPS
        img = scene.frame(tsec, duration, cues)
        vf = av.VideoFrame.from_image(img)
        vf.pts = fi
        vf.time_base = fractions.Fraction(1, FPS)
        for pkt in vs.encode(vf):
            container.mux(pkt)
        # Keep audio a little ahead of video so the muxer interleaves evenly.
        while a_pos < n_samples and a_pos / sr <= tsec + 0.5:
            chunk = audio[a_pos : a_pos + frame_size]
            if len(chunk) < frame_size:
                chunk = np.pad(chunk, (0, frame_size - len(chunk)))
            af = av.AudioFrame.from_ndarray(
                chunk[None, :], format="fltp", layout="mono"
            )
            af.sample_rate, af.pts = sr, a_pos
            af.time_base = fractions.Fraction(1, sr)
            for pkt in as_.encode(af):
                container.mux(pkt)
            a_pos += frame_size
    for pkt in vs.encode():
        container.mux(pkt)
    for pkt in as_.encode():
        container.mux(pkt)
    container.close()

    item = {
        "format": FORMAT,
        "id": "doc-pearl-river-1950s",
        "kind": "documentary_video",
        "institution": "gzlib",
        "collection": "documentary",
        "title": {
            "original": "珠江舊影（示意短片）",
            "zh-Hant": "珠江舊影（示意短片）",
            "zh-Hans": "珠江旧影（示意短片）",
            "en": "The Pearl River in the 1950s (synthetic demo clip)",
        },
        "description": {
            "original": "示例紀錄片：以程式繪製的五十年代風格珠江動畫（疍家艇、帆船、渡輪、海珠橋），"
            "粵語旁白為 espeak-ng 合成語音，並非歷史影像。",
            "zh-Hans": "示例纪录片：以程序绘制的五十年代风格珠江动画（疍家艇、帆船、渡轮、海珠桥），"
            "粤语旁白为 espeak-ng 合成语音，并非历史影像。",
            "en": "Sample documentary: a generated animation of the Pearl River in a 1950s "
            "style (sampans, a junk, a ferry, Haizhu Bridge) with a synthetic Cantonese "
            "narration by espeak-ng. It is not historical footage.",
        },
        "date": "2026-11",
        "language": ["yue"],
        "dialect": "廣州話",
        "agents": [
            {
                "name": {"original": "espeak-ng", "en": "espeak-ng (synthetic voice)"},
                "role": "narrator",
            }
        ],
        "places": [
            {
                "name": {"original": "珠江", "zh-Hans": "珠江", "en": "Pearl River"},
                "lat": 23.1155,
                "lon": 113.2650,
            },
            {
                "name": {
                    "original": "海珠橋",
                    "zh-Hans": "海珠桥",
                    "en": "Haizhu Bridge",
                },
                "lat": 23.1172,
                "lon": 113.2700,
            },
        ],
        "rights": {
            "uri": CC_BY,
            "statement": {
                "zh-Hant": "粵藏項目製作的合成示例影片，以 CC BY 4.0 授權。",
                "en": "Synthetic sample clip made by the Yuecang project, licensed CC BY 4.0.",
            },
        },
        "access": "public",
        "embargo_until": None,
        "themes": ["maritime"],
        "media": [{"file": "clip.mp4", "reference_text": "reference.txt"}],
    }
    write_json(out / "item.json", item)
    log.info(
        f"documentary: {duration:.2f} s, {n_frames} frames, {path.stat().st_size} bytes"
    )


class RiverScene:
    """A sepia, old-film style Pearl River: skyline, Haizhu Bridge, boats, subtitles."""

    SKY_TOP, SKY_LOW = np.array([232, 216, 186]), np.array([206, 186, 150])
    WATER_TOP, WATER_LOW = np.array([150, 128, 98]), np.array([96, 78, 58])
    DARK = (70, 54, 40)
    HORIZON = 176

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        y = np.arange(VH, dtype=np.float32)[:, None, None]
        sky = self.SKY_TOP + (self.SKY_LOW - self.SKY_TOP) * np.clip(
            y / self.HORIZON, 0, 1
        )
        wat = self.WATER_TOP + (self.WATER_LOW - self.WATER_TOP) * np.clip(
            (y - self.HORIZON) / (VH - self.HORIZON), 0, 1
        )
        bg = np.where(y < self.HORIZON, sky, wat) * np.ones((1, VW, 1))
        self.background = Image.fromarray(bg.astype(np.uint8), "RGB")
        self._draw_far_bank(ImageDraw.Draw(self.background))
        yy, xx = np.mgrid[0:VH, 0:VW].astype(np.float32)
        r = np.hypot((xx - VW / 2) / (VW / 2), (yy - VH / 2) / (VH / 2))
        self.vignette = (1 - 0.35 * np.clip(r - 0.55, 0, 1) ** 1.5)[..., None]
        self.sub_font = cjk_font(24, serif=False, bold=True)
        self.title_font = cjk_font(96, bold=True)
        self.small_font = cjk_font(26)
        self.tiny_font = cjk_font(17, serif=False)
        self.flicker = 1 + self.rng.normal(0, 0.018, 2000)
        self.scratches = [
            (int(self.rng.integers(0, 2000)), float(self.rng.uniform(0, VW)))
            for _ in range(60)
        ]
        self.waves = [
            (
                self.rng.uniform(0, VW),
                self.rng.uniform(self.HORIZON + 6, VH - 4),
                self.rng.uniform(8, 30),
            )
            for _ in range(140)
        ]

    def _draw_far_bank(self, d: ImageDraw.ImageDraw) -> None:
        """The 長堤 skyline: arcaded shophouses, the stepped 愛群大廈, Haizhu Bridge."""
        rng, hz = self.rng, self.HORIZON
        x = 0
        while x < VW:
            w, h = int(rng.integers(18, 40)), int(rng.integers(16, 40))
            d.rectangle([x, hz - h, x + w, hz], fill=(150, 128, 100))
            for wx in range(x + 3, x + w - 4, 7):  # windows
                d.rectangle([wx, hz - h + 5, wx + 3, hz - h + 9], fill=(120, 100, 78))
            x += w + int(rng.integers(0, 4))
        # The stepped tower of the Oi Kwan (愛群) building, landmark of the 1950s bund.
        tx = 452
        for half, height in [(24, 70), (18, 86), (12, 98), (6, 108), (1.5, 122)]:
            d.rectangle([tx - half, hz - height, tx + half, hz], fill=(128, 108, 84))
        # Haizhu Bridge: three truss spans on piers, on the left of the view.
        deck = hz - 8
        d.rectangle([0, deck, 330, deck + 5], fill=self.DARK)
        for x0 in (0, 110, 220):
            pts = [
                (x0 + t, deck - 26 * np.sin(np.pi * t / 110)) for t in range(0, 111, 5)
            ]
            d.line(pts, fill=self.DARK, width=3)
            for t in range(0, 111, 11):
                d.line(
                    [(x0 + t, deck), (x0 + t, deck - 26 * np.sin(np.pi * t / 110))],
                    fill=self.DARK,
                    width=1,
                )
            d.rectangle([x0 - 3, deck, x0 + 3, deck + 14], fill=self.DARK)

    @staticmethod
    def _sampan(d: ImageDraw.ImageDraw, x: float, y: float, s: float, t: float) -> None:
        """疍家艇: low hull, arched mat canopy, a rower at the stern."""
        col = (58, 44, 32)
        d.polygon(
            [
                (x - 40 * s, y - 6 * s),
                (x + 44 * s, y - 8 * s),
                (x + 34 * s, y + 4 * s),
                (x - 32 * s, y + 4 * s),
            ],
            fill=col,
        )
        d.chord(
            [x - 18 * s, y - 24 * s, x + 18 * s, y + 4 * s], 180, 360, fill=(92, 72, 50)
        )
        rx = x + 34 * s
        d.line([(rx, y - 8 * s), (rx, y - 26 * s)], fill=col, width=max(1, int(3 * s)))
        d.ellipse([rx - 4 * s, y - 33 * s, rx + 4 * s, y - 25 * s], fill=col)
        sw = 10 * s * np.sin(t * 2.2)
        d.line(
            [(rx, y - 18 * s), (rx + 20 * s + sw, y + 10 * s)],
            fill=col,
            width=max(1, int(2 * s)),
        )

    @staticmethod
    def _junk(d: ImageDraw.ImageDraw, x: float, y: float, s: float) -> None:
        """A two-masted junk with battened sails."""
        col = (64, 48, 34)
        d.polygon(
            [
                (x - 60 * s, y - 14 * s),
                (x + 64 * s, y - 16 * s),
                (x + 50 * s, y + 4 * s),
                (x - 48 * s, y + 4 * s),
            ],
            fill=col,
        )
        for mx, h, w in ((x - 8 * s, 86 * s, 44 * s), (x + 34 * s, 60 * s, 30 * s)):
            d.line([(mx, y - 14 * s), (mx, y - 14 * s - h)], fill=col, width=2)
            sail = [
                (mx - 3, y - 22 * s),
                (mx + w, y - 26 * s),
                (mx + w * 0.8, y - 14 * s - h),
                (mx - 3, y - 10 * s - h),
            ]
            d.polygon(sail, fill=(120, 84, 56))
            for k in range(1, 6):
                f = k / 6
                ya = y - 22 * s - (h - 12 * s) * f
                d.line(
                    [(mx - 3, ya), (mx + w - 0.2 * w * f, ya - 4 * s)],
                    fill=col,
                    width=1,
                )

    @staticmethod
    def _ferry(d: ImageDraw.ImageDraw, x: float, y: float, t: float) -> None:
        """A small steam ferry with a smoking funnel (seen far off)."""
        col = (76, 60, 44)
        d.polygon(
            [(x - 46, y - 8), (x + 46, y - 8), (x + 38, y + 2), (x - 40, y + 2)],
            fill=col,
        )
        d.rectangle([x - 30, y - 20, x + 26, y - 8], fill=(104, 86, 64))
        for wx in range(int(x - 26), int(x + 24), 8):
            d.rectangle([wx, y - 17, wx + 4, y - 12], fill=(170, 150, 118))
        d.rectangle([x + 2, y - 34, x + 10, y - 20], fill=col)
        for k in range(6):  # smoke drifts back (to the right) and spreads
            age = (t * 1.3 + k * 0.6) % 3.6
            r = 4 + age * 5
            sx, sy = x + 6 + age * 18, y - 38 - age * 9
            shade = int(150 + age * 18)
            d.ellipse(
                [sx - r, sy - r * 0.7, sx + r, sy + r * 0.7],
                fill=(shade, shade - 14, shade - 32),
            )

    def frame(
        self, t: float, duration: float, cues: list[tuple[float, float, str]]
    ) -> Image.Image:
        """Render the frame at time ``t`` seconds."""
        scene = self.background.copy()
        d = ImageDraw.Draw(scene)
        for wx, wy, wl in self.waves:  # shimmer: dashes drifting with the current
            depth = (wy - self.HORIZON) / (VH - self.HORIZON)
            x = (wx + t * (6 + 22 * depth)) % (VW + 40) - 20
            yo = 1.5 * np.sin(t * 2 + wx)
            shade = int(170 - 50 * depth)
            d.line(
                [(x, wy + yo), (x + wl * (0.4 + depth), wy + yo)],
                fill=(shade, shade - 18, shade - 40),
                width=1 + int(depth * 2),
            )
        self._ferry(d, 700 - t * 26, self.HORIZON + 16, t)
        self._junk(d, -80 + t * 30, 232 + 2 * np.sin(t * 1.3), 0.9)
        self._sampan(d, 720 - t * 44, 300 + 3 * np.sin(t * 1.9), 1.25, t)
        self._sampan(d, 120 + t * 14, 326 + 2 * np.sin(t * 1.5 + 1), 1.5, t + 1)
        for start, end, text in cues:
            if start <= t < end + 0.3:
                self._subtitle(d, text)
        arr = np.asarray(scene, np.float32)
        # Title card, cross-fading into the scene.
        if t < TITLE_SECONDS + 0.6:
            card = np.asarray(self._title_card(), np.float32)
            k = np.clip((t - TITLE_SECONDS + 0.1) / 0.6, 0, 1)
            arr = card * (1 - k) + arr * k
        fi = int(t * FPS)
        arr = arr * self.vignette * self.flicker[fi % len(self.flicker)]
        fade = min(1.0, t / 0.6, (duration - t) / 0.7)
        arr *= max(fade, 0.0)
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
        sd = ImageDraw.Draw(img)
        for f0, sx in self.scratches:  # brief film scratches
            if f0 <= fi < f0 + 3:
                sd.line([(sx, 0), (sx + 3, VH)], fill=(228, 214, 190), width=1)
        return img

    def _subtitle(self, d: ImageDraw.ImageDraw, text: str) -> None:
        d.text(
            (VW / 2, VH - 28),
            text,
            font=self.sub_font,
            fill=(250, 246, 236),
            anchor="mm",
            stroke_width=2,
            stroke_fill=(20, 16, 12),
        )

    def _title_card(self) -> Image.Image:
        if not hasattr(self, "_card"):
            card = Image.new("RGB", (VW, VH), (44, 34, 26))
            d = ImageDraw.Draw(card)
            d.rectangle([24, 20, VW - 24, VH - 20], outline=(170, 150, 118), width=2)
            d.text(
                (VW / 2, 140),
                "珠江",
                font=self.title_font,
                fill=(236, 222, 196),
                anchor="mm",
            )
            d.text(
                (VW / 2, 228),
                "一九五〇年代 · 示意短片",
                font=self.small_font,
                fill=(210, 194, 164),
                anchor="mm",
            )
            d.text(
                (VW / 2, 296),
                "粵藏示例：畫面由程式繪製，旁白為 espeak-ng 合成語音",
                font=self.tiny_font,
                fill=(170, 154, 126),
                anchor="mm",
            )
            self._card = card
        return self._card


# ============================================================== 4. IIIF validator
VALIDATOR_ID = "67352ccc-d1b0-11e1-89ae-279075081939"


def generate_iiif(source: Path = SHARED_IIIF) -> None:
    """Copy the IIIF validator image (sample item) and fixtures (tests/data/iiif)."""
    png = source / f"{VALIDATOR_ID}.png"
    if not png.exists():
        log.warning("iiif: %s not found, skipped", png)
        return
    out = HERE / "iiif-validator"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(png, out / png.name)
    tests = REPO / "tests" / "data" / "iiif"
    tests.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(png, tests / png.name)
    shutil.copyfile(source / "iiif_3_0.json", tests / "iiif_3_0.json")
    shutil.rmtree(tests / "pv-fixtures", ignore_errors=True)
    shutil.copytree(
        source / "pv-fixtures", tests / "pv-fixtures", copy_function=shutil.copyfile
    )
    fixtures = tests / "pv-fixtures"
    for p in [fixtures, *fixtures.rglob("*")]:  # the shared copy is read-only
        p.chmod(0o755 if p.is_dir() else 0o644)
    item = {
        "format": FORMAT,
        "id": "iiif-validator-test-image",
        "kind": "image_set",
        "institution": "gzlib",
        "collection": "iiif-test",
        "title": {
            "original": "IIIF Image API validator test image",
            "zh-Hant": "IIIF 圖像接口驗證測試圖",
            "zh-Hans": "IIIF 图像接口验证测试图",
            "en": "IIIF Image API validator test image",
        },
        "description": {
            "original": "The official IIIF Image API validator's test image, served under the "
            f"identifier {VALIDATOR_ID} so that iiif-validate.py can check our Image API.",
            "en": "The official IIIF Image API validator's test image, served under the "
            f"identifier {VALIDATOR_ID} so that iiif-validate.py can check our Image API.",
        },
        "language": ["zxx"],
        "rights": {
            "uri": RS_INC,
            "statement": {
                "zh-Hant": "來自 IIIF/image-validator 代碼庫，以 Apache-2.0 授權發佈。",
                "en": "From the IIIF/image-validator repository (html/"
                + png.name
                + "), "
                "licensed under the Apache License 2.0.",
            },
            "license": {
                "name": "Apache-2.0",
                "uri": "https://www.apache.org/licenses/LICENSE-2.0",
            },
        },
        "access": "public",
        "embargo_until": None,
        "themes": [],
        "pages": [{"file": png.name, "label": "test image", "image_id": VALIDATOR_ID}],
    }
    write_json(out / "item.json", item)
    log.info("iiif: copied validator image and fixtures")


# ===================================================== 6. Institutions and collections
def generate_metadata() -> None:
    """institutions.json: the institutions and collections the items refer to."""
    data = {
        "format": FORMAT,
        "institutions": [
            {
                "code": "gzlib",
                "kind": "central",
                "name": {
                    "zh-Hant": "廣州圖書館",
                    "zh-Hans": "广州图书馆",
                    "en": "Guangzhou Library",
                },
            },
            {
                "code": "liwan",
                "kind": "district",
                "name": {
                    "zh-Hant": "荔灣區圖書館",
                    "zh-Hans": "荔湾区图书馆",
                    "en": "Liwan District Library",
                },
            },
            {
                "code": "gzdd-centre",
                "kind": "partner",
                "name": {
                    "zh-Hant": "廣州大典研究中心",
                    "zh-Hans": "广州大典研究中心",
                    "en": "Guangzhou Dadian Research Centre",
                },
            },
        ],
        "collections": [
            {
                "code": "gzdd",
                "institution": "gzlib",
                "parent": None,
                "title": {
                    "zh-Hant": "廣州大典",
                    "zh-Hans": "广州大典",
                    "en": "Guangzhou Dadian",
                },
            },
            {
                "code": "gzdd-jing",
                "institution": "gzlib",
                "parent": "gzdd",
                "title": {
                    "zh-Hant": "經部",
                    "zh-Hans": "经部",
                    "en": "Classics (jing)",
                },
            },
            {
                "code": "oral-history",
                "institution": "liwan",
                "parent": None,
                "title": {
                    "zh-Hant": "粵語口述歷史",
                    "zh-Hans": "粤语口述历史",
                    "en": "Cantonese Oral History",
                },
            },
            {
                "code": "documentary",
                "institution": "gzlib",
                "parent": None,
                "title": {
                    "zh-Hant": "紀錄片",
                    "zh-Hans": "纪录片",
                    "en": "Documentary Film",
                },
            },
            {
                "code": "iiif-test",
                "institution": "gzlib",
                "parent": None,
                "title": {
                    "zh-Hant": "IIIF 測試資料",
                    "zh-Hans": "IIIF 测试资料",
                    "en": "IIIF Test Material",
                },
            },
        ],
    }
    write_json(HERE / "institutions.json", data)
    log.info("metadata: institutions.json")


def write_json(path: Path, data: dict) -> None:
    path.write_text(
        json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


PARTS = {
    "metadata": generate_metadata,
    "dadian": generate_dadian,
    "oral": generate_oral,
    "documentary": generate_documentary,
    "iiif": generate_iiif,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "parts",
        nargs="*",
        metavar="PART",
        help=f"parts to (re)generate, of: {', '.join(PARTS)}; default: all",
    )
    args = parser.parse_args(argv)
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in args.parts or PARTS:
        PARTS[name]()


if __name__ == "__main__":
    main()
