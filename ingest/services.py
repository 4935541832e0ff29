"""Turning delivered files and metadata into records.

For now this holds the simple loader of the sample archive (version 1 of the
batch format); the Dadian and recording ingest issues replace it with the real
pipelines (jobs, events, Celery tasks, progress).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.db import transaction
from PIL import Image, ImageOps

from archive.models import (
    Agent,
    Asset,
    Collection,
    Institution,
    Item,
    ItemAgent,
    PageImage,
    Place,
    ThemeLibrary,
    Work,
    WorkAgent,
)
from archive.services import asset_create, dated_apply
from iiif.services import page_pyramid_make
from ingest.batch import BatchProblem, find_item_folders, read_item
from ingest.derivatives import image_derivatives_make

logger = logging.getLogger(__name__)

SAMPLE_ROOT = Path(__file__).resolve().parent / "sample"


@dataclass
class LoadReport:
    """What a load did: items created or already there, and the problems found."""

    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[BatchProblem] = field(default_factory=list)


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
def item_load(*, folder: Path, data: dict) -> tuple[Item, bool]:
    """Create one item and its files from validated metadata; a second run changes nothing."""
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
    rights = data["rights"]
    statement = rights.get("statement") or {}
    item = Item(
        kind=data["kind"],
        institution=Institution.objects.get(code=data["institution"]),
        collection=Collection.objects.filter(code=data.get("collection") or "").first(),
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
    for seq, page in enumerate(data.get("pages") or [], start=1):
        _page_load(item=item, folder=folder, page=page, sequence=seq)
    for media in data.get("media") or []:
        asset_create(item=item, source=folder / media["file"], role=Asset.Role.MEDIA)
        if media.get("reference_text"):
            asset_create(
                item=item, source=folder / media["reference_text"], role=Asset.Role.TEXT
            )
    return item, True


def _page_load(*, item: Item, folder: Path, page: dict, sequence: int) -> PageImage:
    source = folder / page["file"]
    asset, _ = asset_create(item=item, source=source, role=Asset.Role.PAGE)
    with Image.open(source) as raw:
        image = ImageOps.exif_transpose(raw).convert("RGB")
    image_derivatives_make(asset=asset, image=image)
    page_pyramid_make(asset=asset)
    text = (
        (folder / page["text"]).read_text(encoding="utf-8") if page.get("text") else ""
    )
    text_asset = None
    if page.get("alto"):
        text_asset, _ = asset_create(
            item=item, source=folder / page["alto"], role=Asset.Role.TEXT
        )
    page_image = PageImage(
        item=item,
        sequence=sequence,
        label=page.get("label", ""),
        asset=asset,
        width=image.width,
        height=image.height,
        text=text,
        text_asset=text_asset,
    )
    if page.get("image_id"):
        page_image.public_id = page["image_id"]
    page_image.full_clean()
    page_image.save()
    return page_image


def sample_load(*, root: Path = SAMPLE_ROOT) -> LoadReport:
    """Load a delivery in batch format 1 (the sample archive by default).

    Every item folder is validated first; an item with problems is reported
    and skipped while the rest go in. Running it again changes nothing.
    """
    report = LoadReport()
    institutions = root / "institutions.json"
    if institutions.exists():
        institutions_load(path=institutions)
    for folder in find_item_folders(root):
        record = read_item(folder)
        if not record.ok:
            report.problems.extend(record.problems)
            continue
        try:
            item, created = item_load(folder=folder, data=record.data)
        except Exception as exc:  # noqa: BLE001 - one bad item must not stop the batch
            logger.exception("Could not load %s", folder)
            report.problems.append(BatchProblem(record.metadata_path, "", str(exc)))
            continue
        (report.created if created else report.unchanged).append(item.public_id)
    return report
