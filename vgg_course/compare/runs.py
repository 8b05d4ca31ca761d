"""One recipe of the comparison lab, trained once per seed from the same start: a RecipeResult.

Every seed starts from a copy of the same starting model; the recipe sets what trains, the
seed sets the new head's initialisation and the shuffling. A recipe whose frozen prefix can
be cached (``vc.features``) computes it once for all its seeds and for every other recipe
frozen in the same place. A recipe that starts from random weights
(``vc.recipes.Recipe.random_start``: ``from_scratch``) trains with its own settings
(``vc.compare.ScratchBudget``: standardised inputs, AdamW, a one-cycle schedule); a run whose
loss becomes NaN or infinite makes the recipe a failure, reported with the fix. Everything
runs with the one ``vc.devices.Plan`` the lab resolved. Streamed data (too big for memory) is
standardised on the fly (``vc.standardizing``), and a prefix is cached only while the caches
fit the lab's memory limit. Each seed's model is validated once before its first epoch (the
untrained accuracy; on the cached features when there are some), and ``Lab.baseline`` scores
the starting model's own outputs for the classes' ImageNet rows, untrained.
"""

from __future__ import annotations

import copy
import math
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from vgg_course import data, devices, engine, features, freezing, memory, optim, recipes
from vgg_course import standardizing
from vgg_course.compare.budget import Budget, ScratchBudget
from vgg_course.compare.recipe_result import RecipeResult, Run
from vgg_course.features import cacheable


