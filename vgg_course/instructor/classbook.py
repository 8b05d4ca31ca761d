"""A class's gradebook while it is graded: refused files as rows, each notebook recorded as it ends.

:class:`Classbook` is what ``grade`` writes through: files refused unread (a link, a
FIFO, a huge file, two notebooks of one lesson) become rows that say why, and after each
graded notebook the gradebook, the summary, that student's feedback and
``results.jsonl`` are rewritten (safe from several worker threads). What it writes is a
function of the submissions and the seed: the log line's timing is printed, never written.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from vgg_course.instructor import gradebook, shards, students
from vgg_course.instructor.gradebook import Submission

if TYPE_CHECKING:
    from vgg_course.instructor import submissions


class Classbook:
    """The graded notebooks of one run (``results``) and the files in ``out``."""

    def __init__(self, out: Path, root: Path, columns: gradebook.Columns, head: dict,
                 log: Callable[[str], None] | None = None) -> None:
        self.out, self.root, self.columns, self.head, self.log = out, root, columns, head, log
        self.results: list[Submission] = []
        self._lock = threading.Lock()

    def refuse(self, found: submissions.Found, seed: int, graded: set) -> Submission:
        """The row of a file that is not graded: ``duplicate``, or ``invalid`` (``flagged``
        when the student's readable notebook of that lesson is graded)."""
        sub = Submission(found.student, found.path, found.lesson, seed=seed)
        if found.others:
            sub.flag("duplicate", found.problem)
        else:
            sub.flag("flagged" if (found.student, found.lesson) in graded else "invalid",
                     f"refused: {found.problem}")
        return self.record(sub, found)

    def record(self, sub: Submission, found: submissions.Found) -> Submission:
        """Add one finished notebook and rewrite the files (its student's feedback only)."""
        sub.name, sub.file = found.name, found.file
        if found.others and not found.problem:
            copies = ", ".join(students.display(str(p.relative_to(self.root)))
                               for p in found.others)
            sub.reasons.insert(0, f"identical copies also handed in ({copies}): graded once")
        with self._lock:
            self.results.append(sub)
            gradebook.write_all(self.out, self.results, self.columns, student=sub.student)
            self._results_jsonl()
        if self.log:
            out_of = sum(p for _, p in self.columns.get(sub.lesson or "", []))
            self.log(students.display(
                f"{sub.student:<20} {sub.file:<28} {sub.total:>3}/{out_of:<3} {sub.status:<9} "
                f"{sub.seconds:5.1f} s  {'; '.join(sub.reasons)[:160]}"))
        return sub

    def finish(self) -> list[Submission]:
        """Rewrite every file, everyone's feedback included; the results in id order."""
        with self._lock:
            gradebook.write_all(self.out, self.results, self.columns)
            self._results_jsonl()
        return sorted(self.results, key=gradebook.sort_key)

    def _results_jsonl(self) -> None:
        gradebook.atomic_write(self.out / shards.RESULTS,
                               shards.results_jsonl(self.head, self.results))
