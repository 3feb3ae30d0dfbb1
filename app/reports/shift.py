"""A shift's, a day's or a week's report on the Reports page: pick a plant, a day and a shift
(at first the last shift that ended on the plant's clocks), or the whole day or its week, narrow
it to processes or stations, read the report inline and download it as HTML or PDF.

The report is :func:`pipelines.reports.render_shift_report`'s, the same file the API and the
mailer hand out; shown here, its page styles are scoped to the report's box. Printing the PDF
takes Chromium a few seconds: it runs on a worker thread while the page says so.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd
import panel as pn

from app.markup import text
from models.plants import PlantBook, load_plants
from models.times import local_text
from models.wording import counted
from pipelines.curves import Curves
from pipelines.reports import ReportDefinition, ShiftRef, ShiftReport, render_shift_report
from pipelines.reports.schedule import period_of
from pipelines.reports.shifts import PANEL_TITLES, PANELS, last_ended_shift, shift_at
from pipelines.views import CurveFilter, FilterError
from providers.errors import ProviderError
from providers.pdf import print_pdf

# The report's own styles, scoped to its box on the page (they are written for a whole page).
_SCOPE = "ch-report"
_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)
_BODY = re.compile(r"<body>(.*)</body>", re.DOTALL)
_RULE = re.compile(r"(^|\})\s*([^{}@]+?)\s*\{")
COVERS = {"Shift": "shift", "Day": "daily", "Week": "weekly"}
FRAME_CSS = f""".{_SCOPE} {{border: 1px solid #ddd; border-radius: 6px; background: white;
  box-shadow: 0 1px 3px rgba(0,0,0,.08);}}"""


def inline_report(html: str) -> str:
    """The report's document as a fragment for the page: its body in a box, its styles with
    ``body`` meaning that box and no ``@page`` rule."""
    style = _STYLE.search(html)
    body = _BODY.search(html)
    css = re.sub(r"@page\s*\{[^}]*\}", "", style.group(1) if style else "")
    css = _RULE.sub(lambda m: m[1] + ", ".join(_scoped(s) for s in m[2].split(",")) + " {", css)
    return f"<style>{css}</style><div class='{_SCOPE}'>{body.group(1) if body else html}</div>"


def _scoped(selector: str) -> str:
    selector = selector.strip()
    return f".{_SCOPE}" if selector == "body" else f".{_SCOPE} {selector}"


class ShiftReportPanel(pn.viewable.Viewer):
    """The report of one shift of ``curves``' project (``curves`` reads that project only)."""

    def __init__(
        self,
        project: str,
        curves: Curves,
        *,
        chromium: str,
        plants: PlantBook | None = None,
        now: Callable[[], datetime] | None = None,
        panels: tuple[str, ...] = PANELS,
        **params,
    ) -> None:
        super().__init__(**params)
        self.project, self.curves, self.chromium = project, curves, chromium
        self.book = plants or load_plants()
        self._now = now or (lambda: datetime.now(UTC))
        self.report: ShiftReport | None = None
        choices = curves.choices()
        self.plants = choices.get("plant", [])
        self.plant = pn.widgets.Select(label="Plant", options=self.plants, width=200)
        self.covers = pn.widgets.RadioButtonGroup(
            options=COVERS, value="shift", color="light", align="end"
        )
        self.day = pn.widgets.DatePicker(label="Day the shift starts", width=170)
        self.shift = pn.widgets.Select(label="Shift", width=200)
        self.last = pn.widgets.Button(label="Last ended shift", width=150, align="end")
        self.newest = pn.widgets.Button(
            label="Newest shift with parts", width=190, align="end", visible=False
        )
        self.process = pn.widgets.MultiChoice(
            label="Processes (all if none)", options=curves.processes(limit=100), width=260
        )
        self.station = pn.widgets.MultiChoice(
            label="Stations (all if none)", options=choices.get("station", []), width=260
        )
        self.when = pn.pane.Markdown("", margin=(0, 10))
        self.message = pn.pane.Alert("", alert_type="warning", visible=False)
        self.html_file = pn.widgets.FileDownload(
            label="Download HTML", callback=self._html_file, filename="report.html", width=160
        )
        self.pdf_file = pn.widgets.FileDownload(
            label="Download PDF",
            callback=self._pdf_file,
            filename="report.pdf",
            color="primary",
            width=160,
        )
        self.printing = pn.Row(
            pn.indicators.LoadingSpinner(value=True, size=22, align="center"),
            pn.pane.Markdown("Printing the PDF with Chromium, a few seconds…", margin=(0, 6)),
            visible=False,
        )
        self.view = pn.pane.HTML(
            "", sizing_mode="stretch_width", stylesheets=[FRAME_CSS], margin=(10, 5)
        )
        self.last.on_click(lambda _: self.go_to_last())
        self.newest.on_click(lambda _: self.go_to_newest())
        self.plant.param.watch(self._plant_changed, "value")
        self.day.param.watch(lambda _: self.show(), "value")
        self.shift.param.watch(lambda _: self.show(), "value")
        self.covers.param.watch(self._covers_changed, "value")
        for narrowing in (self.process, self.station):
            narrowing.param.watch(lambda _: self.show(), "value")
        self.panels = pn.widgets.CheckButtonGroup(
            options={PANEL_TITLES[p]: p for p in PANELS}, value=list(panels), align="center"
        )
        self.panels.param.watch(lambda _: self.show(), "value")
        if self.plants:
            self._shift_options(self.plants[0])
            self.go_to_last()

    def __panel__(self) -> pn.viewable.Viewable:
        if not self.plants:
            return pn.pane.Markdown(
                f"**Project {text(self.project)} has no curves yet**, so no plant to report on."
            )
        pickers = pn.Row(self.plant, self.covers, self.day, self.shift, self.last, self.newest)
        narrowing = pn.Row(self.process, self.station)
        downloads = pn.Row(
            self.html_file, self.pdf_file, self.printing, pn.Spacer(width=30), self.panels
        )
        return pn.Column(
            pickers,
            narrowing,
            self.when,
            downloads,
            self.message,
            self.view,
            sizing_mode="stretch_width",
        )

    # --- choosing the shift ------------------------------------------------------------------

    def _shift_options(self, plant: str) -> None:
        shifts = self.book.shifts_of(plant)
        self.shift.options = {
            f"{name} · from {clock} {shifts.zone}": name for name, clock in shifts.starts.items()
        }

    def _covers_changed(self, event) -> None:
        self.shift.visible = event.new == "shift"
        self.day.name = "Day the shift starts" if event.new == "shift" else "A day of the period"
        self.show()

    def _plant_changed(self, event) -> None:
        self._shift_options(event.new)
        self.show()

    def choose(self, ref: ShiftRef) -> None:
        """Show the report of ``ref`` (one rendering, not one per picker)."""
        with pn.io.hold():
            self._quiet = True
            try:
                self.plant.value = ref.plant
                self._shift_options(ref.plant)
                self.day.value = ref.day
                self.shift.value = ref.shift
            finally:
                self._quiet = False
        self.show()

    def go_to_last(self) -> None:
        """The last shift that ended on the plant's clocks."""
        plant = self.plant.value or self.plants[0]
        now = pd.Timestamp(self._now())
        self.choose(last_ended_shift(plant, now, self.book).ref)

    def go_to_newest(self) -> None:
        """The shift in which the plant's newest curve started."""
        newest = self.curves.filter(plant=self.plant.value).overview().last
        if newest is not None:
            self.choose(shift_at(self.plant.value, newest, self.book).ref)

    # --- the report ----------------------------------------------------------------------------

    _quiet = False

    def show(self) -> None:
        """Render the chosen shift's (or day's, or week's) report and show it."""
        if self._quiet or not (self.plant.value and self.shift.value and self.day.value):
            return
        panels = tuple(p for p in PANELS if p in self.panels.value)
        if not panels:
            self._say("Choose at least one of the report's parts to show.")
            return
        self.view.loading = True
        try:
            period = None
            if self.covers.value != "shift":
                period = period_of(
                    cadence=self.covers.value,
                    plant=self.plant.value,
                    day=self.day.value,
                    book=self.book,
                )
            ref = (
                period.shifts[0].ref
                if period
                else ShiftRef(self.plant.value, self.day.value, self.shift.value)
            )
            where = CurveFilter.of(process=self.process.value, station=self.station.value)
            definition = ReportDefinition(
                project=self.project, shift=ref, where=where, panels=panels
            )
            if self.report is not None and (self.report.definition, self.report.period) == (
                definition,
                period,
            ):
                return
            self.report = render_shift_report(
                self.curves, definition, plants=self.book, period=period
            )
        except FilterError as exc:
            self.report = None
            self._say(str(exc))
            self.view.object, self.when.object = "", ""
            return
        finally:
            self.view.loading = False
        window = self.report.window
        running = pd.Timestamp(self._now()) < window.end
        parts = int(self.report.totals["parts"])
        noun = period.noun if period else "shift"
        which = f"{noun.capitalize()} {period.key}" if period else f"Shift {ref.shift}"
        self.when.object = (
            f"**{text(which)}, {text(ref.plant)}:** "
            f"{local_text(window.start, window.zone)} to {local_text(window.end, window.zone)} "
            f"({text(window.zone)}), "
            + (counted(parts, "part") if parts else "no parts")
            + (f" so far: **the {noun} has not ended yet**." if running else ".")
        )
        self.newest.visible = parts == 0
        self.message.visible = False
        self.view.object = inline_report(self.report.html)
        for download, extension in ((self.html_file, "html"), (self.pdf_file, "pdf")):
            download.filename = self.report.filename(extension)
            download.disabled = False

    def _say(self, words: str, kind: str = "warning") -> None:
        self.message.param.update(object=text(words), alert_type=kind, visible=True)

    def _html_file(self) -> io.BytesIO:
        return io.BytesIO(self.report.html.encode("utf-8") if self.report else b"")

    async def _pdf_file(self) -> io.BytesIO:
        """The shown report printed, on a worker thread; the page says so meanwhile."""
        if self.report is None:
            raise ValueError("no report to print")
        html = self.report.html
        self.printing.visible, self.pdf_file.disabled = True, True
        try:
            pdf = await asyncio.get_running_loop().run_in_executor(None, self.print_pdf, html)
        except ProviderError as exc:
            self._say(str(exc), "danger")
            raise
        finally:
            self.printing.visible, self.pdf_file.disabled = False, False
        return io.BytesIO(pdf)

    def print_pdf(self, html: str) -> bytes:
        """``html`` as PDF bytes (a test may stand in for Chromium)."""
        return print_pdf(html, chromium=self.chromium)
