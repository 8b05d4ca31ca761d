"""The lesson notebooks are stored the way nbval can check them, and nbval catches drift."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LESSONS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _code_cells(path: Path) -> list[dict]:
    nb = json.loads(path.read_text())
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def test_the_course_has_its_first_notebooks():
    names = [p.name for p in LESSONS]
    for expected in ("00_setup_check.ipynb", "01_loading_vgg16.ipynb", "02_state_dict.ipynb"):
        assert expected in names


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_stored_outputs_are_complete_and_clean(path):
    # nbval skips the comparison for cells that were never run, so an un-run notebook would
    # pass silently: require every code cell to have been executed, in order, without errors.
    cells = _code_cells(path)
    counts = [c["execution_count"] for c in cells]
    assert counts == list(range(1, len(cells) + 1)), f"{path.name}: run scripts/regen_notebooks.py"
    for cell in cells:
        for out in cell["outputs"]:
            assert out["output_type"] != "error", f"{path.name}: stored error output"
            assert "Traceback" not in "".join(out.get("text", "")), f"{path.name}: stored traceback"


EDITIONS = [(p, lang) for p in LESSONS for lang in ("en", "ja")]


@pytest.mark.parametrize(("path", "lang"), EDITIONS, ids=[f"{lang}/{p.name}" for p, lang in EDITIONS])
def test_notebooks_follow_the_house_layout(path, lang):
    """What a student opens, in either edition: the title, then the mode banner."""
    path = path.parent / lang / path.name
    nb = json.loads(path.read_text())
    first, second = nb["cells"][0], nb["cells"][1]
    assert first["cell_type"] == "markdown" and "".join(first["source"]).startswith("# ")
    assert ("**Run time:**" if lang == "en" else "**実行時間:**") in "".join(first["source"])
    assert "banner()" in "".join(second["source"]), "cell 2 must show the mode banner"
    for cell in _code_cells(path):
        src = "".join(cell["source"])
        assert "pretrained=True" not in src
        assert "!pip" not in src and "sys.path" not in src


@pytest.mark.slow
def test_nbval_fails_when_a_checked_output_drifts(tmp_path):
    source = REPO / "notebooks" / "02_state_dict.ipynb"
    nb = json.loads(source.read_text())
    changed = 0
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            text = out.get("data", {}).get("text/plain")
            if text and "138,357,544" in "".join(text) and "section" in "".join(text):
                out["data"]["text/plain"] = "".join(text).replace("138,357,544", "138,357,545")
                changed += 1
    assert changed == 1
    copy = tmp_path / "02_drifted.ipynb"
    copy.write_text(json.dumps(nb))
    env = {**os.environ, "VGG_COURSE_QUICK": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", os.devnull, "--rootdir", str(tmp_path), "-q",
         "-p", "no:cacheprovider", "--nbval", "--nbval-current-env", str(copy)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "1 failed" in result.stdout and "Cell outputs differ" in result.stdout


def _regen_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("regen_notebooks", REPO / "scripts" / "regen_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stored_widget_ids_do_not_depend_on_the_run():
    """Every run gives the widgets new random ids; the stored notebook must not change."""
    import re
    import uuid

    import nbformat

    regen = _regen_script()
    path = REPO / "notebooks" / "03_freezing.ipynb"
    stored = nbformat.read(path, as_version=4)
    state = stored.metadata["widgets"][regen.WIDGET_STATE]["state"]
    assert len(state) > 10
    another_run = {old: uuid.uuid4().hex for old in state}
    text = re.sub("|".join(another_run), lambda m: another_run[m[0]], json.dumps(stored))
    rerun = regen.stable_widget_ids(nbformat.from_dict(json.loads(text)), path.name)
    assert json.dumps(rerun, sort_keys=True) == json.dumps(stored, sort_keys=True), (
        "stored widget ids are not the stable ones: run scripts/regen_notebooks.py")
    nbformat.validate(rerun)
    views = [o["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
             for c in rerun.cells for o in c.get("outputs", [])
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert views and all(v in rerun.metadata["widgets"][regen.WIDGET_STATE]["state"] for v in views)
