"""Reads of ``transcription`` for the public doors: what a reader may read and hear.

One rule decides every segment, index point and second of audio, whichever
door shows it (the item page, the transcript exports, the listening copy, the
IIIF manifest): the reader must see the item (``archive.access.decide``), the
part itself (``can_view``, which adds the part's own ``access_level``), and,
unless they are staff, the part must lie outside every passage the consent
closes now (:func:`transcription.services.closed_ranges_for`). The last
check repeats what ``consent_apply`` writes onto the segments, so a passage
closed a moment ago is closed on every door even before that runs.

The listening copy with closed passages silenced is a derived file, not a
record: made once per recording and set of closed passages on first request
and kept on disk beside the other derivatives (see :func:`listening_file_get`).
"""

from __future__ import annotations

import bisect
import fcntl
import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils.module_loading import import_string

from archive.access import can_view, decide, is_archive_staff
from archive.files import atomic_write
from archive.models import AccessLevel, Asset, Derivative, Item
from transcription.models import IndexPoint, Segment, Transcript
from transcription.services import closed_ranges_for

logger = logging.getLogger(__name__)

#: Transcripts readers may read: finished, or stopped by the time budget.
READABLE_STATUSES = (Transcript.Status.DONE, Transcript.Status.PARTIAL)

#: Levels that add nothing to the item's own: a part at one of these is seen
#: by exactly the visitors who see the item.
OPEN_LEVELS = ("", AccessLevel.PUBLIC)

#: Bump when the silenced copy's recipe changes (a new file beside the old).
SILENCED_RECIPE_VERSION = 1

#: The writer of listening copies: ``(source, target, *, silence=[(start, end)])``
#: writing AAC in MP4. It belongs to ingest, which depends on this app, so it
#: is named by dotted path (as engines are) rather than imported.
DEFAULT_LISTENING_COPY_WRITER = "ingest.media.listening_copy_write"

Range = tuple[float, float]


# ---------------------------------------------------------------------------
# Transcripts
# ---------------------------------------------------------------------------


def transcript_list(*, item: Item, user=None, request=None) -> list[Transcript]:
    """The item's readable transcripts whose recording ``user`` may hear, primary first.

    A transcript is readable once the machine has finished it (or its time
    budget stopped it); queued, running and failed ones are for the editor.
    """
    transcripts = (
        Transcript.objects.filter(item=item, status__in=READABLE_STATUSES)
        .select_related("asset", "item")
        .order_by("-is_primary", "created_at", "pk")
    )
    return [t for t in transcripts if can_view(user, t.asset, request)]


def transcript_get(*, item: Item, public_id: str | None = None) -> Transcript | None:
    """A readable transcript of the item: the primary one, or the one named.

    Access is the caller's to decide (the item, then the transcript's
    recording); this only reads.
    """
    transcripts = Transcript.objects.filter(
        item=item, status__in=READABLE_STATUSES
    ).select_related("asset", "item")
    if public_id is not None:
        return transcripts.filter(public_id=public_id).first()
    # The primary one; while it cannot be read (a first run still queued), the
    # earliest readable one stands in, so the stable URL keeps answering.
    return transcripts.order_by("-is_primary", "created_at", "pk").first()


def transcript_language(transcript: Transcript) -> str:
    """The BCP 47 tag of a transcript's text: ``yue`` (colloquial) or ``zh-Hant``.

    Both registers are written in Traditional characters (Hong Kong forms).
    """
    if transcript.register == Transcript.Register.STANDARD:
        return "zh-Hant"
    return "yue"


@dataclass(frozen=True)
class Line:
    """One line of a transcript as a reader sees it: a segment or a closed passage."""

    start: float
    end: float
    text: str = ""
    speaker: str = ""
    #: A closed passage: only its times are shown, never its text.
    closed: bool = False
    #: Whether the speaker differs from the line before (so the label is shown).
    new_speaker: bool = False


@dataclass(frozen=True)
class Reading:
    """A transcript as one reader may read it (what every export and the page show)."""

    transcript: Transcript
    #: The segments the reader may see, in time order.
    segments: list[Segment]
    #: The passages the reader may not see, merged, in time order.
    closed: list[Range]
    #: Segments and closed passages together, for the page.
    lines: list[Line]
    #: True when every visitor gets the same text (publicly cacheable, CORS).
    shared: bool


