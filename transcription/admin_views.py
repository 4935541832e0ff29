"""The transcript pages of the Wagtail admin: the list, an item's transcripts, the editor.

Registered under ``/admin/transcription/`` by ``transcription.wagtail_hooks``.
Reading a transcript here needs ``transcription.view_transcript`` (curators);
correcting it, importing one and marking index points need
``transcription.edit_transcript`` (archivists, central-library staff: data
migration ``0002_editor_permissions``). Both hold only over the user's own
institution's items, by the same institution scoping as the archive's
admin (``archive.admin_views.institution_scope``): anything outside it is a
404, however it is reached.

The editor saves each change through a small JSON endpoint (POST, CSRF
token in ``X-CSRFToken``). An endpoint answers 400 with ``{"error": ...,
"errors": {field: [...]}}`` when the change is refused, so the page can say
why without reloading.
"""

from __future__ import annotations

import json
from functools import wraps

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from archive.admin_views import InstitutionScopedPermissionPolicy, institution_scope
from archive.models import AccessLevel, Asset, Item, Place
from transcription import formats
from transcription.models import IndexPoint, Segment, Transcript
from transcription.services import editing

#: Permission policy of transcripts: model permissions, over the user's institution.
#: ``view`` is ``transcription.view_transcript``, ``edit`` is ``transcription.edit_transcript``.
transcript_policy = InstitutionScopedPermissionPolicy(
    Transcript, institution_field="item__institution"
)

#: Largest transcript file the import form takes (a two-hour VTT is ~300 kB).
IMPORT_MAX_BYTES = 5 * 1024 * 1024


def can_edit(user) -> bool:
    """Whether ``user`` may correct transcripts (of the institutions in their scope)."""
    return transcript_policy.user_has_permission(user, "edit")


def can_read(user) -> bool:
    """Whether ``user`` may open transcripts in the admin at all."""
    return transcript_policy.user_has_any_permission(user, ["view", "edit"])


def _in_scope(user, item: Item) -> bool:
    scope = institution_scope(user)
    return scope is None or item.institution_id in scope


def _transcript_or_404(request, public_id: str, *, edit: bool) -> Transcript:
    if not (can_edit(request.user) if edit else can_read(request.user)):
        raise PermissionDenied
    queryset = transcript_policy.scope_queryset(
        request.user, Transcript.objects.select_related("item", "asset")
    )
    return get_object_or_404(queryset, public_id=public_id)


def _item_or_404(request, public_id: str, *, edit: bool) -> Item:
    if not (can_edit(request.user) if edit else can_read(request.user)):
        raise PermissionDenied
    item = get_object_or_404(Item, public_id=public_id)
    if not _in_scope(request.user, item):
        raise Http404("No such item")
    return item


# --------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------


def segment_json(segment: Segment) -> dict:
    """A segment as the editor reads it."""
    return {
        "id": segment.pk,
        "start": segment.start,
        "end": segment.end,
        "text": segment.text,
        "machine_text": segment.machine_text,
        "speaker": segment.speaker,
        "access_level": segment.access_level,
        "edited": segment.edited,
        "machine_changed": segment.machine_changed,
    }


def index_point_json(point: IndexPoint) -> dict:
    """An index point as the editor reads it."""
    return {
        "id": point.pk,
        "start": point.start,
        "end": point.end,
        "title": point.title,
        "keywords": point.keywords,
        "synopsis": point.synopsis,
        "place": point.place_id,
        "latitude": str(point.latitude) if point.latitude is not None else "",
        "longitude": str(point.longitude) if point.longitude is not None else "",
        "links": point.links,
        "access_level": point.access_level,
    }


def transcript_json(transcript: Transcript) -> dict:
    """The transcript's state shown at the top of the editor."""
    approved_by = transcript.approved_by
    return {
        "id": transcript.public_id,
        "review_state": transcript.review_state,
        "review_label": str(transcript.get_review_state_display()),
        "approved": transcript.is_reviewed,
        "approved_by": approved_by.get_username() if approved_by else "",
        "is_primary": transcript.is_primary,
    }


def speakers_of(transcript: Transcript) -> list[str]:
    """The transcript's speakers, most frequent first."""
    rows = (
        transcript.segments.exclude(speaker="")
        .values("speaker")
        .annotate(n=Count("pk"))
        .order_by("-n", "speaker")
    )
    return [row["speaker"] for row in rows]


