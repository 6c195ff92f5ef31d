"""Rewriting DeepFilterNet's ONNX graphs for frame-by-frame streaming.

The exported graphs (``enc.onnx``, ``erb_dec.onnx``, ``df_dec.onnx``) process
a whole sequence: their only time context is a few causal ``Pad`` (``k - 1``
frames of zeros before the time axis) + ``Conv`` pairs and ``GRU`` nodes that
start from zeros. :func:`make_streaming` turns each such context into an
explicit state input/output, so running the rewritten graph one frame at a
time and feeding the states back is the same computation as the original graph
over the whole sequence. :func:`specialise_for_frames` then pins batch and
time to 1 (or only time, leaving a symbolic batch axis so one run can carry
many streams) and swaps a slow kernel for a fast one, for speed only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
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


def _set_nodes(graph: onnx.GraphProto, nodes: list[onnx.NodeProto]) -> None:
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
    _set_nodes(graph, prune(list(graph.node), [o.name for o in kept]))
    return model


def trivial_transposes_to_reshapes(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of a fully static graph whose data-preserving Transposes are Reshapes.

    In a single-frame graph most Transposes only move axes of size 1 (the
    grouped linears' ``[1, 1, G, I] -> [G, 1, 1, I]``, the GRUs' ``[1, 1, H]``
    swaps); they are then plain reshapes, which ONNX Runtime does without a
    copy. The shapes come from one run of the graph on zeros (the exporter
    derives Reshape targets from ``Shape``, which static inference cannot
    follow). Exact: no value changes.
    """
    probe = onnx.ModelProto.FromString(model.SerializeToString())
    listed = {o.name for o in probe.graph.output}
    wanted = [n.input[0] for n in probe.graph.node if n.op_type == "Transpose"]
    for name in dict.fromkeys(wanted):
        if name not in listed:
            probe.graph.output.append(helper.make_empty_tensor_value_info(name))
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    sess = ort.InferenceSession(probe.SerializeToString(), so, providers=["CPUExecutionProvider"])
    feeds = {i.name: np.zeros(i.shape, np.float32) for i in sess.get_inputs()}
    outs = sess.run(None, feeds)
    shapes = {o.name: v.shape for o, v in zip(sess.get_outputs(), outs, strict=True)}
    shapes.update({k: v.shape for k, v in feeds.items()})

    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    nodes: list[onnx.NodeProto] = []
    for node in graph.node:
        shape = shapes.get(node.input[0]) if node.op_type == "Transpose" else None
        perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None)
        if shape is None or perm is None or len(perm) != len(shape):
            nodes.append(node)
            continue
        moved = [p for p in perm if shape[p] != 1]
        if moved != sorted(moved):  # real data movement
            nodes.append(node)
            continue
        target = f"{node.output[0]}_as_shape"
        new_shape = np.array([shape[p] for p in perm], dtype=np.int64)
        graph.initializer.append(numpy_helper.from_array(new_shape, target))
        nodes.append(
            helper.make_node(
                "Reshape", [node.input[0], target], list(node.output), name=f"{target}_reshape"
            )
        )
    del graph.node[:]
    graph.node.extend(nodes)
    return model


GROUPED_LINEAR = b"btgi,gih->btgh"


BATCH_DIM = "N"


def specialise_for_frames(
    model: onnx.ModelProto, states: list[StateSpec] | None = None
) -> onnx.ModelProto:
    """Return a copy of ``model`` with every symbolic input dim set to 1 and
    grouped-linear Einsums turned into MatMuls. Output shapes are re-inferred.

    With ``states`` (from :func:`make_streaming`) the batch axis of every input
    (axis 0, or ``StateSpec.batch_axis`` for a state) becomes the symbolic dim
    :data:`BATCH_DIM` instead: one run then processes one frame of each of N
    independent streams, their states stacked on that axis. The exported
    graphs derive every Reshape target from ``Shape``, so this is exact.

    Raises:
        ModelLoadError: shape inference fails on the result.
    """
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    batch_axes = {s.input_name: s.batch_axis for s in states or ()}
    for vi in graph.input:
        batch_axis = batch_axes.get(vi.name, 0) if states is not None else -1
        for axis, dim in enumerate(vi.type.tensor_type.shape.dim):
            if axis == batch_axis:
                dim.Clear()
                dim.dim_param = BATCH_DIM
            elif not dim.HasField("dim_value") or dim.dim_value == 0:
                dim.Clear()
                dim.dim_value = 1
    # The exporter's output shapes name dims inconsistently ('S', 'S', 1 for
    # lsnr); drop them and let inference recompute everything.
    for vi in graph.output:
        vi.type.tensor_type.ClearField("shape")
    del graph.value_info[:]
    weights = {i.name: i for i in graph.initializer}
    nodes: list[onnx.NodeProto] = []
    for node in graph.node:
        eq = next((a.s for a in node.attribute if a.name == "equation"), b"")
        if node.op_type == "Einsum" and eq == GROUPED_LINEAR and node.input[1] in weights:
            nodes.extend(_grouped_matmul(node, weights[node.input[1]], graph))
        elif node.op_type == "ConvTranspose" and _is_upsampler(node, weights):
            nodes.extend(_subpixel_conv(node, weights[node.input[1]], graph))
        else:
            nodes.append(node)
    _set_nodes(graph, nodes)
    try:
        return onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except Exception as exc:  # InferenceError and friends
        raise ModelLoadError(f"cannot specialise graph for single frames: {exc}") from exc


