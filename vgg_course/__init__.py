"""vgg_course: the tested machinery behind the VGG16 transfer-learning notebooks.

Use it as ``import vgg_course as vc`` and call functions through the module that owns
them (``vc.models.load_vgg16()``, ``vc.inspection.param_counts(model)``).  Submodules are
imported on first use, so ``import vgg_course`` itself is instant and has no side effects.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# One job each; see each module's first docstring line.
_SUBMODULES = (
    "config",       # settings read from environment variables, in one place
    "workspace",    # the learner's course folder: lessons copied out of the package, edits kept
    "downloads",    # hashing, verified downloads and safe installs of files
    "weights",      # VGG16 weight files: the torchvision cache, local installs, verification
    "models",       # building models: VGG16 (pretrained or practice) and a tiny twin
    "tables",       # a header and rows as text, HTML or Markdown: every table the kit shows
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
    "practice",     # drawing the offline practice photos
    "engine",       # the training and evaluation loop
    "history",      # what a training run did, epoch by epoch: a table in a cell
    "checkpoints",  # best/last checkpoints of a training run, and loading them back
    "cacheable",    # where a model splits for feature caching, or why it cannot
    "features",     # feature caching for frozen backbones
    "segment",      # frozen layers with dropout after a cached prefix, once an epoch
    "quantize",     # int8 copies of a frozen prefix for the one-time feature pass
    "devices",      # device and precision choice
    "memory",       # peak memory of a stretch of work, on Linux, macOS and Windows
    "companion",    # SqueezeNet 1.1 with offline ImageNet weights
    "imagenet",     # what a pretrained network already knows: top-5, its own ant/bee outputs
    "compare",      # the transfer-learning vs fine-tuning comparison lab
    "runs",         # one recipe of the lab, trained once per seed from the same start
    "results",      # the comparison lab's results: rows, table, files
    "figures",      # matplotlib figures of results
    "exercises",    # graded exercises: check / hint / solution
    "grading",      # the instructor's grader: every exercise probed in a sandbox, judged here
    "submissions",  # reading submitted notebooks: lessons, answer cells, edited check cells
    "sandbox",      # running one command in a bubblewrap sandbox with limits
    "probing",      # the sandboxed side of grading: answer cells run, answers probed
    "gradebook",    # the grader's files: gradebook, feedback, per-exercise summary
    "fingerprint",  # fingerprints of the kit's files (the unsafe, unsandboxed grader)
    "authoring",    # student notebooks generated from solution notebooks
    "colab",        # the lessons' first cell: in Colab only, install the kit from one source
    "kernel",       # the course's Jupyter kernel spec, vgg-course (JupyterHub)
    "release",      # the classroom release: student notebooks and a kit without solutions
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
