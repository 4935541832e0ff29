"""Character error rate of a transcript against a reference (issue 5, part 7).

An archive compares models on its own recordings by transcribing one it has
a checked transcript of, then running ``manage.py evaluate_transcription``.
Both texts go through ``archive.text.normalise_for_cer`` first, the fold
search uses (script, variants, width, case) with punctuation, symbols and
whitespace removed, so 「廣州，」 against 广州 is no error and only the
spoken characters count.

CER = (substitutions + deletions + insertions) / reference characters, the
Levenshtein distance over the normalised characters. It can exceed 1: a
hypothesis that loops or hallucinates inserts more characters than the
reference has.

The distance is the textbook dynamic programme, one row of the table at a
time (memory O(len(hypothesis))), with each row computed by numpy in
O(len(hypothesis)) vector steps instead of a Python loop: a two-hour interview
(about 30,000 characters each side) takes seconds, not hours. numpy comes
with faster-whisper, so it adds no dependency.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from archive.text import CER_NORMALISATION, normalise_for_cer


def edit_distance(hypothesis: str, reference: str) -> int:
    """Levenshtein distance (unit costs) between two strings, character by character.

    Args:
        hypothesis: the text to score (columns of the table).
        reference: the text it should have been (rows of the table).

    Returns:
        The least number of substitutions, deletions and insertions that turn
        ``reference`` into ``hypothesis``.
    """
    if not reference:
        return len(hypothesis)
    if not hypothesis:
        return len(reference)
    hyp = np.frombuffer(hypothesis.encode("utf-32-le"), dtype=np.uint32)
    cols = np.arange(len(hyp) + 1, dtype=np.int64)
    # previous[j]: distance between reference[:i] and hypothesis[:j].
    previous = cols.copy()
    for i, char in enumerate(reference, start=1):
        code = ord(char)
        current = np.empty_like(previous)
        current[0] = i
        # Substitution (or match) from the diagonal, deletion from above.
        current[1:] = np.minimum(previous[:-1] + (hyp != code), previous[1:] + 1)
        # Insertions run along the row: current[j] = min over k <= j of
        # current[k] + (j - k), a running minimum of current[k] - k.
        current = np.minimum.accumulate(current - cols) + cols
        previous = current
    return int(previous[-1])


@dataclass(frozen=True)
class CerResult:
    """A character error rate and what it was computed from."""

    #: Edits per reference character (may exceed 1 when the hypothesis inserts).
    cer: float
    #: Substitutions + deletions + insertions.
    edits: int
    #: Characters compared, after normalisation.
    reference_chars: int
    hypothesis_chars: int
    #: What the normalisation did (``archive.text.CER_NORMALISATION``).
    normalisation: str = CER_NORMALISATION


def cer_result(hypothesis: str, reference: str) -> CerResult:
    """The character error rate of ``hypothesis`` against ``reference``, with its counts.

    Both are normalised with ``archive.text.normalise_for_cer`` first.

    Raises:
        ValueError: the reference has no characters left to compare.
    """
    ref = normalise_for_cer(reference)
    hyp = normalise_for_cer(hypothesis)
    if not ref:
        raise ValueError(
            "The reference has no characters to compare once punctuation and "
            "spaces are removed; a character error rate needs a reference."
        )
    edits = edit_distance(hyp, ref)
    return CerResult(
        cer=edits / len(ref),
        edits=edits,
        reference_chars=len(ref),
        hypothesis_chars=len(hyp),
    )


def cer(hypothesis: str, reference: str) -> float:
    """Character error rate: normalised edit distance over the reference's length.

    Args:
        hypothesis: what the engine (or the corrected transcript) says.
        reference: what was said, from a checked transcript.

    Returns:
        Edits per reference character after ``normalise_for_cer``; 0.0 is a
        perfect match, and a looping hypothesis can score above 1.

    Raises:
        ValueError: the reference has no characters left to compare.
    """
    return cer_result(hypothesis, reference).cer


# --- references: WebVTT, SRT or plain text ------------------------------------

_TIMING = re.compile(r"^\s*(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3}\s*-->")
_VTT_BLOCKS = ("NOTE", "STYLE", "REGION")
# Ruby text (<rt>) annotates pronunciation; it was not said a second time.
_RUBY_TEXT = re.compile(r"<rt\b[^>]*>.*?</rt>", re.IGNORECASE | re.DOTALL)
# Cue tags (<v Name>, <c.x>, <i>, <00:00:01.000>, </v>) and SRT's <font ...>.
_TAG = re.compile(r"</?[A-Za-z0-9:.][^>]*>")
# SubStation override codes that some SRT writers leave in ({\an8}).
_ASS = re.compile(r"\{\\[^}]*\}")


def _decode(data: bytes, path: Path) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 or UTF-16 text: {exc}") from exc


def _cue_text(line: str) -> str:
    line = _RUBY_TEXT.sub("", line)
    line = _ASS.sub("", _TAG.sub("", line))
    return html.unescape(line).strip()


def _cues(lines: list[str], *, vtt: bool) -> list[str]:
    """The payload lines of every cue: what follows a timing line, up to a blank line."""
    texts: list[str] = []
    in_cue = False
    in_other = False
    for n, line in enumerate(lines):
        if not line.strip():
            in_cue = in_other = False
            continue
        if in_other:
            continue
        if _TIMING.match(line):
            in_cue = True
            continue
        following = lines[n + 1] if n + 1 < len(lines) else ""
        if _TIMING.match(following):
            # A cue's number or identifier; SRT writers sometimes leave out
            # the blank line before it, so this is checked inside a cue too.
            in_cue = False
            continue
        if in_cue:
            text = _cue_text(line)
            if text:
                texts.append(text)
            continue
        if vtt and re.split(r"[ \t]", line, maxsplit=1)[0] in _VTT_BLOCKS:
            in_other = True
        # Otherwise the WEBVTT header's metadata lines: none of it was said.
    return texts


def reference_read(path: str | Path) -> str:
    """The words of a reference transcript in WebVTT, SRT or plain text.

    The format is taken from the content (a ``WEBVTT`` first line, or cue
    timing lines ``00:00:01,000 --> ...``), not from the file name. Cue
    numbers, identifiers, timings, settings, NOTE/STYLE/REGION blocks, tags
    (``<v 陳太>``, ``<i>``, ``<00:00:05.000>``, ruby text) and HTML entities
    are removed; plain text is returned as it is. One cue per line.

    Args:
        path: the reference file (UTF-8, with or without BOM, or UTF-16).

    Returns:
        The reference's text, cues joined by newlines.

    Raises:
        ValueError: the file is not text.
        OSError: the file cannot be read.
    """
    path = Path(path)
    text = _decode(path.read_bytes(), path)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    first = lines[0].strip() if lines else ""
    if first == "WEBVTT" or first.startswith(("WEBVTT ", "WEBVTT\t")):
        return "\n".join(_cues(lines[1:], vtt=True))
    if any(_TIMING.match(line) for line in lines):
        return "\n".join(_cues(lines, vtt=False))
    return text.strip()


# --- a stored transcript against a reference ----------------------------------


def transcript_for_evaluation(*, item: str, transcript: str | None = None):
    """The transcript to score: the item's primary one, or the one named.

    Args:
        item: the item's public identifier.
        transcript: a transcript's public identifier (it must belong to the item).

    Raises:
        Transcript.DoesNotExist: no such transcript (or the item has none).
    """
    # Imported here so that ``cer`` and ``reference_read`` work without Django
    # (the benchmark's bare-engine processes use them).
    from transcription.models import Transcript

    transcripts = Transcript.objects.select_related("item").filter(item__public_id=item)
    if transcript:
        return transcripts.get(public_id=transcript)
    found = transcripts.order_by("-is_primary", "created_at").first()
    if found is None:
        raise Transcript.DoesNotExist(f"Item {item} has no transcript.")
    return found


def transcript_text(*, transcript, machine: bool = False) -> str:
    """A transcript's text in time order, one segment a line, for scoring.

    Every segment counts, closed passages included: evaluation is a staff tool.

    Args:
        transcript: a ``transcription.models.Transcript``.
        machine: score what the engine wrote (``machine_text``) instead of the
            corrected text readers see (``text``).
    """
    field = "machine_text" if machine else "text"
    return "\n".join(
        transcript.segments.order_by("start", "pk").values_list(field, flat=True)
    )


def transcript_evaluate(
    *, transcript, reference: str, machine: bool = False
) -> CerResult:
    """The character error rate of a stored transcript against a reference text.

    Args:
        transcript: a ``transcription.models.Transcript``.
        reference: the reference's text (see :func:`reference_read`).
        machine: score the machine text rather than the corrected text.

    Raises:
        ValueError: the reference has no characters left to compare.
    """
    return cer_result(
        transcript_text(transcript=transcript, machine=machine), reference
    )
