"""Celery tasks of ``themes`` (thin interfaces to one service each)."""

from __future__ import annotations

from celery import shared_task

from themes.services import scheduled_pages_publish


@shared_task(acks_late=True)
def publish_scheduled_task() -> int:
    """Every minute (beat): publish what curators scheduled, unpublish what expired."""
    return scheduled_pages_publish()
