"""What one explorer session asks to see, as ``param`` state, and its round trip through the URL.

The state is the single source of truth: widgets edit it, the URL mirrors it, and renders read
it. It turns into the pipelines' own requests (:class:`CurveFilter`, :class:`View`), which
validate every value; the URL form is compact (defaults are left out) so a shared link stays
readable.
"""

from __future__ import annotations

from typing import Any, ClassVar

import param

from pipelines.views import CurveFilter, FilterError, View

CMAPS = ("Blues", "fire", "kbc", "viridis", "gray")
NORMS = ("eq_hist", "log", "linear")
COLOR_BY = ("", "result", "station", "program")
RESULTS = ("OK", "NOK", "UNKNOWN")


def _decode_range(text: str, name: str) -> tuple[float, float] | None:
    if not text:
        return None
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise FilterError(f"{name} must be two numbers 'low,high', not {text!r}") from None
    if not low < high:
        raise FilterError(f"{name} must have low < high, not {text!r}")
    return (low, high)


def _encode_range(bounds: tuple[float, float] | None) -> str:
    return "" if bounds is None else f"{bounds[0]:.10g},{bounds[1]:.10g}"


class ExplorerState(param.Parameterized):
    """Filters, the view and how it is drawn, for one browser session."""

    project = param.String(default="", doc="Project to show; empty: every project.")
    process = param.String(default="", doc="Process (one x quantity per view); empty: all.")
    plant = param.List(default=[], item_type=str, doc="Plants to include; empty: all.")
    line = param.List(default=[], item_type=str, doc="Lines to include; empty: all.")
    station = param.List(default=[], item_type=str, doc="Stations to include; empty: all.")
    program = param.List(default=[], item_type=str, doc="Programs to include; empty: all.")
    shift = param.List(default=[], item_type=str, doc="Shifts to include; empty: all.")
    result = param.List(default=[], item_type=str, doc="OK, NOK, UNKNOWN; empty: all.")
    serial = param.String(default="", doc="Part serial contains this (case-insensitive).")
    start = param.String(default="", doc="Curves started at or after this time (UTC).")
    end = param.String(default="", doc="Curves started before this time (UTC).")
    x_range = param.Tuple(default=None, length=2, allow_None=True, doc="None: fit the curves.")
    y_range = param.Tuple(default=None, length=2, allow_None=True, doc="None: fit the curves.")
    color_by = param.Selector(default="", objects=list(COLOR_BY), doc="Split counts by column.")
    cmap = param.Selector(default="Blues", objects=list(CMAPS), doc="Colour map of counts.")
    norm = param.Selector(default="eq_hist", objects=list(NORMS), doc="Count normalisation.")
    envelope = param.Boolean(default=False, doc="Draw the 5/50/95 % envelope of the filter.")
    reference = param.String(default="", doc="Serial of a reference (golden) part to overlay.")

    # Filter parameters that are lists of values, in URL order.
    LISTS: ClassVar[tuple[str, ...]] = ("plant", "line", "station", "program", "shift", "result")
    TEXTS: ClassVar[tuple[str, ...]] = ("project", "process", "serial", "start", "end", "reference")
    FILTERS: ClassVar[tuple[str, ...]] = ("project", "process", *LISTS, "serial", "start", "end")

    def curve_filter(self) -> CurveFilter:
        """The pipelines' filter; raises :class:`FilterError` naming a bad field."""
        equals = {name: list(getattr(self, name)) for name in self.LISTS}
        for name in ("project", "process"):
            if getattr(self, name):
                equals[name] = [getattr(self, name)]
        return CurveFilter.of(serial=self.serial, start=self.start, end=self.end, **equals)

    def view(self, width: int, height: int) -> View:
        return View(
            x_range=self.x_range,
            y_range=self.y_range,
            width=width,
            height=height,
            color_by=self.color_by or None,
        )

    def to_query(self) -> dict[str, str]:
        """URL query parameters for everything that differs from the defaults."""
        query: dict[str, str] = {}
        for name in self.TEXTS:
            if getattr(self, name):
                query[name] = getattr(self, name)
        for name in self.LISTS:
            if getattr(self, name):
                query[name] = ",".join(getattr(self, name))
        for name in ("x_range", "y_range"):
            if getattr(self, name) is not None:
                query[name[0]] = _encode_range(getattr(self, name))
        for name in ("color_by", "cmap", "norm"):
            if getattr(self, name) != self.param[name].default:
                query[name] = getattr(self, name)
        if self.envelope:
            query["envelope"] = "1"
        return query

    def from_query(self, query: dict[str, str]) -> None:
        """Apply URL query parameters (all or nothing); raises :class:`FilterError` for a value
        the state cannot hold, naming the parameter."""
        values: dict[str, Any] = {}
        for name in self.TEXTS:
            if name in query:
                values[name] = query[name]
        for name in self.LISTS:
            if name in query:
                values[name] = [v for v in query[name].split(",") if v]
        for key, name in (("x", "x_range"), ("y", "y_range")):
            if key in query:
                values[name] = _decode_range(query[key], key)
        for name in ("color_by", "cmap", "norm"):
            if name in query:
                allowed = self.param[name].objects
                if query[name] not in allowed:
                    choices = ", ".join(a or "(none)" for a in allowed)
                    raise FilterError(f"{name} must be one of {choices}, not {query[name]!r}")
                values[name] = query[name]
        if "envelope" in query:
            values["envelope"] = query["envelope"] in ("1", "true", "yes")
        self.param.update(**values)

    def reset_view(self) -> None:
        self.param.update(x_range=None, y_range=None)
