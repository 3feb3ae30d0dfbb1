"""Pages follow a project's home: two projects on two embedded clusters explored side by side
with no mixing, a cluster's detail listing what lives on it, and a stopped home's pages saying so
in words, with Start only for those allowed to start clusters."""

from __future__ import annotations

import panel as pn
import pytest

from app.clusters.dashboard import ClusterDashboard
from app.clusters.lifecycle import create_cluster, stop_cluster
from app.explorer.explorer import CurveExplorer
from app.homes.notice import HomeNotice
from app.pages.curves import explore
from app.pages.home import HomePage
from app.services import Services
from models import accounts
from models.access import Principal
from models.placement import set_home
from models.tables import (
    ClusterStatus,
    Project,
    ProjectMember,
    Role,
)
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from tests.app.clusters.test_lifecycle import ACTOR, request, world  # noqa: F401 - fixture
from tests.app.clusters.waiting import wait_until
from tests.app.homes.release import unhome

pytestmark = pytest.mark.integration
SIZES = {"line-1": 40, "line-2": 70}


@pytest.fixture
def lines(world):  # noqa: F811 - the imported fixture
    """Clusters line1-dev and line2-dev (of project "Press shop"), projects line-1 and line-2
    living on them with demo curves, and an engineer and a viewer of "Press shop"."""
    store, settings, press = world
    clusters = {}
    for project, name in (("line-1", "line1-dev"), ("line-2", "line2-dev")):
        made = create_cluster(
            store=store, settings=settings, request=request(press, name=name), actor=ACTOR
        )
        clusters[project] = made.id
    for cluster_id in clusters.values():
        ready = wait_until(
            store=store, settings=settings, cluster_id=cluster_id, states={"running"}
        )
        assert ready.status is ClusterStatus.RUNNING
    people = {}
    with store.sessions() as session:
        for project, cluster_id in clusters.items():
            row = Project(organisation=session.get(Project, press).organisation, name=project)
            session.add(row)
            session.flush()
            set_home(session=session, actor=ACTOR, project_id=row.id, cluster_id=cluster_id)
        for role in (Role.ENGINEER, Role.VIEWER):
            user = accounts.create_user(
                session=session, email=f"{role}@plant.example", password=None
            )
            session.add(ProjectMember(project_id=press, user=user, role=role))
            session.flush()
            people[role] = Principal(f"{role}@plant.example", user.id)
        session.commit()
    services = Services(settings)
    for project, curves in SIZES.items():
        homes = services.homes
        target = homes.store(homes.of(project), project=project)
        spec = DemoSpec(curves=curves, seed=len(project) + curves, project=project, days=1)
        target.write(generate_demo(spec), DatasetSpec(project=project, kind="demo", name="demo"))
        target.client.close()
    yield services, clusters, people
    services.close()
    unhome(store)


def explorer_of(shown) -> CurveExplorer | None:
    return shown[0] if isinstance(shown[0], CurveExplorer) else None


def notice_of(shown) -> HomeNotice | None:
    return shown[0] if isinstance(shown[0], HomeNotice) else None


def test_two_projects_on_two_clusters_are_explored_side_by_side_without_mixing(lines):
    services, _, _ = lines
    tabs = {p: explorer_of(explore(services, ACTOR, {"project": p})) for p in SIZES}
    for project, explorer in tabs.items():
        explorer.wait()
        assert set(explorer._options["project"]) == {project}
        assert explorer.state.project == project
        shown = explorer.plot.image.curves
        by_process = explorer._options.set_index("process")["curves"]
        assert shown == by_process[explorer.state.process] > 0
        assert explorer._options["curves"].sum() == SIZES[project]
        explorer.close()


def test_a_cluster_lists_the_projects_living_on_it_with_their_curves(lines):
    services, _, people = lines
    store, settings = services.metadata, services.settings
    board = ClusterDashboard(store=store, settings=settings, actor=ACTOR, homes=services.homes)
    select(board, "line1-dev")
    shown = "\n".join(str(p.object) for p in board.detail.select(pn.pane.Markdown))
    assert "Projects stored here: line&#45;1 (40 curves," in shown and " MB)" in shown
    engineer = ClusterDashboard(
        store=store, settings=settings, actor=people[Role.ENGINEER], homes=services.homes
    )
    select(engineer, "line2-dev")
    seen = "\n".join(str(p.object) for p in engineer.detail.select(pn.pane.Markdown))
    assert "Projects stored here: 1 other project" in seen and "line&#45;2" not in seen


def test_a_stopped_home_says_so_with_start_for_engineers_only(lines):
    services, clusters, people = lines
    store, settings = services.metadata, services.settings
    stop_cluster(store=store, settings=settings, cluster_id=clusters["line-2"], actor=ACTOR)
    wait_until(store=store, settings=settings, cluster_id=clusters["line-2"], states={"stopped"})
    page = explore(services, ACTOR, {"project": "line-2"})
    assert explorer_of(page) is None
    notice = notice_of(page)
    assert notice.message == (
        "Project line-2's curves live on cluster line2-dev, which is stopped. "
        "Start it on the Clusters page to see them."
    )
    overview = HomePage(
        services=services,
        projects=("line-2",),
        home=services.homes.of("line-2"),
        actor=people[Role.VIEWER],
    ).__panel__()
    assert isinstance(overview, HomeNotice) and not overview.start.visible
    other = explorer_of(explore(services, ACTOR, {"project": "line-1"}))
    other.wait()
    assert other.plot.image.curves > 0  # the other cluster's project keeps working
    other.close()
    engineer = HomeNotice(services, people[Role.ENGINEER], notice_refusal(services, "line-2"))
    assert engineer.start.visible
    engineer._start()
    assert "is starting" in engineer.message
    ready = wait_until(
        store=store, settings=settings, cluster_id=clusters["line-2"], states={"running"}
    )
    assert ready.status is ClusterStatus.RUNNING
    back = explorer_of(explore(services, ACTOR, {"project": "line-2"}))
    back.wait()
    assert back._options["curves"].sum() == SIZES["line-2"]
    back.close()


def select(board: ClusterDashboard, name: str) -> None:
    board.refresh()
    board.table.selection = [list(board.table.value["name"]).index(name)]


def notice_refusal(services: Services, project: str):
    from pipelines.homes import HomeUnavailable

    try:
        services.homes.store(services.homes.of(project), project=project)
    except HomeUnavailable as refusal:
        return refusal
    raise AssertionError(f"{project}'s home answered")
