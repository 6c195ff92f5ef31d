"""The reported latency is the measured one: a click comes out exactly that late."""

from __future__ import annotations

import numpy as np
import pytest

from denoise import create_denoiser
from denoise.backends.identity import IdentityBackend
from denoise.base import Denoiser

CLICK_AT = 10_000


def _click_delay(d: Denoiser) -> int:
    x = np.zeros(48_000, np.float32)
    x[CLICK_AT] = 0.9
    y = np.concatenate((d.process(x), d.flush()))
    return int(np.argmax(np.abs(y))) - CLICK_AT


@pytest.mark.parametrize("delay", [0, 1, 7, 480, 1000])
def test_identity_latency(delay: int) -> None:
    d = Denoiser(IdentityBackend(delay_samples=delay))
    assert d.latency_samples == delay
    assert _click_delay(d) == delay


def test_identity_registry_entry_has_no_delay() -> None:
    assert create_denoiser("identity").latency_samples == 0


@pytest.mark.model
@pytest.mark.parametrize("atten_lim", [6.0, 100.0])
def test_native_latency(atten_lim: float) -> None:
    # With a 6 dB limit half the (delayed) input is mixed back, so the click's
    # peak is unambiguous; without a limit the click is mostly removed but what
    # remains still peaks at the same place.
    d = create_denoiser("dfn3", atten_lim_db=atten_lim)
    assert d.latency_samples == 1440
    assert _click_delay(d) == d.latency_samples


@pytest.mark.model
def test_native_latency_on_speech(speech_5db) -> None:
    """Clean speech passes almost unchanged: the best alignment lag is the latency."""
    clean = speech_5db[0][: 48_000 * 3]
    d = create_denoiser("dfn3")
    y = np.concatenate((d.process(clean), d.flush(), np.zeros(3000, np.float32)))
    errs = [np.sum((y[lag : lag + len(clean)] - clean) ** 2) for lag in range(3000)]
    assert int(np.argmin(errs)) == d.latency_samples
