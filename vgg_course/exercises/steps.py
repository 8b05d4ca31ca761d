"""Training steps as the lab's loop takes them, observed through the classes: a train_step check.

An answer's ``train_step(model, images, labels, optimizer)`` runs :data:`STEPS` times on one
model and one optimizer, with a validation pass (eval mode) in between, as in the lab; what
is recorded after each step (every parameter's and BatchNorm buffer's fingerprint, the
returned loss) is plain data. The student's side runs it on the answer, the instructor's
side on the solution: the same protocol, so the two compare. Nothing here judges.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from vgg_course.exercises import integrity, zoo
from vgg_course.exercises.answers import plain

STEPS = 3  # steps on one model and one optimizer; the model is put in eval mode after the first


def case_batch(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(6, 3, 16, 16, generator=gen), torch.randint(0, 3, (6,), generator=gen)


def _state(model: nn.Module) -> dict:
    """Every parameter's and every BatchNorm's buffers' fingerprint, read through the classes
    (a NaN or an infinity anywhere in a tensor makes its fingerprint NaN or infinite)."""
    bns = [(n, m) for n, m in nn.Module.named_modules(model)
           if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    state = {"params": {n: zoo.fingerprint(p) for n, p in integrity.named_parameters(model)},
             "bn": {n: [zoo.fingerprint(m.running_mean), zoo.fingerprint(m.running_var),
                        int(m.num_batches_tracked)] for n, m in bns
                    if m.running_mean is not None and m.num_batches_tracked is not None}}
    values = list(state["params"].values()) + [v for b in state["bn"].values() for v in b[:2]]
    state["finite"] = all(math.isfinite(v) for v in values)
    if not state["finite"]:  # plain JSON: a value that is not finite is None
        state["params"] = {n: v if math.isfinite(v) else None for n, v in state["params"].items()}
        state["bn"] = {n: [v if math.isfinite(v) else None for v in b[:2]] + b[2:]
                       for n, b in state["bn"].items()}
    return state


def run_steps(fn, case: dict) -> dict:
    """``fn`` as the lab's loop calls it: ``STEPS`` steps on one model and one optimizer (SGD
    with momentum), the model put in eval mode between the first and the second (a
    validation pass). The state before and after each step, and each returned loss."""
    model = zoo.build(case["model"])
    trainable = [p for _, p in integrity.named_parameters(model) if integrity.requires_grad(p)]
    optimizer = torch.optim.SGD(trainable, lr=0.1, momentum=0.9)
    states, losses = [_state(model)], []
    for step, seed in enumerate(case["batches"]):
        if step == 1:
            nn.Module.train(model, False)  # validation ran in between
        losses.append(plain(fn(model, *case_batch(seed), optimizer)))
        states.append(_state(model))
    return {"states": states, "losses": losses, "patched": integrity.patched(model)}
