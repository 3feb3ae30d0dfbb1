"""Board: one tile per station of a project, for a TV at the line and a phone in a pocket.

``/board?project=line-7`` (``&line=LEJ-L1`` for one line's stations); without a project, the
first one the viewer may see. It refreshes itself every few seconds and needs nothing
clicked."""

from __future__ import annotations

import panel as pn

from app.board.board import StationBoard
from app.board.kiosk import KioskLinks
from app.markup import text
from app.pages import panel_serve_services, served, session_query
from app.pages.chosen import Chosen, chosen_project
from app.services import Services
from app.shell import shell
from models import kiosk
from models.access import Action, allows
from pipelines.homes import HomeUnavailable
from pipelines.sources import MemorySamples


def page(services: Services) -> pn.template.BaseTemplate:
    """The board of ``?project=`` (or the viewer's project with most curves), with a project
    picker; a kiosk link's board (``?kiosk=``) signed out."""
    secret = session_query().get("kiosk")
    if secret:
        return kiosk_page(services, secret)
    chosen = chosen_project(services, "board")
    if not isinstance(chosen, Chosen):
        return chosen
    actor, project = chosen.actor, chosen.project
    board = _board(services, project, chosen.store)
    manages = actor.is_operator or allows(chosen.role, Action.MANAGE_MEMBERS)
    kiosks = [KioskLinks(services, actor, chosen.project_id, project)] if manages else []
    return shell("board", [chosen.picker, board, *kiosks], wide=True)


def kiosk_page(services: Services, secret: str) -> pn.template.BaseTemplate:
    """The board a kiosk link opens: that project's, with no way to anything else. Each
    refresh asks whether the link still works."""
    with services.metadata.sessions() as session:
        found = kiosk.kiosk_project(session, secret)
        session.commit()
        project = found[1].name if found else None
    if project is None:
        words = "**This kiosk link does not work**: it was revoked, or is not whole. Ask an "
        words += "admin of the project for a new one."
        return shell("board", [pn.pane.Markdown(words)], bare=True)

    def admitted() -> bool:
        with services.metadata.sessions() as session:
            still = kiosk.kiosk_project(session, secret) is not None
            session.commit()
        return still

    try:
        store = services.homes.store(services.homes.of(project), project=project)
    except HomeUnavailable as refusal:
        return shell("board", [pn.pane.Markdown(text(str(refusal)))], bare=True)
    return shell("board", [_board(services, project, store, admitted)], wide=True, bare=True)


def _board(services: Services, project: str, store, admitted=None) -> StationBoard:
    home = services.homes.of(project)
    return StationBoard(
        project=project,
        client=store.client,
        database=store.database,
        samples=MemorySamples(services.hot, scope=home.key, live=services.following),
        line=session_query().get("line", ""),
        admitted=admitted,
    )


if served(__name__):
    pn.extension()
    page(panel_serve_services()).servable()
