"""The demo plant: plants → lines → stations, products, shifts."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Station:
    plant: str
    code: str  # short plant code for serial numbers
    line: str
    station: str
    process: str
    programs: tuple[str, ...]  # one per product variant built on the line


def _line(plant: str, code: str, line: str, press: tuple, screw: tuple, weld: tuple):
    return (
        Station(plant, code, line, "ST010", "press-fit", press),
        Station(plant, code, line, "ST020", "screwdriving", screw),
        Station(plant, code, line, "ST030", "spot-weld", weld),
    )


BEARINGS = ("PF-6204-bearing", "PF-6205-bearing")
SCREWS = ("SD-M6-10Nm", "SD-M8-25Nm")
THIN = ("SW-1.5mm-DP600", "SW-1.5mm-DP600")

LINES: tuple[tuple[Station, ...], ...] = (
    _line("Leipzig", "LEJ", "L1", BEARINGS, SCREWS, THIN),
    _line("Leipzig", "LEJ", "L2", BEARINGS, SCREWS, ("SW-1.5mm-DP600", "SW-2.0mm-DP800")),
    _line("Győr", "GYR", "L1", ("PF-pin-8mm", "PF-6204-bearing"), SCREWS, THIN),
    _line("Győr", "GYR", "L2", BEARINGS, ("SD-M6-10Nm", "SD-M6-10Nm"), THIN),
    _line("Greenville", "GSP", "L1", ("PF-pin-8mm", "PF-6205-bearing"), SCREWS, THIN),
)

# Shift letter by hour of day (UTC): A 06-14, B 14-22, C 22-06.
SHIFT_STARTS = {"A": 6, "B": 14, "C": 22}


def shift_of(ts: pd.Timestamp) -> tuple[str, float]:
    """Shift letter and hours since that shift began."""
    hour = ts.hour + ts.minute / 60 + ts.second / 3600
    if 6 <= hour < 14:
        return "A", hour - 6
    if 14 <= hour < 22:
        return "B", hour - 14
    return "C", (hour - 22) % 24
