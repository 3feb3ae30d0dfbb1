"""The wizard's review step: after creating the cluster, nothing, a new project living on it, or
the person's projects moved onto it; checked in words, carried out once the cluster is on record
and said in the wizard's message, the cluster kept when the project step is refused."""

from __future__ import annotations

from html import unescape

import pytest
import sqlalchemy as sa

from app.clusters.lifecycle import create_cluster, delete_cluster
from app.clusters.placing import (
    MOVE,
    NEW,
    AfterCreate,
    Placed,
    movable_projects,
    place_projects,
)
from app.clusters.wizard import ClusterWizard
from app.services import Services
from models import accounts
from models.access import Principal
from models.settings import Settings
from models.tables import Cluster, ClusterStatus, Project, ProjectMember, ProjectMove, Role
from tests.models.test_placement import PASSWORD, cluster


@pytest.fixture
def plant(tmp_path):
    """Olga owns line-7 and line-eu (pinned to EU) and only views "other"."""
    services = Services(Settings(home=tmp_path))
    store = services.metadata
    with store.sessions() as session:
        org = accounts.default_project(session).organisation
        olga = accounts.create_user(session=session, email="olga@plant.example", password=PASSWORD)
        ids = {}
        for name, role, residency in (
            ("line-7", Role.OWNER, None),
            ("line-eu", Role.OWNER, "eu"),
            ("other", Role.VIEWER, None),
        ):
            project = Project(organisation=org, name=name, residency=residency)
            project.members = [ProjectMember(user=olga, role=role)]
            session.add(project)
            session.flush()
            ids[name] = project.id
        session.commit()
        who = Principal(olga.email, olga.id)
    yield services, who, ids
    with store.sessions() as session:
        # A cluster holding projects is not deleted: send them home first.
        session.execute(sa.update(Project).values(home_cluster_id=None))
        session.commit()
        live = session.scalars(sa.select(Cluster).where(Cluster.status != "deleted")).all()
    for row in live:  # never leave node processes behind
        if row.provider == "embedded":
            delete_cluster(store=store, settings=services.settings, cluster_id=row.id, actor=who)
    services.close()


def wizard_for(plant, *, on_create=lambda request: 1, place=None) -> ClusterWizard:
    services, who, ids = plant
    with services.metadata.sessions() as session:
        movable = movable_projects(session, who)
    wizard = ClusterWizard(
        project_id=ids["line-7"],
        on_create=on_create,
        place=place or (lambda cluster_id, after: Placed("")),
        movable=movable,
        metadata=services.metadata,
    )
    wizard.cluster_name.value = "line9-dev"
    wizard.cluster_type.value = "development"
    return wizard


def test_the_projects_offered_for_a_move_are_the_ones_this_person_owns(plant):
    services, who, _ = plant
    with services.metadata.sessions() as session:
        offered = {p.name: p for p in movable_projects(session, who)}
    assert set(offered) == {"line-7", "line-eu"}
    assert offered["line-eu"].residency == "eu"
    assert offered["line-7"].home == "the built-in engine"


def test_a_new_project_needs_a_free_valid_name(plant):
    state = wizard_for(plant).state
    assert state.problems(3) == []  # nothing to do after: nothing to check
    state.then = NEW
    (problem,) = state.problems(3)
    assert problem.startswith("A project name has 1-100 letters")
    state.new_project = "line-eu"
    assert state.problems(3) == ["A project named 'line-eu' exists already; choose another name."]
    state.new_project = " line-9 "
    assert state.problems(3) == [] and state.all_problems() == []
    assert state.after() == AfterCreate(NEW, project_name="line-9")
    state.may_own = False
    assert state.problems(3) == ["Sign in to create a project: it needs an owner."]


def test_residency_keeps_a_pinned_project_off_the_cluster_and_says_why(plant):
    _, _, ids = plant
    wizard = wizard_for(plant)
    state = wizard.state
    assert state.region == "local"  # an embedded node: on premises
    why = (
        "Project line-eu is pinned to EU (eu-central-1, eu-west-1, europe-west4, "
        "germanywestcentral); cluster line9-dev runs in local, outside it."
    )
    assert state.refused()[ids["line-eu"]].startswith(why)
    assert state.placeable() == {"line-7 (now on the built-in engine)": ids["line-7"]}
    state.then = MOVE
    assert state.problems(3) == ["Choose the projects to move onto the cluster."]
    state.move_projects = [ids["line-eu"]]  # e.g. chosen before the region changed
    assert state.all_problems() == [state.refused()[ids["line-eu"]]]
    # The review step offers only what may go, and names the others with the reason.
    wizard.step = 3
    wizard._body()
    assert wizard.move_projects.visible and not wizard.new_project.visible
    assert list(wizard.move_projects.options.values()) == [ids["line-7"]]
    assert wizard.move_projects.value == []  # the refused choice is dropped
    assert "line-eu** cannot move here: " + why in unescape(wizard.move_refused.object)
    wizard.move_projects.value = [ids["line-7"]]
    assert state.problems(3) == []
    assert state.after() == AfterCreate(MOVE, project_ids=(ids["line-7"],))


def test_the_review_step_offers_no_new_project_to_the_operator():
    wizard = ClusterWizard(project_id=1, on_create=lambda r: 1, place=lambda c, a: Placed(""))
    assert NEW in wizard.then.options.values()
    operator = ClusterWizard(
        project_id=1, on_create=lambda r: 1, place=lambda c, a: Placed(""), may_own=False
    )
    assert list(operator.then.options.values()) == ["nothing", "move"]
    plain = ClusterWizard(project_id=1, on_create=lambda r: 1)  # no place: no choice shown
    plain.step = 3
    assert plain.then not in plain._body().objects


