"""Peaks: each stored file is decoded once per version, whatever bucket counts are asked."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.files.storage import default_storage

from recordings import peaks as peaks_route
from recordings.audio import ENVELOPE_POINTS, peaks, reduce_peaks

pytestmark = pytest.mark.django_db


class CountingPeaks:
    """The real peaks(), counting how often a file is decoded."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, source, buckets):
        self.calls += 1
        return peaks(source, buckets)


def test_any_bucket_count_costs_one_decode_per_version(rec, as_bob, monkeypatch, raw_shared):
    counting = CountingPeaks()
    monkeypatch.setattr(peaks_route, "peaks", counting)
    for buckets in (50, 51, 333, 1000, 2999, 4000):
        resp = as_bob.get(f"/api/recordings/{rec.pk}/peaks/?buckets={buckets}")
        assert resp.status_code == 200
        data = resp.json()
        assert len(data["cleaned"]) == len(data["raw"]) == buckets
    assert counting.calls == 2  # cleaned and raw, once each


def test_cut_from_the_envelope_matches_a_direct_computation(rec):
    with default_storage.open(rec.raw_file.name) as fh:
        envelope = peaks(fh, ENVELOPE_POINTS)[1]
    for buckets in (50, 100, 777):
        with default_storage.open(rec.raw_file.name) as fh:
            direct = np.array(peaks(fh, buckets)[1])
        cut = np.array(reduce_peaks(envelope, buckets))
        assert cut.shape == direct.shape
        # Every bucket contains the direct one's extremes (up to the 4-digit rounding)...
        assert np.all(cut[:, 0] <= direct[:, 0] + 1e-4)
        assert np.all(cut[:, 1] >= direct[:, 1] - 1e-4)
        # ...and reaches at most one envelope point (1/8000 of the file) beyond it.
        assert np.abs(cut - direct).mean() < 0.01


def test_reduce_rejects_more_buckets_than_points():
    with pytest.raises(ValueError):
        reduce_peaks([[0.0, 0.1]] * 10, 11)
    assert reduce_peaks([[-0.1, 0.1], [-0.5, 0.2], [-0.2, 0.9]], 2) == [[-0.5, 0.2], [-0.5, 0.9]]
