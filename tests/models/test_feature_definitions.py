"""Configured features in the metadata store: engineers and above define and retire them,
every member reads them, a definition that cannot compute is refused in words, and the
store's feature source sees only the working ones of the processes it asks for."""

from __future__ import annotations

import math

import pytest
import sqlalchemy as sa

from models.access import Forbidden, NotFound
from models.feature_definitions import (
    create_feature,
    describe,
    project_features,
    retire_feature,
    working_features,
)
from models.names import BadName
from models.tables import AuditEvent, Project
from tests.models.test_access import plant, who  # noqa: F401 (the fixture)


def make(session, actor, project, **given):
    fields = {"process": "press-fit", "name": "force at 5 mm", "kind": "y_at_x", "a": 5.0}
    return create_feature(session=session, actor=actor, project=project, **{**fields, **given})


def test_engineers_define_members_read_and_the_store_sees_working_ones(plant):  # noqa: F811
    sessions, ids = plant
    with sessions() as session:
        press, weld = session.get(Project, ids["press"]), session.get(Project, ids["weld"])
        ana = who(ids, "ana")  # engineer (admin through her team) in Press
        with pytest.raises(Forbidden):  # a viewer of Weld
            make(session, who(ids, "ben"), weld)
        with pytest.raises(NotFound):  # no role in Press
            make(session, who(ids, "cy"), press)
        force = make(session, ana, press)
        stiff = make(session, ana, press, name="stiffness", kind="slope", a=2.0, b=4.0)
        other = make(session, ana, press, process="screwdriving", name="angle", kind="x_at_y", a=12)
        session.commit()
        assert [f.id for f in project_features(session, ana, press)] == [
            force.id,
            stiff.id,
            other.id,
        ]
        assert [f.id for f in project_features(session, ana, press, process="screwdriving")] == [
            other.id
        ]
        with pytest.raises(NotFound):
            project_features(session, who(ids, "ben"), press)
        seen = working_features(session, "Press", ["press-fit"])
        assert [(p, f.id) for p, f in seen] == [("Press", force.id), ("Press", stiff.id)]
        retire_feature(session=session, actor=ana, feature=force)
        session.commit()
        assert [f.id for _, f in working_features(session)] == [stiff.id, other.id]
        actions = session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.target_id == str(ids["press"]))
        ).all()
        assert {"feature.create", "feature.retire"} <= set(actions)
        assert describe("slope", 2.0, 4.0) == "slope of y over x for 2 ≤ x ≤ 4"
        # A name is free again once its feature is retired.
        make(session, ana, press)


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ({"kind": "peak"}, "kind is one of y_at_x, x_at_y, slope"),
        ({"a": math.nan}, "needs a finite a"),
        ({"kind": "slope", "a": 1.0, "b": None}, "finite a and b"),
        ({"kind": "slope", "a": 4.0, "b": 2.0}, "a < b"),
        ({"name": " "}, "1 to 100 characters"),
        ({"process": "x" * 101}, "1 to 100 characters"),
    ],
)
def test_a_feature_that_cannot_compute_is_refused_in_words(plant, given, words):  # noqa: F811
    sessions, ids = plant
    with sessions() as session, pytest.raises(BadName, match=words):
        make(session, who(ids, "ana"), session.get(Project, ids["press"]), **given)


def test_one_name_per_process(plant):  # noqa: F811
    sessions, ids = plant
    with sessions() as session:
        press = session.get(Project, ids["press"])
        make(session, who(ids, "ana"), press)
        with pytest.raises(BadName, match="has a feature named 'force at 5 mm' already"):
            make(session, who(ids, "ana"), press, a=6.0)
        make(session, who(ids, "ana"), press, process="spot-weld")  # another process: fine
