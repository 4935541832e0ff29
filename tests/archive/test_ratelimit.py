"""Rate limits of anonymous clients on search, IIIF and login (archive/ratelimit.py).

A viewer's burst of tiles must never meet the default limits; a flood over a
(lowered) limit answers 429 with Retry-After, no caching and CORS on IIIF
paths, for that address only; logged-in users and the reading room are never
limited; the window passes; large limits are counted in batches that every web
process adds to one shared count. The clock of the windows is frozen
(``clock``) so that a burst never straddles two windows by chance.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import RequestFactory

from archive import ratelimit
from archive.models import Asset, Item, PageImage
from archive.ratelimit import batch_size, client_key, scope_for, scope_usage
from archive.services import asset_create
from iiif.services import page_pyramid_make
from tests.archive.factories import ItemFactory, jpeg_bytes, make_user

pytestmark = pytest.mark.django_db

FLOODER = "203.0.113.9"
NEIGHBOUR = "198.51.100.7"
READING_ROOM = "10.20.30.40"


class FrozenClock:
    """Stands in for ``archive.ratelimit``'s ``time`` module: ``time()`` moves only when told."""

    def __init__(self, now: float = 1_900_000_000.0):
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    frozen = FrozenClock()
    monkeypatch.setattr(ratelimit, "time", frozen)
    return frozen


@pytest.fixture
def limits(settings, clock):
    """The limits on, with fresh counters, as in production."""
    settings.ARCHIVE_RATELIMIT_ENABLED = True
    settings.ARCHIVE_READING_ROOM_NETWORKS = ["10.20.0.0/16"]
    cache.clear()
    ratelimit._counts.clear()
    yield settings
    cache.clear()
    ratelimit._counts.clear()


@pytest.fixture
def page(tmp_path) -> PageImage:
    """A public 2048 x 1536 page with its pyramid: 48 tiles at full size, 65 in all."""
    item = ItemFactory(kind=Item.Kind.IMAGE_SET)
    source = Path(tmp_path) / "page.jpg"
    source.write_bytes(jpeg_bytes(2048, 1536))
    asset, _ = asset_create(item=item, source=source, role=Asset.Role.PAGE)
    pyramid = page_pyramid_make(asset=asset)
    return PageImage.objects.create(
        item=item, sequence=1, asset=asset, width=pyramid.width, height=pyramid.height
    )


def viewer_requests(client, page: PageImage, count: int) -> list[str]:
    """What Mirador asks for while a reader zooms and pans: info.json and tiles, every level."""
    info = client.get(f"/iiif/3/image/{page.public_id}/info.json").json()
    base = info["id"].removeprefix("http://testserver")
    tile = info["tiles"][0]
    urls = []
    for factor in tile["scaleFactors"]:
        step = tile["width"] * factor
        for y in range(0, info["height"], step):
            for x in range(0, info["width"], step):
                w, h = min(step, info["width"] - x), min(step, info["height"] - y)
                urls.append(
                    f"{base}/{x},{y},{w},{h}/{math.ceil(w / factor)},/0/default.jpg"
                )
    sequence = [f"/iiif/3/manifest/{page.item.public_id}"]
    while len(sequence) < count:
        sequence.append(f"{base}/info.json")
        sequence.extend(urls)
    return sequence[:count]


def test_a_viewer_burst_never_meets_the_default_limits(client, limits, page):
    from archive.settings import base

    assert limits.ARCHIVE_RATELIMIT_IIIF == base.ARCHIVE_RATELIMIT_IIIF == 6000
    # A reader zooming and paging quickly for a minute: 300 requests (each is
    # a real tile or info.json; 600 would double the cost and prove nothing more).
    burst = viewer_requests(client, page, 300)
    responses = [client.get(url, REMOTE_ADDR=FLOODER) for url in burst]
    statuses = [r.status_code for r in responses]
    assert 429 not in statuses
    assert set(statuses) == {200}, sorted(set(statuses))
    # Every request of the burst was counted, in one window, for that address.
    usage = scope_usage(responses[-1].wsgi_request, "iiif", increment=False)
    assert usage["count"] == 300 and not usage["should_limit"]


