"""Where a model splits for feature caching: its stages, its frozen prefix, or why none.

Feature caching (``vc.features``) runs a model's frozen layers once and trains the rest on
the stored output. That is only right for a prefix whose output is the same every epoch:
frozen layers that draw no random numbers and keep no batch statistics, fed images without
random augmentation. ``check()`` finds the longest such prefix, or says in words why there
is none; ``stages()`` lists a model as the chain of layers its ``forward`` runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset
from torchvision.models import VGG, SqueezeNet
from torchvision.models.squeezenet import Fire

from vgg_course.features import segment

# Layers whose output depends only on their input and weights, in train mode as in eval mode.
DETERMINISTIC = (nn.Conv2d, nn.Linear, nn.ReLU, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.Sigmoid,
                  nn.Tanh, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d,
                  nn.AdaptiveMaxPool2d, nn.Flatten, nn.Identity, nn.Softmax, nn.LayerNorm,
                  Fire)  # Fire: squeeze 1x1 -> ReLU -> concat(expand 1x1, expand 3x3), no randomness
# Transform class names that draw random numbers (torchvision v1 and v2).
_RANDOM_TRANSFORMS = ("ColorJitter", "AutoAugment", "RandAugment", "TrivialAugmentWide",
                      "AugMix", "GaussianBlur", "ElasticTransform", "GaussianNoise")


def stages(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model as an ordered list of ``(name, layer)`` whose chain equals ``model(x)``.

    Knows torchvision's ``VGG`` (``features`` -> ``avgpool`` -> flatten -> ``classifier``),
    ``SqueezeNet`` (``features`` -> ``classifier`` -> flatten) and ``nn.Sequential``.

    Raises:
        TypeError: any other model (its ``forward`` could do anything).

    Example:
        >>> import vgg_course as vc
        >>> [name for name, _ in stages(vc.models.tiny_vgg(2))][30:34]
        ['features.30', 'avgpool', 'flatten', 'classifier.0']
    """
    if isinstance(model, VGG) and type(model).forward is VGG.forward:
        return ([(f"features.{i}", m) for i, m in enumerate(model.features)]
                + [("avgpool", model.avgpool), ("flatten", nn.Flatten(1))]
                + [(f"classifier.{i}", m) for i, m in enumerate(model.classifier)])
    if isinstance(model, SqueezeNet) and type(model).forward is SqueezeNet.forward:
        # SqueezeNet.forward: features -> classifier -> flatten
        return ([(f"features.{i}", m) for i, m in enumerate(model.features)]
                + [(f"classifier.{i}", m) for i, m in enumerate(model.classifier)]
                + [("flatten", nn.Flatten(1))])
    if type(model) is nn.Sequential:
        return [(name, m) for name, m in model.named_children()]
    raise TypeError(f"Feature caching knows how to split torchvision's VGG, SqueezeNet and nn.Sequential "
                    f"models; {type(model).__name__} has its own forward().")


def _why_not_cacheable(name: str, layer: nn.Module) -> str | None:
    """Why ``layer`` cannot be part of the cached prefix, or ``None`` when it can."""
    trainable = [n for n, p in layer.named_parameters() if p.requires_grad]
    if trainable:
        return f"{name} is trainable"
    for sub_name, sub in layer.named_modules():
        where = f"{name}.{sub_name}".rstrip(".")
        if isinstance(sub, nn.modules.dropout._DropoutNd) and sub.p > 0:
            return (f"{where} is a frozen {type(sub).__name__}(p={sub.p}) that is active in "
                    "train mode (it drops different units every batch)")
        if isinstance(sub, nn.modules.batchnorm._BatchNorm):
            return (f"{where} is a frozen {type(sub).__name__}: in train mode it normalises "
                    "with each batch's statistics and updates its running ones")
        if not isinstance(sub, (*DETERMINISTIC, nn.Sequential, nn.modules.dropout._DropoutNd)):
            return f"{where} is a {type(sub).__name__}, not known to be deterministic"
    return None


