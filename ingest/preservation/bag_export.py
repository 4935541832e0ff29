"""An item as a BagIt package: everything needed to rebuild it in another archive.

One bag per item, named by its public identifier (BagIt, RFC 8493; written
with the Library of Congress's ``bagit`` library, SHA-256 and SHA-512
manifests)::

    {public_id}/
      bagit.txt, bag-info.txt, manifest-sha{256,512}.txt, tagmanifest-sha{256,512}.txt
      data/README.txt                     what is where (this layout)
      data/originals/{role}/{sha256}{ext} every stored original, byte for byte
      data/metadata/item.json             the records, every field (``yuecang-bag/1``)
      data/metadata/dc.xml                simple Dublin Core (oai_dc)
      data/transcripts/{id}.vtt, {id}.json every transcript, closed passages included
      data/iiif/manifest.json             the Presentation 3.0 manifest as staff get it

A preservation package holds everything, restricted material included:
consent forms and other personal data are marked as such in ``item.json``
(``personal_data``) and ``bag-info.txt`` (``Yuecang-Personal-Data``), and the
package must be kept as the archive keeps them. Exporting is done as a named
staff account, so the audit log records who packed restricted material.

The bag is written under a temporary name beside its target, validated (every
checksum read back), checked against the checksums the archive recorded (a
damaged stored original refuses the export instead of being packed), and
only then renamed into place: a bag under its public identifier is always
complete. ``ingest.preservation.bag_import`` reads it back.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import bagit
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from archive.access import is_archive_staff
from archive.models import AccessLevel, Asset, Item
from iiif import presentation
from iiif import selectors as iiif_selectors
from ingest.preservation.dublin_core import dublin_core_xml
from ingest.preservation.records import (
    BAG_FORMAT,
    TRANSCRIPT_FORMAT,
    BagRefused,
    record_fields,
    software_version,
)
from transcription import formats
from transcription.models import Consent, IndexPoint, Transcript

#: The bag's checksum manifests (bagit writes and validates both).
CHECKSUMS = ("sha256", "sha512")
_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")

#: What the manifest in a package leaves out even for staff.
MANIFEST_LEAVES_OUT = (
    "Built as the archive's staff see it. Left out for everyone, as the builder "
    "does for every manifest: closed passages of transcripts and index points "
    "stricter than the item; not canvases: consent forms, text (ALTO, hOCR) and "
    "supplementary files. All of them are in this package: originals/, "
    "transcripts/, metadata/item.json."
)

README = """\
Yuecang preservation package (yuecang-bag/1) of item {public_id}

originals/{{role}}/{{sha256}}{{ext}}  every stored original of the item, byte for byte,
    named by its SHA-256; its role, original file name, access level and
    fixity history are in metadata/item.json ("assets"). Roles: page (page
    scans), media (audio and video masters), text (ALTO, hOCR, plain text),
    consent_form (signed consent forms), supplement.
metadata/item.json  every field of the item and of the records it needs
    (institutions, collections, work, agents, places, theme libraries,
    pages, consent and closed passages, index points), relations by stable
    keys: codes, public identifiers, checksums.
metadata/dc.xml  the record as simple Dublin Core (oai_dc).
transcripts/{{id}}.json, {{id}}.vtt  every transcript: segments with times,
    speakers, machine and corrected text, access levels, revisions.
iiif/manifest.json  the IIIF Presentation 3.0 manifest, as staff see it.

