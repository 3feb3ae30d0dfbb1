"""A project's curves live in its home: two projects on two embedded clusters and one on the
built-in engine, imported into and queried through the REST API, each reading only its own; a
stopped home answers 503 in words while the others keep working; residency refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from app.clusters.lifecycle import ClusterRequestError, create_cluster, delete_cluster, stop_cluster
from models.tables import Cluster, Project
from providers.clusters.configured import provider_for
from tests.app.api.conftest import OPERATOR, PROJECT_A, PROJECT_B, ROOT, curves_csv, hosted
from tests.app.clusters.test_lifecycle import request

pytestmark = pytest.mark.integration
CSV = {"Content-Type": "text/csv"}


@pytest.fixture(scope="module")
def homes(tmp_path_factory):
    """The API world plus clusters ``line1-dev`` and ``line2-dev`` (owned by project A), a
    project on each, and curves imported into all three projects."""
    with hosted(tmp_path_factory, "homes") as world:
        clusters = {}
        for name in ("line1-dev", "line2-dev"):
            made = create_cluster(
                store=world.store,
                settings=world.settings,
                request=request(world.project_a, name=name),
                actor=OPERATOR,
            )
            clusters[name] = made.id
        for cluster_id in clusters.values():
            assert world.settle(cluster_id, {"running", "failed"}) == "running"
        projects = {PROJECT_A: world.project_a}
        for name, cluster in (("line-1", "line1-dev"), ("line-2", "line2-dev")):
            made = world.call(
                "POST", "/api/projects", json={"name": name, "cluster_id": clusters[cluster]}
            )
            assert made.status_code == 201, made.text
            projects[name] = made.json()["id"]
        for name, prefix in (("line-1", "L1"), ("line-2", "L2")):
            answer = world.call(
                "POST",
                f"/api/projects/{projects[name]}/datasets?name={prefix}.csv",
                data=curves_csv(prefix, count=3 if name == "line-1" else 5),
                headers=CSV,
            )
            assert answer.status_code == 201, answer.text
        world.extra.update(clusters=clusters, projects=projects)
        yield world


def keys(world, project_id: int) -> set[str]:
    answer = world.call("GET", f"/api/projects/{project_id}/curves?limit=500")
    assert answer.status_code == 200, answer.text
    return {item["curve_key"] for item in answer.json()["items"]}


def on_cluster(world, cluster_id: int) -> dict[str, int]:
    """Curves per project label in the cluster's own database, asked of the node directly."""
    with world.store.sessions() as session:
        cluster = session.get(Cluster, cluster_id)
        connection = provider_for(world.settings, cluster).connection(
            cluster.provider_config["handle"]
        )
    with connection.client() as client:
        rows = client.query("SELECT project, count() FROM curves GROUP BY project").result_rows
    return {project: int(n) for project, n in rows}


def test_each_project_reads_only_its_own_curves_from_its_home(homes):
    projects = homes.extra["projects"]
    assert keys(homes, projects["line-1"]) == {f"L1-{i}" for i in range(3)}
    assert keys(homes, projects["line-2"]) == {f"L2-{i}" for i in range(5)}
    assert keys(homes, projects[PROJECT_A]) == {f"A-{i}" for i in range(4)}
    for name, expected in (("line-1", 3), ("line-2", 5), (PROJECT_A, 4)):
        raster = homes.call(
            "GET", f"/api/projects/{projects[name]}/curves/raster?width=40&height=20"
        )
        assert raster.status_code == 200, raster.text
        assert raster.json()["curves"] == expected


def test_a_projects_curves_are_only_in_its_clusters_database(homes):
    clusters = homes.extra["clusters"]
    assert on_cluster(homes, clusters["line1-dev"]) == {"line-1": 3}
    assert on_cluster(homes, clusters["line2-dev"]) == {"line-2": 5}


