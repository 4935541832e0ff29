"""The production app server (README "Production"): gunicorn serves ``archive.wsgi``.

Starts the documented command, with production settings on a throw-away SQLite
database, and checks that the whole Django stack answers through it: the health
report and the security headers, an Image API refusal with its CORS header, and
a host outside ``ALLOWED_HOSTS`` refused.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.live import production_environment

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            "GET", path, headers={"Host": "archive.example.org", **(headers or {})}
        )
        response = conn.getresponse()
        # Header names are case-insensitive.
        headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, headers, response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if not GUNICORN.exists():
        pytest.fail(
            f"gunicorn is a dependency of the project and is missing: {GUNICORN}"
        )
    folder = tmp_path_factory.mktemp("app-server")
    env = production_environment(
        DJANGO_ALLOWED_HOSTS="archive.example.org",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}",
        ARCHIVE_STORAGE_ROOT=str(folder / "storage"),
        YUECANG_VAR_DIR=str(folder / "var"),
        ARCHIVE_TRUSTED_PROXIES="127.0.0.1/32",
        SEARCH_WARM_AT_START="false",
    )
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    port = free_port()
    # The command of README "Production", with one worker (a test needs no more).
    process = subprocess.Popen(
        [
            str(GUNICORN),
            "archive.wsgi:application",
            "-k",
            "sync",
            "-w",
            "1",
            "--timeout",
            "120",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited: {process.stdout.read().decode()}")
            try:
                get(port, "/healthz")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("gunicorn did not answer within 90 s")
                time.sleep(0.3)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_health_report_and_security_headers_come_through(served):
    status, headers, body = get(served, "/healthz")
    report = json.loads(body)
    assert status in (200, 503)  # no broker here; the report says so
    assert "database" in json.dumps(report)
    assert headers["access-control-allow-origin"] == "*"
    assert headers["x-content-type-options"] == "nosniff"


def test_an_unknown_image_is_refused_as_the_image_api_says(served):
    status, headers, body = get(
        served, "/iiif/3/image/no-such-page~v1/full/max/0/default.jpg"
    )
    assert status == 404
    assert headers["access-control-allow-origin"] == "*"
    assert headers["cache-control"] == "no-store"


def test_a_host_not_allowed_is_refused(served):
    conn = http.client.HTTPConnection("127.0.0.1", served, timeout=30)
    try:
        conn.request("GET", "/healthz", headers={"Host": "evil.example.com"})
        assert conn.getresponse().status == 400
    finally:
        conn.close()
