"""What a dashboard's panels may hold, checked against what the app can draw: KPI metrics and
buckets of :mod:`pipelines.kpis`, SPC panels' curve features (the fixed ones, and the project's
configured ones as ``feature_<id>``, as the Quality page and ``GET …/spc`` name them), and
filters the Curve Explorer's own state can hold.

:mod:`models.dashboards` checks a panel's shape and place; this module checks its meaning, once,
for the page and the REST API alike (as :func:`app.explorer.saved.stored_query` does for a saved
view's state). A KPI or trend filter is written as the explorer's link writes filters
(``{"station": "S1,S2", "live": "shift"}``): ``live`` makes it follow the clock (the last 15
minutes, hour, or this shift), as the explorer's *Follow the line* does.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from app.explorer.state import LIVE, ExplorerState
from app.quality.charts import FEATURE_WORDS
from models import dashboards as stored
from models.access import Principal
from models.feature_definitions import project_features
from models.names import BadName
from models.tables import Project
from pipelines.configured import as_configured
from pipelines.features import Configured
from pipelines.kpis import BUCKETS, FIGURES
from pipelines.views import FilterError

# The figures a tile or a trend may show: (label, format of the value).
METRICS: dict[str, tuple[str, str]] = {
    "parts": ("Parts", "{:,.0f}"),
    "first_pass_yield": ("First-pass yield", "{:.1%}"),
    "nok_rate": ("NOK rate (curves)", "{:.1%}"),
    "parts_per_hour": ("Throughput (parts/h)", "{:,.1f}"),
    "cycle_median_s": ("Median cycle (s)", "{:.2f}"),
    "cycle_p90_s": ("Cycle, 90th percentile (s)", "{:.2f}"),
    "nok_parts": ("NOK parts", "{:,.0f}"),
    "curves": ("Curves", "{:,.0f}"),
}
assert set(METRICS) <= set(FIGURES)
# The explorer's URL keys a filter may use: its filters, and the live window.
FILTER_KEYS = (*(k for k in ExplorerState.FILTERS if k != "project"), "live")
BUCKET_WORDS = {"hour": "per hour", "shift": "per shift", "day": "per day", "week": "per week"}
# New panels' sizes (columns, rows of the 12-column grid).
SIZES = {"view": (6, 4), "kpi": (3, 2), "trend": (6, 3), "spc": (6, 4)}


def checked_filter(query: Mapping[str, str], project: str) -> dict[str, str]:
    """A KPI or trend filter as kept: the explorer's URL form of its filter keys, checked by a
    round trip through its state (a time it cannot read, a value it cannot hold are refused
    with :class:`FilterError` naming the key)."""
    unknown = sorted(set(query) - set(FILTER_KEYS))
    if unknown:
        raise FilterError(
            f"{', '.join(unknown)}: not a filter of a KPI panel (they are {', '.join(FILTER_KEYS)})"
        )
    state = ExplorerState()
    state.from_query({**query, "project": project})
    state.curve_filter()
    return {k: v for k, v in state.to_query().items() if k in FILTER_KEYS}


def configured_features(session: Session, actor: Principal, project: Project) -> list[Configured]:
    """The project's working configured features, which an SPC panel may chart beside the fixed
    ones (``actor`` views the project, else :class:`models.access.NotFound`)."""
    return [as_configured(d) for d in project_features(session, actor, project)]


def feature_choices(configured: Sequence[Configured]) -> dict[str, str]:
    """An SPC panel's features, key -> words for a picker: the fixed ones, then each configured
    one by its name, process and what it computes (as the Quality page's picker)."""
    return {
        **FEATURE_WORDS,
        **{c.column: f"{c.name} ({c.process}: {c.describe()})" for c in configured},
    }


def spc_features(panels: Sequence[Mapping[str, Any]]) -> set[str]:
    """The features SPC panels of ``panels`` (a dashboard as stored) chart: ``kept`` of
    :func:`checked_panels`."""
    return {p["metric"] for p in panels if p.get("kind") == "spc"}


def _check_feature(
    n: int,
    panel: Mapping[str, Any],
    project: str,
    configured: Mapping[str, Configured],
    kept: Collection[str],
) -> None:
    """An SPC panel's feature: a fixed one, or one of the project's working configured ones of
    the process its filter names (if it names one). A configured feature already on the
    dashboard (``kept``) and retired since stays: its panel says so, as a deleted view's does."""
    metric = panel["metric"]
    if metric in FEATURE_WORDS or (metric in kept and metric not in configured):
        return
    feature = configured.get(metric)
    if feature is None:
        own = ", ".join(f"{c.column} ({c.name})" for c in configured.values()) or "none yet"
        raise BadName(
            f"Panel {n}: no curve feature {metric!r} in project {project!r}; choose one of "
            f"{', '.join(FEATURE_WORDS)}, or one of its configured features: {own}."
        )
    process = panel["filter"].get("process")
    if process and process != feature.process:
        raise BadName(
            f"Panel {n}: {feature.name!r} is a feature of process {feature.process!r}, and the "
            f"panel's filter is of process {process!r}; filter by {feature.process!r} or by "
            "no process."
        )


def checked_panels(
    panels: Sequence[Any],
    project: str,
    configured: Sequence[Configured] = (),
    kept: Collection[str] = (),
) -> list[dict[str, Any]]:
    """``panels`` in the form a dashboard keeps, once their shape, places, metrics, features,
    buckets and filters are ones the app can draw; :class:`BadName` or :class:`FilterError`
    say which panel is wrong and why. ``configured``: the project's working configured
    features (:func:`configured_features`); ``kept``: the features of the SPC panels the
    dashboard has now (:func:`spc_features`), which may have been retired since."""
    out = stored.checked_panels(panels)
    by_column = {c.column: c for c in configured}
    for n, panel in enumerate(out, 1):
        if panel["kind"] == "view":
            continue
        if panel["kind"] != "spc" and panel["metric"] not in METRICS:
            raise BadName(
                f"Panel {n}: no metric {panel['metric']!r}; choose one of {', '.join(METRICS)}."
            )
        if panel["kind"] == "trend" and panel["bucket"] not in BUCKETS:
            raise BadName(
                f"Panel {n}: no time bucket {panel['bucket']!r}; choose one of "
                f"{', '.join(BUCKETS)}."
            )
        try:
            panel["filter"] = checked_filter(panel["filter"], project)
        except FilterError as exc:
            raise FilterError(f"Panel {n}: {exc}") from None
        if panel["kind"] == "spc":
            _check_feature(n, panel, project, by_column, kept)
    return out


def describe(
    panel: Mapping[str, Any],
    view_names: Mapping[int, str],
    configured: Sequence[Configured] = (),
) -> str:
    """A panel's heading when it has no title of its own: "NOK rate (curves) · station S1 ·
    this shift", "Parts per hour", the saved view's name, or "force at 5 mm, individuals
    chart" (``configured``: the project's configured features, by their names)."""
    if panel.get("title"):
        return panel["title"]
    if panel["kind"] == "view":
        return view_names.get(panel["view_id"], f"Saved view {panel['view_id']}")
    if panel["kind"] == "spc":
        names = {**FEATURE_WORDS, **{c.column: c.name for c in configured}}
        metric = panel["metric"]
        words = [f"{names.get(metric, metric.replace('_', ' ', 1))}, individuals chart"]
    else:
        words = [METRICS[panel["metric"]][0]]
    if panel["kind"] == "trend":
        words[0] += " " + BUCKET_WORDS[panel["bucket"]]
    filters = dict(panel.get("filter", {}))
    live = filters.pop("live", "")
    words += [f"{k} {v.replace(',', ', ')}" for k, v in filters.items()]
    if live:
        words.append(LIVE[live].lower())
    return " · ".join(words)


def formatted(metric: str, value: float | None) -> str:
    """A figure as a tile shows it ("–" when there is none, e.g. no judged part)."""
    if value is None:
        return "–"
    return METRICS[metric][1].format(value)


def free_place(panels: Sequence[Mapping[str, Any]], w: int, h: int) -> tuple[int, int]:
    """Where a new ``w`` × ``h`` panel goes: the first free place, row by row from the top
    left, under the others if nothing is free beside them."""
    taken = {
        (x, y)
        for p in panels
        for x in range(p["x"], p["x"] + p["w"])
        for y in range(p["y"], p["y"] + p["h"])
    }
    w = min(w, stored.COLUMNS)
    for y in range(stored.MAX_ROWS - h + 1):
        for x in range(stored.COLUMNS - w + 1):
            cells = ((i, j) for i in range(x, x + w) for j in range(y, y + h))
            if not any(c in taken for c in cells):
                return x, y
    raise BadName(f"The dashboard has no free place of {w} × {h} cells left.")
