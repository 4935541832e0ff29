"""Guards against Whisper's known failures, and the script conversion of its text.

Pure functions over :class:`~transcription.engines.EngineSegment` lists
(issue 5, part 2). Whisper, above all a small model on poor or synthetic
audio, writes text on silence (subtitle credits and video sign-offs learnt
from its training data), echoes its prompt, repeats a phrase in a loop, and
now and then times a segment past the end of the audio. The guards:

- drop a segment that is a known hallucination on silence, an echo of the
  initial prompt, silence by Whisper's own figures (high no-speech
  probability with low confidence), a window whose text still compresses
  too well after the temperature ladder (a loop), an empty text, or a
  segment that starts past the end of the audio (one that ends past it is
  clipped);
- collapse a phrase repeated in a loop inside a segment to two repetitions;
- drop a line said a third time (or more) in a row across segments.

Every dropped segment (and every collapsed loop) is reported as
``{"text", "start", "end", "reason"}`` so the run keeps a record
(``Transcript.dropped``). The text is converted to Traditional Chinese,
Hong Kong forms (OpenCC ``s2hk``); already-Traditional text stays as it is.
Comparisons use ``archive.text.normalise_for_cer`` (script, width, case,
punctuation and spaces folded), the normalisation search and the CER use.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

from archive.text import CANTONESE_PREFERRED, normalise_for_cer
from transcription.engines import EngineSegment

#: Whisper's own thresholds (faster-whisper's defaults), used the same way.
COMPRESSION_RATIO_THRESHOLD = 2.4
NO_SPEECH_THRESHOLD = 0.6
LOG_PROB_THRESHOLD = -1.0
#: A phrase may be said twice in a row; a third time is a loop.
MAX_REPEATS = 2

#: Lines Whisper writes on silence or music, learnt from subtitled videos. A
#: segment made only of these (with punctuation and spaces) is dropped.
SILENCE_LINES = (
    "謝謝觀看",
    "謝謝收看",
    "感謝觀看",
    "感謝收看",
    "多謝觀看",
    "多謝收看",
    "多謝收睇",
    "謝謝大家觀看",
    "謝謝大家收看",
    "中文字幕",
    "字幕",
    "訂閱",
    "請訂閱",
    "歡迎訂閱",
    "訂閱我的頻道",
    "點贊",
    "請點贊",
    "點贊訂閱",
    "點贊訂閱轉發",
    "請按旁邊的訂閱",
    "下期再見",
    "我們下期再見",
    "本期視頻就到這裡",
    "Thank you for watching",
    "Thanks for watching",
    "Thank you very much for watching",
    "Please subscribe",
    "Like and subscribe",
    "Subscribe to my channel",
)

#: Fragments no interview says: a segment containing one is a hallucination.
CREDIT_FRAGMENTS = (
    "Amara.org",
    "字幕由",
    "字幕提供",
    "字幕製作",
    "字幕志願者",
    "字幕組",
    "請不吝點贊",
    "點贊訂閱轉發打賞",
    "打賞支持明鏡",
    "明鏡與點點欄目",
    "優優獨播劇場",
    "YoYo Television Series Exclusive",
    "MING PAO CANADA",
    "MING PAO TORONTO",
    "Subtitles by",
    "Subtitles made by",
    "Subtitled by",
    "Captions by",
    "Transcribed by",
    "Translated by",
    "Don't forget to subscribe",
)

#: Credit lines: "字幕：某某", "(翻譯: ...)", "Subtitles: ..." (after script conversion).
CREDIT_LINE = re.compile(
    r"^\W*(?:中文)?(?:字幕|翻譯|校對|時間軸|後期|Subtitles?|Captions?)\s*[:：]",
    re.IGNORECASE,
)

#: Separators allowed between the repetitions of a loop.
SEPARATORS = " \t\n\u3000,，、。.!！?？;；:：~～…·-—"
_SEP = "[" + re.escape(SEPARATORS) + "]"
#: A phrase of 1 to 50 characters (not starting with a separator) said at least
#: three times in a row. Lazy, so the shortest repeating phrase is found.
_LOOP = re.compile(
    rf"(?P<unit>(?!{_SEP}).{{1,50}}?)(?P<sep>{_SEP}*)(?P=unit)(?:{_SEP}*(?P=unit))+"
)
_REPLACEMENT_CHARACTER = "\ufffd"


@dataclass
class GuardResult:
    """What the guards kept (converted, in time order) and what they dropped or changed."""

    kept: list[EngineSegment] = field(default_factory=list)
    dropped: list[dict] = field(default_factory=list)


_opencc_lock = threading.Lock()

#: Colloquial Cantonese characters ``s2hk`` would turn into other words (講吓 →
#: 講嚇, 食晒 → 食曬, 郁手 → 鬱手) or into mainland shapes (搵 → 揾, 哗 → 譁):
#: in colloquial text they are pinned to the Cantonese form, as
#: ``archive.text.CANTONESE_PREFERRED`` does for search.
COLLOQUIAL_PINNED = {
    **{rep: rep for rep in CANTONESE_PREFERRED.values()},
    **{simple: rep for simple, rep in CANTONESE_PREFERRED.items() if simple != "系"},
}
_PRIVATE_USE = 0xE000
_PIN = {ch: chr(_PRIVATE_USE + i) for i, ch in enumerate(sorted(COLLOQUIAL_PINNED))}
_UNPIN = {ord(mark): COLLOQUIAL_PINNED[ch] for ch, mark in _PIN.items()}


@lru_cache(maxsize=1)
def _s2hk():
    import opencc

    return opencc.OpenCC("s2hk")


def script_convert(text: str, *, colloquial: bool = True) -> str:
    """Convert Whisper's text to Traditional Chinese, Hong Kong forms (OpenCC ``s2hk``).

    Only for the engine's output: stored source texts are never converted
    (DESIGN.md, "Languages"). Traditional input comes back Traditional. In
    colloquial Cantonese (``colloquial``, the ``yue`` register) the characters
    of :data:`COLLOQUIAL_PINNED` keep their Cantonese form.
    """
    if not text:
        return text
    if colloquial:
        text = text.translate({ord(ch): mark for ch, mark in _PIN.items()})
    with _opencc_lock:
        converted = _s2hk().convert(text)
    return converted.translate(_UNPIN) if colloquial else converted


@lru_cache(maxsize=1)
def _silence_lines() -> tuple[re.Pattern, tuple[str, ...]]:
    folded = sorted(
        {normalise_for_cer(line) for line in SILENCE_LINES}, key=len, reverse=True
    )
    only = re.compile("(?:" + "|".join(re.escape(line) for line in folded) + ")+")
    fragments = tuple(normalise_for_cer(f) for f in CREDIT_FRAGMENTS)
    return only, fragments


def hallucination_match(text: str) -> str | None:
    """The known hallucination ``text`` is, or None.

    A text is one when it contains a subtitle-credit fragment (Amara.org,
    明鏡與點點欄目...), or when it is made only of sign-off lines (謝謝觀看,
    中文字幕, "Thank you for watching"...), after folding script, width, case,
    punctuation and spaces.
    """
    folded = normalise_for_cer(text)
    if not folded:
        return None
    credit = CREDIT_LINE.match(script_convert(text.strip()))
    if credit:
        return credit.group(0).strip()
    only, fragments = _silence_lines()
    for fragment in fragments:
        if fragment in folded:
            return fragment
    if only.fullmatch(folded):
        return folded
    return None


def _longest_common_run(a: str, b: str) -> int:
    """Length of the longest common substring (dynamic programming; both are short)."""
    if not a or not b:
        return 0
    best = 0
    previous = [0] * (len(b) + 1)
    for ca in a:
        current = [0] * (len(b) + 1)
        for j, cb in enumerate(b, start=1):
            if ca == cb:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


#: A run this long shared with the prompt is an echo, not speech (6 characters:
#: "訪問嘅逐字稿" of the Cantonese prompt, seen kept at 8 by the real model).
ECHO_RUN = 6


def prompt_echo(text: str, prompt: str) -> bool:
    """Whether ``text`` repeats the initial prompt instead of what was said.

    Whisper copies its prompt on audio it cannot read, often only its tail
    inside other words ("諾先生, 該訪問嘅逐字稿。"). An echo shares a run of at
    least :data:`ECHO_RUN` characters with the prompt, or is mostly (60 %) a
    run of at least 4 of its characters.
    """
    folded_text, folded_prompt = normalise_for_cer(text), normalise_for_cer(prompt)
    run = _longest_common_run(folded_text, folded_prompt)
    if run >= min(ECHO_RUN, len(folded_prompt)) and run > 0:
        return True
    return run >= 4 and run >= 0.6 * len(folded_text)


def loop_collapse(text: str, max_repeats: int = MAX_REPEATS) -> tuple[str, int]:
    """Collapse a phrase repeated in a loop to ``max_repeats`` repetitions.

    ``骨頭上,骨頭上,骨頭上,…`` becomes ``骨頭上,骨頭上`` and ``諾先云, 戴方多云,
    諾先云, 戴方多云, …`` keeps two rounds. A trailing piece of the phrase
    cut off by the token limit goes too. A single character needs four
    repetitions to count (係係係 and 哈哈哈 are speech).

    Returns:
        The text, and how many repetitions were removed (0: unchanged).
    """
    removed = 0
    out = []
    at = 0
    while True:
        match = _LOOP.search(text, at)
        if match is None:
            break
        unit, sep = match.group("unit"), match.group("sep")
        whole = match.group(0)
        count = len(re.findall(re.escape(unit), whole))
        # One character said three times is speech (係係係, 哈哈哈); four is a loop.
        if count <= max_repeats + (len(unit) == 1):
            out.append(text[at : match.end()])
            at = match.end()
            continue
        out.append(text[at : match.start()])
        out.append(sep.join([unit] * max_repeats))
        removed += count - max_repeats
        at = match.end()
        # A last repetition cut short at the end of the text.
        rest = text[at:]
        stripped = rest.lstrip(SEPARATORS)
        if stripped and unit.startswith(stripped):
            removed += 1
            at = len(text)
    out.append(text[at:])
    return "".join(out), removed


def _clean(text: str, *, colloquial: bool, strip: bool = True) -> str:
    """Remove broken characters (a token limit can cut one in half) and convert the script."""
    text = script_convert(
        text.replace(_REPLACEMENT_CHARACTER, ""), colloquial=colloquial
    )
    return text.strip() if strip else text


def _words_for(text: str, words: Sequence) -> list:
    """The words of ``words`` that ``text`` still contains, in order (after a collapse)."""
    folded = normalise_for_cer(text)
    kept, at = [], 0
    for word in words:
        piece = normalise_for_cer(word[2])
        if not piece:
            continue
        if folded.startswith(piece, at):
            kept.append(word)
            at += len(piece)
    return kept


def _record(segment: EngineSegment, reason: str, text: str | None = None) -> dict:
    return {
        "text": segment.text if text is None else text,
        "start": round(float(segment.start), 3),
        "end": round(float(segment.end), 3),
        "reason": reason,
    }


def segments_guard(
    segments: Iterable[EngineSegment],
    *,
    audio_end: float,
    prompt: str = "",
    previous_texts: Sequence[str] = (),
    compression_ratio_threshold: float = COMPRESSION_RATIO_THRESHOLD,
    no_speech_threshold: float = NO_SPEECH_THRESHOLD,
    log_prob_threshold: float = LOG_PROB_THRESHOLD,
    colloquial: bool = True,
) -> GuardResult:
    """Apply every guard to an engine's segments and convert their script.

    Args:
        segments: the engine's segments.
        audio_end: the end of the audio (or of the step) in seconds: nothing
            may start at or after it; an end past it is clipped.
        prompt: the initial prompt the engine used (echoes of it are dropped).
        previous_texts: the texts of the segments just before these (the
            previous step's last ones), so a line repeated across a step
            boundary is still counted.
        compression_ratio_threshold: a window whose text compresses more
            than this is a loop (Whisper's own test).
        no_speech_threshold: with ``log_prob_threshold``, Whisper's silence
            test: a higher no-speech probability and a lower confidence.
        log_prob_threshold: see ``no_speech_threshold``.
        colloquial: the text is colloquial Cantonese (the ``yue`` register):
            see :func:`script_convert`.

    Returns:
        The kept segments (in time order, text converted) and a record of
        every dropped segment and collapsed loop.
    """
    result = GuardResult()
    last_lines = [normalise_for_cer(t) for t in previous_texts][-MAX_REPEATS:]
    last_start = 0.0
    for segment in sorted(segments, key=lambda s: (s.start, s.end)):
        text = _clean(segment.text, colloquial=colloquial)
        words = [
            (w[0], w[1], _clean(w[2], colloquial=colloquial, strip=False), w[3])
            for w in segment.words
        ]
        segment = replace(segment, text=text, words=words)
        if segment.start >= audio_end:
            result.dropped.append(_record(segment, "starts past the end of the audio"))
            continue
        if segment.end > audio_end:
            segment = replace(segment, end=audio_end)
        if segment.start < last_start:
            segment = replace(
                segment, start=last_start, end=max(segment.end, last_start)
            )
        if not normalise_for_cer(text):
            result.dropped.append(_record(segment, "no text"))
            continue
        if (
            segment.no_speech_prob is not None
            and segment.avg_logprob is not None
            and segment.no_speech_prob > no_speech_threshold
            and segment.avg_logprob < log_prob_threshold
        ):
            result.dropped.append(
                _record(
                    segment,
                    f"silence (no-speech probability {segment.no_speech_prob:.2f} > "
                    f"{no_speech_threshold}, mean log-probability "
                    f"{segment.avg_logprob:.2f} < {log_prob_threshold})",
                )
            )
            continue
        if (
            segment.compression_ratio is not None
            and segment.compression_ratio > compression_ratio_threshold
        ):
            result.dropped.append(
                _record(
                    segment,
                    f"repetition (the window's compression ratio "
                    f"{segment.compression_ratio:.2f} > {compression_ratio_threshold})",
                )
            )
            continue
        collapsed, removed = loop_collapse(text)
        if removed:
            result.dropped.append(
                _record(
                    segment,
                    f"a phrase repeated in a loop: {removed} repetitions removed",
                )
            )
            words = _words_for(collapsed, segment.words)
            end = segment.end
            if words and len(words) < len(segment.words):
                end = max(segment.start, min(end, words[-1][1]))
            segment = replace(segment, text=collapsed, words=words, end=end)
        hallucination = hallucination_match(segment.text)
        if hallucination:
            result.dropped.append(
                _record(segment, f"known hallucination on silence ({hallucination})")
            )
            continue
        if prompt and prompt_echo(segment.text, prompt):
            result.dropped.append(_record(segment, "echo of the initial prompt"))
            continue
        line = normalise_for_cer(segment.text)
        if len(last_lines) >= MAX_REPEATS and all(prev == line for prev in last_lines):
            result.dropped.append(
                _record(
                    segment, f"the same line more than {MAX_REPEATS} times in a row"
                )
            )
            continue
        last_lines = (last_lines + [line])[-MAX_REPEATS:]
        last_start = segment.start
        result.kept.append(segment)
    return result
