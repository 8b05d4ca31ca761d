"""Instructor-only: solutions and hidden cases of ``02_state_dict.ipynb``'s exercises."""

from __future__ import annotations

from vgg_course.exercises import zoo
from vgg_course.exercises.parts import Hidden, Part

SOLUTIONS = {
    "q1": ("# Predict, then run the check; run the verify cell only after that.\n"
           "### BEGIN SOLUTION\n"
           "# conv and Linear: weight, bias. BatchNorm2d: weight, bias (learned) and\n"
           "# running_mean, running_var, num_batches_tracked (buffers: saved, not learned).\n"
           "n_entries = 8 * 2 + 8 * (2 + 3) + 3 * 2\n"
           "n_params = 8 * 2 + 8 * 2 + 3 * 2\n"
           "### END SOLUTION\n"
           'predictions = {"state_dict_entries": n_entries, "parameters": n_params}'),
    "q2": ("def module_of(model: nn.Module, key: str) -> nn.Module:\n"
           '    """The module holding the state_dict entry `key`, e.g. "features.14.weight"."""\n'
           "    ### BEGIN SOLUTION\n"
           '    owner_path, _, _entry_name = key.rpartition(".")\n'
           "    return model.get_submodule(owner_path)\n"
           "    ### END SOLUTION"),
    "q3": ("def section_sizes(model: nn.Module) -> dict[str, int]:\n"
           '    """Parameters (frozen or not, no buffers) in each direct child of `model`."""\n'
           "    ### BEGIN SOLUTION\n"
           "    return {child_name: sum(w.numel() for w in child.parameters())\n"
           "            for child_name, child in model.named_children()}\n"
           "    ### END SOLUTION"),
}


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
