"""Evaluation rules of a project over HTTP (issue 19 §1, §3, §7): list, create, edit, retire,
try one before saving it (what-if), and judge a period's parts with one.

What a rule checks is made and checked by :mod:`pipelines.rules` (a bad one is a 422 in its
words) and stored, versioned and audited by :mod:`models.rules`: a version that has judged
parts never changes, so editing it makes a new one. Making or changing a rule freezes the new
version and starts its run over the process's stored curves in the background
(:mod:`pipelines.rules.runs`), whose verdicts are stored in the engine; ``…/run`` says how far
it is and starts it again. Judging a period here (``…/judge``, what-if) answers with counts
and the first failures and stores nothing.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.api.curves import _curves, _project, curve_filter
from app.api.errors import conflict, invalid, not_found
from app.api.handler import Call
from app.api.registry import API
from app.api.schemas import Coordinate, CurveFilters, Label, Page, Paging, Request
from app.api.scope import page_list, project_in, project_store
from app.rule_runs import freeze, start
from models import rules as stored
from models.access import Action
from models.audit import audit
from models.tables import EvaluationRule, Project, RuleVersion
from pipelines.rules import (
    KINDS,
    Rule,
    RuleError,
    judge_set,
    learn_envelope,
    rule_from_stored,
)
from pipelines.rules.runs import RUNNING, RUNS
from pipelines.rules.verdicts import run_count
from pipelines.rules.what_if import what_if as tried_on

TAG = "rules"
Kind = Literal[tuple(KINDS)]  # type: ignore[valid-type]
Word = Annotated[str, StringConstraints(min_length=1, max_length=40)]
# A parameter: a number, a choice (a window's sides, a threshold's axis) or a polyline.
Param = Coordinate | Word | Annotated[list[tuple[Coordinate, Coordinate]], Field(max_length=10_000)]
Names = Annotated[list[Label], Field(max_length=1000)]
KINDS_SAID = (
    "window: x0, x1, y0, y1, mode (uni-box, pass-through, not-touch), entry and exit (left, "
    "right, top, bottom, any); line: x0, y0, x1, y1; envelope: x_min, x_max, lower and upper "
    "as [[x, y], ...] with x increasing; threshold: level, low, high, axis (y or x), direction "
    "(rising, falling, either); feature: feature (a fixed feature such as peak_y or area, or "
    "y_at_x, x_at_y with a, slope with a and b), low, high"
)
SHOWN = "failures listed, lowest curve id first"
MOST_LEARNED = 10_000  # good curves an envelope is learned from, in memory at once


class RuleCheck(Request):
    kind: Kind = Field(description="what the rule checks")
    params: dict[Word, Param] = Field(description=KINDS_SAID)
    programs: Names = Field(default_factory=list, description="only these programs (none: all)")
    stations: Names = Field(default_factory=list, description="only these stations (none: all)")


RUN_SAID = (
    "judge the process's stored curves with the new version now, in the background (see "
    "…/run); false: a draft, changed in place by edits until it judges"
)


class RuleIn(RuleCheck):
    name: Label
    process: Label = Field(description="the process whose curves the rule judges")
    run: bool = Field(True, description=RUN_SAID)


class RuleEdit(RuleCheck):
    name: Label | None = Field(None, description="a new name (makes no version)")
    run: bool = Field(True, description=RUN_SAID)


class TrialRule(RuleCheck):
    name: Label = "what-if"
    process: Label


class Period(CurveFilters, Request):
    """Which stored parts are judged (the rule's process, programs and stations narrow it)."""


class WhatIfIn(Request):
    rule: TrialRule
    curves: Period = Field(default_factory=Period)
    limit: int = Field(50, ge=0, le=500, description=SHOWN)


class JudgeIn(Request):
    curves: Period = Field(default_factory=Period)
    limit: int = Field(50, ge=0, le=500, description=SHOWN)


class LearnIn(Request):
    process: Label = Field(description="the process whose curves the envelope is for")
    curves: Period = Field(
        default_factory=Period,
        description="the good parts to learn from, within the process (no result filter: "
        "the OK ones)",
    )
    x_min: Coordinate
    x_max: Coordinate
    points: int = Field(50, ge=2, le=1000, description="x values the band is computed at")
    low: float = Field(0.5, ge=0, le=100, description="percentile of the lower bound")
    high: float = Field(99.5, ge=0, le=100, description="percentile of the upper bound")
    margin: float = Field(0.0, ge=0, description="added outside the band, in y units")


class LearnedOut(BaseModel):
    kind: Literal["envelope"] = "envelope"
    params: dict[str, Any] = Field(
        description="x_min, x_max, lower and upper: a rule of kind envelope takes them as they are"
    )
    curves: int = Field(description="good curves it was learned from")
    passing: int = Field(description="of those, how many stay inside it")


class RulesQuery(Paging):
    process: Label | None = None
    retired: bool = Field(False, description="list retired rules too")


class VersionOut(BaseModel):
    version: int
    kind: str
    params: dict[str, Any]
    programs: list[str]
    stations: list[str]
    created_by: str
    created_at: datetime
    judged_at: datetime | None = Field(description="set once it judged parts: it never changes")


class RuleOut(BaseModel):
    id: int
    name: str
    process: str
    created_by: str
    created_at: datetime
    retired_at: datetime | None
    retired_by: str | None
    current: VersionOut


class RuleDetailOut(RuleOut):
    versions: list[VersionOut] = Field(description="oldest first")


class RunOut(BaseModel):
    rule_id: int
    version: int = Field(description="the rule's current version, the one this run is of")
    state: Literal["running", "done", "failed", "stopped", "incomplete"] = Field(
        description="incomplete: no run going and curves left to judge (never run, a draft, "
        "or cut short by a restart): start it again"
    )
    judged: int = Field(description="covered stored parts this version has judged")
    total: int = Field(description="stored parts the version covers")
    seconds: float | None = Field(description="how long the run took, once it ended")
    error: str = ""


class FailureOut(BaseModel):
    curve_id: int
    curve_key: str
    part_serial: str
    station: str
    program: str
    started_at: datetime
    code: str
    reason: str
    x: float | None = Field(description="where the reason points (none: nowhere)")
    y: float | None


class VerdictsOut(BaseModel):
    rule: str
    version: int = Field(description="0 for a rule not saved")
    judged: int = Field(description="parts the rule covers in the period")
    passed: int
    failed: int
    codes: dict[str, int] = Field(description="failures by what went wrong")
    failures: list[FailureOut]


def version_out(version: RuleVersion) -> VersionOut:
    return VersionOut(
        version=version.version,
        kind=version.kind,
        params=dict(version.params),
        programs=list(version.programs),
        stations=list(version.stations),
        created_by=version.created_by,
        created_at=version.created_at,
        judged_at=version.judged_at,
    )


def rule_out(rule: EvaluationRule) -> RuleOut:
    return RuleOut(
        id=rule.id,
        name=rule.name,
        process=rule.process,
        created_by=rule.created_by,
        created_at=rule.created_at,
        retired_at=rule.retired_at,
        retired_by=rule.retired_by,
        current=version_out(stored.current_version(rule)),
    )


def checked(project: str, process: str, body: RuleCheck, name: str = "rule") -> Rule:
    """The rule ``body`` describes, checked by :mod:`pipelines.rules` (422 in its words)."""
    try:
        return rule_from_stored(
            name=name,
            project=project,
            process=process,
            kind=body.kind,
            params=body.params,
            programs=body.programs,
            stations=body.stations,
        )
    except RuleError as exc:
        raise invalid(str(exc)) from None


def _rule(session: Session, call: Call, action: Action) -> tuple[Project, EvaluationRule]:
    project, _ = project_in(session, call, call.path["project_id"], action)
    rule = session.get(EvaluationRule, call.path["rule_id"])
    if rule is None or rule.project_id != project.id:
        raise not_found(f"There is no rule {call.path['rule_id']} in this project.")
    return project, rule


@API.route(
    "GET",
    "/api/projects/{project_id}/rules",
    "The project's evaluation rules with their current versions, by name",
    query=RulesQuery,
    response=Page[RuleOut],
    permission=Action.VIEW,
    tag=TAG,
)
def list_rules(call: Call) -> Page[RuleOut]:
    query: RulesQuery = call.query
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.VIEW)
        rules = stored.project_rules(
            session, call.who, project, process=query.process, retired=query.retired
        )
        return page_list([rule_out(r) for r in rules], query)


