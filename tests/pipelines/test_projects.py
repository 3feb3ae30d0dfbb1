"""Metadata projects and the curves' ``project`` labels: adoption and names already taken."""

import pytest
import sqlalchemy as sa

from models import accounts
from models.settings import Settings
from models.store import open_metadata
from models.tables import AuditEvent, Project, ProjectMember, Role, User
from pipelines.curves import Curves
from pipelines.projects import adopt_curve_projects, curve_label_in_use, unowned_label
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo

pytestmark = pytest.mark.integration


@pytest.fixture
def metadata(tmp_path):
    with open_metadata(Settings(home=tmp_path)) as store:
        yield store


@pytest.fixture
def labelled(store):
    """Curves under two labels, line-7 and line-9, as the command line imports them."""
    for label in ("line-7", "line-9"):
        store.write(
            generate_demo(DemoSpec(curves=6, seed=3, project=label)),
            DatasetSpec(project=label, kind="demo", name=label),
        )
    return Curves(store.client, store.database)


def test_curve_labels_get_projects_owned_by_the_first_projects_owners(metadata, labelled):
    with metadata.sessions() as session:
        owner = accounts.create_user(session=session, email="o@plant.example", password=None)
        first = accounts.default_project(session)
        first.members.append(ProjectMember(user=owner, role=Role.OWNER))
        session.commit()
    with metadata.sessions() as session:
        made = adopt_curve_projects(session=session, curves=labelled)
        session.commit()
    assert made == ["line-7", "line-9"]
    with metadata.sessions() as session:
        names = set(session.scalars(sa.select(Project.name)))
        assert {"line-7", "line-9"} <= names
        line7 = session.scalar(sa.select(Project).where(Project.name == "line-7"))
        assert [(m.user.email, m.role) for m in line7.members] == [("o@plant.example", "owner")]
        adopted = session.scalars(
            sa.select(AuditEvent.target_id).where(AuditEvent.action == "project.adopt")
        ).all()
        assert sorted(adopted) == ["line-7", "line-9"]
        assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
    with metadata.sessions() as session:  # a second start adopts nothing
        assert adopt_curve_projects(session=session, curves=labelled) == []


def test_a_label_on_stored_curves_is_taken(labelled):
    assert curve_label_in_use(labelled, "line-7")
    assert not curve_label_in_use(labelled, "line-8")
    # Whatever the reader was narrowed to, the question is about every stored curve.
    assert curve_label_in_use(labelled.filter(station="nowhere"), "line-9")
    assert "'line-7' are stored already" in unowned_label("line-7")
