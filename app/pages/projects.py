"""Projects: not built yet; the page says so rather than showing made-up data."""

from __future__ import annotations

import panel as pn

from app.shell import not_built


def page() -> pn.template.BaseTemplate:
    return not_built(
        "projects",
        "Projects will group datasets and clusters, each with its own members and roles.",
        [
            "projects with members and roles (owner, admin, engineer, viewer)",
            "datasets per project, with imports",
        ],
    )


if pn.state.served:
    page().servable()
