"""Real processes sharing a test's database and storage: a Celery worker, a command.

Tests that use them commit their data (``transaction=True``), because the
other process reads the test database through its own connection.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    user, host, port = s["USER"] or "", s["HOST"] or "127.0.0.1", s["PORT"] or 5432
    return f"postgres://{user}@{host}:{port}/{s['NAME']}"


def process_env(tmp_path: Path, storage_root: Path) -> dict:
    """The environment of a process that works on this test's database and storage."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_ENV": "test",
            "DJANGO_SETTINGS_MODULE": "archive.settings.test",
            "DATABASE_URL": _database_url(),
            "ARCHIVE_STORAGE_ROOT": str(storage_root),
            "YUECANG_VAR_DIR": str(tmp_path / "var"),
        }
    )
    env.pop("DJANGO_SECRET_KEY", None)
    return env


def _transport_options(broker_url: str, folder: Path) -> dict:
    if not broker_url.startswith("filesystem://"):
        return {}
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
    }


class LiveWorker:
    """A real ``celery worker -B`` process on a broker, sharing the test's database."""

    def __init__(self, broker_url: str, tmp_path: Path, storage_root: Path):
        self.broker_url = broker_url
        self.folder = tmp_path / "broker"
        for sub in ("queue", "control"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        self.log = tmp_path / "worker.log"
        self.queue = f"test-{os.getpid()}-{time.monotonic_ns()}"
        env = process_env(tmp_path, storage_root)
        env.update(
            {
                "CELERY_BROKER_URL": broker_url,
                "CELERY_BROKER_FOLDER": str(self.folder),
                "ARCHIVE_HEARTBEAT_INTERVAL": "1",
            }
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "archive",
                "worker",
                "-B",
                "--pool",
                "solo",
                "-Q",
                self.queue,
                "-l",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "-s",
                str(tmp_path / "beat-schedule"),
                "--logfile",
                str(self.log),
            ],
            cwd=ROOT,
            env=env,
            # Its own process group: the embedded beat is a child process, and a
            # kill must not leave it behind.
            start_new_session=True,
        )

    def send(self, task, *args):
        """Send a task to this worker's queue on its broker (not eagerly)."""
        from kombu import Connection

        with Connection(
            self.broker_url,
            transport_options=_transport_options(self.broker_url, self.folder),
        ) as conn:
            task.apply_async(args, connection=conn, queue=self.queue)

    def stop(self):
        """Stop the worker and its children (warm shutdown, then SIGKILL)."""
        self._signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.process.wait()
        self._signal_group(signal.SIGKILL)  # anything left of the group

    def kill(self):
        """``kill -9`` the worker and every process it started, at once."""
        self._signal_group(signal.SIGKILL)
        self.process.wait()

    def _signal_group(self, sig):
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else "(no log)"


def wait_for(predicate, worker: LiveWorker, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            pytest.fail(
                f"worker exited ({worker.process.returncode}):\n{worker.log_text()}"
            )
        if predicate():
            return
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}; worker log:\n{worker.log_text()}")


def production_environment(**settings: str) -> dict[str, str]:
    """This process's environment without the project's own settings, for a
    production-settings subprocess: ``DJANGO_ENV=production``, a fresh secret key,
    and ``settings`` on top (the hosts, database, folders and so on)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_URL", "CELERY_", "ARCHIVE_"))
    }
    env["DJANGO_ENV"] = "production"
    env["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(64)
    env.update(settings)
    return env
