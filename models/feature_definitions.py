"""Configured curve features of a project: which ones, per process, and who made them.

The fixed features (peak, final point, area, …) are computed for every curve. A process also
has measures of its own: a press-fit's force at 5 mm, the angle where a nutrunner reaches
12 Nm, the stiffness over 2-4 mm. Engineers and above define them (``edit_rules``, like the
rules that judge the same curves), everyone in the project reads them, and what a definition
computes never changes once made: the values stored for it stay true, and a different measure
is a new definition. Retiring one hides it; its values stay in the engine. Every make and
retire is audited.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.access import Action, Principal, require
from models.audit import audit
from models.names import BadName, label
from models.tables import FeatureDefinition, Project, utcnow

# kind -> what it computes, in words with {a} and {b}
KINDS = {
    "y_at_x": "y where x first reaches {a}",
    "x_at_y": "x where y first reaches {a}",
    "slope": "slope of y over x for {a} ≤ x ≤ {b}",
}


def describe(kind: str, a: float, b: float | None) -> str:
    """What a definition computes, in words."""
    return KINDS[kind].format(a=f"{a:g}", b="" if b is None else f"{b:g}")


def create_feature(
    *,
    session: Session,
    actor: Principal,
    project: Project,
    process: str,
    name: str,
    kind: str,
    a: float,
    b: float | None = None,
) -> FeatureDefinition:
    """A new configured feature of ``process`` in ``project``; refused in words when its kind,
    numbers or name do not make one. A name a working feature of the process has is refused
    with :class:`BadName`, also when that one was made at the same instant (the store's unique
    index catches what the check could not see; the session is then rolled back)."""
    require(session, actor, project.id, Action.EDIT_RULES)
    process = label(process, "A feature's process")
    name = label(name, "A feature's name")
    if kind not in KINDS:
        raise BadName(f"A feature's kind is one of {', '.join(KINDS)}, not {kind!r}.")
    numbers = [a] if kind != "slope" else [a, b]
    if any(v is None or not math.isfinite(v) for v in numbers):
        needed = "a finite a" if kind != "slope" else "finite a and b (the x range)"
        raise BadName(f"A {kind} feature needs {needed}.")
    if kind == "slope" and not a < b:
        raise BadName(f"A slope's x range runs from a to b with a < b; got {a:g} to {b:g}.")
    named = f"Process {process!r} has a feature named {name!r} already."
    project_id = project.id  # kept: a rollback below expires ``project``
    if _name_taken(session, project_id, process, name):
        raise BadName(named)
    made = FeatureDefinition(
        project_id=project_id,
        process=process,
        name=name,
        kind=kind,
        a=float(a),
        b=None if kind != "slope" else float(b),
        created_by=str(actor),
    )
    session.add(made)
    try:
        session.flush()
    except IntegrityError:
        # The flush rolled the transaction back; the session is usable again after this.
        session.rollback()
        if _name_taken(session, project_id, process, name):  # made since the check
            raise BadName(named) from None
        raise
    audit(
        session,
        str(actor),
        "feature.create",
        "project",
        project.id,
        feature=made.id,
        process=process,
        name=name,
        computes=describe(made.kind, made.a, made.b),
    )
    return made


def _name_taken(session: Session, project_id: int, process: str, name: str) -> bool:
    """A working feature of the process has the name (the store's unique index says the same,
    :mod:`models.migrations.versions` 0018)."""
    taken = session.scalars(
        sa.select(FeatureDefinition.id).where(
            FeatureDefinition.project_id == project_id,
            FeatureDefinition.process == process,
            FeatureDefinition.name == name,
            FeatureDefinition.retired_at.is_(None),
        )
    ).first()
    return taken is not None


def project_features(
    session: Session, actor: Principal, project: Project, *, process: str | None = None
) -> list[FeatureDefinition]:
    """The project's working configured features (of one process), oldest first."""
    require(session, actor, project.id, Action.VIEW)
    query = sa.select(FeatureDefinition).where(
        FeatureDefinition.project_id == project.id, FeatureDefinition.retired_at.is_(None)
    )
    if process is not None:
        query = query.where(FeatureDefinition.process == process)
    return list(session.scalars(query.order_by(FeatureDefinition.id)))


def retire_feature(*, session: Session, actor: Principal, feature: FeatureDefinition) -> None:
    require(session, actor, feature.project_id, Action.EDIT_RULES)
    if feature.retired_at is None:
        feature.retired_at = utcnow()
        audit(
            session,
            str(actor),
            "feature.retire",
            "project",
            feature.project_id,
            feature=feature.id,
            name=feature.name,
        )


def working_features(
    session: Session, project: str | None = None, processes: Sequence[str] | None = None
) -> list[tuple[str, FeatureDefinition]]:
    """``(project name, definition)`` of every working configured feature (of ``project`` and
    ``processes`` when given), by id: for the store and the backfill, not for people."""
    query = (
        sa.select(Project.name, FeatureDefinition)
        .join(Project, Project.id == FeatureDefinition.project_id)
        .where(FeatureDefinition.retired_at.is_(None))
    )
    if project is not None:
        query = query.where(Project.name == project)
    if processes is not None:
        query = query.where(FeatureDefinition.process.in_(list(processes)))
    return [(name, row) for name, row in session.execute(query.order_by(FeatureDefinition.id))]
