"""Team: not built yet; the page says so rather than showing made-up data."""

from __future__ import annotations

import panel as pn

from app.shell import not_built


def page() -> pn.template.BaseTemplate:
    return not_built(
        "team",
        "The team page will manage who may see and change what.",
        [
            "users, login and invitations",
            "roles per project",
            "an audit trail of who did what",
        ],
    )


if pn.state.served:
    page().servable()
