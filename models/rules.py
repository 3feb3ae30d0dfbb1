"""Evaluation rules in the metadata store: a rule keeps its id, its versions record what it
checked when.

A rule belongs to one project and judges one process; each version holds what it checks
(``kind`` and ``params``, checked by ``pipelines.rules`` before they come here) and which
programs and stations it covers. A version that has judged parts (:func:`mark_judged`) never
changes: editing the rule then makes a new version, so every verdict still names exactly what
judged it. A version that has judged nothing yet is edited in place. Retiring a rule stops it
from judging and keeps its versions. Engineers and above write rules (``edit_rules``), everyone
in the project reads them, and every change goes to the audit trail with what it was before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.access import Action, Principal, require
from models.audit import audit
from models.names import label
from models.tables import EvaluationRule, Project, RuleVersion, utcnow


class RetiredRule(ValueError):
    """A retired rule cannot be edited; make a new rule instead."""


def _names(values: Iterable[str]) -> list[str]:
    return sorted({label(str(v), "A program or station") for v in values})


def _what(version: RuleVersion) -> dict[str, Any]:
    """What a version checks, as the audit trail records it."""
    return {
        "kind": version.kind,
        "params": version.params,
        "programs": version.programs,
        "stations": version.stations,
    }


def create_rule(
    *,
    session: Session,
    actor: Principal,
    project: Project,
    name: str,
    process: str,
    kind: str,
    params: dict[str, Any],
    programs: Sequence[str] = (),
    stations: Sequence[str] = (),
) -> EvaluationRule:
    """A new rule with its version 1."""
    require(session, actor, project.id, Action.EDIT_RULES)
    rule = EvaluationRule(
        project_id=project.id,
        name=label(name, "A rule's name"),
        process=label(process, "A rule's process"),
        created_by=str(actor),
    )
    version = RuleVersion(
        version=1,
        kind=kind,
        params=dict(params),
        programs=_names(programs),
        stations=_names(stations),
        created_by=str(actor),
    )
    rule.versions.append(version)
    session.add(rule)
    session.flush()
    audit(
        session,
        str(actor),
        "rule.create",
        "project",
        project.id,
        rule=rule.id,
        name=rule.name,
        process=rule.process,
        version=1,
        **_what(version),
    )
    return rule


def current_version(rule: EvaluationRule) -> RuleVersion:
    return rule.versions[-1]


def edit_rule(
    *,
    session: Session,
    actor: Principal,
    rule: EvaluationRule,
    kind: str,
    params: dict[str, Any],
    programs: Sequence[str] = (),
    stations: Sequence[str] = (),
) -> RuleVersion:
    """Change what ``rule`` checks: a new version if the current one has judged parts, the
    current one otherwise; nothing (and no audit row) when nothing changes."""
    require(session, actor, rule.project_id, Action.EDIT_RULES)
    if rule.retired_at is not None:
        raise RetiredRule(f"The rule {rule.name!r} is retired; make a new rule instead.")
    current = current_version(rule)
    wanted = {
        "kind": kind,
        "params": dict(params),
        "programs": _names(programs),
        "stations": _names(stations),
    }
    before = _what(current)
    if before == wanted:
        return current
    if current.judged_at is None:
        for key, value in wanted.items():
            setattr(current, key, value)
        version = current
    else:
        version = RuleVersion(version=current.version + 1, created_by=str(actor), **wanted)
        rule.versions.append(version)
    session.flush()
    audit(
        session,
        str(actor),
        "rule.edit",
        "project",
        rule.project_id,
        rule=rule.id,
        name=rule.name,
        version=version.version,
        new_version=version is not current,
        before=before,
        after=wanted,
    )
    return version


def rename_rule(*, session: Session, actor: Principal, rule: EvaluationRule, name: str) -> None:
    """A rule's name is not part of what it checks: renaming makes no version."""
    require(session, actor, rule.project_id, Action.EDIT_RULES)
    name = label(name, "A rule's name")
    if name != rule.name:
        audit(
            session,
            str(actor),
            "rule.rename",
            "project",
            rule.project_id,
            rule=rule.id,
            before=rule.name,
            after=name,
        )
        rule.name = name


def retire_rule(*, session: Session, actor: Principal, rule: EvaluationRule) -> None:
    """Stop the rule from judging; its versions (and the verdicts naming them) stay."""
    require(session, actor, rule.project_id, Action.EDIT_RULES)
    if rule.retired_at is None:
        rule.retired_at = utcnow()
        rule.retired_by = str(actor)
        audit(
            session,
            str(actor),
            "rule.retire",
            "project",
            rule.project_id,
            rule=rule.id,
            name=rule.name,
            version=current_version(rule).version,
        )


def mark_judged(session: Session, versions: Iterable[RuleVersion]) -> None:
    """Record that these versions have judged parts (whoever stores verdicts calls this in
    the same transaction): from now on they never change."""
    now = utcnow()
    for version in versions:
        if version.judged_at is None:
            version.judged_at = now
    session.flush()


def project_rules(
    session: Session,
    actor: Principal,
    project: Project,
    *,
    process: str | None = None,
    retired: bool = False,
) -> list[EvaluationRule]:
    """The project's rules (of ``process`` if given; retired ones only if asked), by name."""
    require(session, actor, project.id, Action.VIEW)
    query = sa.select(EvaluationRule).where(EvaluationRule.project_id == project.id)
    if process is not None:
        query = query.where(EvaluationRule.process == process)
    if not retired:
        query = query.where(EvaluationRule.retired_at.is_(None))
    return list(session.scalars(query.order_by(EvaluationRule.name, EvaluationRule.id)))


def judging_versions(session: Session) -> list[RuleVersion]:
    """The current version of every rule in use whose run was started (it has judged parts),
    for the server's own check of runs a restart or a move cut short; no person asks this."""
    rules = session.scalars(
        sa.select(EvaluationRule)
        .where(EvaluationRule.retired_at.is_(None))
        .order_by(EvaluationRule.project_id, EvaluationRule.id)
    )
    return [v for v in map(current_version, rules) if v.judged_at is not None]


def rule_versions(session: Session, actor: Principal, rule: EvaluationRule) -> list[RuleVersion]:
    """Every version of the rule, oldest first."""
    require(session, actor, rule.project_id, Action.VIEW)
    return list(rule.versions)


def as_stored(version: RuleVersion) -> dict[str, Any]:
    """A version as ``pipelines.rules.rule_from_stored`` takes it (keyword arguments)."""
    rule = version.rule
    return {
        "name": rule.name,
        "project": rule.project.name,
        "process": rule.process,
        "kind": version.kind,
        "params": dict(version.params),
        "programs": list(version.programs),
        "stations": list(version.stations),
        "rule_id": rule.id,
        "version": version.version,
    }
