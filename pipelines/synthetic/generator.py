"""Stream the demo plant's curves as :class:`CurveBatch` objects with bounded memory.

Every curve draws from its own generator seeded with ``(seed, curve index)``, so the output is
the same for a seed whatever the batch size, and any curve can be regenerated alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipelines.batch import CurveBatch
from pipelines.synthetic.plant import LINES, shift_of
from pipelines.synthetic.shapes import DEFECTS, PROCESSES, PROGRAMS, SHAPES

# A part goes through its line's stations in order: press-fit, screwdriving, spot-weld. Each
# station holds it for up to _STATION_SECONDS (every demo curve is shorter), then a conveyor
# moves it on in _TRANSFER_SECONDS (a range: transfers vary part to part).
_STATION_SECONDS = (6.0, 6.0, 2.0)
_TRANSFER_SECONDS = (8.0, 20.0)
_DRIFT_EPISODE_RATE = 0.08  # share of (station, shift) runs whose sensor drifts
_DEFECT_RATE = 0.045


@dataclass(frozen=True)
class DemoSpec:
    curves: int = 10_000
    seed: int = 7
    start: pd.Timestamp = field(default_factory=lambda: pd.Timestamp("2026-11-16 06:00", tz="UTC"))
    days: float = 7.0
    project: str = "demo"
    batch_points: int = 4_000_000  # flush a batch once it holds this many samples

    def __post_init__(self) -> None:
        if self.curves < 1:
            raise ValueError("a demo needs at least one curve")
        if self.days <= 0:
            raise ValueError("days must be positive")


def _drift_episode(seed: int, station_index: int, shift_start: pd.Timestamp) -> bool:
    key = int(shift_start.timestamp() // 3600)
    return np.random.default_rng([seed, 7_919, station_index, key]).random() < _DRIFT_EPISODE_RATE


def _arrival(spec: DemoSpec, part: int, station_no: int, cycle: float) -> float:
    """Seconds after the part's slot at which it reaches station ``station_no``: drawn per part
    (not per curve), so every station of a part sees the same arrivals, in process order."""
    rng = np.random.default_rng([spec.seed, 53, part])
    at = rng.uniform(0.0, 0.2 * cycle)  # when the part enters its line
    transfers = rng.uniform(*_TRANSFER_SECONDS, size=len(_STATION_SECONDS) - 1)
    for before in range(station_no):
        at += _STATION_SECONDS[before] + transfers[before]
    return at


def _curve(spec: DemoSpec, index: int):
    """Metadata row and quantised samples of demo curve ``index``."""
    lines = LINES
    part, station_no = divmod(index, 3)
    line_no, k = part % len(lines), part // len(lines)
    station = lines[line_no][station_no]
    parts_per_line = -(-spec.curves // 3 // len(lines)) or 1
    rng = np.random.default_rng([spec.seed, index])
    cycle = spec.days * 86_400.0 / parts_per_line
    started = spec.start + pd.Timedelta(seconds=k * cycle + _arrival(spec, part, station_no, cycle))
    variant = int(np.random.default_rng([spec.seed, 31, part]).integers(0, 2))
    program = station.programs[variant]
    process = PROCESSES[station.process]
    shift, hours_in = shift_of(started)
    shift_start = started - pd.Timedelta(hours=hours_in)
    drift = 0.0
    defect = ""
    if _drift_episode(spec.seed, line_no * 3 + station_no, shift_start):
        drift = 1.5 * process.drift_limit * hours_in / 8.0
        if drift > process.drift_limit:
            defect = "drift"
    if not defect and rng.random() < _DEFECT_RATE:
        choices = DEFECTS[station.process]
        defect = choices[int(rng.integers(0, len(choices)))]
    x, y, seconds = SHAPES[station.process](rng, PROGRAMS[program], defect, drift)
    made = spec.start + pd.Timedelta(seconds=k * cycle)
    serial = f"{station.code}-{station.line}-{made:%y%m%d}-{k:06d}"
    meta = {
        "curve_key": f"{serial}/{station.station}",
        "plant": station.plant,
        "line": f"{station.code}-{station.line}",
        "station": f"{station.code}-{station.line}-{station.station}",
        "process": station.process,
        "program": program,
        "shift": shift,
        "part_serial": serial,
        "started_at": started,
        "ended_at": started + pd.Timedelta(seconds=seconds),
        "result": "NOK" if defect else "OK",
        "defect": defect,
        "x_name": process.x.name,
        "x_unit": process.x.unit,
        "y_name": process.y.name,
        "y_unit": process.y.unit,
        "x_step": process.x.step,
        "y_step": process.y.step,
    }
    x_codes = np.rint(x / process.x.step).astype(np.int32)
    y_codes = np.rint(y / process.y.step).astype(np.int32)
    return meta, x_codes, y_codes


def generate_demo(spec: DemoSpec) -> Iterator[CurveBatch]:
    """Yield the demo's curves in time order per line, ``spec.batch_points`` samples at a time."""
    rows: list[dict] = []
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    points = 0
    for index in range(spec.curves):
        meta, x, y = _curve(spec, index)
        rows.append(meta)
        xs.append(x)
        ys.append(y)
        points += len(x)
        if points >= spec.batch_points:
            yield CurveBatch.from_curves(rows, xs, ys)
            rows, xs, ys, points = [], [], [], 0
    if rows:
        yield CurveBatch.from_curves(rows, xs, ys)
