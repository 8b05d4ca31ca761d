"""Frozen layers with dropout after a cached prefix, run once an epoch over all its batches.

Feature caching stops at the first layer whose output changes from batch to batch. In
VGG16's transfer learning that is ``classifier.2``, a frozen ``Dropout`` in front of the
frozen fc7 (``classifier.3``, 4096 x 4096, 64 MB of weights): the cached loop would still
run fc7 for every batch, and at the tutorial's batch of 4 that is reading 64 MB of weights
to do 0.13 GFLOP of arithmetic, a memory-bound step repeated about 100 times an epoch.

Those layers do not train, so what they compute in an epoch does not depend on the head's
updates, only on the dropout masks. ``FrozenSegment.train_pass`` draws every batch's masks
first, in exactly the order the uncached loop draws them (batch by batch, layer by layer,
from the same random generator), then runs the layers once over the whole epoch: the
weights are read once an epoch instead of once a batch, and each batch gets the values the
uncached loop would have computed. In eval mode dropout does nothing, so for validation the
segment is deterministic and ``eval_pass`` runs once, when caching.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from vgg_course import devices


def is_dropout(layer: nn.Module) -> bool:
    """``True`` for a plain ``nn.Dropout`` that drops something (``p > 0``)."""
    return type(layer) is nn.Dropout and layer.p > 0


def draws_random_numbers(layer: nn.Module) -> bool:
    """Whether ``layer`` (or a layer inside it) uses the random generator in train mode."""
    return any(isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0 for m in layer.modules())


def span(named: Sequence[tuple[str, nn.Module]], start: int,
         deterministic: tuple[type, ...]) -> int:
    """Where a frozen segment that starts at ``named[start]`` ends (``start`` when none).

    The segment is the run of frozen layers from ``start`` that are either ``deterministic``
    types or plain dropout. It is used only when it holds weights worth batching (a frozen
    ``Linear`` or conv) and nothing after it draws random numbers (their draws would then
    interleave with the masks, and the order could not be kept).

    Example:
        >>> layers = [nn.Dropout(), nn.Linear(4, 4), nn.ReLU(), nn.Dropout(), nn.Linear(4, 2)]
        >>> layers[1].requires_grad_(False)  # doctest: +ELLIPSIS
        Linear(...)
        >>> span([(str(i), m) for i, m in enumerate(layers)], 0, (nn.Linear, nn.ReLU))
        4
    """
    end = start
    while end < len(named):
        layer = named[end][1]
        if any(param.requires_grad for param in layer.parameters()):
            break
        if not (is_dropout(layer) or isinstance(layer, deterministic)):
            return start
        end += 1
    weighted = any(any(True for _ in layer.parameters()) for _, layer in named[start:end])
    rest_random = any(draws_random_numbers(layer) for _, layer in named[end:])
    return end if weighted and not rest_random and end < len(named) else start


class FrozenSegment:
    """Frozen layers with dropout, run over a whole epoch at once (see the module docstring)."""

    def __init__(self, layers: Sequence[nn.Module], chosen: devices.Plan) -> None:
        self.layers = list(layers)
        self.chosen = chosen
        self._inputs: list[tuple[torch.Size, torch.dtype]] | None = None  # found on first use

    def _dropout_inputs(self, row: torch.Tensor) -> list[tuple[torch.Size, torch.dtype]]:
        """Shape (without the batch) and dtype of each dropout's input, from one row."""
        found, h = [], row
        with torch.inference_mode(), self.chosen.autocast():
            for layer in self.layers:
                if is_dropout(layer):
                    found.append((h.shape[1:], h.dtype))  # dropout keeps shape and dtype
                else:
                    h = layer(h)
        return found

    def masks(self, sizes: Sequence[int], row: torch.Tensor) -> list[torch.Tensor]:
        """Each dropout's scaled masks for batches of ``sizes``, drawn as the uncached loop does.

        The uncached loop calls ``F.dropout`` once per dropout layer per batch, in that order;
        dropout of a tensor of ones is its mask divided by ``1 - p``, from the same draws.
        """
        if self._inputs is None:  # the same every epoch: probe once, not once an epoch
            self._inputs = self._dropout_inputs(row)
        inputs = self._inputs
        drops = [layer for layer in self.layers if is_dropout(layer)]
        per_layer: list[list[torch.Tensor]] = [[] for _ in drops]
        for n in sizes:
            for i, (layer, (shape, dtype)) in enumerate(zip(drops, inputs)):
                ones = torch.ones((n, *shape), dtype=dtype, device=row.device)
                per_layer[i].append(F.dropout(ones, layer.p, training=True))
        return [torch.cat(m) for m in per_layer]

    def train_pass(self, x: torch.Tensor, sizes: Sequence[int]) -> torch.Tensor:
        """The segment in train mode over ``x``, the rows of batches of ``sizes`` in order."""
        masks = iter(self.masks(sizes, x[:1]))
        with torch.no_grad(), self.chosen.autocast():
            h = x
            for layer in self.layers:
                h = h * next(masks) if is_dropout(layer) else layer(h)
        return h.float()  # the head casts it back under autocast: bf16 -> fp32 -> bf16 is exact

    def eval_pass(self, x: torch.Tensor, batch: int = 256) -> torch.Tensor:
        """The segment in eval mode (dropout does nothing): deterministic, run once."""
        out = []
        with torch.inference_mode(), self.chosen.autocast():
            for part in x.split(batch):
                h = part
                for layer in self.layers:
                    if not is_dropout(layer):
                        h = layer(h)
                out.append(h.float())
        return torch.cat(out)