@API.route(
    "POST",
    "/api/projects/{project_id}/rules",
    "Make an evaluation rule (its version 1)",
    body=RuleIn,
    response=RuleDetailOut,
    status=201,
    errors=(403,),
    permission=Action.EDIT_RULES,
    tag=TAG,
    description="A rule that cannot be judged is refused (422) with what to change. The audit "
    "trail records it (rule.create).",
)
def create_rule(call: Call) -> RuleDetailOut:
    body: RuleIn = call.body
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.EDIT_RULES)
        made = checked(project.name, body.process, body, body.name).stored()
        rule = stored.create_rule(
            session=session,
            actor=call.who,
            project=project,
            name=body.name,
            process=body.process,
            kind=made["kind"],
            params=made["params"],
            programs=body.programs,
            stations=body.stations,
        )
        judging = freeze(session, rule) if body.run else None
        session.commit()
        start(call.services, judging)
        return _detail(session, call, rule)


def _detail(session: Session, call: Call, rule: EvaluationRule) -> RuleDetailOut:
    versions = stored.rule_versions(session, call.who, rule)
    return RuleDetailOut(**rule_out(rule).model_dump(), versions=[version_out(v) for v in versions])


@API.route(
    "GET",
    "/api/projects/{project_id}/rules/{rule_id}",
    "One rule with every version it had",
    response=RuleDetailOut,
    permission=Action.VIEW,
    tag=TAG,
)
def get_rule(call: Call) -> RuleDetailOut:
    with call.store.sessions() as session:
        _, rule = _rule(session, call, Action.VIEW)
        return _detail(session, call, rule)


