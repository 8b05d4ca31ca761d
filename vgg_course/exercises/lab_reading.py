"""Exercises 5 to 8 of ``06_comparison_lab.ipynb``: reading the lab's own result object.

Each answer is a small function of a lab result (a ``vc.compare.Comparison``). It is checked
on results built to order through the lab's own classes (``lab_results``: lab-like runs of
each mode, ties, failed recipes, no baseline) and, when the notebook holds one, on the
student's own ``result``: the function must give the right reading of the student's own
numbers, whatever mode made them. What a right answer gives is the instructor's side: for a
built result it comes with the case (``case["expected"]``); for the student's own result the
trusted judge asks the instructor's ``expect_`` function about the numbers observed (in a
student build that case is left to the instructor's grader).
"""

from __future__ import annotations

from vgg_course.exercises import core
from vgg_course.exercises import lab_results as lr
from vgg_course.exercises.answers import plain, type_name
from vgg_course.exercises.core import Exercise, Part
from vgg_course.i18n import N_, _

OWN = N_("your own lab `result`")


# run, and not judged, when the notebook has no `result`
STAND_IN = lr.spec(40, 20, [{"recipe": "transfer_learning", "runs": [38, 39]},
                            {"recipe": "full_finetune", "runs": [35, 37]},
                            {"recipe": "from_scratch", "runs": [20, 20]}], baseline=36)


def _own(fn, names: tuple[str, ...] = ()) -> dict | None:
    """The spec of the notebook's ``result`` (the namespace the answer was defined in), or
    ``None`` when there is none, or it lacks a recipe the case asks about."""
    namespace = getattr(fn, "__globals__", None)
    spec = lr.spec_of(namespace.get("result")) if isinstance(namespace, dict) else None
    if spec is None or spec["majority_share"] is None or any(
            a is None for row in spec["recipes"] for a in row["runs"]) or not spec["recipes"]:
        return None
    known = {n for row in spec["recipes"] for n in [row["recipe"], *row["same_as"]]}
    return spec if all(n in known for n in names) else None


def observer(*arg_keys: str):
    """``observe``: the answer on the case's result (built from its spec), or on the notebook's
    own ``result`` for the case marked ``"own"`` (with the spec it was judged on)."""
    def observe(fn, case: dict):
        args = [case[k] for k in arg_keys]
        if not case.get("own"):
            return {"value": plain(fn(lr.build(case["comparison"]), *args))}
        spec = _own(fn, tuple(a for a in args if isinstance(a, str)))
        if spec is None:  # nothing to judge; still run it, so that a stub is seen as one
            try:
                fn(lr.build(STAND_IN), *args)
            except NotImplementedError:
                raise
            except Exception:  # noqa: BLE001  (the built cases judge the answer, not this run)
                pass
            return {"absent": True}
        return {"value": plain(fn(lr.build(spec), *args)), "spec": spec}
    return observe


def wanted(exercise: str, case: dict, got) -> dict | None:
    """What a right answer gives: the case's own for a built result; for the student's own
    result, the instructor's ``expect_`` on the observed spec (``None``: nothing to judge,
    there is no own result, or this build has no instructor side)."""
    if not case.get("own"):
        return case["expected"]
    if not isinstance(got, dict) or got.get("absent"):
        return None
    module = core.instructor_module("comparison_lab")
    if module is None:
        return None  # a student build: the instructor's grader judges this case
    return getattr(module, f"expect_{exercise}")({**case, "comparison": got["spec"]})


def _value(got):
    return got["value"] if isinstance(got, dict) and "value" in got else got


# --- q5: clearly best, or a tie? ----------------------------------------------------------------

def _q5_assess(case: dict, got) -> str | None:
    want = wanted("q5", case, got)
    if want is None:
        return None
    value = _value(got)
    if value is not None and not isinstance(value, str):
        return _("expected a recipe name (a str) or None, got {type}").format(
            type=type_name(value))
    if value is None:
        return (None if want["value"] is None else
                _("one recipe is further from every other trained recipe than the noise: it is "
                  "clearly best"))
    if value in want["failed"]:
        return _("{value!r} failed: its accuracy is not to be read").format(value=value)
    if value not in want["recipes"]:
        return _("{value!r} is not a recipe of this result").format(value=value)[:120]
    if want["value"] is None:
        return (_("another trained recipe is within the noise of the best (not always the "
                  "runner-up: a recipe with a wide seed spread reaches further): none is "
                  "clearly best")
                if value in want["names"] or value == want["best"] else
                _("no recipe is clearly best here"))
    return None if value in want["names"] else _("that is not the recipe with the highest mean")


