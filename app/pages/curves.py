"""Curves: the Curve Explorer, the page Curvehouse opens on.

Serve it alone with ``panel serve app/pages/curves.py`` or through ``curvehouse serve``. The
URL's query string (``?station=S1&x=0,12``) reopens a shared view.
"""

from __future__ import annotations

from urllib.parse import quote

import holoviews as hv
import panel as pn

from app.auth.session import current_principal, sign_in_required
from app.explorer import saved
from app.explorer.explorer import CurveExplorer
from app.homes.notice import HomeNotice
from app.markup import text
from app.pages import panel_serve_services, served, session_query
from app.rule_runs import freeze, process_rules, start
from app.services import Services
from app.shell import shell
from models.access import (
    Action,
    Principal,
    allows,
    people_who_may,
    readable_projects,
    record_export,
    visible_projects,
)
from models.rules import create_rule
from pipelines.homes import Home, Homes, HomeUnavailable
from pipelines.sources import MemorySamples
from providers.errors import ProviderError

hv.extension("bokeh", logo=False)


def page(services: Services) -> pn.template.BaseTemplate:
    """A fresh explorer for one session, showing the curves of the viewer's projects; zooms
    draw from the process's hot cache."""
    actor = current_principal(services)
    if actor is None:
        return shell("curves", [sign_in_required()])
    asked = session_query()
    query, said = saved.opening(services, actor, asked)  # ?view=<id>: its state
    shown, elsewhere = explore(services, actor, query)
    sidebar = shown.controls.sidebar() if isinstance(shown, CurveExplorer) else None
    if sidebar is not None:
        views = saved.SavedViews(services, actor, shown.state, message=said)
        sidebar[:0] = views.sidebar(expanded=saved.VIEW_KEY in asked)
    return shell("curves", [elsewhere, shown], sidebar=sidebar)


def explore(
    services: Services, actor: Principal, query: dict[str, str]
) -> tuple[CurveExplorer | HomeNotice, pn.viewable.Viewable]:
    """The explorer of ``actor``'s projects on one home (``?project=``'s), or the words that
    home cannot answer with; and links to the projects living elsewhere."""
    store = services.metadata

    def record(kind: str, projects: tuple[str, ...] | None) -> None:
        with store.sessions() as session:
            record_export(session=session, actor=actor, kind=kind, projects=projects)
            session.commit()

    with store.sessions() as session:
        readable = readable_projects(session, actor)
    homes = services.homes
    home, projects, elsewhere = choose_home(homes, readable, query.get("project", ""))
    try:
        first = homes.store(home, project=projects[0] if projects else None)
    except HomeUnavailable as refusal:
        return HomeNotice(services, actor, refusal), elsewhere
    except ProviderError:  # the built-in engine is down: the explorer says so in its words
        first = None
    clients = [] if first is None else [first.client]

    def client():  # the session's three clients: the first was opened to check the home
        return clients.pop() if clients else homes.store(home).client

    explorer = CurveExplorer(
        client_factory=client,
        database=services.settings.database if first is None else first.database,
        samples=MemorySamples(services.hot, scope=home.key, live=services.following),
        query=query,
        projects=projects,
        on_export=record,
        empty_advice=lambda project: empty_advice(services, actor, project),
        rules_of=lambda project, process: process_rules(services, actor, project, process),
        save_rule=lambda *rule: save_rule(services, actor, *rule),
        may_make_rules=lambda project: may_make_rules(services, actor, project),
    )
    return explorer, elsewhere


def save_rule(
    services: Services,
    actor: Principal,
    name: str,
    project: str,
    process: str,
    kind: str,
    params: dict,
    programs: list[str],
) -> None:
    """A rule drawn on the raster, made as the REST API makes one: the role checked, an audit
    row written; refused with words (PermissionError, ValueError)."""
    with services.metadata.sessions() as session:
        found = next((p for p, _ in visible_projects(session, actor) if p.name == project), None)
        if found is None:
            raise PermissionError(f"There is no project {project!r} you may see.")
        rule = create_rule(
            session=session,
            actor=actor,
            project=found,
            name=name,
            process=process,
            kind=kind,
            params=params,
            programs=programs,
        )
        judging = freeze(session, rule)  # it judges the process's stored parts at once
        session.commit()
    start(services, judging)


def may_make_rules(services: Services, actor: Principal, project: str) -> bool:
    """Whether ``actor`` may make rules in ``project`` (engineers and above)."""
    with services.metadata.sessions() as session:
        role = next((r for p, r in visible_projects(session, actor) if p.name == project), None)
        return actor.is_operator or allows(role, Action.EDIT_RULES)


def empty_advice(services: Services, actor: Principal, project: str) -> str:
    """What ``actor`` can do in the app about ``project`` having no curves: upload a file on
    its page, or, without the role for that, whom to ask."""
    with services.metadata.sessions() as session:
        found = {p.name: (p, role) for p, role in visible_projects(session, actor)}.get(project)
        role = found[1] if found else None
        may_import = actor.is_operator or allows(role, Action.IMPORT_DATA)
        admins = [
            f"{text(u.display_name)} ({text(u.email)})"
            for u in (
                people_who_may(session, found[0].id, Action.MANAGE_MEMBERS)
                if found and not may_import
                else ()
            )
        ]
    said = f"**No curves in project “{text(project)}” yet.** "
    if may_import:
        return said + (
            f"Drag a CSV or Parquet file onto [the project's page](/projects?project="
            f"{quote(project)}) to import it: one row per sample (`curve_key, x, y`, plus "
            "optional columns such as `station`, `result`, `started_at`; the README lists them "
            "all). The curves appear here once they are stored."
        )
    return said + (
        f"Your role here is {role}: you can look at curves but not import them. Ask "
        f"{' or '.join(admins) or 'a project owner'} to import curves, or to make you an "
        "engineer so you can upload files yourself."
    )


def choose_home(
    homes: Homes, readable: tuple[str, ...] | None, wanted: str
) -> tuple[Home, tuple[str, ...] | None, pn.viewable.Viewable]:
    """The home this session explores (one per tab: the hot cache, picks and percentiles do
    not merge across databases), the projects it shows there, and links to the others.

    The home of ``?project=`` when the viewer may read it, else that of their first project on
    the built-in engine, else their first project's. The operator (``readable`` None) sees every
    label on the built-in engine, or the projects living on the chosen cluster."""
    by_home = homes.grouped(readable) if readable is not None else homes.on_clusters()
    if readable is not None and not by_home:
        by_home = {homes.builtin: []}
    chosen = homes.builtin if readable is None or homes.builtin in by_home else next(iter(by_home))
    if wanted and (readable is None or wanted in readable):
        chosen = homes.of(wanted)
    projects = None if readable is None and chosen.builtin else tuple(by_home.get(chosen, ()))
    others = [
        f"[{text(name)}](/curves?project={quote(name)}) on {text(h.label)}"
        for h, names in by_home.items()
        if h != chosen
        for name in names
    ]
    if readable is None and not chosen.builtin:
        others.insert(0, "[the built-in engine's curves](/curves)")
    line = (
        "Your projects on other homes (one home per tab): " + " · ".join(others) if others else ""
    )
    return chosen, projects, pn.pane.Markdown(line, visible=bool(others), name="other-homes")


if served(__name__):
    pn.extension("tabulator")
    page(panel_serve_services()).servable()
