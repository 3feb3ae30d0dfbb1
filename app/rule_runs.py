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

from sqlalchemy.orm import Session

from app.services import Services
from models import rules as stored
from models.access import Principal, visible_projects
from models.tables import EvaluationRule
from pipelines.rules import Rule, rule_from_stored
from pipelines.rules.runs import RUNS


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


def start(services: Services, judging: Rule | None) -> None:
    """Start the frozen version's run over the stored parts of its process, once its freezing
    committed (None: nothing to run)."""
    if judging is None:
        return
    project = judging.scope.project

    def open_store():
        return services.homes.store(services.homes.of(project), project=project)

    RUNS.start(judging, open_store)