def test_the_built_in_engine_holds_none_of_the_cluster_projects_curves(tmp_path_factory):
    """Read the built-in engine's data directory in a process of its own, once no server holds
    it (chDB allows one engine per process and per directory)."""
    with hosted(tmp_path_factory, "builtin-only") as world:
        cluster = create_cluster(
            store=world.store,
            settings=world.settings,
            request=request(world.project_a, name="solo-dev"),
            actor=OPERATOR,
        ).id
        assert world.settle(cluster, {"running", "failed"}) == "running"
        made = world.call("POST", "/api/projects", json={"name": "solo", "cluster_id": cluster})
        assert made.status_code == 201, made.text
        answer = world.call(
            "POST",
            f"/api/projects/{made.json()['id']}/datasets?name=solo.csv",
            data=curves_csv("S", count=2),
            headers=CSV,
        )
        assert answer.status_code == 201, answer.text
        world.server.stop()
        counted = subprocess.run(
            [
                sys.executable,
                "-c",
                "import json; from pipelines.notebook import open_curves; "
                "print(json.dumps({p: int(n) for p, n in open_curves().client.query("
                "'SELECT project, count() FROM curvehouse.curves GROUP BY project').result_rows}))",
            ],
            env={**os.environ, "CURVEHOUSE_HOME": str(world.home)},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert counted.returncode == 0, counted.stderr
        assert json.loads(counted.stdout.strip().splitlines()[-1]) == {PROJECT_A: 4, PROJECT_B: 4}
        assert on_cluster(world, cluster) == {"solo": 2}


def run(world, *args: str) -> subprocess.CompletedProcess:
    """A command in a process of its own on the world's home, while its server runs."""
    return subprocess.run(
        [sys.executable, *args],
        env={**os.environ, "CURVEHOUSE_HOME": str(world.home)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_cli_and_notebooks_reach_a_cluster_home_while_the_server_runs(homes, tmp_path):
    projects = homes.extra["projects"]
    csv = tmp_path / "late.csv"
    csv.write_bytes(curves_csv("CLI", count=2))
    ingested = run(homes, "-m", "app.cli", "ingest", str(csv), "--project", "line-1")
    assert ingested.returncode == 0, ingested.stderr
    assert "lives on cluster line1-dev" in ingested.stdout
    assert keys(homes, projects["line-1"]) == {f"L1-{i}" for i in range(3)} | {"CLI-0", "CLI-1"}
    assert on_cluster(homes, homes.extra["clusters"]["line1-dev"]) == {"line-1": 5}
    counted = run(
        homes,
        "-c",
        "from pipelines.notebook import open_curves; "
        "print(open_curves(project='line-1').count(), open_curves(project='line-2').count())",
    )
    assert counted.returncode == 0, counted.stderr
    assert counted.stdout.split() == ["5", "5"]


def test_a_project_shows_its_home(homes):
    projects, clusters = homes.extra["projects"], homes.extra["clusters"]
    one = homes.call("GET", f"/api/projects/{projects['line-1']}").json()
    assert one["home"] == {
        "kind": "cluster",
        "cluster_id": clusters["line1-dev"],
        "name": "line1-dev",
        "status": "running",
        "region": "local",
    }
    assert one["residency"] is None
    built_in = homes.call("GET", f"/api/projects/{projects[PROJECT_A]}").json()["home"]
    assert built_in["kind"] == "builtin" and built_in["cluster_id"] is None


def test_residency_refuses_a_home_outside_its_group_in_words(homes):
    clusters, projects = homes.extra["clusters"], homes.extra["projects"]
    refused = homes.call(
        "POST",
        "/api/projects",
        json={"name": "eu-line", "cluster_id": clusters["line1-dev"], "residency": "eu"},
    )
    assert refused.status_code == 409, refused.text
    assert (
        "EU" in refused.json()["error"]["message"]
        and "line1-dev" in refused.json()["error"]["message"]
    )
    with homes.store.sessions() as session:  # nothing half-made
        assert session.query(Project).filter(Project.name == "eu-line").count() == 0
    pin = homes.call("PATCH", f"/api/projects/{projects['line-1']}", json={"residency": "eu"})
    assert pin.status_code == 409, pin.text
    pin = homes.call(
        "PATCH", f"/api/projects/{projects['line-1']}", json={"residency": "on-premises"}
    )
    assert pin.status_code == 200, pin.text
    assert pin.json()["residency"] == "on-premises"
    viewer = homes.call(
        "PATCH", f"/api/projects/{projects[PROJECT_A]}", "viewer", json={"residency": None}
    )
    assert viewer.status_code == 403


def test_a_cluster_holding_projects_cannot_be_deleted(homes):
    cluster = homes.extra["clusters"]["line1-dev"]
    with pytest.raises(ClusterRequestError, match="holds the curves of line-1"):
        delete_cluster(
            store=homes.store, settings=homes.settings, cluster_id=cluster, actor=OPERATOR
        )
    assert homes.cluster_status(cluster) == "running"


def test_a_stopped_home_answers_503_in_words_and_the_others_keep_working(homes):
    clusters, projects = homes.extra["clusters"], homes.extra["projects"]
    stop_cluster(
        store=homes.store,
        settings=homes.settings,
        cluster_id=clusters["line2-dev"],
        actor=OPERATOR,
    )
    assert homes.settle(clusters["line2-dev"], {"stopped"}) == "stopped"
    for path in ("curves", "datasets", "curves/raster?width=40&height=20"):
        answer = homes.call("GET", f"/api/projects/{projects['line-2']}/{path}")
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["message"] == (
            "Project line-2's curves live on cluster line2-dev, which is stopped. "
            "Start it on the Clusters page to see them."
        )
        assert "Traceback" not in answer.text
    refused = homes.call(
        "POST",
        f"/api/projects/{projects['line-2']}/datasets?name=late.csv",
        data=curves_csv("late"),
        headers=CSV,
    )
    assert refused.status_code == 503
    assert {f"L1-{i}" for i in range(3)} <= keys(homes, projects["line-1"])
    assert len(keys(homes, projects[PROJECT_A])) == 4
