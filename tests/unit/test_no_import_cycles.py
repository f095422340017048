"""The import graph of the product (shared_schema, field_app, sync_server),
read from the source with ``ast``: no module imports itself through others,
and the rooms keep their doors (docs/architecture.md):

* field_app and sync_server never import each other (shared_schema is their
  only common ground);
* the field app (``field_app.ui.field``) and the office console
  (``field_app.ui.office``) never import each other, and the phone's entry
  (``main.py`` → ``field_app.ui.mobile``) reaches nothing of the console.

Every import counts: at module level, inside a function (a lazy import still
runs) and under ``if TYPE_CHECKING:`` (a cycle of type hints still ties the
modules together: views type their app through a module that imports no view)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared_schema", "field_app", "sync_server")


def module_files() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    return [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]


def import_graph(files: dict[str, Path] | None = None) -> dict[str, set[str]]:
    """Module → the product's modules it imports (a ``from pkg import name``
    counts as importing ``pkg.name`` when that is a module, else ``pkg``)."""
    files = files or module_files()
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[:len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base
                           for a in node.names]
            for target in targets:
                while target and target not in files:  # ``import a.b.c`` of a name in a.b
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
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
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        v = todo.pop()
        if v not in seen:
            seen.add(v)
            todo.extend(graph.get(v, ()))
    return seen


def crossings(graph: dict[str, set[str]], a: str, b: str) -> list[str]:
    def inside(module: str, pkg: str) -> bool:
        return module == pkg or module.startswith(pkg + ".")

    return sorted(f"{m} -> {t}" for m, targets in graph.items() for t in targets
                  if (inside(m, a) and inside(t, b)) or (inside(m, b) and inside(t, a)))


def test_the_graph_is_read() -> None:
    graph = import_graph()
    assert "field_app.ui.office.app" in graph["field_app.ui.office.__main__"]
    assert "shared_schema.wire" in graph["field_app.ui.office.client"]
    assert len(graph) > 100


def test_no_import_cycle() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" ⇄ ".join(c) for c in found)


def test_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_field_app_and_server_never_import_each_other() -> None:
    assert crossings(import_graph(), "field_app", "sync_server") == []


def test_field_app_and_office_console_never_import_each_other() -> None:
    assert crossings(import_graph(), "field_app.ui.field", "field_app.ui.office") == []


def test_the_phone_entry_reaches_nothing_of_the_office_console() -> None:
    tree = ast.parse((ROOT / "main.py").read_text(encoding="utf-8"))
    entry = {n.module for n in _imports(tree) if isinstance(n, ast.ImportFrom)}
    assert entry == {"field_app.ui.mobile"}
    graph = import_graph()
    shipped = reachable(graph, "field_app.ui.mobile")
    assert "field_app.ui.field.app" in shipped
    assert not [m for m in shipped if m.startswith(("field_app.ui.office", "sync_server"))]


def domain_package(module: str) -> str | None:
    """``sync_server.domain.auth.service`` → ``sync_server.domain.auth``; None outside
    the domain packages (their edge modules, ``domain/errors.py``, ``principal.py``)."""
    parts = module.split(".")
    if len(parts) > 3 and parts[:2] == ["sync_server", "domain"]:
        return ".".join(parts[:3])
    return None


def test_no_cycle_between_the_servers_domain_packages() -> None:
    """The rooms of ``sync_server/domain`` form no loop as packages either (the old
    ``auth → registry → sync → auth`` loop came from ``Principal`` living in auth)."""
    packages: dict[str, set[str]] = {}
    for module, targets in import_graph().items():
        src = domain_package(module)
        if src is None:
            continue
        packages.setdefault(src, set())
        packages[src] |= {dst for t in targets if (dst := domain_package(t)) and dst != src}
    assert len(packages) >= 6
    assert cycles(packages) == []