def test_scopes_cover_search_iiif_and_login_only():
    assert scope_for("/search/") == "search"
    assert scope_for("/api/search") == "search"
    assert scope_for("/iiif/search/1/gzdd-sanzijing-v1/autocomplete") == "search"
    assert scope_for("/iiif/3/image/img-x~v1/0,0,256,256/256,/0/default.jpg") == "iiif"
    assert scope_for("/iiif/3/manifest/gzdd-sanzijing-v1") == "iiif"
    assert scope_for("/admin/login/") == "login"
    for path in ("/", "/items/x/", "/static/archive/site.css", "/admin/", "/viewer/"):
        assert scope_for(path) is None, path


def test_ipv6_clients_count_by_their_64():
    class Request:
        META = {"REMOTE_ADDR": "2001:db8:1:2:aaaa::1"}

    assert client_key(Request) == "2001:db8:1:2::/64"
    Request.META = {"REMOTE_ADDR": "::ffff:203.0.113.9"}
    assert client_key(Request) == "203.0.113.9"


@pytest.mark.parametrize(
    "scope, url",
    [
        ("search", "/search/"),
        ("search", "/api/search"),
        ("search", "/iiif/search/2/no-such-item?q=x"),
        ("iiif", "/iiif/3/image/no-such-image/info.json"),
        ("iiif", "/iiif/3/manifest/no-such-item"),
        ("login", "/admin/login/"),
    ],
)
def test_a_flood_gets_429_for_that_address_only(client, limits, scope, url):
    setattr(limits, f"ARCHIVE_RATELIMIT_{scope.upper()}", 3)
    for _ in range(3):
        assert client.get(url, REMOTE_ADDR=FLOODER).status_code != 429
    refused = client.get(url, REMOTE_ADDR=FLOODER, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["Cache-Control"] == "private, no-store"
    assert refused["Content-Type"] == "text/plain; charset=utf-8"
    assert refused.content.decode().startswith("Too many requests from your address")
    if url.startswith("/iiif/"):
        assert refused["Access-Control-Allow-Origin"] == "*"

    # Another address, a logged-in reader at the same address, the reading room.
    assert client.get(url, REMOTE_ADDR=NEIGHBOUR).status_code != 429
    assert client.get(url, REMOTE_ADDR=READING_ROOM).status_code != 429
    client.force_login(make_user("reader"))
    assert client.get(url, REMOTE_ADDR=FLOODER).status_code != 429


def test_the_window_passes(client, limits, clock):
    limits.ARCHIVE_RATELIMIT_SEARCH = 2
    for _ in range(2):
        assert client.get("/api/search", REMOTE_ADDR=FLOODER).status_code != 429
    refused = client.get("/api/search", REMOTE_ADDR=FLOODER)
    assert refused.status_code == 429
    # Retry-After is exact: a second early is still refused, on time is allowed.
    clock.now += int(refused["Retry-After"]) - 1
    assert client.get("/api/search", REMOTE_ADDR=FLOODER).status_code == 429
    clock.now += 1
    assert client.get("/api/search", REMOTE_ADDR=FLOODER).status_code != 429


def test_behind_a_trusted_proxy_each_client_counts_apart(client, limits):
    limits.ARCHIVE_RATELIMIT_SEARCH = 1
    limits.ARCHIVE_TRUSTED_PROXIES = ["127.0.0.1/32"]
    proxied = {"REMOTE_ADDR": "127.0.0.1"}
    assert (
        client.get("/api/search", HTTP_X_FORWARDED_FOR=FLOODER, **proxied).status_code
        != 429
    )
    assert (
        client.get("/api/search", HTTP_X_FORWARDED_FOR=FLOODER, **proxied).status_code
        == 429
    )
    # Another client through the same proxy is not the flooder.
    assert (
        client.get("/api/search", HTTP_X_FORWARDED_FOR=NEIGHBOUR, **proxied).status_code
        != 429
    )
    # The proxy writes the last entry; one the client sent before it is not believed.
    spoofed = f"{NEIGHBOUR}, {FLOODER}"
    assert (
        client.get("/api/search", HTTP_X_FORWARDED_FOR=spoofed, **proxied).status_code
        == 429
    )
    # The reading room behind the proxy is recognised (and never limited).
    for _ in range(2):
        assert (
            client.get(
                "/api/search", HTTP_X_FORWARDED_FOR=READING_ROOM, **proxied
            ).status_code
            != 429
        )
    # A client that is not the proxy cannot claim another address.
    direct = {"REMOTE_ADDR": FLOODER, "HTTP_X_FORWARDED_FOR": "198.51.100.99"}
    assert client.get("/api/search", **direct).status_code == 429


def test_a_cache_outage_lets_readers_through(client, limits):
    limits.ARCHIVE_RATELIMIT_SEARCH = 1
    limits.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        # Nothing listens on port 1: every operation fails.
        "counters": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        },
    }
    limits.RATELIMIT_USE_CACHE = "counters"
    for _ in range(3):
        assert client.get("/api/search", REMOTE_ADDR=FLOODER).status_code != 429


