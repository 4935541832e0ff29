"""Reads behind the IIIF Presentation doors (STYLE.md §3): items, parts, collections.

Every list here narrows ``archive.selectors.item_list``, so it applies the one
visibility rule (``item_visibility_q``); single items are decided by the door
with ``archive.access.decide``. Media facts (duration, frame size) are probed
from the stored original with PyAV and cached by checksum: a content-addressed
file never changes, so its facts never expire.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.urls import reverse

from archive.access import can_view
from archive.models import (
    AccessLevel,
    Asset,
    Collection,
    Derivative,
    Institution,
    Item,
    ItemAgent,
    PageImage,
    ThemeLibrary,
    WorkAgent,
)
from archive.selectors import item_list
from transcription import selectors as transcripts

logger = logging.getLogger(__name__)

#: Item kinds presented as time-based media (one canvas per recording).
RECORDING_KINDS = (Item.Kind.ORAL_HISTORY, Item.Kind.DOCUMENTARY_VIDEO)

#: The collection key reserved for the top collection (DESIGN.md, Public interfaces).
TOP_KEY = "top"
#: Prefix of theme-library collection keys: ``theme-lingnan``.
THEME_PREFIX = "theme-"

#: Bump when the shape of a cached probe changes.
_PROBE_VERSION = 1


@dataclass(frozen=True)
class MediaFacts:
    """What a client needs to lay out a recording on a canvas (Presentation 3.0 §3.2)."""

    #: Seconds, as a float (``duration`` of the canvas and the body).
    duration: float
    #: Pixel size of the first video stream; None for sound.
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class Recording:
    """One media original of a recording item, with its probed facts and poster."""

    asset: Asset
    facts: MediaFacts
    poster: Derivative | None = None
    #: The media type of what players get (the listening copy or proxy), if made.
    playable_media_type: str = ""


@dataclass(frozen=True)
class TrackSegment:
    """One timed passage of a transcript, as a ``supplementing`` annotation shows it."""

    start: float
    end: float
    text: str
    speaker: str = ""


@dataclass(frozen=True)
class TranscriptTrack:
    """A published transcript of one recording, as IIIF needs it (cookbook 0219, 0017).

    The builder turns each track into a ``supplementing`` annotation whose body
    is the WebVTT file, plus ``rendering`` links (WebVTT and plain text) on the
    recording's canvas; its ``segments`` become an annotation page of their
    own, one ``supplementing`` TextualBody annotation per passage targeting
    ``canvas#t=start,end``.
    """

    #: The media asset (canvas) the transcript belongs to.
    asset_id: int
    #: BCP 47 tag of the text (``yue`` for written Cantonese, ``zh-Hant`` for
    #: Standard Written Chinese in Traditional characters).
    language: str
    #: Site-relative URL of the WebVTT export, e.g. ``/items/{item}/transcript.vtt``.
    vtt_path: str
    #: Site-relative URL of the plain-text export, if any.
    text_path: str = ""
    #: A language map naming the transcript; a default is used when empty.
    label: dict[str, list[str]] = field(default_factory=dict)
    #: The transcript's public identifier ("" for tracks made elsewhere).
    transcript_id: str = ""
    #: ``yue`` (colloquial) or ``zh`` (Standard Written Chinese); "" when unknown.
    register: str = ""
    #: An archivist approved the text; else it is machine-made and unreviewed.
    reviewed: bool = False
    #: The passages every visitor of the item may read, in time order.
    segments: tuple[TrackSegment, ...] = ()


@dataclass(frozen=True)
class IndexRange:
    """An index point of a recording, as a manifest range (cookbook 0026).

    iiif-prezi3's Range has no ``summary`` or ``metadata``, so the synopsis,
    keywords and place stay on the item page.
    """

    start: float
    #: Where the topic ends; None: at the end of the recording.
    end: float | None
    title: str
    #: A stable key for the range's id (the index point's primary key).
    key: str = ""


@dataclass(frozen=True)
class CollectionTarget:
    """What a collection key names: the top collection, a theme library or a collection."""

    key: str
    kind: str  # "top", "theme" or "collection"
    theme: ThemeLibrary | None = None
    collection: Collection | None = None


def item_get(*, public_id: str) -> Item | None:
    """The item row alone, whatever its access level: enough to decide and to stamp."""
    return Item.objects.filter(public_id=public_id).first()


def manifest_item_get(*, public_id: str, with_pages: bool = True) -> Item | None:
    """The item with everything its manifest (or record) shows, whatever its access level.

    Pages come in reading order with their assets' access fields, in one
    query even for a 1,000-page volume; the record leaves them out. The door
    decides access; this only reads.
    """
    related = [
        Prefetch("item_agents", queryset=ItemAgent.objects.select_related("agent")),
        Prefetch(
            "work__work_agents", queryset=WorkAgent.objects.select_related("agent")
        ),
        "places",
        "themes",
    ]
    if with_pages:
        pages = PageImage.objects.order_by("sequence").select_related("asset")
        related.append(Prefetch("pages", queryset=pages))
    return (
        Item.objects.select_related(
            "institution", "collection", "collection__parent", "work"
        )
        .prefetch_related(*related)
        .filter(public_id=public_id)
        .first()
    )


def _stricter_asset_q() -> Q:
    """Assets that are stricter than their item: personal data or their own level."""
    return (
        Q(is_personal_data=True)
        | Q(role=Asset.Role.CONSENT_FORM)
        | (~Q(access_level="") & ~Q(access_level=AccessLevel.PUBLIC))
    )


def item_has_restricted_parts(*, item: Item) -> bool:
    """Whether a page or media file of the item is stricter than the item itself.

    Such an item's manifest differs between visitors, so it is never shared
    from the cache (DESIGN.md, Access: an asset may be stricter than its item).
    """
    return (
        Asset.objects.filter(item=item, role__in=[Asset.Role.PAGE, Asset.Role.MEDIA])
        .filter(_stricter_asset_q())
        .exists()
    )


def visible_pages(*, item: Item, user=None, request=None) -> list[PageImage]:
    """The item's pages in reading order that ``user`` may see (all when none is stricter)."""
    if "pages" in getattr(item, "_prefetched_objects_cache", {}):
        # Already read with their files by manifest_item_get: not a second time.
        pages = list(item.pages.all())
    else:
        # Each page's file in the same query: its access is read for every page.
        pages = list(item.pages.select_related("asset"))
    if not any(p.asset.is_staff_only or p.asset.access_level for p in pages):
        return pages
    return [p for p in pages if can_view(user, p.asset, request)]


