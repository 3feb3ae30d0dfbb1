"""Evaluation rules as checked values: what a rule asks of a curve, and which curves it judges.

A :class:`Rule` is a :class:`Scope` (project, process, optionally some programs or stations)
and one check: a :class:`Window`, a :class:`NoPassLine`, an :class:`Envelope`, a
:class:`Threshold` or :class:`FeatureLimits`. Every value is checked when made, so a bad rule is
refused with a message an engineer can act on (:class:`RuleError`), never judged. The metadata
store keeps a rule as ``kind`` and ``params`` (plain JSON, :meth:`Rule.stored`);
:func:`rule_from_stored` makes it again, checked once more.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, ClassVar

from pipelines.kernels import rules as kernels
from pipelines.kernels.features import FEATURES

SIDES = {
    "left": kernels.LEFT,
    "right": kernels.RIGHT,
    "bottom": kernels.BOTTOM,
    "top": kernels.TOP,
    "any": kernels.ANY,
}
WINDOW_MODES = {
    "uni-box": kernels.UNI_BOX,
    "pass-through": kernels.PASS_THROUGH,
    "not-touch": kernels.NOT_TOUCH,
}
DIRECTIONS = {"rising": kernels.RISING, "falling": kernels.FALLING, "either": kernels.EITHER}


class RuleError(ValueError):
    """A rule that cannot be judged; the message names the field and what would be right."""


def _number(value: object, name: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RuleError(f"{name} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise RuleError(f"{name} must be a finite number, not {value!r}")
    return number


def _choice(value: object, choices: Mapping[str, int], name: str) -> str:
    if value not in choices:
        raise RuleError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return str(value)


def _ordered(low: float, high: float, what: str) -> None:
    if not low < high:
        raise RuleError(f"{what}: the first value ({low:g}) must be below the second ({high:g})")


@dataclass(frozen=True)
class Window:
    """A box ``x0..x1`` by ``y0..y1``. ``mode`` uni-box: enter through ``entry``, leave through
    ``exit``, never come back; pass-through: touch it somewhere; not-touch: never touch it."""

    x0: float
    x1: float
    y0: float
    y1: float
    mode: str = "uni-box"
    entry: str = "any"
    exit: str = "any"
    kind: ClassVar[str] = "window"

    def __post_init__(self) -> None:
        for name in ("x0", "x1", "y0", "y1"):
            object.__setattr__(self, name, _number(getattr(self, name), f"The window's {name}"))
        _ordered(self.x0, self.x1, "The window's x0 and x1")
        _ordered(self.y0, self.y1, "The window's y0 and y1")
        _choice(self.mode, WINDOW_MODES, "The window's mode")
        _choice(self.entry, SIDES, "The window's entry side")
        _choice(self.exit, SIDES, "The window's exit side")


@dataclass(frozen=True)
class NoPassLine:
    """A segment from (x0, y0) to (x1, y1) the curve must not meet (touching counts)."""

    x0: float
    y0: float
    x1: float
    y1: float
    kind: ClassVar[str] = "line"

    def __post_init__(self) -> None:
        for name in ("x0", "y0", "x1", "y1"):
            object.__setattr__(self, name, _number(getattr(self, name), f"The line's {name}"))
        if (self.x0, self.y0) == (self.x1, self.y1):
            raise RuleError("The line's two ends are the same point; give two different points")


def _polyline(points: object, name: str) -> tuple[tuple[float, float], ...]:
    try:
        pairs = [tuple(p) for p in points]  # type: ignore[union-attr]
    except TypeError:
        raise RuleError(f"The {name} must be a list of (x, y) points") from None
    if len(pairs) < 2 or any(len(p) != 2 for p in pairs):
        raise RuleError(f"The {name} needs at least two (x, y) points")
    checked = tuple(
        (_number(x, f"The {name}'s x"), _number(y, f"The {name}'s y")) for x, y in pairs
    )
    for (xa, _), (xb, _) in itertools.pairwise(checked):
        if not xa < xb:
            raise RuleError(f"The {name}'s x values must increase: {xb:g} follows {xa:g}")
    return checked


def _interpolate(points: Sequence[tuple[float, float]], x: float) -> float:
    for (xa, ya), (xb, yb) in itertools.pairwise(points):
        if xa <= x <= xb:
            return ya + (x - xa) * (yb - ya) / (xb - xa)
    raise AssertionError(x)


@dataclass(frozen=True)
class Envelope:
    """The curve stays between ``lower`` and ``upper`` (polylines of (x, y) points, x
    increasing) wherever its x lies in ``x_min..x_max``; both bounds must span that range and
    the lower may not rise above the upper."""

    x_min: float
    x_max: float
    lower: tuple[tuple[float, float], ...]
    upper: tuple[tuple[float, float], ...]
    kind: ClassVar[str] = "envelope"

    def __post_init__(self) -> None:
        object.__setattr__(self, "x_min", _number(self.x_min, "The envelope's x_min"))
        object.__setattr__(self, "x_max", _number(self.x_max, "The envelope's x_max"))
        _ordered(self.x_min, self.x_max, "The envelope's x_min and x_max")
        lower = _polyline(self.lower, "lower bound")
        upper = _polyline(self.upper, "upper bound")
        object.__setattr__(self, "lower", lower)
        object.__setattr__(self, "upper", upper)
        for name, line in (("lower", lower), ("upper", upper)):
            if line[0][0] > self.x_min or line[-1][0] < self.x_max:
                raise RuleError(
                    f"The {name} bound spans x = {line[0][0]:g} to {line[-1][0]:g}; it must "
                    f"cover the envelope's range {self.x_min:g} to {self.x_max:g}"
                )
        # Both bounds are straight between their vertices: comparing at every vertex in range
        # compares everywhere.
        xs = sorted({self.x_min, self.x_max, *(x for x, _ in lower + upper)})
        for x in (v for v in xs if self.x_min <= v <= self.x_max):
            if _interpolate(lower, x) > _interpolate(upper, x):
                raise RuleError(f"The envelope's lower bound is above its upper bound at x = {x:g}")


@dataclass(frozen=True)
class Threshold:
    """Where the curve first reaches ``level`` (on ``axis``: y, or x), the other coordinate
    must lie in ``low..high`` (inclusive). ``direction`` rising: the first point at or above
    the level; falling: at or below; either: exactly on it."""

    level: float
    low: float
    high: float
    axis: str = "y"
    direction: str = "rising"
    kind: ClassVar[str] = "threshold"

    def __post_init__(self) -> None:
        for name in ("level", "low", "high"):
            object.__setattr__(self, name, _number(getattr(self, name), f"The threshold's {name}"))
        if not self.low <= self.high:
            raise RuleError(
                f"The threshold's low ({self.low:g}) must not be above its high ({self.high:g})"
            )
        _choice(self.axis, {"x": 0, "y": 1}, "The threshold's axis")
        _choice(self.direction, DIRECTIONS, "The threshold's direction")


# A feature limit's measures beside the fixed features: what ``a`` (and ``b``) mean for each.
MEASURES = {"y_at_x": ("x",), "x_at_y": ("y",), "slope": ("x from", "x to")}


@dataclass(frozen=True)
class FeatureLimits:
    """The curve's ``feature`` must lie in ``low..high`` (inclusive): one of the fixed features
    (:data:`pipelines.kernels.features.FEATURES`), or a measure given with its numbers, as a
    configured feature is (y_at_x at ``a``, x_at_y at ``a``, slope over ``a..b``), so the rule
    stays what it was whatever happens to a definition. A curve without a value (a level never
    reached, no sample in the range) fails."""

    feature: str
    low: float
    high: float
    a: float | None = None
    b: float | None = None
    kind: ClassVar[str] = "feature"

    def __post_init__(self) -> None:
        if self.feature not in (*FEATURES, *MEASURES):
            raise RuleError(
                f"The feature must be one of {', '.join((*FEATURES, *MEASURES))}, not "
                f"{self.feature!r}"
            )
        for name in ("low", "high"):
            object.__setattr__(self, name, _number(getattr(self, name), f"The limits' {name}"))
        if not self.low <= self.high:
            raise RuleError(
                f"The low limit ({self.low:g}) must not be above the high ({self.high:g})"
            )
        needs = MEASURES.get(self.feature, ())
        for name, what in zip(("a", "b"), needs, strict=False):
            object.__setattr__(
                self, name, _number(getattr(self, name), f"{self.feature}'s {what} ({name})")
            )
        for name in ("a", "b")[len(needs) :]:
            if getattr(self, name) is not None:
                raise RuleError(f"{self.feature} takes no {name}")
        if self.feature == "slope":
            _ordered(self.a, self.b, "The slope's x range (a, b)")


Check = Window | NoPassLine | Envelope | Threshold | FeatureLimits
KINDS: dict[str, type] = {
    k.kind: k for k in (Window, NoPassLine, Envelope, Threshold, FeatureLimits)
}


def _names(values: object, name: str) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = (values,)
    out = tuple(str(v).strip() for v in values)  # type: ignore[union-attr]
    if any(not v for v in out):
        raise RuleError(f"{name} may not contain an empty name")
    return tuple(sorted(set(out)))


@dataclass(frozen=True)
class Scope:
    """Which curves a rule judges: one project's process, and of it only ``programs`` and
    ``stations`` when given (empty: all)."""

    project: str
    process: str
    programs: tuple[str, ...] = ()
    stations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("project", "process"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise RuleError(f"A rule needs a {name}")
        object.__setattr__(self, "programs", _names(self.programs, "Programs"))
        object.__setattr__(self, "stations", _names(self.stations, "Stations"))


@dataclass(frozen=True)
class Rule:
    """A check on a scope. ``rule_id`` and ``version`` name a stored rule's version (None and 0
    for one not saved yet, e.g. a what-if)."""

    name: str
    scope: Scope
    check: Check
    rule_id: int | None = None
    version: int = 0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise RuleError("A rule needs a name")
        if not isinstance(self.check, tuple(KINDS.values())):
            raise RuleError(f"Unknown rule check {self.check!r}; kinds are {', '.join(KINDS)}")

    @property
    def kind(self) -> str:
        return self.check.kind

    def stored(self) -> dict[str, Any]:
        """The check as the metadata store keeps it: ``kind`` and JSON-ready ``params``."""
        params = asdict(self.check)
        for key in ("lower", "upper"):
            if key in params:
                params[key] = [list(p) for p in params[key]]
        return {"kind": self.kind, "params": params}


def make_check(kind: str, params: Mapping[str, Any]) -> Check:
    """The check of ``kind`` from its parameters, checked; unknown kinds and names refused."""
    if kind not in KINDS:
        raise RuleError(f"Unknown rule kind {kind!r}; kinds are {', '.join(KINDS)}")
    cls = KINDS[kind]
    known = [f.name for f in fields(cls)]
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise RuleError(f"A {kind} rule has no {', '.join(unknown)}; it has {', '.join(known)}")
    required = {f.name for f in fields(cls) if f.default is MISSING}
    missing = sorted(required - set(params))
    if missing:
        raise RuleError(f"A {kind} rule needs {', '.join(missing)}")
    return cls(**params)


def rule_from_stored(
    *,
    name: str,
    project: str,
    process: str,
    kind: str,
    params: Mapping[str, Any],
    programs: Sequence[str] = (),
    stations: Sequence[str] = (),
    rule_id: int | None = None,
    version: int = 0,
) -> Rule:
    """A rule as kept by :mod:`models.rules`, checked again."""
    scope = Scope(project, process, tuple(programs), tuple(stations))
    return Rule(name, scope, make_check(kind, params), rule_id, version)
