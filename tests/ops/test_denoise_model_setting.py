"""FC25_DENOISE_MODEL must name a registered model: a typo stops the server at start,
naming the choices, instead of running with every go-live answered 503."""

from __future__ import annotations

import os
import subprocess
import sys

from denoise.registry import available_models
from tests.servers import ROOT


def load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "FC25_DENOISE_MODEL"}
    code = "import fc25_denoise.settings as s; print(s.DENOISE_MODEL)"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "FC25_LOCAL_SECRET": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_unknown_model_stops_the_start() -> None:
    done = load_settings(FC25_DENOISE_MODEL="dfn3-onxx")
    assert done.returncode != 0
    assert "ImproperlyConfigured: FC25_DENOISE_MODEL='dfn3-onxx' must be one of" in done.stderr
    assert all(name in done.stderr for name in available_models())


def test_a_registered_model_or_the_default_is_taken() -> None:
    assert load_settings(FC25_DENOISE_MODEL="identity").stdout.strip() == "identity"
    assert load_settings().stdout.strip() == available_models()[0]  # the default comes first
