"""The course's training recipes by name: transfer learning, fine-tuning variants, from scratch.

Each recipe takes a loaded model and a number of classes, sets ``requires_grad`` on every
parameter (whatever the state before), gives the model a new head, and returns it ready
to train. Trainable parameters on VGG16 with 2 classes:

==================================  =============  =========================================
recipe                              trainable      what trains
==================================  =============  =========================================
``transfer_learning``               8,194          only the new ``classifier[6]``
``finetune_new_classifier``         119,554,050    a re-initialised classifier (fc6-fc8)
``finetune_pretrained_classifier``  119,554,050    the pretrained fc6, fc7 and a new fc8
``partial_finetune``                126,633,474    as above, plus the last conv block (conv5)
``full_finetune``                   134,268,738    everything, from the pretrained weights
``from_scratch``                    134,268,738    everything, re-initialised (a baseline)
==================================  =============  =========================================

They work on any model with a ``features`` / ``classifier`` pair: VGG16, ``tiny_vgg`` and
torchvision's SqueezeNet 1.1. For SqueezeNet the "last block" of ``partial_finetune`` is
what follows the last ``MaxPool2d`` (Fire modules ``features[9:13]``, 602,080
parameters), the same rule that gives conv5 (``features[24:31]``) on VGG16 (see
``vc.freezing.blocks``). SqueezeNet's classifier holds only its 1x1-conv head, so its two
``finetune_*`` variants train the same layers: ``signature()`` says when two recipes are
one on a given network.

``RECIPES`` maps each name to a ``Recipe``: the function, and what the comparison lab reads
from it instead of from the name (``random_start``: from_scratch starts from random
weights, so the lab trains it with its own budget).
"""

from __future__ import annotations

import copy
import difflib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from vgg_course import freezing, heads

__all__ = ["RECIPES", "Recipe", "apply", "describe", "finetune_new_classifier",
           "finetune_pretrained_classifier", "from_scratch", "full_finetune", "get",
           "partial_finetune", "signature", "transfer_learning"]


def _section(model: nn.Module, name: str) -> nn.Module:
    section = getattr(model, name, None)
    if not isinstance(section, nn.Module):
        raise TypeError(f"this recipe needs a model with a `{name}` section (VGG, SqueezeNet, "
                        f"AlexNet); {type(model).__name__} has none. transfer_learning and "
                        "full_finetune work on any model with a Linear or 1x1-conv head.")
    return section


def transfer_learning(model: nn.Module, num_classes: int) -> nn.Module:
    """Freeze everything, then put a new head (``classifier[6]`` on VGG16): only it trains.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> freezing.trainable_count(transfer_learning(tiny_vgg(10), 2))
        66
    """
    freezing.freeze(model)
    return heads.replace_head(model, num_classes)


def finetune_new_classifier(model: nn.Module, num_classes: int) -> nn.Module:
    """Freeze ``features``; replace the classifier with a re-initialised one of the same shape.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> freezing.trainable_count(finetune_new_classifier(tiny_vgg(10), 2))
        51330
    """
    features = _section(model, "features")
    _section(model, "classifier")
    freezing.unfreeze(model)
    freezing.freeze(features, model=model)
    return heads.new_classifier(model, num_classes)


def finetune_pretrained_classifier(model: nn.Module, num_classes: int) -> nn.Module:
    """Freeze ``features``; keep the pretrained classifier trainable with a new last layer.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> freezing.trainable_count(finetune_pretrained_classifier(tiny_vgg(10), 2))
        51330
    """
    features = _section(model, "features")
    freezing.unfreeze(_section(model, "classifier"), model=model)
    freezing.freeze(features, model=model)
    return heads.replace_head(model, num_classes)


def partial_finetune(model: nn.Module, num_classes: int) -> nn.Module:
    """``finetune_pretrained_classifier``, plus the last block of ``features`` unfrozen.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> freezing.trainable_count(partial_finetune(tiny_vgg(10), 2))
        79074
    """
    finetune_pretrained_classifier(model, num_classes)
    last = [b for b in freezing.blocks(model) if b.paths[0].startswith("features.")][-1]
    freezing.unfreeze_blocks(model, last.name)
    return model


def full_finetune(model: nn.Module, num_classes: int) -> nn.Module:
    """Everything trains, starting from the pretrained weights, with a new head.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> model = full_finetune(tiny_vgg(10), 2)
        >>> freezing.counts(model).frozen
        0
    """
    freezing.unfreeze(model)
    return heads.replace_head(model, num_classes)


