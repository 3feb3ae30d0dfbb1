"""Stream the demo plant's curves as :class:`CurveBatch` objects with bounded memory.

Every curve draws from its own generator seeded with ``(seed, curve index)``, so the output is
the same for a seed whatever the batch size, and any curve can be regenerated alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from pipelines.batch import CurveBatch
from pipelines.synthetic.plant import LINES
from pipelines.synthetic.shapes import DEFECTS, PROCESSES, PROGRAMS, SHAPES

# A part goes through its line's stations in order: press-fit, screwdriving, spot-weld. Each
# station holds it for up to _STATION_SECONDS (every demo curve is shorter), then a conveyor
# moves it on in _TRANSFER_SECONDS (a range: transfers vary part to part).
_STATION_SECONDS = (6.0, 6.0, 2.0)
_TRANSFER_SECONDS = (8.0, 20.0)
_DRIFT_EPISODE_RATE = 0.08  # share of (station, shift) runs whose sensor drifts
_DEFECT_RATE = 0.045
DEMO_PROJECT = "demo"  # where `curvehouse demo` and the simulated line put their curves


@dataclass(frozen=True)
class DemoSpec:
    curves: int = 10_000
    seed: int = 7
    start: pd.Timestamp = field(default_factory=lambda: pd.Timestamp("2026-11-16 06:00", tz="UTC"))
    days: float = 7.0
    project: str = DEMO_PROJECT
    batch_points: int = 4_000_000  # flush a batch once it holds this many samples

    def __post_init__(self) -> None:
        if self.curves < 1:
            raise ValueError("a demo needs at least one curve")
        if self.days <= 0:
            raise ValueError("days must be positive")


_NS = 1_000_000_000
_HOUR_NS = 3600 * _NS
_DAY_NS = 86_400 * _NS


def _hour_key(ns: int) -> int:
    """``int(Timestamp(ns).timestamp() // 3600)`` without building a Timestamp; pandas only
    decides the rare instants within a millisecond of an hour, where float rounding matters."""
    into = ns % _HOUR_NS
    if into < 1_000_000 or _HOUR_NS - into < 1_000_000:
        return int(pd.Timestamp(ns, tz="UTC").timestamp() // 3600)
    return ns // _HOUR_NS


@lru_cache(maxsize=4096)
def _drift_episode(seed: int, station_index: int, key: int) -> bool:
    return np.random.default_rng([seed, 7_919, station_index, key]).random() < _DRIFT_EPISODE_RATE


@lru_cache(maxsize=16)
def _part_draws(seed: int, part: int, cycle: float) -> tuple[float, tuple[float, ...], int]:
    """A part's draws (entry time, transfers, product variant), shared by its three curves."""
    rng = np.random.default_rng([seed, 53, part])
    at = rng.uniform(0.0, 0.2 * cycle)  # when the part enters its line
    transfers = rng.uniform(*_TRANSFER_SECONDS, size=len(_STATION_SECONDS) - 1)
    variant = int(np.random.default_rng([seed, 31, part]).integers(0, 2))
    return at, tuple(transfers.tolist()), variant


def _arrival(spec: DemoSpec, part: int, station_no: int, cycle: float) -> float:
    """Seconds after the part's slot at which it reaches station ``station_no``: drawn per part
    (not per curve), so every station of a part sees the same arrivals, in process order."""
    at, transfers, _ = _part_draws(spec.seed, part, cycle)
    for before in range(station_no):
        at += _STATION_SECONDS[before] + transfers[before]
    return at


def _shift_of(ns: int) -> tuple[str, float]:
    """:func:`shift_of` of the UTC instant ``ns`` (same arithmetic, whole seconds)."""
    seconds = ns // _NS % 86_400
    hour = seconds // 3600 + (seconds % 3600 // 60) / 60 + (seconds % 60) / 3600
    if 6 <= hour < 14:
        return "A", hour - 6
    if 14 <= hour < 22:
        return "B", hour - 14
    return "C", (hour - 22) % 24


@lru_cache(maxsize=64)
def _day_label(day: int) -> str:
    return f"{pd.Timestamp(day * _DAY_NS, tz='UTC'):%y%m%d}"


def _curve(spec: DemoSpec, index: int, start_ns: int):
    """Metadata (a tuple in :data:`_META` order) and quantised samples of demo curve ``index``.

    Times are integer nanoseconds, with pandas' rounding (``Timedelta(seconds=s)`` is
    ``int(s * 1e9)``): the same instants as Timestamp arithmetic, at a fraction of its cost.
    """
    lines = LINES
    part, station_no = divmod(index, 3)
    line_no, k = part % len(lines), part // len(lines)
    station = lines[line_no][station_no]
    parts_per_line = -(-spec.curves // 3 // len(lines)) or 1
    rng = np.random.default_rng([spec.seed, index])
    cycle = spec.days * 86_400.0 / parts_per_line
    started = start_ns + int((k * cycle + _arrival(spec, part, station_no, cycle)) * 1e9)
    variant = _part_draws(spec.seed, part, cycle)[2]
    program = station.programs[variant]
    process = PROCESSES[station.process]
    shift, hours_in = _shift_of(started)
    shift_start = started - int(hours_in * 3600 * 1e9)
    drift = 0.0
    defect = ""
    if _drift_episode(spec.seed, line_no * 3 + station_no, _hour_key(shift_start)):
        drift = 1.5 * process.drift_limit * hours_in / 8.0
        if drift > process.drift_limit:
            defect = "drift"
    if not defect and rng.random() < _DEFECT_RATE:
        choices = DEFECTS[station.process]
        defect = choices[int(rng.integers(0, len(choices)))]
    x, y, seconds = SHAPES[station.process](rng, PROGRAMS[program], defect, drift)
    made = start_ns + int(k * cycle * 1e9)
    serial = f"{station.code}-{station.line}-{_day_label(made // _DAY_NS)}-{k:06d}"
    meta = (
        f"{serial}/{station.station}",
        station.plant,
        f"{station.code}-{station.line}",
        f"{station.code}-{station.line}-{station.station}",
        station.process,
        program,
        shift,
        serial,
        started,
        started + int(seconds * 1e9),
        "NOK" if defect else "OK",
        defect,
        process.x.name,
        process.x.unit,
        process.y.name,
        process.y.unit,
        process.x.step,
        process.y.step,
    )
    x_codes = np.rint(x / process.x.step).astype(np.int32)
    y_codes = np.rint(y / process.y.step).astype(np.int32)
    return meta, x_codes, y_codes


_META = (
    "curve_key",
    "plant",
    "line",
    "station",
    "process",
    "program",
    "shift",
    "part_serial",
    "started_at",
    "ended_at",
    "result",
    "defect",
    "x_name",
    "x_unit",
    "y_name",
    "y_unit",
    "x_step",
    "y_step",
)
_TIMES = ("started_at", "ended_at")


def _batch(rows: list[tuple], xs: list[np.ndarray], ys: list[np.ndarray]) -> CurveBatch:
    """A batch from :func:`_curve` results; the two instants become UTC timestamps at once."""
    columns: dict[str, object] = {name: [row[i] for row in rows] for i, name in enumerate(_META)}
    for name in _TIMES:
        columns[name] = pd.to_datetime(np.array(columns[name], dtype="datetime64[ns]"), utc=True)
    offsets = np.zeros(len(xs) + 1, dtype=np.int64)
    np.cumsum([len(a) for a in xs], out=offsets[1:])
    return CurveBatch(pd.DataFrame(columns), offsets, np.concatenate(xs), np.concatenate(ys))


def generate_demo(spec: DemoSpec) -> Iterator[CurveBatch]:
    """Yield the demo's curves in time order per line, ``spec.batch_points`` samples at a time."""
    start_ns = spec.start.as_unit("ns").value
    rows: list[tuple] = []
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    points = 0
    for index in range(spec.curves):
        meta, x, y = _curve(spec, index, start_ns)
        rows.append(meta)
        xs.append(x)
        ys.append(y)
        points += len(x)
        if points >= spec.batch_points:
            yield _batch(rows, xs, ys)
            rows, xs, ys, points = [], [], [], 0
    if rows:
        yield _batch(rows, xs, ys)


def demo_curve(spec: DemoSpec, index: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """Demo curve ``index`` alone: its metadata by column (times as UTC nanoseconds) and its x
    and y as values (codes times steps), the same curve :func:`generate_demo` yields."""
    meta, x, y = _curve(spec, index, spec.start.as_unit("ns").value)
    row = dict(zip(_META, meta, strict=True))
    return row, x * row["x_step"], y * row["y_step"]
