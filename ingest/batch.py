"""Reading and validating version 1 of the batch format (docs/ingest-format.md).

A delivery is a folder of item folders, each with an ``item.json`` (or
``volume.json``) and the files it names. Validation collects every problem,
each naming the file and the field, instead of stopping at the first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

FORMAT_V1 = "yuecang-batch/1"
METADATA_NAMES = ("item.json", "volume.json")
KINDS = {"book_volume", "oral_history", "documentary_video", "image_set", "other"}
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
PUBLIC_ID = re.compile(r"^[a-z0-9][a-z0-9-]{2,63}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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
    """An item's metadata as read from its folder, with the folder for its files."""

    folder: Path
    metadata_path: Path
    data: dict
    problems: list[BatchProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the record passed validation."""
        return not self.problems


def find_item_folders(root: Path) -> list[Path]:
    """Return every folder below ``root`` that holds an item metadata file, sorted."""
    found = set()
    for name in METADATA_NAMES:
        for meta in root.rglob(name):
            found.add(meta.parent)
    return sorted(found)


def read_item(folder: Path) -> ItemRecord:
    """Read and validate one item folder."""
    meta = next(
        (folder / n for n in METADATA_NAMES if (folder / n).exists()),
        folder / "item.json",
    )
    record = ItemRecord(folder=folder, metadata_path=meta, data={})
    try:
        record.data = json.loads(meta.read_text(encoding="utf-8"))
    except FileNotFoundError:
        record.problems.append(BatchProblem(meta, "", "no item.json or volume.json"))
        return record
    except UnicodeDecodeError as exc:
        record.problems.append(BatchProblem(meta, "", f"not UTF-8 ({exc.reason})"))
        return record
    except json.JSONDecodeError as exc:
        record.problems.append(
            BatchProblem(
                meta,
                f"line {exc.lineno} column {exc.colno}",
                f"invalid JSON: {exc.msg}",
            )
        )
        return record
    if not isinstance(record.data, dict):
        record.problems.append(
            BatchProblem(meta, "", "the top level must be a JSON object")
        )
        return record
    record.problems.extend(validate_item(record.data, meta, folder))
    return record


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
        problems.append(BatchProblem(meta, name, f"unknown forms {sorted(unknown)}"))
    return problems


def validate_item(data: dict, meta: Path, folder: Path) -> list[BatchProblem]:
    """Check an item's metadata against version 1 of the batch format."""
    p: list[BatchProblem] = []
    if data.get("format") != FORMAT_V1:
        p.append(
            BatchProblem(
                meta, "format", f"must be {FORMAT_V1!r}, not {data.get('format')!r}"
            )
        )
    if "id" in data and data["id"] is not None and not PUBLIC_ID.match(str(data["id"])):
        p.append(
            BatchProblem(
                meta, "id", "use 3 to 64 lower-case letters, digits and hyphens"
            )
        )
    if data.get("kind") not in KINDS:
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
        rights["uri"],
    ):
        p.append(
            BatchProblem(
                meta,
                "rights.uri",
                "must be a rightsstatements.org or creativecommons.org URI",
            )
        )
    access = data.get("access", "staff")
    if access not in ACCESS:
        p.append(BatchProblem(meta, "access", f"must be one of {sorted(ACCESS)}"))
    if access == "embargoed" and not DATE.match(str(data.get("embargo_until") or "")):
        p.append(
            BatchProblem(
                meta, "embargo_until", "an embargoed item needs a YYYY-MM-DD date"
            )
        )
    for i, theme in enumerate(data.get("themes") or []):
        if theme not in THEMES:
            p.append(
                BatchProblem(
                    meta,
                    f"themes[{i}]",
                    f"unknown theme {theme!r}; use {sorted(THEMES)}",
                )
            )
    for i, agent in enumerate(data.get("agents") or []):
        p += _title_problems(
            agent.get("name") if isinstance(agent, dict) else None,
            meta,
            f"agents[{i}].name",
            True,
        )
        if isinstance(agent, dict) and agent.get("role") not in ROLES:
            p.append(
                BatchProblem(
                    meta, f"agents[{i}].role", f"must be one of {sorted(ROLES)}"
                )
            )
    for i, place in enumerate(data.get("places") or []):
        p += _title_problems(
            place.get("name") if isinstance(place, dict) else None,
            meta,
            f"places[{i}].name",
            True,
        )
    work = data.get("work")
    if work is not None:
        p += _title_problems(work.get("title"), meta, "work.title", required=True)
        if work.get("class") not in (None, "", "經", "史", "子", "集", "叢"):
            p.append(BatchProblem(meta, "work.class", "must be one of 經 史 子 集 叢"))
    seen_pages = set()
    for i, page in enumerate(data.get("pages") or []):
        where = f"pages[{i}]"
        if not isinstance(page, dict) or not page.get("file"):
            p.append(BatchProblem(meta, f"{where}.file", "is required"))
            continue
        p += _file_problems(folder, page["file"], meta, f"{where}.file")
        for key in ("text", "alto"):
            if page.get(key):
                p += _file_problems(folder, page[key], meta, f"{where}.{key}")
        image_id = page.get("image_id")
        if image_id and not PUBLIC_ID.match(str(image_id)):
            p.append(
                BatchProblem(
                    meta,
                    f"{where}.image_id",
                    "use 3 to 64 lower-case letters, digits and hyphens",
                )
            )
        if page["file"] in seen_pages:
            p.append(BatchProblem(meta, where, f"{page['file']} is listed twice"))
        seen_pages.add(page["file"])
    p += _toc_problems(data.get("toc"), meta, len(data.get("pages") or []))
    for i, media in enumerate(data.get("media") or []):
        if not isinstance(media, dict) or not media.get("file"):
            p.append(BatchProblem(meta, f"media[{i}].file", "is required"))
            continue
        p += _file_problems(folder, media["file"], meta, f"media[{i}].file")
    return p


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


def _file_problems(folder: Path, rel: str, meta: Path, name: str) -> list[BatchProblem]:
    """A named file must exist inside the item's folder (no ``..`` or absolute paths)."""
    candidate = (folder / rel).resolve()
    if Path(rel).is_absolute() or folder.resolve() not in candidate.parents:
        return [BatchProblem(meta, name, f"{rel!r} points outside the item's folder")]
    if not candidate.is_file():
        return [BatchProblem(meta, name, f"{rel} does not exist")]
    if candidate.stat().st_size == 0:
        return [BatchProblem(meta, name, f"{rel} is empty (0 bytes)")]
    return []
