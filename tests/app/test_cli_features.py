"""``curvehouse features``: what lacks features, and the backfill, through the real command."""

import pytest

from tests.app.test_cli import run

pytestmark = pytest.mark.integration


def test_features_come_with_the_demo_and_the_backfill_finds_nothing_left(tmp_path):
    assert "Stored 40 curves" in run(tmp_path, "demo", "--curves", "40", "--seed", "2").stdout
    assert "0 stored curves without features" in run(tmp_path, "features").stdout
    out = run(tmp_path, "features", "--backfill").stdout
    assert out.startswith("Computed the features of 0 curves in ")
