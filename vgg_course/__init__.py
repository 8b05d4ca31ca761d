"""vgg_course: the tested machinery behind the VGG16 transfer-learning notebooks.

Use it as ``import vgg_course as vc`` and call functions through the module that owns
them (``vc.models.load_vgg16()``, ``vc.inspection.param_counts(model)``).  Submodules are
imported on first use, so ``import vgg_course`` itself is instant and has no side effects.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# The student's namespace: what the lessons call, one job each (see each module's first
# docstring line). ``dir(vc)`` lists these and nothing else.
_LESSON_MODULES = (
    "config",       # the course's mode, language and folders: ``vc.config.use(...)``
    "weights",      # VGG16 weight files: the torchvision cache, local installs, verification
    "models",       # building models: VGG16 (pretrained or practice) and a tiny twin
    "companion",    # SqueezeNet 1.1 with offline ImageNet weights
    "imagenet",     # what a pretrained network already knows: top-5, its own ant/bee outputs
    "inspection",   # tables and counts that show a model's structure and parameters
    "freezing",     # requires_grad by layer, block or section
    "batchnorm",    # BatchNorm in frozen parts: kept in eval mode while the rest trains
    "heads",        # replacing classifier heads
    "recipes",      # transfer learning / fine-tuning recipes by name
    "optim",        # optimizers over trainable parameters, discriminative LRs, checks
    "widgets",      # ipywidgets views over the freezing functions
    "folders",      # checking an image folder before training: counts, skipped files, errors
    "data",         # datasets over checked folders, transforms from the weights, loaders
    "datasets",     # the dataset registry, verified download and install, practice data
    "engine",       # the training and evaluation loop
    "features",     # feature caching for frozen backbones (a package: caching, int8, ...)
    "compare",      # the comparison lab (a package: budget, lab, runs, results)
    "figures",      # matplotlib figures of results
    "exercises",    # graded exercises: check / hint / solution
)
# The machinery under them: reachable as ``vc.<name>`` like the rest, not listed by ``dir``.
# The instructor's tools are a package of their own, ``vgg_course.instructor``.
_MACHINERY = (
    "workspace",    # the learner's course folder: lessons copied out of the package, edits kept
    "downloads",    # hashing, verified downloads and safe installs of files
    "tables",       # a header and rows as text, HTML or Markdown: every table the kit shows
    "practice",     # drawing the offline practice photos
    "history",      # what a training run did, epoch by epoch: a table in a cell
    "checkpoints",  # best/last checkpoints of a training run, and loading them back
    "devices",      # device and precision: one Plan, resolved once
    "memory",       # peak memory of a stretch of work, on Linux, macOS and Windows
    "colab",        # the lessons' first cell: in Colab only, install the kit from one source
    "stored",       # the modes lessons are stored and checked in (nbval, the regen script)
    "banner",       # the mode banner: the first output of every notebook
)
_SUBMODULES = _LESSON_MODULES + _MACHINERY

__all__ = ["__version__", *_LESSON_MODULES]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
