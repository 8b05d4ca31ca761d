"""What an answer left behind, read through the classes as plain data: models, optimizers.

The lessons' ``observe`` functions (student side) use these to describe a model or an
optimizer after an answer ran, without trusting anything the answer could have patched on
an instance; the ``*_problem`` helpers compare such a description with the expected one
(trusted side). Nothing here computes what an answer should be.
"""

from __future__ import annotations

import torch
from torch import nn

from vgg_course.exercises import integrity, zoo
from vgg_course.exercises.answers import plain
from vgg_course.i18n import _

# The settings an optimizer's parameter group holds, compared in full.
SETTINGS = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize")


def values(tensor: torch.Tensor) -> torch.Tensor:
    """A tensor's values as a plain tensor, whatever its class says: a subclass's
    ``__torch_function__`` cannot answer for it."""
    with torch._C.DisableTorchFunctionSubclass():
        return torch.Tensor.detach(tensor)


def returned(result: object, model: nn.Module) -> str:
    """What an answer gave back: ``"None"``, ``"the argument"`` or a type's name."""
    if result is None:
        return "None"
    return "the argument" if result is model else type(result).__name__


def snapshot(model: nn.Module) -> dict[str, tuple[torch.Tensor, float | None]]:
    """The model's parameters before an answer runs, with their values' fingerprints."""
    return {n: (p, None if p.is_meta else zoo.fingerprint(values(p)))
            for n, p in integrity.named_parameters(model)}


def model_state(model: nn.Module, before: dict) -> dict:
    """A model after an answer, read through the classes: its parameters' names, shapes and
    flags, its modules' classes, methods patched on them, whether its values are finite, and
    the parameters that are not the same tensors with the same values as in ``before``
    (:func:`snapshot`)."""
    now = dict(integrity.named_parameters(model))
    changed = [n for n, (p, print_) in before.items() if now.get(n) is not p or (
        print_ is not None and abs(zoo.fingerprint(values(p)) - print_) > 1e-6)]
    return {"names": list(now), "trainable": integrity.trainable_names(model),
            "shapes": integrity.shapes(model), "changed": changed,
            "modules": [[n, class_name(m)] for n, m in nn.Module.named_modules(model)],
            "patched": integrity.patched(model),
            "finite": integrity.finite(values(p) for p in now.values())}


def state_problem(got: dict, want: dict) -> str | None:
    """What is wrong with a :func:`model_state` beside the expected one, flags aside."""
    if got["names"] != want["names"] or got["shapes"] != want["shapes"] or got["changed"]:
        if not got["changed"]:
            return _("a parameter was replaced, removed or changed: keep the model's layers and "
                     "values")
        return _("{name} was replaced, removed or changed: keep the model's layers and "
                 "values").format(name=got["changed"][0])
    if got["modules"] != want["modules"]:
        return _("layers of the model were replaced: keep the model's layers")
    if got["patched"]:
        return _("{name} was replaced on the model itself: keep its methods").format(
            name=got["patched"][0])
    return None if got["finite"] else _("some parameters are NaN or infinite")


def class_name(obj: object) -> str:
    """``torch.nn.modules.linear.Linear``: the full name of an object's class."""
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def param_table(model: nn.Module) -> dict[str, list]:
    """Every parameter, read through the classes: ``[shape, trainable, fingerprint]``."""
    return {n: [list(p.shape), integrity.requires_grad(p),
                zoo.fingerprint(values(p))]
            for n, p in integrity.named_parameters(model)}


def same_table(got: dict, want: dict) -> bool:
    """Two :func:`param_table` results name the same shapes, flags and values."""
    return sorted(got) == sorted(want) and all(
        got[n][:2] == want[n][:2] and abs(got[n][2] - want[n][2]) <= 1e-4 for n in want)


def names_by_id(model: nn.Module) -> dict[int, str]:
    return {id(p): n for n, p in integrity.named_parameters(model)}


def group_settings(group: dict) -> dict:
    """A parameter group's settings (``SETTINGS``) as plain data."""
    return {k: plain(float(group[k]) if k in ("lr", "momentum", "dampening", "weight_decay")
                     else bool(group[k])) for k in SETTINGS if k in group}


def settings_problem(groups: list[dict], want: dict[str, dict], what: str, *,
                     listed_only: bool = False) -> str | None:
    """The first parameter of ``want`` (name -> settings) whose group says otherwise (or
    that is in no group, unless ``listed_only``)."""
    by_name = {n: g for g in groups for n in g["names"]}
    for name, settings in want.items():
        got = by_name.get(name)
        if got is None:
            if listed_only:
                continue
            return _("{name} is in no group").format(name=name)
        for key, value in settings.items():
            if isinstance(value, bool) or isinstance(got.get(key), bool):
                same = got.get(key) is value
            else:
                same = isinstance(got.get(key), (int, float)) and abs(got[key] - value) <= 1e-12
            if not same:
                return _("{what} gets {key}={got}, not {want}").format(
                    what=_(what), key=key, got=shown(got.get(key)), want=shown(value))
    return None


def shown(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def optimizer_patched(optimizer) -> list[str]:
    """Methods replaced on the optimizer itself (its instance dict shadows its class)."""
    return [k for k, v in vars(optimizer).items()
            if callable(v) and callable(getattr(type(optimizer), k, None))]


OPTIMIZER_STEPS = 3


def run_steps(model: nn.Module, optimizer, case: dict) -> dict[str, float]:
    """``OPTIMIZER_STEPS`` steps of ``optimizer`` on the case's seeded batch (``case["data"]``;
    the model in eval mode: no dropout), then every parameter's fingerprint."""
    gen = torch.Generator().manual_seed(case["data"])
    images = torch.randn(2, 3, 32, 32, generator=gen)
    labels = torch.randint(0, case["model"]["num_classes"], (2,), generator=gen)
    nn.Module.train(model, False)
    with torch.enable_grad():
        for _step in range(OPTIMIZER_STEPS):
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(nn.Module.__call__(model, images), labels)
            loss.backward()
            optimizer.step()
    return {n: zoo.fingerprint(values(p))
            for n, p in integrity.named_parameters(model)}
