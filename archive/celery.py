"""The one Celery app, configured from Django settings under the ``CELERY_`` namespace.

Periodic schedules live here, in one place, each with a readable description.
The embedded default runs beat inside its one worker (``celery worker -B``).
"""

import os
import socket

from celery import Celery
from celery.schedules import crontab
from celery.signals import worker_ready

from archive.settings import use_settings_for_env

use_settings_for_env()

app = Celery("yuecang")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _periodic_schedule(sender, **kwargs) -> None:
    """Periodic work, in one place. Keys are the human-readable description of each cron."""
    from django.conf import settings

    sender.conf.beat_schedule = {
        "worker heartbeat, every ARCHIVE_HEARTBEAT_INTERVAL seconds (30 by default)": {
            "task": "archive.tasks.worker_heartbeat_task",
            "schedule": float(settings.ARCHIVE_HEARTBEAT_INTERVAL),
        },
        "fixity sweep of stored originals, nightly at 02:30": {
            "task": "archive.tasks.fixity_sweep_task",
            "schedule": crontab(hour=2, minute=30),
        },
        "scheduled exhibitions and pages published (and expired ones unpublished), every minute": {
            "task": "themes.tasks.publish_scheduled_task",
            "schedule": crontab(),
        },
        "stalled ingest jobs handed back to the workers, every ten minutes": {
            "task": "ingest.tasks.jobs_stalled_resume_task",
            "schedule": crontab(minute="*/10"),
        },
        "ended access grants recorded in the audit log, every ten minutes": {
            "task": "archive.tasks.grants_expire_task",
            "schedule": crontab(minute="*/10"),
        },
        "consents re-applied (expiries, closed passages whose date passed), nightly at 00:05": {
            "task": "transcription.tasks.consents_review_task",
            "schedule": crontab(hour=0, minute=5),
        },
    }


if str(app.conf.broker_url).startswith("filesystem://"):
    # The filesystem transport has no broadcast, so no remote control; make
    # sure its folders exist before the worker or a producer touches them.
    app.conf.worker_enable_remote_control = False
    for key in ("data_folder_in", "control_folder"):
        folder = app.conf.broker_transport_options.get(key)
        if folder:
            os.makedirs(folder, exist_ok=True)


@worker_ready.connect
def _record_first_heartbeat(sender=None, **kwargs) -> None:
    """Record a heartbeat as soon as a worker is up, before beat's first tick."""
    from archive.services import worker_heartbeat_record

    worker_heartbeat_record(hostname=getattr(sender, "hostname", socket.gethostname()))
