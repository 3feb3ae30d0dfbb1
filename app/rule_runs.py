"""A process's current rules as a person may see them (the explorer's and a dashboard's
pictures, filters and colours), and starting a rule version's run over history (issue 19 §3),
wherever a rule is made or changed:
the REST API (``app/api/rules.py``) and a rule drawn on the explorer's raster
(``app/pages/curves.py``) both go through here, so a rule judges its process's stored parts
however it was made.

The version is frozen in the caller's transaction before the run starts (a version that judges
never changes), and the run works on its own client of the project's home
(:mod:`pipelines.rules.runs`).
"""

from __future__ import annotations

import logging
import time

from sqlalchemy.orm import Session

from app.api.scope import project_store
from app.periodic import Periodic
from app.services import Services
from models import rules as stored
from models.access import Principal, visible_projects
from models.rules import judging_versions
from models.tables import EvaluationRule
from pipelines.rules import Rule, rule_from_stored
from pipelines.rules.runs import RUNNING, RUNS
from pipelines.rules.verdicts import run_count

log = logging.getLogger(__name__)

PERIOD_SECONDS = 60.0
LONGEST_WAIT = 3600.0  # between starts of a run that keeps leaving the same parts unjudged


def process_rules(services: Services, actor: Principal, project: str, process: str) -> list[Rule]:
    """The current versions of ``project``'s rules for ``process``, as ``actor`` may see them
    (none in a project out of sight)."""
    with services.metadata.sessions() as session:
        found = next((p for p, _ in visible_projects(session, actor) if p.name == project), None)
        if found is None:
            return []
        return [
            rule_from_stored(**stored.as_stored(stored.current_version(rule)))
            for rule in stored.project_rules(session, actor, found, process=process)
        ]


def freeze(session: Session, rule: EvaluationRule) -> Rule:
    """Freeze the rule's current version (in the caller's transaction, which commits it) and
    give it as :mod:`pipelines.rules` judges with it."""
    version = stored.current_version(rule)
    stored.mark_judged(session, [version])
    return rule_from_stored(**stored.as_stored(version))


class RunResumer(Periodic):
    """Starts again, every ``period`` seconds and once at start, the run of each rule's
    current version that has not judged every part it covers: a run a restart cut short, one
    that failed (an engine away), or parts a move brought without that version's verdicts.
    What is missing is read from the engine (:func:`run_count`), so nothing is judged twice.
    A run that ended with the same parts still missing waits twice as long each time before it
    is started again (up to :data:`LONGEST_WAIT`), unless their number changes: a run that fails
    the same way every time would otherwise read them every minute."""

    name = "rule-runs"
    wait_first = False  # a run a stopped server left goes on at once

    def __init__(self, services: Services, *, period: float = PERIOD_SECONDS) -> None:
        super().__init__(period=period)
        self.services = services
        # (project, rule id, version) -> (parts missing, when, tries) of its last start here
        self._tried: dict[tuple[str, int, int], tuple[int, float, int]] = {}

    def cycle(self) -> list[Rule]:
        """Start what is missing; the versions started."""
        with self.services.metadata.sessions() as session:
            versions = [rule_from_stored(**stored.as_stored(v)) for v in judging_versions(session)]
        due: dict[tuple[str, str], list[Rule]] = {}  # (project, process) -> versions to run
        for rule in versions:
            project = rule.scope.project
            going = RUNS.get(project, int(rule.rule_id or 0))
            if going is not None and going.state == RUNNING:
                continue
            try:
                store = project_store(self.services, project)
                count = run_count(store.client, store.database, rule)
            except Exception:  # a home away now: the next cycle asks again
                log.warning(
                    "rule %s: could not ask %s's home", rule.rule_id, project, exc_info=True
                )
                continue
            key = (project, int(rule.rule_id or 0), rule.version)
            missing, now = count.total - count.judged, time.monotonic()
            last, when, tries = self._tried.get(key, (-1, 0.0, 0))
            tries = tries if missing == last else 0
            if count.done or (tries and now - when < min(self.period * 2**tries, LONGEST_WAIT)):
                continue
            log.info("rule %s version %s: judging the parts it missed", rule.rule_id, rule.version)
            self._tried[key] = (missing, now, tries + 1)
            due.setdefault((project, rule.scope.process), []).append(rule)
        for rules in due.values():  # a process's rules read its samples once, together
            start(self.services, *rules)
        return [rule for rules in due.values() for rule in rules]


def start(services: Services, *judging: Rule | None) -> None:
    """Start the frozen versions' run over the stored parts of their process (one project
    and process), once their freezing committed (None: nothing to run)."""
    rules = [rule for rule in judging if rule is not None]
    if not rules:
        return
    project = rules[0].scope.project

    def open_store():
        return services.homes.store(services.homes.of(project), project=project)

    RUNS.start_together(rules, open_store)