class JsonError(Exception):
    """A refusal an endpoint answers as JSON with a status."""

    def __init__(self, message: str, status: int = 400, errors: dict | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors = errors or {}


def _error_response(message: str, status: int, errors: dict | None = None):
    response = JsonResponse({"error": message, "errors": errors or {}}, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


def json_endpoint(view):
    """POST-only JSON endpoint: parses the body, maps refusals to JSON answers.

    ValidationError -> 400 with the messages (by field where known);
    PermissionDenied -> 403; Http404 -> 404. CSRF is checked by Django's
    middleware as for any POST.
    """

    @wraps(view)
    @require_POST
    def wrapper(request, *args, **kwargs):
        try:
            body = request.body.decode("utf-8") or "{}"
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _error_response(_("The request is not valid JSON."), 400)
        if not isinstance(data, dict):
            return _error_response(_("The request is not valid JSON."), 400)
        try:
            result = view(request, data, *args, **kwargs)
        except ValidationError as exc:
            errors = (
                {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
                if hasattr(exc, "error_dict")
                else {}
            )
            return _error_response(" ".join(str(m) for m in exc.messages), 400, errors)
        except JsonError as exc:
            return _error_response(exc.message, exc.status, exc.errors)
        except PermissionDenied:
            return _error_response(_("You may not correct this transcript."), 403)
        except Http404:
            return _error_response(_("Not found (it may have been merged)."), 404)
        response = JsonResponse(result)
        response["Cache-Control"] = "private, no-store"
        return response

    return wrapper


def _segment(transcript: Transcript, pk: int) -> Segment:
    segment = get_object_or_404(Segment, transcript=transcript, pk=pk)
    segment.transcript = transcript  # one instance: the review state shown is current
    return segment


def _field(data: dict, name: str, *, required: bool = True):
    if name not in data:
        if required:
            raise ValidationError({name: _("This field is required.")})
        return None
    return data[name]


def _text(value, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError({name: _("Give text.")})
    return value


@json_endpoint
def segment_update(request, data, transcript: str, pk: int):
    """Change a segment's text, times or speaker: ``{"text", "start", "end", "speaker"}``."""
    obj = _transcript_or_404(request, transcript, edit=True)
    segment = _segment(obj, pk)
    unknown = set(data) - {"text", "start", "end", "speaker"}
    if unknown:
        raise JsonError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    editing.segment_update(
        segment=segment,
        user=request.user,
        text=_text(data.get("text"), "text"),
        start=data.get("start"),
        end=data.get("end"),
        speaker=_text(data.get("speaker"), "speaker"),
    )
    return {"segment": segment_json(segment), "transcript": transcript_json(obj)}


@json_endpoint
def segment_split(request, data, transcript: str, pk: int):
    """Split a segment: ``{"at": seconds, "text_before": ..., "text_after": ...}``."""
    obj = _transcript_or_404(request, transcript, edit=True)
    first, second = editing.segment_split(
        segment=_segment(obj, pk),
        user=request.user,
        at_seconds=_field(data, "at"),
        text_before=_text(_field(data, "text_before"), "text_before"),
        text_after=_text(_field(data, "text_after"), "text_after"),
    )
    return {
        "segments": [segment_json(first), segment_json(second)],
        "transcript": transcript_json(obj),
    }


@json_endpoint
def segment_merge(request, data, transcript: str, pk: int):
    """Merge a segment with the one after it."""
    obj = _transcript_or_404(request, transcript, edit=True)
    first = _segment(obj, pk)
    second = editing.segment_next(first)
    if second is None:
        raise JsonError(
            _("This is the last segment: there is nothing to merge it with.")
        )
    removed = second.pk
    merged = editing.segment_merge(first=first, second=second, user=request.user)
    return {
        "segment": segment_json(merged),
        "removed": removed,
        "transcript": transcript_json(obj),
    }


@json_endpoint
def segment_access(request, data, transcript: str, pk: int):
    """Close or open a passage: ``{"level": "" | "reading_room" | "staff"}``."""
    obj = _transcript_or_404(request, transcript, edit=True)
    segment = editing.segment_access_set(
        segment=_segment(obj, pk),
        user=request.user,
        level=_text(_field(data, "level"), "level"),
    )
    return {"segment": segment_json(segment)}


@json_endpoint
def speaker_rename(request, data, transcript: str):
    """Rename a speaker everywhere in the transcript: ``{"old": ..., "new": ...}``."""
    obj = _transcript_or_404(request, transcript, edit=True)
    changed = editing.speaker_rename(
        transcript=obj,
        user=request.user,
        old=_text(_field(data, "old"), "old"),
        new=_text(_field(data, "new"), "new"),
    )
    return {
        "segments": [segment_json(s) for s in changed],
        "speakers": speakers_of(obj),
    }


@json_endpoint
def transcript_approve(request, data, transcript: str):
    """Approve the transcript: readers no longer see "not yet reviewed"."""
    obj = _transcript_or_404(request, transcript, edit=True)
    editing.transcript_approve(transcript=obj, user=request.user)
    return {"transcript": transcript_json(obj)}


@json_endpoint
def transcript_reopen(request, data, transcript: str):
    """Take back the approval."""
    obj = _transcript_or_404(request, transcript, edit=True)
    editing.transcript_reopen(transcript=obj, user=request.user)
    return {"transcript": transcript_json(obj)}


def _point_values(data: dict) -> dict:
    unknown = set(data) - set(editing.INDEX_POINT_FIELDS)
    if unknown:
        raise JsonError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    return data


@json_endpoint
def index_point_create(request, data, transcript: str):
    """Mark a moment of the recording (the fields of ``editing.INDEX_POINT_FIELDS``)."""
    obj = _transcript_or_404(request, transcript, edit=True)
    if "title" not in data or "start" not in data:
        raise ValidationError(
            {
                k: _("This field is required.")
                for k in ("title", "start")
                if k not in data
            }
        )
    point = editing.index_point_create(
        item=obj.item, user=request.user, **_point_values(data)
    )
    return {"index_point": index_point_json(point)}


@json_endpoint
def index_point_update(request, data, transcript: str, pk: int):
    """Change an index point (only the fields sent)."""
    obj = _transcript_or_404(request, transcript, edit=True)
    point = get_object_or_404(IndexPoint, item=obj.item, pk=pk)
    editing.index_point_update(
        index_point=point, user=request.user, **_point_values(data)
    )
    return {"index_point": index_point_json(point)}


@json_endpoint
def index_point_delete(request, data, transcript: str, pk: int):
    """Remove an index point."""
    obj = _transcript_or_404(request, transcript, edit=True)
    point = get_object_or_404(IndexPoint, item=obj.item, pk=pk)
    return {"removed": editing.index_point_delete(index_point=point, user=request.user)}


def editor_data(request, transcript: str) -> JsonResponse:
    """Everything the editor shows, as JSON (``GET``): for a reload without a page load."""
    obj = _transcript_or_404(request, transcript, edit=False)
    response = JsonResponse(_editor_payload(obj, request.user))
    response["Cache-Control"] = "private, no-store"
    return response


def _editor_payload(transcript: Transcript, user) -> dict:
    return {
        "transcript": transcript_json(transcript),
        "segments": [
            segment_json(s) for s in transcript.segments.order_by("start", "pk")
        ],
        "index_points": [
            index_point_json(p)
            for p in IndexPoint.objects.filter(item=transcript.item).order_by(
                "start", "pk"
            )
        ],
        "speakers": speakers_of(transcript),
        "can_edit": can_edit(user) and _in_scope(user, transcript.item),
    }


# --------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------


def _breadcrumbs(*items: tuple[str, str]) -> list[dict]:
    crumbs = [
        {"url": reverse("wagtailadmin_home"), "label": _("Home")},
        {"url": reverse("transcription_admin_index"), "label": _("Transcripts")},
    ]
    return crumbs + [{"url": url, "label": label} for url, label in items]


#: The levels the editor offers for a passage ("" follows the item).
def access_choices() -> list[tuple[str, str]]:
    """The access levels a passage or index point may be given in the editor."""
    labels = dict(AccessLevel.choices)
    return [
        # Translators: a passage of a transcript that follows its item's access level.
        ("", _("Open (follows the item)")),
        (AccessLevel.READING_ROOM, str(labels[AccessLevel.READING_ROOM])),
        (AccessLevel.STAFF, str(labels[AccessLevel.STAFF])),
    ]


def editor_strings() -> dict:
    """The editor script's messages, translated here (the script has no catalogue)."""
    return {
        "saving": _("Saving…"),
        "saved": _("Saved"),
        "error": _("Not saved: %(message)s"),
        "network": _("The server could not be reached; the change is not saved."),
        "text_label": _("Text at %(time)s"),
        "seek_label": _("Play from %(time)s"),
        "split_outside": _(
            "Move the playhead inside this segment to split it (it is at %(time)s)."
        ),
        "split_short": _("This text is too short to split."),
        "merged": _("Merged with the next segment."),
        "split": _("Split in two."),
        "approved": _("Approved."),
        "reopened": _("Approval taken back: the transcript is being corrected."),
        "renamed": _("Speaker renamed in %(count)s segments."),
        "unsaved": _("Some changes are not saved yet."),
        "point_saved": _("Index point saved."),
        "point_deleted": _("Index point removed."),
        "confirm_delete": _("Remove this index point?"),
        "edit": _("Edit"),
        "delete": _("Remove"),
        "no_segments": _("This transcript has no segments yet."),
        "no_points": _("No index points yet."),
        "last_segment": _("This is the last segment."),
        "media_error": _("The recording cannot be played in this browser."),
    }


def _export_links(transcript: Transcript) -> list[tuple[str, str]]:
    """The public export doors of the transcript (as a reader gets them)."""
    try:
        return [
            (
                fmt.upper(),
                reverse(
                    "transcript_file",
                    kwargs={
                        "item": transcript.item.public_id,
                        "transcript": transcript.public_id,
                        "format": fmt,
                    },
                ),
            )
            for fmt in formats.MEDIA_TYPES
        ]
    except NoReverseMatch:  # the public doors are not routed (yet)
        return []


def editor(request: HttpRequest, transcript: str) -> HttpResponse:
    """The editor: the recording and the segments in step, index points beside them."""
    obj = _transcript_or_404(request, transcript, edit=False)
    item = obj.item
    payload = _editor_payload(obj, request.user)
    media_url = reverse("asset_file", args=[item.public_id, obj.asset_id])
    title = _("Transcript %(id)s") % {"id": obj.public_id}
    exports = _export_links(obj)
    return TemplateResponse(
        request,
        "transcription/admin/editor.html",
        {
            "page_title": title,
            "header_title": f"{title} · {item.title}",
            "header_icon": "doc-full",
            "breadcrumbs_items": _breadcrumbs(
                (
                    reverse("transcription_admin_item", args=[item.public_id]),
                    item.title,
                ),
                ("", obj.public_id),
            ),
            "transcript": obj,
            "item": item,
            "media_url": media_url,
            "is_video": obj.asset.media_type.startswith("video/"),
            "payload": payload,
            "strings": editor_strings(),
            "can_edit": payload["can_edit"],
            "access_choices": access_choices(),
            "places": Place.objects.order_by("name"),
            "base_url": reverse("transcription_admin_editor", args=[obj.public_id]),
            "exports": exports,
            "changed_count": sum(
                1 for s in payload["segments"] if s["machine_changed"]
            ),
        },
    )


class TranscriptFilterForm(forms.Form):
    """The filters of the transcript list."""

    q = forms.CharField(
        label=gettext_lazy("Item"),
        required=False,
        help_text=gettext_lazy("Identifier or title"),
    )
    review = forms.ChoiceField(
        label=gettext_lazy("Review"),
        required=False,
        choices=[("", gettext_lazy("Any"))] + list(Transcript.Review.choices),
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("Any"))] + list(Transcript.Status.choices),
    )
    register = forms.ChoiceField(
        label=gettext_lazy("Register"),
        required=False,
        choices=[("", gettext_lazy("Any"))] + list(Transcript.Register.choices),
    )


def transcript_index(request: HttpRequest) -> HttpResponse:
    """Every transcript the user may reach: item, register, status, review state."""
    if not can_read(request.user):
        raise PermissionDenied
    form = TranscriptFilterForm(request.GET or None)
    queryset = transcript_policy.scope_queryset(
        request.user,
        Transcript.objects.select_related("item").annotate(
            segment_count=Count("segments"),
            changed_count=Count("segments", filter=Q(segments__machine_changed=True)),
        ),
    ).order_by("-updated_at", "-pk")
    if form.is_valid():
        q = form.cleaned_data["q"].strip()
        if q:
            queryset = queryset.filter(
                Q(item__public_id__icontains=q)
                | Q(item__title__icontains=q)
                | Q(item__title_hant__icontains=q)
                | Q(item__title_hans__icontains=q)
                | Q(item__title_en__icontains=q)
                | Q(public_id__iexact=q)
            )
        for name, lookup in (
            ("review", "review_state"),
            ("status", "status"),
            ("register", "register"),
        ):
            if form.cleaned_data[name]:
                queryset = queryset.filter(**{lookup: form.cleaned_data[name]})
    page = Paginator(queryset, 50).get_page(request.GET.get("p"))
    query = request.GET.copy()
    query.pop("p", None)
    return TemplateResponse(
        request,
        "transcription/admin/transcript_index.html",
        {
            "page_title": _("Transcripts"),
            "header_title": _("Transcripts"),
            "header_icon": "doc-full",
            "form": form,
            "page_obj": page,
            "query": query.urlencode(),
        },
    )


class ImportForm(forms.Form):
    """A transcript made elsewhere, as WebVTT or SRT."""

    file = forms.FileField(
        label=gettext_lazy("Transcript file (.vtt or .srt)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".vtt,.srt,text/vtt"}),
    )
    register = forms.ChoiceField(
        label=gettext_lazy("Register"),
        choices=Transcript.Register.choices,
        initial=Transcript.Register.COLLOQUIAL,
    )
    asset = forms.ModelChoiceField(
        label=gettext_lazy("Recording"), queryset=Asset.objects.none(), empty_label=None
    )
    encoding = forms.ChoiceField(
        label=gettext_lazy("Text encoding"),
        choices=[
            ("utf-8", "UTF-8"),
            ("big5", "Big5 (繁體)"),
            ("gb18030", "GB18030 (简体)"),
            ("utf-16", "UTF-16"),
        ],
        initial="utf-8",
    )

    def __init__(self, *args, item: Item, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["asset"].queryset = item.assets.filter(role=Asset.Role.MEDIA)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(mb)s MB.")
                % {"mb": IMPORT_MAX_BYTES // 2**20}
            )
        return upload


def item_transcripts(request: HttpRequest, item: str) -> HttpResponse:
    """An item's transcripts, the upload of a VTT or SRT, and which one is primary."""
    obj = _item_or_404(request, item, edit=False)
    editable = can_edit(request.user)
    form = ImportForm(item=obj)
    status = 200
    if request.method == "POST":
        if not editable:
            raise PermissionDenied
        form = ImportForm(request.POST, request.FILES, item=obj)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                transcript = editing.transcript_import(
                    item=obj,
                    content=upload.read(),
                    name=upload.name,
                    register=form.cleaned_data["register"],
                    asset=form.cleaned_data["asset"],
                    encoding=form.cleaned_data["encoding"],
                    user=request.user,
                )
            except formats.TranscriptFormatError as exc:
                form.add_error("file", str(exc))
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(
                    request,
                    _("%(name)s was imported as transcript %(id)s.")
                    % {"name": upload.name, "id": transcript.public_id},
                )
                return redirect("transcription_admin_editor", transcript.public_id)
        status = 400
    transcripts = obj.transcripts.annotate(segment_count=Count("segments")).order_by(
        "-is_primary", "created_at", "pk"
    )
    return TemplateResponse(
        request,
        "transcription/admin/item_transcripts.html",
        {
            "page_title": obj.title,
            "header_title": _("Transcripts of %(item)s") % {"item": obj.title},
            "header_icon": "doc-full",
            "breadcrumbs_items": _breadcrumbs(("", obj.title)),
            "item": obj,
            "transcripts": transcripts,
            "form": form,
            "can_edit": editable,
            "has_recording": obj.assets.filter(role=Asset.Role.MEDIA).exists(),
            "upload_limit": IMPORT_MAX_BYTES,
        },
        status=status,
    )


@require_POST
def transcript_make_primary(request: HttpRequest, transcript: str) -> HttpResponse:
    """Make a transcript the item's primary one (the one readers get first)."""
    obj = _transcript_or_404(request, transcript, edit=True)
    editing.transcript_make_primary(transcript=obj)
    messages.success(
        request,
        _("%(id)s is now the item's primary transcript.") % {"id": obj.public_id},
    )
    return redirect("transcription_admin_item", obj.item.public_id)
