"""Rules as straight strokes to draw over a density picture (issue 19 §4): a window's edges
with its entry and exit sides marked, a no-pass line, an envelope's two bounds, a threshold's
allowed span. Plain data, so any plotting library (the explorer's, a report's) draws them the
same way and a test can check the geometry without one.

``part`` says what a stroke is: ``edge`` (a window's side the curve may cross), ``entry`` and
``exit`` (the sides a uni-box must be entered and left through), ``forbidden`` (a no-pass line,
or the sides of a window the curve must not touch), ``bound`` (an envelope's lower or upper
polyline, one stroke per piece) and ``threshold`` (where the first crossing of the level must
lie).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import pandas as pd

from pipelines.rules.spec import Envelope, FeatureLimits, NoPassLine, Rule, Threshold, Window

STROKE_COLUMNS = ("x0", "y0", "x1", "y1", "part", "rule")
PARTS = ("edge", "entry", "exit", "forbidden", "bound", "threshold")


def _window_sides(w: Window) -> dict[str, tuple[float, float, float, float]]:
    return {
        "left": (w.x0, w.y0, w.x0, w.y1),
        "right": (w.x1, w.y0, w.x1, w.y1),
        "bottom": (w.x0, w.y0, w.x1, w.y0),
        "top": (w.x0, w.y1, w.x1, w.y1),
    }


def _strokes(rule: Rule) -> list[tuple]:
    check, name = rule.check, rule.name
    if isinstance(check, Window):
        sides = _window_sides(check)
        if check.mode == "not-touch":
            return [(*s, "forbidden", name) for s in sides.values()]
        marked = {}
        if check.mode == "uni-box":
            marked = {check.entry: "entry", check.exit: "exit"}
            if check.entry == check.exit:  # in and out through one side: both, said once
                marked = {check.entry: "entry"}
            marked.pop("any", None)
        return [(*s, marked.get(side, "edge"), name) for side, s in sides.items()]
    if isinstance(check, NoPassLine):
        return [(check.x0, check.y0, check.x1, check.y1, "forbidden", name)]
    if isinstance(check, Envelope):
        return [
            (*a, *b, "bound", name)
            for line in (check.lower, check.upper)
            for a, b in itertools.pairwise(line)
        ]
    if isinstance(check, Threshold):
        if check.axis == "y":  # y first reaches the level at an x in low..high
            return [(check.low, check.level, check.high, check.level, "threshold", name)]
        return [(check.level, check.low, check.level, check.high, "threshold", name)]
    if isinstance(check, FeatureLimits):  # drawn where the feature is read at a place
        if check.feature == "y_at_x":
            return [(check.a, check.low, check.a, check.high, "threshold", name)]
        if check.feature == "x_at_y":
            return [(check.low, check.a, check.high, check.a, "threshold", name)]
        return []
    raise TypeError(f"no strokes for a {type(check).__name__}")


def rule_strokes(rules: Iterable[Rule]) -> pd.DataFrame:
    """Every stroke of ``rules``, one row each: :data:`STROKE_COLUMNS`."""
    rows = [stroke for rule in rules for stroke in _strokes(rule)]
    return pd.DataFrame(rows, columns=list(STROKE_COLUMNS))
