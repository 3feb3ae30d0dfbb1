"""A verdict's reason in words, with the curves' units: "entered through the top at x = 4.21
mm", "crossed the no-pass line at x = 7.9 mm, y = 310 N"."""

from __future__ import annotations

import numpy as np

from pipelines.kernels import rules as K
from pipelines.rules.spec import Envelope, FeatureLimits, NoPassLine, Rule, Threshold, Window

_SIDE_WORDS = {K.LEFT: "left", K.RIGHT: "right", K.BOTTOM: "bottom", K.TOP: "top"}


def number(value: float, unit: str = "") -> str:
    """At most six significant digits, and the unit if known."""
    text = f"{float(value):.6g}"
    return f"{text} {unit}" if unit else text


def side(bits: int) -> str:
    """``the top``, or ``the top-right corner`` for an edge crossed exactly at a corner."""
    names = [_SIDE_WORDS[b] for b in (K.TOP, K.BOTTOM, K.LEFT, K.RIGHT) if bits & b]
    if len(names) == 1:
        return f"the {names[0]}"
    return f"the {'-'.join(names)} corner"


def _at(point: np.ndarray, xu: str, yu: str, with_y: bool = False) -> str:
    text = f"x = {number(point[0], xu)}"
    return f"{text}, y = {number(point[1], yu)}" if with_y else text


def _window(check: Window, code: int, sides: np.ndarray, points: np.ndarray, xu: str, yu: str):
    if code == K.NEVER_REACHED:
        return "never reached the window"
    if code == K.PASS:
        if check.mode == "not-touch":
            return "did not touch the window"
        if check.mode == "pass-through":
            return f"passed through the window at {_at(points[0], xu, yu, True)}"
        return (
            f"entered through {side(sides[0])} at {_at(points[0], xu, yu)} and left through "
            f"{side(sides[1])} at {_at(points[1], xu, yu)}"
        )
    if code == K.TOUCHED:
        return f"touched the window at {_at(points[0], xu, yu, True)}"
    if code == K.STARTED_INSIDE:
        if sides[0] == K.AFTER_GAP:
            return f"first appears inside the window after a gap, at {_at(points[0], xu, yu)}"
        return f"starts inside the window, at {_at(points[0], xu, yu)}"
    if code == K.WRONG_ENTRY:
        return f"entered through {side(sides[0])} at {_at(points[0], xu, yu)}, not {check.entry}"
    if code == K.ENDED_INSIDE:
        return f"ends inside the window, at {_at(points[1], xu, yu)}"
    if code == K.GAP_INSIDE:
        return f"has a gap (missing samples) inside the window after {_at(points[1], xu, yu)}"
    if code == K.WRONG_EXIT:
        return f"left through {side(sides[1])} at {_at(points[1], xu, yu)}, not {check.exit}"
    if code == K.REENTERED:
        how = "after a gap" if sides[2] == K.AFTER_GAP else f"through {side(sides[2])}"
        return f"came back into the window {how} at {_at(points[2], xu, yu)}"
    raise AssertionError(code)


def _threshold(check: Threshold, code: int, point: np.ndarray, how: int, xu: str, yu: str):
    on, other = check.axis, "x" if check.axis == "y" else "y"
    unit_on, unit_other = (yu, xu) if on == "y" else (xu, yu)
    relation = {"rising": "≥", "falling": "≤", "either": "="}[check.direction]
    if code == K.NEVER_CROSSED:
        return f"never reached {on} {relation} {number(check.level, unit_on)}"
    a, b = (point[1], point[0]) if on == "y" else (point[0], point[1])
    where = {K.START: " (at its start)", K.AFTER_GAP: " (right after a gap)"}.get(int(how), "")
    limits = f"[{number(check.low)}, {number(check.high)}]"
    limits += f" {unit_other}" if unit_other else ""
    verdict = "inside" if code == K.PASS else "outside"
    return (
        f"reached {on} = {number(a, unit_on)} at {other} = {number(b, unit_other)}{where}, "
        f"{verdict} {limits}"
    )


