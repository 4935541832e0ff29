"""pycantonese is imported lazily, once, and never by two threads at once.

Its package and its data module import each other: two threads importing them
from different ends at the same time deadlock, and Python fails one import
with ``_DeadlockError`` (seen under the app server's two threads). Every use
goes through ``archive.search.jyutping.pycantonese_module``, which holds a lock.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

#: In a fresh interpreter (pycantonese not yet imported): hold the import lock,
#: start the threads a search's first requests would run, and check that none
#: imports pycantonese until the lock is let go, then that all of them finish.
SCRIPT = textwrap.dedent(
    """
    import sys, threading, time
    from archive.search import aliases, jyutping

    assert "pycantonese" not in sys.modules
    results, errors = {}, []

    def call(name, function):
        try:
            results[name] = function()
        except Exception as exc:
            errors.append(f"{name}: {exc!r}")

    calls = {
        "segment": lambda: aliases._segment("九泮新街"),
        "inventory": lambda: len(jyutping.syllable_inventory()),
        "readings": lambda: jyutping.word_syllables("廣州"),
        "known": lambda: len(aliases._known_words()),
    }
    with jyutping._PYCANTONESE_IMPORT:
        threads = [
            threading.Thread(target=call, args=item) for item in calls.items()
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        assert "pycantonese" not in sys.modules, "imported past the lock"
        assert not results and not errors
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert results["segment"] and results["inventory"] > 500
    assert results["readings"] == ("gwong2", "zau1"), results["readings"]
    assert results["known"] > 1000
    print("ok")
    """
)


def test_first_uses_on_several_threads_wait_for_one_import():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "ok"


def test_nothing_imports_pycantonese_around_the_lock():
    """A new lazy import elsewhere would bring the deadlock back."""
    pattern = re.compile(r"^\s*(from|import)\s+pycantonese\b", re.MULTILINE)
    offenders = []
    for package in ("archive", "iiif", "ingest", "transcription", "themes"):
        for path in (ROOT / package).rglob("*.py"):
            if path == ROOT / "archive" / "search" / "jyutping.py":
                continue
            if pattern.search(path.read_text(encoding="utf-8")):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
    source = (ROOT / "archive" / "search" / "jyutping.py").read_text(encoding="utf-8")
    # In jyutping.py, only the two functions that hold or follow the lock.
    assert len(pattern.findall(source)) == 3
