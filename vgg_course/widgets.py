"""Interactive views (ipywidgets) over ``vc.freezing``: a freeze-layers panel and its chart.

``freeze_widget(model)`` shows one toggle per block (pressed = frozen), a "freeze up to"
dropdown, the live trainable / frozen counts and a bar chart of where the trainable
parameters sit. Every click changes the real model's ``requires_grad`` through
``vc.freezing``. Stable hooks for browser tests: each toggle has ``description`` equal to
its block name and the CSS class ``vgg-freeze-<block>``; the dropdown has
``vgg-freeze-up-to``, the counts label ``vgg-freeze-counts`` (text
``trainable 8,194 | frozen 134,260,544 | total 134,268,738``), the chart
``vgg-freeze-chart`` and the whole panel ``vgg-freeze-widget``.
"""

from __future__ import annotations

from typing import Mapping

import ipywidgets as widgets
from matplotlib.figure import Figure
from torch import nn

from vgg_course import freezing
from vgg_course.figures import NotebookFigure, to_png
from vgg_course.i18n import N_, _

__all__ = ["CUSTOM", "NONE", "FreezeWidget", "block_chart", "freeze_widget"]

NONE = N_("(none)")      # "freeze up to" value: nothing frozen (shown translated: _(NONE))
CUSTOM = N_("(custom)")  # "freeze up to" value shown when the frozen blocks are not a prefix


def block_chart(model: nn.Module) -> Figure:
    """Horizontal bars per block: all parameters (grey) and the trainable ones (blue), log scale.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> len(block_chart(tiny_vgg(2)).axes)
        1
    """
    rows = freezing.block_table(model).rows
    fig = NotebookFigure(figsize=(5.5, 0.28 * len(rows) + 0.9), dpi=80, layout="constrained")
    ax = fig.add_subplot()
    names = [r.name for r in rows][::-1]  # first block at the top
    ax.barh(names, [max(r.total, 1) for r in rows][::-1], color="#d0d0d0", label="all")
    ax.barh(names, [r.trainable for r in rows][::-1], color="#1f77b4", label="trainable")
    ax.set_xscale("log")
    ax.set_xlabel("parameters (log scale)")
    ax.legend(loc="upper right", fontsize="small")  # conv1 at the top is short
    total = freezing.counts(model)
    ax.set_title(f"trainable: {total.trainable:,} of {total.total:,}", fontsize="medium")
    return fig


class FreezeWidget(widgets.VBox):
    """The freeze-layers panel; attributes ``toggles``, ``up_to``, ``counts``, ``chart``, ``model``."""

    def __init__(self, model: nn.Module, *, initial: str | Mapping[str, bool] | None = None,
                 chart: bool = True) -> None:
        self.model = model
        self.names = freezing.block_names(model)
        self.toggles = {name: widgets.ToggleButton(description=name, layout=widgets.Layout(width="80px"))
                        for name in self.names}
        values = [NONE, *self.names, CUSTOM]
        labels = [_(NONE), *self.names, _(CUSTOM)]  # block names are code: never translated
        options = values if labels == values else list(zip(labels, values))
        self.up_to = widgets.Dropdown(options=options, description=_("freeze up to"),
                                      style={"description_width": "initial"})
        self.counts = widgets.Label()
        self.chart = widgets.Image(format="png") if chart else None
        for name, toggle in self.toggles.items():
            toggle.add_class(f"vgg-freeze-{name}")
        self.up_to.add_class("vgg-freeze-up-to")
        self.counts.add_class("vgg-freeze-counts")
        children = [widgets.HBox(list(self.toggles.values())), self.up_to, self.counts]
        if self.chart is not None:
            self.chart.add_class("vgg-freeze-chart")
            children.append(self.chart)
        super().__init__(children=children)
        self.add_class("vgg-freeze-widget")
        self._syncing = False
        self._apply_initial(initial)
        self.refresh()
        for toggle in self.toggles.values():
            toggle.observe(self._on_toggle, names="value")
        self.up_to.observe(self._on_up_to, names="value")

    def _apply_initial(self, initial: str | Mapping[str, bool] | None) -> None:
        if initial is None:
            return
        if isinstance(initial, str):
            if initial not in (NONE, *self.names):
                raise ValueError(_("initial must be {none!r} or a block name: {blocks}").format(
                    none=NONE, blocks=", ".join(self.names)))
            freezing.freeze_up_to(self.model, None if initial == NONE else initial)
            return
        unknown = set(initial) - set(self.names)
        if unknown:
            raise ValueError(_("unknown blocks in initial: {unknown}; blocks: {blocks}").format(
                unknown=sorted(unknown), blocks=", ".join(self.names)))
        for name, frozen in initial.items():
            (freezing.freeze_blocks if frozen else freezing.unfreeze_blocks)(self.model, name)

    @property
    def counts_text(self) -> str:
        """What the counts label shows: ``trainable N | frozen N | total N``."""
        return self.counts.value

    def refresh(self) -> None:
        """Show the model's current state (call it after changing the model elsewhere)."""
        self._syncing = True
        try:
            state = freezing.block_state(self.model)
            for name, toggle in self.toggles.items():
                toggle.value = state[name] is True
                toggle.icon = "lock" if state[name] else "unlock"
                toggle.button_style = "warning" if state[name] is None else ("info" if state[name] else "")
                toggle.tooltip = {True: _("frozen"), False: _("trainable"),
                                  None: _("partly frozen")}[state[name]]
            self.up_to.value = self._prefix([state[n] for n in self.names])
            self.counts.value = str(freezing.counts(self.model))
            if self.chart is not None:
                self.chart.value = to_png(block_chart(self.model))
        finally:
            self._syncing = False

    def _prefix(self, frozen: list[bool | None]) -> str:
        k = 0
        while k < len(frozen) and frozen[k] is True:
            k += 1
        if any(f is not False for f in frozen[k:]):
            return CUSTOM
        return self.names[k - 1] if k else NONE

    def _on_toggle(self, change: dict) -> None:
        if self._syncing:
            return
        name = change["owner"].description
        (freezing.freeze_blocks if change["new"] else freezing.unfreeze_blocks)(self.model, name)
        self.refresh()

    def _on_up_to(self, change: dict) -> None:
        if self._syncing or change["new"] == CUSTOM:
            return
        freezing.freeze_up_to(self.model, None if change["new"] == NONE else change["new"])
        self.refresh()


def freeze_widget(model: nn.Module, *, initial: str | Mapping[str, bool] | None = None,
                  chart: bool = True) -> FreezeWidget:
    """A freeze-layers panel acting on ``model``'s ``requires_grad`` flags.

    Args:
        model: a model ``vc.freezing.blocks`` understands (VGG16, tiny_vgg, SqueezeNet).
        initial: the state to start from, so the notebook runs unattended: a block name
            ("freeze up to conv5"), ``"(none)"``, or ``{"conv1": True, "fc8": False, ...}``;
            ``None`` shows the model as it is.
        chart: show the per-block bar chart.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> panel = freeze_widget(tiny_vgg(2), initial="conv5", chart=False)
        >>> panel.toggles["fc6"].value = True
        >>> panel.counts_text
        'trainable 1,122 | frozen 108,036 | total 109,158'
    """
    return FreezeWidget(model, initial=initial, chart=chart)