def from_scratch(model: nn.Module, num_classes: int) -> nn.Module:
    """Re-initialise every layer and train everything: the baseline without pretrained weights.

    Convolutions get He (Kaiming) normal initialisation and Linear layers N(0, 0.01) with
    zero biases, as torchvision initialises a new VGG; a 1x1-conv head (SqueezeNet's) gets
    N(0, 0.01) as torchvision initialises SqueezeNet's; other layers their own default.
    Seed with ``torch.manual_seed`` first for a repeatable start.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> model = from_scratch(tiny_vgg(10), 2)
        >>> freezing.counts(model).frozen, model.classifier[6].out_features
        (0, 2)
    """
    heads.replace_head(model, num_classes)
    head = model.get_submodule(heads.find_head(model).path)
    for module in model.modules():
        if isinstance(module, nn.Conv2d) and module is head:
            # a 1x1-conv head followed by ReLU (SqueezeNet): small weights, as torchvision
            # initialises it, or most logits start at 0 and the network never learns
            nn.init.normal_(module.weight, 0, 0.01)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0, 0.01)
            nn.init.zeros_(module.bias)
        elif hasattr(module, "reset_parameters"):
            module.reset_parameters()
    freezing.unfreeze(model)
    return model


@dataclass(frozen=True)
class Recipe:
    """A recipe: the function that applies it, and what the comparison lab needs to know.

    ``random_start``: the recipe re-initialises the weights it trains, so the lab gives it
    the settings random weights need (``vc.compare.Budget.scratch``: standardised inputs, its
    own optimizer, epochs and schedule) and never counts it as the same run as a recipe that
    trains the same parameters from pretrained values.
    """

    apply: Callable[[nn.Module, int], nn.Module]
    random_start: bool = False

    def __call__(self, model: nn.Module, num_classes: int) -> nn.Module:
        return self.apply(model, num_classes)

    @property
    def description(self) -> str:
        """The first line of the recipe function's docstring."""
        return (self.apply.__doc__ or "").strip().splitlines()[0]


RECIPES: "OrderedDict[str, Recipe]" = OrderedDict([
    ("transfer_learning", Recipe(transfer_learning)),
    ("finetune_new_classifier", Recipe(finetune_new_classifier)),
    ("finetune_pretrained_classifier", Recipe(finetune_pretrained_classifier)),
    ("partial_finetune", Recipe(partial_finetune)),
    ("full_finetune", Recipe(full_finetune)),
    ("from_scratch", Recipe(from_scratch, random_start=True)),
])


def get(name: str) -> Recipe:
    """The recipe called ``name`` (a key of ``RECIPES``), with a suggestion for a typo.

    Example:
        >>> get("from_scratch").random_start, get("transfer_learning").random_start
        (True, False)
    """
    if name not in RECIPES:
        close = difflib.get_close_matches(name, RECIPES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown recipe {name!r}.{hint} Recipes: {', '.join(RECIPES)}")
    return RECIPES[name]


def apply(name: str, model: nn.Module, num_classes: int) -> nn.Module:
    """Apply the recipe called ``name`` (a key of ``RECIPES``) and return the model.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> freezing.trainable_count(apply("transfer_learning", tiny_vgg(10), 3))
        99
    """
    return get(name).apply(model, num_classes)


def describe(name: str) -> str:
    """The one-line description of a recipe (the first line of its docstring).

    Example:
        >>> describe("full_finetune")
        'Everything trains, starting from the pretrained weights, with a new head.'
    """
    return get(name).description


def signature(name: str, model: nn.Module, num_classes: int) -> tuple[tuple | None, str]:
    """What a recipe trains on ``model``, and from which values: two recipes with the same
    signature train the same parameters from the same values, so they are one recipe there.

    Returns ``((trainable names, names kept from model), "")``, or ``(None, why)`` when the
    recipe does not apply to the model. ``model`` itself is not changed.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> sorted(signature("transfer_learning", tiny_vgg(2), 2)[0][0])
        ['classifier.6.bias', 'classifier.6.weight']
    """
    trained_model = copy.deepcopy(model)
    try:
        apply(name, trained_model, num_classes)
    except (TypeError, ValueError) as exc:
        return None, str(exc)
    old = dict(model.named_parameters())
    trained = frozenset(n for n, p in trained_model.named_parameters() if p.requires_grad)
    kept = frozenset(n for n, p in trained_model.named_parameters()
                     if n in old and old[n].shape == p.shape and torch.equal(old[n], p))
    return (trained, kept), ""
