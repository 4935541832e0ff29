"""A preservation package back into an archive: same item, identifiers, checksums.

Reads what ``ingest.preservation.bag_export`` writes. The order is what makes
a bad package harmless:

1. the bag is checked before anything is written (:func:`bag_check`): every
   entry a plain file or folder (no links out of the bag), bagit's own
   validation (structure, Payload-Oxum, every SHA-256 and SHA-512 re-read),
   ``item.json`` and the transcripts readable, of our format, their files
   inside the bag and listed in its manifest with the checksum the record
   names;
2. an item with the same public identifier already here is left alone: the
   same item (kind and originals) is reported unchanged, a different one
   refuses the package;
3. one transaction writes the records: institutions, collections, theme
   libraries, work, agents and places when missing (found by code, public
   identifier or name otherwise), the item with its public identifier and
   times, the originals through ``archive.services.original_store``
   (content-addressed, so checksums are kept by construction) with their
   numbers when free, pages, consent through ``consent_save`` (the one
   consent writer), transcripts with segments and revisions, index points,
   fixity history. Any problem rolls it back and removes the files it stored;
4. after the commit, derivatives are made again from the originals (page
   pyramids, thumbnails and previews with ``page_rederive``; listening
   copies, video proxies and posters with the recording recipes) and the
   item is queued for the search index.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath

import bagit
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.color import no_style
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from archive.files import original_relpath, sha256_of
from archive.models import (
    Agent,
    Asset,
    Collection,
    Derivative,
    FixityCheck,
    Institution,
    Item,
    ItemAgent,
    PageImage,
    Place,
    ThemeLibrary,
    Work,
    WorkAgent,
    public_id_is_valid,
)
from archive.search.indexing import items_changed
from archive.services import derivative_record, original_store
from iiif.presentation import manifest_cache_bump
from ingest.derivatives import derivative_relpath
from ingest.images import PageImageError
from ingest.media import MediaError, media_derivatives_write, media_probe
from ingest.preservation.records import (
    BAG_FORMAT,
    TRANSCRIPT_FORMAT,
    BagRefused,
    record_apply,
    record_fields,
    timestamps_restore,
)
from ingest.services.pages import page_rederive
from ingest.services.recordings import (
    RECIPES,
    VIDEO_ONLY,
    max_seconds,
    recording_derivatives_complete,
)
from transcription.models import (
    ClosedRange,
    Consent,
    IndexPoint,
    Segment,
    SegmentRevision,
    Transcript,
)
from transcription.services import consent_save
from transcription.services.listening import listening_silenced_schedule

#: Largest ``item.json`` or transcript JSON read (a 1,000-page volume with
#: word boxes is a few MB; anything near this is not a package of ours).
MAX_JSON_BYTES = 256 * 1024 * 1024
#: Fields that say when a record changed, not what it says (for comparisons).
TIME_FIELDS = {"created_at", "updated_at"}


@dataclass
class CheckedBag:
    """A package that passed :func:`bag_check`, with its records read."""

    path: Path
    record: dict
    #: Transcript JSON documents by transcript public id.
    transcripts: dict[str, dict]
    #: SHA-256 of every payload file, by path under ``data/``.
    checksums: dict[str, str]

    @property
    def public_id(self) -> str:
        """The item's public identifier."""
        return self.record["public_id"]


@dataclass
class ImportedBag:
    """What importing one package did."""

    path: Path
    public_id: str
    #: ``created`` or ``unchanged``.
    status: str
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------
# Checking


def _refuse(bag: Path, message: str, **values) -> BagRefused:
    return BagRefused(bag, message % values if values else message)


def _entries_check(bag: Path) -> None:
    """Refuse links and special files anywhere in the bag (they read outside it)."""
    if bag.is_symlink() or not bag.is_dir():
        raise _refuse(bag, _("is not a folder"))
    for folder, dirs, files in os.walk(bag):
        for name in [*dirs, *files]:
            path = Path(folder) / name
            mode = path.lstat().st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise _refuse(
                    bag,
                    _("%(path)s is a link or a special file: packages hold only files"),
                    path=path.relative_to(bag),
                )


