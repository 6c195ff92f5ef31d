"""Several hops of a stream in one network run (``StreamCore.process_span``) equal hop by hop."""

from __future__ import annotations

import numpy as np
import pytest

from denoise.backends.onnx.core import SILENCE_HOPS, StreamCore, core_for
from denoise.backends.onnx.model import UPSTREAM_GATING
from denoise.backends.onnx.state import StreamState

from .conftest import ONNX_MODELS, onnx_model

HOP = 480
PACKET = 2  # hops per 20 ms packet
FIELDS = ("ana", "syn", "mean_norm", "unit_norm", "xh", "yh", "cq", "cq_on")


class SpanCounter:
    """Wraps a core's ``process_span`` to count its calls and the rows they carried."""

    def __init__(self, core: StreamCore) -> None:
        self.core = core
        self.rows: list[int] = []
        self._real = core.process_span

    def __enter__(self) -> SpanCounter:
        def counted(states, hops):  # type: ignore[no-untyped-def]
            self.rows.append(len(states))
            return self._real(states, hops)

        self.core.process_span = counted  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        del self.core.process_span


def _packets(x: np.ndarray, offset: int) -> np.ndarray:
    x = np.roll(x, offset * HOP)
    usable = x.size // (HOP * PACKET) * HOP * PACKET
    return x[:usable].reshape(-1, PACKET, HOP).astype(np.float32)


def _same_state(a: StreamState, b: StreamState, tol: float) -> None:
    for field in FIELDS:
        x, y = getattr(a, field), getattr(b, field)
        if x.size == 0:  # dfn2-ll has no deep-filter queue
            assert y.size == 0, field
        elif x.dtype == np.bool_:
            assert np.array_equal(x, y), field
        else:
            assert np.abs(x - y).max() <= tol, field
    for x, y in zip([*a.enc, *a.erb, *a.df], [*b.enc, *b.erb, *b.df], strict=True):
        assert np.abs(x - y).max() <= tol
    assert a.skip == b.skip


def _run(core: StreamCore, states: list[StreamState], packets: list[np.ndarray], spans: bool):
    core.use_spans = spans
    try:
        return core.run_batch([(s, p, True) for s, p in zip(states, packets, strict=True)])
    finally:
        core.use_spans = True


@pytest.mark.model
@pytest.mark.parametrize("name", ONNX_MODELS)
def test_span_equals_hop_by_hop(speech, name: str) -> None:
    """Three streams (one with an attenuation limit) over 4 s of speech: same output and state."""
    noisy = speech[2]
    core = core_for(onnx_model(name))
    gains = [None, 0.25, None]
    spanned = [core.new_state(g) for g in gains]
    stepped = [core.new_state(g) for g in gains]
    streams = [_packets(noisy, 0), _packets(noisy, 31), _packets(noisy, 57)]
    with SpanCounter(core) as spans:
        for k in range(200):
            packets = [s[k] for s in streams]
            got = _run(core, spanned, packets, spans=True)
            ref = _run(core, stepped, packets, spans=False)
            for (y, lsnr), (y_ref, lsnr_ref) in zip(got, ref, strict=True):
                assert y.shape == (PACKET, HOP)
                assert np.abs(y - y_ref).max() < 1e-5
                assert np.allclose(lsnr, lsnr_ref, atol=1e-3)
    assert spans.rows == [3] * 200  # every packet of every stream went through one span
    assert max(abs(y).max() for y, _ in got) > 1e-3  # real output, not silence
    for a, b in zip(spanned, stepped, strict=True):
        _same_state(a, b, 1e-4)


@pytest.mark.model
def test_silent_and_gated_streams_go_hop_by_hop(speech) -> None:
    """A stream past the silence count and a gated stream leave the span; all stay exact."""
    clean, _, noisy, _ = speech
    core = core_for(onnx_model("dfn3-onnx"))
    quiet = _packets(noisy, 0).copy()
    quiet[20:40] = 0.0  # 40 silent hops
    quiet[40, 0] = 0.0  # a packet whose first hop is still silent, its second loud
    streams = [quiet, _packets(noisy, 11), _packets(clean, 5), _packets(noisy, 23)]
    gating = [None, None, UPSTREAM_GATING, None]
    spanned = [core.new_state(None, g) for g in gating]
    stepped = [core.new_state(None, g) for g in gating]
    skipped = 0
    with SpanCounter(core) as spans:
        for k in range(60):
            if k == 20:  # as after a run of digital silence: the next silent hops are skipped
                spanned[0].skip = stepped[0].skip = SILENCE_HOPS + 5
            packets = [s[k] for s in streams]
            got = _run(core, spanned, packets, spans=True)
            ref = _run(core, stepped, packets, spans=False)
            for (y, lsnr), (y_ref, lsnr_ref) in zip(got, ref, strict=True):
                assert np.abs(y - y_ref).max() < 1e-5
                assert np.allclose(lsnr, lsnr_ref, atol=1e-3)
            skipped += spanned[0].skip > SILENCE_HOPS
            for a, b in zip(spanned, stepped, strict=True):
                assert a.skip == b.skip
    assert skipped > 10  # the quiet stream really was skipped for a while
    # The gated stream never spans; the quiet one only while it is loud.
    assert spans.rows.count(2) == 21  # packets 20-40
    assert spans.rows.count(3) == 39
    for a, b in zip(spanned, stepped, strict=True):
        _same_state(a, b, 1e-4)


@pytest.mark.model
def test_gated_streams_are_refused_by_process_span() -> None:
    core = core_for(onnx_model("dfn3-onnx"))
    states = [core.new_state(), core.new_state(None, UPSTREAM_GATING)]
    with pytest.raises(ValueError, match="gated"):
        core.process_span(states, np.zeros((2, PACKET, HOP), np.float32))


@pytest.mark.model
def test_a_lone_stream_keeps_its_lane() -> None:
    """A batch of one takes the lone-stream lane (as fast as a span of one, and bit-identical)."""
    core = core_for(onnx_model("dfn3-onnx"))
    state = core.new_state()
    rng = np.random.default_rng(3)
    with SpanCounter(core) as spans:
        for _ in range(5):
            core.run_batch([(state, rng.standard_normal((PACKET, HOP)).astype(np.float32), True)])
    assert spans.rows == []
    assert state.lane is not None


@pytest.mark.model
def test_streams_move_between_lane_and_spans(speech) -> None:
    """Packets alone (the lane) and in spans, alternating: the state carries over both ways."""
    noisy = speech[2]
    core = core_for(onnx_model("dfn3-onnx"))
    a, b = core.new_state(0.1), core.new_state()
    solo_a, solo_b = core.new_state(0.1), core.new_state()
    first, second = _packets(noisy, 0), _packets(noisy, 13)
    with SpanCounter(core) as spans:
        for k in range(60):
            if k % 5 < 2:  # two packets in a span, then three alone
                (ya, _), (yb, _) = core.run_batch([(a, first[k], True), (b, second[k], True)])
            else:
                ((ya, _),) = core.run_batch([(a, first[k], True)])
                ((yb, _),) = core.run_batch([(b, second[k], True)])
            ((ra, _),) = core.run_batch([(solo_a, first[k], True)])
            ((rb, _),) = core.run_batch([(solo_b, second[k], True)])
            assert np.abs(ya - ra).max() < 1e-5
            assert np.abs(yb - rb).max() < 1e-5
    assert spans.rows == [2] * 24
    assert a.lane is not None and solo_a.lane is not None
