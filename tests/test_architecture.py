"""The package's shape: no import cycle, no private name across modules, small modules, the map current.

The graph is read from the source by ``scripts/module_map.py`` (its docstring says what counts
as an import); the first tests prove it finds what it must, the rest hold the package to it.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("module_map", REPO / "scripts" / "module_map.py")
module_map = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(module_map)

# A module over the limit while another change reworks it: name -> the most lines it may have.
# An entry fails as soon as its module is back under MAX_LINES (delete it then) or grows past it.
OVER_LIMIT: dict[str, int] = {}


def _imports_of(tmp_path: Path, source: str, known=("a", "b", "pkg", "pkg.x", "pkg.y")):
    path = tmp_path / "m.py"
    path.write_text(source)
    return module_map.imports("m", path, set(known) | {"m"})


def test_the_graph_counts_imports_in_functions_type_checking_and_importlib(tmp_path):
    edges, _ = _imports_of(tmp_path, (
        "from typing import TYPE_CHECKING\n"
        "import importlib\n"
        "if TYPE_CHECKING:\n    from vgg_course import a\n"
        "def f():\n    from vgg_course.pkg import x\n"
        "def g(name):\n    return importlib.import_module(f'vgg_course.pkg.{name}')\n"
    ))
    assert edges == {"a", "pkg.x", "pkg.y"}
    edges, _ = _imports_of(tmp_path, (
        "import importlib\nNAMES = ('a',)\n"
        "for name in NAMES:\n    importlib.import_module(f'vgg_course.{name}')\n"
    ))
    assert edges == {"a"}  # a loop over a constant tuple loads only its names


def test_the_graph_finds_private_names_taken_from_other_modules(tmp_path):
    _, private = _imports_of(tmp_path, (
        "from vgg_course.a import _hidden, public\n"
        "from vgg_course import b\nimport vgg_course as vc\n"
        "b._secret()\nvc.a._other\nb.__name__\n"
    ))
    assert sorted(p.split(" (")[0] for p in private) == [
        "a._other", "b._secret", "from vgg_course.a import _hidden"]


def test_cycles_are_found_and_printed_as_a_path():
    found = module_map.cycles({"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": []})
    assert found == [["a", "b", "c", "a"]]
    assert module_map.cycles({"a": ["b"], "b": []}) == []


def test_no_import_cycle():
    found = module_map.cycles(module_map.graph())
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_no_private_name_is_taken_from_another_module():
    uses = module_map.private_uses()
    assert not uses, "\n".join(f"{m}: {u}" for m, us in uses.items() for u in us)


def test_every_module_is_small():
    sizes = {name: module_map.line_count(path) for name, path in module_map.modules().items()}
    over = {n: s for n, s in sizes.items()
            if s > OVER_LIMIT.get(n, module_map.MAX_LINES)}
    assert not over, f"over {module_map.MAX_LINES} lines (split along their jobs): {over}"
    stale = [n for n in OVER_LIMIT if sizes.get(n, 0) <= module_map.MAX_LINES]
    assert not stale, f"back under the limit: delete {stale} from OVER_LIMIT"


def test_every_module_says_its_job_in_its_first_docstring_line():
    missing = [name for name, path in module_map.modules().items()
               if len(module_map.first_line(path)) < 20]
    assert not missing, f"no first docstring line saying the module's job: {missing}"


def test_a_stale_map_is_found_and_line_counts_may_drift_ten_percent():
    live = ("| module | its job (first docstring line) | lines | imports |\n|---|---|---:|---|\n"
            "| `a` | Does a thing \\| well. | 100 | b |\n| `b` | Does b. | 50 | - |\n\n"
            "2 modules, 150 lines; no import cycle.")
    assert module_map.stale(live, live) == []
    assert module_map.stale(live.replace("| 100 |", "| 109 |"), live) == []
    assert module_map.stale(live.replace("| 100 |", "| 111 |"), live) == [
        "a: 111 lines in the map, 100 in the module"]
    assert module_map.stale(live.replace("| b |", "| - |"), live) == [
        "a: imports '-', but it imports 'b'"]
    assert module_map.stale(live.replace("Does b.", "Does c."), live) == [
        "b: job 'Does c.', but its docstring says 'Does b.'"]
    assert module_map.stale(live.replace("| `b` | Does b. | 50 | - |\n", ""), live) == [
        "b: not in the map"]
    assert module_map.stale(live.replace("150 lines", "200 lines"), live) == [
        "total: 200 lines in the map, 150 in the package"]


def test_developing_md_maps_every_module_with_its_job_imports_and_lines():
    doc = module_map.DOC.read_text()
    assert module_map.START in doc and module_map.END in doc
    problems = module_map.stale(module_map._section(doc), module_map.markdown())
    assert not problems, ("the module map in docs/DEVELOPING.md is stale (run "
                          "`.venv/bin/python scripts/module_map.py --write`):\n" + "\n".join(problems))


def _names_the_lessons_call() -> set[str]:
    """``vc.<name>`` and ``from vgg_course.<name> import`` in the lessons' code cells."""
    import json

    used = set()
    for notebook in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["cell_type"] == "code":
                source = "".join(cell["source"])
                used |= set(re.findall(r"\bvc\.([a-z_]+)\b", source))
                used |= set(re.findall(r"from vgg_course\.([a-z_]+)", source))
    return used - {"__version__"}


def test_the_students_namespace_is_what_the_lessons_call():
    import vgg_course

    shown = set(dir(vgg_course)) - {"__version__"}
    assert shown == _names_the_lessons_call()
    assert "instructor" not in shown and not {"grading", "sandbox", "release"} & shown
    assert vgg_course.devices.plan  # the machinery is still reachable, only not listed
    with pytest.raises(AttributeError, match="grading"):
        vgg_course.grading  # noqa: B018  (the instructor's tools are vgg_course.instructor.*)