def _payload_path(bag: Path, value, where: str, checksums: dict[str, str]) -> str:
    """A path named by the record: relative, inside ``data/``, in the bag's manifest."""
    if not isinstance(value, str) or not value:
        raise _refuse(bag, _("%(where)s: a file path is missing"), where=where)
    pure = PurePosixPath(value)
    if pure.is_absolute() or ".." in pure.parts or "\\" in value:
        raise _refuse(
            bag,
            _("%(where)s: %(path)s is not a path inside the package"),
            where=where,
            path=value,
        )
    if value not in checksums:
        raise _refuse(
            bag,
            _("%(where)s: data/%(path)s is not in the package's manifest"),
            where=where,
            path=value,
        )
    return value


def _json_read(bag: Path, relative: str) -> dict:
    path = bag / "data" / relative
    if path.stat().st_size > MAX_JSON_BYTES:
        raise _refuse(bag, _("data/%(path)s is too large"), path=relative)
    try:
        data = json.loads(path.read_text("utf-8"))
    except UnicodeDecodeError:
        raise _refuse(
            bag, _("data/%(path)s is not UTF-8 text"), path=relative
        ) from None
    except json.JSONDecodeError as exc:
        raise _refuse(
            bag,
            _("data/%(path)s is not valid JSON (line %(line)s: %(problem)s)"),
            path=relative,
            line=exc.lineno,
            problem=exc.msg,
        ) from None
    if not isinstance(data, dict):
        raise _refuse(bag, _("data/%(path)s is not a JSON object"), path=relative)
    return data


#: Lists of records in ``item.json``; those whose entries carry ``fields``.
_RECORD_LISTS = (
    "institutions",
    "themes",
    "collections",
    "agents",
    "places",
    "assets",
    "pages",
    "index_points",
    "transcripts",
)
_WITH_FIELDS = ("collections", "assets", "pages", "index_points")


def _shape_check(bag: Path, record: dict) -> None:
    """Refuse an ``item.json`` whose parts are not the lists and records expected."""
    item = record.get("item")
    if not isinstance(item, dict) or not isinstance(item.get("fields"), dict):
        raise _refuse(bag, _("data/metadata/item.json has no item record"))
    for key in _RECORD_LISTS:
        value = record.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise _refuse(
                bag,
                _("data/metadata/item.json: %(key)s is not a list of records"),
                key=key,
            )
        if key in _WITH_FIELDS:
            for n, entry in enumerate(value, start=1):
                if not isinstance(entry.get("fields"), dict):
                    raise _refuse(
                        bag,
                        _("data/metadata/item.json: %(key)s %(n)s has no fields"),
                        key=key,
                        n=n,
                    )


