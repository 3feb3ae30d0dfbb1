"""The mover on real embedded clusters: a project copied in batches while reads keep seeing the
old home, a corrupted copy caught and copied again, the switch in one step with equal checksums,
the old copy kept until confirmed, a cancel mid-copy, and the audit trail of it all."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.clusters.lifecycle import create_cluster, stop_cluster
from app.homes.mover import ProjectMover
from app.homes.moves import act_on_move, request_move
from app.services import Services
from models.move_states import MoveAction
from models.placement import set_home
from models.tables import AuditEvent, ClusterStatus, MoveState, Project, ProjectMove
from pipelines.ingest import ingest_file
from pipelines.moves import tally
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from tests.app.api.conftest import curves_csv
from tests.app.clusters.test_lifecycle import ACTOR, request, world  # noqa: F401 - fixture
from tests.app.clusters.waiting import wait_until
from tests.app.homes.release import unhome

pytestmark = pytest.mark.integration
PROJECT = "line-7"
DATASETS = (250, 30)  # curves of the demo run and of the CSV import


@pytest.fixture
def line(world, tmp_path):  # noqa: F811 - the imported fixture
    """Project line-7 living on cluster old-dev with two demo datasets, and an empty cluster
    new-dev; moves copy in 1 MB batches."""
    store, settings, press = world
    settings = settings.with_overrides(move_batch_mb=1)
    clusters = {}
    for name in ("old-dev", "new-dev"):
        made = create_cluster(
            store=store, settings=settings, request=request(press, name=name), actor=ACTOR
        )
        clusters[name] = made.id
    for cluster_id in clusters.values():
        ready = wait_until(
            store=store, settings=settings, cluster_id=cluster_id, states={"running"}
        )
        assert ready.status is ClusterStatus.RUNNING
    with store.sessions() as session:
        row = Project(organisation=session.get(Project, press).organisation, name=PROJECT)
        session.add(row)
        session.flush()
        set_home(session=session, actor=ACTOR, project_id=row.id, cluster_id=clusters["old-dev"])
        session.commit()
        project_id = row.id
    services = Services(settings)
    try:
        target = services.homes.store(services.homes.of(PROJECT), project=PROJECT)
        spec = DemoSpec(curves=DATASETS[0], project=PROJECT, days=1)
        target.write(generate_demo(spec), DatasetSpec(project=PROJECT, kind="demo", name="demo"))
        csv = tmp_path / "line7.csv"
        csv.write_bytes(curves_csv("L7", count=DATASETS[1]))
        ingest_file(target, csv, project=PROJECT)
        target.client.close()
        yield services, clusters, project_id
    finally:
        services.close()
        unhome(store)


def on(services: Services, cluster_id: int):
    """A store on the cluster's database, whatever the project's home is now."""
    homes = services.homes
    (home,) = [h for h in homes.on_clusters() if h.cluster_id == cluster_id] or [
        _home_of(services, cluster_id)
    ]
    return homes.store(home)


def _home_of(services: Services, cluster_id: int):
    from models.tables import Cluster
    from pipelines.homes import home_of_cluster

    with services.metadata.sessions() as session:
        return home_of_cluster(session.get(Cluster, cluster_id))


def tallied(services: Services, cluster_id: int) -> dict:
    store = on(services, cluster_id)
    try:
        return tally(store, PROJECT)
    finally:
        store.client.close()


def the_move(services: Services) -> ProjectMove:
    with services.metadata.sessions() as session:
        move = session.scalar(sa.select(ProjectMove).order_by(ProjectMove.id.desc()).limit(1))
        session.expunge(move)
        return move


def actions(services: Services) -> list[str]:
    with services.metadata.sessions() as session:
        return session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.action.like("project.move.%"))
            .order_by(AuditEvent.id)
        ).all()


def test_a_project_moves_in_checked_batches_and_reads_see_the_old_home_until_the_switch(line):
    services, clusters, project_id = line
    before = tallied(services, clusters["old-dev"])
    assert sum(t.curves for t in before.values()) == sum(DATASETS)
    seen = []

    def reading_during_the_copy() -> None:
        home = services.homes.of(PROJECT)
        with services.homes.reader(PROJECT) as curves:
            seen.append((home.cluster_id, curves.count()))

    mover = ProjectMover(services, between_batches=reading_during_the_copy)
    request_move(
        store=services.metadata,
        homes=services.homes,
        actor=ACTOR,
        project_id=project_id,
        to_cluster_id=clusters["new-dev"],
    )
    assert mover.cycle()  # copies every dataset, batch by batch
    copied = the_move(services)
    assert copied.state is MoveState.CHECKING
    assert copied.datasets_done == copied.datasets_total == 2
    assert copied.curves_done == copied.curves_total == sum(DATASETS)
    assert len(seen) >= 4  # several batches of 1 MB
    assert set(seen) == {(clusters["old-dev"], sum(DATASETS))}

    # A copy gone wrong after copying is found by the check and copied once more.
    damaged = on(services, clusters["new-dev"])
    damaged.client.command(
        f"ALTER TABLE {damaged.database}.curve_samples UPDATE y = arrayMap(v -> v + 1, y) "
        "WHERE curve_id = (SELECT min(curve_id) FROM "
        f"{damaged.database}.curve_samples)",
        settings={"mutations_sync": 2},
    )
    damaged.client.close()
    assert tallied(services, clusters["new-dev"]) != before

    assert mover.cycle()  # checks, re-copies the damaged dataset, checks again, switches
    switched = the_move(services)
    assert switched.state is MoveState.SWITCHED, switched.detail
    assert switched.checks["source"] == switched.checks["target"]
    assert switched.checks["source"]["curves"] == sum(DATASETS)
    assert tallied(services, clusters["new-dev"]) == before
    assert services.homes.of(PROJECT).cluster_id == clusters["new-dev"]
    assert tallied(services, clusters["old-dev"]) == before  # kept until confirmed

    act_on_move(
        store=services.metadata, actor=ACTOR, project_id=project_id, action=MoveAction.CONFIRM
    )
    assert mover.cycle()
    assert the_move(services).state is MoveState.DONE
    assert tallied(services, clusters["old-dev"]) == {}
    assert tallied(services, clusters["new-dev"]) == before
    assert not mover.cycle()  # nothing left to do
    assert actions(services) == [
        "project.move.request",
        "project.move.step",  # copying -> checking
        "project.move.check",
        "project.move.switch",
        "project.move.confirm",
        "project.move.cleanup",
    ]


def test_a_move_cancelled_mid_copy_leaves_nothing_on_the_target(line):
    services, clusters, project_id = line
    before = tallied(services, clusters["old-dev"])

    def cancel_once() -> None:
        if the_move(services).state is MoveState.COPYING:
            act_on_move(
                store=services.metadata,
                actor=ACTOR,
                project_id=project_id,
                action=MoveAction.CANCEL,
            )

    mover = ProjectMover(services, between_batches=cancel_once)
    request_move(
        store=services.metadata,
        homes=services.homes,
        actor=ACTOR,
        project_id=project_id,
        to_cluster_id=clusters["new-dev"],
    )
    assert mover.cycle()  # stops at the next batch
    assert the_move(services).state is MoveState.CANCELLED
    assert mover.cycle()  # drops what was copied
    cancelled = the_move(services)
    assert cancelled.finished_at is not None
    assert tallied(services, clusters["new-dev"]) == {}
    assert tallied(services, clusters["old-dev"]) == before
    assert services.homes.of(PROJECT).cluster_id == clusters["old-dev"]
    assert "project.move.dropped" in actions(services)


def test_a_stopped_target_fails_the_move_in_words_and_it_resumes_once_running(line):
    services, clusters, project_id = line
    store, settings = services.metadata, services.settings
    request_move(
        store=store,
        homes=services.homes,
        actor=ACTOR,
        project_id=project_id,
        to_cluster_id=clusters["new-dev"],
    )
    stop_cluster(store=store, settings=settings, cluster_id=clusters["new-dev"], actor=ACTOR)
    wait_until(store=store, settings=settings, cluster_id=clusters["new-dev"], states={"stopped"})
    mover = ProjectMover(services)
    mover.cycle()
    failed = the_move(services)
    assert failed.state is MoveState.FAILED
    assert failed.detail == (
        "Project line-7's curves live on cluster new-dev, which is stopped. "
        "Start it on the Clusters page to see them."
    )
    from app.clusters.lifecycle import start_cluster

    start_cluster(store=store, settings=settings, cluster_id=clusters["new-dev"], actor=ACTOR)
    wait_until(store=store, settings=settings, cluster_id=clusters["new-dev"], states={"running"})
    act_on_move(store=store, actor=ACTOR, project_id=project_id, action=MoveAction.RESUME)
    while mover.cycle() and the_move(services).state is not MoveState.SWITCHED:
        pass
    assert the_move(services).state is MoveState.SWITCHED
    assert tallied(services, clusters["new-dev"]) == tallied(services, clusters["old-dev"])
