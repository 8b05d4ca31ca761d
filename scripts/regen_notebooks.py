"""Regenerate the stored outputs of the course notebooks, in the mode CI checks them.

Usage:
    python scripts/regen_notebooks.py                 # every notebooks/NN_*.ipynb
    python scripts/regen_notebooks.py notebooks/03_freezing.ipynb ...

Each notebook runs top to bottom in a fresh kernel with ``VGG_COURSE_QUICK=1`` (the mode
nbval uses in ``pytest``), from the ``notebooks/`` folder, and is written back with its new
outputs. Volatile metadata (execution timings) is dropped so diffs show only real changes.
A notebook that raises is not written, and the script exits non-zero. Afterwards the
student copies in ``notebooks/student/`` are regenerated from the lessons (solutions removed).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
CI_ENV = {"VGG_COURSE_QUICK": "1", "PYTHONHASHSEED": "0", "TQDM_DISABLE": "1"}


def lesson_notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def clean_metadata(nb: nbformat.NotebookNode) -> None:
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("ExecuteTime", None)


def run(path: Path, *, timeout: int = 600) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            store_widget_state=True)
    client.execute()
    clean_metadata(nb)
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    os.environ.update(CI_ENV)  # the kernels inherit this environment
    failed = []
    for path in args.notebooks or lesson_notebooks():
        try:
            seconds = run(path.resolve())
            print(f"{path.name}: {seconds:.1f} s")
        except CellExecutionError as exc:
            failed.append(path.name)
            print(f"{path.name}: FAILED, not written\n{str(exc)[-2000:]}", file=sys.stderr)
    from vgg_course.authoring import write_student_notebooks

    for path in write_student_notebooks():
        print(f"student copy: {path.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
