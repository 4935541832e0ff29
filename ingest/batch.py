"""Reading and validating the batch format, versions 1 and 2 (docs/ingest-format.md).

A delivery is a folder of item folders. Version 1: each item folder holds an
``item.json`` (or ``volume.json``) and the files it names. Version 2 adds YAML
metadata files, new page fields (``folio``, ``blank``, ``hocr``, ``page``), pages
found from the image files of a folder, ``pages.csv`` and ``volumes.csv``.

Version 2 also describes recordings: a structured ``consent`` (what the
interviewee allowed, until when, the signed form, closed passages), checked
here, and ``recordings.csv``, one row per recording, read with the same CSV
machinery as ``volumes.csv``.

Validation collects every problem, each naming the file and the line or field,
instead of stopping at the first. ``read_delivery`` is the one entry point for a
pipeline: it returns every item of a delivery, whatever route it came by, with
``data["pages"]`` always the final, ordered list of normalised page dicts and
``data["consent"]`` (when given) normalised, its times in seconds.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

FORMAT_V1 = "yuecang-batch/1"
FORMAT_V2 = "yuecang-batch/2"
FORMATS = (FORMAT_V1, FORMAT_V2)
JSON_NAMES = ("item.json", "volume.json")
YAML_NAMES = ("item.yaml", "item.yml", "volume.yaml", "volume.yml")
METADATA_NAMES = JSON_NAMES + YAML_NAMES
PAGES_CSV = "pages.csv"
VOLUMES_CSV = "volumes.csv"
RECORDINGS_CSV = "recordings.csv"
KINDS = {"book_volume", "oral_history", "documentary_video", "image_set", "other"}
#: Kinds whose pages may be left out in version 2 (found from the image files).
PAGED_KINDS = {"book_volume", "image_set"}
ACCESS = {"public", "reading_room", "staff", "embargoed", "withdrawn"}
THEMES = {"red", "lingnan", "maritime", "innovation"}
ROLES = {
    "author",
    "editor",
    "interviewee",
    "interviewer",
    "narrator",
    "photographer",
    "director",
    "publisher",
    "other",
}
# \A and \Z, not ^ and $: "$" also matches before a final newline ("gzdd-x\n").
PUBLIC_ID = re.compile(r"\A[a-z0-9][a-z0-9-]{2,63}\Z")
DATE = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
IMAGE_SUFFIXES = (".tif", ".tiff", ".jpg", ".jpeg", ".jp2", ".png")
#: Subfolders of an item folder whose files attach to found pages by file stem.
PAGE_ATTACHMENTS = {
    "text": ("text", (".txt",)),
    "alto": ("alto", (".xml",)),
    "hocr": ("hocr", (".html", ".hocr")),
}
#: Page fields that only version 2 knows.
PAGE_FIELDS_V2 = ("folio", "blank", "hocr", "page")
PAGES_CSV_COLUMNS = (
    "file",
    "page",
    "label",
    "folio",
    "blank",
    "text",
    "alto",
    "hocr",
    "image_id",
)
VOLUMES_CSV_COLUMNS = (
    "folder",
    "id",
    "kind",
    "institution",
    "collection",
    "work_id",
    "work_title",
    "work_title_zh_hant",
    "work_title_zh_hans",
    "work_title_en",
    "class",
    "subclass",
    "edition",
    "authors",
    "work_date",
    "volume",
    "dadian_ref",
    "title",
    "title_zh_hant",
    "title_zh_hans",
    "title_en",
    "description",
    "date",
    "language",
    "rights_uri",
    "rights_statement_zh_hant",
    "rights_statement_en",
    "access",
    "embargo_until",
    "themes",
    "toc",
)
RECORDINGS_CSV_COLUMNS = (
    "file",
    "id",
    "kind",
    "institution",
    "collection",
    "title",
    "title_zh_hant",
    "title_zh_hans",
    "title_en",
    "description",
    "description_zh_hans",
    "description_en",
    "date",
    "language",
    "dialect",
    "interviewees",
    "interviewers",
    "places",
    "rights_uri",
    "rights_statement_zh_hant",
    "rights_statement_en",
    "access",
    "embargo_until",
    "themes",
    "reference_text",
    "consent_allowed",
    "consent_valid_until",
    "consent_signed_on",
    "consent_form",
    "consent_notes",
    "closed",
)
#: Kinds a recordings.csv row may describe (the first is the default).
RECORDING_KINDS = ("oral_history", "documentary_video", "other")
#: What an interviewee may allow (``consent.allowed``).
CONSENT_ALLOWED = ("public", "reading_room", "staff")
CONSENT_KEYS = ("allowed", "valid_until", "signed_on", "form", "closed", "notes")
CLOSED_KEYS = ("start", "end", "until", "reason")
#: A language tag (BCP 47 shape): ``yue``, ``zh-Hant``, ``hak``, ``nan-Latn``.
LANGUAGE_TAG = re.compile(r"\A[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*\Z")
BLANK_WORDS = {
    "": False,
    "1": True,
    "0": False,
    "true": True,
    "false": False,
    "yes": True,
    "no": False,
    "是": True,
    "否": False,
}


@dataclass
class BatchProblem:
    """One thing wrong with a delivery: the file, the field, and what is wrong."""

    path: Path
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: {self.field}" if self.field else str(self.path)
        return f"{where}: {self.message}"


@dataclass
class ItemRecord:
    """An item's metadata as read from its folder, with the folder for its files.

    ``metadata_path`` is the ``item.json``/``volume.json``/``.yaml`` file, or the
    ``volumes.csv`` whose row ``line`` describes the item (``line`` is ``None``
    for a metadata file).
    """

    folder: Path
    metadata_path: Path
    data: dict
    problems: list[BatchProblem] = field(default_factory=list)
    line: int | None = None

    @property
    def ok(self) -> bool:
        """Whether the record passed validation."""
        return not self.problems


def filename_decode(raw: bytes | str) -> str:
    """A file name as text that is always a valid ``str`` (no lone surrogates).

    On Linux a name that is not UTF-8 (a GBK or Big5 name from a Windows machine)
    comes out of ``os.listdir`` with surrogate escapes. Its bytes are decoded as
    UTF-8, then GBK, then Big5; if none fits, the bad bytes become U+FFFD.
    """
    if isinstance(raw, str):
        try:
            data = os.fsencode(raw)
        except UnicodeEncodeError:  # a surrogate that is not an escaped byte
            return raw.encode("utf-8", "replace").decode("utf-8")
    else:
        data = bytes(raw)
    for encoding in ("utf-8", "gbk", "big5"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return data.decode("utf-8", "replace")


def parse_timecode(value) -> float | None:
    """A time in a recording, in seconds, or None when it cannot be read.

    Accepts a number of seconds (``750``, ``750.5``, also as text) and
    ``MM:SS`` or ``HH:MM:SS``, the last part with optional decimals
    (``00:12:30``, ``12:30.5``). Minutes and seconds after a larger unit must
    be below 60.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        # JSON reads 1e400 as infinity, which no recording lasts.
        if value != value or not 0 <= value < math.inf:
            return None
        return float(value)
    if not isinstance(value, str):
        return None
    parts = value.strip().split(":")
    if not 1 <= len(parts) <= 3:
        return None
    *whole, last = parts
    # ASCII digits, a few of them: "²".isdigit() is true but int("²") fails, and
    # int() refuses 5,000 digits.
    if not all(re.fullmatch(r"[0-9]{1,9}", p) for p in whole) or not re.fullmatch(
        r"[0-9]{1,9}(\.[0-9]{1,9})?", last
    ):
        return None
    seconds = float(last)
    if whole and seconds >= 60:
        return None
    if len(whole) == 2 and int(whole[1]) >= 60:
        return None
    for n, part in enumerate(reversed(whole), start=1):
        seconds += int(part) * 60**n
    return seconds


def format_timecode(seconds: float) -> str:
    """Seconds as ``HH:MM:SS`` (with decimals when not whole), for messages."""
    whole = int(seconds)
    text = f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    if seconds - whole >= 0.001:
        text += f"{seconds - whole:.3f}".lstrip("0").rstrip("0")
    return text


def _iso_date(value) -> str | None:
    """``value`` when it is a real calendar date written YYYY-MM-DD, else None."""
    if not isinstance(value, str) or not DATE.match(value):
        return None
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return None
    return value


