"""What a shift report is about: a named shift of a plant on a date, and the report's
definition (project, curve filters, panels).

A shift is named as the plant's people name it (``A``, ``Früh``) and dated by the day it
starts on the clocks its shifts are kept by (:class:`models.plants.Shifts`); it runs from that
start to the next shift's start, exactly as :func:`models.times.relative_window` places a
shift. The report shows its times on the *plant's* clocks (the plant's zone, UTC for a plant
missing from ``plants.json``), which may differ from the clocks its shifts are kept by: the
demo's default shifts are on UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pandas as pd

from models.plants import PlantBook
from models.times import YEARS, relative_window, zone_of
from pipelines.views import CurveFilter, FilterError

# What a report can show, in the order it shows them.
PANELS = ("kpis", "pareto", "density")
PANEL_TITLES = {
    "kpis": "Key figures",
    "pareto": "Defects (Pareto)",
    "density": "Curves per process",
}
MAX_PROCESSES = 6  # density panels in one report: the most common processes of the shift


class ReportError(FilterError):
    """A report that cannot be made as asked; the message names the field and the choices."""


@dataclass(frozen=True)
class ShiftRef:
    """Shift ``shift`` of ``plant`` starting on ``day`` (on the shifts' clocks)."""

    plant: str
    day: date
    shift: str


@dataclass(frozen=True)
class ShiftWindow:
    """A shift placed in time: ``start`` and ``end`` in UTC; ``zone`` is the plant's (where
    its times are shown), ``shift_zone`` the clocks its shifts are kept by."""

    ref: ShiftRef
    start: pd.Timestamp
    end: pd.Timestamp
    zone: str
    shift_zone: str
    shift_clock: str  # the shift's start as its clocks show it, e.g. "06:00"


@dataclass(frozen=True)
class ReportDefinition:
    """Which curves a shift report covers and what it shows. ``where`` narrows the shift's
    curves (station, process, program ...); its period is the shift's, so it carries no time
    window of its own."""

    project: str
    shift: ShiftRef
    where: CurveFilter = field(default_factory=CurveFilter)
    panels: tuple[str, ...] = PANELS
    title: str = ""

    def __post_init__(self) -> None:
        unknown = [p for p in self.panels if p not in PANELS]
        if unknown:
            raise ReportError(f"no report panel {unknown[0]!r}; choose any of {', '.join(PANELS)}")
        if not self.panels:
            raise ReportError(f"a report shows at least one panel of {', '.join(PANELS)}")
        if self.where.start is not None or self.where.end is not None:
            raise ReportError(
                "a shift report's period is its shift: leave out the start and end filters"
            )
        object.__setattr__(self, "panels", tuple(p for p in PANELS if p in self.panels))


def shift_window(ref: ShiftRef, book: PlantBook) -> ShiftWindow:
    """Where ``ref`` lies in time, on ``book``'s clocks and shifts for its plant.
    :class:`ReportError` names the plant's shifts when ``ref.shift`` is not one of them."""
    if not YEARS[0] <= ref.day.year <= YEARS[1]:
        raise ReportError(f"the date must lie in the years {YEARS[0]} to {YEARS[1]}")
    shifts = book.shifts_of(ref.plant)
    clock = shifts.clock.get(ref.shift)
    if clock is None:
        raise ReportError(
            f"plant {ref.plant!r} has no shift {ref.shift!r}; its shifts are "
            f"{', '.join(shifts.starts)}"
        )
    tz = zone_of(shifts.zone)
    # The first moment the shift's clocks show its start that day (the later one when a DST
    # change skips it): relative_window then gives that shift, start and end.
    begun = datetime.combine(ref.day, clock, tzinfo=tz).astimezone(UTC)
    start, end = relative_window(
        "shift", now=begun, zone=shifts.zone, shift_starts=shifts.clock, shift_zone=shifts.zone
    )
    return ShiftWindow(
        ref=ref,
        start=pd.Timestamp(start),
        end=pd.Timestamp(end),
        zone=book.zone(ref.plant) or "UTC",
        shift_zone=shifts.zone,
        shift_clock=shifts.starts[ref.shift],
    )


def shift_at(plant: str, moment: pd.Timestamp, book: PlantBook) -> ShiftWindow:
    """The shift of ``plant`` running at ``moment`` (a shift runs until the next one starts,
    so every moment lies in one)."""
    zone = zone_of(book.shifts_of(plant).zone)
    day = moment.tz_convert(zone).date()
    windows = [
        shift_window(ShiftRef(plant, day + timedelta(days=offset), name), book)
        for offset in (-1, 0, 1)
        for name in book.shifts_of(plant).starts
    ]
    return next(w for w in sorted(windows, key=lambda w: w.start) if w.start <= moment < w.end)


def last_ended_shift(plant: str, now: pd.Timestamp, book: PlantBook) -> ShiftWindow:
    """The newest shift of ``plant`` that ended by ``now``: the one before the shift now
    running. A shift lead's report of the morning."""
    running = shift_at(plant, now, book)
    return shift_at(plant, running.start - pd.Timedelta(seconds=1), book)
