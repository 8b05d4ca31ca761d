"""Reading an answer's objects so that patching them cannot lie, and torch's global state.

A student's answer runs in the student's process, on objects it may change. What a check
observes is read here through the classes, never through the instance: a model whose
``named_parameters`` or ``forward`` was replaced on the instance, a tensor subclass whose
``requires_grad`` lies, weights set to NaN, all show as what they are. The global state
(grad mode, default dtype, torch's seed, flags) is snapshotted before an answer runs and
compared after it, so an answer that leaves ``torch.set_grad_enabled(False)`` behind is
caught and the next case starts clean.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterable, Iterator

import torch
from torch import nn

from vgg_course.i18n import N_, _

# --- what an answer did to its argument, read without any method it could patch -----------
# Captured at import, before any answer runs: an answer may replace `nn.Module`'s methods,
# `torch.equal` or a method on one instance, never what these names already hold.

_TENSOR = torch._C.TensorBase  # an immutable C type: its attributes cannot be replaced
_REQUIRES_GRAD, _SHAPE, _GRAD = (_TENSOR.requires_grad.__get__, _TENSOR.shape.__get__,
                                 _TENSOR.grad.__get__)
_DETACH, _CLONE, _EQUAL, _FINITE = _TENSOR.detach, _TENSOR.clone, torch.equal, torch.isfinite
_GETATTR, _ITEMS = object.__getattribute__, dict.items
_HOOKS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks",
          "_state_dict_hooks", "_load_state_dict_pre_hooks")


def finite(tensors: Iterable[torch.Tensor]) -> bool:
    """``False`` when any tensor holds a NaN or an infinity (meta tensors count as finite)."""
    for t in tensors:
        if t.is_meta or not t.is_floating_point():
            continue
        if not bool(_FINITE(_DETACH(t)).all()):
            return False
    return True


def walk(model: nn.Module):
    """``(path, module)`` for each module once, under its first path, in the order of
    ``named_modules()``, from the modules' own dicts (``_modules``), never a method an
    answer could have replaced; a module made to contain itself is visited once."""
    seen: set[int] = set()
    stack = [("", model)]
    while stack:
        path, module = stack.pop()
        if id(module) in seen:
            continue
        seen.add(id(module))
        yield path, module
        children = [(f"{path}.{name}" if path else name, child)
                    for name, child in _ITEMS(_GETATTR(module, "_modules"))
                    if isinstance(child, nn.Module)]
        stack.extend(reversed(children))


def tensors(model: nn.Module, kind: str) -> dict[str, torch.Tensor]:
    return {f"{path}.{n}" if path else n: t for path, m in walk(model)
            for n, t in _ITEMS(_GETATTR(m, kind)) if t is not None}


def requires_grad(tensor: torch.Tensor) -> bool:
    """The tensor's own flag, read through the C type (a subclass's property cannot lie)."""
    return bool(_REQUIRES_GRAD(tensor))


def shape(tensor: torch.Tensor) -> torch.Size:
    return _SHAPE(tensor)


def param_names(model: nn.Module) -> list[str]:
    return [name for name, _ in named_parameters(model)]


def trainable_names(model: nn.Module) -> list[str]:
    return [name for name, p in named_parameters(model) if _REQUIRES_GRAD(p)]


def shapes(model: nn.Module) -> dict[str, list[int]]:
    return {name: list(_SHAPE(p)) for name, p in named_parameters(model)}


def named_buffers(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    return list(tensors(model, "_buffers").items())


def patched(model: nn.Module) -> list[str]:
    """Every method hidden by an instance attribute, in any submodule (``0.forward``).

    Example:
        >>> model = nn.Sequential(nn.Linear(2, 2))
        >>> model[0].forward = lambda x: x
        >>> patched(model)
        ['0.forward']
    """
    return [f"{path}.{name}" if path else name for path, m in walk(model)
            for name in patched_methods(m)]


def named_parameters(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """What ``model.named_parameters()`` gives (each tensor once, under its first name),
    read from the modules' own dicts: patching a method, on the instance or on
    ``nn.Module`` itself, does not change it.

    Example:
        >>> model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
        >>> model[1].weight = model[0].weight
        >>> model.named_modules = lambda *args, **kwargs: iter([])  # a lie on the instance
        >>> [name for name, _ in named_parameters(model)]
        ['0.weight', '0.bias', '1.bias']
    """
    seen: set[int] = set()
    found = []
    for name, tensor in tensors(model, "_parameters").items():
        if id(tensor) not in seen:
            seen.add(id(tensor))
            found.append((name, tensor))
    return found


def snapshot(model: nn.Module) -> dict:
    """What an answer could change in ``model``: its layers, flags, hooks and values (a copy).

    Example:
        >>> model = nn.Sequential(nn.Conv2d(1, 1, 1), nn.BatchNorm2d(1))
        >>> before = snapshot(model)
        >>> model[1].eval()(torch.zeros(1, 1, 2, 2)).shape
        torch.Size([1, 1, 2, 2])
        >>> changes(before, model)
        ['1 was switched to eval mode']
    """
    params, buffers = tensors(model, "_parameters"), tensors(model, "_buffers")
    with torch._C.DisableTorchFunctionSubclass(), torch.no_grad():
        return {"model": model,
                "modules": {p: (m, type(m), vars(m).get("training"), patched_methods(m),
                                [len(vars(m).get(h) or ()) for h in _HOOKS]) for p, m in walk(model)},
                "params": {n: (t, _REQUIRES_GRAD(t), _GRAD(t), _CLONE(_DETACH(t)))
                           for n, t in params.items()},
                "buffers": {n: (t, _CLONE(_DETACH(t))) for n, t in buffers.items()}}


def patched_methods(module: nn.Module) -> list[str]:
    """Names set on this instance that hide a method of its class (``model.forward = f``)."""
    cls = type(module)
    return sorted(k for k in vars(module) if callable(getattr(cls, k, None)))


def changes(before: dict, model: nn.Module, *, requires_grad: bool = True) -> list[str]:
    """What an answer changed in ``model`` since :func:`snapshot`, in words (at most 3);
    ``requires_grad=False`` leaves flips of ``requires_grad`` to the caller."""
    after = snapshot(model)
    found: list[str] = []
    for path, (m, cls, training, patched, hooks) in before["modules"].items():
        name = path or _("the model")
        now = after["modules"].get(path)
        if now is None or now[0] is not m or now[1] is not cls:
            found.append(_("{name} was removed or replaced").format(name=name))
            continue
        if now[3] != patched:
            found.append(_("{name} was replaced on the instance").format(
                name=f"{name}.{sorted(set(now[3]) ^ set(patched))[0]}"))
        if now[2] != training:
            found.append((_("{name} was switched to train mode") if now[2] else
                          _("{name} was switched to eval mode")).format(name=name))
        if now[4] != hooks:
            found.append(_("a hook was added to or removed from {name}").format(name=name))
    found += [_("{name} was added").format(name=p)
              for p in after["modules"] if p not in before["modules"]]
    for kind in ("params", "buffers"):
        for name, (t, *rest) in before[kind].items():
            now = after[kind].get(name)
            if now is None or now[0] is not t:
                found.append(_("`{name}` was removed or replaced by another tensor").format(name=name))
            elif now[-1].is_floating_point() and not bool(_FINITE(now[-1]).all()):
                found.append(_("`{name}` holds NaN or inf").format(name=name))
            elif now[-1].shape != rest[-1].shape or not _EQUAL(now[-1], rest[-1]):
                found.append((_("the values of `{name}` changed (a forward pass in training mode "
                                "updates BatchNorm's running statistics)") if kind == "buffers"
                              else _("the values of `{name}` changed")).format(name=name))
            elif kind == "params" and requires_grad and now[1] != rest[0]:
                found.append(_("`{name}`'s requires_grad was changed to {flag}").format(
                    name=name, flag=now[1]))
            elif kind == "params" and (now[2] is None) != (rest[1] is None):
                found.append(_("`{name}` has a .grad it did not have (a backward pass?)").format(
                    name=name))
        found += [_("`{name}` was added").format(name=n)
                  for n in after[kind] if n not in before[kind]]
    return found[:3]


# --- torch's global state ------------------------------------------------------------------

@contextmanager
def one_thread() -> Iterator[None]:
    """Run tiny models on one thread: they gain nothing from more, and OpenMP threads spin
    badly on a busy machine (a check took 7 s with two threads, 0.2 s with one)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)



