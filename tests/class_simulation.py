"""A simulated class of lesson 03 (freezing): 40 students, each with what they handed in and
what the teacher's gradebook must say about them (the answer key).

Right answers are written in several ways (loops, comprehensions, ``requires_grad_`` on a
section, a helper defined in an earlier exercise's cell, a name imported in a lesson cell),
wrong answers of every kind the catalogue knows (a frozen head, ``model.eval()`` for
freezing, counting tensors, counting frozen ones, the wrong prediction), blanks, partial
work, and hostile notebooks (a hang, a stopped grader, an import of the solutions, a lying
``named_parameters``, NaN weights). What the folder holds besides notebooks (a symlink to a
peer, a FIFO, a name that is not UTF-8, two copies of the lesson, a notebook of another
lesson) is made by :func:`write_class`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LESSON = "03_freezing"

# --- freezing.q1: freeze_features(model) -------------------------------------------------------
Q1_RIGHT = {
    "loop": '''def freeze_features(model):
    for p in model.features.parameters():
        p.requires_grad = False
''',
    "section": '''def freeze_features(model):
    model.features.requires_grad_(False)
''',
    "names": '''def freeze_features(model):
    for name, p in model.named_parameters():
        if name.startswith("features."):
            p.requires_grad_(False)
''',
    "returns the model": '''def freeze_features(model: nn.Module) -> nn.Module:
    [p.requires_grad_(False) for p in model.features.parameters()]
    return model
''',
}
Q1_WRONG = {
    "the whole model frozen": '''def freeze_features(model):
    for p in model.parameters():
        p.requires_grad = False
''',
    "eval() is not freezing": '''def freeze_features(model):
    model.features.eval()
''',
    "weights only": '''def freeze_features(model):
    for name, p in model.features.named_parameters():
        if name.endswith("weight"):
            p.requires_grad = False
''',
    "an attribute on the module": '''def freeze_features(model):
    model.features.requires_grad = False
''',
}

# --- freezing.q2: count_trainable(model) -------------------------------------------------------
Q2_RIGHT = {
    "loop": '''def count_trainable(model):
    total = 0
    for p in model.parameters():
        if p.requires_grad:
            total += p.numel()
    return total
''',
    "filter and map": '''def count_trainable(model):
    return sum(map(torch.numel, filter(lambda p: p.requires_grad, model.parameters())))
''',
    "numpy": '''def count_trainable(model):
    return int(np.sum([p.numel() for p in model.parameters() if p.requires_grad]))
''',
}
Q2_WRONG = {
    "counts tensors": '''def count_trainable(model):
    return sum(1 for p in model.parameters() if p.requires_grad)
''',
    "counts frozen ones too": '''def count_trainable(model):
    return sum(p.numel() for p in model.parameters())
''',
    "counts the state_dict": '''def count_trainable(model):
    return sum(t.numel() for t in model.state_dict().values())
''',
}

# --- freezing.q3: predictions ------------------------------------------------------------------
Q3_RIGHT = {
    "literals": '''trainable = 19877
first_conv_grad = "None"
tensors_with_grad = 12
predictions = {"trainable": trainable, "first_conv_grad": first_conv_grad,
               "tensors_with_grad": tensors_with_grad}
''',
    "arithmetic": '''trainable = 3 * (16 * 16 * 9 + 16) + 16 * 7 * 7 * 16 + 16 + 16 * 16 + 16 + 16 * 5 + 5
predictions = {"trainable": trainable, "first_conv_grad": " none ", "tensors_with_grad": 6 + 6}
''',
}
Q3_WRONG = {
    "conv5 frozen too": '''predictions = {"trainable": 12917, "first_conv_grad": "None", "tensors_with_grad": 12}''',
    "zeros for a frozen grad": '''predictions = {"trainable": 19877, "first_conv_grad": "zeros", "tensors_with_grad": 12}''',
    "every tensor gets a grad": '''predictions = {"trainable": 19877, "first_conv_grad": "None", "tensors_with_grad": 32}''',
}

# --- hostile answers ---------------------------------------------------------------------------
HANGS = '''import time
def freeze_features(model):
    for p in model.features.parameters():
        p.requires_grad = False
time.sleep(10**6)  # a scratch line left in the answer cell
'''
STOPS_THE_GRADER = '''import os, signal
def count_trainable(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
os.kill(os.getppid(), signal.SIGSTOP)
'''
IMPORTS_THE_SOLUTION = '''from vgg_course.exercises.instructor.freezing import count_trainable
'''
LYING_MODEL = '''def freeze_features(model):
    fake = [(n, p.detach().requires_grad_(not n.startswith("features.")))
            for n, p in model.named_parameters()]
    model.named_parameters = lambda *a, **k: iter(fake)  # a lie told by the instance
    model.parameters = lambda *a, **k: iter(p for _, p in fake)
'''
NAN_WEIGHTS = '''def freeze_features(model):
    for p in model.features.parameters():
        p.data.fill_(float("nan"))
        p.requires_grad = False
'''
# A helper defined in q1's cell and used in q2's; a name imported in a lesson cell.
HELPER_Q1 = '''def params_of(module, trainable=None):
    return [p for p in module.parameters() if trainable is None or p.requires_grad == trainable]

def freeze_features(model):
    for p in params_of(model.features):
        p.requires_grad = False
'''
HELPER_Q2 = '''def count_trainable(model):
    return sum(p.numel() for p in params_of(model, trainable=True))
'''
LESSON_IMPORT = "import numpy as np  # a lesson cell the student added near the top"


@dataclass
class Student:
    """One simulated student: what they hand in and what the gradebook must show."""

    name: str
    answers: dict[str, str] = field(default_factory=dict)  # exercise id -> answer cell
    extra_cells: list[str] = field(default_factory=list)  # lesson-area cells they added
    expect: dict[str, str] = field(default_factory=dict)  # exercise id -> "full" | "zero" | "less"
    status: str = "ok"
    folder_extra: str = ""  # "symlink", "fifo", "duplicate", "stray" (what the folder also holds)
    raw_name: bytes | None = None  # a folder name that is not UTF-8


def _full(*exercises: str) -> dict[str, str]:
    return {e: "full" for e in exercises}


ALL = ("freezing.q1", "freezing.q2", "freezing.q3")


def roster() -> list[Student]:
    """The 40 students, deterministic."""
    students: list[Student] = []
    q1r, q2r, q3r = list(Q1_RIGHT.values()), list(Q2_RIGHT.values()), list(Q3_RIGHT.values())
    for i in range(12):  # right everywhere, written in 4 x 3 x 2 ways
        students.append(Student(
            f"right{i:02d}", {"freezing.q1": q1r[i % 4], "freezing.q2": q2r[i % 3],
                              "freezing.q3": q3r[i % 2]},
            extra_cells=[LESSON_IMPORT] if q2r[i % 3] == Q2_RIGHT["numpy"] else [],
            expect=_full(*ALL)))
    students.append(Student("helper", {"freezing.q1": HELPER_Q1, "freezing.q2": HELPER_Q2,
                                       "freezing.q3": Q3_RIGHT["literals"]}, expect=_full(*ALL)))
    for i, (what, cell) in enumerate(Q1_WRONG.items()):
        students.append(Student(f"wrong-q1-{i}", {"freezing.q1": cell,
                                                  "freezing.q2": q2r[0],
                                                  "freezing.q3": q3r[0]},
                                expect={"freezing.q1": "less", "freezing.q2": "full",
                                        "freezing.q3": "full"}))
    for i, (what, cell) in enumerate(Q2_WRONG.items()):
        students.append(Student(f"wrong-q2-{i}", {"freezing.q1": q1r[1], "freezing.q2": cell,
                                                  "freezing.q3": q3r[1]},
                                expect={"freezing.q1": "full", "freezing.q2": "less",
                                        "freezing.q3": "full"}))
    for i, (what, cell) in enumerate(Q3_WRONG.items()):
        students.append(Student(f"wrong-q3-{i}", {"freezing.q1": q1r[2], "freezing.q2": q2r[1],
                                                  "freezing.q3": cell},
                                expect={"freezing.q1": "full", "freezing.q2": "full",
                                        "freezing.q3": "less"}))
    for i in range(2):  # blanks
        students.append(Student(f"blank{i}", {}, expect={e: "zero" for e in ALL}))
    for i in range(3):  # partial work: one exercise done
        ex = ALL[i]
        answer = {"freezing.q1": q1r[0], "freezing.q2": q2r[0], "freezing.q3": q3r[0]}[ex]
        students.append(Student(f"partial{i}", {ex: answer},
                                expect={e: "full" if e == ex else "zero" for e in ALL}))
    students += [
        Student("hangs", {"freezing.q1": HANGS, "freezing.q2": q2r[0], "freezing.q3": q3r[0]},
                expect={"freezing.q1": "zero", "freezing.q2": "full", "freezing.q3": "full"},
                status="timeout"),
        Student("stops-grader", {"freezing.q1": q1r[0], "freezing.q2": STOPS_THE_GRADER,
                                 "freezing.q3": q3r[0]},
                expect={"freezing.q1": "full", "freezing.q2": "zero", "freezing.q3": "full"},
                status="error"),
        Student("imports-solution", {"freezing.q1": q1r[0], "freezing.q2": IMPORTS_THE_SOLUTION,
                                     "freezing.q3": q3r[0]},
                expect={"freezing.q1": "full", "freezing.q2": "zero", "freezing.q3": "full"},
                status="error"),
        Student("lying-model", {"freezing.q1": LYING_MODEL, "freezing.q2": q2r[0],
                                "freezing.q3": q3r[0]},
                expect={"freezing.q1": "less", "freezing.q2": "full", "freezing.q3": "full"}),
        Student("nan-weights", {"freezing.q1": NAN_WEIGHTS, "freezing.q2": q2r[0],
                                "freezing.q3": q3r[0]},
                expect={"freezing.q1": "less", "freezing.q2": "full", "freezing.q3": "full"}),
        Student("symlink", {}, expect={}, status="invalid", folder_extra="symlink"),
        Student("fifo", {}, expect={}, status="invalid", folder_extra="fifo"),
        Student("two-copies", {"freezing.q1": q1r[0]}, expect={}, status="duplicate",
                folder_extra="duplicate"),
        Student("stray", {"freezing.q1": q1r[3], "freezing.q2": q2r[2], "freezing.q3": q3r[1]},
                extra_cells=[LESSON_IMPORT], expect=_full(*ALL), folder_extra="stray"),
        Student("naïve", {"freezing.q1": q1r[1], "freezing.q2": q2r[1], "freezing.q3": q3r[0]},
                expect=_full(*ALL)),
        Student("naive", {"freezing.q1": q1r[0], "freezing.q2": Q2_WRONG["counts tensors"],
                          "freezing.q3": q3r[0]},
                expect={"freezing.q1": "full", "freezing.q2": "less", "freezing.q3": "full"}),
        Student("latin1", {"freezing.q1": q1r[2], "freezing.q2": q2r[2], "freezing.q3": q3r[1]},
                extra_cells=[LESSON_IMPORT], expect=_full(*ALL), raw_name=b"J\xf6rg"),
    ]
    return students
