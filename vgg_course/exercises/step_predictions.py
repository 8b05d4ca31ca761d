"""Exercises 5 and 6 of ``05_fine_tuning.ipynb``: predictions of what one training step does.

Frozen BatchNorm in training mode, a small step's effect on the loss, a frozen tensor in an
optimizer, ``zero_grad()``: each is recorded, then shown on a small network in the verify cell;
the instructor's ``bn_predictions`` and ``step_predictions`` hold what really happens.
"""

from __future__ import annotations

from vgg_course.exercises.predictions import Prediction, prediction_exercise
from vgg_course.i18n import N_

# --- q5 and q6: predict what training does -----------------------------------------------------

# The small network's code: the verify cells use it, the tasks (one literal each, translated
# whole) write it out where they say ``# _SMALL``.
_SMALL = ("torch.manual_seed(0)\n"
          "model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),\n"
          "                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))\n"
          "images, labels = torch.randn(8, 3, 16, 16), torch.randint(0, 2, (8,))\n")
_CHANGE = ("changes", "stays")

q5 = prediction_exercise(
    id="fine_tuning.q5",
    title=N_("predict what a step does to frozen BatchNorm"),
    task=N_("**Predict first, run later.** A small network with BatchNorm, as in VGG16-BN or "
            "ResNet:\n\n```python\n"
            "torch.manual_seed(0)\n"
            "model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),\n"
            "                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))\n"
            "images, labels = torch.randn(8, 3, 16, 16), torch.randint(0, 2, (8,))\n"  # _SMALL
            "model[:2].requires_grad_(False)  # the conv "
            "and BatchNorm frozen\noptimizer = torch.optim.SGD(model[5].parameters(), lr=0.1)\n"
            "model.train()\n```\n\nThen one training step on `images, labels` (forward, "
            "cross-entropy, `backward()`, `optimizer.step()`). Predict, each `\"changes\"` or "
            "`\"stays\"`:\n\n"
            "- `running_mean`: the BatchNorm's `running_mean`;\n"
            "- `bn_weight`: the BatchNorm's `weight` (its learnable scale);\n"
            "- `after_eval`: the BatchNorm's `running_mean`, when `model[1].eval()` runs after "
            "`model.train()` and before the step."),
    answer="bn_predictions",
    predictions=(Prediction("running_mean", "the running mean in train mode", kind="name",
                            choices=_CHANGE),
                 Prediction("bn_weight", "the frozen scale", kind="name", choices=_CHANGE),
                 Prediction("after_eval", "the running mean in eval mode", kind="name",
                            choices=_CHANGE)),
    hint_text=N_("`requires_grad` decides what the optimizer can move; the mode (`train()` / "
                 "`eval()`) decides what a BatchNorm does in its forward pass."),
    verify=("# Verify (after the check): one step, then compare with a copy from before\n"
            "import copy\n\n\n"
            "def one_step(bn_in_eval):\n"
            "    " + _SMALL.replace("\n", "\n    ").rstrip() + "\n"
            "    model[:2].requires_grad_(False)\n"
            "    optimizer = torch.optim.SGD(model[5].parameters(), lr=0.1)\n"
            "    model.train()\n"
            "    if bn_in_eval:\n"
            "        model[1].eval()\n"
            "    before = copy.deepcopy(model[1])\n"
            "    nn.functional.cross_entropy(model(images), labels).backward()\n"
            "    optimizer.step()\n"
            "    return before, model[1]\n\n\n"
            "def moved(a, b):\n"
            "    return \"stays\" if torch.equal(a, b) else \"changes\"\n\n\n"
            "before, after = one_step(bn_in_eval=False)\n"
            "frozen_before, frozen_after = one_step(bn_in_eval=True)\n"
            "ex.q5.reveal(running_mean=moved(before.running_mean, after.running_mean),\n"
            "             bn_weight=moved(before.weight, after.weight),\n"
            "             after_eval=moved(frozen_before.running_mean, frozen_after.running_mean))"),
)

q6 = prediction_exercise(
    id="fine_tuning.q6",
    title=N_("predict what one optimizer step moves"),
    task=N_("**Predict first, run later.** The same small network (no dropout), nothing "
            "frozen yet:\n\n```python\n"
            "torch.manual_seed(0)\n"
            "model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),\n"
            "                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))\n"
            "images, labels = torch.randn(8, 3, 16, 16), torch.randint(0, 2, (8,))\n"  # _SMALL
            "model.eval()  # BatchNorm fixed: the "
            "loss depends on the weights alone\n```\n\nPredict:\n\n"
            "- `loss_after`: compared with the loss on `images, labels` before, the loss on the "
            "same batch after one step of `torch.optim.SGD(model.parameters(), lr=0.01)`: "
            "`\"lower\"`, `\"same\"` or `\"higher\"`;\n"
            "- `frozen_in_optimizer`: the conv's weight, frozen (`model[0].requires_grad_(False)`) "
            "*after* `torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, "
            "weight_decay=0.01)` was built, over one step: `\"changes\"` or `\"stays\"`;\n"
            "- `grad_after_zero_grad`: a trained parameter's `.grad` after "
            "`optimizer.zero_grad()`: `\"None\"`, `\"zeros\"` or `\"values\"`."),
    answer="step_predictions",
    predictions=(Prediction("loss_after", "the loss after a small step", kind="name",
                            choices=("lower", "same", "higher")),
                 Prediction("frozen_in_optimizer", "a frozen parameter in the optimizer",
                            kind="name", choices=_CHANGE),
                 Prediction("grad_after_zero_grad", "the gradient after zero_grad", kind="name",
                            choices=("None", "zeros", "values"))),
    hint_text=N_("A step goes against the gradient; a tensor with `requires_grad=False` gets no "
                 "`.grad`, and SGD skips a parameter whose `.grad` is None; `zero_grad()` has a "
                 "`set_to_none` argument: look up its default."),
    verify=("# Verify (after the check)\n"
            "def loss_of(model):\n"
            "    with torch.no_grad():\n"
            "        return nn.functional.cross_entropy(model(images), labels).item()\n\n\n"
            + _SMALL + "model.eval()\n"
            "optimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n"
            "before = loss_of(model)\n"
            "nn.functional.cross_entropy(model(images), labels).backward()\n"
            "optimizer.step()\n"
            "after = loss_of(model)\n"
            "optimizer.zero_grad()\n"
            "grad = model[5].weight.grad\n\n"
            + _SMALL + "model.eval()\n"
            "optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)\n"
            "model[0].requires_grad_(False)\n"
            "conv = model[0].weight.detach().clone()\n"
            "nn.functional.cross_entropy(model(images), labels).backward()\n"
            "optimizer.step()\n"
            "print(f\"loss {before:.4f} -> {after:.4f}\")\n"
            "ex.q6.reveal(loss_after=\"lower\" if after < before else \"same\" if after == before else \"higher\",\n"
            "             frozen_in_optimizer=\"stays\" if torch.equal(conv, model[0].weight) else \"changes\",\n"
            "             grad_after_zero_grad=\"None\" if grad is None else \"zeros\" if not grad.any() else \"values\")"),
)