# Methods of torch's classes an answer could replace for every object at once, as the
# kit imported them: compared after every answer, and put back.
_METHODS = {(cls, name): vars(cls)[name] for cls, names in (
    (nn.Module, ("named_parameters", "parameters", "named_modules", "modules", "named_buffers",
                 "buffers", "state_dict", "load_state_dict", "train", "eval", "requires_grad_",
                 "zero_grad", "_call_impl", "__setattr__", "__getattr__")),
    (torch.optim.Optimizer, ("step", "zero_grad", "add_param_group", "state_dict")),
    (torch.Tensor, ("backward", "requires_grad_", "numel")),
) for name in names if name in vars(cls)}


def _replaced() -> list[str]:
    return sorted(f"{cls.__name__}.{name}" for (cls, name), method in _METHODS.items()
                  if vars(cls).get(name) is not method)


def global_state() -> dict[str, Any]:
    """What an answer must leave as it found it."""
    return {
        "replaced methods": _replaced(),
        "grad mode": torch.is_grad_enabled(),
        "inference mode": torch.is_inference_mode_enabled(),
        "default dtype": str(torch.get_default_dtype()),
        "default device": str(torch.get_default_device()),
        "torch seed": torch.initial_seed(),
        "deterministic algorithms": torch.are_deterministic_algorithms_enabled(),
        "anomaly detection": torch.is_anomaly_enabled(),
        "cudnn.benchmark": torch.backends.cudnn.benchmark,
        "cudnn.deterministic": torch.backends.cudnn.deterministic,
        "threads": torch.get_num_threads(),
    }


