"""HTTP helpers for file doors: byte ranges (for seeking in audio and video).

Behind nginx (``ARCHIVE_ACCEL_REDIRECT``, docs/deploy/nginx.conf) a file door
decides access and then hands the file to nginx with ``X-Accel-Redirect``:
nginx sends the bytes and answers byte ranges itself, so a web worker is never
held by a long download or a slow player.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, HttpResponse
from django.shortcuts import render

from archive.access import Decision

#: Cache-Control of anything not every visitor may see.
PRIVATE_CACHE = "private, no-store"

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class _LimitedFile:
    """A file object that reads at most ``length`` bytes from ``offset``."""

    def __init__(self, path: Path, offset: int, length: int):
        self._fh = open(path, "rb")  # noqa: SIM115 - closed by FileResponse
        self._fh.seek(offset)
        self._left = length

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        size = self._left if size is None or size < 0 else min(size, self._left)
        data = self._fh.read(size)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._fh.close()


def ranged_file_response(
    request, path: Path, content_type: str, *, filename: str = "", cache_control: str
) -> HttpResponse:
    """Serve a file, honouring a single ``Range: bytes=a-b`` request (RFC 9110 §14).

    Media players seek with ranges; an unsatisfiable range answers 416. With
    ``ARCHIVE_ACCEL_REDIRECT`` set and the file under ``ARCHIVE_STORAGE_ROOT``,
    the answer is nginx's to send (:func:`_accel_response`).
    """
    accel = _accel_uri(path)
    if accel is not None:
        return _accel_response(accel, content_type, filename, cache_control)
    size = os.path.getsize(path)
    header = request.headers.get("Range", "")
    match = _RANGE.match(header.strip()) if header else None
    if match and (match.group(1) or match.group(2)):
        start_s, end_s = match.groups()
        if start_s:
            start = int(start_s)
            end = min(int(end_s), size - 1) if end_s else size - 1
        else:
            length = int(end_s)
            start, end = max(size - length, 0), size - 1
        if start >= size or start > end:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            response["Cache-Control"] = cache_control
            return response
        response = FileResponse(_LimitedFile(path, start, end - start + 1), status=206)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    else:
        response = FileResponse(open(path, "rb"))  # noqa: SIM115 - closed by FileResponse
        response["Content-Length"] = str(size)
    response["Content-Type"] = content_type
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = cache_control
    response["X-Content-Type-Options"] = "nosniff"
    if filename:
        response["Content-Disposition"] = f"inline; filename*=UTF-8''{_quote(filename)}"
    return response


def _accel_uri(path: Path) -> str | None:
    """The internal URI nginx serves ``path`` from, or None to send it from here.

    The storage root's relative path, percent-encoded, under the
    ``ARCHIVE_ACCEL_REDIRECT`` prefix (nginx decodes it again). None when the
    setting is empty or the file is not under the storage root.
    """
    prefix = settings.ARCHIVE_ACCEL_REDIRECT
    if not prefix:
        return None
    root = Path(settings.ARCHIVE_STORAGE_ROOT).resolve()
    try:
        relative = Path(path).resolve().relative_to(root)
    except ValueError:
        return None
    from urllib.parse import quote

    return f"{prefix.rstrip('/')}/{quote(relative.as_posix())}"


def _accel_response(
    uri: str, content_type: str, filename: str, cache_control: str
) -> HttpResponse:
    """An empty answer that tells nginx to send the file at ``uri`` (its own ranges).

    nginx keeps Content-Type, Content-Disposition and Cache-Control from this
    answer; the internal location repeats the other headers the door set
    (docs/deploy/nginx.conf).
    """
    response = HttpResponse(content_type=content_type)
    response["X-Accel-Redirect"] = uri
    response["Cache-Control"] = cache_control
    response["X-Content-Type-Options"] = "nosniff"
    if filename:
        response["Content-Disposition"] = f"inline; filename*=UTF-8''{_quote(filename)}"
    return response


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


def item_refusal_response(request, decision: Decision, item) -> HttpResponse:
    """The neutral page of a refused item: a tombstone (410) or 'not available' (403).

    HTML doors answer 403 whatever the reason (a 401 would need an HTTP
    challenge); they never reveal the record.
    """
    if decision is Decision.GONE:
        response = render(request, "archive/tombstone.html", {"item": item}, status=410)
    else:
        response = render(
            request,
            "archive/restricted.html",
            {
                "login_may_help": decision is Decision.LOGIN_REQUIRED,
                "public_id": item.public_id,
            },
            status=403,
        )
    response["Cache-Control"] = PRIVATE_CACHE
    return response
