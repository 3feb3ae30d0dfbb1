"""A rule drawn on the raster: the box last drawn with the box-select tool becomes a window, or
its diagonal a no-pass line, refined in a small form and saved for the process in view.

The form only holds what the box says; what a rule means and whether its numbers are valid is
:mod:`pipelines.rules.spec`'s, and saving goes through the page's ``save`` (the metadata
store's one way to make a rule, with its role check and audit row).
"""

from __future__ import annotations

from collections.abc import Callable

import panel as pn
import param

from app.explorer.state import ExplorerState
from app.markup import text
from app.published import publish
from pipelines.curves import Curves
from pipelines.rules.spec import SIDES, Rule, RuleError, Scope, make_check
from pipelines.rules.what_if import what_if

# What a person picks, and the rule kind and parameters it means.
SHAPES = {"Window": "window", "No-pass line": "line"}
MODES = {
    "enter and leave by the sides below (uni-box)": "uni-box",
    "must pass through": "pass-through",
    "must not touch": "not-touch",
}
DIAGONALS = {
    "lower left to upper right": "rising",
    "upper left to lower right": "falling",
}
# save(name, project, process, kind, params, programs): makes the rule, or raises with words.
Save = Callable[[str, str, str, str, dict, list[str]], None]


def _rounded(value: float, span: float) -> float:
    """A bound to about four significant digits of the view's span: what a person would type."""
    if span <= 0:
        return float(value)
    digits = max(0, 3 - int(f"{span:e}".split("e")[1]))
    return round(float(value), digits)


def what_if_words(curves: Curves, rule: Rule, shown: int = 5) -> str:
    """What ``rule`` would say of ``curves`` (a filter's stored parts), in words."""
    tried = what_if(curves, rule, shown)
    if not tried.judged:
        return "*No part of the filter in view is of this rule's process and programs.*"
    lines = [
        f"**Tried on the {tried.judged:,} parts of the filter in view: {tried.passed:,} would "
        f"pass, {tried.failed:,} fail** ({tried.failed / tried.judged:.1%}). Nothing is stored."
    ]
    for row in tried.failures.itertuples():
        part = row.part_serial or row.curve_key
        lines.append(f"- {text(str(part))} at {text(str(row.station))}: {text(row.reason)}")
    if tried.failed > shown:
        lines.append(f"- … and {tried.failed - shown:,} more")
    return "\n".join(lines)