def bag_check(*, path: Path) -> CheckedBag:
    """Check a package completely before anything is written; read its records.

    Raises:
        BagRefused: naming the bag and the first problem found (a file whose
            checksum differs, a file missing or not listed, a link, a record
            that is not ours or names files outside the bag).
    """
    bag_path = Path(path)
    if not bag_path.exists():
        raise _refuse(bag_path, _("does not exist"))
    _entries_check(bag_path)
    try:
        bag = bagit.Bag(str(bag_path))
        # Name a missing or an unlisted file before bagit's first check
        # (Payload-Oxum), which only counts them.
        only_listed, only_present = bag.compare_manifests_with_fs()
        problems = [str(bagit.FileMissing(p)) for p in only_listed]
        problems += [str(bagit.UnexpectedFile(p)) for p in only_present]
        if problems:
            raise bagit.BagValidationError(_("Bag is incomplete"), problems)
        bag.validate()
    except bagit.BagValidationError as exc:
        details = "; ".join(str(d) for d in exc.details[:5]) or exc.message
        more = len(exc.details) - 5
        if more > 0:
            details += " " + _("(and %(n)s more)") % {"n": more}
        raise _refuse(
            bag_path, _("is not a valid bag: %(details)s"), details=details
        ) from None
    except bagit.BagError as exc:
        raise _refuse(bag_path, _("is not a bag: %(problem)s"), problem=exc) from None
    if "sha256" not in bag.algorithms:
        raise _refuse(bag_path, _("has no SHA-256 manifest"))
    checksums = {
        name[len("data/") :]: values["sha256"]
        for name, values in bag.entries.items()
        if name.startswith("data/") and "sha256" in values
    }
    if "metadata/item.json" not in checksums:
        raise _refuse(bag_path, _("has no data/metadata/item.json"))
    record = _json_read(bag_path, "metadata/item.json")
    if record.get("format") != BAG_FORMAT:
        raise _refuse(
            bag_path,
            _("data/metadata/item.json is not a %(format)s record (it says %(found)r)"),
            format=BAG_FORMAT,
            found=record.get("format"),
        )
    _shape_check(bag_path, record)
    public_id = record.get("public_id")
    if not isinstance(public_id, str) or not public_id_is_valid(public_id):
        raise _refuse(
            bag_path, _("the public identifier %(id)r is not valid"), id=public_id
        )
    item_fields = record["item"]["fields"]
    external = bag.info.get("External-Identifier")
    if item_fields.get("public_id") != public_id or external != public_id:
        raise _refuse(
            bag_path,
            _(
                "names two different items: %(a)r in item.json, %(b)r in "
                "bag-info.txt (External-Identifier)"
            ),
            a=item_fields.get("public_id"),
            b=external,
        )
    for n, entry in enumerate(record.get("assets") or [], start=1):
        where = _("file %(n)s of item.json") % {"n": n}
        name = _payload_path(bag_path, entry.get("path"), where, checksums)
        declared = (entry.get("fields") or {}).get("sha256")
        if checksums[name] != declared:
            raise _refuse(
                bag_path,
                _(
                    "data/%(path)s: item.json gives SHA-256 %(declared)s, the file "
                    "has %(found)s"
                ),
                path=name,
                declared=declared,
                found=checksums[name],
            )
    transcripts = {}
    for n, entry in enumerate(record.get("transcripts") or [], start=1):
        where = _("transcript %(n)s of item.json") % {"n": n}
        name = _payload_path(bag_path, entry.get("json"), where, checksums)
        data = _json_read(bag_path, name)
        if data.get("format") != TRANSCRIPT_FORMAT:
            raise _refuse(
                bag_path,
                _("data/%(path)s is not a %(format)s document"),
                path=name,
                format=TRANSCRIPT_FORMAT,
            )
        fields = data.get("fields")
        if not isinstance(fields, dict) or fields.get("public_id") != entry.get(
            "public_id"
        ):
            raise _refuse(
                bag_path,
                _("data/%(path)s is not the transcript %(id)r that item.json names"),
                path=name,
                id=entry.get("public_id"),
            )
        transcripts[entry["public_id"]] = data
    return CheckedBag(
        path=bag_path, record=record, transcripts=transcripts, checksums=checksums
    )


# ---------------------------------------------------------------------------
# Importing


def item_bag_import(*, path: Path, derivatives: bool = True) -> ImportedBag:
    """Import one package: check it, then restore its item (or find it already here).

    Args:
        path: the bag's folder.
        derivatives: make pyramids, thumbnails, listening copies … from the
            originals after the records are written (off only in tests of the
            records themselves).

    Returns:
        What happened: ``created``, or ``unchanged`` when the same item (same
        kind and originals) is already in the archive; notes say what was
        found already here or could not be restored as it was.

    Raises:
        BagRefused: the package is bad, or a different item already has its
            public identifier; nothing was written.
    """
    checked = bag_check(path=path)
    written: list[Path] = []
    try:
        existing = Item.objects.filter(public_id=checked.public_id).first()
        if existing is not None:
            return _existing_compare(checked, existing)
        _identifiers_free(checked)
        with transaction.atomic():
            item, notes = _records_restore(checked, written)
    except BagRefused:
        _forget(written)
        raise
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        _forget(written)
        raise _refuse(
            checked.path,
            _(
                "data/metadata/item.json lacks or garbles %(what)s "
                "(nothing was written)"
            ),
            what=exc,
        ) from exc
    except (ValueError, ValidationError, IntegrityError) as exc:
        _forget(written)
        problem = "; ".join(getattr(exc, "messages", None) or [str(exc)])
        raise _refuse(
            checked.path,
            _("cannot be restored: %(problem)s (nothing was written)"),
            problem=problem,
        ) from exc
    if derivatives:
        notes += item_derivatives_make(item=item)
    items_changed([item.pk])
    manifest_cache_bump(public_ids=[item.public_id])
    return ImportedBag(
        path=checked.path, public_id=item.public_id, status="created", notes=notes
    )


