"""Template helpers of the recording player (``transcription/recording_player.html``).

:func:`recording_players` gathers, for each recording on an item page that
the reader may hear, what the player shows: the listening door, the poster,
caption tracks, the transcript as this reader may read it, the index points
and the download links. It only reads (``transcription.selectors``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django import template
from django.urls import reverse
from django.utils.translation import gettext as _

from transcription import selectors
from transcription.models import Transcript

register = template.Library()

#: Export formats offered for download, in this order, with their names.
DOWNLOADS = (("vtt", "WebVTT"), ("srt", "SRT"), ("txt", None), ("json", "JSON"))


@dataclass
class Track:
    """A ``<track kind="captions">`` of the player."""

    transcript_id: int
    url: str
    srclang: str
    label: str


@dataclass
class TranscriptChoice:
    """One transcript of a recording: its name, state and export links."""

    transcript: Transcript
    label: str
    reviewed: bool
    current: bool
    #: [(format name, URL, file extension)]
    downloads: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class Player:
    """Everything the page shows for one recording."""

    asset: object
    is_video: bool
    listen_url: str
    poster_url: str
    tracks: list[Track]
    transcripts: list[TranscriptChoice]
    reading: selectors.Reading | None
    #: BCP 47 tag of the text shown (``yue``/``zh`` with the displayed script).
    text_lang: str
    points: list[selectors.Point]
    #: The query before ``t=`` in this player's time links (keeps the transcript chosen).
    query: str = ""


def export_url(item, transcript: Transcript, fmt: str, *, primary: bool) -> str:
    """The stable URL of a transcript export (the primary one has the short form)."""
    if primary:
        return reverse("item_transcript", args=[item.public_id, fmt])
    return reverse("transcript_file", args=[item.public_id, transcript.public_id, fmt])


def _label(transcript: Transcript) -> str:
    return str(transcript.get_register_display())


@register.simple_tag(takes_context=True)
def recording_players(context) -> list[Player]:
    """The players of the item page's recordings (``media``: those the reader may hear)."""
    item = context.get("item")
    request = context.get("request")
    media = context.get("media") or []
    if item is None or not media:
        return []
    user = getattr(request, "user", None)
    transcripts = selectors.transcript_list(item=item, user=user, request=request)
    primary = selectors.transcript_get(item=item)
    wanted = request.GET.get("transcript", "") if request is not None else ""
    script = getattr(request, "display_script", "orig")
    players = []
    for n, asset in enumerate(media):
        mine = [t for t in transcripts if t.asset_id == asset.pk]
        shown = next((t for t in mine if t.public_id == wanted), None)
        shown = shown or next((t for t in mine if primary and t.pk == primary.pk), None)
        shown = shown or (mine[0] if mine else None)
        choices, tracks = [], []
        for t in mine:
            is_primary = primary is not None and t.pk == primary.pk
            downloads = [
                (name or _("Text"), export_url(item, t, fmt, primary=is_primary), fmt)
                for fmt, name in DOWNLOADS
            ]
            choices.append(
                TranscriptChoice(t, _label(t), t.is_reviewed, t is shown, downloads)
            )
            tracks.append(
                Track(
                    transcript_id=t.pk,
                    url=export_url(item, t, "vtt", primary=is_primary),
                    srclang=selectors.transcript_language(t),
                    label=_label(t),
                )
            )
        # The shown transcript's captions come first: the default track.
        tracks.sort(key=lambda track: shown is None or track.transcript_id != shown.pk)
        reading = (
            selectors.transcript_reading(transcript=shown, user=user, request=request)
            if shown is not None
            else None
        )
        base = (
            "zh" if shown and shown.register == Transcript.Register.STANDARD else "yue"
        )
        video = selectors.is_video(asset)
        poster = selectors.poster_get(asset=asset) if video else None
        players.append(
            Player(
                asset=asset,
                is_video=video,
                listen_url=reverse("recording_listen", args=[item.public_id, asset.pk]),
                poster_url=reverse("recording_poster", args=[item.public_id, asset.pk])
                if poster is not None
                else "",
                tracks=tracks,
                transcripts=choices,
                reading=reading,
                text_lang=f"{base}-{'Hans' if script == 'hans' else 'Hant'}",
                points=selectors.index_point_list(
                    item=item,
                    user=user,
                    request=request,
                    duration=shown.duration if shown else None,
                )
                if n == 0
                else [],
                query=f"transcript={shown.public_id}&"
                if shown is not None and shown.public_id == wanted
                else "",
            )
        )
    return players


@register.filter
def timecode(seconds) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour), seconds rounded down: how players show time."""
    try:
        total = max(int(math.floor(float(seconds))), 0)
    except (TypeError, ValueError):
        return ""
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def timecode_end(seconds) -> str:
    """Like :func:`timecode`, rounded up: the end of a passage is never cut short."""
    try:
        return timecode(math.ceil(float(seconds) - 1e-6))
    except (TypeError, ValueError):
        return ""


@register.filter
def seconds_param(seconds) -> str:
    """Seconds for a ``?t=`` link: a tenth of a second at most, no trailing zeros."""
    try:
        value = max(float(seconds), 0.0)
    except (TypeError, ValueError):
        return "0"
    return f"{math.floor(value * 10) / 10:.1f}".rstrip("0").rstrip(".")
