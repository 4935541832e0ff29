"""Writes and side effects on the archive's core records (STYLE.md §3).

Services take keyword-only arguments, validate with ``full_clean()`` and return
what they changed.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from archive.dates import parse_date_or_none
from archive.files import atomic_copy, detect_media_type, original_relpath, sha256_of
from archive.models import (
    Asset,
    Derivative,
    FixityCheck,
    ThemeLibrary,
    WorkerHeartbeat,
)

logger = logging.getLogger(__name__)


def dated_apply(*, obj, date_text: str) -> bool:
    """Set ``obj``'s date text and the sortable year range parsed from it.

    The range stays empty when the parser cannot read the text: it is never
    guessed. Returns whether the text was understood.
    """
    obj.date_text = (date_text or "").strip()
    parsed = parse_date_or_none(obj.date_text) if obj.date_text else None
    obj.year_from = parsed.year_from if parsed else None
    obj.year_to = parsed.year_to if parsed else None
    obj.date_approximate = parsed.approximate if parsed else False
    return parsed is not None or not obj.date_text


def original_store(*, source: Path) -> tuple[str, str, int]:
    """Store a file's bytes untouched, content-addressed by SHA-256.

    Storing the same bytes twice writes nothing the second time; a stored file
    whose bytes no longer match is left alone (fixity reports it) and the new
    copy is not written over it.

    Returns:
        (sha256, path relative to ARCHIVE_STORAGE_ROOT, size in bytes).
    """
    source = Path(source)
    sha = sha256_of(source)
    rel = original_relpath(sha)
    target = Path(settings.ARCHIVE_STORAGE_ROOT) / rel
    if not target.exists():
        atomic_copy(source, target)
    return sha, rel, source.stat().st_size


@transaction.atomic
def asset_create(
    *,
    item,
    source: Path,
    role: str,
    original_filename: str = "",
    is_personal_data: bool = False,
    access_level: str = "",
) -> tuple[Asset, bool]:
    """Store a file and record it as an asset of ``item``; safe to repeat.

    Returns:
        (the asset, whether it was created now). The same bytes on the same
        item return the existing asset without storing anything twice.
    """
    sha, rel, size = original_store(source=source)
    existing = Asset.objects.filter(item=item, sha256=sha).first()
    if existing is not None:
        return existing, False
    asset = Asset(
        item=item,
        role=role,
        sha256=sha,
        storage_path=rel,
        original_filename=original_filename or Path(source).name,
        size=size,
        media_type=detect_media_type(Path(source)),
        is_personal_data=is_personal_data or role == Asset.Role.CONSENT_FORM,
        access_level=access_level,
    )
    asset.full_clean()
    asset.save()
    return asset, True


def derivative_record(
    *,
    asset: Asset,
    kind: str,
    recipe_version: int,
    path: str,
    media_type: str,
    width: int | None = None,
    height: int | None = None,
) -> Derivative:
    """Record (or update) the derivative a recipe wrote at ``path`` under the storage root."""
    derivative, _ = Derivative.objects.update_or_create(
        asset=asset,
        kind=kind,
        recipe_version=recipe_version,
        defaults={
            "path": path,
            "media_type": media_type,
            "size": (Path(settings.ARCHIVE_STORAGE_ROOT) / path).stat().st_size,
            "width": width,
            "height": height,
        },
    )
    return derivative


def asset_verify_fixity(*, asset: Asset) -> FixityCheck:
    """Re-hash a stored original and record what was found; never changes the file.

    A missing file or a different checksum is logged at ERROR and recorded on
    the asset (``fixity_status``) so the admin shows it.
    """
    path = asset.path
    now = timezone.now()
    if not path.exists():
        outcome, observed, message = (
            FixityCheck.Outcome.MISSING,
            "",
            f"{path} is missing",
        )
    else:
        observed = sha256_of(path)
        if observed == asset.sha256:
            outcome, message = FixityCheck.Outcome.OK, ""
        else:
            outcome = FixityCheck.Outcome.MISMATCH
            message = f"{path}: expected {asset.sha256}, found {observed}"
    if outcome != FixityCheck.Outcome.OK:
        logger.error("Fixity failure on asset %s: %s", asset.pk, message)
    with transaction.atomic():
        check = FixityCheck.objects.create(
            asset=asset,
            checked_at=now,
            outcome=outcome,
            observed_sha256=observed,
            message=message,
        )
        Asset.objects.filter(pk=asset.pk).update(
            fixity_status=outcome, last_fixity_at=now
        )
    asset.fixity_status, asset.last_fixity_at = outcome, now
    return check


def fixity_sweep(
    *, older_than_days: int | None = None, limit: int | None = None
) -> dict:
    """Check every original not checked in ``older_than_days`` (default: the setting).

    Returns:
        Counts by outcome, e.g. ``{"ok": 12, "mismatch": 0, "missing": 1}``.
    """
    days = (
        settings.ARCHIVE_FIXITY_INTERVAL_DAYS
        if older_than_days is None
        else older_than_days
    )
    cutoff = timezone.now() - timedelta(days=days)
    due = Asset.objects.filter(last_fixity_at__isnull=True) | Asset.objects.filter(
        last_fixity_at__lt=cutoff
    )
    due = due.order_by("last_fixity_at", "pk")
    if limit:
        due = due[:limit]
    counts = {o.value: 0 for o in FixityCheck.Outcome}
    for asset in due.iterator():
        counts[asset_verify_fixity(asset=asset).outcome] += 1
    return counts


def worker_heartbeat_record(*, hostname: str) -> WorkerHeartbeat:
    """Record that a worker is alive now (read by /healthz)."""
    beat, _ = WorkerHeartbeat.objects.update_or_create(
        hostname=hostname[:255], defaults={"last_seen": timezone.now()}
    )
    return beat


def theme_libraries_ensure(*, apps=None) -> int:
    """Create any of the four theme libraries that is missing; return how many.

    The data migration ``0002_theme_libraries`` makes them on every
    installation; this puts back rows a test flush (or a careless delete)
    removed, without touching what curators changed in the existing ones.
    """
    import importlib

    themes = importlib.import_module("archive.migrations.0002_theme_libraries").THEMES
    model = apps.get_model("archive", "ThemeLibrary") if apps else ThemeLibrary
    created = 0
    for theme in themes:
        _, made = model.objects.get_or_create(code=theme["code"], defaults=theme)
        created += made
    return created
