"""The model's arithmetic and what ONNX Runtime makes of it: the floor of a stream's cost.

Usage: python bench/model_floor.py [--model dfn3-onnx] [--streams 1,2,4,8,16] [--frames 2]
                                   [--runs 300] [--ops 8] [--exported]

For each of the three networks (encoder, ERB decoder, DF decoder): multiply-accumulates per
10 ms hop (convolutions, matrix products and GRUs, counted from the tensor shapes of one
frame) and weights. Then the batch graphs alone, as a live batch runs them (N streams,
``--frames`` hops each, random inputs), warm and cold caches (64 MB written between runs,
as the rest of a live server does between two batches): thread CPU microseconds per
stream per hop, the arithmetic rate that is (GMAC/s), and the share of one core a stream
needs for the networks alone (100 us per 10 ms hop = 1 %). Nothing else a stream costs
(the steps around the networks, the relay) is in these figures: they are its floor.

``--exported``: time the batch graphs as exported too (Reshape targets computed at run
time, before ``constant_reshape_targets``), alternating with this code's graphs run by run
in the same process, so the two columns share the machine's drift.

``--ops N``: instead of the timings, where ONNX Runtime's time goes inside each batch
graph for N streams: its profiler's kernel time by operator type, as shares (the profiler
adds time to every operator, so its microseconds are not the run's; the run's own time,
unprofiled, is printed beside them).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnx import helper

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.proc import CacheEvictor
from denoise import check_model
from denoise.backends.onnx.files import GRAPH_FILES
from denoise.backends.onnx.graphs import load_graph, make_streaming
from denoise.backends.onnx.model import OnnxModel, StreamGraph, session_options, stream_model
from denoise.backends.onnx.specialise import specialise_for_frames


def macs_per_hop(path: Path) -> tuple[Counter[str], int]:
    """(multiply-accumulates by op type, weights) of one streaming frame of a graph.

    Shapes come from running the single-frame graph once with every intermediate
    tensor exposed as an output (ONNX shape inference cannot follow the rewrites).
    """
    model, _ = make_streaming(load_graph(path))
    model = specialise_for_frames(model, None)
    graph = model.graph
    weights = {i.name: tuple(i.dims) for i in graph.initializer}
    exposed = {o.name for o in graph.output}
    for node in graph.node:
        for name in node.output:
            if name and name not in exposed:
                graph.output.append(helper.make_empty_tensor_value_info(name))
                exposed.add(name)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep node names
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    feeds = {
        i.name: np.zeros([d if isinstance(d, int) else 1 for d in i.shape], np.float32)
        for i in sess.get_inputs()
    }
    outs = sess.run(None, feeds)
    shape: dict[str, tuple[int, ...]] = {
        o.name: v.shape for o, v in zip(sess.get_outputs(), outs, strict=True)
    }
    shape.update({k: v.shape for k, v in feeds.items()})
    shape.update(weights)
    macs: Counter[str] = Counter()
    for node in graph.node:
        op, ins = node.op_type, node.input
        if op == "Conv":  # every output element reads in_channels/groups * kernel inputs
            macs[op] += int(np.prod(shape[node.output[0]])) * int(np.prod(shape[ins[1]][1:]))
        elif op == "ConvTranspose":
            macs[op] += int(np.prod(shape[ins[0]])) * int(np.prod(shape[ins[1]][1:]))
        elif op in ("MatMul", "Gemm"):
            macs[op] += int(np.prod(shape[node.output[0]])) * shape[ins[0]][-1]
        elif op == "GRU":  # per step: input and recurrent weights, three gates
            x = shape[ins[0]]
            steps = x[0] * x[1]
            macs[op] += steps * (int(np.prod(shape[ins[1]])) + int(np.prod(shape[ins[2]])))
    constants = [
        a.t for n in graph.node if n.op_type == "Constant" for a in n.attribute if a.t.dims
    ]
    return macs, sum(int(np.prod(d)) for d in [*weights.values(), *(c.dims for c in constants)])


def feeds_for(
    graph: StreamGraph, n: int, t: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Random inputs for ``n`` streams of ``t`` frames (the symbolic axes N and T)."""
    sizes = {"N": n, "T": t}
    return {
        i.name: rng.standard_normal(
            [sizes.get(d, 1) if isinstance(d, str) else d for d in i.shape]
        ).astype(np.float32)
        for i in graph.session.get_inputs()
    }


def networks_us(graphs: tuple[StreamGraph, ...], n: int, t: int, runs: int, cold: bool) -> float:
    """Median thread CPU microseconds per stream per hop of one run of every network."""
    return alternating_us([graphs], n, t, runs, cold)[0]


def exported_graphs(model: OnnxModel) -> tuple[StreamGraph, ...]:
    """The batch graphs with the export's run-time Reshape targets."""
    out = []
    for name, graph in zip(GRAPH_FILES, model.batch_graphs(), strict=True):
        proto, _ = stream_model(model.directory / name, batch=True, constant_reshapes=False)
        sess = ort.InferenceSession(
            proto.SerializeToString(), session_options(), providers=["CPUExecutionProvider"]
        )
        out.append(StreamGraph(sess, graph.states, graph.outputs))
    return tuple(out)