PERSONAL DATA: files listed under "personal_data" in metadata/item.json
(consent forms and other personal data) are staff only in the archive. Keep
this package as the archive keeps them.
"""


@dataclass
class ExportedBag:
    """A package written: where, how much, and what in it is personal data."""

    public_id: str
    path: Path
    files: int
    bytes: int
    personal_data: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _bag_name(asset: Asset) -> str:
    suffix = Path(asset.original_filename or "").suffix
    suffix = suffix.lower() if _SUFFIX.match(suffix) else ""
    return f"originals/{asset.role}/{asset.sha256}{suffix}"


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", "utf-8")


def _username(user) -> str:
    return user.get_username() if user is not None else ""


def item_package_record(*, item: Item) -> tuple[dict, dict[int, str]]:
    """The package's ``item.json``: every record the item needs, by stable keys.

    Returns:
        The record, and the path in the bag (under ``data/``) of each asset by pk.
    """
    agents: list = []
    places: list = []
    themes: dict[str, object] = {}

    def agent_ref(agent) -> int:
        for n, known in enumerate(agents):
            if known.pk == agent.pk:
                return n
        agents.append(agent)
        return len(agents) - 1

    def place_ref(place) -> int:
        for n, known in enumerate(places):
            if known.pk == place.pk:
                return n
        places.append(place)
        return len(places) - 1

    def theme_codes(manager) -> list[str]:
        codes = []
        for theme in manager.order_by("sort_order", "code"):
            themes.setdefault(theme.code, theme)
            codes.append(theme.code)
        return codes

    institutions = {item.institution.code: item.institution}
    collections = []
    if item.collection_id:
        for collection in [*item.collection.ancestors(), item.collection]:
            institutions.setdefault(collection.institution.code, collection.institution)
            collections.append(
                {
                    "fields": record_fields(collection),
                    "institution": collection.institution.code,
                    "parent": collection.parent.code if collection.parent else None,
                    "themes": theme_codes(collection.themes),
                }
            )
    work = None
    if item.work_id:
        work = {
            "fields": record_fields(item.work),
            "agents": [
                {
                    "agent": agent_ref(link.agent),
                    "role": link.role,
                    "sort_order": link.sort_order,
                }
                for link in item.work.work_agents.select_related("agent").order_by(
                    "sort_order", "pk"
                )
            ],
        }
    paths: dict[int, str] = {}
    assets = []
    for asset in item.assets.order_by("pk"):
        paths[asset.pk] = _bag_name(asset)
        assets.append(
            {
                #: The asset's number in URLs (``/items/{item}/files/{n}``).
                "number": asset.pk,
                "path": paths[asset.pk],
                "staff_only": asset.is_staff_only,
                "fields": record_fields(asset),
                "fixity_checks": [
                    record_fields(check)
                    for check in asset.fixity_checks.order_by("checked_at", "pk")
                ],
                "derivatives": [
                    {"kind": d.kind, "recipe_version": d.recipe_version}
                    for d in asset.derivatives.order_by("kind", "recipe_version")
                ],
            }
        )
    by_pk = {a.pk: a.sha256 for a in item.assets.all()}
    pages = [
        {
            "fields": record_fields(page),
            "asset": by_pk[page.asset_id],
            "text_asset": by_pk.get(page.text_asset_id),
        }
        for page in item.pages.order_by("sequence")
    ]
    consent = Consent.objects.filter(item=item).first()
    consent_record = None
    if consent is not None:
        consent_record = {
            "fields": record_fields(consent),
            "form": by_pk.get(consent.form_id),
            "closed": [
                record_fields(passage)
                for passage in consent.closed_ranges.order_by("start", "pk")
            ],
        }
    index_points = [
        {
            "number": point.pk,
            "fields": record_fields(point),
            "place": place_ref(point.place) if point.place_id else None,
        }
        for point in IndexPoint.objects.filter(item=item)
        .select_related("place")
        .order_by("start", "pk")
    ]
    item_record = {
        "fields": record_fields(item),
        "institution": item.institution.code,
        "collection": item.collection.code if item.collection_id else None,
        "work": item.work.public_id if item.work_id else None,
        "themes": theme_codes(item.themes),
        "places": [place_ref(place) for place in item.places.order_by("name", "pk")],
        "agents": [
            {
                "agent": agent_ref(link.agent),
                "role": link.role,
                "sort_order": link.sort_order,
            }
            for link in item.item_agents.select_related("agent").order_by(
                "sort_order", "pk"
            )
        ],
    }
    record = {
        "format": BAG_FORMAT,
        "exported_at": timezone.now().isoformat(),
        "software": {"name": "yuecang", "version": software_version()},
        "public_id": item.public_id,
        "personal_data": [
            entry["path"]
            for entry in assets
            if entry["staff_only"] or entry["fields"]["is_personal_data"]
        ],
        "institutions": [
            record_fields(institution) for institution in institutions.values()
        ],
        "themes": [record_fields(theme) for theme in themes.values()],
        "collections": collections,
        "agents": [record_fields(agent) for agent in agents],
        "places": [record_fields(place) for place in places],
        "work": work,
        "item": item_record,
        "assets": assets,
        "pages": pages,
        "consent": consent_record,
        "index_points": index_points,
        "transcripts": [],
        "iiif": {"manifest": None, "note": ""},
    }
    return record, paths


def _transcripts_write(*, item: Item, folder: Path) -> list[dict]:
    """Write every transcript as JSON (every field) and WebVTT; return their entries."""
    entries = []
    for transcript in (
        Transcript.objects.filter(item=item)
        .select_related("asset", "approved_by", "previous", "item")
        .order_by("created_at", "pk")
    ):
        segments = list(
            transcript.segments.prefetch_related("revisions__user").order_by(
                "start", "pk"
            )
        )
        data = {
            "format": TRANSCRIPT_FORMAT,
            "item": item.public_id,
            "fields": record_fields(transcript),
            "asset": transcript.asset.sha256,
            "previous": transcript.previous.public_id if transcript.previous else None,
            "approved_by": _username(transcript.approved_by),
            "segments": [
                {
                    "fields": record_fields(segment),
                    "revisions": [
                        {"fields": record_fields(rev), "user": _username(rev.user)}
                        for rev in sorted(
                            segment.revisions.all(), key=lambda r: (r.at, r.pk)
                        )
                    ],
                }
                for segment in segments
            ],
        }
        name = f"transcripts/{transcript.public_id}"
        _write_json(folder / f"{name}.json", data)
        # The full text, closed passages included: this copy is for the archive.
        vtt = formats.render_vtt(
            transcript=transcript, segments=segments, language=settings.LANGUAGE_CODE
        )
        (folder / f"{name}.vtt").write_text(vtt, "utf-8")
        entries.append(
            {
                "public_id": transcript.public_id,
                "json": f"{name}.json",
                "vtt": f"{name}.vtt",
            }
        )
    return entries


def _manifest_write(*, item: Item, folder: Path, user) -> tuple[str | None, str]:
    """Write the IIIF manifest as ``user`` (staff) gets it; return its path, a note."""
    if item.access_level == AccessLevel.WITHDRAWN:
        return None, (
            "No manifest: the item is withdrawn (its IIIF door answers 410 for "
            "everyone)."
        )
    full = iiif_selectors.manifest_item_get(public_id=item.public_id)
    manifest = presentation.manifest_build(item=full, user=user)
    if manifest is None:
        return None, "No manifest: the item has no page or recording to show."
    body = json.loads(presentation.to_json(manifest))
    _write_json(folder / "iiif" / "manifest.json", body)
    return "iiif/manifest.json", MANIFEST_LEAVES_OUT


def _bag_info(item: Item, personal: list[str]) -> dict:
    def line(text: str) -> str:
        return " ".join(str(text).split())

    institution = item.institution
    organisation = institution.name
    if institution.name_en and institution.name_en != institution.name:
        organisation = f"{institution.name} ({institution.name_en})"
    version = software_version()
    info = {
        "Source-Organization": line(organisation),
        "External-Identifier": item.public_id,
        "External-Description": line(item.title),
        "Bagging-Date": timezone.localdate().isoformat(),
        "Bag-Software-Agent": f"yuecang {version} with bagit.py {bagit.VERSION}",
        "Yuecang-Version": version,
        "Yuecang-Bag-Format": BAG_FORMAT,
        "Yuecang-Item-Kind": item.kind,
        "Yuecang-Access-Level": item.access_level,
        "Yuecang-Personal-Data": [f"data/{p}" for p in personal] or "none",
    }
    if item.collection_id:
        info["Bag-Group-Identifier"] = item.collection.code
    return info


def _is_bag_of(path: Path, public_id: str) -> bool:
    try:
        return bagit.Bag(str(path)).info.get("External-Identifier") == public_id
    except bagit.BagError:
        return False


def item_bag_export(*, item: Item, to: Path, user) -> ExportedBag:
    """Write the item's preservation package to ``to/{public_id}``.

    An older package of the item there is replaced once the new one is complete.

    Args:
        item: the item.
        to: the folder of packages (made if missing).
        user: the staff account doing the export; the manifest is built as it
            sees it (restricted material included), and the audit log records
            its views of restricted items.

    Returns:
        What was written.

    Raises:
        PermissionError: ``user`` is not archive staff.
        BagRefused: a stored original is missing or no longer matches its
            checksum (nothing is written), or ``to/{public_id}`` exists and is
            not a package of this item.
    """
    if not is_archive_staff(user):
        raise PermissionError(
            _("Only archive staff may export preservation packages (%(user)s is not).")
            % {"user": _username(user)}
        )
    to = Path(to)
    to.mkdir(parents=True, exist_ok=True)
    target = to / item.public_id
    if target.exists() and not _is_bag_of(target, item.public_id):
        raise BagRefused(
            target,
            _(
                "exists and is not a package of item %(item)s: it was left as it is "
                "(move it away, then export again)"
            )
            % {"item": item.public_id},
        )
    staging = Path(tempfile.mkdtemp(prefix=f".{item.public_id}.incoming-", dir=to))
    try:
        record, paths = item_package_record(item=item)
        for asset in item.assets.order_by("pk"):
            if not asset.path.exists():
                raise BagRefused(
                    target,
                    _(
                        "the stored original %(path)s (asset %(n)s) is missing: "
                        "nothing was written (run manage.py fixity)"
                    )
                    % {"path": asset.path, "n": asset.pk},
                )
            destination = staging / paths[asset.pk]
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(asset.path, destination)
        record["transcripts"] = _transcripts_write(item=item, folder=staging)
        manifest, note = _manifest_write(item=item, folder=staging, user=user)
        record["iiif"] = {"manifest": manifest, "built_for": "staff", "note": note}
        _write_json(staging / "metadata" / "item.json", record)
        (staging / "metadata" / "dc.xml").write_bytes(dublin_core_xml(item=item))
        (staging / "README.txt").write_text(
            README.format(public_id=item.public_id), "utf-8"
        )
        bag = bagit.make_bag(
            str(staging),
            bag_info=_bag_info(item, record["personal_data"]),
            checksums=list(CHECKSUMS),
        )
        bag.validate()
        # The copies hashed by bagit must be what the archive recorded: a
        # damaged stored original is reported, never packed as if it were good.
        for entry in record["assets"]:
            found = bag.entries[f"data/{entry['path']}"]["sha256"]
            if found != entry["fields"]["sha256"]:
                raise BagRefused(
                    target,
                    _(
                        "the stored original of asset %(n)s does not match its "
                        "checksum (expected %(expected)s, found %(found)s): nothing "
                        "was written (run manage.py fixity)"
                    )
                    % {
                        "n": entry["number"],
                        "expected": entry["fields"]["sha256"],
                        "found": found,
                    },
                )
        files, size = _payload_totals(bag)
        _swap_into_place(staging, target, item.public_id)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportedBag(
        public_id=item.public_id,
        path=target,
        files=files,
        bytes=size,
        personal_data=record["personal_data"],
        notes=[note] if manifest is None else [],
    )


def _payload_totals(bag: bagit.Bag) -> tuple[int, int]:
    octets, _, count = bag.info.get("Payload-Oxum", "0.0").partition(".")
    return int(count or 0), int(octets or 0)


def _swap_into_place(staging: Path, target: Path, public_id: str) -> None:
    """Rename the finished bag to its name; an older bag is replaced only then."""
    old = None
    if target.exists():
        old = target.parent / f".{public_id}.old-{os.getpid()}-{secrets.token_hex(4)}"
        os.replace(target, old)
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
