"""set_atten_lim takes effect on the next hop, not earlier and not later."""

from __future__ import annotations

import numpy as np
import pytest

from denoise import create_denoiser
from denoise.backends.identity import IdentityBackend
from denoise.base import Denoiser

HOP = 480


def test_applied_before_next_hop_identity() -> None:
    backend = IdentityBackend()
    d = Denoiser(backend, atten_lim_db=100)
    d.process(np.zeros(HOP, np.float32))
    assert backend.atten_lim_db == 100
    d.set_atten_lim(12)
    assert backend.atten_lim_db == 100  # nothing processed yet
    d.process(np.zeros(HOP - 1, np.float32))
    assert backend.atten_lim_db == 100  # still no complete hop
    d.process(np.zeros(1, np.float32))
    assert backend.atten_lim_db == 12


@pytest.mark.parametrize("bad", [5.9, 100.1, float("nan")])
def test_out_of_range_rejected(bad: float) -> None:
    d = create_denoiser("identity")
    with pytest.raises(ValueError):
        d.set_atten_lim(bad)
    assert d.atten_lim_db == 100


@pytest.mark.model
def test_native_change_starts_at_next_hop(speech_5db) -> None:
    x = speech_5db[2][:48_000]
    switch_hop = 50
    a, b = create_denoiser("dfn3"), create_denoiser("dfn3")
    ya = a.process(x)
    yb1 = b.process(x[: switch_hop * HOP])
    b.set_atten_lim(6)
    yb = np.concatenate((yb1, b.process(x[switch_hop * HOP :])))
    cut = switch_hop * HOP
    np.testing.assert_array_equal(yb[:cut], ya[:cut])
    assert not np.array_equal(yb[cut : cut + HOP], ya[cut : cut + HOP])