@API.route(
    "PUT",
    "/api/projects/{project_id}/rules/{rule_id}",
    "Change what a rule checks (and its name)",
    body=RuleEdit,
    response=RuleDetailOut,
    errors=(403, 409),
    permission=Action.EDIT_RULES,
    tag=TAG,
    description="A version that has judged parts never changes: the change becomes a new "
    "version. One that has judged nothing is changed in place. The process stays; a retired "
    "rule cannot change (409). The audit trail records before and after (rule.edit, "
    "rule.rename).",
)
def edit_rule(call: Call) -> RuleDetailOut:
    body: RuleEdit = call.body
    with call.store.sessions() as session:
        project, rule = _rule(session, call, Action.EDIT_RULES)
        made = checked(project.name, rule.process, body, body.name or rule.name).stored()
        try:
            stored.edit_rule(
                session=session,
                actor=call.who,
                rule=rule,
                kind=made["kind"],
                params=made["params"],
                programs=body.programs,
                stations=body.stations,
            )
            if body.name is not None:
                stored.rename_rule(session=session, actor=call.who, rule=rule, name=body.name)
            judging = freeze(session, rule) if body.run else None
            session.commit()
        except stored.RetiredRule as exc:
            raise conflict(str(exc)) from None
        except IntegrityError:  # another edit made the same new version at the same moment
            raise conflict(
                "The rule was changed by someone else at the same moment; retry."
            ) from None
        start(call.services, judging)
        return _detail(session, call, rule)


@API.route(
    "DELETE",
    "/api/projects/{project_id}/rules/{rule_id}",
    "Retire a rule: it judges nothing more, its versions stay",
    status=204,
    errors=(403,),
    permission=Action.EDIT_RULES,
    tag=TAG,
    description="Retiring a retired rule changes nothing. The audit trail records it "
    "(rule.retire).",
)
def retire_rule(call: Call) -> None:
    with call.store.sessions() as session:
        _, rule = _rule(session, call, Action.EDIT_RULES)
        stored.retire_rule(session=session, actor=call.who, rule=rule)
        session.commit()