def _grouped_matmul(
    node: onnx.NodeProto, weight: onnx.TensorProto, graph: onnx.GraphProto
) -> list[onnx.NodeProto]:
    # x[b,t,g,i] @ W[g,i,h]: move g to the front, batch-matmul against
    # W[g,1,i,h] (broadcast over b), move g back.
    w = numpy_helper.to_array(weight)
    name = node.output[0]
    w4 = f"{name}_w4"
    graph.initializer.append(numpy_helper.from_array(w[:, None].astype(w.dtype), w4))
    return [
        helper.make_node("Transpose", [node.input[0]], [f"{name}_xg"], perm=[2, 0, 1, 3]),
        helper.make_node("MatMul", [f"{name}_xg", w4], [f"{name}_yg"]),
        helper.make_node("Transpose", [f"{name}_yg"], [name], perm=[1, 2, 0, 3]),
    ]


UPSAMPLER = {
    "kernel_shape": [1, 3],
    "strides": [1, 2],
    "pads": [0, 1, 0, 1],
    "output_padding": [0, 1],
}


def _is_upsampler(node: onnx.NodeProto, weights: dict[str, onnx.TensorProto]) -> bool:
    """A depthwise ConvTranspose doubling the frequency axis (DeepFilterNet's ``convt``)."""
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if len(node.input) != 2 or node.input[1] not in weights:
        return False
    dims = tuple(weights[node.input[1]].dims)
    ok = all(attrs.get(k) == v for k, v in UPSAMPLER.items())
    ok = ok and attrs.get("dilations", [1, 1]) == [1, 1] and "auto_pad" not in attrs
    return ok and len(dims) == 4 and dims[1:] == (1, 1, 3) and attrs.get("group") == dims[0]


def _subpixel_conv(
    node: onnx.NodeProto, weight: onnx.TensorProto, graph: onnx.GraphProto
) -> list[onnx.NodeProto]:
    # Single frame (time = 1): y[2j] = w1 x[j], y[2j+1] = w2 x[j] + w0 x[j+1]. That
    # is a depthwise Conv with kernel 2 and two output phases per channel, then
    # the phases interleaved along frequency. ORT's grouped ConvTranspose is
    # slow; this is the same arithmetic (one or two products per output).
    w = numpy_helper.to_array(weight)[:, 0, 0, :]  # [C, 3]
    c = w.shape[0]
    phases = np.zeros((c, 2, 1, 1, 2), dtype=w.dtype)
    phases[:, 0, 0, 0, 0] = w[:, 1]
    phases[:, 1, 0, 0, 0] = w[:, 2]
    phases[:, 1, 0, 0, 1] = w[:, 0]
    name = node.output[0]
    graph.initializer.extend(
        [
            numpy_helper.from_array(phases.reshape(2 * c, 1, 1, 2), f"{name}_wp"),
            numpy_helper.from_array(np.array([0, c, 2, -1], dtype=np.int64), f"{name}_s1"),
            numpy_helper.from_array(np.array([0, c, 1, -1], dtype=np.int64), f"{name}_s2"),
        ]
    )
    return [
        helper.make_node(
            "Conv",
            [node.input[0], f"{name}_wp"],
            [f"{name}_ph"],
            group=c,
            kernel_shape=[1, 2],
            pads=[0, 0, 0, 1],
        ),
        helper.make_node("Reshape", [f"{name}_ph", f"{name}_s1"], [f"{name}_r"]),
        helper.make_node("Transpose", [f"{name}_r"], [f"{name}_t"], perm=[0, 1, 3, 2]),
        helper.make_node("Reshape", [f"{name}_t", f"{name}_s2"], [name]),
    ]
