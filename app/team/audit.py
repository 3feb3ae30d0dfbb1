"""The audit trail of a project, for its owners and admins, with a CSV export.

Every cell is shown in full: long values wrap inside their column, and where the screen is too
narrow for all columns (a phone) the ones that do not fit move into a details block under each
row (Tabulator's responsive collapse), instead of being clipped or scrolled out of sight."""

from __future__ import annotations

import io

import pandas as pd
import panel as pn

from app.markup import text
from app.team import Clock, chosen_name
from models.access import AccessError, Action, Principal, require
from models.audit import COLUMNS, as_row, member_sign_ins, project_trail
from models.csv_safe import frame_csv
from models.store import MetadataStore

SHOWN = 500
# What the table shows: the export's columns, with the target's type and id as one.
SHOWN_COLUMNS = ["at", "actor", "action", "target", "detail", "ip"]
# Fixed widths where the values have a known length; at, action and detail share the rest. The
# priority says which columns go to the details block first on a narrow screen (highest first).
WIDTHS = {"actor": 200, "target": 100, "ip": 130}
# The two columns a phone keeps share its width, so neither is fixed; each wraps down to this.
NARROWEST = {"at": 105, "action": 105}
PRIORITY = {"at": 0, "action": 0, "actor": 1, "detail": 2, "target": 3, "ip": 4}
WRAP = """
.tabulator-cell, .tabulator-responsive-collapse td { overflow-wrap: anywhere; }
.tabulator-responsive-collapse td { white-space: normal; vertical-align: top; }
.tabulator-responsive-collapse td:first-child { white-space: nowrap; padding-right: 1em; }
"""
NOTHING = {
    "Project": "Nothing recorded yet: sign-ins, cluster changes, imports, member changes and "
    "password reveals will appear here.",
    "Sign-ins": "No sign-ins of this project's members recorded yet: sign-ins, failed "
    "attempts and lockouts will appear here.",
}


class AuditPanel(pn.viewable.Viewer):
    def __init__(
        self,
        *,
        store: MetadataStore,
        who: Principal,
        projects: dict[str, int],
        clock: Clock | None = None,
    ) -> None:
        """``projects``: name -> id of the projects whose trail the viewer may read."""
        super().__init__()
        self.store, self.who, self.clock = store, who, clock or Clock()
        self.project = pn.widgets.Select(label="Project", options=projects, width=260)
        self.kind = pn.widgets.RadioButtonGroup(
            options=["Project", "Sign-ins"], value="Project", align="end"
        )
        self.action = pn.widgets.TextInput(
            label="Action starts with", placeholder="e.g. cluster. or member.", width=200
        )
        self.table = pn.widgets.Tabulator(
            pd.DataFrame(columns=SHOWN_COLUMNS),
            show_index=False,
            disabled=True,
            layout="fit_columns",
            titles=self.clock.titles("at"),
            widths=WIDTHS,
            formatters={column: {"type": "textarea"} for column in SHOWN_COLUMNS},
            configuration={
                "responsiveLayout": "collapse",
                "columns": [
                    {"field": column, "responsive": rank, "minWidth": NARROWEST.get(column, 90)}
                    for column, rank in PRIORITY.items()
                ],
            },
            stylesheets=[WRAP],
            container_popup=False,  # else Panel adds an empty last column for cell editors
            sizing_mode="stretch_width",
            max_height=520,
        )
        self.nothing = pn.pane.Alert(alert_type="light", visible=False)
        self.download = pn.widgets.FileDownload(
            callback=self._csv,
            filename="audit.csv",
            label="Export CSV",
            color="default",
            align="end",
        )
        for widget in (self.project, self.kind, self.action):
            widget.param.watch(lambda _: self.refresh(), "value")
        self.clock.param.watch(lambda _: self._on_zone(), "zone")
        self.refresh()

    def _on_zone(self) -> None:
        self.table.titles = self.clock.titles("at")
        self.refresh()

    def events(self, limit: int | None = SHOWN) -> pd.DataFrame:
        with self.store.sessions() as session:
            try:
                require(session, self.who, self.project.value, Action.VIEW_AUDIT)
            except AccessError:
                return pd.DataFrame(columns=COLUMNS)
            if self.kind.value == "Sign-ins":
                query = member_sign_ins(self.project.value)
            else:
                query = project_trail(self.project.value, self.action.value.strip() or None)
            rows = session.scalars(query.limit(limit)).all()
            frame = pd.DataFrame([as_row(e) for e in rows], columns=COLUMNS)
        frame["detail"] = frame["detail"].map(lambda d: ", ".join(f"{k}={v}" for k, v in d.items()))
        return frame

    def refresh(self) -> None:
        frame = self.events()
        frame["at"] = [self.clock.when(at, seconds=True) for at in pd.to_datetime(frame["at"])]
        frame["target"] = frame["target_type"] + " " + frame["target_id"]
        self.table.value = frame[SHOWN_COLUMNS].fillna("")
        self.table.visible = not frame.empty
        self.nothing.visible = frame.empty
        action = self.action.value.strip()
        self.nothing.object = (
            f"No events whose action starts with {text(repr(action))}."
            if action and self.kind.value == "Project"
            else NOTHING[self.kind.value]
        )
        self.download.filename = f"audit-{chosen_name(self.project) or 'project'}.csv"

    def _csv(self) -> io.StringIO:
        return io.StringIO(frame_csv(self.events(limit=None)))

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            "### Audit trail",
            pn.pane.Markdown(
                "What was done to the project, its members and clusters, or the sign-ins, "
                f"failed attempts and lockouts of its members. Newest first; the table shows "
                f"up to {SHOWN}, the export all."
            ),
            pn.FlexBox(self.project, self.kind, self.action, self.download, align_items="flex-end"),
            self.nothing,
            self.table,
            sizing_mode="stretch_width",
        )