def consent_read(
    value, folder: Path, media_count: int
) -> tuple[dict | None, list[tuple[str, str]]]:
    """Check a ``consent`` object and normalise it (times in seconds).

    Returns the normalised consent (None when it has problems) and the
    problems as ``(field, message)``, the field named from ``consent``. The
    passages' times are checked against the recording's duration later, when
    the recording is opened (``ingest.services.recordings``).
    """
    if not isinstance(value, dict):
        return None, [
            (
                "consent",
                "must be an object {allowed, valid_until, signed_on, form, closed}",
            )
        ]
    problems: list[tuple[str, str]] = []
    unknown = sorted(set(value) - set(CONSENT_KEYS), key=str)
    if unknown:
        problems.append(
            ("consent", f"unknown fields {unknown}; use {', '.join(CONSENT_KEYS)}")
        )
    allowed = value.get("allowed")
    if allowed is None:
        problems.append(
            (
                "consent.allowed",
                "is required: what the interviewee allowed, one of "
                + ", ".join(CONSENT_ALLOWED),
            )
        )
    elif allowed not in CONSENT_ALLOWED:
        problems.append(
            (
                "consent.allowed",
                f"must be one of {', '.join(CONSENT_ALLOWED)}, not {allowed!r}",
            )
        )
    dates = {}
    for key in ("valid_until", "signed_on"):
        raw = value.get(key)
        if raw is None or raw == "":
            dates[key] = None
        elif _iso_date(raw) is None:
            problems.append(
                (f"consent.{key}", f"must be a date YYYY-MM-DD (or null), not {raw!r}")
            )
        else:
            dates[key] = raw
    if (
        dates.get("valid_until")
        and dates.get("signed_on")
        and dates["valid_until"] < dates["signed_on"]
    ):
        problems.append(
            (
                "consent.valid_until",
                f"{dates['valid_until']} is before the form was signed "
                f"({dates['signed_on']})",
            )
        )
    form = value.get("form")
    if form not in (None, ""):
        message = _file_message(folder, form)
        if message:
            problems.append(("consent.form", message))
    notes = value.get("notes")
    if notes is not None and not isinstance(notes, str):
        problems.append(("consent.notes", "must be text"))
    closed = value.get("closed")
    ranges: list[dict] = []
    if closed is not None and not isinstance(closed, list):
        problems.append(
            ("consent.closed", "must be a list of {start, end, until, reason}")
        )
        closed = []
    for i, entry in enumerate(closed or []):
        name = f"consent.closed[{i}]"
        if not isinstance(entry, dict):
            problems.append((name, "must be an object {start, end, until, reason}"))
            continue
        unknown = sorted(set(entry) - set(CLOSED_KEYS), key=str)
        if unknown:
            problems.append(
                (name, f"unknown fields {unknown}; use {', '.join(CLOSED_KEYS)}")
            )
        times = {}
        for key in ("start", "end"):
            raw = entry.get(key)
            seconds = parse_timecode(raw)
            if raw is None:
                problems.append((f"{name}.{key}", "is required"))
            elif seconds is None:
                problems.append(
                    (
                        f"{name}.{key}",
                        f"must be a time: seconds (750) or HH:MM:SS (00:12:30), "
                        f"not {raw!r}",
                    )
                )
            else:
                times[key] = seconds
        if len(times) == 2 and times["end"] <= times["start"]:
            problems.append(
                (
                    name,
                    f"ends ({format_timecode(times['end'])}) before it starts "
                    f"({format_timecode(times['start'])})",
                )
            )
        until = entry.get("until")
        if until not in (None, "") and _iso_date(until) is None:
            problems.append(
                (f"{name}.until", f"must be a date YYYY-MM-DD (or null), not {until!r}")
            )
        reason = entry.get("reason")
        if reason is not None and not isinstance(reason, str):
            problems.append((f"{name}.reason", "must be text"))
        elif isinstance(reason, str) and len(reason) > 300:
            problems.append((f"{name}.reason", "is longer than 300 characters"))
        if len(times) == 2:
            ranges.append(
                {
                    "start": times["start"],
                    "end": times["end"],
                    "until": until or None,
                    "reason": reason or "",
                }
            )
    if closed and media_count != 1:
        problems.append(
            (
                "consent.closed",
                "closed passages are times in one recording: the item needs exactly "
                f"one file in media (it has {media_count}); deliver each recording "
                "as its own item",
            )
        )
    if problems:
        return None, problems
    return {
        "allowed": allowed,
        "valid_until": dates["valid_until"],
        "signed_on": dates["signed_on"],
        "form": form or None,
        "notes": notes or "",
        "closed": sorted(ranges, key=lambda r: (r["start"], r["end"])),
    }, []


# --------------------------------------------------------------------------
# Finding and reading items


def find_item_folders(root: Path) -> list[Path]:
    """Return every folder below ``root`` that holds an item metadata file, sorted.

    Volumes described by rows of a ``volumes.csv`` are not included; use
    ``read_delivery`` for every item of a delivery.
    """
    return _scan(root)[0]


def _scan(root: Path) -> tuple[list[Path], list[Path], list[Path]]:
    """One walk of a delivery: metadata-file folders, volumes.csv and recordings.csv files."""
    folders: list[Path] = []
    csvs: list[Path] = []
    recording_csvs: list[Path] = []
    for dirpath, _dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        names = set(filenames)
        if any(n in names and (here / n).is_file() for n in METADATA_NAMES):
            folders.append(here)
        if VOLUMES_CSV in names and (here / VOLUMES_CSV).is_file():
            csvs.append(here / VOLUMES_CSV)
        if RECORDINGS_CSV in names and (here / RECORDINGS_CSV).is_file():
            recording_csvs.append(here / RECORDINGS_CSV)
    return sorted(folders), sorted(csvs), sorted(recording_csvs)


def read_item(folder: Path) -> ItemRecord:
    """Read and validate one item folder that holds a metadata file."""
    present = [folder / n for n in METADATA_NAMES if (folder / n).exists()]
    meta = present[0] if present else folder / "item.json"
    record = ItemRecord(folder=folder, metadata_path=meta, data={})
    if not present:
        record.problems.append(
            BatchProblem(meta, "", "no item.json or volume.json (or .yaml / .yml)")
        )
        return record
    if len(present) > 1:
        names = " and ".join(p.name for p in present)
        record.problems.append(
            BatchProblem(
                folder, "", f"holds {names}: an item folder has one metadata file"
            )
        )
        return record
    data, problems = _load_metadata(meta)
    if problems:
        record.problems.extend(problems)
        return record
    record.data = data
    problems, pages = _check_item(data, meta, folder)
    record.problems.extend(problems)
    if pages is not None:
        record.data["pages"] = pages
    _consent_normalise(record)
    return record


def _consent_normalise(record: ItemRecord) -> None:
    """Give a valid record's ``consent`` in its normal form (times in seconds)."""
    if record.ok and record.data.get("consent") is not None:
        media = record.data.get("media") or []
        record.data["consent"], _ = consent_read(
            record.data["consent"], record.folder, len(media)
        )


def read_volumes_csv(path: Path) -> list[ItemRecord]:
    """Read a ``volumes.csv``: one record per row, each validated like a volume.json.

    A header that cannot be used gives one extra record for the file itself
    (``line`` 1, empty ``data``) holding the header's problems.
    """
    return _read_items_csv(
        path, VOLUMES_CSV_COLUMNS, "folder", _volume_row, _folder_key, "folder"
    )


def read_recordings_csv(path: Path) -> list[ItemRecord]:
    """Read a ``recordings.csv``: one recording item per row, validated like an item.json.

    Each row's ``file`` (and ``reference_text``, ``consent_form``) is a path
    relative to the CSV's folder; the record's ``folder`` is that folder.
    """
    return _read_items_csv(
        path, RECORDINGS_CSV_COLUMNS, "file", _recording_row, _file_key, "file"
    )


def _read_items_csv(
    path: Path,
    columns: tuple[str, ...],
    required: str,
    read_row: Callable[[Path, int, dict[str, str]], ItemRecord],
    key: Callable[[ItemRecord], object],
    key_column: str,
) -> list[ItemRecord]:
    """A CSV of items, one per row: the rows' records, and one for header problems."""
    rows, header_problems = _read_csv(path, columns, required)
    base = path.parent
    records: list[ItemRecord] = []
    if header_problems:
        records.append(
            ItemRecord(
                folder=base,
                metadata_path=path,
                data={},
                problems=header_problems,
                line=1,
            )
        )
    for line, values, row_problems in rows:
        record = read_row(path, line, values)
        record.problems[:0] = row_problems
        if header_problems:
            record.problems.append(
                BatchProblem(
                    path, f"line {line}", "not loaded: the header (line 1) has problems"
                )
            )
        records.append(record)
    rows_only = [r for r in records if r.data]
    _duplicates(rows_only, key, key_column, "is named twice")
    _duplicates(rows_only, _id_key, "id", "is used twice")
    if not rows and not header_problems:
        records.append(
            ItemRecord(
                folder=base,
                metadata_path=path,
                data={},
                problems=[BatchProblem(path, "", "has no rows")],
                line=1,
            )
        )
    return records


