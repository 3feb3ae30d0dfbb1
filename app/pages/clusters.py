"""Clusters: not built yet; the page says so rather than showing made-up data."""

from __future__ import annotations

import panel as pn

from app.shell import not_built


def page() -> pn.template.BaseTemplate:
    return not_built(
        "clusters",
        "Clusters will be real ClickHouse databases, created and managed from here.",
        [
            "a four-step creation wizard with a monthly cost estimate",
            "lifecycle status, working connection strings and measured latency",
            "start, stop, resize and delete",
        ],
    )


if pn.state.served:
    page().servable()