class RuleDraft(pn.viewable.Viewer):
    """The box last drawn as a rule's form, folded under its title until opened (a box selects
    parts first); hidden until a box is drawn, and for whoever may not make rules in the
    project in view."""

    shape = param.Selector(default="window", objects=SHAPES)
    mode = param.Selector(default="uni-box", objects=MODES)
    entry = param.Selector(default="left", objects=list(SIDES))
    exit = param.Selector(default="right", objects=list(SIDES))
    diagonal = param.Selector(default="rising", objects=DIAGONALS)
    x0 = param.Number(default=0.0)
    x1 = param.Number(default=1.0)
    y0 = param.Number(default=0.0)
    y1 = param.Number(default=1.0)
    rule_name = param.String(default="")
    message = param.String(default="", constant=True, doc="What saving did, or why not.")
    drafting = param.Boolean(default=False, constant=True, doc="A box is drawn and not dropped.")

    def __init__(
        self,
        state: ExplorerState,
        *,
        save: Save,
        may_draw: Callable[[str], bool] = lambda _project: True,
        on_saved: Callable[[], None] = lambda: None,
        try_out: Callable[[Rule], str] | None = None,
    ) -> None:
        """``try_out(rule)``: what the rule would say of the parts of the filter in view, in
        words (a what-if before saving; no button without it)."""
        super().__init__()
        self.state, self._save, self._may_draw, self._on_saved = state, save, may_draw, on_saved
        self._try_out = try_out
        # The form goes on the page with the first box, made then: until then its two dozen
        # models would be made, sent and laid out (hidden) on every explorer page, and its
        # widgets made (about 20 ms of the server's time a page).
        self._slot = pn.Column(sizing_mode="stretch_width", margin=0)
        self.card: pn.Card | None = None

    def _make_form(self) -> pn.Card:
        window = self.param.shape.rx() == "window"
        uni = window & (self.param.mode.rx() == "uni-box")
        widgets = {
            "shape": pn.widgets.RadioButtonGroup.from_param(self.param.shape, label=""),
            "mode": pn.widgets.Select.from_param(
                self.param.mode, label="The curve", visible=window, width=340
            ),
            "entry": pn.widgets.Select.from_param(
                self.param.entry, label="Enters through", visible=uni
            ),
            "exit": pn.widgets.Select.from_param(
                self.param.exit, label="Leaves through", visible=uni
            ),
            "diagonal": pn.widgets.Select.from_param(
                self.param.diagonal, label="From", visible=self.param.shape.rx() == "line"
            ),
        }
        numbers = [
            pn.widgets.FloatInput.from_param(getattr(self.param, n), label=n, width=110)
            for n in ("x0", "x1", "y0", "y1")
        ]
        self.name_input = pn.widgets.TextInput.from_param(
            self.param.rule_name, label="Rule name", placeholder="e.g. Press-in window"
        )
        self.save_button = pn.widgets.Button(label="Save rule", color="primary")
        self.save_button.on_click(lambda _e: self.save())
        self.drop_button = pn.widgets.Button(label="Drop", color="light")
        self.drop_button.on_click(lambda _e: self.drop())
        self.try_button = pn.widgets.Button(
            label="Try it on the parts in view", color="light", visible=self._try_out is not None
        )
        self.try_button.on_click(lambda _e: self.try_it())
        self.tried = pn.pane.Markdown("", margin=(0, 10), name="rule-draft-tried")
        self.scope = pn.pane.Markdown(self._scope_words(), margin=(0, 10))
        self.said = pn.pane.Markdown(self.param.message, margin=(0, 10), name="rule-draft-said")
        return pn.Card(
            pn.pane.Markdown(
                "Drawn with the box-select tool. Check the numbers, then save: the rule is "
                "drawn on the raster and judges the process's parts.",
                margin=(0, 10),
            ),
            widgets["shape"],
            pn.Row(widgets["mode"], widgets["diagonal"]),
            pn.Row(widgets["entry"], widgets["exit"]),
            pn.Row(*numbers),
            self.name_input,
            self.scope,
            pn.Row(self.try_button, self.save_button, self.drop_button),
            self.tried,
            self.said,
            title="Make a rule from this box",
            collapsed=True,
            visible=self.param.drafting,
            sizing_mode="stretch_width",
            name="rule-draft",
        )

    def _scope_words(self) -> str:
        programs = ", ".join(self.state.program) or "every program"
        return f"Judges **{text(self.state.process)}** parts of {text(programs)}."

    def from_box(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """A box drawn on the picture (data coordinates): the form's numbers, shown."""
        if not self.state.process or not self._may_draw(self.state.project):
            return
        if self.card is None:
            self.card = self._make_form()
            self._slot.append(self.card)
        (x0, x1), (y0, y1) = sorted((x0, x1)), sorted((y0, y1))
        self.param.update(
            x0=_rounded(x0, x1 - x0),
            x1=_rounded(x1, x1 - x0),
            y0=_rounded(y0, y1 - y0),
            y1=_rounded(y1, y1 - y0),
        )
        self.scope.object = self._scope_words()
        if not self.drafting:
            self.card.collapsed = True  # a box selects parts first: the form waits to be asked
        publish(self, drafting=True, message="")

    def drop(self) -> None:
        publish(self, drafting=False, message="")

    def rule(self) -> tuple[str, dict]:
        """The rule kind and parameters the form says."""
        if self.shape == "window":
            params = {"x0": self.x0, "x1": self.x1, "y0": self.y0, "y1": self.y1}
            params["mode"] = self.mode
            if self.mode == "uni-box":
                params.update(entry=self.entry, exit=self.exit)
            return "window", params
        low, high = (self.y0, self.y1) if self.diagonal == "rising" else (self.y1, self.y0)
        return "line", {"x0": self.x0, "y0": low, "x1": self.x1, "y1": high}

    def try_it(self) -> str:
        """What the rule as the form says would pass and fail among the parts of the filter in
        view (nothing is stored); the words shown."""
        if self._try_out is None:
            return ""
        kind, params = self.rule()
        try:
            scope = Scope(self.state.project, self.state.process, tuple(self.state.program))
            draft = Rule(self.rule_name.strip() or "this rule", scope, make_check(kind, params))
            words = self._try_out(draft)
        except (RuleError, ValueError) as exc:
            words = f"Cannot try it: {text(str(exc))}"
        self.tried.object = words
        return words

    def save(self) -> bool:
        """Make the rule for the process in view (narrowed to the programs chosen, if any);
        what went wrong is said in the form, in words."""
        name = self.rule_name.strip()
        if not name:
            publish(self, message="Give the rule a name first.")
            return False
        kind, params = self.rule()
        try:
            make_check(kind, params)
            self._save(
                name, self.state.project, self.state.process, kind, params, list(self.state.program)
            )
        except (RuleError, PermissionError, ValueError) as exc:
            publish(self, message=f"Not saved: {text(str(exc))}")
            return False
        publish(self, message=f"Saved rule “{text(name)}”; it is drawn on the raster.")
        self._on_saved()
        return True

    def __panel__(self) -> pn.viewable.Viewable:
        return self._slot
