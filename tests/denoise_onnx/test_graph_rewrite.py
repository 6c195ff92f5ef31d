"""The streaming rewrite of each graph equals the original graph over a sequence."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from denoise.backends.onnx.files import GRAPH_FILES
from denoise.backends.onnx.graphs import load_graph, make_streaming
from denoise.backends.onnx.model import session_options
from denoise.backends.onnx.specialise import specialise_for_frames, trivial_transposes_to_reshapes

from .conftest import onnx_model

FRAMES = 12


@pytest.mark.model
@pytest.mark.parametrize("name", ["dfn2", "dfn3-onnx"])
@pytest.mark.parametrize("graph", GRAPH_FILES)
def test_frame_by_frame_equals_sequence(name: str, graph: str) -> None:
    original = load_graph(onnx_model(name).directory / graph)
    streaming, states = make_streaming(original)
    # Every Pad and GRU got a state: 3 in the encoder (2 pads, 1 GRU), 2-3 in decoders.
    assert len(states) >= 2
    full = ort.InferenceSession(original.SerializeToString(), session_options())
    step = ort.InferenceSession(
        specialise_for_frames(streaming).SerializeToString(), session_options()
    )
    rng = np.random.default_rng(0)
    feeds = {
        i.name: rng.standard_normal([FRAMES if isinstance(d, str) else d for d in i.shape]).astype(
            np.float32
        )
        for i in full.get_inputs()
    }
    names = [o.name for o in full.get_outputs()]
    reference = dict(zip(names, full.run(None, feeds), strict=True))

    state = {s.input_name: s.zeros() for s in states}
    step_names = [o.name for o in step.get_outputs()]
    got: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for t in range(FRAMES):
        # Time is axis 1 for [B, T, C] tensors (emb) and axis 2 for [B, C, T, F].
        frame = {
            k: (v[:, t : t + 1] if v.ndim == 3 else v[:, :, t : t + 1]) for k, v in feeds.items()
        }
        out = dict(zip(step_names, step.run(None, {**frame, **state}), strict=True))
        state = {s.input_name: out[s.output_name] for s in states}
        for n in names:
            got[n].append(out[n])
    for n in names:
        ref = reference[n]
        axis = 2 if ref.ndim == 4 and ref.shape[2] == FRAMES else 1
        assert np.abs(np.concatenate(got[n], axis=axis) - ref).max() < 1e-4, n


@pytest.mark.model
@pytest.mark.parametrize("graph", GRAPH_FILES)
def test_trivial_transposes_become_reshapes_exactly(graph: str) -> None:
    streaming, _ = make_streaming(load_graph(onnx_model("dfn3-onnx").directory / graph))
    single = specialise_for_frames(streaming)
    rewritten = trivial_transposes_to_reshapes(single)

    def count(model) -> int:
        return sum(n.op_type == "Transpose" for n in model.graph.node)

    assert count(rewritten) < count(single)
    a = ort.InferenceSession(single.SerializeToString(), session_options())
    b = ort.InferenceSession(rewritten.SerializeToString(), session_options())
    rng = np.random.default_rng(1)
    feeds = {i.name: rng.standard_normal(i.shape).astype(np.float32) for i in a.get_inputs()}
    for x, y in zip(a.run(None, feeds), b.run(None, feeds), strict=True):
        assert np.array_equal(x, y)


@pytest.mark.model
@pytest.mark.parametrize("name", ["dfn2", "dfn3-onnx"])
@pytest.mark.parametrize("graph", GRAPH_FILES)
def test_several_frames_per_run_equal_one_at_a_time(name: str, graph: str) -> None:
    """The batch graphs take N streams and T frames per run (both symbolic): same result."""
    streaming, states = make_streaming(load_graph(onnx_model(name).directory / graph))
    many = ort.InferenceSession(
        specialise_for_frames(streaming, states).SerializeToString(), session_options()
    )
    n, t = 3, 4
    rng = np.random.default_rng(2)
    by_name = {s.input_name: s for s in states}
    feeds: dict[str, np.ndarray] = {}
    for i in many.get_inputs():
        if i.name in by_name:
            shape = list(by_name[i.name].shape)
            shape[by_name[i.name].batch_axis] = n
        else:
            shape = [{"N": n, "T": t}.get(d, d) if isinstance(d, str) else d for d in i.shape]
        feeds[i.name] = rng.standard_normal(shape).astype(np.float32)
    names = [o.name for o in many.get_outputs()]
    together = dict(zip(names, many.run(None, feeds), strict=True))
    state = {k: v for k, v in feeds.items() if k in by_name}
    steps: list[dict[str, np.ndarray]] = []
    for k in range(t):
        # Time is axis 1 for [N, T, C] tensors (emb) and axis 2 for [N, C, T, F].
        frame = {
            key: (v[:, k : k + 1] if v.ndim == 3 else v[:, :, k : k + 1])
            for key, v in feeds.items()
            if key not in by_name
        }
        out = dict(zip(names, many.run(None, {**frame, **state}), strict=True))
        state = {s.input_name: out[s.output_name] for s in states}
        steps.append(out)
    for s in states:  # the state after T frames
        assert np.abs(together[s.output_name] - steps[-1][s.output_name]).max() < 1e-5
    first = names[0]
    ref = together[first]
    axis = 2 if ref.ndim == 4 and ref.shape[2] == t else 1
    assert ref.shape[axis] == t
    got = np.concatenate([o[first] for o in steps], axis=axis)
    assert np.abs(got - ref).max() < 1e-5
