"""Deliveries built in a test's folder: small generated scans and volume.json files."""

from __future__ import annotations

import json
from pathlib import Path

import pyvips

INSTITUTIONS = {
    "format": "yuecang-batch/1",
    "institutions": [
        {
            "code": "gzlib",
            "kind": "central",
            "name": {
                "zh-Hant": "廣州圖書館",
                "zh-Hans": "广州图书馆",
                "en": "Guangzhou Library",
            },
        }
    ],
    "collections": [
        {
            "code": "gzdd-shi",
            "institution": "gzlib",
            "parent": None,
            "title": {"zh-Hant": "史部", "zh-Hans": "史部", "en": "Histories"},
        }
    ],
}


def scan(path: Path, *, width: int = 480, height: int = 720, seed: int = 0) -> Path:
    """A small page scan: grain plus a dark block whose place depends on ``seed``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    grain = pyvips.Image.gaussnoise(width, height, mean=200, sigma=12, seed=seed)
    block = pyvips.Image.black(width // 4, height // 6) + 30
    page = grain.insert(block, (seed * 37) % (width // 2), (seed * 53) % (height // 2))
    page = page.cast("uchar").colourspace("srgb")
    page.jpegsave(str(path), Q=85)
    return path


def volume(
    root: Path,
    name: str,
    pages: list[dict],
    *,
    item_id: str | None = None,
    toc=None,
    access: str = "public",
) -> Path:
    """Write a volume folder's volume.json (format 2) for pages already in ``root/name``."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "format": "yuecang-batch/2",
        "id": item_id or name,
        "kind": "book_volume",
        "institution": "gzlib",
        "collection": "gzdd-shi",
        "work": {
            "id": "gzdd-guangzhou-fuzhi",
            "title": {
                "original": "廣州府志",
                "zh-Hans": "广州府志",
                "en": "Gazetteer of Guangzhou",
            },
            "class": "史",
            "subclass": "地理類",
            "edition": "清光緒五年刻本",
            "agents": [
                {"name": {"original": "戴肇辰"}, "role": "editor", "dynasty": "清"}
            ],
        },
        "volume": 1,
        "title": {"original": "廣州府志 卷一"},
        "language": ["lzh"],
        "rights": {
            "uri": "http://creativecommons.org/publicdomain/mark/1.0/",
            "statement": {"zh-Hant": "廣州圖書館藏", "en": "Guangzhou Library"},
        },
        "access": access,
        "themes": ["lingnan"],
        "pages": pages,
    }
    if toc:
        data["toc"] = toc
    (folder / "volume.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return folder