def media_probe(*, asset: Asset) -> MediaFacts | None:
    """Duration and frame size of a stored audio or video original (PyAV), cached.

    Returns None when the file is missing or cannot be read as media; the
    manifest then leaves that recording out rather than give a canvas with no
    duration (Presentation 3.0 §3.2 requires one for time-based content).
    """
    key = f"iiif:probe:v{_PROBE_VERSION}:{asset.sha256}"
    cached = cache.get(key)
    if cached is not None:
        return MediaFacts(**cached) if cached else None
    facts = _probe(asset)
    cache.set(
        key,
        {"duration": facts.duration, "width": facts.width, "height": facts.height}
        if facts
        else {},
        None if facts else 300,
    )
    return facts


def _probe(asset: Asset) -> MediaFacts | None:
    import av

    try:
        with av.open(str(asset.path)) as container:
            duration = container.duration / 1e6 if container.duration else None
            width = height = None
            for stream in container.streams:
                if duration is None and stream.duration and stream.time_base:
                    duration = float(stream.duration * stream.time_base)
                if stream.type == "video" and width is None:
                    width = stream.codec_context.width or None
                    height = stream.codec_context.height or None
    except (OSError, av.FFmpegError) as exc:
        logger.warning("Cannot probe media asset %s: %s", asset.pk, exc)
        return None
    if not duration or duration <= 0:
        return None
    return MediaFacts(round(float(duration), 3), width, height)


def recordings(*, item: Item, user=None, request=None) -> list[Recording]:
    """The item's media originals ``user`` may see, probed, with their posters."""
    assets = (
        Asset.objects.filter(item=item, role=Asset.Role.MEDIA)
        .select_related("item")
        .prefetch_related(
            Prefetch(
                "derivatives",
                queryset=Derivative.objects.filter(kind=Derivative.Kind.POSTER),
                to_attr="posters",
            ),
            Prefetch(
                "derivatives",
                queryset=Derivative.objects.filter(
                    kind__in=(
                        Derivative.Kind.LISTENING_COPY,
                        Derivative.Kind.VIDEO_PROXY,
                    )
                ).order_by("-recipe_version"),
                to_attr="playables",
            ),
        )
        .order_by("pk")
    )
    found = []
    for asset in assets:
        if not can_view(user, asset, request):
            continue
        facts = media_probe(asset=asset)
        if facts is None:
            continue
        poster = asset.posters[0] if asset.posters else None
        video = [d for d in asset.playables if d.kind == Derivative.Kind.VIDEO_PROXY]
        playable = (video or asset.playables or [None])[0]
        found.append(
            Recording(
                asset=asset,
                facts=facts,
                poster=poster,
                playable_media_type=playable.media_type if playable else "",
            )
        )
    return found