def read_delivery(root: Path) -> list[ItemRecord]:
    """Every item of a delivery, validated, sorted by folder.

    Items come from metadata files (``item.json``, ``volume.json``, ``.yaml``,
    ``.yml``) and from the rows of every ``volumes.csv`` and ``recordings.csv``
    below ``root``. A folder described in two places, two rows naming one
    folder, a recording named by two rows or by a row and an item's ``media``,
    and two items with one ``id`` are problems on each record involved.
    """
    folders, csvs, recording_csvs = _scan(root)
    records = [read_item(folder) for folder in folders]
    by_folder = {_resolved(r.folder): r for r in records}
    rows: list[ItemRecord] = []
    for csv_path in csvs:
        for row in read_volumes_csv(csv_path):
            rows.append(row)
            other = by_folder.get(_resolved(row.folder)) if row.data else None
            if other is not None:
                other.problems.append(
                    BatchProblem(
                        other.metadata_path,
                        "",
                        f"this folder is also described by {csv_path} line {row.line}; "
                        "describe a volume in one place",
                    )
                )
    real_rows = [r for r in rows if r.data]
    _duplicates(real_rows, _folder_key, "folder", "is named twice", across_files=True)
    recordings = [row for path in recording_csvs for row in read_recordings_csv(path)]
    real_recordings = [r for r in recordings if r.data]
    _recordings_described_twice(records, real_recordings)
    _duplicates(real_recordings, _file_key, "file", "is named twice", across_files=True)
    _duplicates(
        [r for r in records + real_rows + real_recordings if r.data],
        _id_key,
        "id",
        "is used twice",
        across_files=True,
    )
    everything = records + rows + recordings
    everything.sort(key=lambda r: (r.folder, r.metadata_path, r.line or 0))
    return everything


def _resolved(path: Path) -> Path | None:
    """``path`` resolved, or None when it cannot be (a NUL, a name too long).

    Such a path is already a problem of its record; it only must not raise here.
    """
    try:
        return path.resolve()
    except (OSError, ValueError):
        return None


def _folder_key(record: ItemRecord):
    return _resolved(record.folder)


def _media_file(record: ItemRecord) -> str | None:
    """The recording a recordings.csv row names (its one ``media`` file)."""
    media = record.data.get("media") or []
    if media and isinstance(media[0], dict) and isinstance(media[0].get("file"), str):
        return media[0]["file"]
    return None


def _file_key(record: ItemRecord):
    name = _media_file(record)
    return _resolved(record.folder / name) if name else None


def _recordings_described_twice(
    records: list[ItemRecord], rows: list[ItemRecord]
) -> None:
    """A recording named by a recordings.csv row and by an item's ``media`` list."""
    named: dict[Path, ItemRecord] = {}
    for record in records:
        media = record.data.get("media") if record.data else None
        for entry in media if isinstance(media, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("file"), str):
                key = _resolved(record.folder / entry["file"])
                if key is not None:
                    named[key] = record
    for row in rows:
        other = named.get(_file_key(row)) if _file_key(row) else None
        if other is not None:
            row.problems.append(
                BatchProblem(
                    row.metadata_path,
                    f"line {row.line}, column file",
                    f"{_display(_media_file(row))} is also a recording of "
                    f"{other.metadata_path}; describe a recording in one place",
                )
            )


def _id_key(record: ItemRecord):
    value = record.data.get("id")
    return value if isinstance(value, str) and value else None


def _where_record(record: ItemRecord) -> str:
    if record.line is None:
        return str(record.metadata_path)
    return f"line {record.line}"


def _duplicates(
    records: list[ItemRecord],
    key: Callable[[ItemRecord], object],
    column: str,
    what: str,
    *,
    across_files: bool = False,
) -> None:
    """Add a problem to every record that shares ``key`` with another.

    Within one volumes.csv (``across_files`` false) every pair is in one file;
    ``across_files`` only reports pairs from different files, so that a pair
    already reported by ``read_volumes_csv`` is not reported twice.
    """
    groups: dict[object, list[ItemRecord]] = {}
    for record in records:
        value = key(record)
        if value is not None:
            groups.setdefault(value, []).append(record)
    for group in groups.values():
        if len(group) < 2:
            continue
        for record in group:
            others = [
                o
                for o in group
                if o is not record
                and (not across_files or o.metadata_path != record.metadata_path)
            ]
            if not others:
                continue
            named = ", ".join(
                _where_record(o)
                if o.metadata_path == record.metadata_path
                else f"{o.metadata_path}"
                + (f" line {o.line}" if o.line is not None else "")
                for o in others
            )
            value = record.data.get("id") if column == "id" else None
            if column == "file":
                value = _display(_media_file(record) or "")
            if column == "folder":
                try:
                    value = record.folder.relative_to(record.metadata_path.parent)
                except ValueError:
                    value = record.folder
            if record.line is not None:
                where = f"line {record.line}, column {column}"
            else:
                where = column
            record.problems.append(
                BatchProblem(
                    record.metadata_path,
                    where,
                    f"{value or record.folder} {what}: also {named}",
                )
            )


