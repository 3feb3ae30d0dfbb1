"""The audit trail of a project, for its owners and admins, with a CSV export."""

from __future__ import annotations

import io

import pandas as pd
import panel as pn

from app.team import chosen_name
from models.access import AccessError, Action, Principal, require
from models.audit import COLUMNS, as_row, member_sign_ins, project_trail
from models.csv_safe import frame_csv
from models.store import MetadataStore

SHOWN = 500


class AuditPanel(pn.viewable.Viewer):
    def __init__(self, *, store: MetadataStore, who: Principal, projects: dict[str, int]) -> None:
        """``projects``: name -> id of the projects whose trail the viewer may read."""
        super().__init__()
        self.store, self.who = store, who
        self.project = pn.widgets.Select(label="Project", options=projects, width=260)
        self.kind = pn.widgets.RadioButtonGroup(
            options=["Project", "Sign-ins"], value="Project", align="end"
        )
        self.action = pn.widgets.TextInput(
            label="Action starts with", placeholder="e.g. cluster. or member.", width=200
        )
        self.table = pn.widgets.Tabulator(
            pd.DataFrame(columns=COLUMNS),
            show_index=False,
            disabled=True,
            layout="fit_data_stretch",
            sizing_mode="stretch_width",
            height=300,
        )
        self.download = pn.widgets.FileDownload(
            callback=self._csv,
            filename="audit.csv",
            label="Export CSV",
            color="default",
            align="end",
        )
        for widget in (self.project, self.kind, self.action):
            widget.param.watch(lambda _: self.refresh(), "value")
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
        frame["at"] = pd.to_datetime(frame["at"], utc=True).dt.strftime("%Y-%m-%d %H:%M:%S")
        self.table.value = frame
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
            pn.Row(self.project, self.kind, self.action, self.download),
            self.table,
            sizing_mode="stretch_width",
        )
