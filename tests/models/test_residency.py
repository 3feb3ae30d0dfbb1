"""Residency groups as data: the packaged file, its strict checks, and the refusal in words."""

from __future__ import annotations

import json

import pytest

from models.residency import (
    ResidencyDataError,
    ResidencyError,
    check_home,
    load_residency,
)
from providers.clusters.cloud import REGIONS
from providers.clusters.embedded import EmbeddedClusterProvider
from providers.clusters.server import ServerClusterProvider


def test_every_region_is_one_a_cluster_can_have():
    # models cannot import providers, so the spelling is checked here.
    known = set(REGIONS) | set(EmbeddedClusterProvider.regions) | set(ServerClusterProvider.regions)
    for group in load_residency().groups:
        assert set(group.regions) <= known, group.key


def test_the_groups_the_plan_names():
    groups = load_residency().by_key
    assert set(groups) == {"eu", "europe", "us", "apac", "on-premises"}
    assert "aws/eu-west-2" in groups["europe"].regions  # London: Europe, not the EU
    assert "aws/eu-west-2" not in groups["eu"].regions
    assert set(groups["eu"].regions) < set(groups["europe"].regions)
    assert groups["on-premises"].regions == ("local", "self-managed")
    assert "server" in groups["on-premises"].note


def test_a_home_outside_the_group_is_refused_in_words():
    eu = load_residency().group("eu")
    check_home(eu, "aws/eu-central-1", project="line-7", home_label="cluster eu-prod")
    check_home(None, "aws/us-east-1", project="line-7", home_label="cluster us-prod")
    with pytest.raises(ResidencyError) as refused:
        check_home(eu, "aws/us-east-1", project="line-7", home_label="cluster us-prod")
    assert str(refused.value) == (
        "Project line-7 is pinned to EU (eu-central-1, eu-west-1, europe-west4, "
        "germanywestcentral); cluster us-prod runs in aws/us-east-1, outside it. Choose a "
        "cluster in EU, or an owner changes the project's residency."
    )
    with pytest.raises(ResidencyError, match="the built-in engine runs in local"):
        check_home(eu, "local", project="line-7", home_label="the built-in engine")


def test_an_unknown_group_names_the_known_ones():
    with pytest.raises(ResidencyError, match="No residency group 'mars'; the groups are eu, "):
        load_residency().group("mars")


GOOD = {"key": "eu", "label": "EU", "note": "In the EU.", "regions": ["aws/eu-west-1"]}


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ([{**GOOD, "regions": []}], r"groups\[0\] 'eu' regions: .*at least 1"),
        ([{k: v for k, v in GOOD.items() if k != "note"}], r"groups\[0\] 'eu' has no 'note'"),
        ([{**GOOD, "colour": "blue"}], r"groups\[0\] 'eu' colour is not a field"),
        ([{**GOOD, "regions": ["local", "local"]}], r"regions: lists a region twice"),
        ([{**GOOD, "key": "EU!"}], r"groups\[0\] 'EU!' key"),
        ([GOOD, GOOD], r"two groups share a key"),
        ([{**GOOD, "regions": "aws/eu-west-1"}], r"groups\[0\] 'eu' regions"),
    ],
)
def test_a_malformed_file_is_refused_naming_the_entry(tmp_path, groups, message):
    path = tmp_path / "residency.json"
    path.write_text(json.dumps({"groups": groups}), encoding="utf-8")
    with pytest.raises(ResidencyDataError, match=r"^residency\.json: .*" + message):
        load_residency(path)
