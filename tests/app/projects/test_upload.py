"""The Projects page's drop zone, without a browser (issue 16): a German Excel file imports
with the API's checks and messages, re-importing it stores nothing new, a bad file is refused
with its line and column and its staged folder removed, and only importers see the zone."""

from __future__ import annotations

import html
import uuid
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from app.api.uploads import FOLDER_PREFIX, upload_root
from app.pages.projects import ProjectsPanel
from app.projects.upload import BoundedDropper, Tally
from app.services import Services
from models import accounts
from models.access import Principal
from models.settings import Settings
from models.store import open_metadata
from models.tables import AuditEvent, Organisation, Project, ProjectMember, Role
from tests.app.projects.samples import GERMAN

pytestmark = pytest.mark.integration


@pytest.fixture
def plant(tmp_path):
    """Project line-9: Ada its admin, Eve an engineer, Vic a viewer."""
    settings = Settings(home=tmp_path, database=f"t_{uuid.uuid4().hex[:12]}")
    store = open_metadata(settings)
    people = {}
    with store.sessions() as session:
        org = Organisation(name="Plant")
        project = Project(organisation=org, name="line-9")
        session.add_all([org, project])
        for name, role in (("ada", Role.ADMIN), ("eve", Role.ENGINEER), ("vic", Role.VIEWER)):
            user = accounts.create_user(
                session=session, email=f"{name}@plant.example", password=None
            )
            session.add(ProjectMember(project=project, user=user, role=role))
            session.flush()
            people[name] = Principal(user.email, user.id)
        session.commit()
        project_id = project.id
    store.close()
    services = Services(settings)
    yield services, people, project_id
    target = services.homes.store(services.homes.builtin, project="line-9")
    target.client.command(f"DROP DATABASE IF EXISTS `{target.database}`")
    target.client.close()
    services.close()


def opened(plant, who: str):
    services, people, _ = plant
    panel = ProjectsPanel(services=services, who=people[who])
    panel.select("line-9")
    return panel.detail.upload


def said(pane) -> str:
    return html.unescape(pane.object)


def stored(services) -> list[tuple]:
    store = services.homes.store(services.homes.builtin, project="line-9")
    try:
        return store.client.query(
            f"SELECT curve_key, result, point_count FROM {store.db}.curves "
            "WHERE project = 'line-9' ORDER BY curve_key"
        ).result_rows
    finally:
        store.client.close()


def staged_folders(services) -> list:
    return list(upload_root(services.settings).glob(f"{FOLDER_PREFIX}*"))


def imports_audited(services) -> list[dict]:
    with services.metadata.sessions() as session:
        events = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "dataset.import").order_by("id")
        ).all()
        return [{"actor": e.actor, **e.detail} for e in events]


def test_a_german_excel_file_imports_through_the_drop_zone(plant):
    services, _, _ = plant
    upload = opened(plant, "eve")
    assert upload.dropper.visible and not upload.who_may.visible
    upload.__panel__().get_root()  # the browser's models can be made
    assert upload.start("Prüfstand 1.csv", GERMAN)
    upload.wait()
    assert upload.result.alert_type == "success"
    assert said(upload.result) == "Imported 2 curves (5 points) into 'line-9'."
    assert stored(services) == [("P-1", "OK", 3), ("P-2", "NOK", 2)]
    assert staged_folders(services) == []
    audited = imports_audited(services)
    assert audited[-1]["actor"] == "eve@plant.example"
    assert (audited[-1]["name"], audited[-1]["curves"]) == ("Prufstand 1.csv", 2)

    # The same file again: nothing new, the skipped curves counted, as the API says it.
    assert upload.start("Prüfstand 1.csv", GERMAN)
    upload.wait()
    assert upload.result.alert_type == "info"
    assert said(upload.result).startswith(
        "Nothing new was stored: Prufstand 1.csv was already imported into 'line-9'"
    )
    assert said(upload.result).endswith("skipped its 2 curves.")
    assert stored(services) == [("P-1", "OK", 3), ("P-2", "NOK", 2)]
    assert imports_audited(services)[-1]["skipped"] == 2


def test_a_bad_file_is_refused_with_line_and_column_and_its_staged_folder_removed(plant):
    services, _, _ = plant
    upload = opened(plant, "ada")
    bad = GERMAN.replace(b"0,98", b"1.234")
    assert upload.start("bad.csv", bad)
    upload.wait()
    assert upload.result.alert_type == "danger"
    assert said(upload.result).startswith(
        "bad.csv: bad.csv, line 3 (data row 2), column 'y': '1.234' holds a '.'"
    )
    assert stored(services) == []
    assert staged_folders(services) == []
    assert imports_audited(services) == []


def test_the_api_limits_and_kinds_hold_for_a_drop(plant, monkeypatch):
    services, _, _ = plant
    upload = opened(plant, "eve")
    assert not upload.start("notes.xlsx", b"whatever")
    assert "a .csv or .parquet file name" in said(upload.result)
    monkeypatch.setattr(services, "settings", services.settings.model_copy(update={"upload_mb": 1}))
    assert not upload.start("big.csv", b"x" * 1_000_001)
    assert said(upload.result).startswith("Uploads are limited to 1 MB; this one is 1.0 MB.")
    assert staged_folders(services) == []


