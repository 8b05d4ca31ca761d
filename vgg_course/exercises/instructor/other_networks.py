"""Instructor-only: solution functions and hidden cases of ``07_other_networks.ipynb``'s exercises."""

from __future__ import annotations

import functools
import json
from contextlib import contextmanager

import torch

from torch import nn

from vgg_course.exercises import steps, zoo
from vgg_course.exercises.observed import class_name, param_table
from vgg_course.exercises.parts import Hidden, Part
from vgg_course.i18n import N_

MISTAKES = {
    "q4": {
        "squeezenet": {23_045: N_("a 1x1 kernel has one weight per input channel"),
                       2_560: N_("the new conv has biases too")},
        "mobilenet": {5_120: N_("the new layer has biases too")},
    },
}

# other_networks.q1
def head_path(model: nn.Module) -> str:
    """The path of the last Linear or Conv2d: the layer that makes class scores."""
    ### BEGIN SOLUTION
    scoring = [path for path, layer in model.named_modules()
               if isinstance(layer, (nn.Linear, nn.Conv2d))]
    return scoring[-1]
    ### END SOLUTION


# other_networks.q2
def resnet_partial(model: nn.Module, num_classes: int) -> nn.Module:
    """Freeze all, unfreeze layer4, a new trainable fc: partial fine-tuning."""
    ### BEGIN SOLUTION
    model.requires_grad_(False)
    model.layer4.requires_grad_(True)
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model
    ### END SOLUTION


# other_networks.q3
def train_step(model, images, labels, optimizer) -> float:
    """One step; frozen BatchNorm layers keep their running statistics."""
    ### BEGIN SOLUTION
    model.train()
    for layer in model.modules():
        if isinstance(layer, nn.BatchNorm2d) and not any(
                p.requires_grad for p in layer.parameters()):
            layer.eval()  # frozen: use the stored statistics, do not update them
    loss = nn.functional.cross_entropy(model(images), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
    ### END SOLUTION


# other_networks.q4
def predictions() -> dict[str, object]:
    """other_networks.q4: the prediction cell (its body); the check grades `predictions`."""
    # Predict, then run the check; run the verify cell only after that.
    ### BEGIN SOLUTION
    squeezenet = 512 * 5 * 1 * 1 + 5   # a 1x1 conv counts like a Linear layer
    mobilenet = 1024 * 5 + 5
    ### END SOLUTION
    predictions = {"squeezenet": squeezenet, "mobilenet": mobilenet}
    return predictions


@contextmanager
def one_thread():
    """Tiny models on one thread, as the checks run them (more threads spin on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# --- what a right answer gives on a case (the grader's side) ---------------------------------

def expect_q1(case: dict) -> dict:
    """The solution's path for the case's network."""
    return {"value": head_path(zoo.build(case["model"], meta=True))}


def expect_q2(case: dict) -> dict:
    """The model before the answer, and after the solution: every parameter, fc's width, the
    modules other than fc."""
    full = json.loads(_partial(json.dumps([case["model"], case["num_classes"]], sort_keys=True)))
    keep = {"fits": ("before", "in_features"), "trains": ("before", "after"),
            "kept": ("before", "after", "modules")}[case["aspect"]]
    return {k: full[k] for k in keep}


@functools.lru_cache(maxsize=8)
def _partial(key: str) -> str:
    spec, num_classes = json.loads(key)
    with one_thread():
        model = zoo.reference(spec)
        before = param_table(model)
        in_features = model.fc.in_features
        after = resnet_partial(model, num_classes)
        table = {n: v[:2] + [None if n.startswith("fc.") else v[2]]  # a new fc: random values
                 for n, v in param_table(after).items()}
        return json.dumps({"before": before, "after": table,
                           "in_features": in_features,
                           "modules": [[n, class_name(m)] for n, m in after.named_modules()
                                       if n != "fc" and not n.startswith("fc.")]})


def frozen_batchnorms(model: nn.Module) -> list[str]:
    """The BatchNorm layers whose parameters are all frozen."""
    return [n for n, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
            and not any(p.requires_grad for p in m.parameters())]


def expect_q3(case: dict) -> dict:
    """The solution's steps, as the lab's loop runs them (``steps.run_steps``): the names of
    the parameters and BatchNorm layers, the frozen ones, and what the case's part compares
    (the losses, or the state after each step)."""
    run = json.loads(_steps(json.dumps({"model": case["model"], "batches": case["batches"]},
                                       sort_keys=True)))
    first = run["states"][0]
    want = {"params": sorted(first["params"]), "bn": sorted(first["bn"]),
            "steps": len(run["losses"]), "frozen_bn": run["frozen_bn"]}
    if case["aspect"] == "loss":
        want["losses"] = run["losses"]
    if case["aspect"] == "learns":
        want["states"] = run["states"]
    return want


@functools.lru_cache(maxsize=8)
def _steps(key: str) -> str:
    case = json.loads(key)
    with one_thread():
        run = steps.run_steps(train_step, case)
    return json.dumps({"states": run["states"], "losses": run["losses"],
                       "frozen_bn": frozen_batchnorms(zoo.reference(case["model"]))})


# --- hidden cases ----------------------------------------------------------------------------

def _q1_hidden(rng) -> list[dict]:
    return [{"part": "hidden: DenseNet and EfficientNet", "label": zoo.describe({"arch": arch}),
             "model": {"arch": arch, "num_classes": rng.randint(2, 9)}}
            for arch in ("densenet121", "efficientnet_b0")]


def _q2_hidden(rng) -> list[dict]:
    spec = {"arch": "resnet", "layers": [2, 1, 1, 2], "num_classes": 1000,
            "seed": rng.randrange(1000)}
    return [{"part": "hidden: a deeper ResNet", "aspect": aspect, "label": zoo.describe(spec),
             "model": spec, "num_classes": 4} for aspect in ("trains", "fits", "kept")]


def _q3_hidden(rng) -> list[dict]:
    spec = {"arch": "resnet", "layers": [1, 1, 1, 1], "num_classes": 3, "seed": rng.randrange(1000),
            "frozen": ["conv1", "bn1", "layer1", "layer2"]}
    batches = [rng.randrange(10_000) for _ in range(steps.STEPS)]
    return [{"part": "hidden: layer3 trains too", "aspect": aspect, "label": "a ResNet, layer3 on trains",
             "model": spec, "batches": batches} for aspect in ("frozen", "learns", "loss")]


HIDDEN = {
    "q1": Hidden((Part("hidden: DenseNet and EfficientNet", hidden=True),), _q1_hidden),
    "q2": Hidden((Part("hidden: a deeper ResNet", hidden=True),), _q2_hidden),
    "q3": Hidden((Part("hidden: layer3 trains too", hidden=True),), _q3_hidden),
}
