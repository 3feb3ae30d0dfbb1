"""Drift at the stations: a feature of each station's parts in time order, watched with a
CUSUM (:func:`pipelines.spc.cusum`), so a sensor or tool that wanders shows before its parts
fail ("LEJ-L1-ST020 area drifting up since 07:40, 1.9 σ").

A station makes several programs whose features differ, and a sensor's drift moves them all,
so each part's value is first put in σ of its own station and program: the median, and the
median moving range / 0.954 (the median of |x_i − x_{i−1}| of a normal is 0.954 σ), robust to a
few odd parts or a drift inside the history. Then one CUSUM runs over the station's parts of
every program. Each value is clipped to ±2 σ before it is summed (a Huber-style CUSUM): one
malformed part cannot raise an alarm on its own, a run of parts that all sit high does. After an
alarm the sums restart; alarms whose runs follow each other are one episode.

On the demo plant (10,000 curves, seed 7) the area finds all 27 station shifts whose sensor
drift went on to reject parts, 92-196 minutes (median 136) before the first rejected part, with
22 alarms in the other 288 station shifts; peak force found 26 (``tests/pipelines/test_drifts.py``
checks the first two). Area is therefore the default feature.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.frames import in_period
from pipelines.kernels.drift import cusum_episodes

MEDIAN_MR = 0.954  # median of |N(0, 2)| in σ: the median moving range of a normal
CLIP_SIGMA = 2.0
LEAST_PARTS = 20  # a station and program with fewer parts have no history to judge by


@dataclass(frozen=True)
class DriftAlert:
    station: str
    feature: str
    direction: str  # "up" or "down"
    since: pd.Timestamp  # the first part of the drift (UTC)
    alarm: pd.Timestamp  # the part that raised the alarm: when it is known
    until: pd.Timestamp  # the last part still drifting (the episode's last alarm)
    shift_sigma: float  # mean of the parts since, from their programs' medians, in σ
    curve_ids: tuple[int, ...]  # the station's parts from since to until

    def words(self, zone: str = "UTC", name: str | None = None) -> str:
        """What a person reads: the station, the feature (``name``, else its column's), which
        way, since when (in ``zone``), and how far."""
        since = self.since.tz_convert(zone).strftime("%Y-%m-%d %H:%M")
        name = name or self.feature.replace("_", " ")
        return (
            f"{self.station} {name} drifting {self.direction} since {since}, "
            f"{abs(self.shift_sigma):.1f} σ ({len(self.curve_ids)} parts)"
        )


def station_drifts(
    features: pd.DataFrame,
    feature: str = "area",
    *,
    baseline: tuple | None = None,
    k: float = 0.5,
    h: float = 5.0,
) -> list[DriftAlert]:
    """Drift episodes of ``feature`` in ``features`` (rows of :meth:`Curves.features` with
    ``station``, ``program`` and ``started_at``), newest first. Each station and program is
    measured against its parts started in ``baseline`` (from, until, either None), or all of
    them: fine while drifts are rare, as in a week of a plant, not when they are a third."""
    missing = {"curve_id", "station", "program", "started_at", feature} - set(features.columns)
    if missing:
        raise ValueError(f"features lack {', '.join(sorted(missing))}")
    values = features[feature].to_numpy(np.float64)
    parts = features.loc[np.isfinite(values)].assign(z=np.nan)
    trusted = in_period(parts["started_at"], baseline)
    parts = parts.assign(trusted=True if trusted is None else trusted).sort_values(
        ["started_at", "curve_id"]
    )
    for _, group in parts.groupby(["station", "program"], sort=False):
        x = group.loc[group["trusted"], feature].to_numpy(np.float64)
        sigma = float(np.median(np.abs(np.diff(x)))) / MEDIAN_MR if len(x) > 1 else 0.0
        if len(x) >= LEAST_PARTS and sigma > 0:
            values = group[feature].to_numpy(np.float64)
            parts.loc[group.index, "z"] = (values - np.median(x)) / sigma
    alerts = []
    for station, group in parts.dropna(subset=["z"]).groupby("station", sort=True):
        group = group.sort_values(["started_at", "curve_id"])
        alerts += _episodes(group, feature, str(station), k=k, h=h)
    return sorted(alerts, key=lambda a: a.alarm, reverse=True)


def _episodes(
    group: pd.DataFrame, feature: str, station: str, *, k: float, h: float
) -> list[DriftAlert]:
    z = group["z"].to_numpy(np.float64)
    clipped = np.clip(z, -CLIP_SIGMA, CLIP_SIGMA)
    runs: list[list[int]] = []  # [since, first alarm, last alarm, +1 up / -1 down]
    for since, signal, way in cusum_episodes(clipped, k, h).tolist():
        if runs and runs[-1][3] == way and since <= runs[-1][2] + 1:
            runs[-1][2] = signal  # the same drift going on
        else:
            runs.append([since, signal, signal, way])
    if not runs:
        return []
    # Every episode's times in one conversion, not three per episode (thousands at 100k parts).
    at = group["started_at"].to_numpy()[np.asarray(runs)[:, :3].ravel()]
    times = pd.DatetimeIndex(at)
    stamps = list(times.tz_localize("UTC") if times.tz is None else times.tz_convert("UTC"))
    ids = group["curve_id"].to_numpy()
    return [
        DriftAlert(
            station=station,
            feature=feature,
            direction="up" if way > 0 else "down",
            since=stamps[3 * r],
            alarm=stamps[3 * r + 1],
            until=stamps[3 * r + 2],
            shift_sigma=float(z[since : until + 1].mean()),
            curve_ids=tuple(ids[since : until + 1].tolist()),
        )
        for r, (since, _alarm, until, way) in enumerate(runs)
    ]
