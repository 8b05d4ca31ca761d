"""Clicking the freeze-layers widget in the page, and checking the kernel's model followed."""

from __future__ import annotations

import json
import re
from pathlib import Path

from jupyterlab_driver import NotebookPage

# conv1 of VGG16 (and of tiny_vgg, which keeps VGG16's indices) is features[0:4]:
# two convolutions, each with a weight and a bias.
CONV1_PARAMS = {"features.0.weight", "features.0.bias", "features.2.weight", "features.2.bias"}

# Runs in the notebook's kernel: the requires_grad flags of the model behind the displayed
# widget `model_id` (the FreezeWidget itself, or one inside the displayed container).
_FLAGS_CODE = """
def _vgg_e2e_flags(model_id):
    import json
    from ipywidgets.widgets.widget import _instances
    from vgg_course.widgets import FreezeWidget
    def find(widget):
        if isinstance(widget, FreezeWidget):
            return widget
        for child in getattr(widget, "children", ()):
            found = find(child)
            if found is not None:
                return found
    panel = find(_instances[model_id])
    print(json.dumps({name: p.requires_grad for name, p in panel.model.named_parameters()}))
    print(sum(p.numel() for p in panel.model.parameters() if p.requires_grad))
_vgg_e2e_flags(MODEL_ID); del _vgg_e2e_flags
"""


def _kernel_state(page: NotebookPage, model_id: str) -> tuple[dict[str, bool], int]:
    flags, trainable = page.kernel_exec(_FLAGS_CODE.replace("MODEL_ID", repr(model_id))).strip().splitlines()
    return json.loads(flags), int(trainable)


def _shown_trainable(text: str) -> int:
    match = re.search(r"trainable ([\d,]+)", text)
    assert match, f"the counts label shows {text!r}, not 'trainable N | frozen N | total N'"
    return int(match.group(1).replace(",", ""))


def click_conv1_and_check(page: NotebookPage, screenshot: Path) -> None:
    """Click conv1 on the first freeze widget; the model and the shown count must follow."""
    panel = page.page.locator(".vgg-freeze-widget").first
    panel.wait_for(state="visible")
    model_id = page.widget_model_id(".vgg-freeze-widget")
    counts = panel.locator(".vgg-freeze-counts")
    flags_before, trainable_before = _kernel_state(page, model_id)
    shown_before = counts.inner_text()
    assert _shown_trainable(shown_before) == trainable_before  # the page shows the kernel's truth

    panel.locator(".vgg-freeze-conv1").click()
    page.page.wait_for_function(
        "([el, before]) => el.innerText !== before", arg=[counts.element_handle(), shown_before])

    flags_after, trainable_after = _kernel_state(page, model_id)
    flipped = {name for name in flags_before if flags_before[name] != flags_after[name]}
    assert flipped == CONV1_PARAMS, f"clicking conv1 changed requires_grad of {sorted(flipped)}"
    assert trainable_after != trainable_before
    assert _shown_trainable(counts.inner_text()) == trainable_after
    assert page.problems(settle=2) == []  # e.g. a traceback from the click's callback
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    panel.screenshot(path=str(screenshot))
    assert screenshot.stat().st_size > 0
