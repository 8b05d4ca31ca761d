"""Instructor-only: solution functions and hidden cases of ``02_state_dict.ipynb``'s exercises."""

from __future__ import annotations

from torch import nn

from vgg_course.exercises import zoo
from vgg_course.exercises.parts import Hidden, Part

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