def _overlaps(start: float, end: float, ranges: Iterable[Range]) -> bool:
    return any(start < r_end and end > r_start for r_start, r_end in ranges)


def _inside(moment: float, ranges: Iterable[Range]) -> bool:
    return any(r_start <= moment < r_end for r_start, r_end in ranges)


def _merge_closed(hidden: list[Range], visible: Sequence[Segment]) -> list[Range]:
    """Merge hidden passages that touch, or that no visible segment separates.

    Two closed segments in a row are one closed passage to the reader: the
    placeholder must not tell how many segments the passage held.
    """
    merged: list[list[float]] = []
    starts = sorted(s.start for s in visible)
    for start, end in sorted(hidden):
        if merged:
            last = merged[-1]
            n = bisect.bisect_left(starts, last[1])
            between = n < len(starts) and starts[n] < start
            if start <= last[1] or not between:
                last[1] = max(last[1], end)
                continue
        merged.append([start, end])
    return [(round(a, 3), round(b, 3)) for a, b in merged]


def transcript_reading(*, transcript: Transcript, user=None, request=None) -> Reading:
    """What ``user`` may read of ``transcript``: visible segments and closed passages.

    The caller has decided that the reader may see the item and its
    recording. Each segment is then decided on its own (``can_view``) and,
    for everyone but staff, checked against the consent's closed passages.
    Closed passages of the consent count as closed lines even where no
    segment lies, so the page shows why the audio is silent there.
    """
    item = transcript.item
    staff = is_archive_staff(user)
    closed_now = closed_ranges_for(item=item)
    consent_closed = [] if staff else closed_now
    visible: list[Segment] = []
    hidden: list[Range] = list(consent_closed)
    everyone = not closed_now and decide(AnonymousUser(), item).allowed
    segments = transcript.segments.order_by("start", "pk")
    for segment in segments:
        segment.transcript = transcript  # decide() reads segment.item
        if segment.access_level not in OPEN_LEVELS:
            everyone = False
        if can_view(user, segment, request) and not _overlaps(
            segment.start, segment.end, consent_closed
        ):
            visible.append(segment)
        else:
            hidden.append((segment.start, segment.end))
    closed = _merge_closed(hidden, visible)
    lines = [
        Line(start=s.start, end=s.end, text=s.text, speaker=s.speaker) for s in visible
    ]
    lines += [Line(start=a, end=b, closed=True) for a, b in closed]
    lines.sort(key=lambda line: (line.start, line.closed))
    marked, previous = [], None
    for line in lines:
        new = bool(line.speaker) and not line.closed and line.speaker != previous
        marked.append(
            Line(line.start, line.end, line.text, line.speaker, line.closed, new)
        )
        if not line.closed:
            previous = line.speaker
    shared = (
        everyone
        and not transcript.asset.is_staff_only
        and (transcript.asset.access_level in OPEN_LEVELS)
    )
    return Reading(transcript, visible, closed, marked, shared)


def segments_for_everyone(*, transcript: Transcript) -> list[Segment]:
    """The segments every visitor who may see the item may read (for shared documents).

    The IIIF manifest of a public item is built once and served to everyone,
    so it carries only segments that add no restriction of their own and lie
    outside every closed passage; readers allowed more read it in the
    transcript exports.
    """
    closed = closed_ranges_for(item=transcript.item)
    return [
        s
        for s in transcript.segments.order_by("start", "pk")
        if s.access_level in OPEN_LEVELS and not _overlaps(s.start, s.end, closed)
    ]


# ---------------------------------------------------------------------------
# Index points
# ---------------------------------------------------------------------------


def _safe_links(links) -> list[dict[str, str]]:
    """Only http(s) links with a label: stored JSON must not become a script URL."""
    safe = []
    for link in links or []:
        if not isinstance(link, dict):
            continue
        url = str(link.get("url", ""))
        if urlparse(url).scheme in ("http", "https"):
            safe.append({"label": str(link.get("label") or url), "url": url})
    return safe


