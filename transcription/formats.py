"""Transcript exports (WebVTT, SRT, plain text, JSON) and imports (WebVTT, SRT).

Exports take the segments a reader may see and, separately, the passages
closed to that reader; a closed passage is written as a placeholder with its
times ("[closed passage 00:12:30–00:14:00]"), never with its text, and
neighbouring closed segments become one placeholder, so not even their number
shows. Deciding who may see what is not done here: ``partition_for_reader``
asks ``archive.access.can_view`` for each segment, the one decision every
door uses (DESIGN.md, Access).

Imports read WebVTT (W3C WebVTT §4, the parts a transcript needs: cues,
timings, voice spans; NOTE, STYLE and REGION blocks are skipped) and SRT.
They are parsed here rather than with webvtt-py, which reads both formats but
drops a malformed cue silently (or, strict, reports it without a line
number); an archivist importing a transcript needs to hear which line is
wrong. A VTT written by :func:`render_vtt` reads back to the same cues: times
to the millisecond, text and speakers.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils import translation
from django.utils.translation import gettext as _

#: Export formats and their media types (the transcript doors of DESIGN.md).
MEDIA_TYPES = {
    "vtt": "text/vtt; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "json": "application/json",
}

#: Formats a transcript can be imported from.
IMPORT_FORMATS = ("vtt", "srt")


@dataclass(frozen=True)
class Cue:
    """One timed passage, as exported or as read from a file.

    ``closed`` cues are placeholders for passages the reader may not see: they
    carry times only.
    """

    start: float
    end: float
    text: str = ""
    speaker: str = ""
    closed: bool = False
    #: The line of the file the cue's timing was read from (imports only).
    line: int | None = field(default=None, compare=False)


class TranscriptFormatError(ValueError):
    """A transcript file that cannot be read, naming the line where it goes wrong."""

    def __init__(self, message: str, *, line: int | None = None):
        self.message = message
        self.line = line
        super().__init__(
            _("Line %(line)s: %(message)s") % {"line": line, "message": message}
            if line
            else message
        )


@dataclass
class ParseResult:
    """What an import read: the cues in time order and what was skipped."""

    format: str
    cues: list[Cue]
    #: Harmless oddities (empty cues skipped...), each naming its line.
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------
# Times
# --------------------------------------------------------------------------


def milliseconds(seconds: float) -> int:
    """Seconds as whole milliseconds, halves rounded up, as written (1.0005 -> 1001)."""
    return int(
        (Decimal(repr(float(seconds))) * 1000).to_integral_value(rounding=ROUND_HALF_UP)
    )


def timestamp(seconds: float, *, separator: str = ".", fraction: bool = True) -> str:
    """``HH:MM:SS.mmm`` (WebVTT), ``HH:MM:SS,mmm`` (SRT) or ``HH:MM:SS``."""
    ms = max(milliseconds(seconds), 0)
    if not fraction:
        ms = (ms // 1000) * 1000
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    text = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{text}{separator}{ms:03d}" if fraction else text


# --------------------------------------------------------------------------
# Exports
# --------------------------------------------------------------------------


def _span(item) -> tuple[float, float]:
    if isinstance(item, tuple | list):
        return float(item[0]), float(item[1])
    return float(item.start), float(item.end)


def export_cues(segments: Iterable, closed: Iterable = ()) -> list[Cue]:
    """The cues of an export: visible segments and closed placeholders, in time order.

    Args:
        segments: the segments the reader may see (anything with ``start``,
            ``end``, ``text`` and ``speaker``).
        closed: the passages closed to the reader, as segments or
            ``(start, end)`` pairs; only their times are read. Closed passages
            with no visible segment between them become one placeholder.
    """
    cues = [
        Cue(
            start=float(s.start),
            end=float(s.end),
            text=s.text or "",
            speaker=getattr(s, "speaker", "") or "",
        )
        for s in segments
    ]
    cues += [Cue(start=a, end=b, closed=True) for a, b in map(_span, closed)]
    # Sorting by start, placeholders before text at the same start.
    cues.sort(key=lambda c: (c.start, not c.closed, c.end))
    merged: list[Cue] = []
    for cue in cues:
        last = merged[-1] if merged else None
        if cue.closed and last is not None and last.closed:
            merged[-1] = Cue(start=last.start, end=max(last.end, cue.end), closed=True)
        else:
            merged.append(cue)
    return merged


def closed_placeholder(start: float, end: float) -> str:
    """The text shown in place of a closed passage, in the active language."""
    # Translators: shown instead of a passage the interviewee asked to close,
    # e.g. "[closed passage 00:12:30–00:14:00]"; zh-Hant "［此段不公開 00:12:30–00:14:00］".
    return _("[closed passage %(start)s–%(end)s]") % {
        "start": timestamp(start, fraction=False),
        # Whole seconds that cover the passage: start rounded down, end up.
        "end": timestamp(math.ceil(milliseconds(end) / 1000), fraction=False),
    }


def review_label(transcript) -> str:
    """The review state readers are told: approved, or machine-made and unreviewed."""
    if transcript.is_reviewed:
        return str(transcript.Review.APPROVED.label)
    return str(transcript.Review.MACHINE.label)


def _cue_text(cue: Cue) -> str:
    return closed_placeholder(cue.start, cue.end) if cue.closed else cue.text


def _lines(text: str) -> list[str]:
    """Text as non-empty lines (an empty line would end a cue)."""
    return [
        line.strip() for line in text.replace("\r", "\n").split("\n") if line.strip()
    ]


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _note_line(text: str) -> str:
    # A NOTE block ends at an empty line and may not contain "-->".
    return " ".join(text.split()).replace("-->", "->")


def _with_language(language: str | None):
    return translation.override(language) if language else nullcontext()


def render_vtt(
    *,
    transcript,
    segments: Iterable,
    closed: Iterable = (),
    language: str | None = None,
) -> str:
    """A transcript as WebVTT, with a NOTE naming the item, transcript and review state.

    Speakers are voice spans (``<v 梁伯>``, WebVTT §4.2.2); text is escaped, so
    a line never ends a cue early or reads as a tag.
    """
    with _with_language(language):
        item = transcript.item
        title = item.title_hant or item.title
        header = [
            "WEBVTT",
            "",
            "NOTE",
            _note_line(
                _("Item: %(id)s %(title)s") % {"id": item.public_id, "title": title}
            ),
            _note_line(
                _("Transcript: %(id)s (%(register)s)")
                % {
                    "id": transcript.public_id,
                    "register": transcript.get_register_display(),
                }
            ),
            _note_line(_("Review: %(state)s") % {"state": review_label(transcript)}),
            "",
        ]
        blocks = []
        for cue in export_cues(segments, closed):
            lines = _lines(_cue_text(cue)) or ["…"]
            body = [_vtt_escape(line) for line in lines]
            if cue.speaker and not cue.closed:
                voice = _vtt_escape(" ".join(cue.speaker.split()))
                body[0] = f"<v {voice}>{body[0]}"
            blocks.append(
                "\n".join([f"{timestamp(cue.start)} --> {timestamp(cue.end)}", *body])
            )
    return "\n".join(header) + "\n" + "\n\n".join(blocks) + ("\n" if blocks else "")


def speaker_prefix(speaker: str) -> str:
    """``梁伯：`` for a Chinese name, ``Interviewer: `` for a Latin one."""
    if not speaker:
        return ""
    return f"{speaker}：" if _is_cjk(speaker[-1]) else f"{speaker}: "


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return 0x2E80 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or code >= 0x20000


def render_srt(
    *,
    transcript,
    segments: Iterable,
    closed: Iterable = (),
    language: str | None = None,
) -> str:
    """A transcript as SubRip (SRT): numbered cues, speakers as a ``梁伯：`` prefix.

    SRT has no comments, so a transcript not yet approved opens with a
    zero-length cue at 0 s saying so (``[machine-generated, not yet
    reviewed]``): players show nothing, readers of the file see it, and
    :func:`parse_srt` skips it.
    """
    with _with_language(language):
        blocks = []
        cues = export_cues(segments, closed)
        if not transcript.is_reviewed:
            cues.insert(0, Cue(0.0, 0.0, f"[{review_label(transcript)}]"))
        for number, cue in enumerate(cues, start=1):
            lines = _lines(_cue_text(cue)) or ["…"]
            if cue.speaker and not cue.closed:
                lines[0] = speaker_prefix(cue.speaker) + lines[0]
            timing = (
                f"{timestamp(cue.start, separator=',')} --> "
                f"{timestamp(cue.end, separator=',')}"
            )
            blocks.append("\n".join([str(number), timing, *lines]))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def render_text(
    *,
    transcript,
    segments: Iterable,
    closed: Iterable = (),
    language: str | None = None,
    timestamps: bool = False,
) -> str:
    """A transcript as plain text: a short header, then one line per segment.

    Lines are prefixed with their speaker (``梁伯：``) and, with ``timestamps``,
    with their start time (``[00:01:02]``).
    """
    with _with_language(language):
        item = transcript.item
        title = item.title_hant or item.title
        out = [
            f"{title} ({item.public_id})",
            _("Transcript %(id)s, %(register)s")
            % {
                "id": transcript.public_id,
                "register": transcript.get_register_display(),
            },
            review_label(transcript),
            "",
        ]
        for cue in export_cues(segments, closed):
            text = " ".join(_lines(_cue_text(cue)))
            if cue.speaker and not cue.closed:
                text = speaker_prefix(cue.speaker) + text
            if timestamps:
                text = f"[{timestamp(cue.start, fraction=False)}] {text}"
            out.append(text)
    return "\n".join(out) + "\n"


def transcript_data(
    *,
    transcript,
    segments: Iterable,
    closed: Iterable = (),
    language: str | None = None,
) -> dict:
    """A transcript as a JSON-ready dict: item, transcript, register, review, segments."""
    with _with_language(language):
        item = transcript.item
        rows = []
        for cue in export_cues(segments, closed):
            rows.append(
                {
                    "start": milliseconds(cue.start) / 1000,
                    "end": milliseconds(cue.end) / 1000,
                    "text": _cue_text(cue),
                    "speaker": "" if cue.closed else cue.speaker,
                    "closed": cue.closed,
                }
            )
        return {
            "item": item.public_id,
            "title": item.title,
            "transcript": transcript.public_id,
            "register": transcript.register,
            "register_label": str(transcript.get_register_display()),
            "review_state": "approved" if transcript.is_reviewed else "machine",
            "review_label": review_label(transcript),
            "segments": rows,
        }


def render_json(
    *,
    transcript,
    segments: Iterable,
    closed: Iterable = (),
    language: str | None = None,
) -> str:
    """A transcript as JSON (see :func:`transcript_data`), UTF-8, not ASCII-escaped."""
    data = transcript_data(
        transcript=transcript, segments=segments, closed=closed, language=language
    )
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


RENDERERS = {
    "vtt": render_vtt,
    "srt": render_srt,
    "txt": render_text,
    "json": render_json,
}


def render(fmt: str, **kwargs) -> str:
    """Render a transcript in ``fmt`` (``vtt``, ``srt``, ``txt``, ``json``)."""
    try:
        renderer = RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"Unknown transcript format {fmt!r}") from None
    return renderer(**kwargs)


def partition_for_reader(
    segments: Sequence, *, user, request=None
) -> tuple[list, list]:
    """Split segments into those ``user`` may read and those closed to them.

    Each segment is decided like its item plus its own access level
    (``archive.access.can_view``). Callers check the item itself first: a
    reader refused the item gets no export at all.
    """
    from archive.access import can_view

    visible, closed = [], []
    for segment in segments:
        (visible if can_view(user, segment, request) else closed).append(segment)
    return visible, closed


# --------------------------------------------------------------------------
# Imports
# --------------------------------------------------------------------------

_VTT_TIME = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2})[.,](\d{1,3})$")
_SRT_TIME = re.compile(r"^(\d+):(\d{1,2}):(\d{1,2})(?:[,.](\d{1,3}))?$")
_TIMING = re.compile(r"^\s*(\S+)\s*-->\s*(\S+)(.*)$")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?[ \t]+([^>]+)>")
_TAG = re.compile(r"<[^>]*>")
_ASS_TAG = re.compile(r"\{\\[^}]*\}")
_NOTICE = re.compile(r"^\[[^\[\]\n]+\]$")


def _decode(content: str | bytes, encoding: str = "utf-8") -> str:
    if isinstance(content, str):
        text = content
    else:
        if content.startswith((b"\xff\xfe", b"\xfe\xff")):
            encoding = "utf-16"
        elif encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
            encoding = "utf-8-sig"
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError as exc:
            line = content[: exc.start].count(b"\n") + 1
            raise TranscriptFormatError(
                _(
                    "the file is not %(encoding)s text; save it as UTF-8 "
                    "(or give its encoding)"
                )
                % {"encoding": encoding.upper()},
                line=line,
            ) from None
        except LookupError:
            raise TranscriptFormatError(
                _("unknown text encoding %(encoding)s") % {"encoding": encoding}
            ) from None
    text = text.lstrip("\ufeff").replace("\x00", "\ufffd")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _seconds(hours, minutes, secs, fraction) -> float:
    ms = int((fraction or "0").ljust(3, "0"))
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(secs)) * 1000 + ms


def _read_time(text: str, pattern: re.Pattern, line: int, example: str) -> float:
    match = pattern.match(text)
    if not match:
        raise TranscriptFormatError(
            _("“%(text)s” is not a time like %(example)s")
            % {"text": text, "example": example},
            line=line,
        )
    hours, minutes, secs, fraction = match.groups()
    if int(minutes) > 59 or int(secs) > 59:
        raise TranscriptFormatError(
            _("“%(text)s” has more than 59 minutes or seconds") % {"text": text},
            line=line,
        )
    return _seconds(hours, minutes, secs, fraction) / 1000


def _read_timing(
    text: str, line: int, pattern: re.Pattern, example: str
) -> tuple[float, float]:
    match = _TIMING.match(text)
    if not match:
        raise TranscriptFormatError(
            _("expected a timing line like %(example)s --> %(example)s")
            % {"example": example},
            line=line,
        )
    start = _read_time(match.group(1), pattern, line, example)
    end = _read_time(match.group(2), pattern, line, example)
    if end < start:
        raise TranscriptFormatError(
            _("the cue ends (%(end)s) before it starts (%(start)s)")
            % {"start": match.group(1), "end": match.group(2)},
            line=line,
        )
    return start, end


def _payload(lines: Sequence[str]) -> tuple[str, str]:
    """Cue text without tags, entities decoded, and the first voice's name."""
    raw = "\n".join(lines)
    voice = _VOICE.search(raw)
    speaker = html.unescape(voice.group(1)).strip() if voice else ""
    text = html.unescape(_TAG.sub("", _ASS_TAG.sub("", raw)))
    clean = "\n".join(line.strip() for line in text.split("\n") if line.strip())
    return clean, speaker


