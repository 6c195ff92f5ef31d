"""Rewriting DeepFilterNet's ONNX graphs for frame-by-frame streaming.

The exported graphs (``enc.onnx``, ``erb_dec.onnx``, ``df_dec.onnx``) process
a whole sequence: their only time context is a few causal ``Pad`` (``k - 1``
frames of zeros before the time axis) + ``Conv`` pairs and ``GRU`` nodes that
start from zeros. :func:`make_streaming` turns each such context into an
explicit state input/output, so running the rewritten graph one frame at a
time and feeding the states back is the same computation as the original graph
over the whole sequence. :mod:`.specialise` then fixes the shapes for single
frames and swaps slow kernels for fast ones, for speed only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from ...base import ModelLoadError


@dataclass(frozen=True)
class StateSpec:
    """One streaming state tensor: fed as ``input_name``, read back from ``output_name``."""

    input_name: str
    output_name: str
    shape: tuple[int, ...]
    batch_axis: int = 0  # GRU hidden states are [directions, batch, hidden]

    def zeros(self) -> np.ndarray:
        return np.zeros(self.shape, dtype=np.float32)


def load_graph(path: Path) -> onnx.ModelProto:
    """Load and check one ONNX graph.

    Raises:
        ModelLoadError: not a valid ONNX model.
    """
    try:
        model = onnx.load_model_from_string(path.read_bytes())
        onnx.checker.check_model(model)
    except Exception as exc:  # onnx raises DecodeError, ValidationError, ...
        raise ModelLoadError(f"invalid ONNX graph {path.name}: {exc}") from exc
    return model


def make_streaming(model: onnx.ModelProto) -> tuple[onnx.ModelProto, list[StateSpec]]:
    """Rewrite a sequence graph so its time context is carried in explicit states.

    * ``Pad`` of ``k`` frames at the start of the time axis (axis 2) ->
      ``Concat(state, x)`` on axis 2; the new state is the last ``k`` frames.
    * ``GRU`` -> its initial hidden state becomes an input and its final
      hidden state (output ``Y_h``) an output.

    Frame-by-frame use of the result with states fed back equals the original
    graph over the whole sequence (zero initial states = the zero padding and
    zero GRU start of the original). The input is not modified.

    Raises:
        ModelLoadError: the graph has a ``Pad`` this rewrite doesn't understand
            (non-constant pads, padding other than at the start of time, a
            non-zero pad value) or a GRU that is not single-direction.
    """
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 12)
    consts = _constant_values(graph, opset)
    shapes = _static_shapes(model)
    states: list[StateSpec] = []
    new_nodes: list[onnx.NodeProto] = []
    for node in graph.node:
        if node.op_type == "Pad":
            new_nodes.extend(_stream_pad(node, consts, shapes, graph, states))
        elif node.op_type == "GRU":
            new_nodes.extend(_stream_gru(node, graph, states))
        else:
            new_nodes.append(node)
    del graph.node[:]
    graph.node.extend(prune(new_nodes, [o.name for o in graph.output]))
    onnx.checker.check_model(model)
    return model, states


def _constant_values(graph: onnx.GraphProto, opset: int) -> dict[str, np.ndarray]:
    """Fold the small constant subgraphs that compute the Pad amounts.

    The exporter computes pads from Constants through Reshape/Slice/Concat/
    Cast/ConstantOfShape; evaluating that cone with onnx's reference
    evaluator is simplest and independent of any input shape.
    """
    values: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    wanted: list[str] = []
    for node in graph.node:
        if node.op_type == "Pad":
            wanted.extend(n for n in node.input[1:] if n)
    producers = {out: n for n in graph.node for out in n.output}
    cone: list[onnx.NodeProto] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name in values or name not in producers:
            return
        seen.add(name)
        node = producers[name]
        for inp in node.input:
            if inp:
                visit(inp)
        if node not in cone:
            cone.append(node)

    for name in wanted:
        visit(name)
    graph_inputs = {i.name for i in graph.input}
    if any(i in graph_inputs for n in cone for i in n.input):
        raise ModelLoadError("Pad amounts depend on the graph input; cannot stream this graph")
    if cone:
        sub = helper.make_graph(
            cone,
            "pads",
            [],
            [helper.make_tensor_value_info(w, TensorProto.UNDEFINED, None) for w in wanted],
            initializer=list(graph.initializer),
        )
        sub_model = helper.make_model(sub, opset_imports=[helper.make_opsetid("", opset)])
        results = ReferenceEvaluator(sub_model).run(None, {})
        values.update(zip(wanted, (np.asarray(r) for r in results), strict=True))
    return values


def _static_shapes(model: onnx.ModelProto) -> dict[str, list[int | str]]:
    inferred = onnx.shape_inference.infer_shapes(model)
    shapes: dict[str, list[int | str]] = {}
    g = inferred.graph
    for vi in [*g.input, *g.value_info, *g.output]:
        dims = vi.type.tensor_type.shape.dim
        shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in dims]
    return shapes


def _stream_pad(
    node: onnx.NodeProto,
    consts: dict[str, np.ndarray],
    shapes: dict[str, list[int | str]],
    graph: onnx.GraphProto,
    states: list[StateSpec],
) -> list[onnx.NodeProto]:
    pads = consts.get(node.input[1]) if len(node.input) > 1 else None
    value = consts.get(node.input[2]) if len(node.input) > 2 and node.input[2] else 0.0
    mode = next((a.s for a in node.attribute if a.name == "mode"), b"constant")
    if pads is None or mode != b"constant" or float(np.asarray(value)) != 0.0:
        raise ModelLoadError(f"unsupported Pad node {node.name}")
    pads = np.asarray(pads).reshape(-1)
    rank = pads.size // 2
    k = int(pads[2]) if rank == 4 else -1
    others = np.delete(pads, 2)
    if rank != 4 or k <= 0 or np.any(others != 0):
        raise ModelLoadError(f"Pad node {node.name} is not a causal time padding: {pads}")
    dims = shapes.get(node.input[0], [])
    if len(dims) != 4 or not isinstance(dims[1], int) or not isinstance(dims[3], int):
        raise ModelLoadError(f"Pad node {node.name} input has no static channel/freq size")
    s_in, s_out = f"state_in_{len(states)}", f"state_out_{len(states)}"
    shape = (1, dims[1], k, dims[3])
    graph.input.append(helper.make_tensor_value_info(s_in, TensorProto.FLOAT, list(shape)))
    graph.output.append(helper.make_tensor_value_info(s_out, TensorProto.FLOAT, list(shape)))
    states.append(StateSpec(s_in, s_out, shape))
    # The padded tensor keeps its name so the Conv that consumed it is untouched.
    padded = node.output[0]
    starts, ends, axes = (f"{s_out}_starts", f"{s_out}_ends", f"{s_out}_axes")
    graph.initializer.extend(
        [
            numpy_helper.from_array(np.array([-k], dtype=np.int64), starts),
            numpy_helper.from_array(np.array([np.iinfo(np.int64).max], dtype=np.int64), ends),
            numpy_helper.from_array(np.array([2], dtype=np.int64), axes),
        ]
    )
    return [
        helper.make_node("Concat", [s_in, node.input[0]], [padded], axis=2, name=f"{s_in}_cat"),
        helper.make_node("Slice", [padded, starts, ends, axes], [s_out], name=f"{s_out}_tail"),
    ]


def _stream_gru(
    node: onnx.NodeProto, graph: onnx.GraphProto, states: list[StateSpec]
) -> list[onnx.NodeProto]:
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    direction = attrs.get("direction", b"forward")
    if direction != b"forward" or attrs.get("layout", 0) != 0:
        raise ModelLoadError(f"GRU node {node.name} is not a forward, seq-first GRU")
    hidden = int(attrs["hidden_size"])
    s_in, s_out = f"state_in_{len(states)}", f"state_out_{len(states)}"
    shape = (1, 1, hidden)  # [num_directions, batch, hidden]
    graph.input.append(helper.make_tensor_value_info(s_in, TensorProto.FLOAT, list(shape)))
    graph.output.append(helper.make_tensor_value_info(s_out, TensorProto.FLOAT, list(shape)))
    states.append(StateSpec(s_in, s_out, shape, batch_axis=1))
    inputs = list(node.input) + [""] * (6 - len(node.input))
    inputs[5] = s_in
    del node.input[:]
    node.input.extend(inputs)
    outputs = list(node.output) + [""] * (2 - len(node.output))
    if not outputs[1]:
        outputs[1] = f"{s_out}_yh"
        del node.output[:]
        node.output.extend(outputs)
    return [node, helper.make_node("Identity", [outputs[1]], [s_out], name=f"{s_out}_id")]


def prune(nodes: list[onnx.NodeProto], outputs: list[str]) -> list[onnx.NodeProto]:
    """Drop nodes nothing depends on (e.g. the zero initial states we replaced)."""
    needed = set(outputs)
    kept: list[onnx.NodeProto] = []
    for node in reversed(nodes):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed.update(i for i in node.input if i)
    return kept[::-1]


def replace_nodes(graph: onnx.GraphProto, nodes: list[onnx.NodeProto]) -> None:
    """Replace ``graph``'s nodes with ``nodes`` and drop the weights no node reads."""
    del graph.node[:]
    graph.node.extend(nodes)
    used = {i for n in nodes for i in n.input}
    weights = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(weights)


def keep_outputs(model: onnx.ModelProto, names: list[str]) -> onnx.ModelProto:
    """A copy of ``model`` with only the graph outputs ``names`` and the nodes they need.

    The decoders export extras the streaming loop never reads (DeepFilterNet's
    ``df_alpha`` head: a Gemm and a Sigmoid per frame); dropping them is exact.
    """
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    kept = [o for o in graph.output if o.name in names]
    del graph.output[:]
    graph.output.extend(kept)
    replace_nodes(graph, prune(list(graph.node), [o.name for o in kept]))
    return model