def _existing_compare(checked: CheckedBag, item: Item) -> ImportedBag:
    """The item is already here: the same one is left alone, another refused."""
    record = checked.record
    bag_originals = {a["fields"]["sha256"] for a in record.get("assets") or []}
    stored = set(item.assets.values_list("sha256", flat=True))
    kind = record["item"]["fields"].get("kind")
    if kind != item.kind or bag_originals != stored:
        raise _refuse(
            checked.path,
            _(
                "another item with the public identifier %(id)s is already in this "
                "archive (%(why)s): nothing was imported"
            ),
            id=item.public_id,
            why=(
                _("its kind is %(here)s, the package's %(there)s")
                % {"here": item.kind, "there": kind}
                if kind != item.kind
                else _(
                    "%(missing)s of the package's originals are not among its "
                    "files, and it has %(extra)s others"
                )
                % {
                    "missing": len(bag_originals - stored),
                    "extra": len(stored - bag_originals),
                }
            ),
        )
    here = record_fields(item)
    differing = sorted(
        name
        for name, value in record["item"]["fields"].items()
        if name not in TIME_FIELDS and name in here and here[name] != value
    )
    notes = []
    if differing:
        notes.append(
            _(
                "already in this archive with the same originals; its record differs "
                "from the package in %(fields)s and was kept as it is"
            )
            % {"fields": ", ".join(differing)}
        )
    restored = _missing_originals_restore(checked, item)
    if restored:
        notes.append(
            _(
                "%(n)s stored original(s) of it were missing and were put back from "
                "the package (checksums verified)"
            )
            % {"n": restored}
        )
    return ImportedBag(
        path=checked.path,
        public_id=item.public_id,
        status="unchanged",
        notes=notes,
    )


def _missing_originals_restore(checked: CheckedBag, item: Item) -> int:
    """Put back the item's stored originals that are missing, from the package.

    The package was validated and names the same checksums as the item's
    assets, so the bytes are exactly those recorded; an original that is
    present is never touched (a damaged one is for ``manage.py fixity``).
    """
    restored = 0
    for entry in checked.record.get("assets") or []:
        sha = entry["fields"]["sha256"]
        asset = item.assets.filter(sha256=sha).first()
        if asset is None or asset.path.exists():
            continue
        stored, rel, _size = original_store(
            source=checked.path / "data" / entry["path"]
        )
        if stored != sha:
            _forget([Path(settings.ARCHIVE_STORAGE_ROOT) / rel])
            raise _refuse(
                checked.path,
                _("data/%(path)s changed while it was imported"),
                path=entry["path"],
            )
        restored += 1
    return restored


def _identifiers_free(checked: CheckedBag) -> None:
    """Refuse a package whose page or transcript identifiers another item holds."""
    record = checked.record
    pages = [p["fields"].get("public_id") for p in record.get("pages") or []]
    taken = list(
        PageImage.objects.filter(public_id__in=pages)
        .select_related("item")
        .values_list("public_id", "item__public_id")[:5]
    )
    if taken:
        raise _refuse(
            checked.path,
            _(
                "page image identifiers of this package are used by other items "
                "here (%(pairs)s): nothing was imported"
            ),
            pairs=", ".join(f"{page} → {item}" for page, item in taken),
        )
    ids = [t["fields"].get("public_id") for t in checked.transcripts.values()]
    taken = list(
        Transcript.objects.filter(public_id__in=ids).values_list(
            "public_id", "item__public_id"
        )[:5]
    )
    if taken:
        raise _refuse(
            checked.path,
            _(
                "transcript identifiers of this package are used by other items "
                "here (%(pairs)s): nothing was imported"
            ),
            pairs=", ".join(f"{t} → {item}" for t, item in taken),
        )


