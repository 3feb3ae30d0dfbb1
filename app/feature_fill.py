"""Configured features computed for the curves already stored (issue 19 §2, "backfilled").

New curves get their values in their commit (``pipelines.store``). Curves stored before a
feature was defined, or moved in from another home, get theirs here: :func:`start_fill` right
after a feature is defined (on its own thread, so the page or the API answers at once), and
:class:`FeatureFiller`, which ``curvehouse serve`` runs every few minutes and once at start,
for anything a stopped server or an unreachable home left behind. Both compute only missing
values, so running twice costs a query per feature. :data:`FILLING` says how far a project's
fill is, for the Quality page.
"""

from __future__ import annotations

import logging
import threading

from app.periodic import Periodic
from app.services import Services
from pipelines.configured import StoredFeatures, fill_project

log = logging.getLogger(__name__)

PERIOD_SECONDS = 300.0
# project -> (curves computed, curves to compute) of the fill running for it now
FILLING: dict[str, tuple[int, int]] = {}
_again: set[str] = set()  # projects whose running fill must look once more when done
_lock = threading.Lock()


def fill(services: Services, project: str) -> int:
    """Compute every missing value of ``project``'s configured features; how many were
    written. One fill per project at a time: a call while one runs makes that one look again
    once it is done (a feature defined meanwhile is then filled too), and returns 0."""
    with _lock:
        if project in FILLING:
            _again.add(project)
            return 0
        FILLING[project] = (0, 0)
    written = 0
    try:
        while True:
            written += _fill_once(services, project)
            with _lock:
                if project not in _again:
                    return written
                _again.discard(project)
    finally:
        with _lock:
            FILLING.pop(project, None)
            _again.discard(project)


def _fill_once(services: Services, project: str) -> int:
    configured = StoredFeatures(services.metadata).of(project)
    if not configured:
        return 0
    store = services.homes.store(services.homes.of(project), project=project)
    try:
        return fill_project(
            store,
            project,
            configured,
            progress=lambda done, total: FILLING.__setitem__(project, (done, total)),
        )
    finally:
        store.client.close()


def start_fill(services: Services, project: str) -> threading.Thread:
    """:func:`fill` on a thread of its own (a feature was just defined)."""

    def run() -> None:
        try:
            written = fill(services, project)
        except Exception:  # its home away: the filler tries again
            log.warning("configured features of %s: the fill stopped", project, exc_info=True)
            return
        if written:
            log.info("configured features of %s: %d values computed", project, written)

    thread = threading.Thread(target=run, name=f"feature-fill-{project}", daemon=True)
    thread.start()
    return thread


class FeatureFiller(Periodic):
    """Every :data:`PERIOD_SECONDS` (and at start), each project's missing values filled."""

    name = "feature-fill"
    wait_first = False

    def __init__(self, services: Services, *, period: float = PERIOD_SECONDS) -> None:
        super().__init__(period=period)
        self.services = services

    def cycle(self) -> int:
        written = 0
        for project in StoredFeatures(self.services.metadata).projects():
            try:
                written += fill(self.services, project)
            except Exception:  # a home away now: the next cycle asks again
                log.warning("configured features of %s: could not fill", project, exc_info=True)
        return written