@API.route(
    "POST",
    "/api/projects/{project_id}/rules/what-if",
    "How a rule not saved would judge a period's parts",
    body=WhatIfIn,
    response=VerdictsOut,
    permission=Action.VIEW,
    tag=TAG,
    description="Nothing is stored: anyone who sees the project may try a rule. The parts are "
    "those the filters select, within the rule's process (and programs, stations).",
)
def what_if(call: Call) -> VerdictsOut:
    body: WhatIfIn = call.body
    _, name = _project(call, Action.VIEW)
    rule = checked(name, body.rule.process, body.rule, body.rule.name)
    return _verdicts(call, name, rule, body.curves, body.limit)


@API.route(
    "POST",
    "/api/projects/{project_id}/rules/learn-envelope",
    "An envelope learned from good parts, to save as a rule",
    body=LearnIn,
    response=LearnedOut,
    permission=Action.VIEW,
    tag=TAG,
    description="A percentile band of the good curves at evenly spaced x, widened by a margin "
    f"(see the README). Nothing is stored. At most {MOST_LEARNED:,} curves: narrow the period "
    "for more. Curves that turn back in x, or too few reaching an x, are a 422 in words.",
)
def learn(call: Call) -> LearnedOut:
    body: LearnIn = call.body
    _, name = _project(call, Action.VIEW)
    good = body.curves.model_copy(
        update={"process": [body.process], "result": body.curves.result or ["OK"]}
    )
    curves = _curves(call.services, name).matching(curve_filter(good))
    count = curves.count()
    if not count:
        raise invalid("No curves match: choose good parts of this process to learn from.")
    if count > MOST_LEARNED:
        raise invalid(
            f"{count:,} curves match; learn from at most {MOST_LEARNED:,} (narrow the period)."
        )
    chosen = curves.samples()
    try:
        envelope = learn_envelope(
            chosen,
            body.x_min,
            body.x_max,
            points=body.points,
            low=body.low,
            high=body.high,
            margin=body.margin,
        )
        rule = rule_from_stored(
            name="learned",
            project=name,
            process=body.process,
            kind="envelope",
            params=asdict(envelope),
        )
    except RuleError as exc:
        raise invalid(str(exc)) from None
    verdicts = judge_set(chosen, [rule])
    return LearnedOut(
        params=asdict(envelope), curves=len(chosen), passing=int(verdicts["passed"].sum())
    )


@API.route(
    "POST",
    "/api/projects/{project_id}/rules/{rule_id}/judge",
    "Judge a period's parts with a rule's current version",
    body=JudgeIn,
    response=VerdictsOut,
    errors=(403, 409),
    permission=Action.EDIT_RULES,
    tag=TAG,
    description="Once it has judged parts, the version never changes (editing the rule makes a "
    "new one). The verdicts are answered, not stored. A retired rule, or one changed while it "
    "judged, is a 409. The audit trail records the counts (rule.judge).",
)
def judge_rule(call: Call) -> VerdictsOut:
    body: JudgeIn = call.body
    with call.store.sessions() as session:
        project, rule = _rule(session, call, Action.EDIT_RULES)
        if rule.retired_at is not None:
            raise conflict(f"The rule {rule.name!r} is retired; it judges nothing more.")
        version = stored.current_version(rule)
        rule_name = rule.name
        kept = _checks(version)
        version_id, name, project_id = version.id, project.name, project.id
    try:
        judging = rule_from_stored(name=rule_name, **kept)
    except RuleError as exc:  # checked when saved; only a change of the checks could do this
        raise conflict(f"This rule's version cannot be judged any more: {exc}") from None
    out = _verdicts(call, name, judging, body.curves, body.limit)
    with call.store.sessions() as session:
        _, rule = _rule(session, call, Action.EDIT_RULES)
        version = stored.current_version(rule)
        if rule.retired_at is not None or version.id != version_id or _checks(version) != kept:
            raise conflict("The rule changed while it judged; judge again.")
        if out.judged:
            stored.mark_judged(session, [version])
        audit(
            session,
            call.who.label,
            "rule.judge",
            "project",
            project_id,
            ip=call.ip,
            rule=rule.id,
            version=version.version,
            judged=out.judged,
            failed=out.failed,
        )
        session.commit()
    return out


