"""A project's scheduled shift reports on the Reports page: listed for everyone who sees the
project, made, changed and deleted by those the API lets (``share_views``, engineer or higher).

Every change goes through :mod:`models.reports` (the same checks and audit rows as the API);
the list shows when each schedule mails and how far it got, on the plant's clocks.
"""

from __future__ import annotations

from datetime import timedelta

import panel as pn

from app.markup import text
from models import reports as stored
from models.access import AccessError, NotFound, Principal
from models.names import BadName
from models.plants import PlantBook, load_plants
from models.reports import CADENCES
from models.store import MetadataStore
from models.tables import ReportSchedule
from models.times import local_text
from pipelines.reports import PANELS
from pipelines.reports.shifts import PANEL_TITLES
from pipelines.views import CurveFilter, FilterError

CADENCE_WORDS = {
    "shift": "At the end of each shift",
    "daily": "Daily (after the day's last shift)",
    "weekly": "Weekly (Monday to Sunday)",
}
assert set(CADENCE_WORDS) == set(CADENCES)
FILTERS = ("line", "station", "process", "program", "result")
NEW = "New schedule"


class SchedulesPanel(pn.viewable.Viewer):
    """The schedules of project ``project_id``; ``may_manage``: the form is offered (the
    store checks the role again on every change)."""

    def __init__(
        self,
        *,
        store: MetadataStore,
        who: Principal,
        project_id: int,
        plants: list[str],
        choices: dict[str, list[str]],
        may_manage: bool,
        mail_configured: bool = True,
        book: PlantBook | None = None,
        **params,
    ) -> None:
        super().__init__(**params)
        self.store, self.who, self.project_id = store, who, project_id
        self.book = book or load_plants()
        self.may_manage = may_manage
        self.table = pn.pane.HTML("", sizing_mode="stretch_width")
        self.mail_note = pn.pane.Alert(
            "This server has no mail settings (CURVEHOUSE_SMTP_URL), so schedules are kept "
            "but nothing is mailed until it has.",
            alert_type="warning",
            visible=not mail_configured,
        )
        self.pick = pn.widgets.Select(label="Schedule to change", width=260)
        self.schedule_name = pn.widgets.TextInput(
            label="Name", placeholder="e.g. Leipzig shift report"
        )
        self.plant = pn.widgets.Select(label="Plant", options=plants, width=200)
        self.cadence = pn.widgets.Select(
            label="Mailed", options={v: k for k, v in CADENCE_WORDS.items()}, width=260
        )
        self.shifts = pn.widgets.MultiChoice(
            label="Only these shifts", placeholder="every shift", width=260
        )
        self.recipients = pn.widgets.TextAreaInput(
            label="Recipients", placeholder="one e-mail address a line", height=90, width=520
        )
        self.filters = {
            column: pn.widgets.MultiChoice(
                label=f"Only {column}s" if column != "process" else "Only processes",
                options=choices.get(column, []) if column != "result" else ["OK", "NOK"],
                placeholder="all",
                width=240,
            )
            for column in FILTERS
        }
        self.panels = pn.widgets.CheckButtonGroup(
            label="Shows",
            options={PANEL_TITLES[p]: p for p in PANELS},
            value=list(PANELS),
        )
        self.save = pn.widgets.Button(label="Save schedule", color="primary", width=160)
        self.delete = pn.widgets.Button(label="Delete", color="danger", width=120)
        self.confirm = pn.widgets.Button(
            label="Really delete", color="danger", width=140, visible=False
        )
        self.message = pn.pane.Alert("", visible=False)
        self.pick.param.watch(lambda e: self._fill(e.new), "value")
        self.plant.param.watch(lambda e: self._shift_options(e.new), "value")
        self.save.on_click(lambda _: self.submit())
        self.delete.on_click(lambda _: self._ask_delete())
        self.confirm.on_click(lambda _: self.remove())
        if plants:
            self._shift_options(plants[0])
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        heading = pn.pane.Markdown("### Reports mailed on a schedule", margin=(10, 5, 0, 5))
        if not self.may_manage:
            note = pn.pane.Markdown(
                "*Engineers and above make and change schedules; you see them.*"
            )
            return pn.Column(heading, self.mail_note, self.table, note, sizing_mode="stretch_width")
        form = pn.Column(
            pn.Row(self.pick, self.schedule_name),
            pn.Row(self.plant, self.cadence, self.shifts),
            self.recipients,
            pn.pane.Markdown("Curves reported (none chosen: all of the plant's):", margin=(5, 10)),
            pn.Row(*self.filters.values()),
            pn.Row(pn.pane.Markdown("Shows:", margin=(8, 10)), self.panels),
            pn.Row(self.save, self.delete, self.confirm),
            self.message,
            sizing_mode="stretch_width",
        )
        card = pn.Card(
            form, title="Make or change a schedule", collapsed=False, sizing_mode="stretch_width"
        )
        return pn.Column(heading, self.mail_note, self.table, card, sizing_mode="stretch_width")

    # --- the list ------------------------------------------------------------------------------

    def listed(self) -> list[ReportSchedule]:
        with self.store.sessions() as session:
            found = stored.schedules(session, self.project_id)
            session.expunge_all()
        return found

    def refresh(self, chosen: int | None = None) -> None:
        found = self.listed()
        self._found = {s.id: s for s in found}
        self.table.object = self._html(found)
        options = {NEW: 0} | {f"{s.name} (#{s.id})": s.id for s in found}
        self.pick.options = options
        if self.pick.value == (chosen or 0):
            self._fill(chosen or 0)
        else:
            self.pick.value = chosen or 0

    def _html(self, found: list[ReportSchedule]) -> str:
        if not found:
            return "<p><em>No report is mailed on a schedule in this project.</em></p>"
        rows = []
        for s in found:
            zone = self.book.zone(s.plant) or "UTC"
            filters = "; ".join(f"{k} {', '.join(v)}" for k, v in s.filters.items()) or "all"
            shifts = ", ".join(s.shifts) or "all"
            until = local_text(s.mailed_until.replace(second=0, microsecond=0), zone)
            if s.mailed_until - s.created_at < timedelta(seconds=1):
                mailed = f"nothing yet (mails the periods that end after {until})"
            else:
                mailed = f"the periods up to {until}"
            cells = (
                s.name,
                s.plant,
                CADENCE_WORDS.get(s.cadence, s.cadence),
                shifts,
                ", ".join(s.recipients),
                filters,
                f"{mailed} ({zone})",
            )
            rows.append("<tr>" + "".join(f"<td>{text(c)}</td>" for c in cells) + "</tr>")
        head = "".join(
            f"<th>{h}</th>"
            for h in ("Name", "Plant", "Mailed", "Shifts", "To", "Curves", "Mailed so far")
        )
        style = (
            "<style>table.ch-s{border-collapse:collapse;width:100%;font-size:14px}"
            ".ch-s th,.ch-s td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;"
            "vertical-align:top}.ch-s th{background:#f3f5f8}</style>"
        )
        return f"{style}<table class='ch-s'><tr>{head}</tr>{''.join(rows)}</table>"

    # --- the form ------------------------------------------------------------------------------

    def _shift_options(self, plant: str | None) -> None:
        names = list(self.book.shifts_of(plant).starts) if plant else []
        self.shifts.param.update(options=names, value=[s for s in self.shifts.value if s in names])

    def _fill(self, schedule_id: int) -> None:
        """The form shows schedule ``schedule_id`` (0: a new one)."""
        self.confirm.visible = False
        s = self._found.get(schedule_id)
        self.delete.disabled = s is None
        if s is None:
            self.schedule_name.value, self.recipients.value = "", ""
            self.shifts.value = []
            for widget in self.filters.values():
                widget.value = []
            self.panels.value = list(PANELS)
            self.save.label = "Make schedule"
            return
        if s.plant not in self.plant.options:
            self.plant.options = [*self.plant.options, s.plant]
        self.schedule_name.value, self.plant.value, self.cadence.value = s.name, s.plant, s.cadence
        self._shift_options(s.plant)
        self.shifts.value = list(s.shifts)
        self.recipients.value = "\n".join(s.recipients)
        for column, widget in self.filters.items():
            values = list(s.filters.get(column, []))
            widget.options = sorted(set(widget.options) | set(values))
            widget.value = values
        self.panels.value = list(s.panels) or list(PANELS)
        self.save.label = "Save changes"

    def _fields(self) -> dict:
        recipients = [r.strip() for r in self.recipients.value.replace(",", "\n").split("\n")]
        filters = {c: list(w.value) for c, w in self.filters.items() if w.value}
        CurveFilter.of(**filters)
        panels = [p for p in PANELS if p in self.panels.value]
        if not panels:
            raise BadName("a report shows at least one of key figures, defects or curves")
        return {
            "name": self.schedule_name.value,
            "plant": self.plant.value or "",
            "cadence": self.cadence.value,
            "recipients": [r for r in recipients if r],
            "shifts": list(self.shifts.value),
            "filters": filters,
            "panels": [] if panels == list(PANELS) else panels,
        }

    def submit(self) -> None:
        """Make the schedule in the form, or save the changes to the one picked."""
        chosen = self.pick.value
        try:
            fields = self._fields()
            with self.store.sessions() as session:
                if chosen:
                    schedule = stored.change_schedule(
                        session=session,
                        who=self.who,
                        project_id=self.project_id,
                        schedule_id=chosen,
                        changes=fields,
                        plants=self.book,
                    )
                    done = f"Saved the changes to “{schedule.name}”."
                else:
                    schedule = stored.add_schedule(
                        session=session,
                        who=self.who,
                        project_id=self.project_id,
                        plants=self.book,
                        **fields,
                    )
                    done = f"Made “{schedule.name}”: it mails each period that ends from now on."
                session.commit()
                chosen = schedule.id
        except (BadName, FilterError, AccessError, NotFound) as exc:
            self._say(str(exc), "danger")
            return
        self.refresh(chosen)
        self._say(done, "success")

    def _ask_delete(self) -> None:
        if self.pick.value:
            self.confirm.label = f"Really delete “{self.schedule_name.value}”"
            self.confirm.visible = True

    def remove(self) -> None:
        """Delete the schedule picked (after the second click)."""
        chosen, name = self.pick.value, self.schedule_name.value
        self.confirm.visible = False
        try:
            with self.store.sessions() as session:
                stored.remove_schedule(
                    session=session, who=self.who, project_id=self.project_id, schedule_id=chosen
                )
                session.commit()
        except (AccessError, NotFound) as exc:
            self._say(str(exc), "danger")
            return
        self.refresh()
        self._say(f"Deleted “{name}”: it mails nothing more.", "success")

    def _say(self, words: str, kind: str) -> None:
        self.message.param.update(object=text(words), alert_type=kind, visible=True)