def anonymous_request(address: str = FLOODER):
    return RequestFactory().get("/iiif/3/image/x/info.json", REMOTE_ADDR=address)


def shared_count(request, scope: str) -> int:
    """The count in the shared cache alone (what other processes see)."""
    client = client_key(request)
    window = ratelimit._window_end(client)
    return cache.get(f"{ratelimit.KEY_PREFIX}:{scope}:{client}:{window}", 0)


def test_large_limits_are_counted_in_batches(limits):
    assert batch_size(6000) == 60 and batch_size(120) == 1 and batch_size(30) == 1
    request = anonymous_request()
    for _ in range(119):
        usage = scope_usage(request, "iiif", increment=True)
    # One batch reached the shared cache; the rest waits in this process...
    assert shared_count(request, "iiif") == 60
    # ...and still counts in this process's decisions.
    assert usage["count"] == 119
    assert scope_usage(request, "iiif", increment=False)["count"] == 119
    assert scope_usage(request, "iiif", increment=True)["count"] == 120
    assert shared_count(request, "iiif") == 120
    # Small limits go to the shared cache one request at a time.
    scope_usage(request, "search", increment=True)
    assert shared_count(request, "search") == 1


def test_every_process_adds_to_one_shared_count(limits, monkeypatch):
    limits.ARCHIVE_RATELIMIT_IIIF = 200  # batches of 2
    request = anonymous_request()
    first, second = ratelimit._Counts(), ratelimit._Counts()
    monkeypatch.setattr(ratelimit, "_counts", first)
    for _ in range(150):
        assert not scope_usage(request, "iiif", increment=True)["should_limit"]
    monkeypatch.setattr(ratelimit, "_counts", second)
    decisions = [
        scope_usage(request, "iiif", increment=True)["should_limit"] for _ in range(60)
    ]
    # The second process refuses once the two together pass the limit, within a
    # batch of each process.
    assert decisions.index(True) in range(50, 50 + 2 * 2 + 1)
    assert all(decisions[decisions.index(True) :])


def test_a_flood_of_tiles_is_refused_within_a_batch_of_the_limit(client, limits):
    limits.ARCHIVE_RATELIMIT_IIIF = 300  # batches of 3
    statuses = [
        client.get(
            "/iiif/3/image/no-such-image/info.json", REMOTE_ADDR=FLOODER
        ).status_code
        for _ in range(306)
    ]
    assert 429 not in statuses[:300]
    assert statuses.index(429) < 300 + batch_size(300)
    assert client.get("/iiif/3/manifest/x", REMOTE_ADDR=NEIGHBOUR).status_code != 429
