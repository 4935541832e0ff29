"""The production app server (README "Production"): gunicorn serves ``archive.wsgi``.

Starts the documented command, with production settings on a throw-away SQLite
database, and checks that the whole Django stack answers through it: the health
report and the security headers, an Image API refusal with its CORS header, and
a host outside ``ALLOWED_HOSTS`` refused. Then puts Debian's nginx in front with
docs/deploy/nginx.conf as documented: nginx sends stored files the app hands
over (``X-Accel-Redirect``) and cached public tiles, and neither door outlives
a withdrawal.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import service_unavailable
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


class App:
    """The running app: its port, environment and folder."""

    def __init__(self, port: int, env: dict[str, str], folder: Path) -> None:
        self.port, self.env, self.folder = port, env, folder

    def shell(self, code: str) -> str:
        """Run Python in ``manage.py shell`` on the app's settings; its output."""
        return manage(self.env, "shell", "-c", code)


def manage(env: dict[str, str], *args: str) -> str:
    """Run a ``manage.py`` command in ``env``; its output (it must succeed)."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def served(app):
    return app.port


@pytest.fixture(scope="module")
def app(tmp_path_factory):
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
        ARCHIVE_ACCEL_REDIRECT="/_storage/",
        SEARCH_WARM_AT_START="false",
    )
    manage(env, "migrate", "--noinput")
    # As a deployment does: production's static storage needs its manifest
    # (pages, refusals included, name their static files through it).
    manage(env, "collectstatic", "--noinput")
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
        yield App(port, env, folder)
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


# nginx in front, as docs/deploy/nginx.conf documents -------------------------

#: A public volume with one page (its pyramid made) and a staff-only volume
#: with one file; prints what the tests need.
SETUP = """
import json
import pyvips
from archive.models import Asset, Institution, Item, PageImage
from archive.services import asset_create
from iiif.identifiers import image_identifier
from iiif.services import page_pyramid_make

institution = Institution.objects.create(code="front", name="前端")
found = {}
for public_id, level in (("front-public", "public"), ("front-staff", "staff")):
    item = Item.objects.create(
        public_id=public_id, kind=Item.Kind.BOOK_VOLUME, institution=institution,
        title="前端", rights_uri="http://rightsstatements.org/vocab/NoC-NC/1.0/",
        required_statement="test", access_level=level,
    )
    source = FOLDER + "/" + public_id + ".jpg"
    pyvips.Image.xyz(600, 900).extract_band(0).cast("uchar").jpegsave(source)
    asset, _ = asset_create(item=item, source=source, role=Asset.Role.PAGE)
    page_pyramid_make(asset=asset)
    PageImage.objects.create(
        item=item, sequence=1, asset=asset, width=600, height=900,
        public_id=public_id + "-p1",
    )
    found[public_id] = {
        "file": f"/items/{public_id}/files/{asset.pk}",
        "path": str(asset.path),
        "storage_path": asset.storage_path,
        "tile": "/iiif/3/image/" + image_identifier(public_id + "-p1")
        + "/0,0,256,256/256,/0/default.jpg",
    }
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def front(app):
    """nginx with docs/deploy/nginx.conf in front of the app; its port and the records."""
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None
    )
    if nginx is None:
        service_unavailable("nginx is not installed (apt-get install nginx-light)")
    records = json.loads(
        app.shell(SETUP.replace("FOLDER", repr(str(app.folder)))).splitlines()[-1]
    )
    folder = app.folder / "nginx"
    folder.mkdir()
    port = free_port()
    server = (ROOT / "docs" / "deploy" / "nginx.conf").read_text()
    server = server.replace("@IIIF_CACHE_DIR@", str(app.folder / "var" / "iiif-cache"))
    server = server.replace("@UPSTREAM@", f"127.0.0.1:{app.port}")
    server = server.replace("@STORAGE_ROOT@", app.env["ARCHIVE_STORAGE_ROOT"])
    server = re.sub(r"listen\s+[^;]+;", f"listen 127.0.0.1:{port};", server, count=1)
    (folder / "server.conf").write_text(server)
    temp = " ".join(
        f"{kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (folder / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\ndaemon off;\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} warn;\nevents {{ worker_connections 64; }}\n"
        f"http {{ access_log off; {temp} include {folder / 'server.conf'}; }}\n"
    )
    process = subprocess.Popen([nginx, "-c", str(folder / "nginx.conf")])
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get(port, "/healthz")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"nginx did not start: {(folder / 'error.log').read_text()}"
                    )
                time.sleep(0.2)
        yield port, records, app.port
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_nginx_sends_the_stored_file_the_app_hands_over_with_its_ranges(front):
    port, records, _ = front
    public = records["front-public"]
    stored = Path(public["path"]).read_bytes()
    # The app decides and hands over; it sends none of the bytes itself.
    status, headers, body = get(front[2], public["file"])
    assert status == 200 and body == b""
    assert headers["x-accel-redirect"] == "/_storage/" + public["storage_path"]
    status, headers, body = get(port, public["file"])
    assert status == 200 and body == stored
    assert headers["content-type"] == "image/jpeg"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"].startswith("public")
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "x-accel-redirect" not in headers
    status, headers, body = get(port, public["file"], {"Range": "bytes=10-19"})
    assert status == 206 and body == stored[10:20]
    assert headers["content-range"] == f"bytes 10-19/{len(stored)}"
    # The internal location is nginx's alone: a client cannot ask for it.
    assert get(port, "/_storage/" + public["storage_path"])[0] == 404
    # A file the visitor may not see is refused by the app: nothing handed over.
    status, headers, body = get(port, records["front-staff"]["file"])
    assert status == 403 and b"\xff\xd8" not in body


def test_nginx_serves_a_cached_public_tile_until_the_volume_is_withdrawn(front, app):
    port, records, _ = front
    tile = records["front-public"]["tile"]
    status, headers, first = get(port, tile)
    assert status == 200 and "x-served-by" not in headers  # rendered by Django
    status, headers, again = get(port, tile)
    assert status == 200 and headers["x-served-by"] == "nginx-cache"
    assert again == first
    assert get(port, records["front-staff"]["tile"])[0] == 401
    app.shell(
        "from archive.models import Item\n"
        "item = Item.objects.get(public_id='front-public')\n"
        "item.access_level = 'withdrawn'\n"
        "item.save()\n"
    )
    status, headers, body = get(port, tile)
    assert status == 410 and "x-served-by" not in headers
    assert get(port, records["front-public"]["file"])[0] == 410
