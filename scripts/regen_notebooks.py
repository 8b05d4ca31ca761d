"""Regenerate the stored outputs of the course notebooks, in the mode CI checks them.

Usage:
    python scripts/regen_notebooks.py                 # every notebooks/NN_*.ipynb
    python scripts/regen_notebooks.py notebooks/03_freezing.ipynb ...

Each notebook runs top to bottom in a fresh kernel in the mode its outputs are stored and
checked in (``vgg_course.stored.stored_mode``: quick mode, ``VGG_COURSE_QUICK=1``, for most; real
mode, ``VGG_COURSE_REAL=1`` with the ants/bees photos, for the notebooks whose point is a
result), from the ``notebooks/`` folder, and is written back with its new outputs. The
photos are found as the tests find them (``VGG_COURSE_DATA``, ``../shared/datasets``, the
kit's data folder); without them real-mode notebooks are not run, and the script says so. Volatile metadata (execution timings) is dropped and the stored widgets' random
model ids are renamed in a fixed order, so diffs show only real changes.
A notebook that raises is not written, and the script exits non-zero. Afterwards the
English and Japanese editions ``notebooks/{en,ja}/NN_name.ipynb`` and their student copies
``notebooks/{en,ja}/student/NN_name_student.ipynb`` are regenerated from the bilingual lessons
(``python -m vgg_course editions`` does the same). The header's run-time sentence and the
run-time tables are written in both languages; a Japanese cell that was current stays so.
Each lesson's first cell gets the Colab block that ``vgg_course/colab.py`` sets (``vc.colab.stamped``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import uuid
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from vgg_course import colab

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SHARED_PHOTOS = ROOT.parent / "shared" / "datasets" / "hymenoptera_data"


def lesson_notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def clean_metadata(nb: nbformat.NotebookNode) -> None:
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("ExecuteTime", None)


_MODEL_REF = re.compile(r"IPY_MODEL_([0-9a-f]{32})")
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def stable_widget_ids(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The notebook with its widget model ids renamed deterministically.

    ipywidgets gives every model a random id, so each run rewrote the whole stored widget
    state. Ids are renamed in the order the outputs display them, then the order the models
    refer to each other, each to a uuid5 of the notebook name and that position.
    """
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    if not state:
        return nb
    order: list[str] = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            if view and view.get("model_id") in state and view["model_id"] not in order:
                order.append(view["model_id"])
    for model_id in order:  # grows while it runs: breadth-first through the references
        for ref in _MODEL_REF.findall(json.dumps(state[model_id], sort_keys=True)):
            if ref in state and ref not in order:
                order.append(ref)
    order += sorted((m for m in state if m not in order),
                    key=lambda m: json.dumps(state[m], sort_keys=True))
    rename = {old: uuid.uuid5(uuid.NAMESPACE_URL, f"vgg-course/{name}/{i}").hex
              for i, old in enumerate(order)}
    every_id = re.compile("|".join(rename))  # one pass: a new id is never renamed again
    renamed = nbformat.from_dict(json.loads(every_id.sub(lambda m: rename[m[0]], json.dumps(nb))))
    states = renamed.metadata["widgets"][WIDGET_STATE]["state"]
    renamed.metadata["widgets"][WIDGET_STATE]["state"] = {rename[m]: states[rename[m]] for m in order}
    return renamed


def kernel_env(path: Path) -> dict[str, str]:
    """This process's environment with the variables of the notebook's stored mode."""
    from vgg_course import stored

    mode = stored.stored_mode(nbformat.read(path, as_version=4).metadata)
    env = {k: v for k, v in os.environ.items() if k not in ("VGG_COURSE_QUICK", "VGG_COURSE_REAL")}
    photos = stored.find_photos(SHARED_PHOTOS) if mode == "real" else None
    env.update({k: v for k, v in stored.kernel_env(mode, photos).items() if v})
    return env


def mode_of(nb: nbformat.NotebookNode) -> str:
    from vgg_course import stored

    return stored.stored_mode(nb.metadata)


CORES = os.cpu_count() or 1
_RUN_TIME = re.compile(r"\*\*(?:Expected run time|Run time):\*\*.*?(?=\n\n|\Z)", re.S)
_RUN_TIME_JA = re.compile(r"\*\*実行時間:\*\*.*?(?=\n\n|\Z)", re.S)
MODE_JA = {"quick": "クイック", "real": "実データ", "practice": "練習", "full": "フル"}


def run_time_line(mode: str, seconds: float) -> str:
    """The header's run-time sentence, from the run that stored the outputs."""
    return (f"**Run time:** {seconds:.0f} s on {CORES} CPU cores in {mode} mode, measured by "
            f"`make notebooks`; other modes and machines: the table in notebook 00.")


def run_time_line_ja(mode: str, seconds: float) -> str:
    """The Japanese header's run-time sentence."""
    return (f"**実行時間:** {seconds:.0f} 秒（{CORES} CPU コア、{MODE_JA[mode]}モード、"
            "`make notebooks` で計測）。ほかのモードやマシンでの時間は、ノートブック 00 の表を"
            "参照してください。")


