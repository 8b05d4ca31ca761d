"""The package's module map: each module's job (first docstring line), size and imports.

Run ``.venv/bin/python scripts/module_map.py`` to print the map, ``--write`` to put it in
``docs/DEVELOPING.md`` between its module-map markers; ``tests/test_architecture.py`` checks
the same graph (no cycle, no private name taken from another module, no module over
``MAX_LINES``) and that the jobs and imports in DEVELOPING.md are current.

What counts as an import, read from the source with ``ast`` (nothing is imported):

- every ``import`` / ``from ... import`` of the package, wherever it is: at the top, inside a
  function, under ``if TYPE_CHECKING:``, in a ``try``. ``from vgg_course import x`` is an
  edge to the submodule ``x``; a name that is not a submodule (``__version__``) is an edge
  to the package's ``__init__``;
- ``importlib.import_module(...)`` with a literal, or an f-string: an edge to every module
  that call could load. A part taken from ``for name in NAMES`` (a module-level tuple of
  strings) gives those names; any other variable part, every direct child of the package
  written so far (``f"vgg_course.exercises.{lesson}"``: every module of ``exercises``);
- not counted: the package's PEP 562 ``__getattr__`` in ``vgg_course/__init__.py``. It
  imports nothing when ``vgg_course`` is imported; ``vc.engine`` loads ``vgg_course.engine``
  on first use, exactly as ``import vgg_course.engine`` would. Counting it would make the
  package depend on every module and every module on the package, a "cycle" that no import
  can ever run into.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "vgg_course"
DOC = ROOT / "docs" / "DEVELOPING.md"
START, END = "<!-- module-map:start -->", "<!-- module-map:end -->"
MAX_LINES = 350
TOP = "vgg_course"


def modules() -> dict[str, Path]:
    """Dotted names under the package (``engine``, ``exercises.core``; ``vgg_course`` for its
    ``__init__``) -> file."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts) or TOP] = path
    return found


def _own_name(name: str, path: Path) -> tuple[str, str]:
    """(the module's full dotted name, the package its relative imports start from)."""
    full = TOP if name == TOP else f"{TOP}.{name}"
    return full, full if path.name == "__init__.py" else full.rpartition(".")[0]


def _short(full: str) -> str:
    return TOP if full == TOP else full.removeprefix(TOP + ".")


def _targets(full: str, names: list[str], known: set[str]) -> set[str]:
    """Modules reached by ``from <full> import names`` (or ``import <full>`` when no names)."""
    out = set()
    for name in names or [None]:
        child = f"{full}.{name}" if name else None
        if child and _short(child) in known:
            out.add(_short(child))
        elif _short(full) in known:
            out.add(_short(full))
    return out


def _names_loaded(node: ast.expr, own: str, constants: dict[str, str],
                  loops: dict[str, tuple[str, ...]]) -> tuple[list[str], bool]:
    """What an ``import_module()`` argument can name: (full names, whether open-ended).

    Open-ended (a part the source does not fix) means "any child of the first name".
    """
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value], False
    if not isinstance(node, ast.JoinedStr):
        return [], False
    texts = [""]
    for part in node.values:
        if isinstance(part, ast.Constant):
            texts = [t + str(part.value) for t in texts]
        elif isinstance(part.value, ast.Name) and part.value.id == "__name__":
            texts = [t + own for t in texts]
        elif isinstance(part.value, ast.Name) and part.value.id in constants:
            texts = [t + constants[part.value.id] for t in texts]
        elif isinstance(part.value, ast.Name) and part.value.id in loops:  # for x in NAMES
            texts = [t + v for t in texts for v in loops[part.value.id]]
        else:
            return texts, True
    return texts, False


def _loop_values(tree: ast.Module) -> dict[str, tuple[str, ...]]:
    """``for name in CONSTANT:`` where CONSTANT is a module-level tuple or list of strings."""
    sequences = {t.id: tuple(e.value for e in n.value.elts) for n in tree.body
                 if isinstance(n, ast.Assign) and isinstance(n.value, (ast.Tuple, ast.List))
                 and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in n.value.elts)
                 for t in n.targets if isinstance(t, ast.Name)}
    return {n.target.id: sequences[n.iter.id] for n in ast.walk(tree)
            if isinstance(n, ast.For) and isinstance(n.target, ast.Name)
            and isinstance(n.iter, ast.Name) and n.iter.id in sequences}


def _lazy_loader(tree: ast.Module, name: str) -> set[ast.AST]:
    """The nodes of the top package's PEP 562 ``__getattr__`` (not counted, see above)."""
    if name != TOP:
        return set()
    return {n for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == "__getattr__"
            for n in ast.walk(f)}


