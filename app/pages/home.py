"""Landing page: what is stored, where it came from, and what the curves look like.

Serve it alone with ``panel serve app/pages/home.py`` or through ``curvehouse serve``.
"""

from __future__ import annotations

import shlex
from urllib.parse import quote

import holoviews as hv
import pandas as pd
import panel as pn
import param
from bokeh.models.widgets.tables import NumberFormatter

from app.auth.session import current_principal, sign_in_required
from app.figures import noted_figure
from app.homes.notice import HomeNotice
from app.markup import code, text
from app.pages import panel_serve_services, served
from app.part.links import explorer_link
from app.plot_hooks import Ranges, follow_ranges
from app.services import Services
from app.shell import shell
from models.access import Principal, readable_projects
from models.wording import counted
from pipelines.curves import Curves, Overview
from pipelines.drawing import draw
from pipelines.homes import Home, HomeUnavailable
from pipelines.previews import PREVIEW_CURVES, Preview, previews
from pipelines.render import dynamic
from pipelines.views import BREAKDOWN_COLUMNS, NEWEST_COLUMNS
from providers import ProviderError

hv.extension("bokeh", logo=False)

PREVIEW_HEIGHT = 280
PREVIEW_DELAY_MS = 60
# The breakdown's columns that open the explorer filtered to their row (each link is a hidden
# column of its own, read by Tabulator's link formatter, which writes the value as text).
LINKED = ("plant", "line", "station")


def explorer_links(frame: pd.DataFrame) -> pd.DataFrame:
    """For each breakdown row, the explorer filtered to its plant, its line and its station
    (``plant_link``, ``line_link``, ``station_link``). A station's link names its process; a
    line's or a plant's names the process with most curves there: the explorer shows one
    process (one x quantity) at a time."""
    links = pd.DataFrame(index=frame.index)
    if frame.empty:
        return links.assign(**{f"{c}_link": pd.Series(dtype=str) for c in LINKED})
    keys = ["project"]
    for level in LINKED:
        keys = [*keys, level]
        top = frame.loc[frame.groupby(keys)["curves"].idxmax(), [*keys, "process"]]
        chosen = frame[keys].merge(top, on=keys, how="left")["process"]
        links[f"{level}_link"] = [
            explorer_link(row.project, process=process, **{k: getattr(row, k) for k in keys[1:]})
            for row, process in zip(frame[keys].itertuples(), chosen, strict=True)
        ]
    return links


