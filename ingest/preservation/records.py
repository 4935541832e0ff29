"""Records as JSON and back, for preservation packages: every field, by name.

A field is written under its model name with a JSON value (dates and times in
ISO 8601, decimals as text) and read back with the field's own ``to_python``,
so a field added to a model later travels in packages without code here.
Relations are not written by this module: the package names related records
by their stable keys (codes, public identifiers, checksums) instead of
database numbers, which mean nothing in another archive.
"""

from __future__ import annotations

import datetime
import logging
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version

from django.db import models
from django.utils.translation import gettext as _

#: The package format written by :mod:`ingest.preservation.bag_export`.
BAG_FORMAT = "yuecang-bag/1"
#: The transcript file format inside a package (``data/transcripts/*.json``).
TRANSCRIPT_FORMAT = "yuecang-transcript/1"
#: bagit logs a line per file at INFO; a package of a 1,000-page volume would
#: bury the commands' own progress and refusals.
logging.getLogger("bagit").setLevel(logging.WARNING)

#: Fields kept out of every record: the database's own numbering.
ALWAYS_EXCLUDED = frozenset({"id"})


class BagRefused(Exception):
    """A package that cannot be imported (or written), naming the bag and why."""

    def __init__(self, bag, message: str):
        self.bag = str(bag)
        self.message = message
        super().__init__(f"{self.bag}: {message}")


def software_version() -> str:
    """The installed version of the project (``pyproject.toml``), or ``unknown``."""
    try:
        return version("yuecang")
    except PackageNotFoundError:
        return "unknown"


def _value_to_json(value):
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def record_fields(
    obj: models.Model, *, exclude: frozenset[str] | set[str] = frozenset()
) -> dict:
    """Every concrete, non-relation field of ``obj`` as JSON-ready values, by name."""
    skip = ALWAYS_EXCLUDED | set(exclude)
    data = {}
    for field in obj._meta.concrete_fields:
        if field.is_relation or field.name in skip:
            continue
        data[field.name] = _value_to_json(getattr(obj, field.attname))
    return data


def record_apply(
    obj: models.Model,
    data: dict,
    *,
    exclude: frozenset[str] | set[str] = frozenset(),
    where: str = "",
) -> list[str]:
    """Set ``obj``'s fields from :func:`record_fields` output; returns unknown names.

    Values are read with each field's ``to_python``; names the model does not
    have (a package from a newer version) are returned, not applied, so the
    caller can say so.

    Raises:
        ValueError: a value the field cannot read, naming ``where`` and the field.
    """
    from django.core.exceptions import ValidationError

    skip = ALWAYS_EXCLUDED | set(exclude)
    fields = {
        f.name: f
        for f in obj._meta.concrete_fields
        if not f.is_relation and f.name not in skip
    }
    unknown = []
    for name, value in data.items():
        field = fields.get(name)
        if field is None:
            if name not in skip:
                unknown.append(name)
            continue
        try:
            setattr(obj, field.attname, field.to_python(value))
        except (ValidationError, TypeError, ValueError) as exc:
            messages = getattr(exc, "messages", None) or [str(exc)]
            raise ValueError(
                _("%(where)s: %(field)s: %(problem)s")
                % {"where": where, "field": name, "problem": "; ".join(messages)}
            ) from exc
    return unknown


def timestamps_restore(
    model: type[models.Model], rows: list[tuple[models.Model, dict]]
) -> None:
    """Put back ``created_at``/``updated_at`` (and any other auto time) after saving.

    ``auto_now`` and ``auto_now_add`` fields take the clock's time on save;
    a restored record keeps the times it had, so they are written afterwards
    in bulk (``bulk_update`` does not touch the clock).
    """
    names = [
        f.name
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    objs = []
    for obj, data in rows:
        changed = False
        for name in names:
            if data.get(name):
                field = model._meta.get_field(name)
                setattr(obj, name, field.to_python(data[name]))
                changed = True
        if changed:
            objs.append(obj)
    if objs and names:
        model.objects.bulk_update(objs, names, batch_size=500)
