"""What one explorer session asks to see, as ``param`` state, and its round trip through the URL.

The state is the single source of truth: widgets edit it, the URL mirrors it, and renders read
it. It turns into the pipelines' own requests (:class:`CurveFilter`, :class:`View`), which
validate every value; the URL form is compact (defaults are left out) so a shared link stays
readable.

Times: ``start`` and ``end`` hold ISO 8601 text that is unambiguous on its own (UTC unless it
carries an offset), so a link means the same moment everywhere; what a person types is read on
the clocks of the display zone (:meth:`ExplorerState.display_zone`) by the one strict reader
the API uses too (:func:`models.times.parse_time`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import param

from models.plants import load_plants
from models.times import (
    WINDOWS,
    TimeInputError,
    local_text,
    parse_time,
    relative_window,
    utc_text,
    zone_of,
)
from pipelines.rules import Rule
from pipelines.views import BY_VERDICT, CurveFilter, FilterError, View

CMAPS = ("Blues", "fire", "kbc", "viridis", "gray")
NORMS = ("eq_hist", "log", "linear")
# What the explorer colours by (pipelines.views.COLOR_COLUMNS, or the verdicts of the rules the
# verdict filter names: View.verdict_rules); coloured by one of
# COMPARED, the groups' KPIs show under the legend, and side by side their densities
# (app.explorer.compare).
COLOR_BY = ("", "result", "plant", "line", "station", "program", BY_VERDICT)
COMPARED = ("plant", "line", "station")
RESULTS = ("OK", "NOK", "UNKNOWN")
# Following the line: a window ending now, by how far back it reaches (Off: no window).
LIVE = {"": "Off", "15m": "Last 15 min", "1h": "Last hour", "shift": "This shift"}
_LIVE_SPANS = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1)}
# ``zone`` meaning "the plant's clocks when the filter is one plant (of plants.json), else UTC".
PLANT_ZONE = "plant"
# The verdict filter's choices: every part, the parts every rule passed, those a rule failed.
VERDICTS = {"": "all", "pass": "passed", "fail": "failed"}
# What the page calls the time fields, in refusals shown next to them.
TIME_FIELDS = {"start": "From", "end": "Until"}


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
    start = param.String(
        default="", doc="Curves started at or after this time: ISO 8601, UTC unless with offset."
    )
    end = param.String(
        default="", doc="Curves started before this time: ISO 8601, UTC unless with offset."
    )
    zone = param.String(
        default=PLANT_ZONE,
        doc="Time zone times are typed and shown in: an IANA name, or 'plant' for the plant's "
        "own when the filter is one plant (UTC otherwise).",
    )
    x_range = param.Tuple(default=None, length=2, allow_None=True, doc="None: fit the curves.")
    y_range = param.Tuple(default=None, length=2, allow_None=True, doc="None: fit the curves.")
    color_by = param.Selector(default="", objects=list(COLOR_BY), doc="Split counts by column.")
    cmap = param.Selector(default="Blues", objects=list(CMAPS), doc="Colour map of counts.")
    norm = param.Selector(default="eq_hist", objects=list(NORMS), doc="Count normalisation.")
    envelope = param.Boolean(default=False, doc="Draw the 5/50/95 % envelope of the filter.")
    side_by_side = param.Boolean(
        default=False,
        doc="Coloured by plant, line or station: also each group's density alone, side by side "
        "on the plot's axes.",
    )
    verdict = param.Selector(
        default="",
        objects=list(VERDICTS),
        doc="Parts by the verdict of the process's rules: 'pass' (judged, failed by none), "
        "'fail' (a rule failed it); empty: all parts.",
    )
    rule = param.Integer(
        default=0,
        bounds=(0, None),
        doc="The rule (its id) the verdict is about; 0: every current rule of the process.",
    )
    reference = param.String(default="", doc="Serial of a reference (golden) part to overlay.")
    live = param.Selector(
        default="",
        objects=list(LIVE),
        doc="Follow the line: curves started in the last 15 min ('15m'), hour ('1h') or this "
        "shift ('shift'), the window sliding with the clock (From and Until set aside); "
        "empty: off.",
    )

    # Filter parameters that are lists of values, in URL order.
    LISTS: ClassVar[tuple[str, ...]] = ("plant", "line", "station", "program", "shift", "result")
    TEXTS: ClassVar[tuple[str, ...]] = ("project", "process", "serial", "start", "end", "reference")
    FILTERS: ClassVar[tuple[str, ...]] = (
        "project",
        "process",
        *LISTS,
        "serial",
        "start",
        "end",
        "verdict",
        "rule",
    )
    FLAGS: ClassVar[tuple[str, ...]] = ("envelope", "side_by_side")  # in the URL as "1"

    def __init__(self, clock: Callable[[], datetime] | None = None, **params: Any) -> None:
        """``clock`` tells the time for relative windows (tests fix it); default: now."""
        super().__init__(**params)
        self.clock = clock or (lambda: datetime.now(UTC))
        # The current rules of a project's process (the page sets it from the metadata store).
        self.rules_of: Callable[[str, str], list[Rule]] = lambda _project, _process: []
        # The last process's rules: the plot, the verdict picker and the parts list share one
        # read of the metadata store (renders read it on their own thread).
        self._rules_lock = threading.Lock()
        self._rules_memo: tuple[tuple[str, str], list[Rule]] = (("", ""), [])

    def rules_for(self, project: str, process: str, fresh: bool = False) -> list[Rule]:
        """The current rules of ``project``'s ``process``, read again only for another process
        or when ``fresh`` (a rule saved, a periodic look for rules made elsewhere)."""
        if not (project and process):
            return []
        key = (project, process)
        with self._rules_lock:
            if not fresh and self._rules_memo[0] == key:
                return list(self._rules_memo[1])
        rules = list(self.rules_of(project, process))
        with self._rules_lock:
            self._rules_memo = (key, rules)
        return list(rules)

    def current_rules(self, fresh: bool = False) -> list[Rule]:
        """The current rules of the process in view (none without a project and process)."""
        return self.rules_for(self.project, self.process, fresh)

    def judged_by(self) -> dict:
        """The verdict part of the filter: the chosen rule, or every current rule of the
        process (none: a verdict filter then matches no part)."""
        if not (self.verdict or self.rule):
            return {}
        return {"verdict": self.verdict, "rules": self.judging_rules()}

    def judging_rules(self) -> tuple[int, ...]:
        """The rules whose verdicts filter and colour: the chosen one, or every current rule
        of the process."""
        rules = (self.rule,) if self.rule else tuple(r.rule_id for r in self.current_rules())
        return tuple(r for r in rules if r)

    def curve_filter(self) -> CurveFilter:
        """The pipelines' filter; raises :class:`FilterError` naming a bad field."""
        equals = {name: list(getattr(self, name)) for name in self.LISTS}
        for name in ("project", "process"):
            if getattr(self, name):
                equals[name] = [getattr(self, name)]
        judged = self.judged_by()  # a verdict with no rule to give it matches no part
        if self.live:
            return CurveFilter.of(serial=self.serial, start=self.live_start(), **judged, **equals)
        start, end = self.start, self.end
        return CurveFilter.of(serial=self.serial, start=start, end=end, **judged, **equals)

    def live_start(self) -> datetime:
        """Where the live window begins now, to the whole second: sessions following the same
        line at the same moment ask for the same picture, so they share it."""
        now = self.clock().astimezone(UTC).replace(microsecond=0)
        if self.live in _LIVE_SPANS:
            return now - _LIVE_SPANS[self.live]
        shifts = load_plants().shifts_of(self.plant_in_view())
        start, _ = relative_window(
            "shift",
            now=now,
            zone=self.display_zone(),
            shift_starts=shifts.clock,
            shift_zone=shifts.zone,
        )
        return start

    def view(self, width: int, height: int) -> View:
        return View(
            x_range=self.x_range,
            y_range=self.y_range,
            width=width,
            height=height,
            color_by=self.color_by or None,
            verdict_rules=self.judging_rules() if self.color_by == BY_VERDICT else (),
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
        for name in ("color_by", "cmap", "norm", "zone", "live", "verdict"):
            if getattr(self, name) != self.param[name].default:
                query[name] = getattr(self, name)
        if self.rule:
            query["rule"] = str(self.rule)
        for name in self.FLAGS:
            if getattr(self, name):
                query[name] = "1"
        return query

    def from_query(self, query: dict[str, str]) -> None:
        """Apply URL query parameters (all or nothing); raises :class:`FilterError` for a value
        the state cannot hold, naming the parameter."""
        values: dict[str, Any] = {}
        for name in self.TEXTS:
            if name in query:
                values[name] = query[name]
        if "zone" in query:
            values["zone"] = _checked_zone(query["zone"])
        for name in self.LISTS:
            if name in query:
                values[name] = [v for v in query[name].split(",") if v]
        for key, name in (("x", "x_range"), ("y", "y_range")):
            if key in query:
                values[name] = _decode_range(query[key], key)
        if "rule" in query:
            try:
                values["rule"] = int(query["rule"] or 0)
            except ValueError:
                raise FilterError(f"rule must be a rule's id, not {query['rule']!r}") from None
            if values["rule"] < 0:
                raise FilterError(f"rule must be a rule's id, not {query['rule']!r}")
        for name in ("color_by", "cmap", "norm", "live", "verdict"):
            if name in query:
                allowed = self.param[name].objects
                if query[name] not in allowed:
                    choices = ", ".join(a or "(none)" for a in allowed)
                    raise FilterError(f"{name} must be one of {choices}, not {query[name]!r}")
                values[name] = query[name]
        for name in self.FLAGS:
            if name in query:
                values[name] = query[name] in ("1", "true", "yes")
        self.param.update(**values)

    def reset_view(self) -> None:
        self.param.update(x_range=None, y_range=None)

    # --- times on a plant's clocks ------------------------------------------------------------

    def plant_in_view(self) -> str | None:
        """The one plant the filter is on, or None."""
        return self.plant[0] if len(self.plant) == 1 else None

    def display_zone(self) -> str:
        """The IANA zone times are typed and shown in."""
        if self.zone != PLANT_ZONE:
            return self.zone
        return load_plants().zone(self.plant_in_view() or "") or "UTC"

    def shown_time(self, name: str) -> str:
        """``start`` or ``end`` on the display zone's clocks, as a person types it ("" if not
        set; the stored text if it cannot be read)."""
        stored = getattr(self, name)
        try:
            return local_text(parse_time(stored), self.display_zone()) if stored else ""
        except TimeInputError:
            return stored

    def enter_time(self, name: str, typed: str) -> None:
        """Set ``start`` or ``end`` from what a person typed, read on the display zone's
        clocks; "" clears it. Refused with :class:`FilterError` (nothing changes) for anything
        but ISO 8601, naming the field as the page does. Kept as typed when it says its moment
        on its own (UTC shown, or an offset given), otherwise stored in UTC."""
        typed = typed.strip()
        if not typed:
            setattr(self, name, "")
            return
        zone = self.display_zone()
        try:
            moment = parse_time(typed, zone)
        except TimeInputError as exc:
            raise FilterError(f"{TIME_FIELDS[name]}: {exc}") from None
        if getattr(self, name) and self._moment(name) == moment:
            return  # the same moment, perhaps written another way: keep the link as it is
        setattr(self, name, typed if parse_time(typed, "UTC") == moment else utc_text(moment))

    def apply_window(self, token: str) -> None:
        """Set ``start`` and ``end`` to a quick window (a key of :data:`~models.times.WINDOWS`)
        at the clock's now: "yesterday" on the display zone's clocks, "this shift" by the shifts
        of the plant in view (or the default ones). Stored resolved, in UTC: a shared link shows
        the same curves tomorrow."""
        if token not in WINDOWS:
            raise FilterError(f"no time window {token!r}; choose one of {', '.join(WINDOWS)}")
        shifts = load_plants().shifts_of(self.plant_in_view())
        start, end = relative_window(
            token,
            now=self.clock(),
            zone=self.display_zone(),
            shift_starts=shifts.clock,
            shift_zone=shifts.zone,
        )
        self.param.update(start=utc_text(start), end=utc_text(end))

    def _moment(self, name: str) -> datetime | None:
        try:
            return parse_time(getattr(self, name)) if getattr(self, name) else None
        except TimeInputError:
            return None


def _checked_zone(name: str) -> str:
    if name != PLANT_ZONE:
        try:
            zone_of(name)
        except TimeInputError as exc:
            raise FilterError(f"zone: {exc}, or {PLANT_ZONE!r}") from None
    return name
