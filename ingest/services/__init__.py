"""Writes of ``ingest``: metadata into records (items), files into pages (pages), jobs (jobs)."""

from ingest.services.items import institutions_load, item_upsert
from ingest.services.jobs import (
    SAMPLE_ROOT,
    LoadReport,
    delivery_check,
    job_create,
    job_finish,
    job_plan,
    job_progress,
    job_run,
    sample_load,
)
from ingest.services.pages import page_file_process

__all__ = [
    "SAMPLE_ROOT",
    "LoadReport",
    "delivery_check",
    "institutions_load",
    "item_upsert",
    "job_create",
    "job_finish",
    "job_plan",
    "job_progress",
    "job_run",
    "page_file_process",
    "sample_load",
]
