"""Run rules: patterns on a control chart that a stable process rarely makes, as Western
Electric (1956) and Nelson (1984) wrote them. Zones are in the σ of the plotted statistic
(per point, so subgroups of different sizes work): A beyond 2σ, B beyond 1σ, C within 1σ.

Each run rule is flagged at the point that completes its pattern, once per run of such points
(a tenth point on one side does not flag again); every point beyond the limits is flagged.
Nelson's rules are 1-8; Western Electric's are his 1, 5 and 6 with eight (not nine) points on
one side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pipelines.spc.charts import Chart


@dataclass(frozen=True)
class Rule:
    key: str
    words: str  # what a person reads beside the flagged point
    test: Callable[[np.ndarray], np.ndarray]  # z (points in σ from centre) -> bool per point
    every_point: bool = False  # flag each point, not the first of a run


def _windows(flags: np.ndarray, size: int, needed: int) -> np.ndarray:
    """Per point: at least ``needed`` of the ``size`` points ending here have ``flags``."""
    out = np.zeros(len(flags), bool)
    if len(flags) < size:
        return out
    counts = np.convolve(flags.astype(np.int64), np.ones(size, np.int64), "valid")
    out[size - 1 :] = counts >= needed
    return out


def _same_side(z: np.ndarray, size: int, beyond: float = 0.0, needed: int | None = None):
    needed = size if needed is None else needed
    return _windows(z > beyond, size, needed) | _windows(z < -beyond, size, needed)


def _trend(z: np.ndarray, size: int) -> np.ndarray:
    """``size`` points in a row each higher (or each lower) than the one before."""
    step = np.diff(z)
    return np.r_[
        False, _windows(step > 0, size - 1, size - 1) | _windows(step < 0, size - 1, size - 1)
    ]


def _alternating(z: np.ndarray, size: int) -> np.ndarray:
    """``size`` points in a row going up and down in turn."""
    step = np.sign(np.diff(z))
    turns = (step[1:] * step[:-1]) < 0
    return np.r_[False, False, _windows(turns, size - 2, size - 2)]


RULES: dict[str, Rule] = {
    rule.key: rule
    for rule in (
        Rule("beyond 3σ", "beyond the control limits", lambda z: np.abs(z) > 3, True),
        Rule(
            "9 on one side",
            "9 points in a row on one side of the centre",
            lambda z: _same_side(z, 9),
        ),
        Rule("6 trending", "6 points in a row rising or falling", lambda z: _trend(z, 6)),
        Rule(
            "14 alternating",
            "14 points in a row alternating up and down",
            lambda z: _alternating(z, 14),
        ),
        Rule(
            "2 of 3 beyond 2σ",
            "2 of 3 points beyond 2σ on one side",
            lambda z: _same_side(z, 3, 2, 2),
        ),
        Rule(
            "4 of 5 beyond 1σ",
            "4 of 5 points beyond 1σ on one side",
            lambda z: _same_side(z, 5, 1, 4),
        ),
        Rule(
            "15 within 1σ",
            "15 points in a row within 1σ (less spread than the limits say)",
            lambda z: _windows(np.abs(z) < 1, 15, 15),
        ),
        Rule(
            "8 outside 1σ",
            "8 points in a row beyond 1σ, on either side",
            lambda z: _windows(np.abs(z) > 1, 8, 8),
        ),
        Rule(
            "8 on one side",
            "8 points in a row on one side of the centre",
            lambda z: _same_side(z, 8),
        ),
    )
}
NELSON = (
    "beyond 3σ",
    "9 on one side",
    "6 trending",
    "14 alternating",
    "2 of 3 beyond 2σ",
    "4 of 5 beyond 1σ",
    "15 within 1σ",
    "8 outside 1σ",
)
WESTERN_ELECTRIC = ("beyond 3σ", "2 of 3 beyond 2σ", "4 of 5 beyond 1σ", "8 on one side")


@dataclass(frozen=True)
class Violation:
    rule: str
    index: int  # the point completing the pattern
    words: str


def violations(chart: Chart, rules: tuple[str, ...] = NELSON) -> list[Violation]:
    """The rules ``chart`` breaks, at the points completing each pattern, in point order."""
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        raise ValueError(f"unknown run rule {unknown[0]!r}; rules are {', '.join(RULES)}")
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(chart.sigma > 0, (chart.points - chart.center) / chart.sigma, 0.0)
    found = []
    for key in rules:
        rule = RULES[key]
        hits = rule.test(z)
        if not rule.every_point:
            hits = hits & ~np.r_[False, hits[:-1]]  # once per run of flagged points
        found += [Violation(key, int(i), rule.words) for i in np.flatnonzero(hits)]
    return sorted(found, key=lambda v: (v.index, rules.index(v.rule)))
