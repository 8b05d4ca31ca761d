"""Exercises for ``06_comparison_lab.ipynb``: reading a results table of the comparison.

The checks use the fixed table ``RESULTS`` (and reshuffled variants of it), never the
numbers of the student's own run, so every verdict is deterministic.
"""

from __future__ import annotations

from vgg_course.exercises.core import Exercise, Part

# An illustrative comparison with the kit's recipe names (vc.recipes.RECIPES), one row per
# recipe: VGG16 on ants/bees, 2 classes. Not this machine's run: the numbers are fixed.
RESULTS: tuple[dict, ...] = (
    {"recipe": "transfer_learning", "val_acc": 0.915, "minutes": 2.0, "trainable_params": 8_194},
    {"recipe": "finetune_new_classifier", "val_acc": 0.924, "minutes": 6.5,
     "trainable_params": 119_554_050},
    {"recipe": "finetune_pretrained_classifier", "val_acc": 0.935, "minutes": 6.6,
     "trainable_params": 119_554_050},
    {"recipe": "partial_finetune", "val_acc": 0.948, "minutes": 11.0,
     "trainable_params": 126_633_474},
    {"recipe": "full_finetune", "val_acc": 0.941, "minutes": 24.0, "trainable_params": 134_268_738},
    {"recipe": "from_scratch", "val_acc": 0.601, "minutes": 24.5, "trainable_params": 134_268_738},
)

# The same columns with other numbers: a function that only memorised RESULTS fails here.
_OTHER = (
    {"recipe": "a", "val_acc": 0.70, "minutes": 1.0, "trainable_params": 10},
    {"recipe": "b", "val_acc": 0.90, "minutes": 9.0, "trainable_params": 1_000},
    {"recipe": "c", "val_acc": 0.88, "minutes": 3.0, "trainable_params": 100},
    {"recipe": "d", "val_acc": 0.91, "minutes": 30.0, "trainable_params": 10_000},
)


def _table(rows) -> str:
    lines = ["| recipe | val_acc | minutes | trainable_params |", "|---|---:|---:|---:|"]
    lines += [f"| `{r['recipe']}` | {r['val_acc']:.3f} | {r['minutes']:.1f} | "
              f"{r['trainable_params']:,} |" for r in rows]
    return "\n".join(lines)


def _best(rows) -> str:
    return max(rows, key=lambda r: r["val_acc"])["recipe"]


def _fastest_within(rows, tolerance: float) -> str:
    best = max(r["val_acc"] for r in rows)
    close = [r for r in rows if best - r["val_acc"] <= tolerance + 1e-12]
    return min(close, key=lambda r: r["minutes"])["recipe"]


def _recipe_name(value: object) -> str | None:
    if not isinstance(value, str):
        return f"expected a recipe name (a str), got {type(value).__name__}"
    names = [r["recipe"] for r in RESULTS]
    return None if value in names else f"{value!r} is not a recipe in RESULTS: {names}"


def _best_recipe(value: object) -> str | None:
    if problem := _recipe_name(value):
        return problem
    return None if value == _best(RESULTS) else f"{value!r} does not have the best val_acc"


q1 = Exercise(
    id="comparison_lab.q1",
    title="the most accurate recipe",
    task=("`ex.RESULTS` is a small comparison table (a tuple of dicts with `recipe`, "
          "`val_acc`, `minutes`, `trainable_params`). Set `best_recipe` to the name of the "
          "recipe with the highest validation accuracy, computed from the table (not "
          "typed in: the next exercise checks your code on other tables too).\n\n"
          + _table(RESULTS)),
    answer="best_recipe",
    cell=("results = ex.RESULTS\n"
          "### BEGIN SOLUTION\n"
          'best_recipe = max(results, key=lambda row: row["val_acc"])["recipe"]\n'
          "### END SOLUTION"),
    parts=(Part("the most accurate recipe", _best_recipe),),
    hint_text="`max(rows, key=...)` picks the row with the largest value of a column.",
)


def _within_case(rows, tolerance: float):
    def test(fn: object) -> str | None:
        if not callable(fn):
            return f"expected a function, got {type(fn).__name__}"
        got = fn(tuple(dict(r) for r in rows), tolerance)
        if got == _fastest_within(rows, tolerance):
            return None
        if got == _best(rows):
            return "that is the most accurate, but a faster one is within tolerance"
        return f"not the fastest recipe within {tolerance:.3f} of the best accuracy"
    return test


q2 = Exercise(
    id="comparison_lab.q2",
    title="fast enough and good enough",
    task=("Write `fastest_within(results, tolerance)`: among the recipes whose `val_acc` "
          "is at most `tolerance` below the best one, return the name of the fastest "
          "(fewest `minutes`). It is checked on `ex.RESULTS` and on other tables."),
    answer="fastest_within",
    cell=("def fastest_within(results, tolerance: float) -> str:\n"
          '    """The fastest recipe whose accuracy is within `tolerance` of the best."""\n'
          "    ### BEGIN SOLUTION\n"
          '    best = max(row["val_acc"] for row in results)\n'
          '    close = [row for row in results if best - row["val_acc"] <= tolerance]\n'
          '    return min(close, key=lambda row: row["minutes"])["recipe"]\n'
          "    ### END SOLUTION"),
    parts=(Part("on RESULTS, tolerance 0.02", _within_case(RESULTS, 0.02)),
           Part("on RESULTS, tolerance 0.05", _within_case(RESULTS, 0.05)),
           Part("on another table", _within_case(_OTHER, 0.025))),
    hint_text=("First find the best accuracy, then keep the rows close enough to it, then "
               "take the one with the fewest minutes."),
)

EXERCISES = (q1, q2)