@dataclass(frozen=True)
class Point:
    """An index point as the page and the manifest show it."""

    point: IndexPoint
    start: float
    #: Where the topic ends: its own end, else the next point, else the recording's end.
    end: float | None
    links: list[dict[str, str]] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.point.title

    @property
    def synopsis(self) -> str:
        return self.point.synopsis

    @property
    def keywords(self) -> list[str]:
        return [str(k) for k in self.point.keywords or [] if str(k).strip()]

    @property
    def place(self):
        return self.point.place


def _points(points: list[IndexPoint], duration: float | None) -> list[Point]:
    found = []
    for n, point in enumerate(points):
        end = point.end
        if end is None and n + 1 < len(points):
            end = points[n + 1].start
        if end is None:
            end = duration
        if end is not None and end <= point.start:
            end = None
        found.append(Point(point, point.start, end, _safe_links(point.links)))
    return found


def index_point_list(
    *, item: Item, user=None, request=None, duration: float | None = None
) -> list[Point]:
    """The item's index points ``user`` may see, in time order.

    A point inside a closed passage is hidden from all but staff: its title
    could tell what the passage says.
    """
    closed = [] if is_archive_staff(user) else closed_ranges_for(item=item)
    points = [
        p
        for p in IndexPoint.objects.filter(item=item)
        .select_related("place", "item")
        .order_by("start", "pk")
        if can_view(user, p, request) and not _inside(p.start, closed)
    ]
    return _points(points, duration)


def index_points_for_everyone(
    *, item: Item, duration: float | None = None
) -> list[Point]:
    """The index points every visitor who may see the item may see (shared documents)."""
    closed = closed_ranges_for(item=item)
    points = [
        p
        for p in IndexPoint.objects.filter(item=item)
        .select_related("place")
        .order_by("start", "pk")
        if p.access_level in OPEN_LEVELS and not _inside(p.start, closed)
    ]
    return _points(points, duration)


# ---------------------------------------------------------------------------
# Listening copies, video proxies and posters
# ---------------------------------------------------------------------------


def derivative_newest(*, asset: Asset, kind: str) -> Derivative | None:
    """The asset's derivative of ``kind`` made by the newest recipe, if its file exists."""
    for derivative in Derivative.objects.filter(asset=asset, kind=kind).order_by(
        "-recipe_version"
    ):
        if derivative.abspath.exists():
            return derivative
    return None


def is_video(asset: Asset) -> bool:
    """Whether a media original is video (played in ``<video>``, proxied as H.264)."""
    return asset.media_type.startswith("video/")


@dataclass(frozen=True)
class Listening:
    """The file a reader hears for a recording, and why."""

    path: Path
    media_type: str
    #: The closed passages are silent in this file.
    silenced: bool
    #: Other readers may get another file at the same door (staff, the public).
    varies: bool


def _playable(asset: Asset) -> tuple[Path, str, Derivative | None]:
    """The unsilenced file to play: the proxy or listening copy, else the original."""
    kind = (
        Derivative.Kind.VIDEO_PROXY
        if is_video(asset)
        else Derivative.Kind.LISTENING_COPY
    )
    derivative = derivative_newest(asset=asset, kind=kind)
    if derivative is not None:
        return derivative.abspath, derivative.media_type, derivative
    return asset.path, asset.media_type, None


def listening_file_get(*, asset: Asset, user=None, request=None) -> Listening | None:
    """The listening copy (or video proxy) of a recording as ``user`` may hear it.

    Staff, and everyone when nothing is closed, get the newest listening copy
    (the original when there is none yet). Anyone else, when the consent
    closes passages now, gets a copy with those passages silenced, made on
    first request and kept (:func:`silenced_copy_get`); never the unsilenced
    file. The caller has decided that ``user`` may hear the asset.

    Returns:
        The file, or None when the stored files are missing.
    """
    closed = closed_ranges_for(item=asset.item)
    path, media_type, _ = _playable(asset)
    if not closed or is_archive_staff(user):
        if not path.exists():
            return None
        return Listening(path, media_type, silenced=False, varies=bool(closed))
    silenced = silenced_copy_get(asset=asset, closed=closed)
    if silenced is None:
        return None
    return Listening(
        silenced,
        "video/mp4" if is_video(asset) else "audio/mp4",
        silenced=True,
        varies=True,
    )


