"""Links between the explorer and a part's page, in the explorer's own URL form.

A part's page links back to the explorer view it was opened from: that view travels as the
``back`` parameter (``/part?project=demo&serial=A-1&back=/curves?station=S1``). ``back`` comes
from the address bar, so anyone can write it: only a link to the explorer on this server is
followed (:func:`explorer_back`), never another site (no open redirect).
"""

from __future__ import annotations

import functools
from urllib.parse import urlencode, urlsplit

from app.auth.login import safe_next
from app.explorer.state import ExplorerState

EXPLORER = "/curves"
PART = "./part"


def explorer_back(back: str | None) -> str | None:
    """``back`` when it is the explorer on this server with its query (``/curves?...``), else
    None. The checks of the sign-in's ``next`` apply first (one ``/``, printable ASCII, no
    backslash, local after decoding once more); then the path must be exactly the explorer's."""
    if not back:
        return None
    safe = safe_next(back)
    return safe if urlsplit(safe).path == EXPLORER else None


@functools.lru_cache(maxsize=4096)  # an ExplorerState costs ~1 ms; the Overview asks for 100s
def explorer_link(
    project: str = "",
    *,
    process: str = "",
    plant: str = "",
    line: str = "",
    station: str = "",
    reference: str = "",
) -> str:
    """The explorer filtered to these values, written as the explorer writes its own URL
    (:meth:`ExplorerState.to_query`); empty values are left out. ``reference``: a part's
    serial, drawn over the density."""
    state = ExplorerState(
        project=project,
        process=process,
        reference=reference,
        **{
            name: [value]
            for name, value in (("plant", plant), ("line", line), ("station", station))
            if value
        },
    )
    query = urlencode(state.to_query())
    return f"{EXPLORER}?{query}" if query else EXPLORER


def part_link(project: str, serial: str, back: str | None = None) -> str:
    """The page of the part ``serial`` in ``project``, linking back to ``back`` (an explorer
    URL; dropped when it is not one)."""
    params = {"project": project, "serial": serial}
    back = explorer_back(back)
    if back:
        params["back"] = back
    return f"{PART}?{urlencode(params)}"
