"""Corrections of transcripts: edits, splits, merges, speakers, closing passages, approval.

Every change to a segment writes a :class:`~transcription.models.SegmentRevision`
(who, when, what it was before and after), so the edit history of issue 5
("who, when") is complete. ``corrections_carry`` keeps an archivist's
corrections when a recording is transcribed again with a better model, and
marks where the new machine text differs. Imports of transcripts made
elsewhere (WebVTT, SRT) and index points are written here too.

Services follow STYLE.md §3: keyword-only arguments, ``full_clean()`` before
saving, atomic, and they return what they changed. Invalid input raises
``django.core.exceptions.ValidationError`` (mapped to a 400 by the admin's
JSON endpoints).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from archive.models import AccessLevel, Asset, Item, Place
from transcription import formats
from transcription.models import IndexPoint, Segment, SegmentRevision, Transcript
from transcription.services import stricter

logger = logging.getLogger(__name__)

#: Levels a person may give one passage: follow the item, reading room, staff only.
SEGMENT_LEVELS = ("", AccessLevel.READING_ROOM, AccessLevel.STAFF)

#: Transcripts whose text may be approved (the machine has finished, or it was imported).
APPROVABLE = (Transcript.Status.DONE, Transcript.Status.PARTIAL)


class Action:
    """The ``SegmentRevision.action`` values written here."""

    EDIT = "edit"
    SPLIT = "split"
    MERGE = "merge"
    SPEAKER = "speaker"
    ACCESS = "access"
    RETRANSCRIBE = "retranscribe"


def segment_state(segment: Segment) -> dict:
    """What a revision records of a segment: times, text, speaker, access."""
    return {
        "start": segment.start,
        "end": segment.end,
        "text": segment.text,
        "speaker": segment.speaker,
        "access_level": segment.access_level,
    }


def _revision(segment, user, action, before, after) -> SegmentRevision:
    return SegmentRevision.objects.create(
        segment=segment,
        user=user if user is not None and user.is_authenticated else None,
        action=action,
        before=before,
        after=after,
    )


def _start_review(transcript: Transcript) -> None:
    """A first correction moves a machine transcript to "being corrected"."""
    if transcript.review_state == Transcript.Review.MACHINE:
        transcript.review_state = Transcript.Review.IN_REVIEW
        transcript.save(update_fields=["review_state", "updated_at"])


def _times_check(segment: Segment) -> None:
    errors = {}
    if segment.start < 0:
        errors["start"] = _("The start must not be before 0 seconds.")
    if segment.end < segment.start:
        errors["end"] = _("The end must not come before the start.")
    duration = segment.transcript.duration
    if duration and segment.end > duration + 0.5:
        errors["end"] = _(
            "The end (%(end).3f s) is after the end of the recording (%(duration).3f s)."
        ) % {"end": segment.end, "duration": duration}
    if errors:
        raise ValidationError(errors)


def _clean_text(value: str, field: str = "text") -> str:
    text = "\n".join(
        " ".join(line.split()) for line in str(value).splitlines() if line.strip()
    )
    if not text:
        raise ValidationError({field: _("The text must not be empty.")})
    return text


def _clean_speaker(value: str) -> str:
    speaker = " ".join(str(value).split())
    if len(speaker) > 100:
        raise ValidationError(
            {"speaker": _("A speaker's name has at most 100 characters.")}
        )
    return speaker


def _to_seconds(value, field: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValidationError({field: _("Give a time in seconds.")}) from None
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        raise ValidationError({field: _("Give a time in seconds.")})
    return round(seconds, 3)


def _joiner(left: str, right: str) -> str:
    """ "" between Chinese text, " " between Latin words."""
    if not left or not right:
        return ""
    if left[-1].isspace() or right[0].isspace():
        return ""
    ascii_edge = left[-1].isascii() and right[0].isascii()
    return " " if ascii_edge and (left[-1].isalnum() or right[0].isalnum()) else ""


def _join(texts: Sequence[str]) -> str:
    out = ""
    for text in texts:
        text = (text or "").strip()
        if text:
            out = out + _joiner(out, text) + text
    return out


# --------------------------------------------------------------------------
# One segment
# --------------------------------------------------------------------------


@transaction.atomic
def segment_update(
    *,
    segment: Segment,
    user,
    text: str | None = None,
    start: float | None = None,
    end: float | None = None,
    speaker: str | None = None,
) -> Segment:
    """Correct a segment's text, times or speaker (None leaves a value as it is).

    The segment is marked ``edited`` so a re-transcription keeps the
    correction. A change to the speaker alone is recorded as a "speaker"
    revision, anything else as an "edit". Nothing changed: nothing written.

    Returns:
        The segment, saved.
    """
    before = segment_state(segment)
    if text is not None:
        segment.text = _clean_text(text)
    if start is not None:
        segment.start = _to_seconds(start, "start")
    if end is not None:
        segment.end = _to_seconds(end, "end")
    if speaker is not None:
        segment.speaker = _clean_speaker(speaker)
    after = segment_state(segment)
    if after == before:
        return segment
    _times_check(segment)
    segment.edited = True
    segment.full_clean()
    segment.save()
    changed = {k for k in after if after[k] != before[k]}
    action = Action.SPEAKER if changed == {"speaker"} else Action.EDIT
    _revision(segment, user, action, before, after)
    _start_review(segment.transcript)
    return segment


def _split_words(words: list, at: float) -> tuple[list, list] | None:
    """Word timings on each side of ``at`` (by each word's middle), if there are any."""
    if not words:
        return None
    before, after = [], []
    for word in words:
        try:
            middle = (float(word[0]) + float(word[1])) / 2
        except (TypeError, ValueError, IndexError):
            return None
        (before if middle < at else after).append(word)
    return before, after


def _words_text(words: list) -> str:
    return "".join(str(w[2]) for w in words if len(w) > 2).strip()


@transaction.atomic
def segment_split(
    *,
    segment: Segment,
    user,
    at_seconds: float,
    text_before: str,
    text_after: str,
) -> tuple[Segment, Segment]:
    """Split a segment in two at ``at_seconds`` (usually the playhead).

    The first part keeps the segment's identity (and history); the second is
    new. Both keep the speaker and access level and count as corrected. The
    machine text is divided by the engine's word timings when it has them;
    without them the first part keeps it all, so nothing is lost.

    Returns:
        (first, second), saved.
    """
    at = _to_seconds(at_seconds, "at_seconds")
    if not segment.start < at < segment.end:
        raise ValidationError(
            {
                "at_seconds": _(
                    "Split inside the segment: between %(start)s and %(end)s."
                )
                % {
                    "start": formats.timestamp(segment.start),
                    "end": formats.timestamp(segment.end),
                }
            }
        )
    first_text = _clean_text(text_before, "text_before")
    second_text = _clean_text(text_after, "text_after")
    before = segment_state(segment)
    words = _split_words(segment.words, at)
    if words is not None and _words_text(segment.words).replace(
        " ", ""
    ) == segment.machine_text.replace(" ", ""):
        machine_first, machine_second = _words_text(words[0]), _words_text(words[1])
        words_first, words_second = words
    else:
        machine_first, machine_second = segment.machine_text, ""
        words_first, words_second = segment.words, []
    second = Segment(
        transcript=segment.transcript,
        start=at,
        end=segment.end,
        machine_text=machine_second,
        text=second_text,
        speaker=segment.speaker,
        access_level=segment.access_level,
        words=words_second,
        edited=True,
        machine_changed=segment.machine_changed,
    )
    segment.end = at
    segment.text = first_text
    segment.machine_text = machine_first
    segment.words = words_first
    segment.edited = True
    for part in (segment, second):
        part.full_clean()
        part.save()
    _revision(
        segment,
        user,
        Action.SPLIT,
        before,
        {**segment_state(segment), "new_segment": second.pk},
    )
    _revision(
        second,
        user,
        Action.SPLIT,
        {"split_from": segment.pk},
        segment_state(second),
    )
    _start_review(segment.transcript)
    return segment, second


def segment_next(segment: Segment) -> Segment | None:
    """The segment after ``segment`` in its transcript's order (start, then id)."""
    return (
        Segment.objects.filter(transcript_id=segment.transcript_id)
        .filter(Q(start__gt=segment.start) | Q(start=segment.start, pk__gt=segment.pk))
        .order_by("start", "pk")
        .first()
    )


@transaction.atomic
def segment_merge(*, first: Segment, second: Segment, user) -> Segment:
    """Merge ``second`` (the segment right after ``first``) into ``first``.

    The merged segment spans both, joins their texts (no space between Chinese
    characters), keeps the first speaker (or the second's if the first had
    none) and the stricter access level; ``second``'s edit history moves to
    the merged segment before ``second`` is deleted.

    Returns:
        The merged segment (``first``), saved.
    """
    if first.transcript_id != second.transcript_id:
        raise ValidationError(_("Only segments of the same transcript can be merged."))
    following = segment_next(first)
    if following is None or following.pk != second.pk:
        raise ValidationError(_("A segment can only be merged with the one after it."))
    before = {"first": segment_state(first), "second": segment_state(second)}
    first.start = min(first.start, second.start)
    first.end = max(first.end, second.end)
    first.text = _join([first.text, second.text])
    first.machine_text = _join([first.machine_text, second.machine_text])
    first.words = list(first.words or []) + list(second.words or [])
    first.speaker = first.speaker or second.speaker
    first.access_level = stricter(first.access_level, second.access_level)
    first.edited = True
    first.machine_changed = first.machine_changed or second.machine_changed
    first.full_clean()
    first.save()
    SegmentRevision.objects.filter(segment=second).update(segment=first)
    removed = second.pk
    second.delete()
    _revision(
        first,
        user,
        Action.MERGE,
        before,
        {**segment_state(first), "merged_segment": removed},
    )
    _start_review(first.transcript)
    return first


@transaction.atomic
def segment_access_set(*, segment: Segment, user, level: str) -> Segment:
    """Close a passage (reading room or staff only) or open it again ("" follows the item).

    Recorded as an "access" revision; ``consent_apply`` leaves passages a
    person closed by hand as they are.
    """
    level = level or ""
    if level not in SEGMENT_LEVELS:
        raise ValidationError(
            {"level": _("Choose: follow the item, reading room only, or staff only.")}
        )
    if level == segment.access_level:
        return segment
    before = segment_state(segment)
    segment.access_level = level
    segment.full_clean()
    segment.save(update_fields=["access_level"])
    _revision(segment, user, Action.ACCESS, before, segment_state(segment))
    return segment


@transaction.atomic
def speaker_rename(
    *, transcript: Transcript, user, old: str, new: str
) -> list[Segment]:
    """Give every segment of ``old`` speaker the name ``new`` (e.g. "SPEAKER_1" -> "梁伯").

    Returns:
        The segments changed (each with a "speaker" revision).
    """
    new = _clean_speaker(new)
    if new == old:
        return []
    changed = list(transcript.segments.filter(speaker=old))
    if not changed:
        raise ValidationError(
            {"old": _("No segment has the speaker “%(name)s”.") % {"name": old}}
        )
    for segment in changed:
        before = segment_state(segment)
        segment.speaker = new
        segment.edited = True
        _revision(segment, user, Action.SPEAKER, before, segment_state(segment))
    Segment.objects.bulk_update(changed, ["speaker", "edited"])
    _start_review(transcript)
    return changed


# --------------------------------------------------------------------------
# The transcript
# --------------------------------------------------------------------------


@transaction.atomic
def transcript_approve(*, transcript: Transcript, user) -> Transcript:
    """An archivist approves the text: readers stop seeing "machine-generated"."""
    if transcript.status not in APPROVABLE:
        raise ValidationError(
            _("Only a finished transcript can be approved (this one is %(status)s).")
            % {"status": transcript.get_status_display()}
        )
    transcript.review_state = Transcript.Review.APPROVED
    transcript.approved_by = (
        user if user is not None and user.is_authenticated else None
    )
    transcript.approved_at = timezone.now()
    transcript.full_clean()
    transcript.save(
        update_fields=["review_state", "approved_by", "approved_at", "updated_at"]
    )
    logger.info("Transcript %s approved by %s", transcript.public_id, user)
    return transcript


@transaction.atomic
def transcript_reopen(*, transcript: Transcript, user) -> Transcript:
    """Take back an approval: the transcript is "being corrected" again."""
    transcript.review_state = Transcript.Review.IN_REVIEW
    transcript.approved_by = None
    transcript.approved_at = None
    transcript.full_clean()
    transcript.save(
        update_fields=["review_state", "approved_by", "approved_at", "updated_at"]
    )
    logger.info("Transcript %s reopened by %s", transcript.public_id, user)
    return transcript


@transaction.atomic
def transcript_make_primary(*, transcript: Transcript) -> Transcript:
    """Make ``transcript`` the item's primary one (served at /items/{item}/transcript.vtt)."""
    Transcript.objects.filter(item_id=transcript.item_id).exclude(
        pk=transcript.pk
    ).update(is_primary=False)
    if not transcript.is_primary:
        transcript.is_primary = True
        transcript.save(update_fields=["is_primary", "updated_at"])
    return transcript


def _recording_of(item: Item) -> Asset:
    asset = item.assets.filter(role=Asset.Role.MEDIA).order_by("pk").first()
    if asset is None:
        raise ValidationError(
            _("The item %(item)s has no recording to attach a transcript to.")
            % {"item": item.public_id}
        )
    return asset


@transaction.atomic
def transcript_import(
    *,
    item: Item,
    content: str | bytes,
    name: str = "",
    fmt: str | None = None,
    register: str = Transcript.Register.COLLOQUIAL,
    asset: Asset | None = None,
    encoding: str = "utf-8",
    user=None,
) -> Transcript:
    """Import a transcript made elsewhere (WebVTT or SRT) for an item's recording.

    The text read becomes both the machine text and the text (nothing is
    corrected yet); the transcript is the item's primary one if it has none.

    Raises:
        formats.TranscriptFormatError: the file cannot be read (naming the line).
        ValidationError: the item has no recording, or a value is invalid.
    """
    asset = asset or _recording_of(item)
    if asset.item_id != item.pk:
        raise ValidationError(_("The recording belongs to another item."))
    result = formats.parse(content, fmt=fmt, name=name, encoding=encoding)
    transcript = Transcript(
        item=item,
        asset=asset,
        register=register,
        language="",
        is_primary=not item.transcripts.filter(is_primary=True).exists(),
        status=Transcript.Status.DONE,
        engine=f"import:{result.format}",
        options={"file": name[:200], "warnings": result.warnings},
        progress_seconds=max(c.end for c in result.cues),
        finished_at=timezone.now(),
    )
    transcript.full_clean()
    transcript.save()
    segments = []
    for cue in result.cues:
        segment = Segment(
            transcript=transcript,
            start=cue.start,
            end=cue.end,
            machine_text=cue.text,
            text=cue.text,
            speaker=" ".join(cue.speaker.split()),
        )
        try:
            segment.full_clean(exclude=["transcript"])
        except ValidationError as exc:
            raise formats.TranscriptFormatError(
                "; ".join(exc.messages), line=cue.line
            ) from None
        segments.append(segment)
    Segment.objects.bulk_create(segments)
    logger.info(
        "Imported %s segments into %s for %s (by %s)",
        len(segments),
        transcript.public_id,
        item.public_id,
        user,
    )
    return transcript


# --------------------------------------------------------------------------
# Re-transcription
# --------------------------------------------------------------------------

_SPACE = re.compile(r"\s+")


def _normal(text: str) -> str:
    return _SPACE.sub("", text or "")


def _overlap(a, b) -> float:
    return min(a.end, b.end) - max(a.start, b.start)


def _touches(a, b) -> bool:
    """Any overlap in time (a zero-length segment touches what it lies in)."""
    if a.end <= a.start:
        return b.start <= a.start < b.end or b.start == a.start
    if b.end <= b.start:
        return a.start <= b.start < a.end or a.start == b.start
    return _overlap(a, b) > 0


def _belongs(old: Segment, new: Segment) -> bool:
    """Whether a new segment is mostly inside a corrected one, or the reverse."""
    if not _touches(old, new):
        return False
    if new.end <= new.start or old.end <= old.start:
        return True
    overlap = _overlap(old, new)
    return overlap >= 0.5 * (new.end - new.start) or overlap >= 0.5 * (
        old.end - old.start
    )


def _components(olds: list[Segment], news: list[Segment]):
    """Groups of corrected old segments and the new segments they overlap."""
    parent = list(range(len(olds) + len(news)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, old in enumerate(olds):
        for j, new in enumerate(news):
            if new.start > old.end:
                break
            if _belongs(old, new):
                parent[find(i)] = find(len(olds) + j)
    groups: dict[int, tuple[list, list]] = {}
    for i, old in enumerate(olds):
        groups.setdefault(find(i), ([], []))[0].append(old)
    for j, new in enumerate(news):
        root = find(len(olds) + j)
        if root in groups:
            groups[root][1].append(new)
    return list(groups.values())


def _bins(olds: list[Segment], news: list[Segment]) -> list[dict]:
    """The carried segments of one group: the person's text, the new timing.

    One bin per corrected segment; the group's outer times are the new
    transcript's, the inner boundaries the old corrected ones'. The new
    machine text is shared out by word timings when they agree with it, else
    by each new segment's middle.
    """
    start = min((n.start for n in news), default=olds[0].start)
    end = max((n.end for n in news), default=olds[-1].end)
    bounds = [start]
    for old in olds[1:]:
        bounds.append(min(max(old.start, bounds[-1]), end))
    bounds.append(end)
    bins = [
        {
            "old": old,
            "start": bounds[i],
            "end": bounds[i + 1],
            "pieces": [],
            "words": [],
        }
        for i, old in enumerate(olds)
    ]

    def bin_of(t: float) -> dict:
        for b in bins[:-1]:
            if t < b["end"]:
                return b
        return bins[-1]

    words = [w for n in news for w in (n.words or [])]
    joined = _normal("".join(str(w[2]) for w in words if len(w) > 2))
    if words and joined == _normal("".join(n.machine_text for n in news)):
        for w in words:
            b = bin_of((float(w[0]) + float(w[1])) / 2)
            b["pieces"].append(str(w[2]))
            b["words"].append(w)
        for b in bins:
            b["machine_text"] = "".join(b["pieces"]).strip()
    else:
        for n in news:
            b = bin_of((n.start + n.end) / 2)
            b["pieces"].append(n.machine_text)
            b["words"].extend(n.words or [])
        for b in bins:
            b["machine_text"] = _join(b["pieces"])
    return bins


@transaction.atomic
def corrections_carry(*, old: Transcript, new: Transcript) -> Transcript:
    """Keep an archivist's corrections when a recording is transcribed again.

    For every segment of ``old`` a person corrected, the overlapping segment(s)
    of ``new`` take its text, speaker and access level, on the new timing;
    several new segments inside one corrected segment are merged into one.
    ``machine_changed`` marks a carried segment whose new machine text differs
    from the old machine text, so the editor can show what the better model
    heard. Passages closed in ``old`` stay closed wherever ``new`` overlaps
    them, corrected or not. ``new`` becomes the item's primary transcript;
    ``old`` stays, no longer primary. Running it twice changes nothing more.

    Returns:
        ``new``, saved.
    """
    if old.item_id != new.item_id:
        raise ValidationError(_("Both transcripts must be of the same item."))
    olds = list(old.segments.filter(edited=True).order_by("start", "pk"))
    news = list(new.segments.order_by("start", "pk"))
    carried = 0
    for group_olds, group_news in _components(olds, news):
        bins = _bins(group_olds, group_news)
        rows = list(group_news)
        for index, b in enumerate(bins):
            row = rows[index] if index < len(rows) else Segment(transcript=new)
            source: Segment = b["old"]
            target = {
                "start": b["start"],
                "end": b["end"],
                "text": source.text,
                "speaker": source.speaker,
                "access_level": stricter(row.access_level, source.access_level),
                "machine_text": b["machine_text"],
                "words": b["words"],
                "edited": True,
                "machine_changed": _normal(b["machine_text"])
                != _normal(source.machine_text),
            }
            if row.pk and all(getattr(row, k) == v for k, v in target.items()):
                continue
            before = (
                {**segment_state(row), "machine_text": row.machine_text}
                if row.pk
                else {}
            )
            for key, value in target.items():
                setattr(row, key, value)
            row.full_clean()
            row.save()
            _revision(
                row,
                None,
                Action.RETRANSCRIBE,
                before,
                {
                    **segment_state(row),
                    "machine_text": row.machine_text,
                    "from_segment": source.pk,
                    "from_transcript": old.public_id,
                },
            )
            carried += 1
        for extra in rows[len(bins) :]:
            extra.delete()
    _carry_closures(old=old, new=new)
    Transcript.objects.filter(item_id=new.item_id).exclude(pk=new.pk).update(
        is_primary=False
    )
    new.is_primary = True
    new.previous = old
    if carried and new.review_state == Transcript.Review.MACHINE:
        new.review_state = Transcript.Review.IN_REVIEW
    new.full_clean()
    new.save()
    old.refresh_from_db(fields=["is_primary"])
    logger.info(
        "Carried %s corrected segments from %s to %s",
        carried,
        old.public_id,
        new.public_id,
    )
    return new


def _carry_closures(*, old: Transcript, new: Transcript) -> None:
    """Passages closed in ``old`` stay closed wherever ``new`` overlaps them.

    A closure a person made by hand is recorded as an "access" revision, as
    ``segment_access_set`` would (``consent_apply`` then leaves it); one that
    came from the consent is recorded as part of the re-transcription, so a
    later change of the consent can open it again.
    """
    closed = list(old.segments.exclude(access_level="").order_by("start", "pk"))
    if not closed:
        return
    by_hand = set(
        SegmentRevision.objects.filter(
            segment__in=closed, action=Action.ACCESS
        ).values_list("segment_id", flat=True)
    )
    for segment in new.segments.order_by("start", "pk"):
        for source in closed:
            if not _touches(source, segment):
                continue
            level = stricter(segment.access_level, source.access_level)
            if level == segment.access_level:
                continue
            before = segment_state(segment)
            segment.access_level = level
            segment.save(update_fields=["access_level"])
            _revision(
                segment,
                None,
                Action.ACCESS if source.pk in by_hand else Action.RETRANSCRIBE,
                before,
                {**segment_state(segment), "from_segment": source.pk},
            )


# --------------------------------------------------------------------------
# Index points
# --------------------------------------------------------------------------

INDEX_POINT_FIELDS = (
    "start",
    "end",
    "title",
    "keywords",
    "synopsis",
    "place",
    "latitude",
    "longitude",
    "links",
    "access_level",
)


def _coordinate(value, field: str, limit: int) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value)).quantize(Decimal("0.000001"))
    except InvalidOperation:
        raise ValidationError({field: _("Give a number in degrees.")}) from None
    if abs(number) > limit:
        raise ValidationError(
            {field: _("Give a number from -%(limit)s to %(limit)s.") % {"limit": limit}}
        )
    return number


def _keywords(value) -> list[str]:
    if isinstance(value, str):
        value = re.split(r"[,，、;；\n]", value)
    return [" ".join(str(k).split()) for k in value or [] if str(k).strip()]


def _links(value) -> list[dict]:
    validate = URLValidator(schemes=["http", "https"])
    links = []
    for link in value or []:
        if isinstance(link, str):
            link = {"label": "", "url": link}
        url = str(link.get("url", "")).strip()
        label = " ".join(str(link.get("label", "")).split())
        if not url:
            continue
        try:
            validate(url)
        except ValidationError:
            raise ValidationError(
                {"links": _("“%(url)s” is not a web address.") % {"url": url}}
            ) from None
        links.append({"label": label or url, "url": url})
    return links


def _index_point_apply(point: IndexPoint, values: dict) -> IndexPoint:
    unknown = set(values) - set(INDEX_POINT_FIELDS)
    if unknown:
        raise ValueError(f"Unknown index point fields: {sorted(unknown)}")
    if "start" in values:
        point.start = _to_seconds(values["start"], "start")
    if "end" in values:
        point.end = (
            None if values["end"] in (None, "") else _to_seconds(values["end"], "end")
        )
    if "title" in values:
        point.title = " ".join(str(values["title"] or "").split())
    if "keywords" in values:
        point.keywords = _keywords(values["keywords"])
    if "synopsis" in values:
        point.synopsis = str(values["synopsis"] or "").strip()
    if "place" in values:
        place = values["place"]
        if place in (None, ""):
            point.place = None
        elif isinstance(place, Place):
            point.place = place
        else:
            point.place = Place.objects.filter(pk=place).first()
            if point.place is None:
                raise ValidationError({"place": _("There is no such place.")})
    if "latitude" in values:
        point.latitude = _coordinate(values["latitude"], "latitude", 90)
    if "longitude" in values:
        point.longitude = _coordinate(values["longitude"], "longitude", 180)
    if "links" in values:
        point.links = _links(values["links"])
    if "access_level" in values:
        level = values["access_level"] or ""
        if level not in SEGMENT_LEVELS:
            raise ValidationError(
                {"access_level": _("Choose: follow the item, reading room, or staff.")}
            )
        point.access_level = level
    if point.start < 0:
        raise ValidationError({"start": _("The time must not be before 0 seconds.")})
    if point.end is not None and point.end < point.start:
        raise ValidationError({"end": _("The end must not come before the start.")})
    point.full_clean()
    point.save()
    return point


@transaction.atomic
def index_point_create(*, item: Item, user, **values) -> IndexPoint:
    """Mark a moment of a recording (time, title, keywords, synopsis, place, links).

    Keyword arguments are the fields of :data:`INDEX_POINT_FIELDS`; keywords
    may be a list or a comma-separated string, links a list of
    ``{"label", "url"}`` (web addresses only).
    """
    point = _index_point_apply(IndexPoint(item=item, start=0, title=""), values)
    logger.info("Index point %s added to %s by %s", point.pk, item.public_id, user)
    return point


@transaction.atomic
def index_point_update(*, index_point: IndexPoint, user, **values) -> IndexPoint:
    """Change an index point (only the fields given)."""
    point = _index_point_apply(index_point, values)
    logger.info("Index point %s changed by %s", point.pk, user)
    return point


@transaction.atomic
def index_point_delete(*, index_point: IndexPoint, user) -> int:
    """Remove an index point; returns its former id."""
    pk = index_point.pk
    index_point.delete()
    logger.info("Index point %s deleted by %s", pk, user)
    return pk
