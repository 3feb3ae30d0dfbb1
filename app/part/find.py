"""Finding a serial: in the project a link names, or in every project the viewer may read.

Each project's curves are read on its home (:mod:`pipelines.homes`). A project the viewer has
no role in answers exactly as one without the serial: the page does not tell which projects
exist.
"""

from __future__ import annotations

from app.part.view import Lookup
from app.services import Services
from pipelines.curves import Curves
from pipelines.homes import Home, HomeUnavailable
from pipelines.parts import Part
from providers import ProviderError


def find_part(
    services: Services, readable: tuple[str, ...] | None, project: str, serial: str
) -> tuple[Lookup, list]:
    """The part ``serial`` in ``project`` (or, with no project, in whichever of the viewer's
    projects holds it), and the engine clients left open for its page to draw with (the
    caller closes them). ``readable`` None: the operator, who may read every project."""
    homes = services.homes
    if project:
        if readable is not None and project not in readable:
            return Lookup(serial, project), []
        places: dict[Home, list[str] | None] = {homes.of(project): [project]}
    elif readable is None:
        places = {homes.builtin: None, **homes.on_clusters()}
    else:
        places = dict(homes.grouped(readable))
    if not serial:
        return Lookup(serial, project), []
    found: list[tuple[str, Curves, Part]] = []
    clients, problems = [], []
    for home, names in places.items():
        try:
            store = homes.store(home, project=project or None)
        except (HomeUnavailable, ProviderError) as exc:
            problems.append(str(exc))
            continue
        clients.append(store.client)
        chosen = None if names is None else tuple(names)
        part = Curves(store.client, store.database, projects=chosen).part(serial)
        for name, rows in part.curves.groupby("project", sort=True):
            only = Curves(store.client, store.database, projects=(str(name),))
            found.append((str(name), only, Part(serial, rows.reset_index(drop=True))))
    if len(found) == 1:
        name, reader, part = found[0]
        return Lookup(serial, name, part, reader), clients
    for client in clients:
        client.close()
    if found:
        return Lookup(serial, project, several=[name for name, _, _ in found]), []
    problem = problems[0] if problems and project else ""
    return Lookup(serial, project, problem=problem), []
