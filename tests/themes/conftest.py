"""Fixtures of the themes tests: the sample archive with a transcript, for browser tests.

The browser tests commit their data (a live server reads it through its own
connection), so these fixtures build through the same services ``make demo``
uses rather than factories alone.
"""

from __future__ import annotations

import pytest

#: The sample archive's items (ingest/sample/README.md).
VOLUME = "gzdd-sanzijing-v1"
ORAL_HISTORY = "oh-teahouse-1938"
DOCUMENTARY = "doc-pearl-river-1950s"

#: The sample interview's monologue as Whisper might time it: (start, end, text, speaker).
ORAL_HISTORY_SEGMENTS = [
    (0.0, 4.6, "我姓梁，街坊都叫我梁伯。", "梁伯"),
    (4.6, 9.2, "我哋屋企喺西關開茶樓，開咗三代人。", "梁伯"),
    (9.2, 13.0, "一九三八年，我先至十二歲。", "梁伯"),
    (
        13.0,
        20.5,
        "嗰年日本軍嘅飛機成日嚟轟炸廣州，警報一響，成條街嘅人都要走去防空洞。",
        "梁伯",
    ),
    (20.5, 27.0, "我阿爸話，茶樓唔可以停，街坊冇地方去，都要有啖茶飲。", "梁伯"),
]


@pytest.fixture(scope="module")
def sample_loaded_once(
    django_db_setup, django_db_blocker, sample_loader, tmp_path_factory
):
    """The sample archive, loaded once per test module, inside a transaction rolled back after it.

    For tests that only read it: each test runs in a savepoint of this
    transaction (``sample``). Browser tests, whose live server reads through
    its own connection, use ``committed_sample`` (tests/conftest.py) instead.
    """
    from django.db import transaction
    from django.test import override_settings

    root = tmp_path_factory.mktemp("sample-storage")
    with django_db_blocker.unblock(), override_settings(ARCHIVE_STORAGE_ROOT=root):
        with transaction.atomic():
            sample_loader()
            yield root
            transaction.set_rollback(True)


@pytest.fixture
def sample(sample_loaded_once, settings, _isolated_storage, db):
    """The sample's items by public id, with the module's storage folder in place."""
    from archive.models import Item

    settings.ARCHIVE_STORAGE_ROOT = sample_loaded_once
    return {item.public_id: item for item in Item.objects.all()}


@pytest.fixture
def sample_archive(db, sample_loader):
    """The whole sample archive, loaded as ``make demo`` loads it."""
    return sample_loader()


@pytest.fixture
def oral_history_transcript(sample_archive):
    """A finished transcript of the sample oral history (made directly, no Whisper)."""
    from archive.models import Item
    from tests.transcription.doors import transcript_make

    item = Item.objects.get(public_id=ORAL_HISTORY)
    return transcript_make(item, segments=ORAL_HISTORY_SEGMENTS, language="yue")