_WHAT_LEFT = {
    "grad mode off": N_("grad mode is off after the answer (torch.set_grad_enabled(False) left behind)"),
    "grad mode on": N_("grad mode is on after the answer (torch.set_grad_enabled(True) left behind)"),
    "default dtype": N_("the default dtype is {after} after the answer (torch.set_default_dtype left behind)"),
    "torch seed": N_("the answer re-seeded torch's global random generator (torch.manual_seed)"),
    "replaced methods": N_("the answer replaced {after} for every object (a method of a torch class)"),
}


def state_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What an answer changed in the global state, one phrase each.

    Example:
        >>> before = global_state()
        >>> state_changes(before, {**before, "grad mode": False})
        ['grad mode is off after the answer (torch.set_grad_enabled(False) left behind)']
    """
    found = []
    for key, was in before.items():
        now = after.get(key)
        if now == was:
            continue
        if key == "grad mode":
            found.append(_(_WHAT_LEFT["grad mode on" if now else "grad mode off"]))
        elif key == "replaced methods":
            found.append(_(_WHAT_LEFT[key]).format(after=", ".join(sorted(set(now) - set(was)) or was)))
        elif key in _WHAT_LEFT:
            found.append(_(_WHAT_LEFT[key]).format(after=now))
        else:
            found.append(_("{key} changed from {was} to {now} and was left so").format(
                key=key, was=was, now=now))
    return found


def restore(state: dict[str, Any]) -> None:
    """Put the global state back as :func:`global_state` found it (the seed by re-seeding;
    torch's methods as the kit imported them)."""
    for (cls, name), method in _METHODS.items():
        if vars(cls).get(name) is not method:
            setattr(cls, name, method)
    torch.set_grad_enabled(state["grad mode"])
    torch.set_default_dtype(getattr(torch, state["default dtype"].removeprefix("torch.")))
    torch.set_default_device(None if state["default device"] == "cpu" else state["default device"])
    if torch.initial_seed() != state["torch seed"]:
        torch.manual_seed(state["torch seed"])
    torch.use_deterministic_algorithms(state["deterministic algorithms"])
    torch.autograd.set_detect_anomaly(state["anomaly detection"])
    torch.backends.cudnn.benchmark = state["cudnn.benchmark"]
    torch.backends.cudnn.deterministic = state["cudnn.deterministic"]
    torch.set_num_threads(state["threads"])
