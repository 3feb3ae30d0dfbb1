"""When scheduled shift reports are due: the periods (one shift, a day's shifts, a week's
shifts) that ended since the last mailing.

A period's shifts are named and dated as :class:`~pipelines.reports.shifts.ShiftRef` (the day
each starts on the clocks the plant's shifts are kept by); the period ends when its last shift
ends, and it is due from then on. Pure functions of the plant book and two instants: the
mailer keeps where it got to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from models.plants import PlantBook
from models.reports import CADENCES
from pipelines.reports.shifts import ReportError, ShiftRef, ShiftWindow, shift_window

MAX_BACKLOG = 14  # periods mailed in one catch-up at most (a server down for a while)


@dataclass(frozen=True)
class Period:
    """The shifts one mailing reports on, in time order; ``key`` names the period."""

    key: str
    shifts: tuple[ShiftWindow, ...]
    cadence: str = "shift"

    @property
    def end(self) -> pd.Timestamp:
        return self.shifts[-1].end

    @property
    def noun(self) -> str:
        """What the period is called in words: shift, day or week."""
        return {"daily": "day", "weekly": "week"}.get(self.cadence, "shift")

    @property
    def consecutive(self) -> bool:
        """Whether each shift starts where the one before ended (all shifts of a day or a
        week), so one report can cover them as one stretch of time."""
        return all(a.end == b.start for a, b in zip(self.shifts, self.shifts[1:], strict=False))

    @property
    def combined(self) -> bool:
        """Whether one report covers the period (a day or a week of consecutive shifts);
        else each shift has its own."""
        return self.cadence != "shift" and self.consecutive


def ended_periods(
    *,
    cadence: str,
    plant: str,
    after: pd.Timestamp,
    now: pd.Timestamp,
    book: PlantBook,
    shifts: tuple[str, ...] = (),
) -> list[Period]:
    """The periods of ``plant`` whose last shift ended after ``after`` and at or before
    ``now``, oldest first, at most :data:`MAX_BACKLOG` (the newest). ``shifts``: only these
    of the plant's shifts (all when empty). A period is whole: a day whose last shift is still
    running is not due yet, and one whose first shift ended before ``after`` is not mailed
    again."""
    if cadence not in CADENCES:
        raise ReportError(f"no report cadence {cadence!r}; choose one of {', '.join(CADENCES)}")
    known = book.shifts_of(plant)
    unknown = [s for s in shifts if s not in known.starts]
    if unknown:
        raise ReportError(
            f"plant {plant!r} has no shift {unknown[0]!r}; its shifts are {', '.join(known.starts)}"
        )
    names = shifts or tuple(known.starts)
    zone = known.zone
    first = (after.tz_convert(zone) - pd.Timedelta(days=8 if cadence == "weekly" else 2)).date()
    # Shifts after now too, so a day or week still running is seen whole (and not yet due).
    last = now.tz_convert(zone).date() + timedelta(days=7 if cadence == "weekly" else 1)
    groups: dict[str, list[ShiftWindow]] = {}
    day = first
    while day <= last:
        for name in names:
            window = shift_window(ShiftRef(plant, day, name), book)
            groups.setdefault(_key(cadence, window), []).append(window)
        day += timedelta(days=1)
    periods = []
    for key, windows in groups.items():
        windows.sort(key=lambda w: w.start)
        period = Period(key, tuple(windows), cadence)
        if after < period.end <= now and windows[0].end > after:
            periods.append(period)
    periods.sort(key=lambda p: p.end)
    return periods[-MAX_BACKLOG:]


def period_of(*, cadence: str, plant: str, day: date, book: PlantBook) -> Period:
    """Every shift of ``plant``'s day ``day`` (``daily``) or of its Monday-to-Sunday week
    (``weekly``), days as the shifts' clocks date them: what a day or week report covers."""
    if cadence not in ("daily", "weekly"):
        raise ReportError(f"a period is daily or weekly, not {cadence!r}")
    first = day if cadence == "daily" else day - timedelta(days=day.weekday())
    days = [first + timedelta(days=i) for i in range(1 if cadence == "daily" else 7)]
    names = book.shifts_of(plant).starts
    windows = sorted(
        (shift_window(ShiftRef(plant, d, name), book) for d in days for name in names),
        key=lambda w: w.start,
    )
    return Period(_key(cadence, windows[0]), tuple(windows), cadence)


def _key(cadence: str, window: ShiftWindow) -> str:
    ref = window.ref
    if cadence == "shift":
        return f"{ref.day.isoformat()} {ref.shift}"
    if cadence == "daily":
        return ref.day.isoformat()
    year, week, _ = ref.day.isocalendar()
    return f"{year}-W{week:02d}"
