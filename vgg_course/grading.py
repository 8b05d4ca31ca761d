"""The instructor's grader: run each submitted notebook, re-check it, write a gradebook.

``python -m vgg_course grade submissions/ --out grades/`` executes every submitted
notebook in a fresh kernel (nbclient) in quick mode, with a time limit per cell and per
notebook, then runs one grading cell of its own in that kernel: it re-imports the kit
from disk and calls the kit's checks on the names the student defined. Stored outputs are
never read, and check cells are compared with the canonical ones. Each finished grade is
written at once (``gradebook.csv`` replaced atomically, ``feedback/<student>.md``), so a
crash or Ctrl-C never loses one. This is not a sandbox: students' code runs with your
permissions, so grade in a container or a throw-away account.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from vgg_course import authoring, exercises

# From best to worst; a student's row shows the worst status of their notebooks.
STATUSES = ("ok", "flagged", "error", "timeout", "invalid", "tampered")
_KERNEL_ENV = {"VGG_COURSE_QUICK": "1", "VGG_COURSE_STRICT": "0", "TQDM_DISABLE": "1",
               "PYTHONHASHSEED": "0"}

# Code (outside canonical cells) that could change the checker or fake its report.
_TAMPER = (
    (r"\bvgg_course\s*\.\s*exercises\b|\bfrom\s+vgg_course(\.exercises)?\s+import\s+.*\bexercises\b"
     r"|\bvc\s*\.\s*exercises\b", "reaches into the checker (vgg_course.exercises)"),
    (r"\bex\s*\.\s*q\d+\s*\.(?!\s*(check|hint|solution)\s*\(\s*\))", "changes an exercise object"),
    (r"\bex\s*\.\s*\w+(\s*\.\s*\w+)*\s*=(?!=)", "assigns to the exercise module"),
    (r"\bsys\s*\.\s*(modules|stdout|settrace|setprofile)\b|\bsys\.__stdout__",
     "changes the interpreter's modules or output"),
    (r"\bimportlib\b|\b__import__\b|\bbuiltins\b|\bget_ipython\b|\b_vc_\w+",
     "uses import machinery, builtins or kernel hooks"),
)


@dataclass
class Submission:
    """One graded notebook: the student, the lesson, the status and the verdicts."""

    student: str
    path: Path
    lesson: str | None
    status: str = "ok"
    reasons: list[str] = field(default_factory=list)
    verdicts: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def scores(self) -> dict[str, int]:
        if self.status in ("tampered", "invalid"):
            return {v["exercise"]: 0 for v in self.verdicts}
        return {v["exercise"]: v["score"] for v in self.verdicts}

    @property
    def total(self) -> int:
        return sum(self.scores.values())

    def flag(self, status: str, reason: str) -> None:
        if STATUSES.index(status) > STATUSES.index(self.status):
            self.status = status
        self.reasons.append(reason)


def discover(submissions: Path, lesson: str | None = None) -> list[tuple[str, Path, str | None]]:
    """Every ``*.ipynb`` under ``submissions`` as (student, path, lesson).

    Layouts: ``<student>/<NN_name>.ipynb`` (also nbgrader's ``<student>/<assignment>/...``)
    or ``<student>.ipynb`` with ``lesson`` given. The lesson is the file's stem when it
    names a lesson with exercises, else ``lesson``.
    """
    found = []
    for path in sorted(submissions.rglob("*.ipynb")):
        rel = path.relative_to(submissions)
        if any(part.startswith(".") for part in rel.parts):
            continue  # .ipynb_checkpoints and other hidden copies
        student = rel.parts[0] if len(rel.parts) > 1 else path.stem
        try:
            exercises.load(path.stem)
            found.append((student, path, path.stem))
        except KeyError:
            found.append((student, path, lesson))
    return found


def canonical_cells(lesson: str, lessons_dir: Path | None) -> list[str]:
    """Sources of the student version's code cells (lesson cells and exercise cells)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = authoring.exercise_cells(lesson)
    path = (lessons_dir or authoring.LESSONS) / f"{lesson}.ipynb"
    if path.is_file():
        nb.cells += nbformat.read(path, as_version=4).cells
    return [c.source.strip() for c in authoring.student_version(nb).cells if c.cell_type == "code"]


def _code_only(source: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in source.splitlines())


def inspect_cells(nb: nbformat.NotebookNode, sub: Submission, canonical: list[str]) -> None:
    """Restore edited check cells, note deleted ones, and flag checker tampering."""
    known = set(canonical)
    for ex in exercises.exercises(sub.lesson):
        source = ex.check_source()
        cells = [c for c in nb.cells if c.cell_type == "code" and (
            c.source.strip() == source or c.metadata.get("vgg_course", {}).get("role") == "check"
            and c.metadata["vgg_course"].get("exercise") == ex.id)]
        if not cells:
            sub.flag("flagged", f"the check cell of {ex.id} was deleted (the grader ran the check itself)")
        for cell in cells:
            if cell.source.strip() != source:
                sub.flag("flagged", f"the check cell of {ex.id} was edited; the grader ran the "
                                    "kit's check instead")
                cell.source = source
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or cell.source.strip() in known:
            continue
        code = _code_only(cell.source)
        for pattern, what in _TAMPER:
            if re.search(pattern, code):
                sub.flag("tampered", f"cell {index} {what}; scores set to 0, review by hand")
                break


def _warm_up(lesson: str) -> str:
    return ("import torch, torchvision\n"
            f"import vgg_course.exercises.{exercises.load(lesson).__name__.rsplit('.', 1)[1]}")


def _grading_cell(lesson: str, nonce: str) -> str:
    return (
        "import sys as _vc_sys\n"
        "for _vc_name in [m for m in list(_vc_sys.modules) if m.split('.')[0] == 'vgg_course']:\n"
        "    del _vc_sys.modules[_vc_name]  # a fresh copy of the kit, whatever the notebook did\n"
        "import vgg_course.exercises as _vc_exercises\n"
        f"print({nonce!r} + _vc_exercises.verdicts_json(\n"
        f"    _vc_exercises.grade_namespace(globals(), {lesson!r})))")


def _error_text(cell: nbformat.NotebookNode) -> str | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return f"{out.get('ename')}: {' '.join(str(out.get('evalue', '')).split())[:150]}"
    return None


def execute(nb: nbformat.NotebookNode, sub: Submission, *, cell_timeout: int,
            notebook_timeout: int, grading_timeout: int = 120) -> None:
    """Run the notebook in a fresh kernel, then the grader's cell; fill ``sub.verdicts``."""
    nonce = secrets.token_hex(8)
    client = NotebookClient(nb, kernel_name="python3", timeout=cell_timeout, allow_errors=True,
                            interrupt_on_timeout=True, startup_timeout=120,
                            error_on_timeout={"ename": "Timeout", "evalue": "time limit",
                                              "traceback": []})
    deadline = time.monotonic() + notebook_timeout
    with tempfile.TemporaryDirectory(prefix="vgg-grade-") as workdir:
        client.resources = {"metadata": {"path": workdir}}
        with client.setup_kernel(env={**os.environ, **_KERNEL_ENV}, cwd=workdir):
            # The kit's own imports are not charged to the student's time limits.
            client.timeout = grading_timeout
            nb.cells.append(nbformat.v4.new_code_cell(_warm_up(sub.lesson)))
            client.execute_cell(nb.cells[-1], len(nb.cells) - 1)  # nbclient stores it back there
            nb.cells.pop()
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                limit = int(min(cell_timeout, deadline - time.monotonic()))
                if limit < 1:
                    sub.flag("timeout", f"the notebook time limit ({notebook_timeout} s) was "
                                        f"reached before cell {index}; the rest did not run")
                    break
                client.timeout, start = limit, time.monotonic()
                try:
                    client.execute_cell(cell, index)
                except DeadKernelError:
                    sub.flag("error", f"the kernel died in cell {index}; nothing could be checked")
                    return
                if time.monotonic() - start >= limit - 0.05:
                    which = "cell" if limit == cell_timeout else "notebook"
                    sub.flag("timeout", f"cell {index} was stopped by the {which} time limit "
                                        f"({limit} s)")
                elif error := _error_text(cell):
                    sub.flag("error", f"cell {index} raised {error}")
            grader = nbformat.v4.new_code_cell(_grading_cell(sub.lesson, nonce))
            nb.cells.append(grader)
            client.timeout = grading_timeout
            try:
                client.execute_cell(grader, len(nb.cells) - 1)
            except DeadKernelError:
                sub.flag("error", "the kernel died while the grader checked the answers")
                return
    for out in grader.outputs:
        for line in out.get("text", "").splitlines():
            if line.startswith(nonce):
                sub.verdicts = json.loads(line[len(nonce):])
                return
    sub.flag("error", "the grader's checks did not report back "
                      f"({_error_text(grader) or 'the kernel did not respond'})")


def grade_notebook(student: str, path: Path, lesson: str | None, *, lessons_dir: Path | None = None,
                   cell_timeout: int = 120, notebook_timeout: int = 600) -> Submission:
    """Grade one submitted notebook; never raises for a bad submission."""
    sub = Submission(student, path, lesson)
    start = time.monotonic()
    if lesson is None:
        sub.flag("invalid", f"{path.name}: cannot tell which lesson this is; name it like "
                            "02_state_dict.ipynb or pass --lesson")
        return sub
    zero = [{"exercise": e.id, "status": "not graded", "score": 0, "points": e.points,
             "feedback": ""} for e in exercises.exercises(lesson)]
    try:
        try:
            nb = nbformat.reads(path.read_text(encoding="utf-8", errors="replace"), as_version=4)
            nbformat.validate(nb)
        except Exception as exc:  # not JSON, not a notebook, a broken notebook
            sub.verdicts = zero
            sub.flag("invalid", f"not a valid notebook ({type(exc).__name__}: "
                                f"{' '.join(str(exc).split())[:150]})")
            return sub
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None  # never trust stored outputs
        inspect_cells(nb, sub, canonical_cells(lesson, lessons_dir))
        if sub.status == "tampered":
            sub.verdicts = zero  # not run: its scores would not count
            return sub
        execute(nb, sub, cell_timeout=cell_timeout, notebook_timeout=notebook_timeout)
        if not sub.verdicts:
            sub.verdicts = zero
    except Exception as exc:  # a grader bug must not stop the run
        sub.verdicts = sub.verdicts or zero
        sub.flag("error", f"the grader failed on this notebook: {type(exc).__name__}: {exc}")
    finally:
        sub.seconds = time.monotonic() - start
    return sub


# --- the gradebook and the feedback files ----------------------------------------------

def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, path)


