"""Results tables for the comparison lab's exercises: the example, random ones, pairs to judge.

Plain data in the lab's own columns (the keys of ``vc.compare.run(...).rows``). The lesson's
exercises (``vgg_course.exercises.comparison_lab``) and the instructor's hidden cases both
make their cases from these, so neither imports the other.
"""

from __future__ import annotations

from vgg_course import tables

# Results in the lab's own columns (the keys of ``vc.compare.run(...).rows``): the final
# validation accuracy, mean and standard deviation over seeds, and seconds per recipe. An
# example for VGG16 on ants/bees (2 classes, 3 seeds), not this machine's run; the checks
# compute from whatever table they are given, so a measured table can replace this one.
LAB_RESULTS: tuple[dict, ...] = (
    {"recipe": "transfer_learning", "final_val_acc": 0.928, "val_acc_sd": 0.006,
     "total_s": 114.0, "trainable_params": 8_194},
    {"recipe": "finetune_new_classifier", "final_val_acc": 0.917, "val_acc_sd": 0.013,
     "total_s": 384.0, "trainable_params": 119_554_050},
    {"recipe": "finetune_pretrained_classifier", "final_val_acc": 0.937, "val_acc_sd": 0.008,
     "total_s": 396.0, "trainable_params": 119_554_050},
    {"recipe": "partial_finetune", "final_val_acc": 0.946, "val_acc_sd": 0.010,
     "total_s": 672.0, "trainable_params": 126_633_474},
    {"recipe": "full_finetune", "final_val_acc": 0.941, "val_acc_sd": 0.015,
     "total_s": 1458.0, "trainable_params": 134_268_738},
    {"recipe": "from_scratch", "final_val_acc": 0.603, "val_acc_sd": 0.041,
     "total_s": 1476.0, "trainable_params": 134_268_738},
)


def table(rows) -> str:
    """A results table as Markdown, for a task or a notebook cell."""
    return tables.Table(["recipe", "final_val_acc ± val_acc_sd (over seeds)", "total_s",
                         "trainable_params"],
                        [[f"`{r['recipe']}`", f"{r['final_val_acc']:.3f} ± {r['val_acc_sd']:.3f}",
                          f"{r['total_s']:.0f}", f"{r['trainable_params']:,}"] for r in rows],
                        right={1, 2, 3}).markdown()


def random_table(rng, n: int | None = None) -> list[dict]:
    """A results table with made-up recipes: seconds and trainable counts in unrelated orders."""
    n = n or rng.randint(4, 7)
    accs = rng.sample(range(700, 990), n)
    seconds = rng.sample(range(60, 2400), n)
    params = rng.sample(range(1_000, 10_000_000), n)
    return [{"recipe": f"recipe_{chr(97 + i)}", "final_val_acc": accs[i] / 1000,
             "val_acc_sd": rng.randint(2, 30) / 1000, "total_s": float(seconds[i]),
             "trainable_params": params[i]} for i in range(n)]


def shuffled(rng, rows) -> list[dict]:
    """A copy of a table, its rows in another order."""
    rows = [dict(r) for r in rows]
    rng.shuffle(rows)
    return rows


def clearly_better(rows, a: str, b: str) -> bool:
    """The rule of ``comparison_lab.q1``: ``a``'s mean beats ``b``'s by more than both spreads."""
    by = {r["recipe"]: r for r in rows}
    gap = by[a]["final_val_acc"] - by[b]["final_val_acc"]
    return gap > by[a]["val_acc_sd"] + by[b]["val_acc_sd"] + 1e-12


def pair_cases(rng, rows, label: str) -> list[dict]:
    """One case per kind of recipe pair the table has: clearly better, within, reversed."""
    names = [r["recipe"] for r in rows]
    by = {r["recipe"]: r for r in rows}

    def tie(a: str, b: str) -> bool:  # gap == spread up to rounding: no fair verdict either way
        gap = abs(by[a]["final_val_acc"] - by[b]["final_val_acc"])
        return abs(gap - by[a]["val_acc_sd"] - by[b]["val_acc_sd"]) < 1e-6

    pairs = [(a, b) for a in names for b in names if a != b and not tie(a, b)]

    def borderline(pair) -> bool:  # the gap is larger than either spread, not than both
        a, b = by[pair[0]], by[pair[1]]
        return a["final_val_acc"] - b["final_val_acc"] > max(a["val_acc_sd"], b["val_acc_sd"])

    within = [p for p in pairs if not clearly_better(rows, *p) and not clearly_better(rows, p[1], p[0])]
    kinds = {"a difference larger than the spread": [p for p in pairs if clearly_better(rows, *p)],
             "a difference within the spread": [p for p in within if borderline(p)] or within,
             "the second one is better": [p for p in pairs if clearly_better(rows, p[1], p[0])]}
    cases = []
    for part, candidates in kinds.items():
        if candidates:
            a, b = rng.choice(candidates)
            cases.append({"part": part, "label": f"{label}, {a} vs {b}", "rows": rows,
                          "a": a, "b": b})
    return cases