class HomePage(pn.viewable.Viewer):
    """Summary of the stored curves for one session."""

    preview_curves = param.Integer(
        default=PREVIEW_CURVES, bounds=(10, 20_000), doc="Newest curves drawn per process."
    )

    def __init__(
        self,
        *,
        services: Services,
        projects: tuple[str, ...] | None = None,
        home: Home | None = None,
        actor: Principal | None = None,
        **params,
    ) -> None:
        """``projects``: the only projects whose curves this person may see (None: all), all
        living on ``home`` (None: the built-in engine)."""
        super().__init__(**params)
        self._projects = projects
        self._database = services.settings.database
        self._error: str | None = None
        self._refusal: pn.viewable.Viewable | None = None
        self._client = None
        home = home or services.homes.builtin
        self._hot, self._scope = services.hot, home.key
        try:
            store = services.homes.store(home)
            self._client, self._database = store.client, store.database
        except HomeUnavailable as exc:
            self._refusal = HomeNotice(services, actor, exc) if actor else None
            self._error = str(exc)
        except ProviderError as exc:
            self._error = str(exc)
        if self._client is not None and pn.state.curdoc is not None:
            client = self._client
            pn.state.on_session_destroyed(lambda _ctx: client.close())

    def _kpis(self, overview: Overview, bytes_per_point: float | None) -> pn.FlexBox:
        """The figures, each named for what it counts: a part (a serial) passes several
        stations with one curve at each, so rejected parts and NOK curves differ."""
        days = (overview.last - overview.first).total_seconds() / 86_400
        span = (days, "{value:.1f} days") if days >= 1 else (days * 24, "{value:.1f} hours")
        dates = f"{overview.first:%Y-%m-%d} → {overview.last:%Y-%m-%d} UTC"
        projects = counted(overview.projects, "project")
        storage = bytes_per_point or None
        return pn.FlexBox(
            noted_figure("Curves", overview.curves, "{value:,}", "one per part and station"),
            noted_figure(
                "Parts", overview.parts, "{value:,}", "by serial; a curve without one is a part"
            ),
            noted_figure(
                "First-pass yield",
                overview.first_pass_yield,
                "{value:.1%}",
                f"parts without a NOK curve; {counted(overview.rejected_parts, 'rejected part')}",
            ),
            noted_figure(
                "NOK curves",
                overview.nok_rate,
                "{value:.1%}",
                f"{overview.nok:,} of {counted(overview.curves, 'curve')}",
            ),
            noted_figure("Samples", overview.points, "{value:,}", "stored points"),
            noted_figure("Datasets", overview.datasets, "{value:,}", projects),
            noted_figure("Time span", *span, dates),
            noted_figure(
                "Storage", storage, "{value:.2f} B/pt", "compressed, x and y, with levels"
            ),
        )

    def _breakdown(self, breakdown: pd.DataFrame, links: pd.DataFrame) -> pn.widgets.Tabulator:
        """Curves per plant, line and station, in groups by plant (by project when there are
        several); each plant, line and station opens the explorer filtered to it. Tabulator
        writes a group's header as HTML, so the grouping column holds the value as text
        (:func:`~app.markup.text`) and is hidden: the header names the group."""
        several = breakdown["project"].nunique() > 1
        columns = list(BREAKDOWN_COLUMNS if several else BREAKDOWN_COLUMNS[1:])
        frame = breakdown[columns].replace({c: {"": "(none)"} for c in LINKED})
        frame = pd.concat([frame, links], axis=1)
        group = "project" if several else "plant"
        frame[group] = frame[group].map(text)
        linked = [c for c in LINKED if c != group]
        return pn.widgets.Tabulator(
            frame,
            groupby=[group],
            hidden_columns=[group, *links.columns],
            show_index=False,
            disabled=True,
            layout="fit_data_table",
            formatters={
                "nok_rate": NumberFormatter(format="0.0%"),
                "points": NumberFormatter(format="0,0"),
                "curves": NumberFormatter(format="0,0"),
                **{c: {"type": "link", "urlField": f"{c}_link"} for c in linked},
            },
            titles={"ok": "OK", "nok": "NOK", "nok_rate": "NOK rate"},
            sizing_mode="stretch_width",
        )

    def _plants(self, breakdown: pd.DataFrame, links: pd.DataFrame) -> pn.pane.Markdown:
        """The plants, each a link to the explorer filtered to it (with one project the table
        groups by plant, and a group's header is no link)."""
        first = breakdown.assign(link=links["plant_link"]).drop_duplicates(["project", "plant"])
        several = breakdown["project"].nunique() > 1
        entries = [
            f"[{text(row.plant or '(none)')}"
            + (f" ({text(row.project)})" if several else "")
            + f"]({row.link})"
            for row in first.itertuples()
        ]
        return pn.pane.Markdown(
            "Open in the explorer: " + " · ".join(entries) + " (or a line or station below)",
            name="plant-links",
            margin=(0, 10),
        )

    def _newest(self, curves: Curves) -> pn.widgets.Tabulator:
        frame = curves.metadata(25, columns=NEWEST_COLUMNS)
        frame["started_at"] = pd.to_datetime(frame["started_at"]).dt.strftime("%Y-%m-%d %H:%M:%S")
        return pn.widgets.Tabulator(
            frame,
            titles={
                "started_at": "started (UTC)",
                "part_serial": "serial",
                "point_count": "points",
            },
            formatters={"point_count": NumberFormatter(format="0,0")},
            show_index=False,
            disabled=True,
            layout="fit_data_table",
            sizing_mode="stretch_width",
            height=420,
        )

    def _preview(self, process: str, kept: Preview | None) -> pn.viewable.Viewable:
        """Distinct curves per pixel of the newest curves; zooming redraws from memory."""
        if kept is None:
            return pn.pane.Markdown(f"No {text(process or 'unlabelled')} curves stored.")
        curves, home, first = kept
        ranges = Ranges()

        def render(x_range, y_range):
            return first if x_range is None else draw(curves, home.zoomed(x_range, y_range))

        return dynamic(
            render,
            ranges=ranges,
            hooks=[follow_ranges(ranges)],
            colorbar=False,
            tools=["hover"],
            responsive=True,
            height=PREVIEW_HEIGHT,
            title=f"{process or '(no process)'}: newest {counted(len(curves), 'curve')}",
            bgcolor="white",
        )

    def __panel__(self) -> pn.viewable.Viewable:
        if self._refusal is not None:
            return self._refusal
        if self._error:
            return pn.pane.Alert(
                f"**The curve store is not available.** {text(self._error)}", alert_type="danger"
            )
        curves = Curves(self._client, self._database, projects=self._projects)
        overview = curves.overview()
        if overview.empty:
            return pn.pane.Markdown(empty_store(self._projects), name="empty")
        kept = previews(
            self._hot,
            self._client,
            self._database,
            projects=self._projects,
            newest=self.preview_curves,
            scope=self._scope,
        )
        slots = {p: pn.Column(width=440, min_height=PREVIEW_HEIGHT, loading=True) for p in kept}

        def show_previews() -> None:
            for process, slot in slots.items():
                slot.param.update(objects=[self._preview(process, kept[process])], loading=False)

        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            # Drawn just after the page went out, once its scripts and styles are sent (the
            # same thread serves them): the plots, most of the page's work, are then made
            # while the browser runs those scripts.
            pn.state.curdoc.add_timeout_callback(show_previews, PREVIEW_DELAY_MS)
        else:
            show_previews()
        breakdown = curves.breakdown()
        links = explorer_links(breakdown)
        return pn.Column(
            self._kpis(overview, curves.bytes_per_point(overview.points)),
            pn.pane.Markdown("### Curve shapes"),
            pn.FlexBox(*slots.values()),
            pn.pane.Markdown("### Curves per plant, line and station"),
            self._plants(breakdown, links),
            self._breakdown(breakdown, links),
            pn.pane.Markdown("### Newest curves"),
            self._newest(curves),
            sizing_mode="stretch_width",
        )


