"""Dashboards: a project's grids of saved views drawn live, KPI tiles and trends.

``/dashboards?project=line-7`` lists the project's dashboards (the person's own and the shared
ones) and makes new ones; ``/dashboards?dashboard=12`` opens one (the API's ``link``).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import holoviews as hv
import panel as pn

from app.auth.session import current_principal, sign_in_required
from app.dashboards.board import DashboardBoard
from app.markup import text
from app.pages import panel_serve_services, served, session_query
from app.services import Services
from app.shell import shell
from models import dashboards as stored
from models.access import AccessError, Action, Principal, allows, visible_projects
from models.accounts import NameTaken
from models.names import BadName
from models.tables import Project
from pipelines.curves import Curves
from pipelines.homes import HomeUnavailable
from pipelines.sources import MemorySamples
from providers.errors import ProviderError

hv.extension("bokeh", logo=False)

SLUG = "dashboards"
NONE_YET = (
    "**No dashboards yet** — add saved views, KPI tiles, trends or SPC charts: name a "
    "dashboard on the left and press *New dashboard*."
)


def page(services: Services) -> pn.template.BaseTemplate:
    """The dashboards of ``?project=`` (or of ``?dashboard=``'s project, or the person's first
    with dashboards, or with most curves), and the one ``?dashboard=`` names, open."""
    actor = current_principal(services)
    if actor is None:
        return shell(SLUG, [sign_in_required()])
    query = session_query()
    with services.metadata.sessions() as session:
        projects = [
            p
            for p, role in visible_projects(session, actor)
            if actor.is_operator or allows(role, Action.VIEW)
        ]
        if not projects:
            words = "**You are in no project yet.** Ask a project's owner to add you."
            return shell(SLUG, [pn.pane.Markdown(words)])
        wanted_board = query.get("dashboard", "")
        board_id, board_project, missing = None, None, ""
        if wanted_board:
            board_id, board_project = _opened(session, actor, wanted_board)
            if board_id is None:
                missing = (
                    f"**There is no dashboard {text(wanted_board)}, or it is not shared with you.**"
                )
        by_name = {p.name: p for p in projects}
        if board_id is not None:
            project = next(p for p in projects if p.id == board_project)
        else:
            wanted = query.get("project", "")
            if wanted and wanted not in by_name:
                words = f"**No project “{text(wanted)}” that you may see.**"
                return shell(SLUG, [pn.pane.Markdown(words)])
            project = by_name.get(wanted) or _first_with_dashboards(
                session, actor, projects, lambda: services.homes.busiest(by_name)
            )
        listed = [
            (b.id, b.name, b.shared) for b in stored.project_dashboards(session, actor, project)
        ]
        session.expunge(project)
    picker = pn.widgets.Select(
        label="Project", options=list(by_name), value=project.name, sizing_mode="stretch_width"
    )
    picker.param.watch(lambda e: _go({"project": e.new}), "value")
    sidebar = [picker, _listing(listed, board_id), *_new_form(services, actor, project)]
    if board_id is None:
        main = [pn.pane.Markdown(missing or (NONE_YET if not listed else _choose(listed)))]
        return shell(SLUG, main, sidebar=sidebar, wide=True)
    try:
        reader = _reader(services, project.name)
    except (HomeUnavailable, ProviderError) as refusal:
        return shell(SLUG, [pn.pane.Markdown(text(str(refusal)))], sidebar=sidebar)
    board = DashboardBoard(
        services=services,
        actor=actor,
        project=project,
        board_id=board_id,
        reader=reader,
        on_deleted=lambda: _go({"project": project.name}),
    )
    return shell(SLUG, [board], sidebar=[*sidebar, *board.sidebar()], wide=True)


def _first_with_dashboards(
    session, actor: Principal, projects: list[Project], busiest: Callable[[], str | None]
) -> Project:
    """The project a bare ``/dashboards`` shows: the first with a dashboard for ``actor``,
    else the one with most curves (``busiest()``, asked only then), where a first dashboard
    has something to show, else the first."""
    for project in projects:
        if stored.project_dashboards(session, actor, project):
            return project
    most = busiest()
    return next((p for p in projects if p.name == most), projects[0])


def _opened(session, actor: Principal, wanted: str) -> tuple[int | None, int | None]:
    """The id and project id of the dashboard ``?dashboard=`` names, if ``actor`` may open it."""
    if not wanted.isdigit() or len(wanted) > 18:
        return None, None
    try:
        board = stored.find_dashboard(session, actor, int(wanted))
    except AccessError:
        return None, None
    return board.id, board.project_id


def _reader(services: Services, project: str) -> Callable[[], Curves]:
    """A function opening a reader of ``project``'s curves on an engine client of its own
    (the first on the client that checked the home can answer)."""
    homes = services.homes
    home = homes.of(project)
    first = homes.store(home, project=project)  # refuses now for a home that cannot answer
    samples = MemorySamples(services.hot, scope=home.key, live=services.following)
    clients = [first.client]

    def reader() -> Curves:
        client = clients.pop() if clients else homes.store(home).client
        return Curves(client, first.database, projects=(project,), source=samples)

    return reader


def _listing(listed: list[tuple[int, str, bool]], open_id: int | None) -> pn.pane.Markdown:
    if not listed:
        return pn.pane.Markdown("#### Dashboards\nNone yet.", name="dashboard-list")
    lines = []
    for board_id, name, shared in listed:
        link = f"[{text(name)}](./{SLUG}?{urlencode({'dashboard': board_id})})"
        shown = f"**{link}**" if board_id == open_id else link
        lines.append(f"- {shown} · {'shared' if shared else 'private'}")
    return pn.pane.Markdown("#### Dashboards\n" + "\n".join(lines), name="dashboard-list")


def _choose(listed: list[tuple[int, str, bool]]) -> str:
    many = f"{len(listed)} dashboard{'' if len(listed) == 1 else 's'}"
    return f"**{many}** in this project: open one on the left."


def _new_form(services: Services, actor: Principal, project: Project) -> list:
    """A name and *New dashboard*: an empty private dashboard, opened at once."""
    name = pn.widgets.TextInput(
        label="New dashboard", placeholder="e.g. Line 1, mornings", sizing_mode="stretch_width"
    )
    button = pn.widgets.Button(label="New dashboard", color="primary", sizing_mode="stretch_width")
    said = pn.pane.Markdown("", margin=(0, 10))

    def make(_event) -> None:
        with services.metadata.sessions() as session:
            try:
                board = stored.create_dashboard(
                    session=session,
                    actor=actor,
                    project=session.get(Project, project.id),
                    name=name.value,
                )
                session.commit()
            except (AccessError, BadName, NameTaken) as exc:
                said.object = text(str(exc))
                return
            _go({"dashboard": board.id})

    button.on_click(make)
    return [name, button, said]


def _go(query: dict) -> None:
    """Open another page of dashboards (a new session: its grid and clients are its own)."""
    location = pn.state.location
    if location is not None:
        location.reload = True
        location.search = "?" + urlencode(query)


if served(__name__):
    pn.extension("gridstack")
    page(panel_serve_services()).servable()
