"""A served explorer's first view comes from memory: the server holds the largest processes'
curves before anyone asks (``Services.warm_explorer``), so opening the page and choosing
another process are view changes, not loads (issue 17, first view). The Overview's previews
are made then too."""

from __future__ import annotations

import uuid

import panel as pn
import pytest
from sqlalchemy import select

from app.api.uploads import Upload
from app.explorer.explorer import CurveExplorer
from app.imports import import_upload
from app.pages.curves import explore
from app.pages.home import HomePage
from app.services import Services
from models import accounts
from models.access import Principal
from models.settings import Settings
from models.store import open_metadata
from models.tables import Organisation, Project, ProjectMember, Role
from pipelines.previews import PREVIEW_CURVES
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from pipelines.views import CurveFilter

pytestmark = pytest.mark.integration


@pytest.fixture
def plant(tmp_path):
    """line-7 with the demo plant's three processes; Eve an engineer there."""
    settings = Settings(home=tmp_path, database=f"t_{uuid.uuid4().hex[:12]}")
    store = open_metadata(settings)
    with store.sessions() as session:
        org = Organisation(name="Plant")
        project = Project(organisation=org, name="line-7")
        user = accounts.create_user(session=session, email="eve@plant.example", password=None)
        member = ProjectMember(project=project, user=user, role=Role.ENGINEER)
        session.add_all([org, project, member])
        session.commit()
        eve = Principal(user.email, user.id)
    store.close()
    services = Services(settings)
    target = services.homes.store(services.homes.builtin, project="line-7")
    spec = DemoSpec(curves=60, seed=3, project="line-7", days=1)
    target.write(generate_demo(spec), DatasetSpec(project="line-7", kind="demo", name="demo"))
    yield services, eve, target
    target.client.command(f"DROP DATABASE IF EXISTS `{target.database}`")
    target.client.close()
    services.close()


def test_the_first_view_and_a_process_change_are_drawn_from_memory(plant):
    services, eve, _ = plant
    assert services._warm() == 3  # the demo's three processes, largest first
    assert services.hot.loads == 3
    explorer, _ = explore(services, eve, {})
    assert isinstance(explorer, CurveExplorer)
    explorer.wait()
    assert explorer.plot.image.curves > 0
    others = [p for p in explorer.controls.process.options if p != explorer.state.process]
    explorer.state.process = others[0]
    explorer.wait()
    assert explorer.plot.image.curves > 0 and not explorer.message
    assert services.hot.loads == 3  # nothing loaded on the page's behalf
    explorer.close()


def test_after_an_import_a_warm_up_keeps_the_held_curves_and_loads_only_new_filters(plant):
    services, _, target = plant
    assert services._warm() == 3
    spec = DemoSpec(curves=9, seed=4, project="line-8", days=1)
    target.write(generate_demo(spec), DatasetSpec(project="line-8", kind="demo", name="more"))
    # The store's version changed by a new dataset only: line-7's three processes stay held
    # (none of the new curves is theirs), and line-8's are loaded as far as they fit.
    again = services._warm()
    assert again > 3 and services.hot.loads == again
    assert len(services.hot._entries) == again


def fail_fetch(*_args):
    raise AssertionError("the Overview fetched its previews on the page's behalf")


def test_the_overviews_previews_are_made_at_the_warm_up(plant, monkeypatch):
    services, _, _ = plant
    services._warm()
    monkeypatch.setattr("pipelines.previews._preview", fail_fetch)
    page = HomePage(services=services, preview_curves=PREVIEW_CURVES).__panel__()
    assert len(list(page.select(pn.pane.HoloViews))) == 3  # the demo's three processes


def test_the_warm_previews_serve_a_person_who_sees_every_project(plant, monkeypatch):
    services, _, _ = plant  # line-7 is the only project with curves
    services._warm()
    monkeypatch.setattr("pipelines.previews._preview", fail_fetch)
    page = HomePage(services=services, projects=("line-7", "line-9")).__panel__()
    assert len(list(page.select(pn.pane.HoloViews))) == 3


def test_an_import_through_the_app_has_the_server_hold_the_new_curves(plant, tmp_path):
    services, eve, _ = plant
    services._warm()
    folder = tmp_path / "staged"
    folder.mkdir()
    rows = ["curve_key,x,y,process,station"]
    rows += [f"late-{c},{i},{c + i},press-fit,LATE-ST1" for c in range(3) for i in range(5)]
    (folder / "late.csv").write_text("\n".join(rows) + "\n")
    with services.metadata.sessions() as session:
        project_id = session.scalar(select(Project.id).where(Project.name == "line-7"))
    loads, appends = services.hot.loads, services.hot.appends
    import_upload(
        services=services,
        who=eve,
        project_id=project_id,
        upload=Upload(kind="csv", label="late.csv", path=folder / "late.csv"),
    )
    warming = services._warming
    assert warming is not None  # started by the import, in the background
    warming.join(timeout=60)
    # The new curves are added to the held press-fit process; nothing is loaded again.
    assert (services.hot.loads, services.hot.appends) == (loads, appends + 1)
    store = services.homes.store(services.homes.builtin, project="line-7")
    where = CurveFilter.of(project="line-7", process="press-fit", station="LATE-ST1")
    held = services.hot.get(store.client, store.database, where, scope=services.homes.builtin.key)
    store.client.close()
    assert services.hot.loads == loads and len(held.chosen) == 3  # from memory