q5 = Exercise(
    id="comparison_lab.q5",
    title=N_("clearly best, or a tie?"),
    task=N_("Your lab's `result` (a `vc.compare.Comparison`) holds one object per recipe in "
            "`result.results`: `recipe`, `same_as`, `final_val_acc` (mean over seeds), "
            "`val_acc_sd`, `failure`. Write `clear_winner(result)`: the `recipe` with the "
            "highest mean if it differs from *every* other recipe, else `None`. Two recipes "
            "differ when their means are further apart than both `sd_a + sd_b` and one "
            "validation image, `result.one_image` (`result.differs(a, b)`). Leave out recipes "
            "whose `failure` is set. It is checked on built results (ties, failed recipes) and "
            "on your own `result`: does it agree with the lab's reading above?"),
    answer="clear_winner",
    parts=(Part("a clear winner"), Part("a tie with the best"), Part("failed recipes")),
    make_cases=lambda rng: _cases("q5", rng), observe=observer(), assess=_q5_assess,
    hint_text=N_("Keep the trained rows, take the best by `final_val_acc`, then ask whether "
                 "*any* other one is within the noise of it (`result.differs(best, other)`)."),
)


# --- q6: a gap, and which noise is bigger -------------------------------------------------------

def _q6_assess(case: dict, got) -> str | None:
    want = wanted("q6", case, got)
    if want is None:
        return None
    value = _value(got)
    if not isinstance(value, dict) or set(value) != {"beyond_noise", "bigger_noise"}:
        return _("expected a dict with the keys 'beyond_noise' and 'bigger_noise'")
    if case["aspect"] == "beyond":
        if not isinstance(value["beyond_noise"], bool):
            return _("'beyond_noise' should be True or False, got {type}").format(
                type=type_name(value["beyond_noise"]))
        if value["beyond_noise"] == want["beyond_noise"]:
            return None
        if want["reversed"]:
            return _("the gap counts whichever recipe is ahead: compare its size with the noise")
        return (_("the gap is not larger than the noise (two seed spreads, at least one image)")
                if value["beyond_noise"] else _("the gap is larger than the two seed spreads "
                                                 "added together and than one image"))
    if value["bigger_noise"] not in ("seeds", "sampling"):
        return _("'bigger_noise' should be 'seeds' or 'sampling'")
    return None if value["bigger_noise"] == want["bigger_noise"] else _(
        "compare sd_a + sd_b with the two standard errors sqrt(p (1 - p) / n_val) added "
        "together, p each recipe's mean accuracy and n_val the validation images")


q6 = Exercise(
    id="comparison_lab.q6",
    title=N_("is the gap real, and which noise is bigger?"),
    task=N_("A gap between recipes `a` and `b` has two noises: **seeds** (`val_acc_sd`) and "
            "**sampling**, from `result.n_val` validation images (standard error "
            "`sqrt(p*(1-p)/n_val)`, `p` a mean accuracy). Write `read_gap(result, a, b)` "
            "returning a dict:\n\n"
            "- `\"beyond_noise\"`: `result.differs(a, b)` (means further apart, either "
            "way, than both `sd_a + sd_b` and `result.one_image`);\n"
            "- `\"bigger_noise\"`: `\"sampling\"` if the two standard errors summed exceed "
            "`sd_a + sd_b`, else `\"seeds\"`.\n\n"
            "`result.result(name)` finds a recipe by any name. Checked with "
            "`a=\"full_finetune\"`, `b=\"transfer_learning\"`, also on yours: would more "
            "seeds or images settle it?"),
    answer="read_gap",
    parts=(Part("beyond the noise?"), Part("which noise is bigger?")),
    make_cases=lambda rng: _cases("q6", rng), observe=observer("a", "b"), assess=_q6_assess,
    hint_text=N_("`result.result(name)` finds a recipe by any of its names; `abs()` of the "
                 "gap; `p` is the recipe's mean `final_val_acc`."),
)


# --- q7 and q8: against a fixed number ----------------------------------------------------------

_WORDS = ("above", "within", "below")


def _versus(word, want_word: str, noise: str, side: str) -> str | None:
    """What is wrong with ``word``: ``noise`` when the gap was misread, ``side`` when the
    recipe was put on the wrong side (both already translated)."""
    if word not in _WORDS:
        return _("expected 'above', 'within' or 'below', got {word!r}").format(word=word)[:120]
    if word == want_word:
        return None
    if "within" in (word, want_word):
        return noise
    return side


def _q7_assess(case: dict, got) -> str | None:
    want = wanted("q7", case, got)
    if want is None:
        return None
    value = _value(got)
    if want["value"] is None:
        return None if value is None else _("from scratch did not run or failed here: there is "
                                            "no accuracy to read; return None")
    if value is None:
        return _("from scratch trained here: read its accuracy")
    if value == want["no_floor"] != want["value"]:
        return _("less than one image from it: a gap within one validation image is noise, "
                 "whatever the seed spread")
    if want["chance"] is not None and value == want["chance"] != want["value"]:
        return _("that compares with 50%: 'always one class' is right on the commonest "
                 "class's share of the validation images, `result.majority_share`")
    return _versus(value, want["value"],
                   _("compare the gap with the noise: the seed spread, and at least one image "
                     "(always answering the commonest class)"),
                   _("the wrong side of always answering the commonest class"))


