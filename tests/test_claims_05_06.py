"""What the stored real-mode runs of lessons 05 and 06 must show, read from their outputs.

The lessons build every sentence that interprets a result from the run's own numbers
(``result.conclusion()``, the cells that end in ``Markdown(...)``), so they hold in every mode.
What the stored run on the ants/bees photos with the offline companion has to reach, and what
the README and the lessons' general prose rely on, is checked here: transfer learning is a
strong baseline, from scratch is far below it, fine-tuning costs more time, the head started
from ImageNet's ant and bee rows starts where the pretrained network's own answer is, and the
lab's reading says which noise is larger and that the best is picked on the reported images.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
REGEN = "run scripts/regen_notebooks.py"


def _cell(name: str, marker: str) -> dict:
    nb = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    found = [c for c in nb["cells"] if c["cell_type"] == "code" and marker in "".join(c["source"])]
    if len(found) != 1:
        pytest.fail(f"{name}: expected one code cell containing {marker!r}, found {len(found)}")
    if not found[0]["outputs"]:
        pytest.fail(f"{name}: the cell containing {marker!r} has no stored output: {REGEN}")
    return found[0]


def _markdown(cell: dict) -> str:
    texts = ["".join(o["data"]["text/markdown"]) for o in cell["outputs"]
             if "text/markdown" in o.get("data", {})]
    if not texts:
        pytest.fail(f"no Markdown output in {''.join(cell['source'])[:80]!r}: {REGEN}")
    return texts[-1]


def _rows(markdown: str) -> dict[str, list[str]]:
    """A Markdown table's rows by the first word of their first cell."""
    rows = {}
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells and not set(cells[0]) <= set("-: "):
            rows[cells[0].split()[0]] = cells
    return rows


def _percent(text: str) -> float:
    return float(re.match(r"\s*([\d.]+)%", text)[1]) / 100


def _stored_mode(name: str) -> str:
    nb = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    return nb["metadata"].get("vgg_course", {}).get("mode", "quick")


@pytest.fixture(scope="module")
def lab() -> dict[str, list[str]]:
    assert _stored_mode("06_comparison_lab.ipynb") == "real"
    return _rows(_markdown(_cell("06_comparison_lab.ipynb", "result = vc.compare.run(")))


def test_06_transfer_learning_is_a_strong_baseline_and_from_scratch_far_below(lab):
    tl, scratch = _percent(lab["transfer_learning"][2]), _percent(lab["from_scratch"][2])
    assert tl >= 0.88, lab["transfer_learning"]
    assert tl - scratch >= 0.15, (lab["transfer_learning"], lab["from_scratch"])


def test_06_full_fine_tuning_costs_more_than_twice_transfer_learnings_time(lab):
    seconds = {name: float(row[8]) for name, row in lab.items() if name in (
        "transfer_learning", "full_finetune")}
    assert seconds["full_finetune"] > 2 * seconds["transfer_learning"], seconds


def test_06_every_row_has_its_interval_and_its_untrained_accuracy(lab):
    for name, row in lab.items():
        if name == "recipe":
            continue
        low, high = (_percent(x) for x in row[3].split(" - "))
        assert low <= _percent(row[2]) <= high, row
        assert row[4].endswith("%"), row


def test_06_the_imagenet_rows_head_starts_at_the_pretrained_networks_own_answer(lab):
    reading = _markdown(_cell("06_comparison_lab.ipynb", "Markdown(result.conclusion())"))
    baseline = _percent(re.search(r"scores ([\d.]+%) on these images", reading)[1])
    assert baseline >= 0.90, reading
    assert _percent(lab["finetune_imagenet_rows"][4]) == pytest.approx(baseline, abs=1e-3)
    assert _percent(lab["transfer_learning"][4]) < 0.70  # a random new head starts near chance


def test_06_the_reading_weighs_both_noises_and_names_the_same_split():
    reading = _markdown(_cell("06_comparison_lab.ipynb", "Markdown(result.conclusion())"))
    assert re.search(r"The larger noise is the (seed|sampling)", reading), reading
    assert "picked on the same 153 validation images it is reported on" in reading
    assert "answering 'bees' for every image (54.2%)" in reading


def test_05_shows_the_three_starts_before_and_after_training():
    assert _stored_mode("05_fine_tuning.ipynb") == "real"
    table = _rows(_markdown(_cell("05_fine_tuning.ipynb", "starts = vc.compare.run(")))
    rows_start, random_start = table["finetune_imagenet_rows"], table["finetune_new_classifier"]
    assert "finetune_pretrained_classifier" in random_start[0]  # one layer, one start: merged
    assert _percent(rows_start[2]) >= 0.90 and _percent(random_start[2]) < 0.70
    reading = _markdown(_cell("05_fine_tuning.ipynb", "rows_start = starts.result("))
    assert f"head taken from ImageNet's rows scores {rows_start[2]}" in reading
