"""``manage.py denoise_file IN OUT [--model NAME] [--atten-lim DB]``: the engine's file CLI.

Same options and behaviour as ``python -m denoise``; the default model is the
server's ``FC25_DENOISE_MODEL``.
"""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from denoise.cli import main as denoise_main


class Command(BaseCommand):
    help = "Denoise an audio file (WAV/FLAC/OGG, any rate and channel count)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("input")
        parser.add_argument("output")
        parser.add_argument("--model", default=None)
        parser.add_argument("--atten-lim", type=float, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        argv = [
            options["input"],
            options["output"],
            "--model",
            options["model"] or settings.DENOISE_MODEL,
        ]
        if options["atten_lim"] is not None:
            argv += ["--atten-lim", str(options["atten_lim"])]
        code = denoise_main(argv)
        if code != 0:
            raise CommandError(f"denoising failed (exit code {code})")
