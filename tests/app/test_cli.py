"""The real ``curvehouse`` command in subprocesses, each with its own CURVEHOUSE_HOME."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.auth.setup import first_owner
from models import accounts
from models.settings import Settings
from models.store import open_metadata
from models.tables import AuditEvent, Project

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "curvehouse")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("cli-home")


def run(home, *args, ok=True, timeout=300):
    env = {**os.environ, "CURVEHOUSE_HOME": str(home)}
    result = subprocess.run([CLI, *args], capture_output=True, text=True, env=env, timeout=timeout)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def test_cli_is_installed():
    assert Path(CLI).exists(), "no curvehouse entry point beside python; run `make test`"


def test_info_on_a_new_home_shows_an_empty_store(home):
    out = run(home, "info").stdout
    assert f"path={home / 'chdb'}" in out
    assert "Curves:    0 (0 points)" in out


def test_demo_generates_once(home):
    out = run(home, "demo", "--curves", "60", "--seed", "3").stdout
    assert "Stored 60 curves" in out
    assert "Project 'demo' created for these curves" in out
    assert "Demo data present: 60 curves" in run(home, "demo", "--if-missing").stdout


def test_ingest_reports_and_errors(home, tmp_path):
    good = tmp_path / "line7.csv"
    good.write_text("curve_key,x,y\nA,0,1\nA,1,2\nB,0,3\nB,1,4\n")
    assert (
        "Imported 2 curves (4 points) into 'line7'"
        in run(home, "ingest", str(good), "--project", "line7").stdout
    )
    again = run(home, "ingest", str(good), "--project", "line7").stdout
    assert "already imported" in again
    assert again.startswith("Nothing new was stored") and "skipped its 2 curves." in again
    bad = tmp_path / "bad.csv"
    bad.write_text("curve_key,x,y\nA,0,1\nA,one,2\n")
    result = run(home, "ingest", str(bad), "--project", "line7", ok=False)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: bad.csv, line 3 (data row 2), column 'x': 'one' is not a number"
    )


def test_info_lists_sizes_and_datasets(home):
    out = run(home, "info").stdout
    assert "Curves:    62" in out
    assert "curve_samples" in out and "bytes per stored (x, y) point" in out
    assert "demo" in out and "line7.csv" in out


def test_clean_demo_removes_only_demo_data(home):
    out = run(home, "clean-demo").stdout
    assert "Removed 1 demo dataset with 60 curves" in out
    info = run(home, "info").stdout
    assert "Curves:    2 (4 points)" in info
    assert " demo " not in info
    assert "No demo data stored" in run(home, "clean-demo").stdout


def settings_of(home) -> Settings:
    """The settings the ``curvehouse`` command reads for ``home``: its metadata store is opened
    in this process (it holds no curves, so this process's chDB engine stays out of it)."""
    return Settings.from_env({**os.environ, "CURVEHOUSE_HOME": str(home)})


def test_an_operator_sets_a_lost_password(home):
    settings = settings_of(home)
    with open_metadata(settings) as store:
        email = first_owner(store, settings).email
    assert f"{email:<32} Default project: owner, demo: owner" in run(home, "user", "list").stdout
    out = run(home, "user", "set-password", email, "--generate").stdout
    password = out.rsplit(": ", 1)[1].strip()
    with open_metadata(settings) as store, store.sessions() as session:
        user = accounts.authenticate(session=session, email=email, password=password)
        assert user.email == email
    refused = run(home, "user", "set-password", "nobody@plant.example", "--generate", ok=False)
    assert refused.returncode == 2 and "no account for nobody@plant.example" in refused.stderr


def test_command_line_imports_are_in_their_project_audit(home):
    query = sa.select(Project.name, AuditEvent.actor, AuditEvent.detail).join(
        Project, sa.cast(Project.id, sa.String) == AuditEvent.target_id
    )
    with open_metadata(settings_of(home)) as store, store.sessions() as session:
        rows = [
            f"{row.name}|{row.actor}|{row.detail['curves']}"
            for row in session.execute(query.where(AuditEvent.action == "dataset.import"))
        ]
    assert "demo|operator (command line)|60" in rows
    assert "line7|operator (command line)|2" in rows


HOSTILE = [
    # (file name, contents, the start of the one line of stderr)
    (
        "huge.csv",
        "curve_key,x,y,station\nA,0,1," + "S" * (20 << 20) + "\nA,1,2,S\n",
        "error: huge.csv, line 2 (data row 1): the line is longer than 1,048,576 bytes",
    ),
    (
        "million.csv",
        ",".join(f"c{i}" for i in range(1_000_000)) + "\nA,0,1\n",
        "error: million.csv, line 1 (header): the line is longer than 1,048,576 bytes",
    ),
    (
        "wide.csv",
        ",".join(f"c{i}" for i in range(40_000)) + "\nA,0,1\n",
        "error: wide.csv, line 1 (header): the header has 40,000 columns; an import takes at "
        "most 64",
    ),
    (
        "nul.csv",
        "curve_key,x,y,station\nA,0,1,S\x001\nA,1,2,S\x001\n",
        "error: nul.csv, line 2 (data row 1), column 'station': the value holds a control "
        "character (0x00)",
    ),
]


@pytest.mark.parametrize(("name", "content", "message"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_ingest_refuses_hostile_files_quickly_in_one_line(home, tmp_path, name, content, message):
    # Before: a traceback for the 20 MB value, and no answer within 10 minutes for the
    # million columns. Starting the command takes a few seconds; refusing must add little.
    path = tmp_path / name
    path.write_text(content)
    started = time.monotonic()
    result = run(home, "ingest", str(path), "--project", "line7", ok=False, timeout=120)
    assert time.monotonic() - started < 60
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr[:2000]
    assert result.stderr.startswith(message), result.stderr[:2000]


def test_ingest_labels_pass_the_check_the_api_applies_to_project_names(home, tmp_path):
    good = tmp_path / "labelled.csv"
    good.write_text("curve_key,x,y\nL1,0,1\nL1,1,2\n")
    # The check itself meets every kind of bad name in tests/models/test_names.py; here, that
    # the command applies it (each run is a process start, ~4 s).
    for label in ["<img src=x onerror=alert(1)>", " "]:
        result = run(home, "ingest", str(good), "--project", label, ok=False)
        assert result.returncode == 2, (label, result.stdout)
        assert "error: A project name has 1-100 letters, digits" in result.stderr, label
    assert "labelled.csv" not in run(home, "info").stdout  # none of them imported anything


def test_ingest_into_an_existing_project_keeps_working(home, tmp_path):
    # The check is the one for new project names: a label that names a project already made
    # (here "Default project", made with the store) is that project.
    good = tmp_path / "into_default.csv"
    good.write_text("curve_key,x,y\nD1,0,1\nD1,1,2\n")
    out = run(home, "ingest", str(good), "--project", "Default project").stdout
    assert "Imported 1 curve (2 points) into 'Default project'" in out
