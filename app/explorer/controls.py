"""The explorer's sidebar: which curves, which filters, how to draw. Every widget edits the
session's :class:`ExplorerState` both ways; none of them talks to the engine.

From and Until are the exception to ``from_param``: they show the state's times on the display
zone's clocks and hand what is typed to :meth:`ExplorerState.enter_time`, so a refused date is
said next to its field and never applied."""

from __future__ import annotations

import pandas as pd
import panel as pn

from app.checkbox import labelled_checkbox
from app.explorer.state import (
    CMAPS,
    COLOR_BY,
    COMPARED,
    LIVE,
    NORMS,
    PLANT_ZONE,
    RESULTS,
    TIME_FIELDS,
    VERDICTS,
    ExplorerState,
)
from app.markup import text
from app.ticks import every
from models.plants import load_plants
from models.times import PATTERN, WINDOWS, TimeInputError, parse_time
from models.wording import counted
from pipelines.rules.runs import DONE, FAILED, RUNNING, RUNS
from pipelines.views import FilterError

FILTER_PICKERS = ("plant", "line", "station", "program", "shift")
RUN_POLL_MS = 1000  # how often the rules' runs are shown again (no engine call: this process)
RULES_READ_POLLS = 5  # every so many polls, the process's rules are read from the metadata


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
        self.verdict = pn.widgets.RadioButtonGroup.from_param(
            state.param.verdict,
            options={label: token for token, label in VERDICTS.items()},
            label="Verdict",
            color="default",
        )
        self._rules = state.current_rules()  # read again on a new process, and now and then
        self._polls = 0
        self._watched: set[int] = set()  # runs seen running (by id), to redraw when they end
        self.rule = pn.widgets.Select.from_param(
            state.param.rule, options=self.rule_options(), label="Verdict of"
        )
        # How far each rule of the process is through the stored parts (while one re-runs).
        self.runs = pn.pane.Markdown("", name="rule-runs", margin=(0, 10))
        self.run_bar = pn.indicators.Progress(value=0, max=100, visible=False, height=12)
        state.param.watch(self.rules_changed, ["project", "process"])
        self._show_runs()
        if pn.state.curdoc is not None:
            every(self._show_runs, RUN_POLL_MS)
        self.zone = pn.widgets.Select.from_param(
            state.param.zone, options=self.zones(), label="Time zone"
        )
        self.start, self.end = (
            pn.widgets.TextInput(
                placeholder=PATTERN,
                description=f"{PATTERN} (the time is optional); empty for no {limit} limit",
            )
            for limit in ("lower", "upper")
        )
        self.time_errors = {
            name: pn.pane.Alert("", alert_type="danger", visible=False, margin=(0, 10))
            for name in TIME_FIELDS
        }
        self.windows = {
            token: pn.widgets.Button(
                label=label, color="light", sizing_mode="stretch_width", margin=(5, 3)
            )
            for token, label in WINDOWS.items()
        }
        for token, button in self.windows.items():
            button.on_click(lambda _e, token=token: self.state.apply_window(token))
        for name in TIME_FIELDS:
            self._time_input(name).param.watch(
                lambda e, name=name: self._typed(name, e.new), "value"
            )
        self.live = pn.widgets.Select.from_param(
            state.param.live,
            options={label: token for token, label in LIVE.items()},
            label="Follow the line (live)",
            description="New curves appear within seconds of their commit; From and Until are "
            "set aside while it is on",
        )
        state.param.watch(self._on_live, "live")
        self._on_live()
        state.param.watch(self._on_times, ["start", "end"])
        state.param.watch(self._on_zone, ["zone", "plant"])
        self._show_times(TIME_FIELDS)
        self.color_by = pn.widgets.Select.from_param(
            state.param.color_by,
            options={"(density)": "", **{c: c for c in COLOR_BY if c}},
            label="Colour by",
        )
        self.side_by_side = labelled_checkbox(
            state.param.side_by_side, "Side by side (plant, line or station)"
        )
        state.param.watch(self._on_color_by, "color_by")
        self._on_color_by()
        self.cmap = pn.widgets.Select.from_param(
            state.param.cmap, options=list(CMAPS), label="Colour map"
        )
        self.norm = pn.widgets.RadioButtonGroup.from_param(
            state.param.norm, options=list(NORMS), label="Normalisation"
        )
        self.envelope = labelled_checkbox(
            state.param.envelope, "Percentile envelope (5/25/50/75/95 %)"
        )
        self.reference = pn.widgets.TextInput.from_param(
            state.param.reference, placeholder="serial of a golden part", label="Reference part"
        )
        state.param.watch(self._keep_chosen, list(FILTER_PICKERS))
        self.reset_filters = pn.widgets.Button(label="Clear filters", color="light")
        self.reset_filters.on_click(lambda _e: self.clear_filters())
        self.project.param.watch(self._on_project, "value")

    def zones(self) -> dict[str, str]:
        """The time zones offered: the plant's own, UTC, each known plant's and the state's."""
        offered = {"Plant's local time": PLANT_ZONE, "UTC": "UTC"}
        book = load_plants()
        for zone in sorted({p.zone for p in book.plants}):
            plants = ", ".join(p.key for p in book.plants if p.zone == zone)
            offered[f"{zone} ({plants})"] = zone
        if self.state.zone not in offered.values():
            offered[self.state.zone] = self.state.zone
        return offered

    # --- From and Until on the display zone's clocks ---------------------------------------------

    def _time_input(self, name: str) -> pn.widgets.TextInput:
        return self.start if name == "start" else self.end

    def _typed(self, name: str, typed: str) -> None:
        try:
            self.state.enter_time(name, typed)
        except FilterError as exc:
            self._say(name, str(exc))
        else:
            self._say(name, "")

    def _say(self, name: str, refusal: str) -> None:
        alert = self.time_errors[name]
        alert.object = text(refusal)
        alert.visible = bool(refusal)

    def _on_color_by(self, *_events) -> None:
        """Groups are drawn side by side only when the picture is coloured by them."""
        self.side_by_side.disabled = self.state.color_by not in COMPARED

    def _on_live(self, *_events) -> None:
        """While following the line the window slides with the clock: the fixed ones wait."""
        for widget in (self.start, self.end, *self.windows.values()):
            widget.disabled = bool(self.state.live)

    def _on_times(self, *events) -> None:
        self._show_times([e.name for e in events])

    def _on_zone(self, *_events) -> None:
        if self.state.zone not in self.zone.options.values():
            self.zone.options = self.zones()
        # A refused entry stays as typed, to be corrected; the others follow the new clocks.
        self._show_times([n for n in TIME_FIELDS if not self.time_errors[n].visible])

    def _show_times(self, names) -> None:
        zone = self.state.display_zone()
        for name in names:
            field = self._time_input(name)
            field.name = f"{TIME_FIELDS[name]} ({zone})"
            shown = self.state.shown_time(name)
            if self._same_moment(field.value, shown):
                continue  # typed another way, the same moment: leave it as typed
            self._say(name, "")
            field.value = shown

    def _same_moment(self, typed: str, shown: str) -> bool:
        if not typed.strip() or not shown:
            return typed.strip() == shown
        zone = self.state.display_zone()
        try:
            return parse_time(typed, zone) == parse_time(shown, zone)
        except TimeInputError:
            return False

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
            **{name: [] for name in ExplorerState.LISTS},
            serial="",
            start="",
            end="",
            verdict="",
            rule=0,
        )

    # --- verdicts ---------------------------------------------------------------------------------

    def rule_options(self) -> dict[str, int]:
        """The rule picker's choices: every rule of the process, or one of them by name."""
        options = {"every rule of the process": 0}
        for rule in self._rules:
            options[f"{rule.name} (v{rule.version})"] = int(rule.rule_id or 0)
        if self.state.rule and self.state.rule not in options.values():
            options[f"rule {self.state.rule}"] = self.state.rule  # a link to a retired one
        return options

    def rules_changed(self, *_events) -> None:
        """Another process, or a rule saved: the picker offers the process's rules as now."""
        self._rules = self.state.current_rules()
        self.rule.options = self.rule_options()
        self._show_runs(read=False)

    def _show_runs(self, read: bool = True) -> None:
        """Each rule's run over history as this server knows it (a run started since it
        started): judging so far, done, or failed; nothing for the others. Every
        :data:`RULES_READ_POLLS` polls the process's rules are read again (a rule made or
        changed meanwhile)."""
        self._polls += read
        if read and self._polls % RULES_READ_POLLS == 0:
            rules = self.state.current_rules(fresh=True)
            if [(r.rule_id, r.version, r.name) for r in rules] != [
                (r.rule_id, r.version, r.name) for r in self._rules
            ]:
                self._rules = rules
                self.rule.options = self.rule_options()
        lines, running, ended = [], [], False
        for rule in self._rules:
            run = RUNS.get(rule.scope.project, int(rule.rule_id or 0))
            if run is None or run.rule.version != rule.version:
                continue
            name = f"**{text(rule.name)}** v{rule.version}"
            if run.state == RUNNING:
                running.append(run)
                self._watched.add(id(run))
                lines.append(
                    f"{name}: judging the stored parts, {run.judged:,} of {run.total:,} "
                    f"({run.judged / run.total:.0%})"
                    if run.total
                    else f"{name}: counting the stored parts to judge…"
                )
            elif id(run) in self._watched:  # it ended since the last poll
                self._watched.discard(id(run))
                ended = True
            if run.state == DONE:
                took = f" in {run.seconds:.1f} s" if run.seconds is not None else ""
                lines.append(f"{name}: judged all {counted(run.total, 'stored part')}{took}")
            elif run.state == FAILED:
                lines.append(f"{name}: judging the stored parts failed: {text(run.error)}")
        self.runs.object = "\n\n".join(lines)
        if ended and (self.state.verdict or self.state.rule):
            self.state.param.trigger("verdict")  # the picture of the verdicts it just stored
        self.run_bar.visible = bool(running)
        if running and running[0].total:
            self.run_bar.value = int(100 * running[0].judged / running[0].total)

    def show_choices(self, choices: dict[str, list[str]]) -> None:
        """Picker options from the curves of the chosen project and process (values already
        chosen stay available). MultiChoice shows its labels as HTML, so each label is the
        value as text (:func:`~app.markup.text`); the values stay as stored."""
        for name, values in choices.items():
            if name in self.filters:
                chosen = sorted(set(values) | set(getattr(self.state, name)))
                self.filters[name].options = {text(value): value for value in chosen}

    def _keep_chosen(self, *events) -> None:
        """Values chosen before the pickers know the curves' values (a shared link's
        ``?plant=Leipzig``) become options at once: the browser drops a value that is not
        among the options, and the filter with it."""
        for event in events:
            picker = self.filters[event.name]
            options = picker.options if isinstance(picker.options, dict) else {}
            missing = [v for v in event.new if v not in options.values()]
            if missing:
                picker.options = {**options, **{text(value): value for value in missing}}

    def sidebar(self) -> list:
        """The controls in order, stretched to the sidebar's width."""
        controls = [
            pn.pane.Markdown("#### Curves"),
            self.project,
            self.process,
            self.live,
            pn.pane.Markdown("#### Filters"),
            *self.filters.values(),
            self.result,
            self.verdict,
            self.rule,
            self.runs,
            self.run_bar,
            self.serial,
            self.zone,
            self.start,
            self.time_errors["start"],
            self.end,
            self.time_errors["end"],
            pn.Row(*self.windows.values(), sizing_mode="stretch_width"),
            self.reset_filters,
            pn.pane.Markdown("#### Drawing"),
            self.color_by,
            self.side_by_side,
            self.cmap,
            self.norm,
            self.envelope,
            self.reference,
        ]
        for control in controls:
            if isinstance(control, pn.widgets.Widget):
                control.sizing_mode = "stretch_width"
        return controls
