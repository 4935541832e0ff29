"""Display-only conversion between Traditional and Simplified Chinese (OpenCC).

Stored text is never changed: templates convert a copy for the reader's
繁/简 choice. Search normalisation lives with the search analyzer.
"""

from __future__ import annotations

from functools import lru_cache

import opencc

#: OpenCC configurations for display: Simplified, and Traditional (Hong Kong forms).
_CONFIGS = {"hans": "t2s", "hant": "s2hk"}


@lru_cache(maxsize=4)
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def convert_for_display(text: str, script: str) -> str:
    """Return ``text`` in the reader's script; ``orig`` (or anything else) leaves it as stored."""
    if not text or script not in _CONFIGS:
        return text
    return _converter(_CONFIGS[script]).convert(text)
