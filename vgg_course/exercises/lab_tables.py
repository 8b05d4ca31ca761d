"""Case data for the comparison lab's exercises: results tables and validation sets, built to order.

Plain data in the lab's own columns (the keys of ``vc.compare.run(...).rows``). The lesson's
exercises (``vgg_course.exercises.comparison_lab``) and the instructor's hidden cases both
make their cases from these. Nothing here judges a table (what a right answer says about one
is the instructor's side): a table is *built* with the relation a case needs, e.g. two
recipes whose gap equals their two spreads exactly. Random tables hold multiples of 1/1024,
exact in binary, so a tie is a tie however an answer adds or subtracts.
"""

from __future__ import annotations

from fractions import Fraction

from vgg_course import tables

# Results in the lab's own columns (the keys of ``vc.compare.run(...).rows``): the final
# validation accuracy, mean and standard deviation over seeds, and seconds per recipe. INVENTED
# for the exercises (not measured), in the shape the lab measures on the ants/bees photos:
# no recipe beats transfer learning beyond the seed noise, from scratch stays far below. The
# checks compute from whatever table they are given, so a measured table can replace this one.
LAB_RESULTS: tuple[dict, ...] = (
    {"recipe": "transfer_learning", "final_val_acc": 0.931, "val_acc_sd": 0.006,
     "total_s": 114.0, "trainable_params": 8_194},
    {"recipe": "finetune_new_classifier", "final_val_acc": 0.915, "val_acc_sd": 0.012,
     "total_s": 384.0, "trainable_params": 119_554_050},
    {"recipe": "finetune_pretrained_classifier", "final_val_acc": 0.934, "val_acc_sd": 0.009,
     "total_s": 396.0, "trainable_params": 119_554_050},
    {"recipe": "partial_finetune", "final_val_acc": 0.942, "val_acc_sd": 0.010,
     "total_s": 672.0, "trainable_params": 126_633_474},
    {"recipe": "full_finetune", "final_val_acc": 0.938, "val_acc_sd": 0.015,
     "total_s": 1458.0, "trainable_params": 134_268_738},
    {"recipe": "from_scratch", "final_val_acc": 0.612, "val_acc_sd": 0.038,
     "total_s": 1476.0, "trainable_params": 134_268_738},
)

# Pairs of LAB_RESULTS asked about, by kind (a and b as in ``clearly_better(results, a, b)``):
# far from the boundary either way, and gaps larger than either spread but not both.
LAB_PAIRS: dict[str, tuple[tuple[str, str], ...]] = {
    "larger": (("partial_finetune", "finetune_new_classifier"),
               ("transfer_learning", "from_scratch")),
    "within": (("partial_finetune", "transfer_learning"),
               ("transfer_learning", "finetune_new_classifier"),
               ("full_finetune", "finetune_new_classifier")),
    "reversed": (("from_scratch", "transfer_learning"),
                 ("finetune_new_classifier", "partial_finetune")),
}

UNIT = 1024  # random accuracies and spreads are whole multiples of 1 / UNIT


def table(rows) -> str:
    """A results table as Markdown, for a task or a notebook cell."""
    return tables.Table(["recipe", "final_val_acc ± val_acc_sd (over seeds)", "total_s",
                         "trainable_params"],
                        [[f"`{r['recipe']}`", f"{r['final_val_acc']:.3f} ± {r['val_acc_sd']:.3f}",
                          f"{r['total_s']:.0f}", f"{r['trainable_params']:,}"] for r in rows],
                        right={1, 2, 3}).markdown()


def random_table(rng, n: int | None = None, *, accs: list[int] | None = None) -> list[dict]:
    """A results table with made-up recipes: seconds and trainable counts in unrelated orders.

    ``accs`` (in units of 1/1024) replaces the random accuracies, in the rows' order."""
    n = n or rng.randint(4, 7)
    accs = accs or rng.sample(range(640, 1000), n)
    seconds = rng.sample(range(60, 2400), n)
    params = rng.sample(range(1_000, 10_000_000), n)
    return [{"recipe": f"recipe_{chr(97 + i)}", "final_val_acc": accs[i] / UNIT,
             "val_acc_sd": rng.randint(2, 31) / UNIT, "total_s": float(seconds[i]),
             "trainable_params": params[i]} for i in range(n)]