def _transforms(dataset: Dataset) -> list[object]:
    """The transform objects a dataset applies, looking through Subset and Compose."""
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    found, todo = [], [getattr(dataset, a, None) for a in ("transform", "transforms",
                                                          "target_transform")]
    while todo:
        t = todo.pop()
        if t is None:
            continue
        found.append(t)
        for attr in ("transforms", "transform"):  # Compose, RandomApply, StandardTransform
            inner = getattr(t, attr, None)
            if isinstance(inner, (list, tuple)):
                todo.extend(inner)
            elif inner is not None and inner is not t:
                todo.append(inner)
    return found


def random_transforms(loader: Iterable) -> list[str]:
    """Names of the random augmentations a loader's dataset applies (empty when none).

    Example:
        >>> from torchvision import transforms as T
        >>> class Photos(Dataset):
        ...     transform = T.Compose([T.RandomHorizontalFlip(), T.ToTensor()])
        >>> random_transforms(DataLoader(Photos()))
        ['RandomHorizontalFlip']
    """
    dataset = getattr(loader, "dataset", None)
    if dataset is None:
        return []
    names = [type(t).__name__ for t in _transforms(dataset)]
    return sorted({n for n in names if n.startswith("Random") or n in _RANDOM_TRANSFORMS})


@dataclass(frozen=True)
class CacheCheck:
    """Whether feature caching is possible for a model and its data, and where to split."""

    boundary: int            # layers [0, boundary) form the cached prefix
    names: tuple[str, ...]   # every stage's name, in order
    reason: str | None       # why caching is impossible, or None

    @property
    def ok(self) -> bool:
        return self.reason is None

    def __repr__(self) -> str:
        if not self.ok:
            return f"CacheCheck(no: {self.reason})"
        return (f"CacheCheck(yes: cache {self.names[0]}..{self.names[self.boundary - 1]}, "
                f"train {self.names[self.boundary]}..{self.names[-1]})")


def check(model: nn.Module, train_loader: Iterable, val_loader: Iterable) -> CacheCheck:
    """Find the longest frozen, deterministic prefix of ``model`` and check the data allows it.

    Example:
        >>> import vgg_course as vc
        >>> model = vc.models.tiny_vgg(2)
        >>> model.features.requires_grad_(False)  # doctest: +ELLIPSIS
        Sequential(...)
        >>> check(model, [], [])
        CacheCheck(yes: cache features.0..flatten, train classifier.0..classifier.6)
    """
    try:
        named = stages(model)
    except TypeError as err:
        return CacheCheck(0, (), str(err))
    names = tuple(n for n, _ in named)
    if not any(p.requires_grad for p in model.parameters()):
        return CacheCheck(0, names, "every layer is frozen: there is nothing to train")
    boundary, stop = 0, None
    for name, layer in named:
        stop = _why_not_cacheable(name, layer)
        if stop:
            break
        boundary += 1
    if boundary == 0:
        return CacheCheck(0, names, f"the first layer cannot be cached: {stop}")
    for role, loader in (("training", train_loader), ("validation", val_loader)):
        if not isinstance(loader, (DataLoader, list, tuple)):
            return CacheCheck(boundary, names, f"the {role} loader is a {type(loader).__name__}; "
                              "caching needs a DataLoader (or a list of batches)")
        augment = random_transforms(loader)
        if augment:
            return CacheCheck(boundary, names, (
                f"the {role} data has random augmentation ({', '.join(augment)}): every "
                "epoch sees different pixels, so the frozen layers' output changes too. "
                "Train on weights.transforms() alone to cache, or keep the augmentation "
                "and train uncached"))
    return CacheCheck(boundary, names, None)


def prefix_key(model: nn.Module, checked: CacheCheck) -> tuple:
    """Identifies a cached prefix: where it ends and a fingerprint of its weights.

    Two models with the same key (copies of one starting model, frozen in the same place)
    share one caching pass (``Cached.with_head_of``).
    """
    named = stages(model)
    end = segment.span(named, checked.boundary, DETERMINISTIC)  # frozen layers after it too
    return (checked.boundary, end, tuple(round(float(p.double().sum()), 6)
                                         for _, m in named[:end] for p in m.parameters()))