q7 = Exercise(
    id="comparison_lab.q7",
    title=N_("from scratch next to 'always one class'"),
    task=N_("Always answering the commonest validation class is right on "
            "`result.majority_share` of the images (54% of the 153 ants/bees photos: 83 are "
            "bees; half of the practice images). Write `scratch_vs_majority(result)`: "
            "`\"above\"` or `\"below\"` when `from_scratch`'s mean `final_val_acc` is further "
            "from that share than its noise, `max(val_acc_sd, result.one_image)`, else "
            "`\"within\"`; `None` when `from_scratch` did not run or its `failure` is set. "
            "It is checked on built results and on your own `result`: what did from scratch "
            "learn in your run?"),
    answer="scratch_vs_majority",
    parts=(Part("above 'always one class'"), Part("within or below it"),
           Part("no from scratch to read")),
    make_cases=lambda rng: _cases("q7", rng), observe=observer(), assess=_q7_assess,
    hint_text=N_("`result.result(\"from_scratch\")` raises a KeyError when it did not run. "
                 "The noise is `max(sd, result.one_image)`."),
)


def _q8_assess(case: dict, got) -> str | None:
    want = wanted("q8", case, got)
    if want is None:
        return None
    value = _value(got)
    if want["value"] is None:
        return None if value is None else _("`result.baseline` is None here (no ImageNet rows "
                                            "for these classes, or random weights): return None")
    if not isinstance(value, dict):
        return _("expected a dict from recipe to 'above' / 'within' / 'below', got "
                 "{type}").format(type=type_name(value))
    failed = [k for k in value if k in want["failed"]]
    if failed:
        return _("{name!r} failed: leave it out").format(name=failed[0])
    missing = [k for k in want["value"] if k not in value]
    if missing or len(value) != len(want["value"]):
        return (_("{name!r} trained and is missing").format(name=missing[0]) if missing
                else _("only the trained recipes, by their `recipe` name"))
    if value == want["no_floor"] != want["value"]:
        return _("less than one image from the baseline is noise, whatever the seed spread: "
                 "the noise is at least one image")
    if value == want["untrained"] != want["value"]:
        return _("that compares each recipe with its own untrained accuracy; the baseline is "
                 "`result.baseline`")
    for name, word in want["value"].items():
        problem = _versus(value[name], word,
                          _("compare the gap with the noise: the seed spread, and at least one "
                            "image (the pretrained network's own accuracy)"),
                          _("the wrong side of the pretrained network's own accuracy"))
        if problem:
            return f"{name}: {problem}"
    return None


q8 = Exercise(
    id="comparison_lab.q8",
    title=N_("what the pretrained network already knew"),
    task=N_("Untrained, the pretrained network already answers 'ants or bees': the larger of "
            "ImageNet's *ant* and *bee* scores. `result.baseline` is that accuracy on your "
            "validation images (`None` without such ImageNet rows or with random weights). "
            "Write `versus_baseline(result)`: a dict from each trained recipe's `recipe` "
            "(skip those whose `failure` is set) to `\"above\"` or `\"below\"` when its mean "
            "`final_val_acc` is further from the baseline than "
            "`max(val_acc_sd, result.one_image)`, else `\"within\"`; `None` without a "
            "baseline. Checked on built results and on yours: did training beat it?"),
    answer="versus_baseline",
    parts=(Part("every trained recipe"), Part("failed recipes left out"), Part("no baseline")),
    make_cases=lambda rng: _cases("q8", rng), observe=observer(), assess=_q8_assess,
    hint_text=N_("Loop over `result.results`; skip `r.failure`; the noise of each is "
                 "`max(r.val_acc_sd, result.one_image)`."),
)


def _cases(exercise: str, rng) -> list[dict]:
    """The built cases, then the student's own result (checked when the notebook has one)."""
    own = {"q5": [{"part": "a tie with the best"}], "q7": [{"part": "within or below it"}],
           "q8": [{"part": "every trained recipe"}],
           "q6": [{"part": "beyond the noise?", "aspect": "beyond"},
                  {"part": "which noise is bigger?", "aspect": "bigger"}]}[exercise]
    pair = {"a": "full_finetune", "b": "transfer_learning"} if exercise == "q6" else {}
    return lr.cases(exercise, rng) + [{**c, **pair, "own": True, "label": OWN} for c in own]
