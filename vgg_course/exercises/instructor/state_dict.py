"""Instructor-only: solution functions and hidden cases of ``02_state_dict.ipynb``'s exercises."""

from __future__ import annotations

from torch import nn

from vgg_course.exercises import zoo
from vgg_course.exercises.parts import Hidden, Part
from vgg_course.i18n import N_

# state_dict.q1
def predictions() -> dict[str, object]:
    """state_dict.q1: the prediction cell (its body); the check grades `predictions`."""
    # Predict, then run the check; run the verify cell only after that.
    ### BEGIN SOLUTION
    # conv and Linear: weight, bias. BatchNorm2d: weight, bias (learned) and
    # running_mean, running_var, num_batches_tracked (buffers: saved, not learned).
    n_entries = 8 * 2 + 8 * (2 + 3) + 3 * 2
    n_params = 8 * 2 + 8 * 2 + 3 * 2
    ### END SOLUTION
    predictions = {"state_dict_entries": n_entries, "parameters": n_params}
    return predictions


# state_dict.q2
def module_of(model: nn.Module, key: str) -> nn.Module:
    """The module holding the state_dict entry `key`, e.g. "features.14.weight"."""
    ### BEGIN SOLUTION
    owner_path, _, _entry_name = key.rpartition(".")
    return model.get_submodule(owner_path)
    ### END SOLUTION


# state_dict.q3
def section_sizes(model: nn.Module) -> dict[str, int]:
    """Parameters (frozen or not, no buffers) in each direct child of `model`."""
    ### BEGIN SOLUTION
    return {child_name: sum(w.numel() for w in child.parameters())
            for child_name, child in model.named_children()}
    ### END SOLUTION


def _q2_hidden(rng) -> list[dict]:
    return zoo.key_cases(rng, [("hidden: deeply nested keys", {"arch": "densenet121", "num_classes": 3}),
                            ("hidden: deeply nested keys", {"arch": "mobilenet_v3_small"})], 1)


def _q3_hidden(rng) -> list[dict]:
    return [{"part": "hidden: other networks", "label": zoo.describe({"arch": arch}),
             "model": {"arch": arch, "num_classes": rng.randint(2, 9)}}
            for arch in ("squeezenet1_1", "mobilenet_v3_small")]


HIDDEN = {
    "q2": Hidden((Part("hidden: deeply nested keys", hidden=True),), _q2_hidden),
    "q3": Hidden((Part("hidden: other networks", hidden=True),), _q3_hidden),
}


# --- what each case should give (reference code: instructor only) -------------------------

MISTAKES = {"q1": {
    "state_dict_entries": {
        38: N_("that counts parameters only: a BatchNorm layer also saves its buffers"),
        22: N_("a BatchNorm layer saves tensors too: a weight, a bias and three buffers"),
        54: N_("close: BatchNorm saves three buffers, num_batches_tracked included"),
        46: N_("a BatchNorm layer's weight and bias are in the state_dict too"),
    },
    "parameters": {
        62: N_("running statistics are buffers, not parameters"),
        22: N_("a BatchNorm layer has learnable parameters too (a scale and a shift)"),
        19: N_("each conv and Linear layer has a weight AND a bias tensor"),
    },
}}


def expect_q2(case: dict) -> dict:
    """state_dict.q2: the path of the module holding ``case["key"]``, its ancestors (a
    module that contains it deeper down) and the other modules sharing its tensor."""
    model = zoo.build(case["model"], meta=True)
    path = case["key"].rpartition(".")[0]
    tensor = model.state_dict(keep_vars=True)[case["key"]]
    shared = [name for name, m in model.named_modules(remove_duplicate=False) if name != path
              and any(t is tensor for t in [*m._parameters.values(), *m._buffers.values()])]
    parts = path.split(".") if path else []
    return {"path": path, "shared": shared,
            "ancestors": [".".join(parts[:i]) for i in range(len(parts))]}


def expect_q3(case: dict) -> dict:
    """state_dict.q3: per direct child, its parameters, and what typical mistakes give."""
    model = zoo.build(case["model"], meta=True)
    children = dict(model.named_children())

    def per_child(count) -> dict[str, int]:
        return {name: int(count(child)) for name, child in children.items()}

    return {
        "sizes": per_child(lambda c: sum(p.numel() for p in c.parameters())),
        "with_buffers": per_child(lambda c: sum(t.numel() for t in c.state_dict().values())),
        "trainable": per_child(lambda c: sum(p.numel() for p in c.parameters() if p.requires_grad)),
        "tensors": per_child(lambda c: len(list(c.parameters()))),
        "shared_twice": per_child(lambda c: sum(
            p.numel() for _, p in c.named_parameters(remove_duplicate=False))),
    }
