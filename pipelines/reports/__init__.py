"""Shift reports: a definition (project, curve filters, panels, a named shift of a plant on a
date) rendered to one self-contained HTML file. Printing it to PDF reaches outside the process
and lives in :mod:`providers.pdf`."""

from pipelines.reports.html import ShiftReport, render_shift_report
from pipelines.reports.shifts import (
    PANELS,
    ReportDefinition,
    ReportError,
    ShiftRef,
    ShiftWindow,
    shift_window,
)

__all__ = [
    "PANELS",
    "ReportDefinition",
    "ReportError",
    "ShiftRef",
    "ShiftReport",
    "ShiftWindow",
    "render_shift_report",
    "shift_window",
]