@API.route(
    "GET",
    "/api/projects/{project_id}/rules/{rule_id}/run",
    "How far the rule's current version is through the process's stored parts",
    response=RunOut,
    permission=Action.VIEW,
    tag=TAG,
    description="Counted in the engine (judged: covered parts with a stored verdict of this "
    "version), so it is right after a restart; running while a run of this server goes.",
)
def rule_run(call: Call) -> RunOut:
    with call.store.sessions() as session:
        _, rule = _rule(session, call, Action.VIEW)
        kept = stored.as_stored(stored.current_version(rule))
    return _run_out(call, rule_from_stored(**kept))


@API.route(
    "POST",
    "/api/projects/{project_id}/rules/{rule_id}/run",
    "Judge the stored parts the rule's current version has not judged, in the background",
    response=RunOut,
    status=202,
    errors=(403, 409),
    permission=Action.EDIT_RULES,
    tag=TAG,
    description="Freezes the version (it judges parts). Idempotent: parts already judged by "
    "it are left as they are, and a run going is not doubled. A retired rule is a 409. The "
    "audit trail records it (rule.run).",
)
def start_run(call: Call) -> RunOut:
    with call.store.sessions() as session:
        project, rule = _rule(session, call, Action.EDIT_RULES)
        if rule.retired_at is not None:
            raise conflict(f"The rule {rule.name!r} is retired; it judges nothing more.")
        judging = freeze(session, rule)
        audit(
            session,
            call.who.label,
            "rule.run",
            "project",
            project.id,
            ip=call.ip,
            rule=rule.id,
            version=judging.version,
        )
        session.commit()
    start(call.services, judging)
    return _run_out(call, judging)


def _run_out(call: Call, judging: Rule) -> RunOut:
    run = RUNS.get(judging.scope.project, int(judging.rule_id or 0))
    if run is not None and run.rule.version != judging.version:
        run = None
    out = {"rule_id": judging.rule_id, "version": judging.version}
    if run is not None and run.state == RUNNING:
        return RunOut(**out, state=RUNNING, judged=run.judged, total=run.total, seconds=None)
    store = project_store(call.services, judging.scope.project)
    count = run_count(store.client, store.database, judging)
    state = run.state if run is not None else "done"
    if not count.done and state == "done":
        state = "incomplete"
    return RunOut(
        **out,
        state=state,
        judged=count.judged,
        total=count.total,
        seconds=None if run is None else run.seconds,
        error="" if run is None else run.error,
    )


def _checks(version: RuleVersion) -> dict[str, Any]:
    """What a version judges with, as :func:`pipelines.rules.rule_from_stored` takes it; the
    rule's name is left out (renaming changes no verdict)."""
    return {k: v for k, v in stored.as_stored(version).items() if k != "name"}


def _verdicts(call: Call, project: str, rule: Rule, period: Period, limit: int) -> VerdictsOut:
    """Judge the period's stored parts with ``rule``: counts and the first ``limit`` failures
    (lowest curve id first) with their parts."""
    curves = _curves(call.services, project).matching(curve_filter(period))
    tried = tried_on(curves, rule, limit)
    failures = [
        FailureOut(
            curve_id=int(row.curve_id),
            curve_key=row.curve_key,
            part_serial=row.part_serial,
            station=row.station,
            program=row.program,
            started_at=_utc(row.started_at),
            code=row.code,
            reason=row.reason,
            x=_finite(row.x),
            y=_finite(row.y),
        )
        for row in tried.failures.itertuples()
    ]
    return VerdictsOut(
        rule=rule.name,
        version=rule.version,
        judged=tried.judged,
        passed=tried.passed,
        failed=tried.failed,
        codes=tried.codes,
        failures=failures,
    )


def _utc(moment: Any) -> datetime:
    stamp = pd.Timestamp(moment)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).to_pydatetime()


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
