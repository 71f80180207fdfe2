"""The layers only point down, and no two modules import each other.

Every module of the installed packages is read with ``ast`` (not imported), so
an import inside a function or under ``TYPE_CHECKING`` counts too: it is
still an arrow a reader has to follow.

    protocol/   stdlib and PyNaCl only: the bytes on the wire, nothing above
    server/     protocol/ and socketlab/trace.py; never client/ or inspector/
    client/     protocol/ and socketlab/trace.py; never server/ or inspector/
    inspector/  may use all of them (its demo runs a server and clients)
    labs/       the lab runner, on top: nothing in the kit imports it
    socketlab/trace.py  the --trace file contract: stdlib only
    socketlab/arguments.py  the argument types every command shares: stdlib only
"""

from __future__ import annotations

import ast
import sys
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THIRD_PARTY_FOR_PROTOCOL = {"nacl"}


def package_dirs() -> dict[str, Path]:
    """Installed package -> folder, from pyproject's package-dir mapping."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    mapping: dict[str, str] = config["tool"]["setuptools"]["package-dir"]
    return {name: ROOT / folder for name, folder in mapping.items()}


def modules() -> dict[str, Path]:
    """Every installed module's dotted name -> its file."""
    found: dict[str, Path] = {}
    for package, folder in package_dirs().items():
        for path in folder.glob("*.py"):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            found[name] = path
    return found


def imported_names(module: str, path: Path, known: set[str]) -> Iterator[str]:
    """The absolute names ``module`` imports (a submodule where one is meant)."""
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            submodules = [f"{source}.{a.name}" for a in node.names if f"{source}.{a.name}" in known]
            yield from submodules
            if len(submodules) < len(node.names):  # some names come from the module itself
                yield source


@cache
def graph() -> dict[str, set[str]]:
    """module -> every name it imports (internal modules and outside packages alike)."""
    known = modules()
    return {name: set(imported_names(name, path, set(known))) for name, path in known.items()}


def arrows(source_layer: str, target_prefixes: tuple[str, ...]) -> list[str]:
    found = []
    for module, targets in graph().items():
        if module.startswith(f"socketlab.{source_layer}.") or module == f"socketlab.{source_layer}":
            found += [f"{module} -> {t}" for t in sorted(targets) if t.startswith(target_prefixes)]
    return found


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return components


def test_the_walk_sees_every_package_and_their_imports() -> None:
    edges = graph()
    for package in ("socketlab", "socketlab.protocol", "socketlab.server", "socketlab.client",
                    "socketlab.inspector", "socketlab.trace", "socketlab.server.app"):
        assert package in edges, f"{package} was not read"
    # Known arrows, so a walk that reads nothing cannot pass the tests below.
    assert "socketlab.protocol" in edges["socketlab.server.app"] or any(
        t.startswith("socketlab.protocol.") for t in edges["socketlab.server.app"]
    )
    assert "socketlab.trace" in edges["socketlab.client.chat_client"]


def test_protocol_imports_only_the_standard_library_and_nacl() -> None:
    wrong = []
    for module, targets in graph().items():
        if not module.startswith("socketlab.protocol"):
            continue
        for target in targets:
            top = target.split(".")[0]
            if target.startswith("socketlab.protocol") or top in sys.stdlib_module_names:
                continue
            if top not in THIRD_PARTY_FOR_PROTOCOL:
                wrong.append(f"{module} -> {target}")
    assert wrong == [], "protocol/ must stand alone:\n" + "\n".join(wrong)


def test_client_never_imports_server_or_inspector() -> None:
    wrong = arrows("client", ("socketlab.server", "socketlab.inspector"))
    assert wrong == [], "\n".join(wrong)


def test_server_never_imports_client_or_inspector() -> None:
    wrong = arrows("server", ("socketlab.client", "socketlab.inspector"))
    assert wrong == [], "\n".join(wrong)


def test_nothing_in_the_kit_imports_the_lab_runner() -> None:
    wrong = []
    for layer_name in ("protocol", "server", "client", "inspector"):
        wrong += arrows(layer_name, ("socketlab.labs",))
    assert wrong == [], "\n".join(wrong)


def test_the_trace_contract_needs_only_the_standard_library() -> None:
    targets = graph()["socketlab.trace"]
    wrong = sorted(t for t in targets if t.split(".")[0] not in sys.stdlib_module_names)
    assert wrong == [], wrong


def test_the_shared_argument_types_need_only_the_standard_library() -> None:
    targets = graph()["socketlab.arguments"]
    wrong = sorted(t for t in targets if t.split(".")[0] not in sys.stdlib_module_names)
    assert wrong == [], wrong


def test_no_two_modules_import_each_other() -> None:
    edges = graph()
    internal = {m: {t for t in targets if t in edges} for m, targets in edges.items()}
    cycles = strongly_connected(internal)
    assert cycles == [], "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_a_cycle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert strongly_connected(edges) == [["a", "b", "c"]]