# A fixed feature's name in words, and which unit its value has ("x", "y", "xy", "y/x", "").
FEATURE_WORDS = {
    "peak_y": ("the peak y", "y"),
    "peak_x": ("x at the peak", "x"),
    "final_x": ("the final x", "x"),
    "final_y": ("the final y", "y"),
    "min_y": ("the lowest y", "y"),
    "area": ("the area", "xy"),
    "duration": ("the duration (x span)", "x"),
    "sample_count": ("the sample count", ""),
}


def _unit(which: str, xu: str, yu: str) -> str:
    if which == "xy":
        return f"{yu}·{xu}" if xu and yu else ""
    if which == "y/x":
        return f"{yu}/{xu}" if xu and yu else ""
    return {"x": xu, "y": yu}.get(which, "")


def feature_words(check: FeatureLimits, xu: str = "", yu: str = "") -> tuple[str, str]:
    """What a feature limit measures, in words, and its value's unit."""
    if check.feature == "y_at_x":
        return f"y at x = {number(check.a, xu)}", yu
    if check.feature == "x_at_y":
        return f"x where y first reaches {number(check.a, yu)}", xu
    if check.feature == "slope":
        return f"the slope over x = {number(check.a)} to {number(check.b, xu)}", _unit(
            "y/x", xu, yu
        )
    words, which = FEATURE_WORDS[check.feature]
    return words, _unit(which, xu, yu)


def _feature(check: FeatureLimits, code: int, value: float, xu: str, yu: str) -> str:
    words, unit = feature_words(check, xu, yu)
    limits = f"[{number(check.low)}, {number(check.high)}]" + (f" {unit}" if unit else "")
    if code == K.NO_VALUE:
        why = (
            f"fewer than two samples between x = {number(check.a)} and {number(check.b, xu)}"
            if check.feature == "slope"
            else "never reached"
        )
        return f"has no value of {words} ({why}), limits {limits}"
    where = {K.PASS: "inside", K.ABOVE: "above", K.BELOW: "below"}[code]
    return f"{words} is {number(value, unit)}, {where} {limits}"


def _columns(values: np.ndarray) -> list:
    """An array as plain Python lists, one per column (``values[:, k]``, ``values[:, k, d]``):
    indexing NumPy one element at a time costs several times more, and one flat list per
    column makes a few objects where nested lists made one per row, which the garbage
    collector then walked (0.1 s per 10,000 windows)."""
    if values.ndim == 1:
        return values.tolist()
    return [_columns(values[:, k]) for k in range(values.shape[1])]


def reasons(rule: Rule, out: dict[str, np.ndarray], x_units: list[str], y_units: list[str]):
    """One sentence per curve for the kernel's answer ``out``."""
    check = rule.check
    nested = out["points"].ndim == 3  # (curve, slot, x/y): a window's three points
    out = {key: _columns(value) for key, value in out.items()}
    codes, points = out["codes"], out["points"]
    slots = points if nested else [points]  # per slot, the x column and the y column
    words = []
    for i, code in enumerate(codes):
        xu, yu = x_units[i], y_units[i]
        point = (slots[0][0][i], slots[0][1][i])
        if code == K.EMPTY:
            words.append("has no samples")
        elif isinstance(check, Window):
            sides = [column[i] for column in out["sides"]]
            at = [(px[i], py[i]) for px, py in slots]
            words.append(_window(check, code, sides, at, xu, yu))
        elif isinstance(check, NoPassLine):
            words.append(
                "did not cross the no-pass line"
                if code == K.PASS
                else f"crossed the no-pass line at {_at(point, xu, yu, True)}"
            )
        elif isinstance(check, Envelope):
            if code == K.PASS:
                words.append("stayed inside the envelope")
            elif code == K.NOT_IN_RANGE:
                words.append(
                    f"has no samples between x = {number(check.x_min)} and "
                    f"{number(check.x_max, xu)}"
                )
            else:
                bound = "above the upper" if code == K.ABOVE else "below the lower"
                words.append(
                    f"went {bound} bound at {_at(point, xu, yu)} (by up to "
                    f"{number(out['worst'][i], yu)})"
                )
        elif isinstance(check, Threshold):
            words.append(_threshold(check, code, point, out["how"][i], xu, yu))
        elif isinstance(check, FeatureLimits):
            words.append(_feature(check, code, out["value"][i], xu, yu))
        else:
            raise TypeError(check)
    return words
