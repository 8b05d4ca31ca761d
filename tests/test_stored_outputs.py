"""What the lessons' stored outputs and the student notebooks' prose may say.

Stored outputs travel to every student's machine: they must not show the folders of the machine
that made them, nor warnings meant for a developer. A student notebook has no outputs at all,
so its prose must not point at one ("the stored output above").

Some of these fail until the notebooks are regenerated (``scripts/regen_notebooks.py``, then
``python -m vgg_course student-notebooks``): a test reads the files as they are committed.
"""

from __future__ import annotations

import ast
import html
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
STUDENT_EN = sorted((NOTEBOOKS / "en" / "student").glob("[0-9][0-9]_*.ipynb"))
STUDENT = [*STUDENT_EN, *sorted((NOTEBOOKS / "ja" / "student").glob("[0-9][0-9]_*.ipynb"))]
REGENERATE = ("regenerate the stored outputs (scripts/regen_notebooks.py) and the student copies "
              "(python -m vgg_course editions) after fixing the source")

# A machine's absolute path: a POSIX path from the root with at least two parts (/work/x,
# /root/.cache/..., /home/ann/..., /tmp/pytest-3/..., /Users/ann/..., /content/drive/...), a
# file:// URL, or a Windows drive path (C:\Users\...). Not a machine's: URLs (https://host/a/b),
# relative paths (train/ants/x.jpg), `<course folder>/...`, `~/...`, `$TORCH_HOME/...`, units
# (images/s), closing HTML tags (</div>), and the placeholder /path/to/... in instructions.
ABSOLUTE_PATH = re.compile(
    r"(?<![\w.~$<>:/\\-])/(?!path/to/)[\w.-]+/[^\s`'\"<>)\]|,;]+"
    r"|\bfile:///\S+"
    r"|(?<![\w])[A-Za-z]:\\[^\s`'\"<>]*")
# A warning in an output: Python's ("UserWarning: ..."), or a torch/glog log line ("W1205 02:00:24...").
WARNING = re.compile(r"\b[A-Z]\w*Warning: |^[WE]\d{4} \d\d:\d\d:\d\d", re.MULTILINE)
# Prose that points at an output a student copy does not have. Cells and the lab ("the cells
# above", "run the cell below", "the lab above runs on") are fine: a student runs them; what
# they show is not there until then.
MISSING_OUTPUT = re.compile(
    r"\bstored\s+(?:output|run|histor|table|figure|chart|plot|curve|result|number|notebook|accurac|mode)\w*"
    r"|\boutputs?\s+(?:are|were|is|was)\s+stored\b"
    r"|\bstored\s+in\s+(?:real|quick|practice|full)\s+mode\b"
    r"|\b(?:these|those)\s+outputs\b"
    r"|\boutputs?\s+you\s+see\s+before\s+running\b"
    r"|\b(?:the|this|that|its)\s+(?:output|printout|table|figure|chart|plot|banner|history|curves?"
    r"|conclusion|numbers?|results?|run)s?\s+(?:above|below)\b"
    r"|\b(?:checked|shown|printed|measured)\s+above\b"
    r"|\b(?:above|below)\s+(?:shows|says|prints|printed)\b",
    re.IGNORECASE)


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _output_texts(output: dict) -> list[str]:
    """Every text a reader sees in one output (not images, not widget state)."""
    texts = []
    if output["output_type"] == "stream":
        texts.append("".join(output["text"]))
    elif output["output_type"] == "error":
        texts += [output["ename"], output["evalue"], *output["traceback"]]
    for mime, value in output.get("data", {}).items():
        if mime.startswith("text/") or mime == "application/json":
            text = (value if isinstance(value, str) else "".join(value) if isinstance(value, list)
                    else json.dumps(value))
            texts.append(html.unescape(text) if mime == "text/html" else text)  # &gt;/ is >/
    return texts


def _prose(cell: dict) -> str:
    """What a student reads as the course's words: markdown, and the comments of code."""
    source = "".join(cell["source"])
    if cell["cell_type"] == "markdown":
        return source
    return "\n".join(line[line.index("#"):] for line in source.splitlines() if "#" in line)


def _sentences_pointing_at_missing_outputs(path: Path) -> list[str]:
    found = []
    for index, cell in enumerate(_cells(path)):
        prose = _prose(cell)
        for match in MISSING_OUTPUT.finditer(prose):
            start, end = max(0, match.start() - 60), match.end() + 40
            found.append(f"cell {index}: ...{prose[start:end]!r}...")
    return found


def _lesson_cells(path: Path) -> list[dict]:
    """The lesson's own cells: those before its "## Exercises" section."""
    cells = _cells(path)
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "markdown" and "".join(cell["source"]).startswith("## Exercises"):
            return cells[:index]
    return cells


# --- the detectors themselves: each must catch the phrasing that was really found, and pass the rest


