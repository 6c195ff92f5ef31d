"""FC25_DENOISE_MODEL must name a registered model: a typo stops the server at start,
naming the choices, instead of running with every go-live answered 503."""

from __future__ import annotations

from typing import Any

from denoise.registry import available_models
from tests.ops import fresh_settings


def load_settings(**env: str) -> Any:
    code = "import fc25_denoise.settings as s; print(s.DENOISE_MODEL)"
    return fresh_settings.load_settings(unset=("FC25_DENOISE_MODEL",), code=code, **env)


def test_an_unknown_model_stops_the_start() -> None:
    done = load_settings(FC25_DENOISE_MODEL="dfn3-onxx")
    assert done.returncode != 0
    assert "ImproperlyConfigured: FC25_DENOISE_MODEL='dfn3-onxx' must be one of" in done.stderr
    assert all(name in done.stderr for name in available_models())


def test_a_registered_model_or_the_default_is_taken() -> None:
    assert load_settings(FC25_DENOISE_MODEL="identity").stdout.strip() == "identity"
    assert load_settings().stdout.strip() == available_models()[0]  # the default comes first
