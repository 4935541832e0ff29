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


#: Characters that are proper Traditional characters in their own right but
#: that OpenCC's Simplified-to-Traditional conversion may rewrite (卷上 → 捲上,
#: 干戈 → 幹戈, 皇后 → 皇後, 公里 → 公裏). A text whose only changes would be
#: to these is not Simplified: it is shown as written.
TRADITIONAL_AS_WELL = frozenset(
    "卷干后里台面丑斗征冲采范准余沈游佣吁咸朴云着只系松板谷才克志制注借表周折向布秋困"
)


def _traditional_for_display(text: str) -> str:
    """``text`` in Traditional characters (Hong Kong forms), never rewriting Traditional text.

    Converting text that is already Traditional would corrupt it, because
    OpenCC reads it as Simplified: 三字經 卷上 would become 三字經 捲上. So text
    with any character that only Traditional writing uses is left as it is,
    and so is text whose only changes would be to ``TRADITIONAL_AS_WELL``.
    """
    if _converter("t2s").convert(text) != text:
        return text  # it has Traditional-only characters: it is Traditional
    converted = _converter("s2hk").convert(text)
    if len(converted) == len(text) and all(
        before in TRADITIONAL_AS_WELL
        for before, after in zip(text, converted, strict=True)
        if before != after
    ):
        return text
    return converted


def convert_for_display(text: str, script: str) -> str:
    """Return ``text`` in the reader's script; ``orig`` (or anything else) leaves it as stored."""
    if not text or script not in _CONFIGS:
        return text
    if script == "hant":
        return _traditional_for_display(text)
    return _converter(_CONFIGS[script]).convert(text)
