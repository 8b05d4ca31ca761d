"""What the stored real-mode runs of lessons 04 and 08 must show, read from their outputs.

The lessons build every sentence that interprets a number from the run's own numbers, so
they stay true in every mode and never stop a student with an ``assert``. What the stored
run (the ants/bees photos and the offline companion) has to reach is checked here instead:
one trained layer reaches 85% on the 153 validation photos, the cache pays for itself, bf16
lands within 3% of fp32, and the heads trained on fp32, bf16 and int8 features end within
two validation images of each other.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
LESSON_04, LESSON_08 = "04_transfer_learning.ipynb", "08_making_it_fast.ipynb"
REGEN = "run scripts/regen_notebooks.py"


def _notebook(name: str) -> dict:
    return json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))


def _cell(name: str, marker: str) -> dict:
    """The one code cell of ``name`` whose source holds ``marker``, with its stored outputs."""
    found = [c for c in _notebook(name)["cells"]
             if c["cell_type"] == "code" and marker in "".join(c["source"])]
    if len(found) != 1:
        pytest.fail(f"{name}: expected one code cell containing {marker!r}, found {len(found)}; "
                    "the lesson changed: update this test with it")
    if not found[0]["outputs"]:
        pytest.fail(f"{name}: the cell containing {marker!r} has no stored output: {REGEN}")
    return found[0]


def _output(cell: dict, kind: str = "text/plain") -> str:
    """The cell's displayed value of one MIME type (``text/plain`` or ``text/markdown``)."""
    texts = ["".join(o["data"][kind]) for o in cell["outputs"] if kind in o.get("data", {})]
    if not texts:
        pytest.fail(f"no {kind} output in the cell {''.join(cell['source'])[:80]!r}: {REGEN}")
    return texts[-1]


