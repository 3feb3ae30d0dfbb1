"""``curvehouse features``: what lacks features, and the backfill, through the real command."""

import pytest

from tests.app.test_cli import run

pytestmark = pytest.mark.integration


def test_features_come_with_the_demo_and_the_backfill_finds_nothing_left(tmp_path):
    assert "Stored 40 curves" in run(tmp_path, "demo", "--curves", "40", "--seed", "2").stdout
    assert "0 stored curves without features" in run(tmp_path, "features").stdout
    out = run(tmp_path, "features", "--backfill").stdout
    assert out.startswith("Computed the features of 0 curves in ")


def test_the_backfill_fills_each_project_s_configured_features(tmp_path):
    from models.access import operator
    from models.feature_definitions import create_feature
    from models.settings import Settings
    from models.store import open_metadata
    from models.tables import Project

    run(tmp_path, "demo", "--curves", "30", "--seed", "2")
    with open_metadata(Settings(home=tmp_path)) as store, store.sessions() as session:
        demo = session.query(Project).filter_by(name="demo").one()
        create_feature(
            session=session,
            actor=operator(),
            project=demo,
            process="press-fit",
            name="force at 2",
            kind="y_at_x",
            a=2.0,
        )
        session.commit()
    out = run(tmp_path, "features", "--backfill").stdout
    assert "Project demo: computed 10 values of its configured features" in out
    again = run(tmp_path, "features", "--backfill").stdout
    assert "Project demo: computed 0 values" in again
