"""A new project's explorer, as an invited person first sees it: the project is in the picker,
and the empty state names it and says what this person can do in the app (upload on the
project's page, or whom to ask), not command-line advice for another project."""

from __future__ import annotations

import html
import uuid

import pytest

from app.explorer.explorer import CurveExplorer
from app.pages.curves import explore
from app.services import Services
from models import accounts
from models.access import Principal
from models.settings import Settings
from models.store import open_metadata
from models.tables import Organisation, Project, ProjectMember, Role
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo

pytestmark = pytest.mark.integration


@pytest.fixture
def plant(tmp_path):
    """line-7 with demo curves, new line-9 without any; Ada admin of both, Eve an engineer and
    Vic a viewer of line-9 only."""
    settings = Settings(home=tmp_path, database=f"t_{uuid.uuid4().hex[:12]}")
    store = open_metadata(settings)
    people = {}
    with store.sessions() as session:
        org = Organisation(name="Plant")
        old, new = (
            Project(organisation=org, name="line-7"),
            Project(organisation=org, name="line-9"),
        )
        session.add_all([org, old, new])
        for name, role in (("ada", Role.ADMIN), ("eve", Role.ENGINEER), ("vic", Role.VIEWER)):
            user = accounts.create_user(
                session=session, email=f"{name}@plant.example", password=None
            )
            user.display_name = name.capitalize()
            session.add(ProjectMember(project=new, user=user, role=role))
            if role is Role.ADMIN:
                session.add(ProjectMember(project=old, user=user, role=role))
            session.flush()
            people[name] = Principal(user.email, user.id)
        session.commit()
    store.close()
    services = Services(settings)
    target = services.homes.store(services.homes.builtin, project="line-7")
    spec = DemoSpec(curves=30, seed=7, project="line-7", days=1)
    target.write(generate_demo(spec), DatasetSpec(project="line-7", kind="demo", name="demo"))
    yield services, people
    target.client.command(f"DROP DATABASE IF EXISTS `{target.database}`")
    target.client.close()
    services.close()


def opened(services, who: Principal, query: dict[str, str]) -> CurveExplorer:
    explorer, _elsewhere = explore(services, who, query)
    assert isinstance(explorer, CurveExplorer)
    explorer.wait()
    return explorer


def test_an_invited_engineer_sees_the_project_and_how_to_upload_to_it(plant):
    services, people = plant
    explorer = opened(services, people["eve"], {})
    assert list(explorer.controls.project.options) == ["line-9"]
    assert explorer.state.project == "line-9"
    empty = html.unescape(explorer.plot.empty)
    assert "No curves in project “line-9” yet" in empty
    assert "Drag a CSV or Parquet file onto [the project's page](/projects?project=line-9)" in empty
    assert "curvehouse" not in empty and "line-7" not in empty
    explorer.close()


def test_a_viewer_is_told_whom_to_ask(plant):
    services, people = plant
    empty = html.unescape(opened(services, people["vic"], {"project": "line-9"}).plot.empty)
    assert "No curves in project “line-9” yet" in empty
    assert "Your role here is viewer" in empty
    assert "Ask Ada (ada@plant.example) to import curves" in empty
    assert "Drag" not in empty


def test_an_admin_of_both_opens_on_the_curves_and_can_choose_the_new_project(plant):
    services, people = plant
    explorer = opened(services, people["ada"], {})
    assert list(explorer.controls.project.options) == ["line-7", "line-9"]
    assert explorer.state.project == "line-7" and explorer.plot.image.curves > 0
    assert not explorer.plot.empty
    explorer.state.project = "line-9"
    explorer.wait()
    assert "No curves in project “line-9” yet" in html.unescape(explorer.plot.empty)
    explorer.close()
