"""Freezing and unfreezing parameters (``requires_grad``) by module, name pattern or block.

Every function here changes ``requires_grad`` on a real model and returns a ``Change``
that shows what moved: trainable and frozen parameter counts before -> after.

VGG16's usual block names map onto ``features`` / ``classifier`` indices (pools included):

=========  ====================  ==========================================
block      modules               parameters (VGG16, 1000 classes)
=========  ====================  ==========================================
``conv1``  ``features[0:5]``     38,720
``conv2``  ``features[5:10]``    221,440
``conv3``  ``features[10:17]``   1,475,328
``conv4``  ``features[17:24]``   5,899,776
``conv5``  ``features[24:31]``   7,079,424
``fc6``    ``classifier[0:3]``   102,764,544  (``Linear(25088, 4096)``)
``fc7``    ``classifier[3:6]``   16,781,312   (``Linear(4096, 4096)``)
``fc8``    ``classifier[6]``     4,097,000    (``Linear(4096, 1000)``, the head)
=========  ====================  ==========================================

Other models with a ``features`` Sequential (SqueezeNet, AlexNet) get the same rule with
generic names: ``features`` is cut after every ``MaxPool2d`` into ``block1`` ... ``blockN``
(what follows the last pool is the last block), and the whole ``classifier`` is one block.
"""

from __future__ import annotations

import fnmatch
import html
from dataclasses import dataclass
from typing import Iterable

from torch import nn
from torchvision.models import VGG

from vgg_course import tables
from vgg_course.i18n import _

__all__ = ["Block", "BlockTable", "Change", "Counts", "blocks", "block_names", "block_table", "counts",
           "freeze", "freeze_blocks", "freeze_matching", "freeze_up_to", "frozen_blocks",
           "trainable_count", "unfreeze", "unfreeze_blocks", "unfreeze_matching"]


@dataclass(frozen=True)
class Counts:
    """Trainable and frozen parameter counts (numbers of scalars, not tensors)."""

    trainable: int
    frozen: int

    @property
    def total(self) -> int:
        return self.trainable + self.frozen

    def __str__(self) -> str:  # the freeze widget's label shows this text
        return _("trainable {c.trainable:,} | frozen {c.frozen:,} | total {c.total:,}").format(c=self)

    def __repr__(self) -> str:
        return f"Counts(trainable={self.trainable:,}, frozen={self.frozen:,}, total={self.total:,})"


@dataclass(frozen=True)
class Change:
    """What one freezing call did: counts before and after, and how many tensors flipped."""

    action: str
    before: Counts
    after: Counts
    tensors_changed: int

    def __repr__(self) -> str:
        return _("{action}: trainable {before.trainable:,} -> {after.trainable:,}, frozen "
                 "{before.frozen:,} -> {after.frozen:,} (of {after.total:,}; {tensors_changed} "
                 "tensors changed)").format(**vars(self))

    def _repr_html_(self) -> str:
        rows = [[label, f"{b:,}", f"{a:,}"] for label, b, a in (
            ("trainable", self.before.trainable, self.after.trainable),
            ("frozen", self.before.frozen, self.after.frozen))]
        return (_("<b>{action}</b> ({tensors_changed} tensors changed)").format(  # labels: fields
                    action=html.escape(self.action), tensors_changed=self.tensors_changed)
                + tables.Table(["", "before", "after"], rows, right={1, 2}).html())


@dataclass(frozen=True)
class Block:
    """A named group of consecutive modules, e.g. ``conv5`` = ``features.24`` ... ``features.30``."""

    name: str
    paths: tuple[str, ...]

    @property
    def span(self) -> str:
        section, first = self.paths[0].rsplit(".", 1)
        last = self.paths[-1].rsplit(".", 1)[1]
        return f"{section}[{first}]" if first == last else f"{section}[{first}:{int(last) + 1}]"


def counts(model: nn.Module) -> Counts:
    """Count trainable and frozen parameters.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> counts(tiny_vgg(2)).frozen
        0
    """
    trainable = frozen = 0
    for p in model.parameters():
        if p.requires_grad:
            trainable += p.numel()
        else:
            frozen += p.numel()
    return Counts(trainable, frozen)


def trainable_count(model: nn.Module) -> int:
    """Number of parameters (scalars) that an optimizer would update.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> model = tiny_vgg(2)
        >>> trainable_count(model) == sum(p.numel() for p in model.parameters())
        True
    """
    return counts(model).trainable


