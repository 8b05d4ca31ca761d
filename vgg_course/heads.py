"""Finding and replacing a model's classifier head (its last layer with parameters).

The head is the layer that turns features into one score per class: ``classifier.6``
(``Linear(4096, 1000)``) in VGG16, ``fc`` in ResNet, ``classifier.1``
(``Conv2d(512, 1000, kernel_size=1)``) in SqueezeNet. New layers get PyTorch's default
initialisation (``keep_rows``: the old head's rows for the chosen classes) and are put on the
old head's device and dtype.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from typing import Sequence

import torch
from torch import nn

from vgg_course.i18n import _

__all__ = ["Head", "find_head", "keep_rows", "new_classifier", "replace_head", "set_head"]


@dataclass(frozen=True)
class Head:
    """Where a model's head is and what it maps: ``in_features`` -> ``out_features`` scores."""

    path: str
    kind: str
    in_features: int
    out_features: int

    @property
    def explanation(self) -> str:
        if self.kind == "Linear":
            text = _("`{path}` is the head: a Linear layer mapping {in_features:,} features to "
                     "{out_features:,} class scores.")
        else:
            text = _("`{path}` is the head: a 1x1 convolution (one output channel per class, "
                     "averaged over positions) mapping {in_features:,} features to "
                     "{out_features:,} class scores.")
        extra = "" if self.kind == "Linear" else ", kernel_size=1"
        swap = _("replace_head(model, k) swaps it for a fresh {layer}; everything before it "
                 "stays as it is.")
        text = text.format(path=self.path, in_features=self.in_features,
                           out_features=self.out_features)
        space = "" if text.endswith("。") else " "  # Japanese sentences take no space between
        return text + space + swap.format(layer=f"{self.kind}({self.in_features}, k{extra})")

    def __repr__(self) -> str:
        return (f"Head(path={self.path!r}, kind={self.kind!r}, in_features={self.in_features}, "
                f"out_features={self.out_features})")

    def _repr_markdown_(self) -> str:
        return _("**Head:** {explanation}").format(explanation=html.escape(self.explanation))


def _head_kind(layer: nn.Module) -> tuple[str, int, int] | None:
    if isinstance(layer, nn.Linear):
        return "Linear", layer.in_features, layer.out_features
    if isinstance(layer, nn.Conv2d) and layer.kernel_size == (1, 1) and layer.groups == 1:
        return "Conv2d", layer.in_channels, layer.out_channels
    return None


def find_head(model: nn.Module) -> Head:
    """Locate the head: the last module, in registration order, that holds parameters.

    Raises:
        ValueError: that layer is not a ``Linear`` or a 1x1 ``Conv2d``, or the model has
            no parameters at all.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> find_head(tiny_vgg(2))
        Head(path='classifier.6', kind='Linear', in_features=32, out_features=2)
    """
    last = None
    for path, module in model.named_modules():
        if any(True for _ in module.parameters(recurse=False)):
            last = path, module
    if last is None:
        raise ValueError(_("{model} has no layer with parameters, so no head to find").format(
            model=type(model).__name__))
    path, layer = last
    kind = _head_kind(layer)
    if kind is None:
        raise ValueError(_("the last layer with parameters in {model} is `{path}` = {layer}, not "
                           "a Linear or 1x1 Conv2d head; replace it by hand with "
                           "set_head(model, layer, path=...)").format(
                               model=type(model).__name__, path=path, layer=layer))
    return Head(path, *kind)


def _fresh(kind: str, in_features: int, num_classes: int) -> nn.Module:
    if kind == "Linear":
        return nn.Linear(in_features, num_classes)
    return nn.Conv2d(in_features, num_classes, kernel_size=1)


def _check_num_classes(num_classes: int) -> None:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int):
        raise TypeError(_("num_classes must be an int, got {type} {value!r}").format(
            type=type(num_classes).__name__, value=num_classes))
    if num_classes < 1:
        raise ValueError(_("num_classes must be at least 1, got {value} (2 for ants vs bees; the "
                           "number of class folders for your own data)").format(value=num_classes))


def _place(model: nn.Module, path: str, layer: nn.Module) -> None:
    parent_path, _, name = path.rpartition(".")
    old = model.get_submodule(path)
    reference = next(old.parameters(), None)
    if reference is not None:
        layer = layer.to(device=reference.device, dtype=reference.dtype)
    setattr(model.get_submodule(parent_path) if parent_path else model, name, layer)


