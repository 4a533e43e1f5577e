"""The package's structure (docs/architecture.md): no import circle, imports only down the layers, no module that
reaches into another's private names.

The graph is read from the code (``ast``), not from ``sys.modules``: every import a module can execute counts,
at its top or inside a function, because an import made late is still a dependency (a circle of late imports is
a circle of knowledge). Imports under ``if TYPE_CHECKING:`` count too: a class named in an annotation is knowledge
of the module that defines it. (``present/`` draws the answers of ``analysis/``, the layer above, and names what it
reads of them through the protocols of ``present/shapes.py``.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "simulator"

# From the bottom up: a module may import its own layer's modules and those of the layers below, never above.
LAYERS: list[tuple[str, ...]] = [
    ("simulator.units", "simulator.inputs", "simulator.errors", "simulator.version", "simulator.hooks"),
    ("simulator.summary", "simulator.scenario"),
    ("simulator.engine",),
    ("simulator.present",),
    ("simulator.analysis", "simulator.sources"),
    ("simulator", "simulator.__main__", "simulator.cli", "simulator.pytest_plugin"),
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement: at the top, in a function, under ``if TYPE_CHECKING:``."""
    return [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]


def _graph() -> dict[str, dict[str, list[str]]]:
    """module -> {imported module: [names taken from it]} for the package's own modules."""
    graph: dict[str, dict[str, list[str]]] = {}
    for name, path in MODULES.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: dict[str, list[str]] = {}
        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in MODULES:
                        edges.setdefault(alias.name, [])
                continue
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("simulator"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:  # `from . import plots`: the module itself
                    edges.setdefault(sub, [])
                elif target in MODULES:
                    edges.setdefault(target, []).append(alias.name)
        edges.pop(name, None)
        graph[name] = edges
    return graph


GRAPH = _graph()


def _cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def _layer(module: str) -> int:
    best, level = -1, None
    for i, names in enumerate(LAYERS):
        for prefix in names:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, level = len(prefix), i
    assert level is not None, f"{module} is in no layer: add it to LAYERS and to docs/architecture.md"
    return level


def test_the_graph_is_read():
    # The reader must see the package's real imports, or the tests below would pass on an empty graph.
    assert len(MODULES) > 50
    assert "simulator.engine.model" in GRAPH["simulator.analysis.results"] or any(
        m.startswith("simulator.engine") for m in GRAPH["simulator.analysis.results"])
    assert "simulator.scenario.models" in GRAPH["simulator.engine.network"]
    assert sum(len(e) for e in GRAPH.values()) > 150


def test_no_import_circle():
    cycles = _cycles(GRAPH)
    shown = ["; ".join(f"{a} -> {b}" for a in c for b in GRAPH[a] if b in c) for c in cycles]
    assert not cycles, "import circles:\n" + "\n".join(shown)


def test_the_cycle_finder_finds_a_circle():
    assert _cycles({"a": {"b": []}, "b": {"c": []}, "c": {"a": []}, "d": {"a": []}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b": []}, "b": {}}) == []


def test_every_module_has_a_layer():
    for name in MODULES:
        _layer(name)


def test_imports_go_down_the_layers():
    upward = [f"{a} (layer {_layer(a)}) imports {b} (layer {_layer(b)})"
              for a, edges in GRAPH.items() for b in edges if _layer(b) > _layer(a)]
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_private_names_taken_from_another_module(name):
    taken = [f"{target}.{n}" for target, names in GRAPH[name].items() for n in names
             if n.startswith("_") and not n.startswith("__")]
    assert not taken, f"{name} takes private names: {', '.join(taken)}"


def test_the_loader_hooks_are_installed_by_the_package_root():
    # Python imports the package root before any submodule, so a scenario loaded through simulator.scenario has its
    # `expect` checked by the analysis layer (simulator.hooks): a wrong path is refused at load, not skipped.
    from simulator.scenario.models import scenario_from_dict
    from simulator.scenario.problems import ScenarioError

    data = {"version": 1, "name": "x", "duration": "10s", "functions": [{"name": "f", "arrivals": {
        "process": "constant", "rate": "1/s"}, "memory_mb": 128, "duration": "10ms"}], "expect": {"no_such_metric": "< 1"}}
    with pytest.raises(ScenarioError, match="no metric 'no_such_metric'"):
        scenario_from_dict(data)


def test_an_uninstalled_hook_is_an_error_not_a_skip(monkeypatch):
    from simulator import hooks

    monkeypatch.setattr(hooks, "_installed", {})
    with pytest.raises(RuntimeError, match="not installed"):
        hooks.expect_problems(object())
    with pytest.raises(TypeError, match="no such hook"):
        hooks.install(nothing=print)


# Errors that are not about what a user gave vpcsim: the pytest plugin's failed expectations are test failures.
NOT_USER_ERRORS = {"simulator.pytest_plugin.ExpectationsFailed"}


def test_every_error_about_user_input_is_a_vpcsim_error():
    # The CLI catches one type (simulator.errors.VpcsimError) and prints its one line; an error class that is not
    # one would end as a traceback. Every exception class the package defines is checked.
    import importlib

    from simulator.errors import VpcsimError

    found = []
    for name in MODULES:
        if name == "simulator.__main__":  # runs the command line when imported
            continue
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            # A private class (_Optional, _Unfollowable) is a module's own control flow, caught where it is raised.
            if (isinstance(value, type) and issubclass(value, Exception) and value.__module__ == name
                    and not attr.startswith("_") and f"{name}.{attr}" not in NOT_USER_ERRORS):
                found.append(value)
    assert len(found) >= 12
    strays = [f"{c.__module__}.{c.__name__}" for c in found if not issubclass(c, VpcsimError)]
    assert not strays, f"not VpcsimErrors: {strays}"
