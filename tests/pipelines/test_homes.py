"""Resolving projects to homes from the metadata store, and refusing a home that cannot answer
before any network call (no nodes here: see tests/app/homes for real clusters)."""

from __future__ import annotations

import pytest

from models.settings import Settings
from models.store import open_metadata
from models.tables import ClusterStatus, Organisation, Project
from pipelines.homes import Home, Homes, HomeUnavailable, home_of_cluster
from pipelines.rules.current import StoredRules
from pipelines.store import CurveStore
from tests.models.test_placement import cluster

BUILTIN = CurveStore(None, "builtin")  # the built-in engine's store (never asked here)


@pytest.fixture
def homes(tmp_path):
    """Projects "a" (built-in), "b" and "c" on a stopped Cloud cluster, "d" on a running one;
    Cloud is not configured, so any call to its provider would fail loudly."""
    settings = Settings(home=tmp_path)
    store = open_metadata(settings)
    with store.sessions() as session:
        org = Organisation(name="Plant")
        owner = Project(organisation=org, name="infra")
        stopped = cluster(owner, "eu-prod", "aws/eu-central-1")
        stopped.status = ClusterStatus.STOPPED
        running = cluster(owner, "us-prod", "aws/us-east-1")
        running.provider_config = {"handle": {"service_id": "s-1", "password": "secret"}}
        session.add_all([org, owner, stopped, running])
        session.flush()
        for name, home in (("a", None), ("b", stopped), ("c", stopped), ("d", running)):
            session.add(Project(organisation=org, name=name, home_cluster=home))
        session.commit()
    yield Homes(settings, store, builtin=lambda: BUILTIN)
    store.close()


def test_projects_resolve_to_their_homes_and_group_by_home(homes):
    found = homes.of_many(["a", "b", "c", "d", "never-made"])
    assert found["a"] is homes.builtin and found["never-made"] is homes.builtin
    assert found["b"].label == "cluster eu-prod" and found["b"].status == "stopped"
    assert found["b"] == found["c"] != found["d"]
    grouped = homes.grouped(["d", "c", "a", "b"])
    assert list(grouped.values()) == [["a"], ["c", "b"], ["d"]]
    assert set(homes.on_clusters()) == {found["b"], found["d"]}


def test_a_home_read_twice_is_one_home_whatever_its_state_was():
    first = Home(key="cluster-3", label="cluster x", cluster_id=3, status="running")
    again = Home(key="cluster-3", label="cluster x", cluster_id=3, status="stopped")
    assert first == again and len({first, again}) == 1


def test_a_stopped_home_is_refused_in_words_without_a_call(homes):
    stopped = homes.of("b")
    with pytest.raises(HomeUnavailable) as refused:
        homes.store(stopped, project="b")
    assert str(refused.value) == (
        "Project b's curves live on cluster eu-prod, which is stopped. "
        "Start it on the Clusters page to see them."
    )
    assert refused.value.status == "stopped" and refused.value.home == stopped
    assert homes.store(homes.builtin) is BUILTIN
    assert isinstance(BUILTIN.rules, StoredRules)  # it judges what it writes by the rules


def test_a_running_home_whose_provider_cannot_be_asked_is_unreachable(homes):
    with pytest.raises(HomeUnavailable, match="which does not answer") as refused:
        homes.store(homes.of("d"), project="d")
    assert refused.value.status == "unreachable"
    assert "ClickHouse Cloud is not configured" in str(refused.value)


def test_home_of_a_cluster_row():
    from models.tables import ProviderKey

    row = cluster(Project(name="p"), "line-dev", "local", provider=ProviderKey.EMBEDDED)
    row.id = 7
    home = home_of_cluster(row)
    assert (home.key, home.label, home.region, home.provider) == (
        "cluster-7",
        "cluster line-dev",
        "local",
        "embedded",
    )


@pytest.mark.embedded_only
def test_the_busiest_project_is_the_one_with_most_curves_on_the_builtin_engine(
    homes, engine, database
):
    """What a page opens on when its address names no project: "a" holds more curves than
    "e" and "f" none ("e" and "f" have no project row: the built-in engine's); "d" lives on a
    cluster, so its curves here (the most) do not count."""
    from pipelines.store import DatasetSpec
    from pipelines.synthetic import DemoSpec, generate_demo

    _, name = database
    writer = CurveStore.open(engine.client(), name)
    for label, curves in (("e", 6), ("a", 9), ("d", 12)):
        writer.write(generate_demo(DemoSpec(curves=curves)), DatasetSpec(label, "demo", label))
    writer.client.close()
    here = Homes(homes.settings, homes.metadata, builtin=lambda: CurveStore(engine.client(), name))
    assert here.busiest(["f", "e", "d", "a"]) == "a"
    assert here.busiest(["f", "e"]) == "e"
    assert here.busiest(["f", "d"]) is None  # none holds a curve on the built-in engine
    assert here.busiest([]) is None


def test_the_busiest_project_is_none_when_the_engine_cannot_be_asked(homes, caplog):
    """A convenience only: the page then opens on the first project, and the log says why."""

    def unreachable() -> CurveStore:
        raise ConnectionRefusedError("the engine does not answer")

    here = Homes(homes.settings, homes.metadata, builtin=unreachable)
    with caplog.at_level("WARNING", logger="pipelines.homes"):
        assert here.busiest(["a"]) is None
    assert "could not count the projects' curves" in caplog.text