def set_head(model: nn.Module, layer: nn.Module, *, path: str | None = None) -> nn.Module:
    """Put ``layer`` where the head is (or at ``path``), after checking its input size fits.

    Raises:
        ValueError: ``layer`` takes a different number of inputs than the layer it replaces.

    Example:
        >>> from torch import nn
        >>> from vgg_course.models import tiny_vgg
        >>> set_head(tiny_vgg(2), nn.Linear(32, 5)).classifier[6]
        Linear(in_features=32, out_features=5, bias=True)
    """
    if path is None:
        head = find_head(model)
        path, expected = head.path, head.in_features
        new = _head_kind(layer)
        got = new[1] if new else getattr(layer, "in_features", None)
        if got is not None and got != expected:
            raise ValueError(_("the new head takes {got} inputs but `{path}` receives {expected}; "
                               "use {kind}({expected}, num_classes)").format(
                                   got=got, path=path, expected=expected, kind=head.kind))
    _place(model, path, layer)
    return model


def replace_head(model: nn.Module, num_classes: int) -> nn.Module:
    """Swap the head for a freshly initialised one with ``num_classes`` outputs (in place).

    Works for a ``Linear`` head (VGG, ResNet) and a 1x1 ``Conv2d`` head (SqueezeNet).
    The new layer is trainable; nothing else changes.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> replace_head(tiny_vgg(10), 2).classifier[6].out_features
        2
    """
    _check_num_classes(num_classes)
    head = find_head(model)
    _place(model, head.path, _fresh(head.kind, head.in_features, num_classes))
    if isinstance(getattr(model, "num_classes", None), int):
        model.num_classes = num_classes  # torchvision's SqueezeNet keeps it
    return model


def keep_rows(model: nn.Module, rows: Sequence[int]) -> nn.Module:
    """Replace the head with one that keeps only ``rows`` of its outputs, in that order (in place).

    Output ``i`` of the new head is output ``rows[i]`` of the old one: the same weights and
    bias, copied, and trainable. On ImageNet's head, ``rows=(310, 309)`` gives a 2-class head
    that starts as the pretrained network's own "ant" and "bee" scores.

    Raises:
        ValueError: no rows, a row the head does not have, or the same row twice.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> model = tiny_vgg(10)
        >>> old = model.classifier[6].weight[[7, 3]].clone()
        >>> head = keep_rows(model, (7, 3)).classifier[6]
        >>> head.out_features, torch.equal(head.weight, old)
        (2, True)
    """
    head = find_head(model)
    rows = [int(r) for r in rows]
    if not rows or len(set(rows)) != len(rows):
        raise ValueError(_("rows must name each kept output once, got {rows}").format(rows=rows))
    outside = [r for r in rows if not 0 <= r < head.out_features]
    if outside:
        raise ValueError(_("the head `{path}` has {outputs:,} outputs, so no row {row}; keep_rows "
                           "needs the pretrained head (ImageNet's 1,000 outputs), before any "
                           "other head has replaced it").format(
                               path=head.path, outputs=head.out_features, row=outside[0]))
    old = model.get_submodule(head.path)
    replace_head(model, len(rows))
    new = model.get_submodule(head.path)
    with torch.no_grad():  # (k, in) or (k, in, 1, 1): the old rows, in the chosen order
        new.weight.copy_(old.weight[rows])
        if new.bias is not None:  # an old head without a bias had zeros there
            new.bias.copy_(old.bias[rows]) if old.bias is not None else new.bias.zero_()
    new.requires_grad_(True)
    return model


def new_classifier(model: nn.Module, num_classes: int) -> nn.Module:
    """Replace ``model.classifier`` with a freshly initialised one of the same shape (in place).

    Every layer is re-initialised and the last one gets ``num_classes`` outputs: the
    "fine-tuning with a re-initialised classifier" variant. All of it is trainable.

    Raises:
        ValueError: the model has no ``classifier`` or its last layer is not a head.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> model = tiny_vgg(10)
        >>> new_classifier(model, 3).classifier[6].out_features
        3
    """
    _check_num_classes(num_classes)
    classifier = getattr(model, "classifier", None)
    if not isinstance(classifier, nn.Module):
        raise ValueError(_("{model} has no `classifier` to re-initialise; use "
                           "replace_head(model, num_classes) instead").format(
                               model=type(model).__name__))
    head = find_head(model)
    if not head.path.startswith("classifier"):
        raise ValueError(_("the head of {model} is `{path}`, not in `classifier`").format(
            model=type(model).__name__, path=head.path))
    for module in classifier.modules():  # in place: no second copy of VGG16's 494 MB classifier
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
        for p in module.parameters(recurse=False):
            p.requires_grad_(True)
    return replace_head(model, num_classes)
