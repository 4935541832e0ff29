"""Background work lowers its priority (``archive.priority``) so the web answers first.

The nice value is set in a child process (a raised nice value cannot be undone
by a process that is not privileged, and would slow the rest of the suite).
The effect on latency is ``bench/load.py``'s to measure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import os, sys, threading, time
import django
django.setup()
from archive.priority import background_priority

def nice_of(tid):
    return os.getpriority(os.PRIO_PROCESS, tid)

started = threading.Event()
stop = threading.Event()
early = threading.Thread(target=lambda: (started.set(), stop.wait()))
early.start()
started.wait()
before = {tid: nice_of(int(tid)) for tid in os.listdir("/proc/self/task")}
after_call = background_priority()
background_priority()  # again: nothing changes
after = {tid: nice_of(int(tid)) for tid in os.listdir("/proc/self/task")}
late = []
t = threading.Thread(target=lambda: late.append(nice_of(0)))
t.start(); t.join()
stop.set(); early.join()
print(min(before.values()), after_call, sorted(set(after.values())), late[0], len(after))
"""


def _child(nice: str, *, start_nice: int = 0) -> list:
    env = {
        **os.environ,
        "DJANGO_ENV": "test",
        "DJANGO_SETTINGS_MODULE": "archive.settings.test",
        "ARCHIVE_BACKGROUND_NICE": nice,
    }
    out = subprocess.run(
        [sys.executable, "-c", CHILD],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=(lambda: os.nice(start_nice)) if start_nice else None,
    ).stdout.split(maxsplit=2)
    return out


#: The suite's own nice value, which a child starts with (0 unless run under nice).
BASE = os.getpriority(os.PRIO_PROCESS, 0)


@pytest.mark.skipif(BASE >= 10, reason="the suite itself runs at nice 10 or more")
def test_every_thread_is_lowered_and_new_threads_inherit():
    before, after_call, rest = _child("10")
    assert before == str(BASE) and after_call == "10"
    values, late, threads = rest.rsplit(maxsplit=2)
    assert values == "[10]" and late == "10" and int(threads) >= 2


def test_zero_leaves_it_and_a_lower_priority_is_never_raised():
    before, after_call, rest = _child("0")
    assert before == after_call == str(BASE)
    lowered = str(min(BASE + 12, 19))
    before, after_call, rest = _child("5", start_nice=12)
    assert before == after_call == lowered


@pytest.mark.django_db
def test_ingest_and_transcription_runs_lower_it_first(monkeypatch):
    from ingest.services import jobs
    from transcription.models import Transcript
    from transcription.services import run

    calls = []
    monkeypatch.setattr(jobs, "background_priority", lambda: calls.append("ingest"))
    monkeypatch.setattr(run, "background_priority", lambda: calls.append("transcribe"))
    jobs.job_file_process(file_id=0)  # no such file: nothing else happens
    transcript = Transcript(status=Transcript.Status.DONE)
    monkeypatch.setattr(Transcript, "refresh_from_db", lambda self: None)
    run.transcript_run(transcript=transcript)
    assert calls == ["ingest", "transcribe"]