def alternating_us(
    variants: list[tuple[StreamGraph, ...]], n: int, t: int, runs: int, cold: bool
) -> list[float]:
    """Median thread CPU us per stream per hop of one run of each variant's networks.

    The variants (the same networks, built differently) take turns run by run, in an order
    that rotates, so the machine's drift weighs on all alike; they get the same inputs.
    """
    rng = np.random.default_rng(0)
    feeds = [feeds_for(g, n, t, rng) for g in variants[0]]
    evict = CacheEvictor(cold)
    times: list[list[float]] = [[] for _ in variants]
    m = len(variants)
    for k in range(runs + 10):
        for i in ((k + j) % m for j in range(m)):
            evict()
            t0 = time.thread_time()
            for g, f in zip(variants[i], feeds, strict=True):
                g.session.run(None, f)
            if k >= 10:
                times[i].append(time.thread_time() - t0)
    return [float(np.median(x)) * 1e6 / (n * t) for x in times]


def op_shares(path: Path, graph: StreamGraph, n: int, t: int, runs: int) -> None:
    """Print the share of operator time per operator type of ``path``'s batch graph."""
    model, _ = stream_model(path, batch=True)
    so = session_options()
    so.enable_profiling = True
    feeds = feeds_for(graph, n, t, np.random.default_rng(0))
    with tempfile.TemporaryDirectory() as tmp:
        so.profile_file_prefix = str(Path(tmp) / "ops")
        sess = ort.InferenceSession(
            model.SerializeToString(), so, providers=["CPUExecutionProvider"]
        )
        for _ in range(runs):
            sess.run(None, feeds)
        events = json.loads(Path(sess.end_profiling()).read_text())
    by_op: Counter[str] = Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            by_op[e["args"]["op_name"]] += e["dur"]
    plain = networks_us((graph,), n, t, runs, cold=False) * n * t  # the same run, unprofiled
    total = sum(by_op.values())
    name = path.name.removesuffix(".onnx")
    print(f"\n{name}, {n} streams x {t} hops: {plain:.0f} us per run (warm, not profiled)")
    print("| operator | % of operator time |")
    print("|---|---|")
    top = by_op.most_common(12)
    for op, us in top:
        print(f"| {op} | {100 * us / total:.1f} |")
    print(f"| other operators | {100 * (total - sum(us for _, us in top)) / total:.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="dfn3-onnx")
    ap.add_argument("--streams", default="1,2,4,8,16")
    ap.add_argument("--frames", type=int, default=2, help="hops per stream per run (a packet)")
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--ops", type=int, metavar="N", help="profile operators for N streams")
    ap.add_argument("--exported", action="store_true", help="against run-time Reshape targets")
    args = ap.parse_args()
    model = check_model(args.model).model  # type: ignore[attr-defined]
    if args.exported:
        print("batch graphs, us per stream per hop: as exported against constant Reshape targets")
        print("| caches | streams | as exported | constant targets | ratio |")
        print("|---|---|---|---|---|")
        old = exported_graphs(model)
        for cold in (True, False):
            for n in (int(s) for s in args.streams.split(",")):
                us_old, us_new = alternating_us(
                    [old, model.batch_graphs()], n, args.frames, args.runs, cold
                )
                print(
                    f"| {'cold' if cold else 'warm'} | {n} | {us_old:.0f} | {us_new:.0f} "
                    f"| {us_new / us_old:.3f} |"
                )
        return
    if args.ops:
        for name, graph in zip(GRAPH_FILES, model.batch_graphs(), strict=True):
            op_shares(model.directory / name, graph, args.ops, args.frames, args.runs)
        return
    total = 0
    print(f"model={args.model}")
    print("| network | MMAC per hop | of which GRU | conv | matmul | weights |")
    print("|---|---|---|---|---|---|")
    for name in GRAPH_FILES:
        macs, weights = macs_per_hop(model.directory / name)
        hop = sum(macs.values())
        total += hop
        conv = macs["Conv"] + macs["ConvTranspose"]
        print(
            f"| {name.removesuffix('.onnx')} | {hop / 1e6:.3f} | {macs['GRU'] / 1e6:.3f} "
            f"| {conv / 1e6:.3f} | {(macs['MatMul'] + macs['Gemm']) / 1e6:.3f} | {weights} |"
        )
    print(f"| all | {total / 1e6:.3f} | | | | |")
    graphs = model.batch_graphs()
    print(f"\nbatch graphs alone, {args.frames} hops per stream per run, one thread:")
    print("| caches | streams | us per stream per hop | GMAC/s | % of a core per stream |")
    print("|---|---|---|---|---|")
    for cold in (True, False):
        for n in (int(s) for s in args.streams.split(",")):
            us = networks_us(graphs, n, args.frames, args.runs, cold)
            print(
                f"| {'cold' if cold else 'warm'} | {n} | {us:.0f} | {total / us / 1e3:.1f} "
                f"| {us / 100:.2f} |"
            )


if __name__ == "__main__":
    main()
