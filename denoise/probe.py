"""Child-process load probe: ``python -m denoise.probe '<ModelSource JSON>'``.

Loads the model in this (disposable) process and runs a few hops of noise
through it. Exit status 0 means the parent may load it in-process; a runtime
panic aborts this process instead of the server. Never run by users directly.
"""

from __future__ import annotations

import sys

import numpy as np

from .base import DenoiseError
from .constants import HOP_SAMPLES
from .loading import load_in_process
from .sources import ModelSource, verify_file

PROBE_HOPS = 8


def run(source: ModelSource) -> None:
    """Load ``source`` and push noise through one stream; raises on any failure."""
    if source.path is not None:
        verify_file(source.path, source.sha256)
    # No background state pre-creation in a throwaway process.
    model = load_in_process(
        ModelSource(
            source.kind,
            source.path,
            source.sha256,
            source.latency_samples,
            {**source.options, "spare_states": 0},
        )
    )
    backend = model.new_backend()
    rng = np.random.default_rng(0)
    for _ in range(PROBE_HOPS):
        hop = (0.05 * rng.standard_normal(HOP_SAMPLES)).astype(np.float32)
        out, _ = backend.process_hop(hop)
        if out.shape != (HOP_SAMPLES,):
            raise DenoiseError(f"backend returned {out.shape}, expected ({HOP_SAMPLES},)")
    backend.set_atten_lim(12.0)
    backend.close()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m denoise.probe '<ModelSource JSON>'", file=sys.stderr)
        return 2
    try:
        run(ModelSource.from_json(argv[0]))
    except Exception as exc:  # report any failure as a one-line reason for the parent
        print(f"ProbeError: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