def gradebook_csv(results: list[Submission], columns: list[tuple[str, int]]) -> str:
    """One row per student, one column per exercise, then total, out_of, status, reasons."""
    rows: dict[str, list[Submission]] = {}
    for sub in results:
        rows.setdefault(sub.student, []).append(sub)
    out = tempfile.SpooledTemporaryFile(mode="w+", newline="")
    writer = csv.writer(out)
    writer.writerow(["student", *[c for c, _ in columns], "total", "out_of", "status", "reasons"])
    for student in sorted(rows):
        subs = rows[student]
        scores = {k: v for s in subs for k, v in s.scores.items()}
        status = max((s.status for s in subs), key=STATUSES.index)
        reasons = "; ".join(f"{s.path.name}: {r}" for s in subs for r in s.reasons)
        writer.writerow([student, *[scores.get(c, "") for c, _ in columns],
                         sum(scores.values()), sum(p for _, p in columns), status, reasons])
    out.seek(0)
    return out.read()


def feedback_markdown(student: str, results: list[Submission]) -> str:
    lines = [f"# Feedback for {student}", ""]
    for sub in results:
        out_of = sum(v["points"] for v in sub.verdicts)
        lines += [f"## {sub.path.name}: {sub.total}/{out_of} ({sub.status})", ""]
        lines += [f"- {reason}" for reason in sub.reasons] + ([""] if sub.reasons else [])
        for v in sub.verdicts:
            if v["feedback"]:
                lines += ["```", v["feedback"], "```", ""]
    return "\n".join(lines)


