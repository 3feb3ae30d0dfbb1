"""Configured features filled for stored curves (app/feature_fill.py): the periodic filler
gives every project's curves their missing values once (moved-in curves, a stopped server's
leftovers), and a feature defined while a fill runs is filled by that fill before it ends."""

from __future__ import annotations

import uuid

import pytest

import app.feature_fill as filling
from app.feature_fill import FeatureFiller, fill
from app.services import Services
from models.access import operator
from models.feature_definitions import create_feature
from models.settings import Settings
from models.tables import Project, Role
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from tests.app.people import project_with

pytestmark = pytest.mark.integration


@pytest.fixture
def plant(tmp_path):
    services = Services(Settings(home=tmp_path, database=f"t_{uuid.uuid4().hex[:12]}"))
    with services.metadata.sessions() as session:
        project_with(session, "demo", {"eve": Role.ENGINEER})
    store = services.homes.store(services.homes.builtin, project="demo")
    store.configured = None  # stored as before any feature was defined
    store.write(generate_demo(DemoSpec(curves=90, seed=5)), DatasetSpec("demo", "demo", "d"))
    yield services, store
    store.client.close()
    services.close()


def define(services, process: str, name: str = "force at 2") -> int:
    with services.metadata.sessions() as session:
        project = session.query(Project).filter_by(name="demo").one()
        made = create_feature(
            session=session,
            actor=operator(),
            project=project,
            process=process,
            name=name,
            kind="y_at_x",
            a=2.0,
        )
        session.commit()
        return made.id


def values(store, feature_id: int) -> int:
    return store.client.query(
        f"SELECT count() FROM {store.db}.curve_feature_values FINAL WHERE feature_id = %(f)s",
        parameters={"f": feature_id},
    ).result_rows[0][0]


def test_the_filler_fills_what_is_missing_once(plant):
    services, store = plant
    process = store.client.query(f"SELECT any(process) FROM {store.db}.curves").result_rows[0][0]
    curves = store.client.query(
        f"SELECT count() FROM {store.db}.curves WHERE process = %(p)s", parameters={"p": process}
    ).result_rows[0][0]
    feature = define(services, process)
    filler = FeatureFiller(services)
    assert filler.cycle() == curves == values(store, feature) > 0
    assert filler.cycle() == 0  # nothing missing: nothing written


def test_a_feature_defined_during_a_fill_is_filled_by_it(plant, monkeypatch):
    services, store = plant
    process = store.client.query(f"SELECT any(process) FROM {store.db}.curves").result_rows[0][0]
    first = define(services, process)
    passes, later = [], []
    real = filling._fill_once

    def once(services_, project):
        passes.append(project)
        if len(passes) == 1:  # someone defines another feature while this pass runs
            later.append(define(services, process, "force at 2, again"))
            assert fill(services, project) == 0  # the running fill will look again
        return real(services_, project)

    monkeypatch.setattr(filling, "_fill_once", once)
    fill(services, "demo")
    assert passes == ["demo", "demo"] and "demo" not in filling.FILLING
    assert values(store, first) == values(store, later[0]) > 0
