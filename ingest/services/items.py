"""Turning a delivery's metadata into records: institutions, collections, works, items.

Pages and recordings are not made here: ``ingest.services.jobs`` plans their
files, ``ingest.services.pages`` turns each page file into a page and
``ingest.services.recordings`` each recording into a stored original with its
listening copy. A recording's reference transcript (``reference_text``) is
stored here, with the item.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

from django.db import transaction

from archive.models import (
    Agent,
    Asset,
    Collection,
    Institution,
    Item,
    ItemAgent,
    Place,
    ThemeLibrary,
    Work,
    WorkAgent,
)
from archive.services import asset_create, dated_apply

logger = logging.getLogger(__name__)


class ItemRefused(Exception):
    """Metadata that validated but cannot become a record (an unknown code, say)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _forms(value: dict | None) -> dict:
    value = value or {}
    return {
        "original": value.get("original", ""),
        "hant": value.get("zh-Hant", ""),
        "hans": value.get("zh-Hans", ""),
        "en": value.get("en", ""),
    }


def institutions_load(*, path: Path) -> None:
    """Create or update the institutions and collections described in ``institutions.json``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    for inst in data.get("institutions", []):
        name = _forms(inst.get("name"))
        Institution.objects.update_or_create(
            code=inst["code"],
            defaults={
                "name": name["original"] or name["hant"],
                "name_hant": name["hant"],
                "name_hans": name["hans"],
                "name_en": name["en"],
                "kind": inst.get("kind", Institution.Kind.DISTRICT),
                "homepage": inst.get("homepage", ""),
            },
        )
    # Parents first: a collection may name a parent defined earlier in the file.
    for col in data.get("collections", []):
        title = _forms(col.get("title"))
        Collection.objects.update_or_create(
            code=col["code"],
            defaults={
                "institution": Institution.objects.get(code=col["institution"]),
                "parent": Collection.objects.get(code=col["parent"])
                if col.get("parent")
                else None,
                "title": title["original"] or title["hant"],
                "title_hant": title["hant"],
                "title_hans": title["hans"],
                "title_en": title["en"],
            },
        )


def _agent(name_value: dict, dynasty: str = "") -> Agent:
    name = _forms(name_value)
    agent, _ = Agent.objects.get_or_create(
        name=name["original"],
        dynasty=dynasty or "",
        defaults={
            "name_hant": name["hant"],
            "name_hans": name["hans"],
            "name_en": name["en"],
        },
    )
    return agent


@transaction.atomic
def item_upsert(*, folder: Path, data: dict) -> tuple[Item, bool]:
    """Create an item from validated metadata, or find it by its ``id``.

    An item that exists is not changed: its record belongs to the archivists
    now (a re-delivery only appends pages and recordings). The recordings
    themselves are files of the job (``ingest.services.recordings``); their
    reference transcripts are stored here.

    Returns:
        (the item, whether it was created now).
    """
    public_id = data.get("id") or None
    item = Item.objects.filter(public_id=public_id).first() if public_id else None
    if item is not None:
        return item, False
    title = _forms(data["title"])
    description = _forms(data.get("description"))
    work = None
    if data.get("work"):
        w = data["work"]
        wt = _forms(w["title"])
        work = Work.objects.filter(public_id=w["id"]).first() if w.get("id") else None
        if work is None:
            work = Work(
                title=wt["original"],
                title_hant=wt["hant"],
                title_hans=wt["hans"],
                title_en=wt["en"],
                bu=w.get("class", ""),
                subclass=w.get("subclass", ""),
                edition=w.get("edition", ""),
                dadian_ref=w.get("dadian_ref", ""),
            )
            if w.get("id"):
                work.public_id = w["id"]
            dated_apply(obj=work, date_text=w.get("date", ""))
            work.full_clean()
            work.save()
            for order, a in enumerate(w.get("agents") or []):
                WorkAgent.objects.get_or_create(
                    work=work,
                    agent=_agent(a["name"], a.get("dynasty", "")),
                    role=a.get("role", "author"),
                    defaults={"sort_order": order},
                )
    institution = Institution.objects.filter(code=data["institution"]).first()
    if institution is None:
        raise ItemRefused(
            "institution",
            f"no institution with code {data['institution']!r}: add it to "
            "institutions.json or in the admin",
        )
    collection = None
    if data.get("collection"):
        collection = Collection.objects.filter(code=data["collection"]).first()
        if collection is None:
            raise ItemRefused(
                "collection",
                f"no collection with code {data['collection']!r}: add it to "
                "institutions.json or in the admin",
            )
    rights = data["rights"]
    statement = rights.get("statement") or {}
    if not statement:
        # The attribution IIIF shows with the item; a plain one when none is given.
        statement = {
            "zh-Hant": f"{institution.name_hant or institution.name}藏",
            "en": f"Held by {institution.name_en or institution.name}",
        }
    item = Item(
        kind=data["kind"],
        institution=institution,
        collection=collection,
        work=work,
        volume_number=data.get("volume"),
        dadian_ref=data.get("dadian_ref", ""),
        title=title["original"],
        title_hant=title["hant"],
        title_hans=title["hans"],
        title_en=title["en"],
        description=description["original"],
        description_hant=description["hant"],
        description_hans=description["hans"],
        description_en=description["en"],
        languages=data.get("language") or [],
        dialect=data.get("dialect", ""),
        rights_uri=rights["uri"],
        required_statement=statement.get("zh-Hant")
        or statement.get("original")
        or statement.get("en", ""),
        required_statement_en=statement.get("en", ""),
        access_level=data.get("access", "staff"),
        toc=data.get("toc") or [],
        embargo_until=date.fromisoformat(data["embargo_until"])
        if data.get("embargo_until")
        else None,
    )
    if public_id:
        item.public_id = public_id
    dated_apply(obj=item, date_text=data.get("date", ""))
    item.full_clean()
    item.save()
    item.themes.set(ThemeLibrary.objects.filter(code__in=data.get("themes") or []))
    for order, a in enumerate(data.get("agents") or []):
        ItemAgent.objects.get_or_create(
            item=item,
            agent=_agent(a["name"], a.get("dynasty", "")),
            role=a["role"],
            defaults={"sort_order": order},
        )
    for p in data.get("places") or []:
        name = _forms(p["name"])
        place, _ = Place.objects.get_or_create(
            name=name["original"],
            defaults={
                "name_hant": name["hant"],
                "name_hans": name["hans"],
                "name_en": name["en"],
                "latitude": p.get("lat"),
                "longitude": p.get("lon"),
            },
        )
        item.places.add(place)
    for media in data.get("media") or []:
        if media.get("reference_text"):
            asset_create(
                item=item, source=folder / media["reference_text"], role=Asset.Role.TEXT
            )
    return item, True