def _table(text: str, first_column: str) -> dict[str, dict[str, str]]:
    """A ``vc.tables.Table`` text (columns two or more spaces apart) as {first cell: row}."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(first_column)), None)
    if start is None:
        pytest.fail(f"no table with the column {first_column!r} in:\n{text}")
    header = re.split(r"\s{2,}", lines[start].strip())
    rows = [re.split(r"\s{2,}", line.strip()) for line in lines[start + 1:] if line.strip()]
    return {row[0]: dict(zip(header, row)) for row in rows}


def _percent(cell: str) -> float:
    return float(cell.rstrip("%")) / 100


def _dict(cell: dict) -> dict[str, str]:
    """A cell whose value is a dict of strings, read back from its stored text."""
    text = _output(cell)
    try:
        value = ast.literal_eval(text)
    except (SyntaxError, ValueError):
        pytest.fail(f"not a dict of strings: {text!r}")
    return value


def _field(text: str, pattern: str) -> str:
    found = re.search(pattern, text)
    if found is None:
        pytest.fail(f"{pattern!r} not found in {text!r}")
    return found[1]


def _lesson_code(name: str) -> list[str]:
    cells = _notebook(name)["cells"]
    end = next((i for i, c in enumerate(cells) if "".join(c["source"]).startswith("## Exercises")),
               len(cells))
    return ["".join(c["source"]) for c in cells[:end] if c["cell_type"] == "code"]


@pytest.mark.parametrize("name", [LESSON_04, LESSON_08])
def test_no_lesson_cell_asserts_and_no_output_is_warning_text(name):
    for source in _lesson_code(name):
        assert not re.search(r"^\s*assert\b", source, re.MULTILINE), (
            f"{name}: a lesson cell asserts (checks of the stored run belong here):\n{source}")
        assert "claims =" not in source, f"{name}: a claims cell is back:\n{source}"
    for cell in _notebook(name)["cells"]:
        for out in cell.get("outputs", []):
            assert out.get("name") != "stderr", (
                f"{name}: stored stderr (warning text) in {''.join(cell['source'])[:80]!r}:\n"
                + "".join(out["text"])[:500])


def test_04_one_trained_layer_reaches_85_percent_on_the_153_validation_photos():
    history = _output(_cell(LESSON_04, "history = vc.engine.fit(cached.head"))
    epochs = _table(history, "epoch")
    last = epochs[str(len(epochs))]
    assert _percent(last["val_accuracy"]) >= 0.85, history
    sentence = _output(_cell(LESSON_04, "answering"), "text/markdown")
    trained = int(_field(sentence, r"One trained layer \(([\d,]+) parameters\)").replace(",", ""))
    assert trained in (512 * 2 + 2, 4096 * 2 + 2), sentence  # SqueezeNet's or VGG16's new head only
    assert "on the 153 validation images" in sentence and last["val_accuracy"] in sentence, sentence
    assert '"bees" every time would score 54.2%' in sentence and "far above it" in sentence, sentence


def test_04_the_cache_costs_once_what_an_epoch_would_repeat():
    cell = _cell(LESSON_04, "history = vc.engine.fit(cached.head")
    cached = "".join("".join(o["text"]) for o in cell["outputs"] if o.get("name") == "stdout")
    pass_seconds = float(_field(cached, r"ran once \([a-z0-9]+, ([\d.]+) s\)"))
    epochs = _table(_output(cell), "epoch")
    slowest_epoch = max(float(row["seconds"]) for row in epochs.values())
    assert slowest_epoch < pass_seconds, (cached, epochs)  # else the cache would save nothing
    sentence = _output(_cell(LESSON_04, "Uncached, every epoch"), "text/markdown")
    assert f"in {pass_seconds:.1f} s" in sentence, sentence


def test_08_a_cached_epoch_gives_the_uncached_result_in_less_time():
    runs = _dict(_cell(LESSON_08, "uncached = copy.deepcopy(model)"))
    plain, fast = runs["uncached"], runs["cached"]
    loss = r"train loss ([\d.]+)"
    assert abs(float(_field(plain, loss)) - float(_field(fast, loss))) < 5e-5, runs
    accuracy = r"val accuracy ([\d.]+%)"
    assert _field(plain, accuracy) == _field(fast, accuracy), runs
    seconds = r", ([\d.]+) s$"
    assert float(_field(fast, seconds)) < float(_field(plain, seconds)), runs
    sentence = _output(_cell(LESSON_08, "saved = plain.seconds - fast.seconds"), "text/markdown")
    assert sentence.startswith("The two epochs give the same training loss"), sentence


def test_08_bf16_and_int8_features_land_near_fp32():
    runs = _dict(_cell(LESSON_08, "distance = {asked"))
    assert set(runs) == {"fp32", "auto", "int8"}, runs  # the stored machine has bf16 and int8
    assert runs["auto"].startswith("ran as bfloat16") and runs["int8"].startswith("ran as int8"), runs
    distance = {asked: _percent(_field(text, r"([\d.]+%) from fp32$")) for asked, text in runs.items()}
    assert distance["fp32"] == 0 and 0 < distance["auto"] < 0.03 and 0 < distance["int8"] < 0.15, runs
    sentence = _output(_cell(LESSON_08, "def pace("), "text/markdown")
    assert f"bfloat16 lands {distance['auto']:.2%} from fp32" in sentence, sentence


def test_08_heads_trained_on_each_format_end_within_two_validation_images():
    heads = _dict(_cell(LESSON_08, "accuracy[asked] ="))
    assert set(heads) == {"fp32", "auto", "int8"}, heads
    for asked, text in heads.items():
        assert _percent(_field(text, r"-> ([\d.]+%),")) >= 0.85, heads
        assert int(_field(text, r"(\d+) images apart from fp32")) <= 2, (asked, heads)
    sentence = _output(_cell(LESSON_08, "low, high = vc.compare.stats.wilson("), "text/markdown")
    assert "of 153)" in sentence, sentence
    assert "the head learns the same thing" in sentence or "changed nothing" in sentence, sentence