def _forget(written: list[Path]) -> None:
    """Remove originals this import stored when its records were rolled back."""
    for path in written:
        rel = str(path.relative_to(Path(settings.ARCHIVE_STORAGE_ROOT)))
        if Asset.objects.filter(storage_path=rel).exists():
            continue
        try:
            path.chmod(0o644)
            path.unlink()
        except FileNotFoundError:
            pass


def _save(
    obj,
    data: dict,
    where: str,
    notes: list[str],
    *,
    exclude: tuple[str, ...] = (),
    times: bool = True,
) -> None:
    """Apply a record's fields to a new object, validate, insert, restore its times."""
    unknown = record_apply(obj, data, exclude=set(exclude), where=where)
    if unknown:
        notes.append(
            _("%(where)s: fields unknown here were skipped: %(names)s")
            % {"where": where, "names": ", ".join(sorted(unknown))}
        )
    if getattr(obj, "role", None) == Asset.Role.CONSENT_FORM:
        # Whatever the record says: a consent form is personal data.
        obj.is_personal_data = True
    obj.full_clean()
    obj.save(force_insert=True)
    if times:
        timestamps_restore(type(obj), [(obj, data)])


def _ref(found: list, n, where: str):
    """The ``n``-th agent or place of the package (``item.json`` names them so)."""
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n < len(found):
        raise ValueError(
            _("%(where)s refers to entry %(n)r, which the package does not have")
            % {"where": where, "n": n}
        )
    return found[n]


def _link_save(link) -> None:
    link.full_clean()
    link.save()


def _user(name: str, notes: list[str]):
    if not name:
        return None
    user = get_user_model().objects.filter(username=name).first()
    if user is None:
        note = _("the account %(name)s is not in this archive: kept by name only") % {
            "name": name
        }
        if note not in notes:
            notes.append(note)
    return user


