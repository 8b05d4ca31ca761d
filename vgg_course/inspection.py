"""Tables and counts that show a model's structure, state_dict keys and parameters.

Every function returns an object that reads well in a notebook cell (a text ``repr`` and an
HTML table), so a lesson can end a cell on ``vc.inspection.param_counts(model)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch
from torch import nn

from vgg_course import tables
from vgg_course.i18n import _


def module_path(key: str, root: str = "model") -> str:
    """The Python expression for the module that owns a state_dict key.

    Example:
        >>> module_path("features.2.weight")
        'model.features[2]'
        >>> module_path("fc.bias")
        'model.fc'
    """
    parts = key.split(".")[:-1]
    return root + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in parts)


def resolve(model: nn.Module, key: str) -> torch.Tensor:
    """The tensor behind a state_dict key, found by walking the module tree.

    ``resolve(model, "features.2.weight") is model.features[2].weight`` is True.
    """
    *parts, attr = key.split(".")
    module = model
    for part in parts:
        module = module[int(part)] if part.isdigit() else getattr(module, part)
    return getattr(module, attr)


def conv_indices(model: nn.Module) -> list[int]:
    """Indices of the Conv2d layers in ``model.features``.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> conv_indices(tiny_vgg())
        [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
    """
    return [i for i, layer in enumerate(model.features) if isinstance(layer, nn.Conv2d)]


@dataclass(frozen=True)
class StateDictRow:
    key: str
    module_path: str
    layer: str
    shape: tuple[int, ...]
    numel: int
    requires_grad: bool | None  # None for buffers, which are never trained


@dataclass(frozen=True)
class StateDictTable:
    """One row per state_dict key: key -> module path -> layer -> shape -> numel -> requires_grad."""

    rows: list[StateDictRow]
    header = ["#", "key", "module", "layer", "shape", "numel", "requires_grad"]

    def __len__(self) -> int:
        return len(self.rows)

    def keys(self) -> list[str]:
        return [r.key for r in self.rows]

    def _cells(self, max_layer: int = 48) -> list[list[str]]:
        def short(text: str) -> str:
            return text if len(text) <= max_layer else text[: max_layer - 1] + "…"

        return [[str(i), r.key, r.module_path, short(r.layer), str(tuple(r.shape)), f"{r.numel:,}",
                 "buffer" if r.requires_grad is None else str(r.requires_grad)]
                for i, r in enumerate(self.rows)]

    def __repr__(self) -> str:
        return tables.Table(self.header, self._cells(), right={0, 5}, rule=True).text()

    def _repr_html_(self) -> str:
        return tables.Table(self.header, self._cells(80), right={0, 5},
                            caption=_("{n} state_dict keys").format(n=len(self.rows))).html()


def state_dict_table(model: nn.Module, root: str = "model") -> StateDictTable:
    """Tabulate every ``state_dict`` key of ``model`` with the module that owns it.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> table = state_dict_table(tiny_vgg())
        >>> len(table), table.rows[1].key, table.rows[1].module_path
        (32, 'features.0.bias', 'model.features[0]')
    """
    params = dict(model.named_parameters())
    rows = []
    for key, tensor in model.state_dict(keep_vars=True).items():
        owner = resolve(model, ".".join(key.split(".")[:-1])) if "." in key else model
        param = params.get(key)
        rows.append(StateDictRow(
            key=key, module_path=module_path(key, root), layer=repr(owner).split("\n")[0],
            shape=tuple(tensor.shape), numel=tensor.numel(),
            requires_grad=None if param is None else param.requires_grad,
        ))
    return StateDictTable(rows)


@dataclass(frozen=True)
class SectionCount:
    name: str
    total: int
    trainable: int

    @property
    def frozen(self) -> int:
        return self.total - self.trainable


@dataclass(frozen=True)
class ParamCounts:
    """Parameter counts per top-level section (``features``, ``avgpool``, ``classifier``) and overall."""

    sections: list[SectionCount]
    total: int = field(init=False)
    trainable: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", sum(s.total for s in self.sections))
        object.__setattr__(self, "trainable", sum(s.trainable for s in self.sections))

    @property
    def frozen(self) -> int:
        return self.total - self.trainable

    def __getitem__(self, name: str) -> SectionCount:
        for section in self.sections:
            if section.name == name:
                return section
        raise KeyError(_("no section {name!r}; sections are {sections}").format(
            name=name, sections=[s.name for s in self.sections]))

    def _cells(self) -> list[list[str]]:
        def pct(n: int) -> str:
            return f"{100 * n / self.total:.1f}%" if self.total else "-"

        rows = [[s.name, f"{s.total:,}", pct(s.total), f"{s.trainable:,}", f"{s.frozen:,}"]
                for s in self.sections]
        rows.append(["total", f"{self.total:,}", pct(self.total), f"{self.trainable:,}",
                     f"{self.frozen:,}"])
        return rows

    header = ["section", "parameters", "share", "trainable", "frozen"]

    def _table(self) -> tables.Table:
        return tables.Table(self.header, self._cells(), right={1, 2, 3, 4}, rule=True)

    def __repr__(self) -> str:
        return self._table().text()

    def _repr_html_(self) -> str:
        return self._table().html()


def param_counts(model: nn.Module) -> ParamCounts:
    """Count parameters per top-level child and overall: total, trainable, frozen.

    Example:
        >>> from torchvision.models import vgg16
        >>> with torch.device("meta"):
        ...     counts = param_counts(vgg16())
        >>> counts.total, counts["features"].total, counts["classifier"].total
        (138357544, 14714688, 123642856)
    """
    sections = []
    for name, child in model.named_children():
        params = list(child.parameters())
        sections.append(SectionCount(name, sum(p.numel() for p in params),
                                     sum(p.numel() for p in params if p.requires_grad)))
    own = [p for n, p in model.named_parameters(recurse=True) if "." not in n]
    if own:
        sections.append(SectionCount("(own)", sum(p.numel() for p in own),
                                     sum(p.numel() for p in own if p.requires_grad)))
    return ParamCounts(sections)


def summary(model: nn.Module, *, input_size: tuple[int, ...] = (1, 3, 224, 224), depth: int = 2):
    """A torchinfo summary with output shapes, parameter counts and a trainable column.

    Returns torchinfo's ``ModelStatistics``; its repr is the table.
    """
    from torchinfo import summary as torchinfo_summary

    device = next(model.parameters()).device
    return torchinfo_summary(model, input_size=input_size, depth=depth, device=device, verbose=0,
                             col_names=("output_size", "num_params", "trainable"),
                             row_settings=("var_names",))


_LAYER_NAME = re.compile(r"^(\w+)\(")


def layer_kinds(model: nn.Module) -> dict[str, int]:
    """How many layers of each kind ``features`` and ``classifier`` hold (``Conv2d``: 13 for VGG16)."""
    kinds: dict[str, int] = {}
    for section in ("features", "classifier"):
        for layer in getattr(model, section, []):
            kinds[type(layer).__name__] = kinds.get(type(layer).__name__, 0) + 1
    return kinds
