"""Engines for the contract tests: the embedded one always, OpenSearch when configured."""

from __future__ import annotations

import os
import uuid

import pytest

from archive.search.engine import engines_forget
from tests.themes.conftest import (  # noqa: F401 - shared fixtures
    oral_history_transcript,
    sample,
    sample_archive,
    sample_loaded_once,
)


@pytest.fixture(autouse=True)
def _forget_engines():
    """Each test opens its own engine (its own index folder; see tests/conftest.py)."""
    engines_forget()
    yield
    engines_forget()


def _embedded(tmp_path):
    from archive.search.embedded import EmbeddedEngine

    return EmbeddedEngine(tmp_path / "contract-index", writer_wait=5.0)


def _opensearch():
    url = os.environ.get("OPENSEARCH_URL", "")
    if not url:
        pytest.skip(
            "OPENSEARCH_URL is not set (the OpenSearch contract runs against a cluster)"
        )
    from archive.search.opensearch import OpenSearchEngine

    return OpenSearchEngine(url, index=f"yuecang-test-{uuid.uuid4().hex[:10]}")


@pytest.fixture(
    params=["embedded", pytest.param("opensearch", marks=pytest.mark.opensearch)]
)
def engine(request, tmp_path):
    """Every engine that is reachable, emptied after the test."""
    made = _embedded(tmp_path) if request.param == "embedded" else _opensearch()
    yield made
    if request.param == "opensearch":
        try:
            made.drop()
        except AttributeError:
            made.clear()


@pytest.fixture
def sample_transcript(sample):  # noqa: F811 - the fixture imported above
    """A finished transcript of the sample oral history, on the module's sample.

    The sample is loaded once per module (``sample_loaded_once``); what a
    test writes is rolled back after it.
    """
    from archive.models import Item
    from tests.themes.conftest import ORAL_HISTORY, ORAL_HISTORY_SEGMENTS
    from tests.transcription.doors import transcript_make

    item = Item.objects.get(public_id=ORAL_HISTORY)
    return transcript_make(item, segments=ORAL_HISTORY_SEGMENTS, language="yue")