def _records_restore(checked: CheckedBag, written: list[Path]) -> tuple[Item, list]:
    """Write every record of the package (inside the caller's transaction)."""
    record = checked.record
    notes: list[str] = []

    themes = {}
    for data in record.get("themes") or []:
        theme = ThemeLibrary.objects.filter(code=data["code"]).first()
        if theme is None:
            theme = ThemeLibrary()
            _save(theme, data, _("theme library %(code)s") % data, notes)
        themes[theme.code] = theme

    def theme_list(codes) -> list[ThemeLibrary]:
        found = []
        for code in codes or []:
            theme = themes.get(code) or ThemeLibrary.objects.filter(code=code).first()
            if theme is None:
                raise ValueError(
                    _("theme library %(code)s is neither here nor in the package")
                    % {"code": code}
                )
            found.append(theme)
        return found

    institutions = {}
    for data in record.get("institutions") or []:
        institution = Institution.objects.filter(code=data["code"]).first()
        if institution is None:
            institution = Institution()
            _save(institution, data, _("institution %(code)s") % data, notes)
        institutions[institution.code] = institution

    def institution_get(code: str) -> Institution:
        found = institutions.get(code) or Institution.objects.filter(code=code).first()
        if found is None:
            raise ValueError(
                _("institution %(code)s is neither here nor in the package")
                % {"code": code}
            )
        return found

    collections = {}
    for entry in record.get("collections") or []:
        data = entry["fields"]
        collection = Collection.objects.filter(code=data["code"]).first()
        if collection is None:
            parent = None
            if entry.get("parent"):
                parent = (
                    collections.get(entry["parent"])
                    or Collection.objects.filter(code=entry["parent"]).first()
                )
            collection = Collection(
                institution=institution_get(entry["institution"]), parent=parent
            )
            _save(collection, data, _("collection %(code)s") % data, notes)
            collection.themes.set(theme_list(entry.get("themes")))
        collections[collection.code] = collection

    agents = []
    for data in record.get("agents") or []:
        agent = Agent.objects.filter(
            name=data["name"], dynasty=data.get("dynasty", "")
        ).first()
        if agent is None:
            agent = Agent()
            _save(agent, data, _("agent %(name)s") % data, notes)
        agents.append(agent)
    places = []
    for data in record.get("places") or []:
        place = Place.objects.filter(name=data["name"]).first()
        if place is None:
            place = Place()
            _save(place, data, _("place %(name)s") % data, notes)
        places.append(place)

    work = None
    if record.get("work"):
        data = record["work"]["fields"]
        work = Work.objects.filter(public_id=data["public_id"]).first()
        if work is None:
            work = Work()
            _save(work, data, _("work %(public_id)s") % data, notes)
            for link in record["work"].get("agents") or []:
                _link_save(
                    WorkAgent(
                        work=work,
                        agent=_ref(agents, link["agent"], _("the work")),
                        role=link["role"],
                        sort_order=link.get("sort_order", 0),
                    )
                )
        elif work.title != data.get("title"):
            notes.append(
                _("the work %(id)s is already here (titled %(title)s) and was kept")
                % {"id": work.public_id, "title": work.title}
            )

    entry = record["item"]
    collection = None
    if entry.get("collection"):
        collection = collections.get(entry["collection"]) or (
            Collection.objects.filter(code=entry["collection"]).first()
        )
    item = Item(
        institution=institution_get(entry["institution"]),
        collection=collection,
        work=work,
    )
    _save(item, entry["fields"], _("the item"), notes, times=False)
    item.themes.set(theme_list(entry.get("themes")))
    item.places.set([_ref(places, n, _("the item")) for n in entry.get("places") or []])
    for link in entry.get("agents") or []:
        _link_save(
            ItemAgent(
                item=item,
                agent=_ref(agents, link["agent"], _("the item")),
                role=link["role"],
                sort_order=link.get("sort_order", 0),
            )
        )

    assets = _assets_restore(checked, item, written, notes)

    def asset_of(sha: str | None, where: str) -> Asset | None:
        if sha is None:
            return None
        if sha not in assets:
            raise ValueError(
                _("%(where)s names a file that is not in the package (%(sha)s)")
                % {"where": where, "sha": sha}
            )
        return assets[sha]

    pages = []
    for n, page in enumerate(record.get("pages") or [], start=1):
        where = _("page %(n)s") % {"n": n}
        obj = PageImage(
            item=item,
            asset=asset_of(page["asset"], where),
            text_asset=asset_of(page.get("text_asset"), where),
        )
        _save(obj, page["fields"], where, notes, times=False)
        pages.append((obj, page["fields"]))
    timestamps_restore(PageImage, pages)

    if record.get("consent"):
        _consent_restore(record["consent"], item, asset_of, notes)
    _transcripts_restore(checked, item, asset_of, notes)
    renumbered = False
    for point in record.get("index_points") or []:
        obj = IndexPoint(
            item=item,
            place=_ref(places, point["place"], _("an index point"))
            if point.get("place") is not None
            else None,
        )
        renumbered |= not _number_keep(obj, IndexPoint, point.get("number"))
        _save(obj, point["fields"], _("index point"), notes)
    if renumbered:
        notes.append(_("index points were given new numbers (theirs were taken)"))
    _sequences_reset([Asset, IndexPoint])
    # Last: saving its parts touched the item's updated_at (transcription's
    # signals renew manifests that way); the item keeps the times it had.
    timestamps_restore(Item, [(item, entry["fields"])])
    return item, notes


def _number_keep(obj, model, number) -> bool:
    """Give ``obj`` its old number when it is free here; whether it was."""
    if isinstance(number, int) and number > 0:
        if not model.objects.filter(pk=number).exists():
            obj.pk = number
            return True
    return False