def test_create_then_places_and_says_both_in_the_message(plant):
    calls = []

    def place(cluster_id, after):
        calls.append((cluster_id, after))
        return Placed("Project line-9 will live on cluster line9-dev.")

    wizard = wizard_for(plant, on_create=lambda request: 42, place=place)
    wizard.then.value = NEW
    assert wizard.new_project.visible
    wizard.new_project.value = "line-9"
    wizard.step = 3
    wizard._submit(None)
    assert calls == [(42, AfterCreate(NEW, project_name="line-9"))]
    assert wizard.done.visible and wizard.done.alert_type == "success"
    assert unescape(wizard.done.object) == (
        "Cluster line9-dev is being created; follow it in the list beside.\n\n"
        "Project line-9 will live on cluster line9-dev."
    )
    assert (wizard.step, wizard.state.then, wizard.new_project.value) == (0, "nothing", "")


def test_a_refused_cluster_places_nothing(plant):
    calls = []
    wizard = wizard_for(
        plant, on_create=lambda request: "Name taken.", place=lambda *a: calls.append(a)
    )
    wizard.then.value = NEW
    wizard.new_project.value = "line-9"
    wizard._submit(None)
    assert calls == [] and "Name taken" in wizard.problem.object and not wizard.done.visible


def test_a_failing_project_step_keeps_the_cluster_and_says_so(plant):
    def place(cluster_id, after):
        raise RuntimeError("the metadata store went away")

    wizard = wizard_for(plant, on_create=lambda request: 42, place=place)
    wizard.then.value = NEW
    wizard.new_project.value = "line-9"
    wizard._submit(None)
    assert wizard.done.alert_type == "warning"
    assert (
        "The cluster line9-dev was created, but its projects were not placed: the metadata "
        "store went away Do it on the Projects page." in unescape(wizard.done.object)
    )


def a_cluster(plant, name: str = "line9-dev") -> int:
    """A cluster row in line-7, still provisioning (no node: placing never calls it)."""
    services, _, ids = plant
    with services.metadata.sessions() as session:
        row = cluster(session.get(Project, ids["line-7"]), name, "local")
        row.status = ClusterStatus.PROVISIONING
        session.add(row)
        session.commit()
        return row.id


def test_a_new_project_lives_on_the_new_cluster(plant):
    services, who, _ = plant
    cluster_id = a_cluster(plant)
    placed = place_projects(
        store=services.metadata,
        homes=services.homes,
        actor=who,
        cluster_id=cluster_id,
        after=AfterCreate(NEW, project_name="line-9"),
    )
    assert not placed.failed
    assert unescape(placed.said) == (
        "Project line-9 will live on cluster line9-dev; you are its owner. Import its curves "
        "once the cluster is running."
    )
    with services.metadata.sessions() as session:
        project = session.scalar(sa.select(Project).where(Project.name == "line-9"))
        assert project.home_cluster_id == cluster_id
        assert [(m.user_id, m.role) for m in project.members] == [(who.user_id, Role.OWNER)]


def test_a_refused_new_project_says_the_cluster_was_made_all_the_same(plant):
    services, who, _ = plant
    cluster_id = a_cluster(plant)
    placed = place_projects(
        store=services.metadata,
        homes=services.homes,
        actor=who,
        cluster_id=cluster_id,
        after=AfterCreate(NEW, project_name="line-eu"),  # taken since the review checked it
    )
    assert placed.failed
    assert unescape(placed.said) == (
        "The cluster line9-dev was created, but project line-eu was not: A project named "
        "'line-eu' exists already; choose another name. Create it on the Projects page "
        "with Lives on cluster line9-dev."
    )
    with services.metadata.sessions() as session:
        assert session.get(Cluster, cluster_id) is not None


def test_moves_wait_for_the_cluster_and_a_refused_one_is_named(plant):
    services, who, ids = plant
    cluster_id = a_cluster(plant)
    placed = place_projects(
        store=services.metadata,
        homes=services.homes,
        actor=who,
        cluster_id=cluster_id,
        after=AfterCreate(MOVE, project_ids=(ids["line-7"], ids["line-eu"])),
    )
    assert placed.failed
    lines = unescape(placed.said).splitlines()
    assert lines[0] == "- line-7 will move onto cluster line9-dev once it is running."
    assert lines[1].startswith("- line-eu will not move: Project line-eu is pinned to EU")
    assert lines[-1] == (
        "The cluster line9-dev was created all the same. Follow the moves on the Projects page."
    )
    with services.metadata.sessions() as session:
        moves = session.scalars(sa.select(ProjectMove)).all()
        assert [(m.project_id, m.to_cluster_id, m.state) for m in moves] == [
            (ids["line-7"], cluster_id, "waiting")
        ]


@pytest.mark.integration
def test_the_wizard_creates_a_real_cluster_with_a_project_on_it(plant):
    """As the Clusters page wires it: create_cluster, then place_projects, on an embedded node."""
    services, who, ids = plant
    store, settings = services.metadata, services.settings

    def create(request):
        return create_cluster(store=store, settings=settings, request=request, actor=who).id

    def place(cluster_id, after):
        return place_projects(
            store=store, homes=services.homes, actor=who, cluster_id=cluster_id, after=after
        )

    wizard = wizard_for(plant, on_create=create, place=place)
    wizard.then.value = NEW
    wizard.new_project.value = "line-9"
    wizard._submit(None)
    assert wizard.done.alert_type == "success", wizard.done.object
    assert "Project line-9 will live on cluster line9-dev" in unescape(wizard.done.object)
    with store.sessions() as session:
        made = session.scalar(sa.select(Cluster).where(Cluster.name == "line9-dev"))
        project = session.scalar(sa.select(Project).where(Project.name == "line-9"))
        assert made.project_id == ids["line-7"] and project.home_cluster_id == made.id
