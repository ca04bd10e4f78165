"""The packages import each other one way only (ARCHITECTURE.md): read every module's imports.

Lower layers never import higher ones, and no two packages import each other, directly or
round a longer loop. Imports inside functions count too: hiding one there hides a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "dashboard"

# Each unit of the tree and its layer; a unit may import its own layer's units and lower ones.
LAYERS = {
    "dashboard": 0,  # __init__ (the version)
    "dashboard.counters": 0,
    "dashboard.sharedcache": 0,
    "dashboard.hot": 0,
    "dashboard.after_response": 0,  # work put off until the request has answered
    "dashboard.formatting": 0,
    "dashboard.csvsafe": 0,
    "dashboard.postgres_text": 0,  # NUL written as U+FFFD on PostgreSQL
    "dashboard.voucherify": 1,  # the plain client: no Django
    "dashboard.accounts": 1,  # people and permissions: needs nothing of the upstream
    "dashboard.polling": 2,  # cache, single flight, the budget and its gate, the reads
    "dashboard.history": 3,  # the archive, the backfill, the audit and charts
    "dashboard.actions": 4,  # the list and detail pages
    "dashboard.alerts": 4,  # rules, the outbox and its worker, the alert pages
    "dashboard.observability": 5,  # around everything: health, metrics, logs
    "dashboard.emulator": 5,  # the fake upstream for the demo and the tests
    "dashboard.settings": 6,  # the project's wiring
    "dashboard.env": 6,  # settings from the environment
    "dashboard.settings_test": 6,
    "dashboard.urls": 6,
    "dashboard.wsgi": 6,
    "dashboard.quick_polls": 6,  # the WSGI wrapper in front of Django (wsgi.py)
    "dashboard.asgi": 6,
    "dashboard.granian_server": 6,  # the dashboard under granian (make serve SERVER=granian)
}
# Third-party roots a layer must not use at all.
FORBIDDEN = {"dashboard.voucherify": ("django",)}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def unit_of(module: str) -> str | None:
    """The LAYERS key a module belongs to (the longest matching prefix)."""
    found = [unit for unit in LAYERS if module == unit or module.startswith(unit + ".")]
    return max(found, key=len) if found else None


def imports_of(path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((base, node.lineno))
            # `from dashboard import polling` imports the package dashboard.polling
            found += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
    return found


def source_files() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "migrations" not in p.parts)


def package_edges() -> dict[tuple[str, str], list[str]]:
    """(importing unit, imported unit) -> where, for imports between different units."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in source_files():
        source = unit_of(module_name(path))
        for imported, line in imports_of(path):
            target = unit_of(imported)
            if target is None or target == source:
                continue
            if imported.startswith("dashboard") and _is_submodule_alias(imported):
                continue
            edges.setdefault((source, target), []).append(
                f"{path.relative_to(ROOT.parent)}:{line}"
            )
    return edges


def _is_submodule_alias(imported: str) -> bool:
    """`from dashboard.x import name` also yields dashboard.x.name; only real modules count,
    and a name that is not a module belongs to dashboard.x, already counted."""
    return not _exists(imported)


def _exists(module: str) -> bool:
    relative = Path(*module.split("."))
    base = ROOT.parent / relative
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def test_every_module_belongs_to_a_layer():
    orphans = [module_name(p) for p in source_files() if unit_of(module_name(p)) is None]
    assert orphans == []


def test_imports_only_go_down_the_layers():
    upward = [
        f"{source} (layer {LAYERS[source]}) imports {target} (layer {LAYERS[target]}) at "
        + ", ".join(where)
        for (source, target), where in sorted(package_edges().items())
        if LAYERS[target] > LAYERS[source]
    ]
    assert upward == []


def test_no_import_cycle_between_packages():
    graph: dict[str, set[str]] = {}
    for source, target in package_edges():
        graph.setdefault(source, set()).add(target)
    cycles = []

    def visit(unit: str, trail: list[str]) -> None:
        for following in sorted(graph.get(unit, ())):
            if following == trail[0]:
                cycles.append(" -> ".join([*trail, following]))
            elif following not in trail and following > trail[0]:
                visit(following, [*trail, following])

    for start in sorted(graph):
        visit(start, [start])
    assert cycles == []


@pytest.mark.parametrize("unit", sorted(FORBIDDEN))
def test_the_plain_client_uses_no_django(unit):
    used = [
        f"{module_name(path)} imports {imported} at line {line}"
        for path in source_files()
        if unit_of(module_name(path)) == unit
        for imported, line in imports_of(path)
        if imported.split(".")[0] in FORBIDDEN[unit]
    ]
    assert used == []


def test_only_the_plain_client_speaks_http_to_voucherify():
    speakers = sorted({
        module_name(path)
        for path in source_files()
        if unit_of(module_name(path)) != "dashboard.voucherify"
        for imported, _line in imports_of(path)
        if imported.split(".")[0] in ("requests", "urllib3")
    })
    assert speakers == []


def test_the_checker_sees_an_upward_import_and_a_cycle(tmp_path, monkeypatch):
    """The checks above can fail: a planted upward import and a planted cycle are found."""
    tree = tmp_path / "dashboard"
    for package in ("voucherify", "polling"):
        (tree / package).mkdir(parents=True)
        (tree / package / "__init__.py").write_text("")
    (tree / "__init__.py").write_text("")
    (tree / "voucherify" / "client.py").write_text("from dashboard.polling import gate\n")
    (tree / "polling" / "gate.py").write_text("from dashboard.voucherify import client\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tree)
    edges = package_edges()
    assert ("dashboard.voucherify", "dashboard.polling") in edges
    assert ("dashboard.polling", "dashboard.voucherify") in edges
    with pytest.raises(AssertionError):
        test_imports_only_go_down_the_layers()
    with pytest.raises(AssertionError):
        test_no_import_cycle_between_packages()
