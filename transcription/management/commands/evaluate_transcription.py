"""``python manage.py evaluate_transcription ITEM --reference FILE``: a transcript's CER.

Prints the character error rate of the item's primary transcript (or the one
given with ``--transcript``) against a reference transcript in WebVTT, SRT or
plain text, after the normalisation search uses (issue 5, part 7). By default
the corrected text readers see is scored; ``--machine`` scores what the engine
wrote, so an archive can compare models on its own recordings.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from transcription.evaluation import (
    reference_read,
    transcript_evaluate,
    transcript_for_evaluation,
)
from transcription.models import Transcript


class Command(BaseCommand):
    help = (
        "Character error rate of an item's transcript against a reference "
        "(WebVTT, SRT or plain text), after search's normalisation."
    )

    def add_arguments(self, parser):
        parser.add_argument("item", help="the item's public identifier")
        parser.add_argument(
            "--reference",
            required=True,
            metavar="FILE",
            help="what was said: a WebVTT, SRT or plain-text transcript (UTF-8)",
        )
        parser.add_argument(
            "--transcript",
            metavar="ID",
            help="a transcript's public identifier (default: the item's primary one)",
        )
        parser.add_argument(
            "--machine",
            action="store_true",
            help="score the engine's text (machine_text) instead of the corrected text",
        )

    def handle(self, *args, **options):
        try:
            transcript = transcript_for_evaluation(
                item=options["item"], transcript=options["transcript"]
            )
        except Transcript.DoesNotExist as exc:
            if options["transcript"]:
                message = (
                    f"No transcript {options['transcript']} for item {options['item']}."
                )
            else:
                message = (
                    f"Item {options['item']} has no transcript (or does not exist)."
                )
            raise CommandError(message) from exc
        try:
            reference = reference_read(options["reference"])
            result = transcript_evaluate(
                transcript=transcript, reference=reference, machine=options["machine"]
            )
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        scored = "machine text" if options["machine"] else "corrected text"
        model = " ".join(filter(None, [transcript.engine, transcript.model_name]))
        out = self.stdout.write
        out(f"item         {transcript.item.public_id}")
        out(
            f"transcript   {transcript.public_id} ({transcript.get_status_display()}, "
            f"{transcript.get_review_state_display()}{', ' + model if model else ''})"
        )
        out(f"scored       {scored}")
        out(f"reference    {options['reference']}")
        out(f"CER          {result.cer:.4f} ({result.cer:.2%})")
        out(
            f"edits        {result.edits} over {result.reference_chars} reference characters"
        )
        out(f"hypothesis   {result.hypothesis_chars} characters")
        out(f"normalised   {result.normalisation}")
        if transcript.status not in (Transcript.Status.DONE, Transcript.Status.PARTIAL):
            self.stderr.write(
                f"Note: transcript status is {transcript.status}; "
                "the score covers only what is stored."
            )
