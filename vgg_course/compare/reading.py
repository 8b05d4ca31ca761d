"""The comparison lab's reading in sentences: which recipe is best, which noise dominates, what
always answering one class and the untrained network score; every number from the result.

``Comparison.conclusion()`` is :func:`conclusion`; each function takes the ``Comparison`` as
``self``. Each sentence is one gettext template with
its numbers as fields (``vgg_course.i18n``), so it reads whole in English and in Japanese.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from vgg_course.i18n import _

if TYPE_CHECKING:
    from vgg_course.compare.recipe_result import RecipeResult


def _join(*sentences: str) -> str:
    """Sentences one space apart, none after a full-width 。 or ） (Japanese); empty ones dropped."""
    return re.sub(r"(?<=[。）]) ", "", " ".join(s for s in sentences if s))


def conclusion(self) -> str:
    """The table's reading in one paragraph (``self``: a ``Comparison``), every sentence built
    from the numbers."""
    if not self.trained():
        return _("Every recipe failed; see the notes.")
    best, tied = self.best(), self.tied_with_best()
    others, cheapest = [r.recipe for r in tied if r is not best], min(tied, key=lambda r: r.total_s)
    f = dict(recipe=best.recipe, accuracy=best.accuracy_text(), seeds=len(best.runs),
             n_val=self.n_val, interval=best.interval_text(), one_image=self.one_image,
             others=", ".join(others), cheapest=cheapest.recipe, seconds=cheapest.total_s)
    text = [_("Highest mean accuracy: **{recipe}** ({accuracy} over {seeds} seed(s); 95% "
              "interval on these {n_val} validation images: {interval})."),
            _("A difference counts only when it is larger than the two recipes' seed spreads "
              "added together and than one image ({one_image:.1%}): every recipe is scored on "
              "the same images, so their sampling error mostly cancels in a difference between "
              "two recipes, while the 95% interval says how far one accuracy could move on "
              "other photos."),
            _("Within that noise of the best: {others}; the cheapest of them is **{cheapest}** "
              "({seconds:.1f} s a run).") if others
            else _("No other recipe is within that noise of it.")]
    text = [t.format(**f) for t in text] + [_noise_sentence(self), _(
        "The best recipe is picked on the same {n_val} validation images it is reported on, "
        "so its number is slightly optimistic; an unbiased one needs a third split of images "
        "that played no part in the choice.").format(**f)]
    text += [_majority_sentence(self, r) for r in self.trained() if r.settings]
    return _join(*text, _baseline_sentence(self))

def _against(self, result: RecipeResult, reference: float) -> str:
    """``"above"``, ``"within"`` or ``"below"``: beyond its seed spread and one image?"""
    gap, noise = result.final_val_acc - reference, max(result.val_acc_sd, self.one_image)
    return "above" if gap > noise else "below" if gap < -noise else "within"

def _noise_sentence(self) -> str:
    spread = max(self.trained(), key=lambda r: r.val_acc_sd)
    best, error = self.best(), self.sampling_sd()
    f = dict(n_val=self.n_val, error=error, sd=spread.val_acc_sd, recipe=spread.recipe,
             best_sd=best.val_acc_sd)
    if spread.val_acc_sd == 0 and error == 0:
        return _("Neither noise shows in these numbers (every seed agrees, at 0% or 100%); "
                 "the 95% interval is the honest range.")
    if self.dominant_noise() == "sampling":
        text = (_("The larger noise is the choice of validation images: one accuracy on "
                  "{n_val} images has a standard error of {error:.1%}, and only one seed ran, "
                  "so the seed spread is not measured.") if len(spread.runs) < 2 else
                _("The larger noise is the choice of validation images: one accuracy on "
                  "{n_val} images has a standard error of {error:.1%}, and the largest seed "
                  "spread is {sd:.1%} ({recipe})."))
        return _join(text.format(**f), _("Another set of photos could move every number by "
                                         "about that much."))
    return (_("The larger noise is the seed: {recipe}'s runs spread {sd:.1%}, more than the "
              "{error:.1%} standard error of one accuracy on {n_val} images; for the best "
              "recipe the images weigh more (its seeds spread {best_sd:.1%}).")
            if best.val_acc_sd < error else
            _("The larger noise is the seed: {recipe}'s runs spread {sd:.1%}, more than the "
              "{error:.1%} standard error of one accuracy on {n_val} images.")).format(**f)

def _majority_sentence(self, result: RecipeResult) -> str:
    if self.majority_share is None:
        return ""
    size = self.budget.scratch.image_size if self.budget.scratch else None
    seen = self.budget.image_size or _("the model's own input size")
    return {  # (trained at a size of its own, against answering the commonest class)
        (True, "above"): _("{recipe}, trained from random weights with its own settings at "
                           "{size} px (the pretrained recipes see {seen}), reaches {accuracy}: "
                           "above answering '{cls}' for every image ({share:.1%}), beyond "
                           "the noise."),
        (True, "within"): _("{recipe}, trained from random weights with its own settings at "
                            "{size} px (the pretrained recipes see {seen}), reaches "
                            "{accuracy}: no better than answering '{cls}' for every image "
                            "({share:.1%}): it learned little or nothing."),
        (True, "below"): _("{recipe}, trained from random weights with its own settings at "
                           "{size} px (the pretrained recipes see {seen}), reaches {accuracy}: "
                           "below answering '{cls}' for every image ({share:.1%})."),
        (False, "above"): _("{recipe}, trained from random weights with its own settings, "
                            "reaches {accuracy}: above answering '{cls}' for every image "
                            "({share:.1%}), beyond the noise."),
        (False, "within"): _("{recipe}, trained from random weights with its own settings, "
                             "reaches {accuracy}: no better than answering '{cls}' for every "
                             "image ({share:.1%}): it learned little or nothing."),
        (False, "below"): _("{recipe}, trained from random weights with its own settings, "
                            "reaches {accuracy}: below answering '{cls}' for every image "
                            "({share:.1%})."),
    }[bool(size), _against(self, result, self.majority_share)].format(
        recipe=result.recipe, size=size, seen=seen, accuracy=result.accuracy_text(),
        cls=self.majority_class, share=self.majority_share)

def _baseline_sentence(self) -> str:
    if self.baseline is None:
        return (_("No untrained baseline: {note}.").format(note=self.baseline_note)
                if self.baseline_note else "")
    sides: dict[str, list[str]] = {"above": [], "within": [], "below": []}
    for r in self.trained():
        sides[_against(self, r, self.baseline)].append(r.recipe)
    text = [_("The untrained baseline, the starting network's own ImageNet outputs for "
              "{classes}, scores {baseline:.1%} on these images.").format(
                  classes=", ".join(self.classes), baseline=self.baseline)]
    for side, words in (("above", _("Above it beyond the noise: {recipes}.")),
                        ("within", _("Within the noise of it: {recipes}.")),
                        ("below", _("Below it beyond the noise: {recipes}."))):
        text.append(words.format(recipes=", ".join(sides[side])) if sides[side] else "")
    if not sides["above"]:
        text.append(_("No recipe's training added accuracy, beyond the noise, to what the "
                      "starting network already knew about these classes."))
    return _join(*text)
