"""Deploy-test fixtures: the stack started by ``make deploy-up`` (its .env in the checkout,
or ``FC25_DEPLOY_ENV``), and a Chromium that accepts its self-signed certificate and plays
noisy speech as its microphone."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.audio_fixtures import noisy_speech
from tests.browser.live_helpers import launch_with_fake_mic, write_wav
from tests.deploy.stack import Stack, read_env
from tests.servers import ROOT

SR = 48_000


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Override tests/conftest.py's cache reset: these tests use no in-process cache."""


@pytest.fixture(scope="session")
def stack() -> Stack:
    path = Path(os.environ.get("FC25_DEPLOY_ENV", ROOT / ".env"))
    if not path.exists():
        pytest.skip(f"no deployed stack ({path} missing): make deploy-env deploy-up")
    return Stack(read_env(path))


@pytest.fixture(scope="session")
def noisy_wav(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    _clean, _noise, noisy, _mask = noisy_speech(seconds=8, snr_db=5)
    return write_wav(tmp_path_factory.mktemp("deploy") / "noisy.wav", noisy, SR), noisy


@pytest.fixture(scope="session")
def fake_mic_browser(noisy_wav: tuple) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = launch_with_fake_mic(pw.chromium, noisy_wav[0])
        try:
            yield chromium
        finally:
            chromium.close()
