"""``python manage.py import_transcript ITEM FILE [--register yue|zh]``: import a VTT or SRT.

For transcripts made elsewhere (another tool, a typed transcript turned into
subtitles). The file becomes a finished, not yet reviewed transcript of the
item's recording; an error names the line of the file that is wrong.
"""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from archive.selectors import item_get
from transcription.formats import IMPORT_FORMATS, TranscriptFormatError
from transcription.models import Transcript
from transcription.services.editing import transcript_import


class Command(BaseCommand):
    help = "Import a WebVTT or SRT transcript for an item's recording."

    def add_arguments(self, parser):
        parser.add_argument("item", help="the item's public identifier")
        parser.add_argument("file", help="a .vtt or .srt file")
        parser.add_argument(
            "--register",
            choices=Transcript.Register.values,
            default=Transcript.Register.COLLOQUIAL,
            help="yue: written Cantonese (default); zh: Standard Written Chinese",
        )
        parser.add_argument(
            "--format", choices=IMPORT_FORMATS, help="default: told by the content"
        )
        parser.add_argument(
            "--encoding", default="utf-8", help="the file's text encoding (utf-8)"
        )

    def handle(self, *args, **options):
        item = item_get(public_id=options["item"])
        if item is None:
            raise CommandError(f"There is no item {options['item']}")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        try:
            transcript = transcript_import(
                item=item,
                content=path.read_bytes(),
                name=path.name,
                fmt=options["format"],
                register=options["register"],
                encoding=options["encoding"],
            )
        except TranscriptFormatError as exc:
            raise CommandError(f"{path.name}: {exc}") from None
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        count = transcript.segments.count()
        for warning in transcript.options.get("warnings", []):
            self.stderr.write(f"{path.name}: {warning}")
        self.stdout.write(
            f"{transcript.public_id}: {count} segment{'s' if count != 1 else ''} "
            f"imported for {item.public_id}"
            f"{' (primary)' if transcript.is_primary else ''}"
        )
