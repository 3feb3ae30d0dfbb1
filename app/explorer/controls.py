"""The explorer's sidebar: which curves, which filters, how to draw. Every widget edits the
session's :class:`ExplorerState` both ways; none of them talks to the engine."""

from __future__ import annotations

import pandas as pd
import panel as pn

from app.explorer.state import CMAPS, COLOR_BY, NORMS, RESULTS, ExplorerState
from app.markup import text

FILTER_PICKERS = ("plant", "line", "station", "program", "shift")


class ExplorerControls:
    """Sidebar widgets bound to ``state``; ``options`` lists curves per project and process."""

    def __init__(self, state: ExplorerState, options: pd.DataFrame) -> None:
        self.state = state
        self._options = options
        projects = sorted(options["project"].unique()) or [""]
        self.project = pn.widgets.Select.from_param(state.param.project, options=projects)
        self.process = pn.widgets.Select.from_param(
            state.param.process, options=self.processes(state.project)
        )
        self.filters = {
            name: pn.widgets.MultiChoice.from_param(
                state.param[name], options=[], placeholder="all", label=name.capitalize()
            )
            for name in FILTER_PICKERS
        }
        self.result = pn.widgets.CheckButtonGroup.from_param(
            state.param.result, options=list(RESULTS), color="default", label="Result"
        )
        self.serial = pn.widgets.TextInput.from_param(
            state.param.serial, placeholder="part serial contains…", label="Serial"
        )
        self.start = pn.widgets.TextInput.from_param(
            state.param.start, placeholder="2026-11-20 06:00", label="From (UTC)"
        )
        self.end = pn.widgets.TextInput.from_param(
            state.param.end, placeholder="2026-11-21", label="Until (UTC)"
        )
        self.color_by = pn.widgets.Select.from_param(
            state.param.color_by,
            options={"(density)": "", **{c: c for c in COLOR_BY if c}},
            label="Colour by",
        )
        self.cmap = pn.widgets.Select.from_param(
            state.param.cmap, options=list(CMAPS), label="Colour map"
        )
        self.norm = pn.widgets.RadioButtonGroup.from_param(
            state.param.norm, options=list(NORMS), label="Normalisation"
        )
        self.envelope = pn.widgets.Checkbox.from_param(
            state.param.envelope, label="Percentile envelope (5/25/50/75/95 %)"
        )
        self.reference = pn.widgets.TextInput.from_param(
            state.param.reference, placeholder="serial of a golden part", label="Reference part"
        )
        self.reset_filters = pn.widgets.Button(label="Clear filters", color="light")
        self.reset_filters.on_click(lambda _e: self.clear_filters())
        self.project.param.watch(self._on_project, "value")

    def processes(self, project: str) -> list[str]:
        chosen = self._options[self._options["project"] == project]
        return list(chosen["process"]) or [""]

    def _on_project(self, event) -> None:
        processes = self.processes(event.new)
        self.process.options = processes
        if self.state.process not in processes:
            self.state.process = processes[0]

    def clear_filters(self) -> None:
        self.state.param.update(
            **{name: [] for name in ExplorerState.LISTS}, serial="", start="", end=""
        )

    def show_choices(self, choices: dict[str, list[str]]) -> None:
        """Picker options from the curves of the chosen project and process (values already
        chosen stay available). MultiChoice shows its labels as HTML, so each label is the
        value as text (:func:`~app.markup.text`); the values stay as stored."""
        for name, values in choices.items():
            if name in self.filters:
                chosen = sorted(set(values) | set(getattr(self.state, name)))
                self.filters[name].options = {text(value): value for value in chosen}

    def sidebar(self) -> list:
        """The controls in order, stretched to the sidebar's width."""
        controls = [
            pn.pane.Markdown("#### Curves"),
            self.project,
            self.process,
            pn.pane.Markdown("#### Filters"),
            *self.filters.values(),
            self.result,
            self.serial,
            self.start,
            self.end,
            self.reset_filters,
            pn.pane.Markdown("#### Drawing"),
            self.color_by,
            self.cmap,
            self.norm,
            self.envelope,
            self.reference,
        ]
        for control in controls:
            if isinstance(control, pn.widgets.Widget):
                control.sizing_mode = "stretch_width"
        return controls
