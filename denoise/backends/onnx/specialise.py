"""Specialising the streaming graphs of :mod:`.graphs` for fixed shapes: speed only, exact.

:func:`specialise_for_frames` pins batch and time to 1 (or leaves both symbolic,
so one run can carry several frames of many streams) and swaps two slow
kernels for fast ones (grouped-linear Einsums -> MatMuls, the depthwise
frequency upsampler -> a sub-pixel Conv); :func:`trivial_transposes_to_reshapes`
turns the Transposes that move no data into Reshapes. The arithmetic is
unchanged (``tests/denoise_onnx/test_graph_rewrite.py``).
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

from ...base import ModelLoadError
from .graphs import StateSpec, prune, replace_nodes


def trivial_transposes_to_reshapes(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of a fully static graph whose data-preserving Transposes are Reshapes.

    In a single-frame graph most Transposes only move axes of size 1 (the
    grouped linears' ``[1, 1, G, I] -> [G, 1, 1, I]``, the GRUs' ``[1, 1, H]``
    swaps); they are then plain reshapes, which ONNX Runtime does without a
    copy. The shapes come from one run of the graph on zeros (the exporter
    derives Reshape targets from ``Shape``, which static inference cannot
    follow). Exact: no value changes.
    """
    wanted = [n.input[0] for n in model.graph.node if n.op_type == "Transpose"]
    sess = _probe_session(model, list(dict.fromkeys(wanted)))
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
FRAMES_DIM = "T"


def specialise_for_frames(
    model: onnx.ModelProto, states: list[StateSpec] | None = None, constant_reshapes: bool = True
) -> onnx.ModelProto:
    """Return a copy of ``model`` with every symbolic input dim set to 1 and
    grouped-linear Einsums turned into MatMuls. Output shapes are re-inferred.

    With ``states`` (from :func:`make_streaming`) the batch axis of every input
    (axis 0, or ``StateSpec.batch_axis`` for a state) becomes the symbolic dim
    :data:`BATCH_DIM` and the time axis of the non-state inputs the symbolic
    dim :data:`FRAMES_DIM` instead: one run then advances each of N
    independent streams by T consecutive frames, their states stacked on the
    batch axis (the causal convolutions read their state and the T frames, the
    GRUs step through the T frames). The exported graphs derive every Reshape
    target from ``Shape``, so this is exact; with ``constant_reshapes`` those
    targets then become constants where they can (:func:`constant_reshape_targets`).

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
                # The export's only other symbolic dim is time ('S'); a state has none.
                dim.Clear()
                if states is not None and vi.name not in batch_axes:
                    dim.dim_param = FRAMES_DIM
                else:
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
    replace_nodes(graph, nodes)
    try:
        model = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except Exception as exc:  # InferenceError and friends
        raise ModelLoadError(f"cannot specialise graph for single frames: {exc}") from exc
    return constant_reshape_targets(model) if states is not None and constant_reshapes else model


PROBES = ((2, 3), (5, 4))
"""(streams, frames) the graph is run with to learn how each Reshape's shapes follow them."""
CHECK = (3, 2)


def _probe_session(model: onnx.ModelProto, names: list[str]) -> ort.InferenceSession:
    """A plain session on a copy of ``model`` that also outputs the tensors ``names``."""
    probe = onnx.ModelProto.FromString(model.SerializeToString())
    listed = {o.name for o in probe.graph.output}
    for name in names:
        if name not in listed:
            probe.graph.output.append(helper.make_empty_tensor_value_info(name))
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    return ort.InferenceSession(probe.SerializeToString(), so, providers=["CPUExecutionProvider"])


def _run(model: onnx.ModelProto, n: int, t: int, names: list[str]) -> dict[str, np.ndarray]:
    """``names`` (graph outputs or intermediates) for ``n`` streams and ``t`` frames of
    random inputs (the same for the same ``n`` and ``t``)."""
    sess = _probe_session(model, names)
    sizes = {BATCH_DIM: n, FRAMES_DIM: t}
    rng = np.random.default_rng(n * 10 + t)
    feeds = {
        i.name: rng.standard_normal(
            [sizes.get(d, 1) if isinstance(d, str) else d for d in i.shape]
        ).astype(np.float32)
        for i in sess.get_inputs()
    }
    outs = sess.run(names, feeds)
    return dict(zip(names, outs, strict=True))


def _target(src: list[tuple[int, ...]], dst: list[tuple[int, ...]]) -> list[int] | None:
    """A constant Reshape target that takes every probe's ``src`` shape to its ``dst``.

    An axis of the same size in every probe is written out; one that follows
    the input's axis at the same position is copied (0); at most one other is
    inferred (-1). None when no constant target fits.
    """
    out: list[int] = []
    for i in range(len(dst[0])):
        sizes = {d[i] for d in dst}
        if len(sizes) == 1:
            out.append(sizes.pop())
        elif all(i < len(s) and s[i] == d[i] for s, d in zip(src, dst, strict=True)):
            out.append(0)
        else:
            out.append(-1)
    return out if out.count(-1) <= 1 and all(0 not in d for d in dst) else None


