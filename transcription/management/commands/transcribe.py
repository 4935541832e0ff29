"""``python manage.py transcribe ITEM [--register yue|zh] [--again]``: transcribe in-process.

Runs the same service as the ``transcribe`` queue's worker
(``transcription.services.run.transcript_run``), here, with a progress bar:
seconds of audio done out of the total, the speed as a multiple of real
time, and the time left. Without ``--again`` an unfinished transcript of the
register is resumed where it stopped, and a finished one is left alone;
``--again`` makes a new transcript that re-transcribes the item's primary
one (its corrections are carried over when it finishes).
"""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from archive.models import Asset, Item
from transcription.models import Transcript
from transcription.services import transcript_request
from transcription.services.run import transcript_run


class Command(BaseCommand):
    help = "Transcribe an item's recording now, in this process, with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("item", help="the item's public identifier")
        parser.add_argument(
            "--register",
            choices=[c.value for c in Transcript.Register],
            default=Transcript.Register.COLLOQUIAL,
            help="yue: colloquial written Cantonese (default); zh: Standard Written Chinese",
        )
        parser.add_argument(
            "--again",
            action="store_true",
            help="transcribe anew, re-transcribing the item's primary transcript",
        )

    def handle(self, *args, **options):
        item = Item.objects.filter(public_id=options["item"]).first()
        if item is None:
            raise CommandError(f"No item {options['item']}.")
        asset = item.assets.filter(role=Asset.Role.MEDIA).order_by("pk").first()
        if asset is None:
            raise CommandError(f"Item {item.public_id} has no recording.")
        register = options["register"]
        machine = item.transcripts.filter(register=register).exclude(
            engine__startswith="import"
        )
        if options["again"]:
            previous = item.transcripts.filter(is_primary=True).first()
            transcript = transcript_request(
                asset=asset, register=register, previous=previous, enqueue=False
            )
        else:
            transcript = machine.order_by("-created_at", "-pk").first()
            if transcript is not None and transcript.status == Transcript.Status.DONE:
                self.stdout.write(
                    f"Transcript {transcript.public_id} of {item.public_id} ({register}) "
                    "is already done; use --again to transcribe anew."
                )
                return
            if transcript is None:
                transcript = transcript_request(
                    asset=asset, register=register, enqueue=False
                )
        self.stdout.write(
            f"Transcribing {item.public_id} into {transcript.public_id} ({register})"
            + (
                f", from {transcript.progress_seconds:.1f} s"
                if transcript.progress_seconds
                else ""
            )
        )
        transcript = self._run(transcript)
        self._report(transcript)

    def _run(self, transcript: Transcript) -> Transcript:
        bar = tqdm(
            total=transcript.duration or 1.0,
            initial=transcript.progress_seconds,
            unit="s",
            bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s of audio "
            "[{elapsed} elapsed, {remaining} left{postfix}]",
            # The raw stream: Django's wrapper would end every redraw with a newline.
            file=getattr(self.stderr, "_out", sys.stderr),
            dynamic_ncols=True,
        )
        first = transcript.progress_seconds
        started = time.monotonic()

        def progress(done: float, total: float) -> None:
            if bar.total != total:
                bar.total = total
            if done > bar.n:
                bar.update(done - bar.n)
            elapsed = time.monotonic() - started
            if elapsed > 0 and done > first:
                bar.set_postfix_str(
                    f"{(done - first) / elapsed:.1f}x real time", refresh=False
                )
            bar.refresh()

        try:
            return transcript_run(transcript=transcript, on_progress=progress)
        finally:
            bar.close()
            self._elapsed = time.monotonic() - started
            self._first = first

    def _report(self, transcript: Transcript) -> None:
        done = transcript.progress_seconds - self._first
        speed = f", {done / self._elapsed:.1f}x real time" if self._elapsed > 0 else ""
        self.stdout.write(
            f"{transcript.status}: {transcript.segments.count()} segments, "
            f"{len(transcript.dropped)} dropped or collapsed by the guards, "
            f"{len(transcript.fallbacks)} fallback windows; "
            f"{done:.1f} s of audio in {self._elapsed:.1f} s{speed}."
        )
        if transcript.status == Transcript.Status.FAILED:
            raise CommandError(transcript.error)
        if transcript.status == Transcript.Status.PARTIAL:
            self.stderr.write(transcript.error)
