"""The recordings app depends on neither the live-stream app nor the composition root.

``streams`` uses ``recordings`` (to save a finished stream); the reverse would
make a cycle. Imports inside functions count too (scripts/import_cycles.py).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _import_cycles() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "import_cycles", ROOT / "scripts/import_cycles.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recordings_imports_neither_streams_nor_the_runtime() -> None:
    tool = _import_cycles()
    modules = tool.collect(tool.PACKAGES)
    known = set(modules)
    recordings = {n: p for n, p in modules.items() if n.split(".")[0] == "recordings"}
    assert "recordings.views" in recordings
    imported = {
        f"{name} -> {target}"
        for name, path in recordings.items()
        for target in tool.imports_of(name, path, known)
        if target.split(".")[0] == "streams" or target == "fc25_denoise.runtime"
    }
    assert imported == set()


def test_no_import_cycle_through_recordings() -> None:
    tool = _import_cycles()
    modules = tool.collect(tool.PACKAGES)
    known = set(modules)
    graph = {name: set(tool.imports_of(name, path, known)) for name, path in modules.items()}
    cycles = [c for c in tool.strongly_connected(graph) if len(c) > 1]
    assert [c for c in cycles if any(m.startswith(("recordings", "streams")) for m in c)] == []
