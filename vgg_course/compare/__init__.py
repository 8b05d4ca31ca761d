"""The transfer-learning vs fine-tuning comparison lab: every recipe, one budget, one table.

``vc.compare.run(...)`` is the lab; the package keeps its parts, one job each:

- ``budget``: what every recipe gets (``Budget``), and from scratch's own (``ScratchBudget``);
- ``lab``: the lab itself, ``run()`` (its command, ``python -m vgg_course compare``, is in
  ``vgg_course.commands``);
- ``runs``: one recipe trained once per seed from the same start;
- ``recipe_result``: one recipe's result over its seeds (accuracy, spread, 95% interval, costs);
- ``stats``: the uncertainty of an accuracy measured on n images (Wilson interval, standard error);
- ``results``: the rows, the table, its reading, the figures and the files of a comparison.
"""

from __future__ import annotations

from vgg_course.compare.budget import Budget, ScratchBudget
from vgg_course.compare.lab import results_folder, run
from vgg_course.compare.results import Comparison, Predictions, RecipeResult, Run

__all__ = ["Budget", "Comparison", "Predictions", "RecipeResult", "Run", "ScratchBudget",
           "results_folder", "run"]
