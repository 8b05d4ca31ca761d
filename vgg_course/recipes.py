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
``finetune_imagenet_rows``          119,554,050    the same, fc8 started from ImageNet's rows
``partial_finetune``                126,633,474    as above, plus the last conv block (conv5)
``full_finetune``                   134,268,738    everything, from the pretrained weights
``from_scratch``                    134,268,738    everything, re-initialised (a baseline)
==================================  =============  =========================================

They work on any model with a ``features`` / ``classifier`` pair: VGG16, ``tiny_vgg`` and
torchvision's SqueezeNet 1.1. For SqueezeNet the "last block" of ``partial_finetune`` is
what follows the last ``MaxPool2d`` (Fire modules ``features[9:13]``, 602,080
parameters), the same rule that gives conv5 (``features[24:31]``) on VGG16 (see
``vc.freezing.blocks``). SqueezeNet's classifier holds only its 1x1-conv head, so its
``finetune_new_classifier`` and ``finetune_pretrained_classifier`` train the same layers from
the same values as ``transfer_learning``: ``signature()`` says when two recipes are one on a
given network. ``finetune_imagenet_rows`` trains those layers too, from other values: its new
head starts as the pretrained head's own outputs for the classes ("ant" 310 and "bee" 309 for
ants and bees; ``vc.imagenet.rows_for`` finds them by name), the exercise d2l's fine-tuning
chapter suggests. Before any training it scores what the pretrained network already knows.

``RECIPES`` maps each name to a ``Recipe``: the function, and what the comparison lab reads
from it instead of from the name (``random_start``: from_scratch starts from random
weights, so the lab trains it with its own budget; ``imagenet_rows``: the recipe takes the
rows its head starts from, ``apply(..., rows=...)``).
"""

from __future__ import annotations

import copy
import difflib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import nn

from vgg_course import freezing, heads, imagenet

__all__ = ["RECIPES", "Recipe", "apply", "describe", "finetune_imagenet_rows",
           "finetune_new_classifier", "finetune_pretrained_classifier", "from_scratch", "full_finetune", "get",
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


def finetune_imagenet_rows(model: nn.Module, num_classes: int,
                           rows: Sequence[int] = (imagenet.ANT, imagenet.BEE)) -> nn.Module:
    """As ``finetune_pretrained_classifier``, with the new last layer started from ImageNet's rows.

    Output ``i`` of the new head starts as the pretrained head's output ``rows[i]`` (weights
    and bias): ImageNet's "ant" (310) and "bee" (309) for ants and bees, the default. The
    same parameters train as in ``finetune_pretrained_classifier``; only the start differs.
    For other classes pass ``rows=vc.imagenet.rows_for(classes)``.

    Raises:
        ValueError: ``rows`` does not give one row per class, or names a row the head lacks
            (its pretrained 1,000-output head was already replaced).

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> model = finetune_imagenet_rows(tiny_vgg(1000), 2)
        >>> freezing.trainable_count(model), model.classifier[6].out_features
        (51330, 2)
    """
    rows = tuple(rows)
    if len(rows) != num_classes:
        raise ValueError(f"finetune_imagenet_rows needs one ImageNet row per class: {num_classes} "
                         f"classes, {len(rows)} rows {rows}. Pass rows=vc.imagenet.rows_for(classes) "
                         "(None there: your classes have no ImageNet output; use "
                         "finetune_pretrained_classifier)")
    features = _section(model, "features")
    freezing.unfreeze(_section(model, "classifier"), model=model)
    freezing.freeze(features, model=model)
    return heads.keep_rows(model, rows)


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

    ``imagenet_rows``: the recipe's new head starts from rows of the pretrained head, and it
    takes them as ``rows=`` (``apply``); the lab passes ``vc.imagenet.rows_for(classes)``.
    """

    apply: Callable[..., nn.Module]
    random_start: bool = False
    imagenet_rows: bool = False

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
    ("finetune_imagenet_rows", Recipe(finetune_imagenet_rows, imagenet_rows=True)),
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


def apply(name: str, model: nn.Module, num_classes: int, *,
          rows: Sequence[int] | None = None) -> nn.Module:
    """Apply the recipe called ``name`` (a key of ``RECIPES``) and return the model.

    ``rows``: the pretrained head's rows the new head starts from, one per class, for a
    recipe that takes them (``Recipe.imagenet_rows``); ``None``: the recipe's default.

    Raises:
        TypeError: ``rows`` given to a recipe whose head starts fresh.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> freezing.trainable_count(apply("transfer_learning", tiny_vgg(10), 3))
        99
        >>> apply("finetune_imagenet_rows", tiny_vgg(10), 3, rows=(4, 0, 9)).classifier[6]
        Linear(in_features=32, out_features=3, bias=True)
    """
    recipe = get(name)
    if rows is None:
        return recipe.apply(model, num_classes)
    if not recipe.imagenet_rows:
        takes = [n for n, r in RECIPES.items() if r.imagenet_rows]
        raise TypeError(f"{name} starts its new head fresh and takes no rows; "
                        f"{', '.join(takes)} starts from rows")
    return recipe.apply(model, num_classes, rows=tuple(rows))


def describe(name: str) -> str:
    """The one-line description of a recipe (the first line of its docstring).

    Example:
        >>> describe("full_finetune")
        'Everything trains, starting from the pretrained weights, with a new head.'
    """
    return get(name).description


def signature(name: str, model: nn.Module, num_classes: int, *,
              rows: Sequence[int] | None = None) -> tuple[tuple | None, str]:
    """What a recipe trains on ``model``, and from which values: two recipes with the same
    signature train the same parameters from the same values, so they are one recipe there.

    Returns ``((trainable names, names kept from model, head start), "")``, or
    ``(None, why)`` when the recipe does not apply to the model. The head start is
    ``"fresh"``, or the rows a recipe with ``imagenet_rows`` started it from (``rows``, or
    ``"default rows"``). ``model`` itself is not changed.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> sorted(signature("transfer_learning", tiny_vgg(2), 2)[0][0])
        ['classifier.6.bias', 'classifier.6.weight']
    """
    trained_model = copy.deepcopy(model)
    try:
        apply(name, trained_model, num_classes, rows=rows)
    except (TypeError, ValueError) as exc:
        return None, str(exc)
    old = dict(model.named_parameters())
    trained = frozenset(n for n, p in trained_model.named_parameters() if p.requires_grad)
    kept = frozenset(n for n, p in trained_model.named_parameters()
                     if n in old and old[n].shape == p.shape and torch.equal(old[n], p))
    start = ("fresh" if not get(name).imagenet_rows
             else "default rows" if rows is None else tuple(rows))
    return (trained, kept, start), ""
