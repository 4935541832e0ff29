"""Fixtures of the ingest tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ingest.deliveries import INSTITUTIONS, scan, volume


@pytest.fixture
def delivery(tmp_path) -> Path:
    """A delivery of one four-page volume, with 版心 folios, a blank leaf and a toc."""
    root = tmp_path / "delivery"
    root.mkdir()
    (root / "institutions.json").write_text(json.dumps(INSTITUTIONS), "utf-8")
    folder = root / "fuzhi-v1"
    for n in range(1, 5):
        scan(folder / "pages" / f"{n:04d}.jpg", seed=n)
    volume(
        root,
        "fuzhi-v1",
        [
            {"file": "pages/0001.jpg", "label": "書衣"},
            {"file": "pages/0002.jpg", "label": "卷一 葉一", "folio": "一"},
            {"file": "pages/0003.jpg", "label": "卷一 葉二", "folio": "二"},
            {"file": "pages/0004.jpg", "label": "空白葉", "blank": True},
        ],
        toc=[{"label": "卷一", "first": 2, "last": 3}],
    )
    return root