def test_only_importers_see_the_drop_zone_and_others_whom_to_ask(plant):
    upload = opened(plant, "vic")
    assert not upload.dropper.visible and upload.who_may.visible
    assert not upload.options.visible and not upload.about.visible
    assert said(upload.who_may) == (
        "Uploading curves into line-9 needs the engineer role or higher; your role is "
        "viewer. Ask one of its admins or owners for that role: ada@plant.example."
    )
    # A role taken away after the page was opened: the import itself refuses.
    services, people, _ = plant
    eve = opened(plant, "eve")
    with services.metadata.sessions() as session:
        member = session.scalar(
            sa.select(ProjectMember).where(ProjectMember.user_id == people["eve"].user_id)
        )
        member.role = Role.VIEWER
        session.commit()
    assert eve.start("late.csv", GERMAN)
    eve.wait()
    assert eve.result.alert_type == "danger"
    assert "import data needs engineer or higher" in said(eve.result)
    assert stored(services) == []
    assert staged_folders(services) == []


def test_progress_says_what_is_read_and_checked():
    tally = Tally("line.csv", 2_000)
    assert tally.said() == "Importing line.csv: 0 % read, 0 curves (0 points) checked so far."
    tally.read(500, 2_000)
    tally.staged(1, 1_200)
    assert tally.said() == "Importing line.csv: 25 % read, 1 curve (1,200 points) checked so far."


def test_a_link_to_the_project_opens_it_with_its_drop_zone(plant):
    """The explorer's empty state links to /projects?project=line-9: the page opens on it."""
    services, people, project_id = plant
    panel = ProjectsPanel(services=services, who=people["eve"], open_project="line-9")
    assert panel.detail.project_id == project_id and panel.detail.upload.dropper.visible
    # A project this person cannot see, or a typo, opens nothing.
    assert (
        ProjectsPanel(services=services, who=people["eve"], open_project="x").detail.project_id
        is None
    )


def test_the_dropper_holds_no_more_than_the_limit_from_a_client_that_ignores_it():
    dropper = BoundedDropper(limit=25)

    def chunk(name, number, total, data):
        event = SimpleNamespace(
            event_name="upload_event",
            data={
                "name": name,
                "chunk": number,
                "total_chunks": total,
                "data": data,
                "type": "application/octet-stream",
            },
        )
        dropper._process_event(event)

    chunk("a.csv", 1, 2, b"x" * 10)
    chunk("a.csv", 2, 2, b"y" * 10)
    assert dropper.value == {"a.csv": b"x" * 10 + b"y" * 10} and dropper.refused == ""
    chunk("b.csv", 1, 3, b"z" * 20)
    chunk("c.csv", 1, 2, b"w" * 10)  # 30 bytes unfinished: past the limit
    assert dropper.refused == "c.csv" and "c.csv" not in dropper._file_buffer
    chunk("c.csv", 2, 2, b"w" * 10)  # the rest of a refused file is not held either
    assert "c.csv" not in dropper.value and "c.csv" not in dropper._file_buffer
    chunk("b.csv", 2, 3, b"z" * 10)
    assert dropper.refused == "b.csv" and dropper._file_buffer == {}


def test_a_file_past_the_limit_is_refused_with_the_api_message(plant):
    upload = opened(plant, "eve")
    upload.dropper.refused = "huge.csv"
    assert said(upload.result).startswith("Uploads are limited to 100 MB; this one is larger.")


def test_excel_files_in_windows_1252_import_when_their_encoding_is_chosen(plant):
    services, _, _ = plant
    upload = opened(plant, "eve")
    latin = GERMAN.replace(b"ST010", "Prüfstand".encode("cp1252"))
    assert upload.start("alt.csv", latin)
    upload.wait()
    assert said(upload.result).startswith("alt.csv: alt.csv: the file is not valid utf-8 text")
    assert upload.options.visible
    upload.encoding.value = "Windows-1252 (Excel's CSV in Western Europe)"
    upload.separator.value = "; (semicolon)"
    upload.decimal.value = ", (comma)"
    assert upload.start("alt.csv", latin)
    upload.wait()
    assert said(upload.result) == "Imported 2 curves (5 points) into 'line-9'."
    store = services.homes.store(services.homes.builtin, project="line-9")
    try:
        rows = store.client.query(f"SELECT DISTINCT station FROM {store.db}.curves").result_rows
    finally:
        store.client.close()
    assert rows == [("Prüfstand",)]


def test_imports_running_through_the_api_count_against_the_page(plant):
    """One gate per process: a person at their limit of imports (here held by the API's
    uploads) cannot start another one by dropping a file on the page."""
    services, people, _ = plant
    eve = people["eve"].user_id
    for _ in range(services.settings.imports_per_person):
        services.imports.enter(eve)
    upload = opened(plant, "eve")
    assert not upload.start("p.csv", GERMAN)
    assert "imports running, the most one person may have at once" in said(upload.result)
    services.imports.leave(eve)
    assert upload.start("p.csv", GERMAN)
    upload.wait()
    assert upload.result.alert_type == "success"
