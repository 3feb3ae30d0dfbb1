"""One module per page; each exposes a factory that builds a fresh page per session.

A factory takes the process's :class:`~app.services.Services`: ``curvehouse serve`` binds the
one it built (``app/server.py``). Under ``panel serve app/pages/*.py`` each module builds its
page at the bottom, on :func:`panel_serve_services`.
"""

from __future__ import annotations

import panel as pn

from app.services import Services
from models.settings import Settings


def panel_serve_services() -> Services:
    """The services of a ``panel serve`` process, built from the environment by the first
    session (or the sign-in module) that asks and shared by all: Panel's process-wide cache
    (``pn.state.as_cached``) is how Panel shares one object between sessions."""
    return pn.state.as_cached("curvehouse-services", lambda: Services(Settings.from_env()))


def session_query() -> dict[str, str]:
    """The request's query parameters (last value of each), or nothing outside a session."""
    args = pn.state.session_args or {}
    return {key: values[-1].decode("utf-8", "replace") for key, values in args.items() if values}


def served(name: str) -> bool:
    """Whether the module ``name`` runs under ``panel serve``, which names each script's module
    ``bokeh_app_...``: the test ``pn.state.served`` makes on its caller's ``__name__``, without
    the ``inspect.stack()`` it builds for that (0.17 s a call here, paid at every page module's
    import by each ``curvehouse serve`` start)."""
    return name.startswith("bokeh_app_")
