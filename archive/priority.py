"""Background work (ingest, transcription) yields the processor to the web.

On a small machine an ingest of scans or a Whisper run keeps every core busy,
and the web's requests wait behind it: ``bench/load.py`` measured the p95 of
tiles, searches and pages going from tens of milliseconds to three seconds
while ``ingest_dadian`` ran on two cores. A process that does such work lowers
its own scheduling priority (``nice``) first, so the kernel runs the web's
threads as soon as they are ready and the background work takes what is left:
the same throughput when the web is idle.
"""

from __future__ import annotations

import logging
import os

from django.conf import settings

logger = logging.getLogger(__name__)


def background_priority() -> int:
    """Lower this process's priority to ``ARCHIVE_BACKGROUND_NICE`` (0: leave it).

    Linux keeps a nice value per thread and a new thread takes its creator's,
    so every thread that exists now is lowered (libvips, FFmpeg and
    CTranslate2 threads started before this call included); threads started
    later inherit it. Never raises the priority, and is cheap to call again.

    Returns:
        The nice value of the calling thread afterwards.
    """
    target = settings.ARCHIVE_BACKGROUND_NICE
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if target <= 0 or current >= target:
        return current
    try:
        threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:  # not Linux: the calling thread only
        threads = [0]
    for tid in threads:
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < target:
                os.setpriority(os.PRIO_PROCESS, tid, target)
        except OSError as exc:  # a thread that ended meanwhile, or no permission
            logger.debug("could not lower the priority of thread %s: %s", tid, exc)
    return os.getpriority(os.PRIO_PROCESS, 0)