@pytest.mark.parametrize("text", [
    "398 files under /work/shared/datasets/hymenoptera_data (train/ + val/)",
    "**squeezenet** on `/work/shared/datasets/hymenoptera_data` (244 train / 153 val images)",
    "Pretrained weights file is missing: /root/.cache/torch/hub/checkpoints/vgg16-397923af.pth",
    "saved to /home/ann/course/results/lab.json", "/tmp/pytest-of-root/pytest-0/x",
    "/Users/ann/Downloads/hymenoptera_data", "C:\\Users\\ann\\course", "file:///work/main/x.png",
    "CUDA_HOME='/usr/local'",
])
def test_the_path_detector_finds_a_machines_path(text):
    assert ABSOLUTE_PATH.search(text), text


@pytest.mark.parametrize("text", [
    "https://download.pytorch.org/models/vgg16-397923af.pth", "<course folder>/../shared/datasets/x",
    "~/.cache/torch/hub/checkpoints/vgg16-397923af.pth", "$TORCH_HOME/hub/checkpoints/x.pth",
    "python -m vgg_course weights install /path/to/vgg16-397923af.pth", "413 images/s",
    "skipped train/ants/imageNotFound.gif", "92.8% / 91.5% / 91.5%", "<div><b>x</b></div>",
    "(train/ + val/)", "lr 0.003 (head) / 0.001 (backbone)", "features.0..features.12 ran once",
])
def test_the_path_detector_lets_relative_paths_and_urls_pass(text):
    assert not ABSOLUTE_PATH.search(text), ABSOLUTE_PATH.search(text)


@pytest.mark.parametrize("text", [
    "are right on 95.4% of the 153 validation photos (the stored output above).",
    "so yours may differ from the stored output.", "the stored\nhistory shows the exact figure",
    "in the stored run no fine-tuning recipe beats transfer learning",
    "for several times the cost (the seconds in the stored table; your machine's will differ)",
    "The stored notebook starts it at \"freeze up to conv5\".",
    "(checked above: at least 85%)", "as the banner above says.", "the run above shows",
    "The stored outputs you see before running were made in the mode the course's tests check",
    "measured on the machine that made these outputs", "# the table below shows the counts",
    "**Run time:** about 20 s on a 2-core CPU, stored in real mode (`VGG_COURSE_REAL=1`)",
])
def test_the_prose_detector_finds_sentences_about_missing_outputs(text):
    assert MISSING_OUTPUT.search(text), text


@pytest.mark.parametrize("text", [
    "Run the check, then run the verify cell below it.", "the cells above", "The cell below starts it at",
    "normalise with their stored statistics", "trains a tiny model on stored vectors",
    "If a notebook shows outputs before you run it, the course's checks made them",
    "the first cell says which mode you are in", "the reading cell measures it on your run",
    "With the weights installed, the lab above runs on VGG16 itself.",
])
def test_the_prose_detector_lets_other_sentences_pass(text):
    assert not MISSING_OUTPUT.search(text), MISSING_OUTPUT.search(text)


# --- the notebooks


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_no_stored_output_shows_a_machines_absolute_path(path):
    found = [f"cell {index}: {match.group(0)!r}"
             for index, cell in enumerate(_cells(path)) for output in cell.get("outputs", [])
             for text in _output_texts(output) for match in ABSOLUTE_PATH.finditer(text)]
    assert not found, (f"{path.name} shows absolute paths (show them relative to the course folder, "
                       f"`~` or `$TORCH_HOME`; {REGENERATE}):\n" + "\n".join(found))


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_no_stored_output_holds_stderr_or_a_warning(path):
    found = []
    for index, cell in enumerate(_cells(path)):
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream" and output["name"] == "stderr":
                found.append(f"cell {index}: stderr {''.join(output['text'])[:120]!r}")
            found += [f"cell {index}: {m.group(0)!r}" for text in _output_texts(output)
                      for m in WARNING.finditer(text)]
    assert not found, (f"{path.name} stores warning text (silence it at its source; {REGENERATE}):\n"
                       + "\n".join(found))


@pytest.mark.parametrize("path", LESSONS + STUDENT, ids=lambda p: p.stem)
def test_prose_never_points_at_an_output_a_student_copy_does_not_have(path):
    found = _sentences_pointing_at_missing_outputs(path)
    assert not found, (f"{path.name}: a student copy has no outputs, so these sentences point at nothing "
                       f"(say what running the cell shows, or compute the sentence from the results):\n"
                       + "\n".join(found))


def test_every_lesson_has_its_student_copy():
    assert len(LESSONS) >= 8
    for lang in ("en", "ja"):
        students = sorted((NOTEBOOKS / lang / "student").glob("[0-9][0-9]_*.ipynb"))
        assert [p.stem + "_student" for p in LESSONS] == [p.stem for p in students], REGENERATE


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_no_lesson_cell_asserts_what_a_students_run_must_show(path):
    """A claim about a run is a sentence built from its numbers, or a test: never an ``assert``
    that stops a student's lesson when their run (real VGG16 weights, another seed) differs."""
    found = []
    for index, cell in enumerate(_lesson_cells(path)):
        source = "".join(cell["source"]) if cell["cell_type"] == "code" else ""
        try:
            tree = ast.parse(source)
        except SyntaxError:  # IPython magics: not the kit's lessons' style, and not an assert
            continue
        found += [f"cell {index}, line {node.lineno}" for node in ast.walk(tree)
                  if isinstance(node, ast.Assert)]
    assert not found, f"{path.name} has asserts in its lesson cells: " + ", ".join(found)
