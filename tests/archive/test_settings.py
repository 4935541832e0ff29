"""Settings: embedded defaults, environment overrides, production's refusals, check --deploy."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], "
    "'db_name': str(s.DATABASES['default']['NAME']), 'broker': s.CELERY_BROKER_URL, "
    "'rr': s.ARCHIVE_READING_ROOM_NETWORKS, 'search': s.SEARCH_BACKEND, "
    "'whisper': [s.WHISPER_MODEL, s.WHISPER_DEVICE, s.WHISPER_COMPUTE_TYPE], "
    "'storage': str(s.ARCHIVE_STORAGE_ROOT), 'debug': s.DEBUG, 'hosts': s.ALLOWED_HOSTS}))"
)


def _run(
    env_overrides: dict, *args: str, probe: bool = False
) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_URL"))
    }
    env.pop("CELERY_BROKER_URL", None)
    env.update(env_overrides)
    cmd = (
        [sys.executable, "-c", PROBE] if probe else [sys.executable, "manage.py", *args]
    )
    return subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def _probe(env: dict, tmp_path) -> dict:
    env = {"YUECANG_VAR_DIR": str(tmp_path), **env}
    env.setdefault("DJANGO_SETTINGS_MODULE", "archive.settings.dev")
    result = _run(env, probe=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _secret() -> str:
    return secrets.token_urlsafe(64)


def test_embedded_defaults(tmp_path):
    s = _probe({}, tmp_path)
    assert s["engine"] == "django.db.backends.sqlite3"
    assert s["db_name"] == str(tmp_path / "yuecang.sqlite3")
    assert s["broker"] == "filesystem://"
    assert s["rr"] == []
    assert s["search"] == "embedded"
    assert s["whisper"] == ["bundled", "cpu", "int8"]
    assert s["storage"] == str(tmp_path / "storage")
    assert s["debug"] is True


def test_environment_overrides(tmp_path):
    s = _probe(
        {
            "DATABASE_URL": "postgres://archive@db.example.org:5432/yuecang",
            "CELERY_BROKER_URL": "redis://cache.example.org:6379/1",
            "ARCHIVE_READING_ROOM_NETWORKS": "10.20.0.0/16,192.0.2.0/24",
            "SEARCH_BACKEND": "opensearch",
            "WHISPER_MODEL": "large-v3",
            "WHISPER_DEVICE": "cuda",
            "WHISPER_COMPUTE_TYPE": "float16",
            "ARCHIVE_STORAGE_ROOT": "/srv/archive",
        },
        tmp_path,
    )
    assert s["engine"] == "django.db.backends.postgresql"
    assert s["db_name"] == "yuecang"
    assert s["broker"] == "redis://cache.example.org:6379/1"
    assert s["rr"] == ["10.20.0.0/16", "192.0.2.0/24"]
    assert s["search"] == "opensearch"
    assert s["whisper"] == ["large-v3", "cuda", "float16"]
    assert s["storage"] == "/srv/archive"


def test_production_refuses_to_start_without_a_secret(tmp_path):
    result = _run(
        {
            "DJANGO_ENV": "production",
            "DJANGO_ALLOWED_HOSTS": "a.example.org",
            "YUECANG_VAR_DIR": str(tmp_path),
        },
        "check",
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_refuses_a_development_key(tmp_path):
    result = _run(
        {
            "DJANGO_ENV": "production",
            "DJANGO_SECRET_KEY": "dev-insecure-" + "x" * 60,
            "DJANGO_ALLOWED_HOSTS": "a.example.org",
            "YUECANG_VAR_DIR": str(tmp_path),
        },
        "check",
    )
    assert result.returncode != 0
    assert "development key" in result.stderr


def test_development_never_runs_with_a_production_secret(tmp_path):
    result = _run(
        {
            "DJANGO_ENV": "development",
            "DJANGO_SECRET_KEY": _secret(),
            "YUECANG_VAR_DIR": str(tmp_path),
        },
        "check",
    )
    assert result.returncode != 0
    assert "must not run with development settings" in result.stderr


def test_check_deploy_is_clean_in_production(tmp_path):
    result = _run(
        {
            "DJANGO_ENV": "production",
            "DJANGO_SECRET_KEY": _secret(),
            "DJANGO_ALLOWED_HOSTS": "archive.example.org",
            "YUECANG_VAR_DIR": str(tmp_path),
        },
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_unknown_environment_is_refused(tmp_path):
    result = _run({"DJANGO_ENV": "staging", "YUECANG_VAR_DIR": str(tmp_path)}, "check")
    assert result.returncode != 0
    assert "DJANGO_ENV must be one of" in result.stderr


def test_env_example_lists_every_variable_the_settings_read():
    read = set()
    for path in (ROOT / "archive" / "settings").glob("*.py"):
        read |= set(re.findall(r'env\.\w+\(\s*"([A-Z][A-Z0-9_]+)"', path.read_text()))
        read |= set(
            re.findall(r'Env\(\)\.\w+\(\s*"([A-Z][A-Z0-9_]+)"', path.read_text())
        )
    listed = set(
        re.findall(
            r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M
        )
    )
    assert len(read) > 20
    assert read - listed == set(), f".env.example lacks {sorted(read - listed)}"