def closed_key(closed: Sequence[Range]) -> str:
    """A short hash naming one set of closed passages (milliseconds, sorted)."""
    canonical = json.dumps(
        sorted([round(float(a), 3), round(float(b), 3)] for a, b in closed)
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def silenced_relpath(*, asset: Asset, closed: Sequence[Range]) -> str:
    """Where the silenced copy of ``asset`` for ``closed`` lives, under the storage root.

    Keyed by the original's checksum, the recipe, the unsilenced source it
    was made from (for video, the proxy's recipe) and the hash of the closed
    passages: a new set of closed passages (or a new proxy) makes a new file
    and a stale one is never served.
    """
    _, _, source = _playable(asset)
    source_tag = f"{source.kind}{source.recipe_version}" if source else "original"
    key = closed_key(closed)
    ext = "mp4" if is_video(asset) else "m4a"
    sha = asset.sha256
    return (
        f"derivatives/listening_silenced/v{SILENCED_RECIPE_VERSION}/{sha[:2]}/"
        f"{sha}-{source_tag}-{key}.{ext}"
    )


def _writer():
    dotted = getattr(
        settings, "TRANSCRIPTION_LISTENING_COPY_WRITER", DEFAULT_LISTENING_COPY_WRITER
    )
    return import_string(dotted)


def silenced_copy_get(*, asset: Asset, closed: Sequence[Range]) -> Path | None:
    """The copy of a recording with ``closed`` silenced: found on disk, or made now.

    Made once per (recording, set of closed passages), under a lock so two
    readers arriving together encode it once, written under a temporary name
    and renamed, so a half file is never served. Audio is decoded from the
    original and written as AAC in MP4 by the listening-copy writer; for
    video the proxy's pictures are copied (not re-encoded) beside that audio.
    """
    target = Path(settings.ARCHIVE_STORAGE_ROOT) / silenced_relpath(
        asset=asset, closed=closed
    )
    if target.exists():
        return target
    if not asset.path.exists():
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():  # made by the reader we waited for
            return target
        silence = [(float(a), float(b)) for a, b in sorted(closed)]
        if is_video(asset):
            picture, _, _ = _playable(asset)
            audio = target.with_name(target.stem + ".audio.m4a")
            try:
                with atomic_write(audio) as tmp:
                    _writer()(asset.path, tmp, silence=silence)
                with atomic_write(target) as tmp:
                    _mux(picture, audio, tmp)
            finally:
                audio.unlink(missing_ok=True)
        else:
            with atomic_write(target) as tmp:
                _writer()(asset.path, tmp, silence=silence)
    logger.info(
        "Made the silenced copy of asset %s for %d closed passages",
        asset.pk,
        len(closed),
    )
    return target


def _mux(picture: Path, audio: Path, target: Path) -> None:
    """Copy the first video stream of ``picture`` and the audio of ``audio`` into MP4.

    Packets are copied, not decoded, and written in time order, with the
    index at the front (``faststart``) so players can seek before the end
    has arrived.
    """
    import heapq

    import av

    with (
        av.open(str(picture)) as vin,
        av.open(str(audio)) as ain,
        av.open(
            str(target), "w", format="mp4", options={"movflags": "+faststart"}
        ) as out,
    ):
        vin_stream, ain_stream = vin.streams.video[0], ain.streams.audio[0]
        vout = out.add_stream_from_template(vin_stream)
        aout = out.add_stream_from_template(ain_stream)

        def timed(container, stream, output):
            for packet in container.demux(stream):
                if packet.dts is None:
                    continue
                yield float(packet.dts * packet.time_base), packet, output

        for _, packet, output in heapq.merge(
            timed(vin, vin_stream, vout),
            timed(ain, ain_stream, aout),
            key=lambda entry: entry[0],
        ):
            packet.stream = output
            out.mux(packet)


def poster_get(*, asset: Asset) -> Derivative | None:
    """The poster frame of a recording (a video's frame), newest recipe, if it exists."""
    return derivative_newest(asset=asset, kind=Derivative.Kind.POSTER)