def _blocks(text: str) -> list[list[tuple[int, str]]]:
    """Lines grouped into blocks at empty lines, each line with its number."""
    blocks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            current.append((number, line))
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _is_notice(cue: Cue) -> bool:
    """The review notice :func:`render_srt` opens an unreviewed transcript with."""
    return cue.start == cue.end == 0 and bool(_NOTICE.match(cue.text))


def _finish(fmt: str, cues: list[Cue], warnings: list[str]) -> ParseResult:
    for cue in [c for c in cues if _is_notice(c)]:
        cues.remove(cue)
        warnings.append(
            _("Line %(line)s: the notice “%(text)s” was skipped.")
            % {"line": cue.line, "text": cue.text}
        )
    if not cues:
        raise TranscriptFormatError(_("the file holds no cue with text"))
    cues.sort(key=lambda c: (c.start, c.end))
    return ParseResult(format=fmt, cues=cues, warnings=warnings)


def _skipped_empty(line: int) -> str:
    return _("Line %(line)s: a cue without text was skipped.") % {"line": line}


def _split_cues(block: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    """A block split where a second timing line starts a new cue (WebVTT §6.1)."""
    pieces: list[list[tuple[int, str]]] = [[]]
    for number, line in block:
        if "-->" in line and any("-->" in text for _n, text in pieces[-1]):
            pieces.append([])
        pieces[-1].append((number, line))
    return pieces


def parse_vtt(content: str | bytes, *, encoding: str = "utf-8") -> ParseResult:
    """Read a WebVTT file into cues (times, text without tags, the first voice's name).

    Raises:
        TranscriptFormatError: naming the line, when the file is not WebVTT,
            a timing cannot be read, or a cue ends before it starts.
    """
    text = _decode(content, encoding)
    first = text.split("\n", 1)[0]
    if not re.match(r"^WEBVTT(?:[ \t].*)?$", first):
        raise TranscriptFormatError(_("a WebVTT file begins with “WEBVTT”"), line=1)
    header, *blocks = _blocks(text)
    for k, (_n, line) in enumerate(header):
        if "-->" in line:  # a cue right after the header, with no empty line
            blocks.insert(0, header[k:])
            break
    cues: list[Cue] = []
    warnings: list[str] = []
    for piece in (p for block in blocks for p in _split_cues(block)):
        head = piece[0][1]
        if re.match(r"^(NOTE|STYLE|REGION)(?:[ \t]|$)", head):
            continue
        timing_at = 0 if "-->" in head else 1
        if timing_at >= len(piece) or "-->" not in piece[timing_at][1]:
            raise TranscriptFormatError(
                _("expected a cue timing line like 00:00:01.000 --> 00:00:04.000"),
                line=piece[min(timing_at, len(piece) - 1)][0],
            )
        number, timing = piece[timing_at]
        start, end = _read_timing(timing, number, _VTT_TIME, "00:00:01.000")
        body, speaker = _payload([line for _n, line in piece[timing_at + 1 :]])
        if body:
            cues.append(Cue(start, end, body, speaker, line=number))
        else:
            warnings.append(_skipped_empty(number))
    return _finish("vtt", cues, warnings)


def parse_srt(content: str | bytes, *, encoding: str = "utf-8") -> ParseResult:
    """Read a SubRip (SRT) file into cues.

    Formatting tags (``<i>``, ``<font>``, ``{\\an8}``) are dropped; a ``<v Name>``
    voice tag, if a tool wrote one, gives the speaker (a ``梁伯：`` prefix is
    left in the text: it cannot be told from speech that quotes someone).
    Text after an empty line inside a subtitle continues it, as many tools
    write such files; a new cue starts at a number followed by a timing line,
    or at a timing line.

    Raises:
        TranscriptFormatError: naming the line, when text comes before the
            first timing, a timing cannot be read, or a cue ends before it starts.
    """
    lines = _decode(content, encoding).split("\n")
    cues: list[Cue] = []
    warnings: list[str] = []
    current: tuple[float, float, int, list[str]] | None = None

    def flush() -> None:
        if current is None:
            return
        start, end, number, body_lines = current
        body, speaker = _payload(body_lines)
        if body:
            cues.append(Cue(start, end, body, speaker, line=number))
        else:
            warnings.append(_skipped_empty(number))

    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        is_number = stripped.isdigit() and i + 1 < len(lines) and "-->" in lines[i + 1]
        if is_number or "-->" in line:
            if is_number:
                i += 1
            start, end = _read_timing(lines[i], i + 1, _SRT_TIME, "00:00:01,000")
            flush()
            current = (start, end, i + 1, [])
        elif stripped:
            if current is None:
                raise TranscriptFormatError(
                    _(
                        "expected a subtitle number and a timing line like "
                        "00:00:01,000 --> 00:00:04,000"
                    ),
                    line=i + 1,
                )
            current[3].append(line)
        i += 1
    flush()
    return _finish("srt", cues, warnings)


def detect_format(content: str | bytes, *, name: str = "") -> str:
    """``vtt`` or ``srt``, from the content (a WebVTT file starts with WEBVTT)."""
    head = content[:64] if isinstance(content, bytes) else content[:64].encode()
    head = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"WEBVTT"):
        return "vtt"
    if name.lower().endswith(".vtt"):
        return "vtt"
    return "srt"


def parse(
    content: str | bytes,
    *,
    fmt: str | None = None,
    name: str = "",
    encoding: str = "utf-8",
) -> ParseResult:
    """Read a WebVTT or SRT transcript (``fmt`` given, or told by the content)."""
    fmt = fmt or detect_format(content, name=name)
    if fmt == "vtt":
        return parse_vtt(content, encoding=encoding)
    if fmt == "srt":
        return parse_srt(content, encoding=encoding)
    raise TranscriptFormatError(
        _("transcripts are imported from WebVTT (.vtt) or SRT (.srt), not %(fmt)s")
        % {"fmt": fmt}
    )


def cue_dict(cue: Cue) -> dict:
    """A cue as a plain dict (for reports and tests)."""
    data = asdict(cue)
    data.pop("line", None)
    return data
