"""Report import cycles between this project's modules.

Builds the module import graph with ``ast`` (every ``import``, including those
inside functions and ``TYPE_CHECKING`` blocks) and prints its strongly
connected components with more than one module (each import in them marked
when it is inside a function or typing-only), the project imports made inside
functions, and which package imports which. Exit status 1 when there is a cycle.

    .venv/bin/python scripts/import_cycles.py [package ...]
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("fc25_denoise", "users", "streams", "recordings", "frontend", "denoise")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def collect(packages: Iterable[str]) -> dict[str, Path]:
    modules = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            if ".venv" not in path.parts:
                modules[module_name(path)] = path
    return modules


def _typing_only(tree: ast.Module) -> set[int]:
    """ids of the import nodes inside ``if TYPE_CHECKING:`` blocks."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            for child in node.body:
                ids.update(id(n) for n in ast.walk(child))
    return ids


def _in_functions(tree: ast.Module) -> set[int]:
    """ids of the import nodes inside function bodies."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            ids.update(id(n) for n in ast.walk(node))
    return ids


def imports_of(name: str, path: Path, known: set[str]) -> dict[str, str]:
    """Project modules ``name`` imports, each with where: "module", "function" or "typing".

    ``from a import b`` counts ``a.b`` when that is a module, else ``a``.
    """
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), str(path))
    typing_only, in_functions = _typing_only(tree), _in_functions(tree)
    found: dict[str, str] = {}

    def project_module(dotted: str) -> str | None:
        # The longest prefix that is a project module (``a.b.func`` -> ``a.b``).
        parts = dotted.split(".")
        for end in range(len(parts), 0, -1):
            candidate = ".".join(parts[:end])
            if candidate in known:
                return candidate
        return None

    def add(target: str | None, node: ast.AST) -> None:
        if target is None or target == name:
            return
        where = (
            "typing"
            if id(node) in typing_only
            else "function"
            if id(node) in in_functions
            else "module"
        )
        # A module-level import of the same target outranks the others.
        if found.get(target) != "module":
            found[target] = where

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(project_module(alias.name), node)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:
                add(project_module(f"{source}.{alias.name}") or project_module(source), node)
    return found


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    result.append(sorted(component))
    return result


def main(argv: list[str]) -> int:
    modules = collect(argv or PACKAGES)
    known = set(modules)
    edges = {name: imports_of(name, path, known) for name, path in modules.items()}
    graph = {name: set(targets) for name, targets in edges.items()}
    count = sum(len(targets) for targets in graph.values())
    cycles = [c for c in strongly_connected(graph) if len(c) > 1]
    print(f"{len(graph)} modules, {count} import edges, {len(cycles)} cycle(s)")
    for component in cycles:
        members = set(component)
        links = [
            f"{a} -> {b}" + ("" if where == "module" else f" ({where})")
            for a in component
            for b, where in sorted(edges[a].items())
            if b in members
        ]
        print("cycle:", "; ".join(links))
    inner = [
        f"{a} -> {b}" for a in sorted(edges) for b, w in sorted(edges[a].items()) if w == "function"
    ]
    print(f"imports inside functions: {', '.join(inner) or 'none'}")
    packages = sorted({n.split(".")[0] for n in graph})
    for package in packages:
        uses = {
            t.split(".")[0] for n, ts in graph.items() if n.split(".")[0] == package for t in ts
        }
        print(f"{package} -> {', '.join(sorted(uses - {package})) or '(nothing)'}")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
