"""The compare page: one or two image items side by side in one Mirador workspace.

Item pages embed the same viewer through ``iiif/item_viewer.html`` (chosen by
``ARCHIVE_ITEM_VIEWERS``); ``/viewer/?item=A&item=B`` opens up to two of this
site's image items together (DESIGN.md, journey 3: two volumes side by side).
The page names items by public identifier only, never by arbitrary manifest
URL, so it cannot be used to frame other sites' material under our name;
Mirador's own "add resource" panel still lets a researcher bring any manifest.
"""

from __future__ import annotations

from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET

from archive import selectors
from archive.access import decide
from archive.http import PRIVATE_CACHE, item_refusal_response
from archive.models import AccessLevel, Item
from iiif.identifiers import manifest_id

#: Windows the compare page opens at most (two volumes side by side).
MAX_ITEMS = 2
#: Item kinds whose pages are images and open in Mirador.
IMAGE_KINDS = (Item.Kind.BOOK_VOLUME, Item.Kind.IMAGE_SET)
#: How many items the chooser offers; past this, people reach items through search.
CHOOSER_LIMIT = 500


@require_GET
def viewer(request):
    """Open up to two image items (``?item=<public_id>``, repeated) side by side.

    Without items the page is a chooser of the image items the visitor may see.
    An unknown identifier, or one that is not an image item, answers 404; an
    item the visitor may not see answers as its item page would (403 or 410),
    without its title. The same item may be given twice (two pages of one
    volume side by side).
    """
    public_ids = [value.strip() for value in request.GET.getlist("item")]
    public_ids = [value for value in public_ids if value]
    if len(public_ids) > MAX_ITEMS:
        return HttpResponseBadRequest(
            f"At most {MAX_ITEMS} items can be compared.", content_type="text/plain"
        )
    items = []
    for public_id in public_ids:
        item = selectors.item_get(public_id=public_id)
        if item is None or item.kind not in IMAGE_KINDS:
            raise Http404("No such image item")
        decision = decide(request.user, item, request)
        if not decision.allowed:
            return item_refusal_response(request, decision, item)
        items.append(item)
    choices = (
        selectors.item_list(user=request.user, request=request)
        .filter(kind__in=IMAGE_KINDS)
        .order_by("title", "public_id")[:CHOOSER_LIMIT]
    )
    windows = [
        {"manifestId": manifest_id(item.public_id, request=request)} for item in items
    ]
    response = render(
        request,
        "iiif/viewer.html",
        {
            "items": items,
            "windows": windows,
            "choices": choices,
            "chosen": public_ids + [""] * (MAX_ITEMS - len(public_ids)),
        },
    )
    # The chooser depends on who asks (staff and the reading room see more).
    restricted = any(item.access_level != AccessLevel.PUBLIC for item in items)
    response["Cache-Control"] = PRIVATE_CACHE if restricted else "private, no-cache"
    return response
