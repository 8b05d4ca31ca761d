"""Lab results built to order for the exercises that read them: a spec in, a real ``Comparison`` out.

A case never holds a ``Comparison``, only a plain spec of one: the validation set (``n_val``,
``classes``, ``majority_share``), the pretrained network's own accuracy (``baseline``, or
``None``) and per recipe each seed's number of validation images right. :func:`build` makes
the real :class:`vgg_course.compare.Comparison` from it (through ``RecipeResult`` and ``Run``,
as ``vc.compare.run`` does), which the student's function reads; :func:`spec_of` reads a
spec back from a ``Comparison``, so the student's own lab ``result`` is judged on its own
numbers. Nothing here judges a result: the right reading of a spec is the instructor's side.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from vgg_course.compare import Budget, Comparison, RecipeResult, Run
from vgg_course.i18n import N_

MAX_RECIPES = 16  # a spec read from a student's namespace is cut to this many recipes


def spec(n_val: int, majority: int, recipes: list[dict], *, baseline: int | None = None,
         classes: tuple[str, str] = ("ants", "bees")) -> dict:
    """A plain spec: ``majority`` and ``baseline`` in images (out of ``n_val``); each recipe
    ``{"recipe", "runs": [images right per seed], "same_as", "failure", "total_s"}``.

    Example:
        >>> s = spec(40, 20, [{"recipe": "transfer_learning", "runs": [38, 39]}], baseline=36)
        >>> s["majority_share"], s["baseline"], s["recipes"][0]["runs"]
        (0.5, 0.9, [0.95, 0.975])
    """
    rows = [{"recipe": r["recipe"], "runs": [c / n_val for c in r["runs"]],
             "same_as": list(r.get("same_as", [])), "failure": r.get("failure"),
             "total_s": float(r.get("total_s", 10.0)),
             "untrained": r.get("untrained", 0.5)} for r in recipes]
    return {"n_val": n_val, "classes": list(classes), "majority_share": majority / n_val,
            "majority_class": classes[-1] if 2 * majority > n_val else classes[0],
            "baseline": None if baseline is None else baseline / n_val, "recipes": rows}


def _fields(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def build(spec: dict) -> Comparison:
    """The ``Comparison`` a spec describes, made through the lab's own classes.

    Example:
        >>> result = build(spec(40, 20, [{"recipe": "full_finetune", "runs": [36, 38]}]))
        >>> result.n_val, [round(a, 3) for a in result.results[0].val_acc_runs]
        (40, [0.9, 0.95])
    """
    n_val = int(spec["n_val"])
    results = []
    for row in spec["recipes"]:
        before = ({"untrained_val_acc": row["untrained"]}
                  if "untrained_val_acc" in _fields(Run) else {})
        runs = [Run(seed=seed, curves={"train_loss": [0.7, 0.5], "val_loss": [0.7, 0.5],
                                       "train_acc": [0.5, acc], "val_acc": [row["untrained"], acc]},
                    seconds=row["total_s"], **before) for seed, acc in enumerate(row["runs"])]
        extra = {"n_val": n_val} if "n_val" in _fields(RecipeResult) else {}
        results.append(RecipeResult(
            recipe=row["recipe"], trainable_params=1_000, epochs=1, runs=runs, setup_s=0.0,
            peak_gpu_mb=None, peak_cpu_mb=None, device="cpu", precision="float32",
            cached_features=False, n_images=n_val * 2, same_as=list(row["same_as"]),
            failure=row["failure"], **extra))
    known = {"majority_share": spec["majority_share"], "baseline": spec["baseline"],
             "majority_class": spec.get("majority_class", "")}
    given = {k: v for k, v in known.items() if k in _fields(Comparison)}
    result = Comparison(model="a lab", model_note="", data="cases", classes=list(spec["classes"]),
                        n_train=n_val * 2, n_val=n_val, budget=Budget(epochs=1, repeats=1),
                        results=results, **given)
    for key, value in known.items():  # until the lab's Comparison has these fields
        if key not in given:
            setattr(result, key, value)
    return result


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def spec_of(result: Any) -> dict | None:
    """The spec of a lab's ``Comparison`` (the student's ``result``), or ``None`` when it is
    not one (the lab did not run, or ``result`` is something else)."""
    if type(result) is not Comparison:
        return None
    rows = []
    for r in list(result.results)[:MAX_RECIPES]:
        if type(r) is not RecipeResult:
            return None
        accs = [_number(run.curves["val_acc"][-1]) for run in r.runs][:16]
        untrained = _number(r.untrained_val_acc)
        rows.append({"recipe": str(r.recipe), "runs": accs, "same_as": [str(s) for s in r.same_as],
                     "failure": None if r.failure is None else str(r.failure),
                     "total_s": _number(r.total_s), "untrained": untrained})
    return {"n_val": int(result.n_val), "classes": [str(c) for c in result.classes],
            "majority_class": str(getattr(result, "majority_class", "")),
            "majority_share": _number(getattr(result, "majority_share", None)),
            "baseline": _number(getattr(result, "baseline", None)), "recipes": rows}


# --- lab-like results, built with the relation each case needs ----------------------------------
# Counts are images right out of n_val; gaps and spreads are chosen in whole images, at least a
# sixth of an image from any threshold of the lab's rules (one image, sd_a + sd_b), by construction.

NAMES = ("transfer_learning", "finetune_new_classifier", "finetune_pretrained_classifier",
         "finetune_imagenet_rows", "partial_finetune", "full_finetune")
PHOTOS = {"n_val": 153, "majority": 83}  # the ants/bees validation photos: 83 bees
QUICK = {"n_val": 40, "majority": 20}  # practice images: as many of each class


def _row(name: str, runs: list[int], **extra) -> dict:
    return {"recipe": name, "runs": runs, **extra}


def _around(c: int, spread: int, seeds: int = 3) -> list[int]:
    """Seed counts with mean ``c`` and standard deviation ``spread`` images (3 seeds), or
    ``spread * sqrt(2)`` (2 seeds)."""
    return [c - spread, c, c + spread] if seeds == 3 else [c - spread, c + spread]


def _q5(rng) -> list[dict]:
    n, names = 153, list(NAMES[:5])
    rng.shuffle(names)
    b = rng.randint(135, 146)
    scratch = _row("from_scratch", _around(rng.randint(88, 100), rng.randint(2, 4)))
    clear = [_row(names[0], _around(b, 1)), _row(names[1], _around(b - 4, 1)),
             _row(names[2], [b - 12, b - 8, b - 4]), scratch]
    near = [_row(names[0], _around(b, 1)), _row(names[1], [b - 2, b - 1, b]),
            _row(names[2], _around(b - 9, 1)), scratch]
    reach = [_row(names[0], [b] * 3), _row(names[1], [b - 3] * 3),  # the runner-up differs,
             _row(names[2], [b - 12, b - 5, b + 2]), scratch]       # a wide one does not
    floor = [_row(names[0], [b] * 3), _row(names[1], [b - 1, b - 1, b]), scratch]
    failed = _row(names[3], [b + 5] * 3, failure="diverged: the loss became NaN (lr too high)")
    q = QUICK["n_val"]
    quick = [_row("transfer_learning", [q - 1, q - 1], same_as=list(NAMES[1:3])),
             _row("full_finetune", [q - 5, q - 3]), _row("from_scratch", [20, 20])]
    cases = [("a clear winner", N_("the photos, one recipe ahead"),
              spec(n, 83, clear, baseline=146)),
             ("a clear winner", N_("practice images, two seeds"), spec(q, 20, quick, baseline=36)),
             ("a tie with the best", N_("the photos, the runner-up close"), spec(n, 83, near)),
             ("a tie with the best", N_("a wide spread reaching the best"), spec(n, 83, reach)),
             ("a tie with the best", N_("less than one image apart"), spec(n, 83, floor)),
             ("failed recipes", N_("a failed recipe with the highest numbers"),
              spec(n, 83, clear + [failed])),
             ("failed recipes", N_("a failed recipe, and a tie"), spec(n, 83, near + [failed]))]
    return [{"part": p, "label": label, "comparison": s} for p, label, s in cases]


def _q6(rng) -> list[dict]:
    n, q = PHOTOS["n_val"], QUICK["n_val"]
    a, b = rng.sample(NAMES[:5], 2)
    x = rng.randint(138, 145)
    pairs = [("the photos, six images apart", n, [_around(x, 1), _around(x - 6, 1)]),
             ("the photos, one image apart", n, [_around(x, 1), _around(x - 1, 1)]),
             ("the photos, the first one behind", n, [_around(x - 6, 1), _around(x, 1)]),
             ("the photos, near 97%", n, [_around(148, 2), _around(146, 2)]),
             ("the photos, wide seed spreads", n, [_around(x, 10), _around(x - 3, 2)]),
             ("practice images, a wide spread", q, [[20, 36], [38, 38]]),
             ("practice images, all right", q, [[40, 40], [36, 40]]),
             ("practice images, close seeds", q, [[34, 35], [30, 31]])]
    cases = []
    pairs.append(("the photos, one steady, one wide", n, [[x] * 3, _around(x - 3, 10)]))
    for label, size, (runs_a, runs_b) in pairs:
        wide = _around(92, 8) if size == n else [size // 2] * 2  # the lab's widest spread
        rows = [_row(a, runs_a), _row(b, runs_b), _row("from_scratch", wide)]
        for aspect, part in (("beyond", "beyond the noise?"), ("bigger", "which noise is bigger?")):
            cases.append({"part": part, "aspect": aspect, "label": f"{label}, {a} vs {b}",
                          "a": a, "b": b, "comparison": spec(size, size // 2 + 3, rows)})
    return cases


def _q7(rng) -> list[dict]:
    n, q = PHOTOS["n_val"], QUICK["n_val"]
    tl = _row("transfer_learning", _around(rng.randint(138, 146), 1))
    qtl = _row("transfer_learning", [38, 39])
    s = rng.randint(88, 100)
    made = [("above 'always one class'", N_("the photos"), n, 83, [_around(s, 3)]),
            ("above 'always one class'", N_("practice images"), q, 20, [[30, 34]]),
            ("within or below it", N_("the photos, near the bees' share"), n, 83, [_around(82, 2)]),
            ("within or below it", N_("practice images, always one class"), q, 20, [[20, 20]]),
            ("within or below it", N_("the photos, below"), n, 83,
             [_around(rng.randint(66, 72), 1)]),
            ("within or below it", N_("the photos, less than one image above"), n, 83,
             [[84, 84, 83]]),
            ("no from scratch to read", N_("from scratch did not run"), n, 83, []),
            ("no from scratch to read", N_("from scratch failed"), n, 83, [_around(s, 3)])]
    cases = []
    for part, label, size, majority, scratch in made:
        rows = [qtl if size == q else tl]
        if scratch:
            failure = "diverged: the loss became NaN" if "failed" in label else None
            rows.append(_row("from_scratch", scratch[0], failure=failure))
        cases.append({"part": part, "label": label,
                      "comparison": spec(size, majority, rows, baseline=size - 5)})
    return cases


def _q8(rng) -> list[dict]:
    n, q = PHOTOS["n_val"], QUICK["n_val"]
    base = rng.randint(140, 146)
    untrained = {"untrained": 0.5}
    photos = [_row("transfer_learning", _around(base - 4, 1), **untrained),
              _row("finetune_imagenet_rows", _around(base, 1), untrained=base / n),
              _row("partial_finetune", _around(base - 1, 2), **untrained),
              _row("full_finetune", _around(base - 4, 3), **untrained),
              _row("from_scratch", _around(rng.randint(88, 100), 3), **untrained)]
    above = [_row("transfer_learning", _around(base + 3, 1), **untrained),
             _row("full_finetune", [base - 2, base - 2, base - 3], **untrained),
             _row("partial_finetune", _around(base + 4, 1), **untrained)]
    quick = [_row("transfer_learning", [38, 39], same_as=list(NAMES[1:3]), **untrained),
             _row("full_finetune", [33, 35], **untrained), _row("from_scratch", [20, 20])]
    failed = _row("finetune_new_classifier", [base + 6] * 3, failure="diverged: NaN loss")
    made = [("every trained recipe", N_("the photos"), spec(n, 83, photos, baseline=base)),
            ("every trained recipe", N_("training beats it"),
             spec(n, 83, above, baseline=base - 3)),
            ("every trained recipe", N_("practice images"), spec(q, 20, quick, baseline=36)),
            ("failed recipes left out", N_("a failed recipe"),
             spec(n, 83, photos + [failed], baseline=base)),
            ("no baseline", N_("random weights: no baseline"), spec(n, 83, photos)),
            ("no baseline", N_("practice images, no baseline"), spec(q, 20, quick))]
    return [{"part": p, "label": label, "comparison": s} for p, label, s in made]


def cases(exercise: str, rng) -> list[dict]:
    """The built cases of exercise ``"q5"`` ... ``"q8"`` of lesson 06, drawn from ``rng``."""
    return {"q5": _q5, "q6": _q6, "q7": _q7, "q8": _q8}[exercise](rng)
