"""A project's current rules as the store judges new curves by them (issue 19 §3).

:class:`StoredRules` is the store's rule source (``CurveStore(rules=...)``): every write of a
project's home, whether an upload, the CLI, a demo run or a live micro-batch, asks it for the
current versions of the rules of the processes it is storing. Those versions are frozen
(:func:`models.rules.mark_judged`) in the same metadata transaction that reads them, before
they judge a single curve, so a verdict always names a version that can no longer change. A
version frozen by a write that ends up storing nothing is merely frozen early: editing it makes
a new version, which is what editing a judging rule does anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa

from models.rules import as_stored, current_version, mark_judged
from models.store import MetadataStore
from models.tables import EvaluationRule, Project
from pipelines.rules.spec import Rule, RuleError, rule_from_stored

log = logging.getLogger(__name__)


class StoredRules:
    """The current, frozen rules of a project's processes, read from the metadata store."""

    def __init__(self, metadata: MetadataStore) -> None:
        self.metadata = metadata

    def __call__(self, project: str, processes: Sequence[str]) -> list[Rule]:
        if not processes:
            return []
        with self.metadata.sessions() as session:
            found = session.scalars(
                sa.select(EvaluationRule)
                .join(Project, EvaluationRule.project_id == Project.id)
                .where(
                    Project.name == project,
                    EvaluationRule.process.in_(list(processes)),
                    EvaluationRule.retired_at.is_(None),
                )
                .order_by(EvaluationRule.id)
            ).all()
            rules, versions = [], []
            for rule in found:
                version = current_version(rule)
                try:
                    rules.append(rule_from_stored(**as_stored(version)))
                except RuleError:  # checked when saved; only a change of the checks does this
                    log.warning("rule %s version %s cannot judge", rule.id, version.version)
                    continue
                versions.append(version)
            if versions:
                mark_judged(session, versions)
                session.commit()
            return rules