def imports(name: str, path: Path, known: set[str]) -> tuple[set[str], list[str]]:
    """(modules ``name`` imports, private names it takes from other modules)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    own, package = _own_name(name, path)
    constants = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign)
                 for t in n.targets if isinstance(t, ast.Name)
                 and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)}
    loops = _loop_values(tree)
    skip = _lazy_loader(tree, name)
    edges: set[str] = set()
    private: list[str] = []
    bound: dict[str, str] = {}  # local name -> module it is bound to
    for node in ast.walk(tree):
        if node in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            if base != TOP and not base.startswith(TOP + "."):
                continue
            for alias in node.names:
                hit = _targets(base, [alias.name], known)
                edges |= hit
                child = _short(f"{base}.{alias.name}")
                if child in known:
                    bound[alias.asname or alias.name] = child
                elif (alias.name.startswith("_") and not alias.name.startswith("__")
                      and (base, alias.name) != ("vgg_course.i18n", "_")):  # gettext's public `_`
                    private.append(f"from {base} import {alias.name} (line {node.lineno})")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == TOP or alias.name.startswith(TOP + "."):
                    edges |= _targets(alias.name, [], known)
                    bound[alias.asname or alias.name.split(".")[0]] = _short(
                        alias.name if alias.asname else TOP)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args):
            texts, open_end = _names_loaded(node.args[0], own, constants, loops)
            for text in texts:
                if text != TOP and not text.startswith(TOP + "."):
                    continue
                if open_end:
                    parent = _short(text.rstrip("."))
                    edges |= {m for m in known if m != TOP and m.rpartition(".")[0] == (
                        "" if parent == TOP else parent)}
                else:
                    edges |= _targets(text, [], known)
    for node in ast.walk(tree):
        if node in skip or not isinstance(node, ast.Attribute):
            continue
        target = _module_of(node.value, bound, known)
        if target and node.attr.startswith("_") and not node.attr.startswith("__"):
            private.append(f"{target}.{node.attr} (line {node.lineno})")
    edges.discard(name)
    return edges, private


def _module_of(node: ast.expr, bound: dict[str, str], known: set[str]) -> str | None:
    """The package module an expression names (``engine``, ``vc.engine``), or ``None``."""
    if isinstance(node, ast.Name):
        return bound.get(node.id)
    if isinstance(node, ast.Attribute):
        parent = _module_of(node.value, bound, known)
        if parent is not None:
            child = node.attr if parent == TOP else f"{parent}.{node.attr}"
            return child if child in known else None
    return None


def graph() -> dict[str, list[str]]:
    """Module -> the package modules it imports (see the module docstring for what counts)."""
    found = modules()
    return {name: sorted(imports(name, path, set(found))[0]) for name, path in found.items()}


def private_uses() -> dict[str, list[str]]:
    found = modules()
    uses = {name: imports(name, path, set(found))[1] for name, path in found.items()}
    return {name: u for name, u in uses.items() if u}


def cycles(edges: dict[str, list[str]]) -> list[list[str]]:
    """Every strongly connected group of two or more modules, each as one cycle through it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, []):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(_one_cycle(sorted(group), edges))

    sys.setrecursionlimit(max(1000, 10 * len(edges)))
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return groups


def _one_cycle(group: list[str], edges: dict[str, list[str]]) -> list[str]:
    """A path from the group's first module back to itself, inside the group."""
    start, inside = group[0], set(group)
    paths = {start: [start]}
    todo = [start]
    while todo:
        v = todo.pop(0)
        for w in edges.get(v, []):
            if w == start:
                return paths[v] + [start]
            if w in inside and w not in paths:
                paths[w] = paths[v] + [w]
                todo.append(w)
    return group


def first_line(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def line_count(path: Path) -> int:
    return len(path.read_text().splitlines())


def markdown() -> str:
    """The map for DEVELOPING.md: one row per module with its job, lines and imports."""
    found, edges = modules(), graph()
    rows = ["| module | its job (first docstring line) | lines | imports |", "|---|---|---:|---|"]
    for name, path in found.items():
        job = first_line(path).replace("|", "\\|")
        rows.append(f"| `{name}` | {job} | {line_count(path)} | {', '.join(edges[name]) or '-'} |")
    total = sum(line_count(p) for p in found.values())
    loops = cycles(edges)
    verdict = ("no import cycle" if not loops else
               "CYCLES: " + "; ".join(" -> ".join(c) for c in loops))
    return "\n".join([*rows, "", f"{len(found)} modules, {total:,} lines; {verdict}."])


def _section(text: str) -> str:
    return text.split(START, 1)[1].split(END, 1)[0].strip()


LINE_TOLERANCE = 0.10  # a line count in the map may be this far off the module's own


def _rows(section: str) -> dict[str, tuple[str, int, str]]:
    """Module -> (job, lines, imports), read from a map's table rows."""
    found = {}
    for line in section.splitlines():
        cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
        if len(cells) == 4 and cells[2].strip().isdigit():
            found[cells[0].strip().strip("`")] = (cells[1].strip(), int(cells[2]), cells[3].strip())
    return found


def stale(written: str, live: str, tolerance: float = LINE_TOLERANCE) -> list[str]:
    """What a written map gets wrong against the live one: a module missing or extra, a job or
    imports that differ, a line count (or the total) off by more than ``tolerance``."""
    old, new = _rows(written), _rows(live)
    problems = [f"{name}: not in the map" for name in new if name not in old]
    problems += [f"{name}: in the map, but no such module" for name in old if name not in new]
    for name in sorted(set(old) & set(new)):
        (job, lines, deps), (live_job, live_lines, live_deps) = old[name], new[name]
        if job != live_job:
            problems.append(f"{name}: job {job!r}, but its docstring says {live_job!r}")
        if deps != live_deps:
            problems.append(f"{name}: imports {deps!r}, but it imports {live_deps!r}")
        if abs(lines - live_lines) > tolerance * live_lines:
            problems.append(f"{name}: {lines} lines in the map, {live_lines} in the module")
    totals = [int(m.replace(",", "")) for s in (written, live)
              for m in re.findall(r"([\d,]+) lines;", s)[:1]]
    if len(totals) == 2 and abs(totals[0] - totals[1]) > tolerance * totals[1]:
        problems.append(f"total: {totals[0]:,} lines in the map, {totals[1]:,} in the package")
    return problems


def main(argv: list[str]) -> int:
    text = markdown()
    if "--write" in argv:
        doc = DOC.read_text()
        DOC.write_text(doc.split(START, 1)[0] + f"{START}\n{text}\n{END}" + doc.split(END, 1)[1])
        print(f"wrote the module map into {DOC.relative_to(ROOT)}")
        return 0
    print(text)
    found = cycles(graph())
    for cycle in found:
        print("CYCLE: " + " -> ".join(cycle))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
