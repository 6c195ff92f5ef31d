"""Load the settings module in a fresh interpreter, with a chosen environment: how the
tests see what a server start would do with it (settings are read once, at import)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.servers import ROOT


def load_settings(
    *, unset: tuple[str, ...] = (), code: str = "import fc25_denoise.settings", **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` (which imports the settings) with this environment, less every variable
    whose name starts with one of ``unset``, plus ``env``; its exit status and output."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(unset)}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "FC25_LOCAL_SECRET": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