def _flip(params: Iterable[nn.Parameter], flag: bool) -> int:
    """Set ``requires_grad = flag``; return how many tensors changed."""
    return len([p.requires_grad_(flag) for p in params if p.requires_grad != flag])


def _set(model: nn.Module, params: Iterable[nn.Parameter], flag: bool, action: str) -> Change:
    before = counts(model)
    changed = _flip(params, flag)
    return Change(action, before, counts(model), changed)


def freeze(module: nn.Module, *, model: nn.Module | None = None) -> Change:
    """Freeze every parameter of ``module`` (a whole model or a part such as ``model.features``).

    Args:
        module: what to freeze.
        model: the whole model, so the counts in the returned ``Change`` cover all of it;
            defaults to ``module``.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> model = tiny_vgg(2)
        >>> freeze(model.features, model=model).after.frozen > 0
        True
    """
    return _set(module if model is None else model, module.parameters(), False, "freeze")


def unfreeze(module: nn.Module, *, model: nn.Module | None = None) -> Change:
    """Make every parameter of ``module`` trainable again; see ``freeze``."""
    return _set(module if model is None else model, module.parameters(), True, "unfreeze")


def _matching(model: nn.Module, pattern: str) -> list[nn.Parameter]:
    named = list(model.named_parameters())
    found = [p for name, p in named if fnmatch.fnmatchcase(name, pattern)]
    if not found:
        raise ValueError(_("no parameter name matches {pattern!r}; names look like {examples}, ... "
                           "(glob patterns: 'classifier.*', 'features.2[4-9].*', '*.bias')").format(
                               pattern=pattern, examples=", ".join(name for name, _p in named[:3])))
    return found


def freeze_matching(model: nn.Module, pattern: str) -> Change:
    """Freeze the parameters whose names match a glob ``pattern`` (``fnmatch`` rules).

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> freeze_matching(tiny_vgg(2), "features.*").tensors_changed
        26
    """
    return _set(model, _matching(model, pattern), False, f"freeze_matching({pattern!r})")


def unfreeze_matching(model: nn.Module, pattern: str) -> Change:
    """Unfreeze the parameters whose names match a glob ``pattern``; see ``freeze_matching``."""
    return _set(model, _matching(model, pattern), True, f"unfreeze_matching({pattern!r})")


def _sequential(model: nn.Module, name: str) -> nn.Sequential | None:
    section = getattr(model, name, None)
    return section if isinstance(section, nn.Sequential) else None


def blocks(model: nn.Module) -> list[Block]:
    """The model's blocks, in forward order: conv1 ... conv5, fc6, fc7, fc8 for VGG16.

    Raises:
        TypeError: the model has no ``features`` Sequential to cut into blocks.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> [b.name for b in blocks(tiny_vgg(2))]
        ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7', 'fc8']
    """
    features = _sequential(model, "features")
    if features is None:
        raise TypeError(_("{model} has no `features` Sequential to cut into blocks; use freeze(module) or "
                          "freeze_matching(model, pattern) instead").format(model=type(model).__name__))
    is_vgg = isinstance(model, VGG)
    groups: list[list[str]] = [[]]
    for i, layer in enumerate(features):
        groups[-1].append(f"features.{i}")
        if isinstance(layer, nn.MaxPool2d) and i < len(features) - 1:
            groups.append([])
    prefix = "conv" if is_vgg else "block"
    result = [Block(f"{prefix}{k + 1}", tuple(g)) for k, g in enumerate(groups)]
    classifier = _sequential(model, "classifier")
    if classifier is None:
        return result
    if not is_vgg:
        return result + [Block("classifier", tuple(f"classifier.{i}" for i in range(len(classifier))))]
    # VGG: one block per Linear, with the ReLU/Dropout that follow it (fc6, fc7, fc8).
    layers: list[list[str]] = []
    for i, layer in enumerate(classifier):
        if isinstance(layer, nn.Linear) or not layers:
            layers.append([])
        layers[-1].append(f"classifier.{i}")
    first_fc = len(result) + 1
    return result + [Block(f"fc{first_fc + k}", tuple(g)) for k, g in enumerate(layers)]


def block_names(model: nn.Module) -> list[str]:
    """Names of ``blocks(model)``, in forward order."""
    return [b.name for b in blocks(model)]