class _MetadataLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases (``*name``, ``<<: *name``).

    Metadata never needs them, and a few nested aliases in a file of a few
    hundred bytes stand for millions of values (a "billion laughs"), which
    every later step would walk.
    """

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None,
                None,
                "aliases (*name) are not accepted in metadata; write the value out",
                self.peek_event().start_mark,
            )
        return super().compose_node(parent, index)


#: Flow collections (``[``, ``{``) nested deeper than this are refused before
#: parsing: PyYAML's scanner takes quadratic time in them (10,000 ``[`` take
#: about 9 s), and metadata needs three or four levels.
MAX_YAML_FLOW_DEPTH = 100
_FLOW_BRACKETS = re.compile(r"[][{}]")


def _flow_depth(text: str) -> int:
    """How deeply ``[`` and ``{`` nest in ``text`` (brackets in quotes count too)."""
    depth = deepest = 0
    for match in _FLOW_BRACKETS.finditer(text):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(0, depth - 1)
    return deepest


def _python_problem(exc: Exception) -> str:
    """What a parsed file asked of Python that it cannot build, for a problem."""
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if "integer string conversion" in str(exc):  # int() refuses 4,300 digits
        return "a number of more than 4,300 digits"
    return str(exc)  # YAML's dates: "month must be in 1..12"


def _load_metadata(meta: Path) -> tuple[dict, list[BatchProblem]]:
    """Parse a JSON or YAML metadata file into a dict, or say why it cannot be."""
    is_yaml = meta.suffix.lower() in (".yaml", ".yml")
    try:
        text = meta.read_text(encoding="utf-8-sig" if is_yaml else "utf-8")
    except UnicodeDecodeError as exc:
        return {}, [BatchProblem(meta, "", f"not UTF-8 ({exc.reason})")]
    except OSError as exc:
        return {}, [BatchProblem(meta, "", f"cannot be read ({exc.strerror})")]
    if is_yaml:
        if _flow_depth(text) > MAX_YAML_FLOW_DEPTH:
            return {}, [
                BatchProblem(
                    meta,
                    "",
                    f"invalid YAML: [ and {{ nested more than {MAX_YAML_FLOW_DEPTH} "
                    "deep",
                )
            ]
        try:
            # _MetadataLoader is PyYAML's SafeLoader, less aliases.
            data = yaml.load(text, Loader=_MetadataLoader)
            data = _yaml_dates(data) if isinstance(data, dict) else data
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            where = f"line {mark.line + 1} column {mark.column + 1}" if mark else ""
            what = exc.problem or exc.context or "cannot be parsed"
            return {}, [BatchProblem(meta, where, f"invalid YAML: {what}")]
        except yaml.YAMLError as exc:
            return {}, [BatchProblem(meta, "", f"invalid YAML: {exc}")]
        except (ValueError, RecursionError) as exc:
            return {}, [BatchProblem(meta, "", f"invalid YAML: {_python_problem(exc)}")]
        if not isinstance(data, dict):
            return {}, [BatchProblem(meta, "", "the top level must be a YAML mapping")]
        if data.get("format") == FORMAT_V1:
            return data, [
                BatchProblem(
                    meta,
                    "format",
                    f"YAML metadata needs {FORMAT_V2!r}; version 1 is JSON only",
                )
            ]
        return data, []
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return {}, [
            BatchProblem(
                meta,
                f"line {exc.lineno} column {exc.colno}",
                f"invalid JSON: {exc.msg}",
            )
        ]
    except (ValueError, RecursionError) as exc:
        return {}, [BatchProblem(meta, "", f"invalid JSON: {_python_problem(exc)}")]
    if not isinstance(data, dict):
        return {}, [BatchProblem(meta, "", "the top level must be a JSON object")]
    return data, []


#: YAML reads ``0x…`` of any length; Python cannot print an int this long.
_HUGE = 10**1000


def _yaml_dates(value):
    """YAML reads ``2030-01-01`` as a date; the schema has strings, as in JSON.

    Raises:
        ValueError: a number (or key) of more than 1,000 digits, which no field
            holds and which could not even be named in a problem.
    """
    if isinstance(value, dict):
        return {_yaml_dates(k): _yaml_dates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_yaml_dates(v) for v in value]
    if isinstance(value, datetime.date):  # datetime.datetime is a date too
        return value.isoformat()
    if isinstance(value, int) and abs(value) >= _HUGE:
        raise ValueError("a number of more than 1,000 digits")
    return value


# --------------------------------------------------------------------------
# Validation


def validate_item(data: dict, meta: Path, folder: Path) -> list[BatchProblem]:
    """Check an item's metadata against version 1 or 2 of the batch format.

    For version 2 this also reads the pages that the metadata leaves out
    (``pages.csv`` or the image files of the folder); ``data`` is not changed.
    """
    problems, _ = _check_item(data, meta, folder)
    return problems


def _version(data: dict) -> int:
    """1 for a version-1 file; 2 for version 2 and for an unknown format.

    An unknown format is already a problem; reading it as version 2 reports its
    other problems without also calling every version-2 field a problem.
    """
    return 1 if data.get("format") == FORMAT_V1 else 2


def _check_item(
    data: dict,
    meta: Path,
    folder: Path,
    *,
    row: _Where | None = None,
    pages_wanted: bool = True,
) -> tuple[list[BatchProblem], list[dict] | None]:
    """Validate an item and gather its pages.

    Returns the problems and the normalised pages (``None`` for an item without
    pages). ``row`` is the volumes.csv row the item came from, if any;
    ``pages_wanted`` is false for a recordings.csv row (a recording has none).
    """
    version = _version(data)
    p = _item_problems(data, meta, version)
    if pages_wanted:
        pages, page_problems, page_count = _gather_pages(
            data, meta, folder, version, row
        )
    else:
        pages, page_problems, page_count = None, [], 0
    p += page_problems
    p += _toc_problems(data.get("toc"), meta, page_count)
    p += _media_problems(data, meta, folder, version)
    return p, pages


def _media_problems(
    data: dict, meta: Path, folder: Path, version: int
) -> list[BatchProblem]:
    """The recordings (``media``) of an item and, in version 2, its ``consent``."""
    p: list[BatchProblem] = []
    media = data.get("media")
    if not media and data.get("kind") in RECORDING_KINDS[:2]:
        p.append(
            BatchProblem(
                meta,
                "media",
                f"is required for a {data['kind']} item: the recording(s), "
                '[{"file": "interview.flac"}]',
            )
        )
    if media is not None and not isinstance(media, list):
        p.append(
            BatchProblem(meta, "media", "must be a list of {file, reference_text}")
        )
        media = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(media or []):
        if not isinstance(entry, dict) or not entry.get("file"):
            p.append(BatchProblem(meta, f"media[{i}].file", "is required"))
            continue
        p += _file_problems(folder, entry["file"], meta, f"media[{i}].file")
        if isinstance(entry["file"], str):
            if entry["file"] in seen:
                p.append(
                    BatchProblem(
                        meta,
                        f"media[{i}].file",
                        f"{_display(entry['file'])} is listed twice "
                        f"(also media[{seen[entry['file']]}])",
                    )
                )
            seen.setdefault(entry["file"], i)
        if entry.get("reference_text"):
            p += _file_problems(
                folder, entry["reference_text"], meta, f"media[{i}].reference_text"
            )
    consent = data.get("consent")
    if consent is None:
        return p
    if version == 1:
        p.append(
            BatchProblem(meta, "consent", f"needs {FORMAT_V2!r} (this file says v1)")
        )
        return p
    _, problems = consent_read(consent, folder, len(media or []))
    p += [BatchProblem(meta, name, message) for name, message in problems]
    return p


def _title_problems(value, meta: Path, name: str, required: bool) -> list[BatchProblem]:
    if value is None:
        return [BatchProblem(meta, name, "is required")] if required else []
    if not isinstance(value, dict):
        return [
            BatchProblem(
                meta,
                name,
                "must be an object of forms (original, zh-Hant, zh-Hans, en)",
            )
        ]
    problems = []
    if not str(value.get("original", "")).strip():
        problems.append(
            BatchProblem(
                meta,
                f"{name}.original",
                "is required: the text as the source writes it",
            )
        )
    unknown = set(value) - {"original", "zh-Hant", "zh-Hans", "en"}
    if unknown:
        problems.append(
            BatchProblem(meta, name, f"unknown forms {sorted(unknown, key=str)}")
        )
    return problems


def _item_problems(data: dict, meta: Path, version: int) -> list[BatchProblem]:
    """Every check of an item except its pages, table of contents and media."""
    p: list[BatchProblem] = []
    if data.get("format") not in FORMATS:
        p.append(
            BatchProblem(
                meta,
                "format",
                f"must be {FORMAT_V1!r} or {FORMAT_V2!r}, not {data.get('format')!r}",
            )
        )
    if data.get("id") is not None and (
        not isinstance(data["id"], str) or not PUBLIC_ID.match(data["id"])
    ):
        p.append(
            BatchProblem(
                meta, "id", "use 3 to 64 lower-case letters, digits and hyphens"
            )
        )
    # Values are checked for their type before a set lookup: a list is unhashable.
    if not isinstance(data.get("kind"), str) or data["kind"] not in KINDS:
        p.append(BatchProblem(meta, "kind", f"must be one of {sorted(KINDS)}"))
    if not isinstance(data.get("institution"), str) or not data.get("institution"):
        p.append(BatchProblem(meta, "institution", "is required: an institution code"))
    p += _title_problems(data.get("title"), meta, "title", required=True)
    p += _title_problems(data.get("description"), meta, "description", required=False)
    rights = data.get("rights")
    if not isinstance(rights, dict) or not rights.get("uri"):
        p.append(BatchProblem(meta, "rights.uri", "is required"))
    elif not re.match(
        r"^(http://rightsstatements\.org/vocab/|https?://creativecommons\.org/)",
        str(rights["uri"]),
    ):
        p.append(
            BatchProblem(
                meta,
                "rights.uri",
                "must be a rightsstatements.org or creativecommons.org URI",
            )
        )
    access = data.get("access", "staff")
    if not isinstance(access, str) or access not in ACCESS:
        p.append(BatchProblem(meta, "access", f"must be one of {sorted(ACCESS)}"))
    if access == "embargoed" and _iso_date(data.get("embargo_until")) is None:
        p.append(
            BatchProblem(
                meta, "embargo_until", "an embargoed item needs a YYYY-MM-DD date"
            )
        )
    themes = data.get("themes")
    if themes is not None and not isinstance(themes, list):
        p.append(BatchProblem(meta, "themes", "must be a list of theme codes"))
        themes = []
    for i, theme in enumerate(themes or []):
        if not isinstance(theme, str) or theme not in THEMES:
            p.append(
                BatchProblem(
                    meta,
                    f"themes[{i}]",
                    f"unknown theme {theme!r}; use {sorted(THEMES)}",
                )
            )
    language = data.get("language")
    if language is not None and not isinstance(language, list):
        p.append(BatchProblem(meta, "language", "must be a list of language tags"))
    for i, tag in enumerate(language if isinstance(language, list) else []):
        if not isinstance(tag, str) or not LANGUAGE_TAG.match(tag):
            p.append(
                BatchProblem(
                    meta,
                    f"language[{i}]",
                    f"{tag!r} is not a language tag (yue, zh-Hant, hak, nan, lzh)",
                )
            )
    dialect = data.get("dialect")
    if isinstance(dialect, str) and len(dialect) > 50:
        p.append(BatchProblem(meta, "dialect", "is longer than 50 characters"))
    p += _agents_problems(data.get("agents"), meta, "agents")
    places = data.get("places")
    if places is not None and not isinstance(places, list):
        p.append(BatchProblem(meta, "places", "must be a list of places"))
        places = []
    for i, place in enumerate(places or []):
        p += _title_problems(
            place.get("name") if isinstance(place, dict) else None,
            meta,
            f"places[{i}].name",
            True,
        )
    work = data.get("work")
    if work is not None and not isinstance(work, dict):
        p.append(BatchProblem(meta, "work", "must be an object"))
    elif work is not None:
        p += _title_problems(work.get("title"), meta, "work.title", required=True)
        if work.get("class") not in (None, "", "經", "史", "子", "集", "叢"):
            p.append(BatchProblem(meta, "work.class", "must be one of 經 史 子 集 叢"))
        if version == 2:
            p += _agents_problems(work.get("agents"), meta, "work.agents")
            p += _string_problems(work, meta, "work.", ("id", "date", "dadian_ref"))
    if version == 2:
        p += _string_problems(
            data,
            meta,
            "",
            ("id", "collection", "dadian_ref", "date", "dialect", "embargo_until"),
        )
    # Both versions say "integer ≥ 1" (docs/ingest-format.md, section 3).
    volume = data.get("volume")
    if volume is not None and (
        not isinstance(volume, int) or isinstance(volume, bool) or volume < 1
    ):
        p.append(BatchProblem(meta, "volume", "must be a whole number ≥ 1"))
    return p


def _agents_problems(agents, meta: Path, name: str) -> list[BatchProblem]:
    if agents is not None and not isinstance(agents, list):
        return [BatchProblem(meta, name, "must be a list of {name, role}")]
    p: list[BatchProblem] = []
    for i, agent in enumerate(agents or []):
        p += _title_problems(
            agent.get("name") if isinstance(agent, dict) else None,
            meta,
            f"{name}[{i}].name",
            True,
        )
        role = agent.get("role") if isinstance(agent, dict) else None
        if isinstance(agent, dict) and (not isinstance(role, str) or role not in ROLES):
            p.append(
                BatchProblem(
                    meta, f"{name}[{i}].role", f"must be one of {sorted(ROLES)}"
                )
            )
    return p


def _string_problems(
    data: dict, meta: Path, prefix: str, keys: Iterable[str]
) -> list[BatchProblem]:
    """Version 2: these fields are text; YAML turns unquoted ``1938`` into a number."""
    return [
        BatchProblem(
            meta,
            f"{prefix}{key}",
            f"must be text, not {data[key]!r} (in YAML, put it in quotes)",
        )
        for key in keys
        if data.get(key) is not None and not isinstance(data[key], str)
    ]


def _toc_problems(
    toc, meta: Path, page_count: int, where: str = "toc"
) -> list[BatchProblem]:
    """Each entry needs a label and 1 <= first <= last <= the number of pages."""
    if toc is None:
        return []
    if not isinstance(toc, list):
        return [BatchProblem(meta, where, "must be a list of {label, first, last}")]
    problems = []
    for i, entry in enumerate(toc):
        name = f"{where}[{i}]"
        if not isinstance(entry, dict):
            problems.append(
                BatchProblem(meta, name, "must be an object {label, first, last}")
            )
            continue
        if not str(entry.get("label", "")).strip():
            problems.append(BatchProblem(meta, f"{name}.label", "is required"))
        first, last = entry.get("first"), entry.get("last")
        if not (
            isinstance(first, int)
            and isinstance(last, int)
            and 1 <= first <= last <= page_count
        ):
            problems.append(
                BatchProblem(
                    meta,
                    name,
                    f"first and last must be page numbers with 1 <= first <= last <= {page_count}",
                )
            )
        problems += _toc_problems(
            entry.get("children"), meta, page_count, f"{name}.children"
        )
    return problems


def _display(rel: str) -> str:
    """A path for a message: always printable text, even for a GBK file name."""
    return filename_decode(rel) if isinstance(rel, str) else repr(rel)


def _file_message(folder: Path, rel) -> str | None:
    """What is wrong with a named file, or None: it must be a non-empty file inside."""
    if not isinstance(rel, str):
        return f"must be a path (text), not {rel!r}"
    if "\x00" in rel:
        return f"{rel!r} is not a file name (it holds a NUL character)"
    try:
        candidate = (folder / rel).resolve()
        if Path(rel).is_absolute() or folder.resolve() not in candidate.parents:
            return f"{rel!r} points outside the item's folder"
        if not candidate.is_file():
            return f"{_display(rel)} does not exist"
        if candidate.stat().st_size == 0:
            return f"{_display(rel)} is empty (0 bytes)"
    except OSError as exc:  # a name too long for the file system, a loop of links
        return f"{_display(rel)[:200]!r} cannot be opened ({exc.strerror})"
    return None


def _file_problems(folder: Path, rel: str, meta: Path, name: str) -> list[BatchProblem]:
    """A named file must exist inside the item's folder (no ``..`` or absolute paths)."""
    message = _file_message(folder, rel)
    return [BatchProblem(meta, name, message)] if message else []


# --------------------------------------------------------------------------
# Pages


@dataclass(frozen=True)
class _Where:
    """Where a page (or a CSV row) is written, to name it in a problem.

    ``path`` is the file, ``prefix`` the entry (``pages[3]``, ``line 5``), and
    ``sep`` joins the prefix to a key (``pages[3].file``, ``line 5, column file``);
    with ``sep`` None the key is not shown (found pages have no fields).
    """

    path: Path
    prefix: str
    sep: str | None = "."
    note: str = ""

    def __call__(self, key: str, message: str) -> BatchProblem:
        if key and self.sep is not None:
            name = f"{self.prefix}{self.sep}{key}" if self.prefix else key
        else:
            name = self.prefix
        return BatchProblem(self.path, name, f"{self.note}{message}")


def _empty_page(file: str) -> dict:
    return {
        "file": file,
        "label": "",
        "folio": "",
        "blank": False,
        "text": None,
        "alto": None,
        "hocr": None,
        "image_id": None,
        "original_filename": filename_decode(PurePosixPath(file).name),
    }


def _gather_pages(
    data: dict, meta: Path, folder: Path, version: int, row: _Where | None
) -> tuple[list[dict] | None, list[BatchProblem], int]:
    """The item's pages, by whichever route they come: listed, pages.csv or found.

    Returns the normalised pages (None for an item that has none), the problems,
    and the page count that ``toc`` is checked against.
    """
    pages_csv = folder / PAGES_CSV
    has_csv = pages_csv.is_file()
    listed = data.get("pages")
    if listed is not None:
        problems = []
        if has_csv and version == 2:
            problems.append(
                BatchProblem(
                    meta,
                    "pages",
                    f"both a pages list and {pages_csv} are given; give one of them",
                )
            )
        elif has_csv:
            problems.append(_pages_csv_needs_v2(meta, pages_csv))
        if not isinstance(listed, list):
            problems.append(BatchProblem(meta, "pages", "must be a list of pages"))
            return None, problems, 0
        pages, list_problems = _check_pages(
            listed,
            folder,
            version,
            lambda i: _Where(meta, f"pages[{i}]"),
        )
        return pages, problems + list_problems, len(listed)
    if has_csv:
        if version == 1:
            return None, [_pages_csv_needs_v2(meta, pages_csv)], 0
        pages, problems, count = _read_pages_csv(pages_csv, folder)
        return pages, problems, count
    if version == 2 and data.get("kind") in tuple(PAGED_KINDS):  # maybe unhashable
        pages, problems = _discover_pages(folder, row)
        return pages, problems, len(pages)
    return None, [], 0


def _pages_csv_needs_v2(meta: Path, pages_csv: Path) -> BatchProblem:
    return BatchProblem(
        meta,
        "format",
        f"{pages_csv.name} is read only in {FORMAT_V2!r}; this file says {FORMAT_V1!r}",
    )


def _check_pages(
    entries: list,
    folder: Path,
    version: int,
    where_of: Callable[[int], _Where],
) -> tuple[list[dict], list[BatchProblem]]:
    """Check a list of page entries (from JSON, YAML or pages.csv) and normalise it.

    Pages are sorted by ``page`` when every entry gives a valid, unique one.
    """
    p: list[BatchProblem] = []
    pages: list[tuple[int | None, dict]] = []
    seen_files: dict[str, str] = {}
    numbers: dict[int, int] = {}
    missing_number: list[int] = []
    number_ok = True
    for i, entry in enumerate(entries):
        where = where_of(i)
        if not isinstance(entry, dict) or not entry.get("file"):
            p.append(where("file", "is required"))
            continue
        file = entry["file"]
        message = _file_message(folder, file)
        if message:
            p.append(where("file", message))
        if not isinstance(file, str):
            continue
        for key in ("text", "alto", "hocr"):
            if entry.get(key):
                message = _file_message(folder, entry[key])
                if message:
                    p.append(where(key, message))
        if version == 1:
            for key in PAGE_FIELDS_V2:
                if key in entry:
                    p.append(where(key, f"needs {FORMAT_V2!r} (this file says v1)"))
        folio = entry.get("folio")
        if folio is not None and not isinstance(folio, str):
            p.append(
                where(
                    "folio",
                    f"must be text as printed (三, 十二, 12), not {folio!r}; "
                    "in YAML put numbers in quotes",
                )
            )
        blank = entry.get("blank")
        if blank is not None and not isinstance(blank, bool):
            p.append(where("blank", f"must be true or false, not {blank!r}"))
        image_id = entry.get("image_id")
        if image_id and not PUBLIC_ID.match(str(image_id)):
            p.append(
                where("image_id", "use 3 to 64 lower-case letters, digits and hyphens")
            )
        if file in seen_files:
            p.append(
                where("", f"{_display(file)} is listed twice (also {seen_files[file]})")
            )
        seen_files.setdefault(file, where.prefix)
        number = entry.get("page")
        if version == 2 and number is None:
            missing_number.append(i)
        elif version == 2:
            if not isinstance(number, int) or isinstance(number, bool) or number < 1:
                p.append(where("page", f"must be a whole number ≥ 1, not {number!r}"))
                number_ok = False
            elif number in numbers:
                p.append(
                    where(
                        "page",
                        f"duplicate page number {number}: "
                        f"{where_of(numbers[number]).prefix} and {where.prefix}",
                    )
                )
                number_ok = False
            else:
                numbers[number] = i
        page = _empty_page(file)
        for key in ("label", "folio"):
            if entry.get(key) is not None:
                page[key] = str(entry[key])
        page["blank"] = entry.get("blank") is True
        for key in ("text", "alto", "hocr", "image_id"):
            if isinstance(entry.get(key), str) and entry[key]:
                page[key] = entry[key]
        pages.append((number if isinstance(number, int) else None, page))
    if numbers and missing_number:
        for i in missing_number:
            p.append(
                where_of(i)(
                    "page",
                    "is missing: when one page gives a page number, every page must",
                )
            )
        number_ok = False
    if numbers and number_ok:
        pages.sort(key=lambda pair: pair[0])
    return [page for _, page in pages], p


def _natural_key(name: str):
    """Sort ``2.jpg`` before ``10.jpg``: runs of digits compare as numbers."""
    parts = re.split(r"(\d+)", name)
    return [int(t) if i % 2 else t.casefold() for i, t in enumerate(parts)], name


def _list_files(directory: Path, suffixes: Iterable[str]) -> list[str]:
    """Names of the files in ``directory`` with one of ``suffixes`` (any case).

    Hidden files (``.DS_Store``, macOS ``._0001.jpg``) are left out.
    """
    if not directory.is_dir():
        return []
    suffixes = tuple(suffixes)
    return [
        name
        for name in os.listdir(directory)
        if not name.startswith(".")
        and os.path.splitext(name)[1].lower() in suffixes
        and (directory / name).is_file()
    ]


def _discover_pages(
    folder: Path, row: _Where | None
) -> tuple[list[dict], list[BatchProblem]]:
    """Version 2 pages left out: the image files of ``pages/`` (or of the folder)."""
    pages_dir = folder / "pages" if (folder / "pages").is_dir() else folder
    prefix = "pages/" if pages_dir != folder else ""
    if row is None:
        where = _Where(pages_dir, "", None)
    else:
        shown = _display(str(pages_dir.relative_to(row.path.parent)))
        where = _Where(row.path, row.prefix, None, f"in {shown}: ")
    problems: list[BatchProblem] = []
    attachments: dict[str, dict[str, str]] = {}
    for key, (sub, suffixes) in PAGE_ATTACHMENTS.items():
        found: dict[str, str] = {}
        for name in sorted(_list_files(folder / sub, suffixes)):
            stem = os.path.splitext(name)[0]
            if stem in found:
                problems.append(
                    where(
                        "",
                        f"two {key} files for page {_display(stem)}: "
                        f"{_display(found[stem])} and {sub}/{_display(name)}",
                    )
                )
                continue
            found[stem] = f"{sub}/{name}"
        attachments[key] = found
    names = sorted(_list_files(pages_dir, IMAGE_SUFFIXES), key=_natural_key)
    if not names:
        problems.append(
            where(
                "",
                "no pages: no pages list, no pages.csv and no page images "
                f"({' '.join(IMAGE_SUFFIXES)}) in {'pages/' if prefix else 'the folder'}",
            )
        )
    pages: list[dict] = []
    by_number: dict[int, str] = {}
    for name in names:
        stem = os.path.splitext(name)[0]
        digits = re.findall(r"\d+", stem)
        if not digits:
            problems.append(
                where(
                    "",
                    f"{_display(name)} has no page number: "
                    "a page file's name needs digits, e.g. 0001.jpg",
                )
            )
            continue
        number = int(digits[-1])
        if number in by_number:
            problems.append(
                where(
                    "",
                    f"duplicate page number {number}: "
                    f"{_display(by_number[number])} and {_display(name)}",
                )
            )
            continue
        by_number[number] = name
        rel = prefix + name
        message = _file_message(folder, rel)
        if message:
            problems.append(where("", message))
        page = _empty_page(rel)
        for key, found in attachments.items():
            attached = found.get(stem)
            if attached:
                message = _file_message(folder, attached)
                if message:
                    problems.append(where("", message))
                page[key] = attached
        pages.append(page)
    return pages, problems


# --------------------------------------------------------------------------
# CSV


def _read_csv(
    path: Path, columns: tuple[str, ...], required: str
) -> tuple[list[tuple[int, dict[str, str], list[BatchProblem]]], list[BatchProblem]]:
    """Read a CSV with a header row.

    Returns the rows as ``(line, {column: stripped value}, problems)``, where
    ``line`` is the physical line the row starts on (the header is line 1), and
    the problems of the file and its header. Empty rows are skipped.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return [], [BatchProblem(path, "", f"cannot be read ({exc.strerror})")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return [], [
            BatchProblem(
                path,
                f"line {line}",
                f"is not UTF-8 ({exc.reason}); save the file as “CSV UTF-8”",
            )
        ]
    reader = csv.reader(io.StringIO(text, newline=""))
    header_problems: list[BatchProblem] = []
    rows: list[tuple[int, dict[str, str], list[BatchProblem]]] = []
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            return [], [BatchProblem(path, "line 1", "the header row is missing")]
        header = [h.strip() for h in header]
        seen: set[str] = set()
        for name in header:
            if name not in columns:
                header_problems.append(
                    BatchProblem(
                        path,
                        f"line 1, column {name or '(empty)'}",
                        f"unknown column; the columns are: {', '.join(columns)}",
                    )
                )
            elif name in seen:
                header_problems.append(
                    BatchProblem(path, f"line 1, column {name}", "is given twice")
                )
            seen.add(name)
        if required not in header:
            header_problems.append(
                BatchProblem(path, "line 1", f"the column {required!r} is required")
            )
            return [], header_problems
        previous = reader.line_num
        for cells in reader:
            line = previous + 1
            previous = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            row_problems = []
            if len(cells) > len(header) and any(
                c.strip() for c in cells[len(header) :]
            ):
                row_problems.append(
                    BatchProblem(
                        path,
                        f"line {line}",
                        f"has {len(cells)} cells but the header has {len(header)} "
                        'columns (a value with a comma needs "quotes")',
                    )
                )
            values: dict[str, str] = {}
            for name, cell in zip(header, cells, strict=False):
                if name in columns and name not in values:
                    values[name] = cell.strip()
            rows.append((line, values, row_problems))
    except csv.Error as exc:
        header_problems.append(
            BatchProblem(path, f"line {reader.line_num}", f"is not valid CSV: {exc}")
        )
    return rows, header_problems


def _read_pages_csv(
    pages_csv: Path, folder: Path
) -> tuple[list[dict], list[BatchProblem], int]:
    """Version 2 pages from ``pages.csv``: one row a page, in order (or by ``page``)."""
    rows, problems = _read_csv(pages_csv, PAGES_CSV_COLUMNS, "file")
    entries: list[dict] = []
    lines: list[int] = []
    for line, values, row_problems in rows:
        problems += row_problems
        entry: dict = {}
        for key in ("file", "label", "folio", "text", "alto", "hocr", "image_id"):
            if values.get(key):
                entry[key] = values[key]
        if values.get("page"):
            try:
                entry["page"] = int(values["page"])
            except ValueError:
                entry["page"] = values["page"]  # reported by _check_pages
        word = values.get("blank", "").casefold()
        if word in BLANK_WORDS:
            entry["blank"] = BLANK_WORDS[word]
        else:
            problems.append(
                BatchProblem(
                    pages_csv,
                    f"line {line}, column blank",
                    f"must be one of 1 0 true false yes no 是 否 (or empty), "
                    f"not {values['blank']!r}",
                )
            )
        entries.append(entry)
        lines.append(line)
    if not rows and not problems:
        problems.append(BatchProblem(pages_csv, "", "has no pages"))
    pages, page_problems = _check_pages(
        entries,
        folder,
        2,
        lambda i: _Where(pages_csv, f"line {lines[i]}", ", column "),
    )
    return pages, problems + page_problems, len(entries)


AUTHOR = re.compile(r"^[〔（(\[［【]\s*([^〕）)\]］】]+?)\s*[〕）)\]］】]\s*(\S.*)$")
# At most nine ASCII digits: int() refuses 5,000, and no volume has a billion pages.
TOC_PAGES = re.compile(r"\A([0-9]{1,9})\s*(?:[-–—~～]\s*([0-9]{1,9}))?\Z")

#: A JSON field of a volumes.csv row's metadata, and the column it came from.
_ROW_COLUMNS = (
    ("work.title", "work_title"),
    ("work.agents", "authors"),
    ("work.id", "work_id"),
    ("work.class", "class"),
    ("work.subclass", "subclass"),
    ("work.edition", "edition"),
    ("work.date", "work_date"),
    ("work", "work_title"),
    ("rights.statement", "rights_statement_zh_hant"),
    ("rights", "rights_uri"),
    ("title", "title"),
    ("description", "description"),
    ("language", "language"),
    ("themes", "themes"),
    ("toc", "toc"),
    ("id", "id"),
    ("kind", "kind"),
    ("institution", "institution"),
    ("collection", "collection"),
    ("volume", "volume"),
    ("dadian_ref", "dadian_ref"),
    ("date", "date"),
    ("access", "access"),
    ("embargo_until", "embargo_until"),
)


def _row_field(line: int, json_field: str, columns=_ROW_COLUMNS) -> str:
    """Name a problem of a CSV row by line and column (or JSON field)."""
    for prefix, column in columns:
        if json_field == prefix or json_field.startswith((prefix + ".", prefix + "[")):
            detail = (
                f" ({json_field})" if "[" in json_field and json_field != prefix else ""
            )
            return f"line {line}, column {column}{detail}"
    return f"line {line}, {json_field}" if json_field else f"line {line}"


def parse_authors(text: str) -> tuple[list[dict], list[str]]:
    """Authors as catalogues write them, ``;``-separated, as batch-format agents.

    ``〔宋〕區適子``, ``（宋）區適子``, ``(宋) 區適子`` or ``區適子``; a trailing
    撰/著/編/輯 stays in the name. Returns the agents and what could not be read.
    """
    agents: list[dict] = []
    problems: list[str] = []
    for part in re.split(r"[;；]", text):
        part = part.strip()
        if not part:
            continue
        match = AUTHOR.match(part)
        if match:
            agents.append(
                {
                    "name": {"original": match.group(2).strip()},
                    "role": "author",
                    "dynasty": match.group(1).strip(),
                }
            )
        elif part[0] in "〔（(［[【":
            problems.append(
                f"{part!r}: write 〔dynasty〕name, e.g. 〔清〕陳澧 (a bracket is not "
                "closed or the name is missing)"
            )
        else:
            agents.append({"name": {"original": part}, "role": "author"})
    return agents, problems


def parse_toc(text: str) -> tuple[list[dict], list[str]]:
    """A table of contents written ``label=first-last; label=page`` as toc entries."""
    toc: list[dict] = []
    problems: list[str] = []
    parts = [p.strip() for p in re.split(r"[;；]", text) if p.strip()]
    for number, part in enumerate(parts, start=1):
        label, sep, pages = part.replace("＝", "=").rpartition("=")
        match = TOC_PAGES.match(pages.strip())
        if not sep or not label.strip() or not match:
            problems.append(
                f"entry {number} {part!r}: write label=first-last or label=page, "
                "e.g. 卷上=2-10"
            )
            continue
        first = int(match.group(1))
        last = int(match.group(2) or match.group(1))
        toc.append({"label": label.strip(), "first": first, "last": last})
    return toc, problems


def _forms(original: str, hant: str, hans: str, en: str) -> dict | None:
    forms = {"original": original, "zh-Hant": hant, "zh-Hans": hans, "en": en}
    forms = {k: v for k, v in forms.items() if v}
    return forms or None


def _row_data(values: dict[str, str], where: _Where) -> tuple[dict, list[BatchProblem]]:
    """A volumes.csv row as the dict a v2 ``volume.json`` would hold."""
    problems: list[BatchProblem] = []

    def get(column: str) -> str:
        return values.get(column, "")

    data: dict = {"format": FORMAT_V2, "kind": get("kind") or "book_volume"}
    if data["kind"] in KINDS - PAGED_KINDS:
        problems.append(
            where(
                "kind",
                f"volumes.csv describes {' and '.join(sorted(PAGED_KINDS))} items, "
                f"not {data['kind']}",
            )
        )
    for key in (
        "id",
        "institution",
        "collection",
        "dadian_ref",
        "date",
        "access",
        "embargo_until",
    ):
        if get(key):
            data[key] = get(key)
    if get("volume"):
        try:
            data["volume"] = int(get("volume"))
        except ValueError:
            problems.append(
                where("volume", f"must be a whole number ≥ 1, not {get('volume')!r}")
            )
    work: dict = {}
    if get("work_id"):
        work["id"] = get("work_id")
    work_title = _forms(
        get("work_title"),
        get("work_title_zh_hant"),
        get("work_title_zh_hans"),
        get("work_title_en"),
    )
    if work_title:
        work["title"] = work_title
    for column, key in (
        ("class", "class"),
        ("subclass", "subclass"),
        ("edition", "edition"),
        ("work_date", "date"),
    ):
        if get(column):
            work[key] = get(column)
    if get("authors"):
        agents, author_problems = parse_authors(get("authors"))
        problems += [where("authors", m) for m in author_problems]
        work["agents"] = agents
    if work:
        data["work"] = work
    title = (
        _forms(
            get("title"), get("title_zh_hant"), get("title_zh_hans"), get("title_en")
        )
        or {}
    )
    volume = data.get("volume")
    if not get("title") and get("work_title") and isinstance(volume, int):
        title["original"] = f"{get('work_title')} 第{volume}冊"
        if get("work_title_zh_hant") and not get("title_zh_hant"):
            title["zh-Hant"] = f"{get('work_title_zh_hant')} 第{volume}冊"
        if get("work_title_zh_hans") and not get("title_zh_hans"):
            title["zh-Hans"] = f"{get('work_title_zh_hans')} 第{volume}册"
        if get("work_title_en") and not get("title_en"):
            title["en"] = f"{get('work_title_en')}, volume {volume}"
    if title:
        data["title"] = title
    if get("description"):
        data["description"] = {"original": get("description")}
    if get("language"):
        data["language"] = [t for t in re.split(r"[\s;；]+", get("language")) if t]
    rights: dict = {}
    if get("rights_uri"):
        rights["uri"] = get("rights_uri")
    statement = _forms(
        "", get("rights_statement_zh_hant"), "", get("rights_statement_en")
    )
    if statement:
        rights["statement"] = statement
    if rights:
        data["rights"] = rights
    if get("themes"):
        data["themes"] = [t for t in re.split(r"[\s;；,，、]+", get("themes")) if t]
    if get("toc"):
        toc, toc_problems = parse_toc(get("toc"))
        problems += [where("toc", m) for m in toc_problems]
        if not toc_problems:  # a partial toc would shift the entry numbers
            data["toc"] = toc
    return data, problems


def _folder_message(folder: Path) -> str | None:
    """Why a folder named in a CSV cannot even be looked at, or None."""
    if "\x00" in str(folder):
        return "is not a folder name (it holds a NUL character)"
    try:
        folder.resolve().is_dir()
    except OSError as exc:  # a name too long for the file system, a loop of links
        return f"cannot be opened ({exc.strerror})"
    return None


def _volume_row(path: Path, line: int, values: dict[str, str]) -> ItemRecord:
    """One row of a volumes.csv, read, validated and with its pages gathered."""
    base = path.parent
    where = _Where(path, f"line {line}", ", column ")
    cell = values.get("folder", "")
    folder = base / cell if cell else base
    record = ItemRecord(folder=folder, metadata_path=path, data={}, line=line)
    folder_ok = False
    if not cell:
        record.problems.append(
            where("folder", "is required: the volume's folder, relative to volumes.csv")
        )
    elif message := _folder_message(folder):
        record.problems.append(where("folder", f"{_display(cell)[:200]!r} {message}"))
    elif Path(cell).is_absolute() or base.resolve() not in folder.resolve().parents:
        record.problems.append(
            where(
                "folder",
                f"{cell!r} must be a folder below the folder that holds volumes.csv",
            )
        )
    elif not folder.is_dir():
        record.problems.append(where("folder", f"{cell} is not a folder"))
    else:
        folder_ok = True
        for name in METADATA_NAMES:
            if (folder / name).exists():
                record.problems.append(
                    where(
                        "folder",
                        f"{cell} also holds its own {name}; describe a volume in "
                        "one place",
                    )
                )
    data, problems = _row_data(values, where)
    record.data = data
    record.problems += problems
    if folder_ok:
        item_problems, pages = _check_item(
            data, path, folder, row=_Where(path, f"line {line}, column folder", None)
        )
        if pages is not None:
            data["pages"] = pages
    else:
        item_problems = _item_problems(data, path, 2)
    for problem in item_problems:
        if problem.path == path and not problem.field.startswith("line "):
            problem.field = _row_field(line, problem.field)
    record.problems += item_problems
    return record


# --------------------------------------------------------------------------
# recordings.csv

#: A JSON field of a recordings.csv row's metadata, and the column it came from.
_RECORDING_COLUMNS = (
    ("media[0].reference_text", "reference_text"),
    ("media[0].file", "file"),
    ("media", "file"),
    ("consent.closed", "closed"),
    ("consent.allowed", "consent_allowed"),
    ("consent.valid_until", "consent_valid_until"),
    ("consent.signed_on", "consent_signed_on"),
    ("consent.form", "consent_form"),
    ("consent.notes", "consent_notes"),
    ("consent", "consent_allowed"),
    ("rights.statement", "rights_statement_zh_hant"),
    ("rights", "rights_uri"),
    ("title", "title"),
    ("description", "description"),
    ("language", "language"),
    ("themes", "themes"),
    ("agents", "interviewees"),
    ("places", "places"),
    ("id", "id"),
    ("kind", "kind"),
    ("institution", "institution"),
    ("collection", "collection"),
    ("date", "date"),
    ("dialect", "dialect"),
    ("access", "access"),
    ("embargo_until", "embargo_until"),
)
CLOSED_ENTRY = re.compile(
    r"^(?P<start>[\d:.]+)\s*[-–—~～至]\s*(?P<end>[\d:.]+)"
    r"(?:\s+until\s+(?P<until>\S+))?(?:\s+(?P<reason>\S.*))?$"
)


def parse_closed(text: str) -> tuple[list[dict], list[str]]:
    """Closed passages written ``START-END [until YYYY-MM-DD] [reason]; …``.

    ``00:12:30-00:14:00 家事; 01:02:00-01:03:10 until 2040-12-31 醫療`` gives
    two passages; times are kept as written (``consent_read`` reads them).
    Returns the passages and what could not be read.
    """
    closed: list[dict] = []
    problems: list[str] = []
    parts = [p.strip() for p in re.split(r"[;；]", text) if p.strip()]
    for number, part in enumerate(parts, start=1):
        match = CLOSED_ENTRY.match(part)
        if not match:
            problems.append(
                f"passage {number} {part!r}: write START-END, then optionally "
                "'until YYYY-MM-DD' and a reason, e.g. 00:12:30-00:14:00 家事"
            )
            continue
        entry = {"start": match.group("start"), "end": match.group("end")}
        if match.group("until"):
            entry["until"] = match.group("until")
        if match.group("reason"):
            entry["reason"] = match.group("reason").strip()
        closed.append(entry)
    return closed, problems


def _names(text: str) -> list[str]:
    return [n.strip() for n in re.split(r"[;；]", text) if n.strip()]


def _recording_data(
    values: dict[str, str], where: _Where
) -> tuple[dict, list[BatchProblem]]:
    """A recordings.csv row as the dict a v2 ``item.json`` would hold."""
    problems: list[BatchProblem] = []

    def get(column: str) -> str:
        return values.get(column, "")

    data: dict = {"format": FORMAT_V2, "kind": get("kind") or RECORDING_KINDS[0]}
    if data["kind"] in KINDS and data["kind"] not in RECORDING_KINDS:
        problems.append(
            where(
                "kind",
                f"recordings.csv describes {', '.join(RECORDING_KINDS)} items, "
                f"not {data['kind']}",
            )
        )
    for key in (
        "id",
        "institution",
        "collection",
        "date",
        "dialect",
        "access",
        "embargo_until",
    ):
        if get(key):
            data[key] = get(key)
    title = _forms(
        get("title"), get("title_zh_hant"), get("title_zh_hans"), get("title_en")
    )
    if title:
        data["title"] = title
    description = _forms(
        get("description"), "", get("description_zh_hans"), get("description_en")
    )
    if description:
        data["description"] = description
    if get("language"):
        data["language"] = [t for t in re.split(r"[\s;；]+", get("language")) if t]
    agents = [
        {"name": {"original": name}, "role": role}
        for column, role in (
            ("interviewees", "interviewee"),
            ("interviewers", "interviewer"),
        )
        for name in _names(get(column))
    ]
    if agents:
        data["agents"] = agents
    if get("places"):
        data["places"] = [{"name": {"original": n}} for n in _names(get("places"))]
    rights: dict = {}
    if get("rights_uri"):
        rights["uri"] = get("rights_uri")
    statement = _forms(
        "", get("rights_statement_zh_hant"), "", get("rights_statement_en")
    )
    if statement:
        rights["statement"] = statement
    if rights:
        data["rights"] = rights
    if get("themes"):
        data["themes"] = [t for t in re.split(r"[\s;；,，、]+", get("themes")) if t]
    media: dict = {"file": get("file")}
    if get("reference_text"):
        media["reference_text"] = get("reference_text")
    data["media"] = [media]
    consent_columns = (
        "consent_allowed",
        "consent_valid_until",
        "consent_signed_on",
        "consent_form",
        "consent_notes",
        "closed",
    )
    if any(get(c) for c in consent_columns):
        consent: dict = {"allowed": get("consent_allowed") or None}
        for column, key in (
            ("consent_valid_until", "valid_until"),
            ("consent_signed_on", "signed_on"),
            ("consent_form", "form"),
            ("consent_notes", "notes"),
        ):
            if get(column):
                consent[key] = get(column)
        if get("closed"):
            closed, closed_problems = parse_closed(get("closed"))
            problems += [where("closed", m) for m in closed_problems]
            consent["closed"] = closed
        data["consent"] = consent
    return data, problems


def _recording_row(path: Path, line: int, values: dict[str, str]) -> ItemRecord:
    """One row of a recordings.csv, read and validated like a v2 item.json."""
    base = path.parent
    where = _Where(path, f"line {line}", ", column ")
    record = ItemRecord(folder=base, metadata_path=path, data={}, line=line)
    data, problems = _recording_data(values, where)
    record.data = data
    record.problems += problems
    item_problems, _ = _check_item(data, path, base, pages_wanted=False)
    for problem in item_problems:
        if problem.path == path and not problem.field.startswith("line "):
            problem.field = _row_field(line, problem.field, _RECORDING_COLUMNS)
    record.problems += item_problems
    _consent_normalise(record)
    return record
