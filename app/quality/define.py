"""Defining a configured feature on the Quality page: y where x first reaches a value, x where
y first reaches one, or the slope of y over an x range, for the process shown. Saved through
:func:`models.feature_definitions.create_feature` (engineers and above, audited), then computed
for the process's stored parts in the background (:func:`app.feature_fill.start_fill`) and
offered in the Feature picker at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

import panel as pn

from app.feature_fill import FILLING, start_fill
from app.markup import text
from app.services import Services
from app.ticks import every
from models.access import AccessError, Principal
from models.feature_definitions import KINDS, create_feature, describe
from models.names import BadName
from models.tables import Project
from pipelines.configured import as_configured

if TYPE_CHECKING:
    from app.quality.page import QualityPage

KIND_WORDS = {
    "y at an x (force at 5 mm)": "y_at_x",
    "x where y reaches a value (travel at 20 kN)": "x_at_y",
    "slope over an x range (stiffness)": "slope",
}
assert set(KIND_WORDS.values()) == set(KINDS)
FOLLOW_FOR_MS = 30 * 60 * 1000  # longer fills: their values show when the feature is chosen again


class FeatureForm(pn.viewable.Viewer):
    """A folded card under the Quality page's pickers."""

    def __init__(self, services: Services, actor: Principal, project: str, page: QualityPage):
        super().__init__()
        self.services, self.actor, self.project, self.page = services, actor, project, page
        self.feature_name = pn.widgets.TextInput(
            label="Name", placeholder="force at 5 mm", width=200
        )
        self.kind = pn.widgets.Select(label="Computes", options=KIND_WORDS, width=300)
        self.a = pn.widgets.FloatInput(label="x", value=None, width=120)
        self.b = pn.widgets.FloatInput(label="to x", value=None, width=120, visible=False)
        self.save = pn.widgets.Button(label="Define feature", color="primary", align="end")
        self.said = pn.pane.Alert("", alert_type="success", visible=False)
        self.kind.param.watch(lambda _e: self._labels(), "value")
        self.save.on_click(lambda _e: self.define())
        self._labels()

    def _labels(self) -> None:
        kind = self.kind.value
        self.a.label = {"y_at_x": "at x", "x_at_y": "at y", "slope": "from x"}[kind]
        self.b.visible = kind == "slope"

    def define(self) -> str:
        """Save the feature for the process shown; the words said (in the card)."""
        process = self.page.process.value
        try:
            with self.services.metadata.sessions() as session:
                project = session.query(Project).filter_by(name=self.project).one()
                row = create_feature(
                    session=session,
                    actor=self.actor,
                    project=project,
                    process=process or "",
                    name=self.feature_name.value,
                    kind=self.kind.value,
                    a=float("nan") if self.a.value is None else self.a.value,
                    b=None if self.b.value is None else self.b.value,
                )
                session.commit()
                feature = as_configured(row)
        except (AccessError, BadName) as exc:
            return self._say(text(str(exc)), "danger")
        start_fill(self.services, self.project)
        self.page.add_configured(feature)
        self.feature_name.value = ""
        self._follow_fill()
        return self._say(
            f"**{text(feature.name)}** ({describe(feature.kind, feature.a, feature.b)}) is "
            f"computed for every new part of {text(process)}, and now for the stored ones: "
            "the charts are drawn again when they are done.",
            "success",
        )

    def _follow_fill(self) -> None:
        """In a served page: once the stored parts' values are computed, the page reads them
        and draws its charts again (looked at every second; the page says how far it is)."""
        if pn.state.curdoc is None or pn.state.curdoc.session_context is None:
            return  # no session to come back to (tests call ``page.refresh`` themselves)

        def look() -> None:
            if self.project in FILLING:
                if self.page.message.visible:  # the charts' place says how far it is
                    self.page.draw()
                return
            follow.stop()
            self.page.refresh()

        follow = every(look, 1000, timeout_ms=FOLLOW_FOR_MS)

    def _say(self, words: str, kind: str) -> str:
        self.said.object, self.said.alert_type, self.said.visible = words, kind, True
        return words

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Card(
            pn.pane.Markdown(
                "A measure of this process the fixed features do not give: the force at a "
                "travel, the travel at a force, the stiffness over a range. It is computed "
                "for every part and offered in *Feature*; what it computes never changes."
            ),
            pn.Row(self.feature_name, self.kind, self.a, self.b, self.save),
            self.said,
            title="Define a feature",
            collapsed=True,
            sizing_mode="stretch_width",
        )
