"""The official IIIF Image API validator, level 2, version 3.0, against a live server.

The validator (PyPI ``iiif-validator``, the code behind ``iiif-validate.py``)
fetches its own test image, a 10 x 10 grid of coloured squares, under the
identifier it expects, and checks the pixels of regions, sizes, rotations and
qualities as well as info.json, CORS, JSON-LD and error statuses. It contacts
only the server under test. Its tests draw random regions and sizes, so it
runs with a few fixed seeds.
"""

from __future__ import annotations

import random
from pathlib import Path
from urllib.parse import urlsplit

import pytest

VALIDATOR_ID = "67352ccc-d1b0-11e1-89ae-279075081939"
VALIDATOR_IMAGE = (
    Path(__file__).resolve().parents[1] / "data" / "iiif" / f"{VALIDATOR_ID}.png"
)
SEEDS = (1, 2, 3)


def _run_validator(server: str, identifier: str, level: int = 2) -> tuple[list, list]:
    """Run every validator test up to ``level`` as ``iiif-validate.py`` does.

    Returns the names of the tests run and ``(name, reason)`` of each failure.
    """
    from iiif_validator.validator import ImageAPI, TestSuite, ValidationInfo

    tests = TestSuite(ValidationInfo()).list_tests("3.0")
    names = sorted(name for name, test in tests.items() if test["level"] <= level)
    failures = []
    for name in names:
        result = ImageAPI(
            identifier, server, "iiif/3/image", "http", "", "3.0", debug=False
        )
        try:
            TestSuite(ValidationInfo()).run_test(name, result)
        except Exception as exc:  # noqa: BLE001 - the validator's own crash is a failure
            failures.append((name, f"{type(exc).__name__}: {exc} (urls {result.urls})"))
            continue
        if result.exception is not None:
            e = result.exception
            failures.append(
                (
                    name,
                    f"{e.type}: got {e.got!r}, expected {e.expected!r} {e.message} "
                    f"(urls {result.urls}, status {result.last_status})",
                )
            )
    return names, failures


@pytest.mark.django_db(transaction=True)
def test_validator_level2_passes_every_test(live_server, page_with_pyramid):
    page = page_with_pyramid(
        VALIDATOR_IMAGE.read_bytes(),
        public_id=VALIDATOR_ID,
        name=VALIDATOR_IMAGE.name,
        rights_uri="http://rightsstatements.org/vocab/InC/1.0/",
    )
    assert (page.width, page.height) == (1000, 1000)
    server = urlsplit(live_server.url).netloc
    for seed in SEEDS:
        random.seed(seed)
        names, failures = _run_validator(server, VALIDATOR_ID)
        assert len(names) >= 33, names  # every level 0, 1 and 2 test of 3.0
        assert failures == [], f"seed {seed}: " + "\n".join(
            f"{name}: {reason}" for name, reason in failures
        )


@pytest.mark.django_db(transaction=True)
def test_validator_detects_a_broken_server(live_server):
    """The harness can fail: with no image loaded, the image tests fail."""
    server = urlsplit(live_server.url).netloc
    random.seed(1)
    _, failures = _run_validator(server, VALIDATOR_ID)
    failed = {name for name, _ in failures}
    assert {"id_basic", "id_squares", "info_json", "region_pixels"} <= failed