def transcript_tracks(*, item: Item, user=None, request=None) -> list[TranscriptTrack]:
    """The readable transcripts of a recording item, for its manifest.

    One :class:`TranscriptTrack` per transcript the transcription app lets
    readers read whose recording ``user`` may hear, primary first (its
    exports at ``/items/{item}/transcript.vtt``, the others at
    ``/items/{item}/transcripts/{t}.vtt``). The manifest of a public item is
    cached and shared, so a track carries only the passages every visitor of
    the item may read (:func:`transcription.selectors.segments_for_everyone`):
    closed passages are left out for everyone, staff included; the WebVTT
    rendering, asked for by each reader, gives each what they may read.
    """
    primary = transcripts.transcript_get(item=item)
    tracks = []
    for transcript in transcripts.transcript_list(
        item=item, user=user, request=request
    ):
        if primary is not None and transcript.pk == primary.pk:
            vtt = reverse("item_transcript", args=[item.public_id, "vtt"])
            txt = reverse("item_transcript", args=[item.public_id, "txt"])
        else:
            args = [item.public_id, transcript.public_id]
            vtt = reverse("transcript_file", args=[*args, "vtt"])
            txt = reverse("transcript_file", args=[*args, "txt"])
        segments = tuple(
            TrackSegment(s.start, s.end, s.text, s.speaker)
            for s in transcripts.segments_for_everyone(transcript=transcript)
            if s.text.strip()
        )
        tracks.append(
            TranscriptTrack(
                asset_id=transcript.asset_id,
                language=transcripts.transcript_language(transcript),
                vtt_path=vtt,
                text_path=txt,
                transcript_id=transcript.public_id,
                register=transcript.register,
                reviewed=transcript.is_reviewed,
                segments=segments,
            )
        )
    return tracks


def index_ranges(*, item: Item) -> list[IndexRange]:
    """The index points every visitor of the item may see, as ranges (shared manifests).

    Points with a stricter level of their own, or inside a closed passage,
    are left out for everyone (the manifest is cached and shared). A point
    without an end runs to the next point, or to the end of the recording.
    """
    return [
        IndexRange(start=p.start, end=p.end, title=p.title, key=str(p.point.pk))
        for p in transcripts.index_points_for_everyone(item=item)
    ]


def presentable_q() -> Q:
    """Items that have a manifest: a page image, or a media file for recordings."""
    has_pages = Exists(PageImage.objects.filter(item=OuterRef("pk")))
    has_media = Exists(Asset.objects.filter(item=OuterRef("pk"), role=Asset.Role.MEDIA))
    return Q(has_pages) | (Q(kind__in=RECORDING_KINDS) & Q(has_media))


def presentable_item_list(
    *, user, request=None, collection=None, theme=None
) -> QuerySet:
    """Items with a manifest that ``user`` may see, in catalogue order.

    Built on ``archive.selectors.item_list``, so a restricted item is never
    listed for a visitor who may not see it.
    """
    return (
        item_list(user=user, request=request, collection=collection, theme=theme)
        .filter(presentable_q())
        .order_by("work__title", "volume_number", "title", "public_id")
    )


def collection_target_get(*, key: str) -> CollectionTarget | None:
    """Resolve a collection key: ``top``, ``theme-{code}`` or a Collection code."""
    if key == TOP_KEY:
        return CollectionTarget(key=key, kind="top")
    if key.startswith(THEME_PREFIX):
        theme = ThemeLibrary.objects.filter(code=key[len(THEME_PREFIX) :]).first()
        if theme is not None:
            return CollectionTarget(key=key, kind="theme", theme=theme)
    collection = (
        Collection.objects.select_related("institution", "parent")
        .filter(code=key)
        .first()
    )
    if collection is not None:
        return CollectionTarget(key=key, kind="collection", collection=collection)
    return None


def child_collection_list(*, collection: Collection) -> QuerySet:
    """The collections directly inside ``collection``."""
    return collection.children.order_by("code")


def root_collection_list() -> QuerySet:
    """Collections with no parent: the top collection lists these (children nest)."""
    return Collection.objects.filter(parent__isnull=True).order_by("code")


def theme_collection_list(*, theme: ThemeLibrary) -> QuerySet:
    """Collections a curator assigned to a theme library."""
    return theme.collections.order_by("code")


def theme_library_list() -> QuerySet:
    """The four theme libraries, in their fixed order."""
    return ThemeLibrary.objects.all()


def central_institution_get() -> Institution | None:
    """The central library: the provider of the top collection and theme libraries."""
    return Institution.objects.filter(kind=Institution.Kind.CENTRAL).first()