def constant_reshape_targets(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of a batch graph (symbolic N and T) whose Reshapes have constant targets.

    The export computes every Reshape target at run time from ``Shape``
    (``Shape -> Gather -> Slice -> Concat``): four small operators per Reshape
    on every run, which ONNX Runtime cannot fold while the stream and frame
    axes are symbolic (nor can ONNX's shape inference follow them). The graph
    is run for two (N, T) probes; where each Reshape's shapes follow from a
    constant target (0 copies an axis, -1 infers one), it gets that target and
    the computation is dropped. The result is checked against the original on
    a third probe and must equal it exactly, or the original is returned.
    """
    graph = model.graph
    fixed = {i.name for i in graph.initializer}
    reshapes = [n for n in graph.node if n.op_type == "Reshape" and n.input[1] not in fixed]
    if not reshapes:
        return model
    names = list(dict.fromkeys(x for n in reshapes for x in (n.input[0], n.output[0])))
    probes = [_run(model, n, t, names) for n, t in PROBES]
    rewritten = onnx.ModelProto.FromString(model.SerializeToString())
    graph = rewritten.graph
    nodes: list[onnx.NodeProto] = []
    for node in graph.node:
        target = None
        if node.op_type == "Reshape" and node.input[1] not in fixed:
            target = _target(
                [p[node.input[0]].shape for p in probes], [p[node.output[0]].shape for p in probes]
            )
        if target is None:
            nodes.append(node)
            continue
        name = f"{node.output[0]}_target"
        graph.initializer.append(numpy_helper.from_array(np.array(target, np.int64), name))
        nodes.append(
            helper.make_node("Reshape", [node.input[0], name], list(node.output), name=node.name)
        )
    if len(graph.initializer) == len(model.graph.initializer):
        return model  # no target could be made constant
    outputs = [o.name for o in graph.output]
    replace_nodes(graph, prune(nodes, outputs))
    want = _run(model, *CHECK, outputs)
    try:
        got = _run(rewritten, *CHECK, outputs)
    except Exception:  # ORT's own error types: a target that fits the probes only
        return model
    return rewritten if all(np.array_equal(want[k], got[k]) for k in outputs) else model


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
    # Per frame: y[2j] = w1 x[j], y[2j+1] = w2 x[j] + w0 x[j+1]. That is two
    # depthwise Convs with kernel 2 along frequency (the even and the odd
    # outputs), interleaved by stacking them on a new last axis and merging it
    # into frequency. Frames never mix, so this holds for any number of them.
    # ORT's grouped ConvTranspose is slow; this is the same arithmetic (one or
    # two products per output).
    w = numpy_helper.to_array(weight)[:, 0, 0, :]  # [C, 3]
    c = w.shape[0]
    even = np.zeros((c, 1, 1, 2), dtype=w.dtype)
    even[:, 0, 0, 0] = w[:, 1]
    odd = np.zeros((c, 1, 1, 2), dtype=w.dtype)
    odd[:, 0, 0, 0] = w[:, 2]
    odd[:, 0, 0, 1] = w[:, 0]
    name = node.output[0]
    graph.initializer.extend(
        [
            numpy_helper.from_array(even, f"{name}_we"),
            numpy_helper.from_array(odd, f"{name}_wo"),
            # Reshape (not Unsqueeze: its axes moved from attribute to input in opset 13).
            numpy_helper.from_array(np.array([0, 0, 0, -1, 1], dtype=np.int64), f"{name}_s5"),
            numpy_helper.from_array(np.array([0, 0, 0, -1], dtype=np.int64), f"{name}_s4"),
        ]
    )
    conv = {"group": c, "kernel_shape": [1, 2], "pads": [0, 0, 0, 1]}
    x = node.input[0]
    return [
        helper.make_node("Conv", [x, f"{name}_we"], [f"{name}_e"], **conv),
        helper.make_node("Conv", [x, f"{name}_wo"], [f"{name}_o"], **conv),
        helper.make_node("Reshape", [f"{name}_e", f"{name}_s5"], [f"{name}_e5"]),
        helper.make_node("Reshape", [f"{name}_o", f"{name}_s5"], [f"{name}_o5"]),
        helper.make_node("Concat", [f"{name}_e5", f"{name}_o5"], [f"{name}_eo"], axis=4),
        helper.make_node("Reshape", [f"{name}_eo", f"{name}_s4"], [name]),
    ]
