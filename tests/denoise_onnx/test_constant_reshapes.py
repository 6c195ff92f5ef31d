"""Batch graphs get constant Reshape targets: fewer operators per run, the same values."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from denoise.backends.onnx import specialise
from denoise.backends.onnx.files import GRAPH_FILES
from denoise.backends.onnx.model import session_options, stream_model

from .conftest import onnx_model


def batch_graph(graph: str, rewrite: bool) -> onnx.ModelProto:
    model, _ = stream_model(onnx_model("dfn3-onnx").directory / graph, True, rewrite)
    return model


def run(model: onnx.ModelProto, n: int, t: int) -> list[np.ndarray]:
    sess = ort.InferenceSession(model.SerializeToString(), session_options())
    rng = np.random.default_rng(7)
    sizes = {"N": n, "T": t}
    feeds = {
        i.name: rng.standard_normal(
            [sizes.get(d, 1) if isinstance(d, str) else d for d in i.shape]
        ).astype(np.float32)
        for i in sess.get_inputs()
    }
    return sess.run(None, feeds)


@pytest.mark.model
@pytest.mark.parametrize("graph", GRAPH_FILES)
def test_batch_graphs_compute_no_shapes_and_equal_the_export(graph: str) -> None:
    plain = batch_graph(graph, rewrite=False)
    fast = batch_graph(graph, rewrite=True)

    def count(model: onnx.ModelProto, op: str) -> int:
        return sum(n.op_type == op for n in model.graph.node)

    assert count(plain, "Shape") > 0
    assert count(fast, "Shape") == 0
    assert len(fast.graph.node) < len(plain.graph.node)
    for n, t in ((1, 1), (4, 2), (7, 3)):  # none of them a probe
        for want, got in zip(run(plain, n, t), run(fast, n, t), strict=True):
            assert np.array_equal(want, got)


def swap_axes_graph() -> onnx.ModelProto:
    """x [N, T, 4] reshaped (not transposed) to [T, N, 4], the target taken from Shape."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "T", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "i"], ["swapped"], axis=0),
        helper.make_node("Reshape", ["x", "swapped"], ["y"]),
    ]
    index = helper.make_tensor("i", TensorProto.INT64, [3], [1, 0, 2])
    graph = helper.make_graph(nodes, "swap", [x], [y], [index])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_a_target_no_constant_expresses_is_left_computed() -> None:
    model = swap_axes_graph()
    assert specialise.constant_reshape_targets(model) is model  # both axes move: two -1s


def test_a_rewrite_the_check_refutes_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    # With one probe every axis looks fixed (target 2, 2, 4); the check probe (3 streams,
    # 2 frames) refutes it, so the graph stays as it was.
    monkeypatch.setattr(specialise, "PROBES", ((2, 2),))
    model = swap_axes_graph()
    assert specialise.constant_reshape_targets(model) is model