def _sequences_reset(models) -> None:
    """Move PostgreSQL's id sequences past numbers set by hand (no-op on SQLite)."""
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


def _assets_restore(
    checked: CheckedBag, item: Item, written: list[Path], notes: list[str]
) -> dict[str, Asset]:
    """Store every original (content-addressed) and record it as it was recorded."""
    root = Path(settings.ARCHIVE_STORAGE_ROOT)
    assets: dict[str, Asset] = {}
    checks = []
    for entry in checked.record.get("assets") or []:
        data = entry["fields"]
        sha = data["sha256"]
        source = checked.path / "data" / entry["path"]
        target = root / original_relpath(sha)
        existed = target.exists()
        if existed and sha256_of(target) != sha:
            raise _refuse(
                checked.path,
                _(
                    "this archive's stored copy %(path)s of a file of the package is "
                    "damaged: repair it first (manage.py fixity): nothing was imported"
                ),
                path=target,
            )
        stored, rel, size = original_store(source=source)
        if not existed or stored != sha:
            # What was stored is removed on failure unless a record names it
            # (``_forget``); bytes that changed since the check land elsewhere.
            written.append(root / rel)
        if stored != sha:
            raise _refuse(
                checked.path,
                _("data/%(path)s changed while it was imported"),
                path=entry["path"],
            )
        asset = Asset(item=item, storage_path=rel)
        kept = _number_keep(asset, Asset, entry.get("number"))
        where = _("file data/%(path)s") % {"path": entry["path"]}
        _save(asset, data, where, notes, exclude=("storage_path",))
        if asset.size != size:
            raise ValueError(
                _(
                    "%(where)s: the record gives %(recorded)s bytes, "
                    "the file has %(size)s"
                )
                % {"where": where, "recorded": asset.size, "size": size}
            )
        if not kept:
            notes.append(
                _("file %(old)s got the number %(new)s here (its URLs change)")
                % {"old": entry.get("number"), "new": asset.pk}
            )
        assets[sha] = asset
        for check in entry.get("fixity_checks") or []:
            obj = FixityCheck(asset=asset)
            record_apply(obj, check, where=where)
            checks.append(obj)
    FixityCheck.objects.bulk_create(checks)
    return assets


def _date(value) -> date | None:
    return date.fromisoformat(value) if value else None


def _consent_restore(entry: dict, item: Item, asset_of, notes: list[str]) -> None:
    """Record the consent through ``consent_save`` (its checks, access and copies)."""
    data = entry["fields"]
    closed = []
    for passage in entry.get("closed") or []:
        # Read through the model's fields, as every other record is.
        row = ClosedRange()
        record_apply(row, passage, where=_("closed passage"))
        closed.append(
            {
                "start": row.start,
                "end": row.end,
                "until": row.until,
                "reason": row.reason,
            }
        )
    consent = consent_save(
        item=item,
        allowed=data["allowed"],
        valid_until=_date(data.get("valid_until")),
        signed_on=_date(data.get("signed_on")),
        notes=data.get("notes") or "",
        closed=closed,
    )
    form = asset_of(entry.get("form"), _("the consent"))
    if form is not None:
        Consent.objects.filter(pk=consent.pk).update(form=form)
        consent.form = form
    timestamps_restore(Consent, [(consent, data)])