def shuffled(rng, rows) -> list[dict]:
    """A copy of a table, its rows in another order."""
    rows = [dict(r) for r in rows]
    rng.shuffle(rows)
    return rows


def pair_table(rng, kind: str, n: int | None = None, *,
               no_spread: bool = False) -> tuple[list[dict], str, str]:
    """A random table and two of its recipes ``a``, ``b`` whose gap is, by construction:
    ``"larger"`` than the two spreads by 1 to 3 units, a ``"tie"`` (exactly the two spreads),
    ``"within"`` (larger than either spread, smaller than both), or ``"reversed"`` (``b``
    ahead by more than both). ``no_spread`` gives ``a`` and ``b`` no spread at all."""
    rows = random_table(rng, n)
    a, b = rng.sample(rows, 2)
    if no_spread:
        a["val_acc_sd"] = b["val_acc_sd"] = 0.0
    sd_a, sd_b = round(a["val_acc_sd"] * UNIT), round(b["val_acc_sd"] * UNIT)
    spread = sd_a + sd_b
    gap = {"larger": spread + rng.randint(1, 3), "tie": spread,
           "within": rng.randint(max(sd_a, sd_b) + 1, max(spread - 1, max(sd_a, sd_b) + 1)),
           "reversed": -spread - rng.randint(1, 10)}[kind]
    base = rng.randint(700, 920)
    b["final_val_acc"], a["final_val_acc"] = base / UNIT, (base + gap) / UNIT
    return shuffled(rng, rows), a["recipe"], b["recipe"]


def edge_table(rng, *, at_edge: bool) -> tuple[list[dict], float]:
    """A table and a tolerance for ``fastest_within``: the three most accurate recipes are
    close enough; the fastest of them is neither the most accurate, nor the fastest overall
    (that one is not close), nor the one with the fewest trainable parameters. ``at_edge``:
    it is *exactly* ``tolerance`` below the best (at most means at most); else the second.
    """
    accs = sorted(rng.sample(range(640, 1000), 6), reverse=True)
    rows = random_table(rng, 6, accs=accs)
    pick = 2 if at_edge else 1
    times = sorted(r["total_s"] for r in rows)
    rows[5]["total_s"], rows[pick]["total_s"] = times[0], times[1]  # fastest: not close
    for i, t in zip([i for i in range(5) if i != pick], rng.sample(times[2:], 4)):
        rows[i]["total_s"] = t
    params = sorted((r["trainable_params"] for r in rows[:3]), reverse=True)
    rows[pick]["trainable_params"] = params[0]  # the most parameters of the close ones
    for i, p in zip([i for i in range(3) if i != pick], params[1:]):
        rows[i]["trainable_params"] = p
    return shuffled(rng, rows), (accs[0] - accs[2]) / UNIT


def tied_best_table(rng) -> list[dict]:
    """A table whose two most accurate recipes tie exactly, the slower one listed first."""
    accs = sorted(rng.sample(range(640, 1000), rng.randint(4, 6)), reverse=True)
    accs[1] = accs[0]
    rows = random_table(rng, len(accs), accs=accs)
    slow, fast = sorted(rows[:2], key=lambda r: -r["total_s"])
    others = shuffled(rng, rows[2:])
    first = rng.randint(0, len(others))
    others.insert(first, slow)
    others.insert(rng.randint(first + 1, len(others)), fast)
    return others


def q3_hits(rng, n: int, size: int) -> list[int]:
    """Which of ``n`` images (batches of ``size``, the last one smaller) the model gets right:
    chosen so that the whole set's accuracy differs from every batch's own, from their mean,
    and from the hits divided by the number of batches or by batches * batch size."""
    batches = [range(lo, min(lo + size, n)) for lo in range(0, n, size)]
    while True:
        hits = sorted(rng.sample(range(n), rng.randint(1, n - 1)))
        per = [Fraction(sum(i in hits for i in b), len(b)) for b in batches]
        wrong = per + [Fraction(len(hits), len(batches)), Fraction(len(hits), len(batches) * size),
                       sum(per) / len(per)]
        if Fraction(len(hits), n) not in wrong:
            return hits