class Lab:
    """What every recipe of one comparison shares: start, data, budget, plan, feature caches.

    Args:
        base: the starting model; every recipe and seed trains a copy of it.
        loaders: the shared ``(train, val)`` loaders.
        datasets: their datasets (a random start standardises them: in memory, or streamed).
        budget: epochs, learning rates, seeds, ... of every recipe.
        chosen: the device and precision everything runs with (``vc.devices.plan``, once).
        progress: show progress bars.
        cache_limit: bytes all feature caches may hold together (``None``: no limit); a
            prefix whose features would pass it trains uncached.
        rows: the pretrained head's rows for the classes (``vc.imagenet.rows_for``), passed to
            a recipe whose head starts from them (``vc.recipes.Recipe.imagenet_rows``).
    """

    def __init__(self, base: nn.Module, loaders: tuple[DataLoader, DataLoader],
                 datasets: tuple[Dataset, Dataset], budget: Budget, chosen: devices.Plan,
                 progress: bool, cache_limit: int | None = None,
                 rows: tuple[int, ...] | None = None) -> None:
        self.base, self.loaders, self.datasets = base, loaders, datasets
        self.budget, self.chosen, self.progress = budget, chosen, progress
        self.cache_limit, self.rows = cache_limit, rows
        self.caches: dict[tuple, features.Cached] = {}
        self._scratch: tuple[DataLoader, DataLoader] | None = None

    def own_settings(self, name: str) -> ScratchBudget | None:
        """``budget.scratch`` for a recipe that starts from random weights, else ``None``."""
        return self.budget.scratch if recipes.get(name).random_start else None

    def loaders_for(self, name: str) -> tuple[DataLoader, DataLoader]:
        """The shared loaders, or a random start's standardised ones (built once)."""
        own = self.own_settings(name)
        if own is None:
            return self.loaders
        if self._scratch is None:
            train, val, _, _ = standardizing.standardized(
                *self.datasets, image_size=own.image_size, progress=self.progress)
            self._scratch = data.make_loaders(train, val, batch_size=self.budget.batch_size,
                                              device=self.chosen.device, seed=self.budget.seed)
        return self._scratch

    def recipe(self, name: str, num_classes: int) -> tuple[RecipeResult, nn.Module]:
        """Train one recipe once per seed; the result and the first seed's trained model."""
        runs, notes, setup, first = [], [], 0.0, None
        peak = memory.PeakMemory(self.chosen.device)  # every seed, feature caching included
        for seed in self.budget.seeds:
            run, model, caching, note = self._once(name, num_classes, seed)
            runs.append(run)
            first = model if first is None else first  # only the first seed's model is kept
            setup += caching
            if note and note not in notes:
                notes.append(note)
        own = self.own_settings(name)
        cpu_peak, gpu_peak = peak.cpu_peak(), peak.gpu_peak()
        result = RecipeResult(
            recipe=name, trainable_params=freezing.trainable_count(first),
            epochs=len(runs[0].curves["val_acc"]), runs=runs, setup_s=setup,
            n_images=sum(len(loader.dataset) for loader in self.loaders),
            peak_gpu_mb=None if gpu_peak is None else gpu_peak / 2**20,
            peak_cpu_mb=None if cpu_peak is None else cpu_peak / 2**20,
            device=str(self.chosen.device), precision=self.chosen.precision,
            cached_features=bool(notes), settings=str(own) if own else "", notes=notes,
            n_val=len(self.loaders[1].dataset))
        diverged = [r.seed for r in runs if r.diverged]
        if diverged:
            lr = own.lr if own else self.budget.backbone_lr
            result.failure = (
                f"training diverged (a loss became NaN or infinite) with seed(s) "
                f"{', '.join(map(str, diverged))}, so no accuracy is reported. The fix: a smaller "
                f"learning rate than {lr:g} for this start, or inputs on the scale the network "
                "expects (standardised for random weights, the weights' own preprocessing for "
                "pretrained ones)")
        return result, first

    def _optimizer(self, name: str, model: nn.Module) -> tuple[
            torch.optim.Optimizer, int, torch.optim.lr_scheduler.LRScheduler | None]:
        """The optimizer, the epochs and the scheduler a recipe trains with."""
        own, budget = self.own_settings(name), self.budget
        if own is None:
            return optim.make_optimizer(model, lr=budget.backbone_lr, head_lr=budget.lr,
                                        momentum=budget.momentum,
                                        weight_decay=budget.weight_decay), budget.epochs, None
        optimizer = own.make_optimizer(model, budget.momentum)
        # one-cycle, stepped per epoch: warm-up, then a long decay
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=own.lr,
                                                        total_steps=own.epochs + 1)
        return optimizer, own.epochs, scheduler

    def _cached(self, model: nn.Module, train_loader: DataLoader, val_loader: DataLoader
                ) -> tuple[features.Cached | None, float]:
        """The shared cache of ``model``'s frozen prefix (made on first use), and its cost now."""
        if self.budget.augment:
            return None, 0.0
        checked = cacheable.check(model, train_loader, val_loader)
        if not checked.ok:
            return None, 0.0
        key, seconds = cacheable.prefix_key(model, checked), 0.0
        if key not in self.caches and not self._fits(model, checked, train_loader, val_loader):
            return None, 0.0
        if key not in self.caches:
            self.caches[key] = features.cache(model, train_loader, val_loader, checked,
                                              plan=self.chosen, progress=self.progress)
            seconds = self.caches[key].seconds
        return self.caches[key].with_head_of(model), seconds

    def _fits(self, model: nn.Module, checked: cacheable.CacheCheck, train_loader: DataLoader,
              val_loader: DataLoader) -> bool:
        """Whether this prefix's fp32 features fit beside the caches held, under ``cache_limit``."""
        if self.cache_limit is None:
            return True
        prefix = nn.Sequential(*(m for _, m in cacheable.stages(model)[:checked.boundary]))
        modes = {m: m.training for m in prefix.modules()}
        prefix.eval()  # as caching runs it: no BatchNorm statistics change
        where = next((q.device for q in prefix.parameters()), torch.device("cpu"))
        with torch.inference_mode():
            per_image = prefix(train_loader.dataset[0][0][None].to(where)).numel()
        for m, training in modes.items():
            m.training = training
        held = sum(c.train.features.nbytes + c.val.features.nbytes for c in self.caches.values())
        need = 4 * per_image * (len(train_loader.dataset) + len(val_loader.dataset))
        return held + need <= self.cache_limit

    def rows_for(self, name: str) -> tuple[int, ...] | None:
        """The rows to pass to recipe ``name``: the classes' rows if it takes them, else None."""
        return self.rows if recipes.get(name).imagenet_rows else None

    @torch.no_grad()
    def baseline(self, rows: tuple[int, ...]) -> float:
        """Accuracy of the starting model's own outputs ``rows`` (class ``i``: ``rows[i]``), untrained.

        On the features a recipe cached when there are some (the base model's layers after the
        cached prefix; the prefix is the same frozen copy), else one pass over the val images.
        """
        cached = max(self.caches.values(), key=lambda c: c.head_start, default=None)
        net, val = self.base, self.loaders[1]
        if cached is not None:
            after = cacheable.stages(self.base)[cached.head_start:]
            net, val = nn.Sequential(*(m for _, m in after)), cached.val
        picked = nn.Sequential(copy.deepcopy(net), _Rows(rows))  # the base stays where it is
        devices.prepare(picked, self.chosen)
        return engine.evaluate(picked, val, plan=self.chosen).accuracy

    def _on_a_shared_cache(self, model: nn.Module) -> tuple[nn.Module | None, object]:
        """``model``'s layers after a cached prefix it still holds unchanged, and that cache's val.

        Before training, a recipe that trains its prefix (``full_finetune``) computes there what
        a cache already holds: its untrained accuracy is then one pass over the cached features.
        """
        if not self.caches:  # nothing cached (or a model caching cannot split)
            return None, None
        mine, base = cacheable.stages(model), cacheable.stages(self.base)

        def tensors(module: nn.Module) -> list[torch.Tensor]:
            return [*module.parameters(), *module.buffers()]

        for cached in sorted(self.caches.values(), key=lambda c: -c.head_start):
            pairs = zip(mine[:cached.head_start], base[:cached.head_start])
            if len(mine) == len(base) and all(
                    len(tensors(m)) == len(tensors(n))
                    and all(torch.equal(a, b) for a, b in zip(tensors(m), tensors(n)))
                    for (_, m), (_, n) in pairs):
                return nn.Sequential(*(m for _, m in mine[cached.head_start:])), cached.val
        return None, None

    def _once(self, name: str, num_classes: int, seed: int) -> tuple[Run, nn.Module, float, str]:
        model = copy.deepcopy(self.base)  # every recipe and seed starts from the same weights
        torch.manual_seed(seed)  # ... and each seed from its own new-head initialisation
        recipes.apply(name, model, num_classes, rows=self.rows_for(name))
        optimizer, epochs, scheduler = self._optimizer(name, model)
        train_loader, val_loader = self.loaders_for(name)
        cached, caching = (None, 0.0) if self.own_settings(name) else self._cached(
            model, train_loader, val_loader)
        net, train_data, val_data = ((cached.head, cached.train, cached.val) if cached
                                     else (model, train_loader, val_loader))
        before, before_val = (None, None) if cached or self.own_settings(name) else (
            self._on_a_shared_cache(model))  # compared with the base before it moves
        devices.prepare(net, self.chosen)  # as fit() would; fit() re-seeds each epoch after this
        if before is None:
            before, before_val = net, val_data
        untrained = engine.evaluate(before, before_val, plan=self.chosen).accuracy
        start = time.perf_counter()
        history = engine.fit(net, train_data, val_data, optimizer, epochs=epochs, plan=self.chosen,
                             seed=seed, progress=self.progress, scheduler=scheduler)
        seconds = time.perf_counter() - start
        curves = history.curves()
        diverged = not all(math.isfinite(v) for v in curves["train_loss"] + curves["val_loss"])
        run = Run(seed, curves, seconds, diverged, untrained_val_acc=untrained)
        return run, model, caching, str(cached) if cached else ""


class _Rows(nn.Module):
    """Keep the given columns of a model's outputs, in order: ImageNet's rows for the classes."""

    def __init__(self, rows: tuple[int, ...]) -> None:
        super().__init__()
        self.rows = list(rows)

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        return logits[:, self.rows]