def _transcripts_restore(
    checked: CheckedBag, item: Item, asset_of, notes: list[str]
) -> None:
    """Every transcript with its segments (access levels as they were) and revisions."""
    made: dict[str, Transcript] = {}
    previous: list[tuple[Transcript, str]] = []
    for entry in checked.record.get("transcripts") or []:
        data = checked.transcripts[entry["public_id"]]
        fields = data["fields"]
        where = _("transcript %(id)s") % {"id": fields.get("public_id")}
        transcript = Transcript(
            item=item,
            asset=asset_of(data["asset"], where),
            approved_by=_user(data.get("approved_by") or "", notes),
        )
        _save(transcript, fields, where, notes)
        made[transcript.public_id] = transcript
        if data.get("previous"):
            previous.append((transcript, data["previous"]))
        segments, revisions = [], []
        for segment_entry in data.get("segments") or []:
            segment = Segment(transcript=transcript)
            record_apply(segment, segment_entry["fields"], where=where)
            segment.full_clean(exclude=["transcript"])
            segments.append((segment, segment_entry.get("revisions") or []))
        Segment.objects.bulk_create([s for s, _ in segments], batch_size=500)
        for segment, revision_entries in segments:
            for revision in revision_entries:
                row = SegmentRevision(
                    segment=segment, user=_user(revision.get("user") or "", notes)
                )
                record_apply(row, revision["fields"], where=where)
                revisions.append((row, revision["fields"]))
        SegmentRevision.objects.bulk_create([r for r, _ in revisions], batch_size=500)
        timestamps_restore(SegmentRevision, revisions)
    for transcript, public_id in previous:
        found = (
            made.get(public_id)
            or Transcript.objects.filter(public_id=public_id).first()
        )
        if found is not None:
            Transcript.objects.filter(pk=transcript.pk).update(previous=found)


# ---------------------------------------------------------------------------
# Derivatives


def item_derivatives_make(*, item: Item) -> list[str]:
    """Make an item's derivatives of the current recipes from its stored originals.

    Pages get their pyramid, thumbnail and preview (``page_rederive``);
    recordings their listening copy, and video their proxy and poster. What
    exists already is kept. Returns notes on what could not be made (the
    records stand; ``manage.py ingest_rederive`` retries pages).
    """
    notes = []
    for page in item.pages.select_related("asset").order_by("sequence"):
        try:
            page_rederive(page=page)
        except (PageImageError, OSError) as exc:
            notes.append(
                _("page %(n)s: no derivatives: %(problem)s")
                % {"n": page.sequence, "problem": exc}
            )
    for asset in item.assets.filter(role=Asset.Role.MEDIA).order_by("pk"):
        try:
            recording_derivatives_make(asset=asset)
        except (MediaError, OSError) as exc:
            notes.append(
                _("recording %(name)s: no derivatives: %(problem)s")
                % {"name": asset.original_filename or asset.pk, "problem": exc}
            )
    listening_silenced_schedule(item=item)
    return notes


def recording_derivatives_make(*, asset: Asset) -> bool:
    """Make a recording's listening copy (a video's proxy and poster too) again.

    The recipes are the ingest's (``ingest.services.recordings.RECIPES``), in
    one decode pass (``ingest.media.media_derivatives_write``). Returns
    whether anything was made.
    """
    if recording_derivatives_complete(asset=asset):
        return False
    root = Path(settings.ARCHIVE_STORAGE_ROOT)
    header = media_probe(asset.path, max_seconds=max_seconds())
    kinds = [k for k in RECIPES if header.has_video or k not in VIDEO_ONLY]
    relpaths = {
        kind: derivative_relpath(kind, RECIPES[kind][0], asset.sha256, RECIPES[kind][1])
        for kind in kinds
    }
    outputs = media_derivatives_write(
        asset.path,
        listening_copy=root / relpaths[Derivative.Kind.LISTENING_COPY],
        video_proxy=(
            root / relpaths[Derivative.Kind.VIDEO_PROXY]
            if Derivative.Kind.VIDEO_PROXY in relpaths
            else None
        ),
        poster=(
            root / relpaths[Derivative.Kind.POSTER]
            if Derivative.Kind.POSTER in relpaths
            else None
        ),
        max_seconds=max_seconds(),
    )
    sizes = {}
    if outputs.proxy_size:
        sizes[Derivative.Kind.VIDEO_PROXY] = outputs.proxy_size
    if outputs.poster:
        sizes[Derivative.Kind.POSTER] = (outputs.poster.width, outputs.poster.height)
    for kind in kinds:
        width, height = sizes.get(kind, (None, None))
        derivative_record(
            asset=asset,
            kind=kind,
            recipe_version=RECIPES[kind][0],
            path=relpaths[kind],
            media_type=RECIPES[kind][2],
            width=width,
            height=height,
        )
    return True
