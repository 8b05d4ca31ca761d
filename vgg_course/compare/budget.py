"""What every recipe of the comparison lab gets: one shared budget, and from scratch's own.

A ``Budget`` is plain data (it saves as JSON with the results): epochs, batch size, learning
rates, seeds, augmentation, image size, device and precision. ``ScratchBudget`` is the
settings a recipe that starts from random weights (``vc.recipes.Recipe.random_start``) needs
instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vgg_course import devices


@dataclass(frozen=True)
class ScratchBudget:
    """What a recipe that starts from random weights gets instead of the shared budget.

    ``from_scratch`` is the course's one (``vc.recipes.Recipe.random_start``).

    A pretrained network's inputs are normalised the way its weights expect; a random one
    expects nothing, so its inputs are standardised with the training images' own
    per-channel mean and standard deviation. Random weights are far from any solution, so
    they get more epochs than a few steps of fine-tuning need, and a one-cycle schedule that
    warms the learning rate up and decays it. SqueezeNet's head is a 1x1 convolution
    followed by a ReLU: with SGD at the pretrained recipes' rates, or AdamW above 3e-4, every
    output unit dies within a few epochs and the network answers one class for every image
    (measured on the ants/bees photos); AdamW at 2e-4 trained in each of three seeds. It
    runs at 96 px, a fifth of the pixels, so three seeds of 10 epochs fit a 2-core budget
    (at 80 px it stays near the 54% of always answering 'bees', measured).
    """

    epochs: int = 10
    optimizer: str = "adamw"
    lr: float = 2e-4
    weight_decay: float = 5e-4
    image_size: int | None = 96

    def __post_init__(self) -> None:
        if self.optimizer not in ("sgd", "adamw"):
            raise ValueError(f"optimizer must be 'sgd' or 'adamw', not {self.optimizer!r}")

    def make_optimizer(self, model: nn.Module, momentum: float) -> torch.optim.Optimizer:
        if self.optimizer == "sgd":
            return torch.optim.SGD(model.parameters(), lr=self.lr, momentum=momentum,
                                   weight_decay=self.weight_decay)
        return torch.optim.AdamW(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)

    def __str__(self) -> str:
        size = f" at {self.image_size} px" if self.image_size else ""
        name = "SGD with momentum" if self.optimizer == "sgd" else "AdamW"
        return (f"{self.epochs} epochs, {name}, lr {self.lr:g} (one-cycle: warm-up then "
                f"decay), weight decay {self.weight_decay:g}, inputs standardised with the "
                f"training images' own mean and std{size}")


@dataclass(frozen=True)
class Budget:
    """What every recipe gets: the same epochs, batch size, learning rates, seeds and device.

    ``lr`` trains the new head; ``backbone_lr`` every other trainable (pretrained or
    re-initialised) layer. ``augment=False`` (the default) shows every recipe the same
    images every epoch, which also lets the recipes with a frozen prefix cache its output;
    ``augment=True`` adds random crops and flips to all recipes and turns caching off.
    ``image_size`` overrides the model's input size (quick mode uses small images).
    Each recipe runs ``repeats`` times, with seeds ``seed``, ``seed + 1``, ...: the new
    head's initialisation and the shuffling change, the data and the starting weights do
    not. ``scratch`` (or ``None``: the shared budget) is what a recipe that starts from random
    weights (``from_scratch``) gets instead. ``device`` (``None``: ``vc.devices.pick_device()``)
    and ``precision`` (one of ``vc.devices.PRECISIONS``: ``"auto"``, ``"fp32"``, ``"bf16"``, or
    ``"int8"``: the cached passes in int8, training as ``"auto"``) are where and in which
    number format every recipe trains; an unknown precision, or int8 without an int8 engine,
    is refused here.

    Example:
        >>> Budget(epochs=1, repeats=2).seeds
        [0, 1]
    """

    epochs: int = 3
    batch_size: int = 32
    lr: float = 3e-3
    backbone_lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    augment: bool = False
    image_size: int | None = None
    seed: int = 0
    repeats: int = 3
    scratch: ScratchBudget | None = ScratchBudget()
    device: str | None = None
    precision: str = "auto"

    def __post_init__(self) -> None:
        if self.device is not None:  # a torch.device too; kept as text, so it saves as JSON
            object.__setattr__(self, "device", str(self.device))
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, not {self.epochs}.")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {self.batch_size}.")
        if self.repeats < 1:
            raise ValueError(f"repeats must be at least 1, not {self.repeats}.")
        devices.check_precision(self.precision)

    @property
    def seeds(self) -> list[int]:
        return [self.seed + i for i in range(self.repeats)]
