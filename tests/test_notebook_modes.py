"""Which notebooks are stored in real mode, and what the tests do where the photos are missing."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL = {"01_loading_vgg16.ipynb", "04_transfer_learning.ipynb", "05_fine_tuning.ipynb",
        "06_comparison_lab.ipynb",
        "07_other_networks.ipynb", "08_making_it_fast.ipynb"}


def _root_conftest():
    spec = importlib.util.spec_from_file_location("root_conftest", REPO / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_notebooks_whose_point_is_a_result_are_stored_in_real_mode():
    modes = {p.name: json.loads(p.read_text())["metadata"].get("vgg_course", {}).get("mode", "quick")
             for p in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))}
    assert {name for name, mode in modes.items() if mode == "real"} == REAL
    for name in REAL:  # and they were stored in it: their banner says so
        nb = json.loads((REPO / "notebooks" / name).read_text())
        first_code = next(c for c in nb["cells"] if c["cell_type"] == "code")
        banner = "".join(first_code["outputs"][0]["data"]["text/plain"])
        assert "REAL MODE" in banner, name


class _Item:
    def __init__(self, path: Path) -> None:
        self.fspath, self.markers = path, []

    def add_marker(self, marker) -> None:
        self.markers.append(marker)


def test_without_the_photos_exactly_the_real_mode_notebooks_are_skipped_with_the_reason(monkeypatch):
    conftest = _root_conftest()
    monkeypatch.setattr(conftest, "_photos", lambda: None)
    items = [_Item(p) for p in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))]
    items.append(_Item(REPO / "tests" / "test_config.py"))
    conftest.pytest_collection_modifyitems(None, items)
    skips = {Path(str(i.fspath)).name: [m for m in i.markers if m.name == "skip"] for i in items}
    assert {name for name, found in skips.items() if found} == REAL
    reason = next(found for found in skips.values() if found)[0].kwargs["reason"]
    assert "VGG_COURSE_DATA" in reason and "real mode" in reason
    slow = {Path(str(i.fspath)).name for i in items if any(m.name == "slow" for m in i.markers)}
    assert slow == {p.name for p in REPO.glob("notebooks/[0-9][0-9]_*.ipynb")}  # not the quick tier


def test_with_the_photos_real_mode_notebooks_get_the_real_mode_environment(monkeypatch, tmp_path):
    import os

    conftest = _root_conftest()
    monkeypatch.setattr(conftest, "_photos", lambda: tmp_path)
    monkeypatch.setenv("VGG_COURSE_QUICK", "1")
    seen = {}
    hook = conftest.pytest_runtest_setup(_Item(REPO / "notebooks" / "06_comparison_lab.ipynb"))
    next(hook)  # nbval would start the kernel now
    seen = {k: os.environ.get(k) for k in ("VGG_COURSE_QUICK", "VGG_COURSE_REAL", "VGG_COURSE_DATA")}
    with pytest.raises(StopIteration):
        next(hook)
    assert seen == {"VGG_COURSE_QUICK": None, "VGG_COURSE_REAL": "1", "VGG_COURSE_DATA": str(tmp_path)}
    assert os.environ["VGG_COURSE_QUICK"] == "1" and "VGG_COURSE_REAL" not in os.environ


def test_the_readme_results_table_is_the_stored_lab_run():
    # The README's "Results" table must be the stored notebook 06 run, number for number.
    nb = json.loads((REPO / "notebooks" / "06_comparison_lab.ipynb").read_text())
    stored = next("".join(o["data"]["text/plain"]) for c in nb["cells"] if c["cell_type"] == "code"
                  and c["source"] and "".join(c["source"]).startswith("result = vc.compare.run(")
                  for o in c["outputs"] if "text/plain" in o.get("data", {}))
    readme = (REPO / "README.md").read_text()
    results = readme.split("## Results", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in stored.splitlines()[2:] if "%" in line]
    assert len(rows) == 5, stored
    for line in rows:
        name, trainable, acc = line.split()[0], line.split()[1], " ".join(line.split()[2:5])
        readme_row = next(r for r in results.splitlines()
                          if r.startswith("| ") and r.split("|")[2].strip() == trainable
                          and name.split("_")[0] in r.split("|")[1].split("(")[0].lower())
        assert acc in readme_row, (line, readme_row)
    assert "SqueezeNet 1.1" in results and "seeds 0, 1 and 2" in results


def test_a_skipped_real_mode_notebook_gets_no_environment_and_no_error(monkeypatch):
    import os

    conftest = _root_conftest()
    monkeypatch.setattr(conftest, "_photos", lambda: None)
    monkeypatch.setenv("VGG_COURSE_QUICK", "1")
    hook = conftest.pytest_runtest_setup(_Item(REPO / "notebooks" / "06_comparison_lab.ipynb"))
    next(hook)  # the skip marker skips the item here; no ValueError for the missing photos
    assert os.environ["VGG_COURSE_QUICK"] == "1"
    with pytest.raises(StopIteration):
        next(hook)


def test_looking_for_the_photos_leaves_this_process_in_its_own_mode(monkeypatch, tmp_path):
    import vgg_course as vc

    conftest = _root_conftest()
    (tmp_path / "train").mkdir()
    (tmp_path / "val").mkdir()
    monkeypatch.setenv("VGG_COURSE_DATA", str(tmp_path))
    monkeypatch.setenv("VGG_COURSE_QUICK", "1")
    monkeypatch.setenv("VGG_COURSE_REAL", "1")  # a caller's real mode beside our quick default
    assert conftest._photos() == tmp_path  # no "both set" error: quick is left out meanwhile
    monkeypatch.delenv("VGG_COURSE_REAL")
    assert conftest._photos() == tmp_path
    assert vc.config.settings().mode == "quick"  # read again afterwards, with quick mode back
