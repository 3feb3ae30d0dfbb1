"""Configured features in the metadata store: engineers and above define and retire them,
every member reads them, a definition that cannot compute is refused in words, and the
store's feature source sees only the working ones of the processes it asks for. A working
name is unique per project and process in the store itself (migration 0018): a twin made at
the same instant is refused in the same words, and twins an older store holds are renamed."""

from __future__ import annotations

import math

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.access import Forbidden, NotFound
from models.feature_definitions import (
    create_feature,
    describe,
    project_features,
    retire_feature,
    working_features,
)
from models.names import BadName
from models.store import current_revision, migrate
from models.tables import AuditEvent, FeatureDefinition, Project
from tests.models.test_access import plant, who  # noqa: F401 (the fixture)
from tests.models.test_migrations import MONDAY, downgrade, insert


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


def test_a_twin_made_at_the_same_instant_is_refused_in_the_same_words(plant):  # noqa: F811
    """Another engineer's feature of the same name commits between the check and the insert:
    the store's unique index refuses the second, and it is told as a duplicate name is."""
    sessions, ids = plant
    with sessions() as session:
        press = session.get(Project, ids["press"])
        engine = session.get_bind()

        def meanwhile(*_args) -> None:
            with engine.begin() as other:
                other.execute(
                    sa.insert(FeatureDefinition).values(
                        project_id=ids["press"],
                        process="press-fit",
                        name="force at 5 mm",
                        kind="y_at_x",
                        a=5.0,
                        created_by="bo@plant.example",
                    )
                )

        sa.event.listen(session, "before_flush", meanwhile, once=True)
        with pytest.raises(BadName, match="has a feature named 'force at 5 mm' already"):
            make(session, who(ids, "ana"), press)
        # The session goes on: another name is made, and only the other engineer's twin stays.
        make(session, who(ids, "ana"), session.get(Project, ids["press"]), name="force at 6 mm")
        session.commit()
        names = session.scalars(
            sa.select(FeatureDefinition.created_by).where(FeatureDefinition.name == "force at 5 mm")
        ).all()
        assert names == ["bo@plant.example"]
        assert session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.action == "feature.create")
        ).all() == ["feature.create"]  # the refused one left no trail


def test_the_store_refuses_a_working_twin_inserted_past_the_check(plant):  # noqa: F811
    """Straight into the table: two working features of one name and process are refused; a
    retired one's name, another process or another project may repeat it."""
    sessions, ids = plant
    row = {
        "project_id": ids["press"],
        "process": "press-fit",
        "name": "force at 5 mm",
        "kind": "y_at_x",
        "a": 5.0,
        "created_by": "x",
    }
    with sessions() as session:
        engine = session.get_bind()
    with engine.begin() as connection:
        connection.execute(sa.insert(FeatureDefinition).values(row))
        connection.execute(sa.insert(FeatureDefinition).values({**row, "retired_at": MONDAY}))
        connection.execute(sa.insert(FeatureDefinition).values({**row, "retired_at": MONDAY}))
        connection.execute(sa.insert(FeatureDefinition).values({**row, "process": "spot-weld"}))
        connection.execute(sa.insert(FeatureDefinition).values({**row, "project_id": ids["weld"]}))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(sa.insert(FeatureDefinition).values(row))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:  # un-retiring
        connection.execute(
            sa.update(FeatureDefinition)
            .where(FeatureDefinition.retired_at.is_not(None))
            .values(retired_at=None)
        )


def test_migration_0018_renames_older_twins_and_goes_down_and_up(engine):
    """A store that already holds working twins keeps the oldest's name and gives each later
    one the first free ``name (k)``, audited; retired ones, other processes and other projects
    keep theirs. Down drops the index (names stay); up again finds nothing to rename."""
    migrate(engine, "0017")
    long = "f" * 100
    with engine.begin() as connection:
        organisation = insert(connection, "organisations", name="Plant G", created_at=MONDAY)
        projects = [
            insert(connection, "projects", organisation_id=organisation, name=n, created_at=MONDAY)
            for n in ("Line 10", "Line 11")
        ]

        def feature(name: str, process: str = "press-fit", project: int = projects[0], **more):
            return insert(
                connection,
                "feature_definitions",
                project_id=project,
                process=process,
                name=name,
                kind="y_at_x",
                a=5.0,
                created_by="ana@plant.example",
                created_at=MONDAY,
                **more,
            )

        made = {
            "first": feature("force"),
            "retired": feature("force", retired_at=MONDAY),
            "second": feature("force"),
            "taken": feature("force (2)"),
            "third": feature("force"),
            "weld": feature("force", process="spot-weld"),
            "other project": feature("force", project=projects[1]),
            "long": feature(long),
            "long twin": feature(long),
        }
    migrate(engine)
    assert current_revision(engine) == "0018"
    with Session(engine) as session:
        names = dict(session.execute(sa.select(FeatureDefinition.id, FeatureDefinition.name)).all())
        assert {k: names[i] for k, i in made.items()} == {
            "first": "force",
            "retired": "force",
            "second": "force (3)",
            "taken": "force (2)",
            "third": "force (4)",
            "weld": "force",
            "other project": "force",
            "long": long,
            "long twin": "f" * 96 + " (2)",
        }
        trail = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "feature.rename").order_by("id")
        ).all()
        assert [(e.actor, e.target_id, e.detail["feature"], e.detail["after"]) for e in trail] == [
            ("migration 0018", str(projects[0]), made["second"], "force (3)"),
            ("migration 0018", str(projects[0]), made["third"], "force (4)"),
            ("migration 0018", str(projects[0]), made["long twin"], "f" * 96 + " (2)"),
        ]
        assert trail[0].detail["before"] == "force"
    downgrade(engine, "0017")
    with engine.begin() as connection:  # without the index, a twin goes in
        twin = insert(
            connection,
            "feature_definitions",
            project_id=projects[0],
            process="press-fit",
            name="force",
            kind="slope",
            a=1.0,
            b=2.0,
            created_by="x",
            created_at=MONDAY,
        )
    migrate(engine)
    with Session(engine) as session:
        assert session.get(FeatureDefinition, twin).name == "force (5)"
        assert session.get(FeatureDefinition, made["second"]).name == "force (3)"