def empty_store(projects: tuple[str, ...] | None) -> str:
    """How to get curves into ``projects`` (None: the operator, every project): in the app
    first, on each project's page; then from a terminal, naming the first project."""
    if projects:
        pages = " · ".join(f"[{text(p)}](/projects?project={quote(p)})" for p in projects)
        where = f"Drop a CSV or Parquet file on your project's page to import it: {pages}."
    else:
        where = (
            "Create a project on the [Projects page](/projects) and drop a CSV or Parquet file "
            "on it to import it."
        )
    label = shlex.quote(projects[0]) if projects else "line-7"
    terminal = f"curvehouse demo --project {label}\ncurvehouse ingest curves.csv --project {label}"
    return (
        f"## No curves stored yet\n\n{where} Files are long format (`curve_key, x, y`, plus "
        "optional columns such as `station`, `result`, `started_at`); the README lists them "
        "all.\n\nOn the machine that runs Curvehouse, the 10,000-curve demo plant or a file "
        f"can also be stored from a terminal:\n\n{code(terminal, block='bash')}"
    )


def page(services: Services) -> pn.template.BaseTemplate:
    """A fresh landing page for one session, over the viewer's projects: one section per
    place their curves live in, so a stopped cluster hides only its own projects."""
    actor = current_principal(services)
    if actor is None:
        return shell("home", [sign_in_required()])
    with services.metadata.sessions() as session:
        projects = readable_projects(session, actor)
    homes = services.homes
    if projects is None:  # the operator: every label on the built-in engine, and each cluster
        by_home = {homes.builtin: None, **homes.on_clusters()}
    else:
        by_home = homes.grouped(projects) or {homes.builtin: []}
    sections = []
    for home, names in by_home.items():
        shown = None if names is None else tuple(names)
        if len(by_home) > 1:
            listed = "all projects" if shown is None else ", ".join(shown)
            sections.append(pn.pane.Markdown(f"## On {text(home.label)}: {text(listed)}"))
        sections.append(HomePage(services=services, projects=shown, home=home, actor=actor))
    return shell("home", sections)


if served(__name__):
    pn.extension("tabulator")
    page(panel_serve_services()).servable()