def _rewrite_pair(nb: nbformat.NotebookNode, index: int, en, ja) -> None:
    """Rewrite the English cell ``index`` with ``en`` and its Japanese cell with ``ja``
    (both ``str -> str``); a Japanese cell that was current for the old English stays current."""
    from vgg_course.instructor import editions

    cell = nb.cells[index]
    pair = nb.cells[index + 1] if index + 1 < len(nb.cells) else None
    paired = pair is not None and editions.cell_lang(pair) == "ja"
    current = paired and editions.translates(pair).get("sha256") == editions.sha256(cell.source)
    cell.source = en(cell.source)
    if paired:
        pair.source = ja(pair.source)
        if current:
            pair.metadata["vgg_course"]["translates"]["sha256"] = editions.sha256(cell.source)


def record_run_time(nb: nbformat.NotebookNode, mode: str, seconds: float) -> None:
    """Store the measured time in the notebook's metadata and its header's run-time sentence."""
    nb.metadata.setdefault("vgg_course", {})["run"] = {"mode": mode, "seconds": round(seconds, 1),
                                                        "cpus": CORES}
    if not _RUN_TIME.search(nb.cells[0].source):
        raise ValueError("the first cell has no '**Run time:**' sentence to fill in")
    _rewrite_pair(nb, 0,
                  lambda text: _RUN_TIME.sub(lambda _: run_time_line(mode, seconds), text, count=1),
                  lambda text: _RUN_TIME_JA.sub(lambda _: run_time_line_ja(mode, seconds), text,
                                                count=1))


RUN_TIMES_START, RUN_TIMES_END = "<!-- run-times:start -->", "<!-- run-times:end -->"


def run_time_table(lang: str = "en") -> str:
    """Every lesson's measured time, from the metadata the last regeneration stored."""
    if lang == "ja":
        rows = ["| ノートブック | コースのチェックで実行するモード | %d CPU コアでの計測値 |" % CORES,
                "|---|---|---:|"]
    else:
        rows = ["| notebook | mode the course's checks run it in | measured on %d CPU cores |" % CORES,
                "|---|---|---:|"]
    for path in lesson_notebooks():
        run = nbformat.read(path, as_version=4).metadata.get("vgg_course", {}).get("run")
        if run and lang == "ja":
            rows.append(f"| {path.stem} | {MODE_JA[run['mode']]}モード | {run['seconds']:.0f} 秒 |")
        elif run:
            rows.append(f"| {path.stem} | {run['mode']} mode | {run['seconds']:.0f} s |")
    return "\n".join(rows)


def write_run_time_tables() -> None:
    """Fill the run-time tables between the markers in notebook 00 and the README."""
    table = f"{RUN_TIMES_START}\n{run_time_table()}\n{RUN_TIMES_END}"
    table_ja = f"{RUN_TIMES_START}\n{run_time_table('ja')}\n{RUN_TIMES_END}"
    marked = re.compile(re.escape(RUN_TIMES_START) + ".*?" + re.escape(RUN_TIMES_END), re.S)
    setup = NOTEBOOKS / "00_setup_check.ipynb"
    nb = nbformat.read(setup, as_version=4)
    from vgg_course.instructor import editions

    for index, cell in enumerate(nb.cells):
        if (cell.cell_type == "markdown" and RUN_TIMES_START in cell.source
                and editions.cell_lang(cell) != "ja"):
            _rewrite_pair(nb, index, lambda text: marked.sub(lambda _: table, text),
                          lambda text: marked.sub(lambda _: table_ja, text))
    nbformat.write(nb, setup)
    for readme, text_table in ((ROOT / "README.md", table), (ROOT / "README.ja.md", table_ja)):
        text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
        if RUN_TIMES_START in text:
            readme.write_text(marked.sub(lambda _, t=text_table: t, text), encoding="utf-8")


def run(path: Path, *, timeout: int = 600) -> float:
    env = kernel_env(path)  # ValueError in real mode without the photos
    nb = nbformat.read(path, as_version=4)
    first = colab.first_code_cell(nb)
    first.source = colab.stamped(first.source)  # the Colab block as vgg_course/colab.py sets it
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            store_widget_state=True)
    client.execute(env=env)
    seconds = time.perf_counter() - start
    clean_metadata(nb)
    record_run_time(nb, mode_of(nb), seconds)
    nb = stable_widget_ids(nb, path.name)
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    args = parser.parse_args(argv)
    failed = []
    for path in args.notebooks or lesson_notebooks():
        try:
            seconds = run(path.resolve(), timeout=args.timeout)
            print(f"{path.name}: {seconds:.1f} s")
        except CellExecutionError as exc:
            failed.append(path.name)
            print(f"{path.name}: FAILED, not written\n{str(exc)[-2000:]}", file=sys.stderr)
        except ValueError as exc:  # real mode without the photos
            failed.append(path.name)
            print(f"{path.name}: not run: {exc}", file=sys.stderr)
    write_run_time_tables()
    from vgg_course.instructor import editions

    for path in editions.write_editions():
        print(f"edition: {path.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