def _safe_name(student: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", student) or "_"


def grade(submissions: str | Path, out: str | Path, *, lesson: str | None = None,
          lessons_dir: str | Path | None = None, cell_timeout: int = 120,
          notebook_timeout: int = 600, log=None) -> list[Submission]:
    """Grade every notebook under ``submissions``; write ``out/gradebook.csv`` and
    ``out/feedback/<student>.md`` after each one. Returns the graded submissions."""
    submissions, out = Path(submissions), Path(out)
    if not submissions.is_dir():
        raise FileNotFoundError(f"{submissions} is not a folder of submitted notebooks")
    if lesson is not None:
        exercises.load(lesson)  # KeyError naming the lessons that have exercises
    found = discover(submissions, lesson)
    graded = {exercises.load(name).__name__ for _, _, name in found if name}
    columns = [(e.id, e.points) for name in exercises.MODULES
               if exercises.load(name).__name__ in graded for e in exercises.exercises(name)]
    results: list[Submission] = []
    for student, path, which in found:
        sub = grade_notebook(student, path, which, cell_timeout=cell_timeout,
                             notebook_timeout=notebook_timeout,
                             lessons_dir=Path(lessons_dir) if lessons_dir else None)
        results.append(sub)
        _atomic_write(out / "gradebook.csv", gradebook_csv(results, columns))
        mine = [s for s in results if s.student == student]
        _atomic_write(out / "feedback" / f"{_safe_name(student)}.md", feedback_markdown(student, mine))
        if log:
            log(f"{student:<20} {path.name:<28} {sub.total:>3}/{sum(v['points'] for v in sub.verdicts):<3} "
                f"{sub.status:<9} {sub.seconds:5.1f} s  {'; '.join(sub.reasons)[:120]}")
    return results


def _cli(args: argparse.Namespace) -> int:
    try:
        results = grade(args.submissions, args.out, lesson=args.lesson,
                        lessons_dir=args.lessons_dir, cell_timeout=args.cell_timeout,
                        notebook_timeout=args.notebook_timeout, log=print)
    except (FileNotFoundError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(results)} notebooks graded: {args.out / 'gradebook.csv'}, "
          f"{args.out / 'feedback'}/")
    return 0


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "grade", help="grade submitted notebooks into a gradebook CSV and feedback files",
        description=__doc__.split("\n\n")[1])
    parser.add_argument("submissions", type=Path,
                        help="a folder of <student>/<NN_name>.ipynb or <student>.ipynb files")
    parser.add_argument("--out", type=Path, default=Path("grades"), help="default: grades/")
    parser.add_argument("--lesson", help="the lesson of files not named NN_name.ipynb, "
                                         "e.g. 03_freezing")
    parser.add_argument("--lessons-dir", type=Path, default=None,
                        help="the solution notebooks (default: the kit's notebooks/)")
    parser.add_argument("--cell-timeout", type=int, default=120, help="seconds per cell")
    parser.add_argument("--notebook-timeout", type=int, default=600,
                        help="seconds per notebook")
    parser.set_defaults(func=_cli)
