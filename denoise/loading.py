"""Loading a model by its backend kind, and the crash-isolating load probe.

A native runtime may abort the whole process (a Rust panic is not an
exception) when handed a file it does not understand. So before any backend
loads a model in *this* process, two gates apply:

1. the file's SHA-256 must match the registered hash (:func:`~denoise.sources.verify_file`);
2. a backend kind marked ``crash_prone`` is first loaded in a child process
   (``python -m denoise.probe``); only if the child exits cleanly is the model
   loaded here. The verdict is cached per (kind, path, hash) for the process.
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .base import FrameBackend, ModelLoadError
from .sources import ModelSource

PROBE_TIMEOUT_S = 120.0
"""Generous: the probe child imports numpy and builds a model on a busy machine."""


class LoadedModel(Protocol):
    """A model loaded once per process; hands out per-stream backends."""

    def new_backend(self) -> FrameBackend:
        """Create one stream's state. Raises ModelLoadError."""
        ...


@dataclass(frozen=True)
class BackendKind:
    """How to load a kind of model.

    ``loader`` is ``"module:attr"`` naming a callable ``(ModelSource) -> LoadedModel``;
    it is imported by name on first use, so optional runtimes (e.g. onnxruntime)
    cost nothing until used; the backends import :mod:`denoise.sources`, never this
    module, so no import cycle hides behind the name. ``crash_prone`` kinds go
    through the child-process probe.
    """

    loader: str
    crash_prone: bool


KINDS: dict[str, BackendKind] = {
    "identity": BackendKind("denoise.backends.identity:IdentityModel", crash_prone=False),
    "native": BackendKind("denoise.backends.native:NativeModel", crash_prone=True),
    # ONNX Runtime raises Python exceptions on bad graphs, so no probe is needed.
    "onnx": BackendKind("denoise.backends.onnx.backend:OnnxLoadedModel", crash_prone=False),
}


def load_in_process(source: ModelSource) -> LoadedModel:
    """Import the kind's loader and load ``source`` here (no probe, no cache).

    Raises:
        ModelLoadError: unknown kind or the loader failed with an exception.
    """
    try:
        kind = KINDS[source.kind]
    except KeyError:
        raise ModelLoadError(f"unknown backend kind {source.kind!r}") from None
    module_name, _, attr = kind.loader.partition(":")
    loader = getattr(importlib.import_module(module_name), attr)
    try:
        model: LoadedModel = loader(source)
    except ModelLoadError:
        raise
    except Exception as exc:  # a loader's own failure, reported uniformly
        raise ModelLoadError(f"could not load model: {exc}") from exc
    return model


_verdicts: dict[tuple[str, str | None, str | None], str | None] = {}
_verdict_lock = threading.Lock()


def probe(source: ModelSource) -> None:
    """Make sure loading ``source`` cannot kill this process.

    Non-crash-prone kinds pass at once. Otherwise the model is loaded and run
    for a few frames in a child process; the verdict (ok or the error) is cached.
    Holding the lock while probing makes concurrent first uses wait for one probe.

    Raises:
        ModelLoadError: the child failed, crashed or timed out (message says how).
    """
    kind = KINDS.get(source.kind)
    if kind is None or not kind.crash_prone:
        return
    key = (source.kind, source.path, source.sha256)
    with _verdict_lock:
        if key not in _verdicts:
            _verdicts[key] = _run_probe_child(source)
        error = _verdicts[key]
    if error is not None:
        raise ModelLoadError(error)


def _run_probe_child(source: ModelSource) -> str | None:
    """Run ``python -m denoise.probe`` on ``source``; return None or an error message."""
    env = dict(os.environ)
    # The child must import this very package even if the cwd is elsewhere.
    pkg_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_root, env.get("PYTHONPATH")) if p)
    name = Path(source.path).name if source.path else source.kind
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "denoise.probe", source.to_json()],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"model {name}: load probe timed out after {PROBE_TIMEOUT_S:.0f} s"
    if proc.returncode == 0:
        return None
    detail = _last_meaningful_line(proc.stderr)
    if proc.returncode < 0:
        sig = signal.Signals(-proc.returncode).name
        return f"model {name} crashed the runtime in a probe process ({sig}): {detail}"
    return f"model {name} failed to load in a probe process: {detail}"


def _last_meaningful_line(text: str) -> str:
    """Pick the line that explains a failure (a Rust panic message or our error)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for i, ln in enumerate(lines):
        if "panicked at" in ln:
            # Newer Rust prints the panic message on the line after the location.
            follow = lines[i + 1] if i + 1 < len(lines) and "note:" not in lines[i + 1] else ""
            return f"{ln} {follow}".strip()[:300]
    for ln in reversed(lines):
        if "Error" in ln or "error" in ln:
            return ln[:300]
    return lines[-1][:300] if lines else "no error output"