def _block(model: nn.Module, name: str) -> Block:
    found = {b.name: b for b in blocks(model)}
    if name not in found:
        raise ValueError(_("unknown block {name!r}; this model's blocks are {blocks}").format(
            name=name, blocks=", ".join(found)))
    return found[name]


def _named_blocks_params(model: nn.Module, names: tuple[str, ...]) -> list[nn.Parameter]:
    if not names:
        raise ValueError(_("name at least one block: {blocks}").format(blocks=", ".join(block_names(model))))
    return [p for name in names for p in _block_params(model, _block(model, name))]


def _block_params(model: nn.Module, block: Block) -> list[nn.Parameter]:
    return [p for path in block.paths for p in model.get_submodule(path).parameters()]


def freeze_blocks(model: nn.Module, *names: str) -> Change:
    """Freeze whole blocks by name.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> freeze_blocks(tiny_vgg(2), "conv1", "conv2").tensors_changed
        8
    """
    params = _named_blocks_params(model, names)
    return _set(model, params, False, f"freeze_blocks({', '.join(map(repr, names))})")


def unfreeze_blocks(model: nn.Module, *names: str) -> Change:
    """Unfreeze whole blocks by name; see ``freeze_blocks``."""
    params = _named_blocks_params(model, names)
    return _set(model, params, True, f"unfreeze_blocks({', '.join(map(repr, names))})")


def freeze_up_to(model: nn.Module, block: str | None) -> Change:
    """Freeze every block up to and including ``block``; make every later block trainable.

    This sets the whole model's state, whatever it was before. ``None`` unfreezes
    everything; the last block (``fc8`` for VGG16) freezes everything.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> model = tiny_vgg(2)
        >>> _ = freeze_up_to(model, "conv5")
        >>> frozen_blocks(model)
        ['conv1', 'conv2', 'conv3', 'conv4', 'conv5']
    """
    all_blocks = blocks(model)
    stop = 0 if block is None else all_blocks.index(_block(model, block)) + 1
    before = counts(model)
    changed = sum(_flip(_block_params(model, b), k >= stop) for k, b in enumerate(all_blocks))
    return Change(f"freeze_up_to({block!r})", before, counts(model), changed)


def block_state(model: nn.Module) -> dict[str, bool | None]:
    """Per block: ``True`` all frozen, ``False`` all trainable, ``None`` mixed (or no parameters)."""
    flags = {b.name: {p.requires_grad for p in _block_params(model, b)} for b in blocks(model)}
    return {name: (not f.pop()) if len(f) == 1 else None for name, f in flags.items()}


def frozen_blocks(model: nn.Module) -> list[str]:
    """Names of the blocks whose parameters are all frozen."""
    return [name for name, frozen in block_state(model).items() if frozen]


@dataclass(frozen=True)
class BlockRow:
    name: str
    span: str
    trainable: int
    total: int


@dataclass(frozen=True)
class BlockTable:
    """Per-block parameter counts and trainable share; displays as a table in a cell."""

    rows: tuple[BlockRow, ...]

    @property
    def counts(self) -> Counts:
        trainable = sum(r.trainable for r in self.rows)
        return Counts(trainable, sum(r.total for r in self.rows) - trainable)

    def _table(self) -> tables.Table:
        total = self.counts.total or 1
        rows = [(r.name, r.span, f"{r.trainable:,}", f"{r.total:,}", f"{100 * r.total / total:.1f}%")
                for r in self.rows]
        c = self.counts
        rows.append(("all", "", f"{c.trainable:,}", f"{c.total:,}", "100.0%"))
        return tables.Table(("block", "modules", "trainable", "parameters", "share"), rows, right={2, 3, 4})

    def __repr__(self) -> str:
        return self._table().text()

    def _repr_html_(self) -> str:
        return self._table().html()


def block_table(model: nn.Module) -> BlockTable:
    """Trainable and total parameters of each block, with its share of the model.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> block_table(tiny_vgg(2)).rows[0].name
        'conv1'
    """
    rows = []
    for b in blocks(model):
        params = _block_params(model, b)
        rows.append(BlockRow(b.name, b.span, sum(p.numel() for p in params if p.requires_grad),
                             sum(p.numel() for p in params)))
    return BlockTable(tuple(rows))
