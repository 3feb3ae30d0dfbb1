"""A project made with its cluster: the wizard creates a Development cluster with a new project
living on it, a CSV is imported into that project through the REST API, and the explorer draws
it from the cluster's own database.

Everything is real: `curvehouse serve` in a subprocess, its poller, an embedded node process, a
personal API token from `curvehouse token create`, Debian's chromium.
"""

from __future__ import annotations

import os
import subprocess

import pytest
import requests

from models.accounts import DEFAULT_PROJECT
from models.settings import Settings
from models.store import open_metadata
from models.tables import Cluster, Project
from providers.clusters.configured import provider_for
from tests.app.api.conftest import curves_csv
from tests.ui.conftest import BIN, OWNER, screenshot, serving_clusters
from tests.ui.test_curves_browser import stat, status

pytestmark = pytest.mark.ui
WAIT = 60_000
CURVES = 6


@pytest.fixture
def served(tmp_path):
    with serving_clusters(tmp_path) as server:
        yield server


def a_token(served) -> str:
    made = subprocess.run(
        [str(BIN / "curvehouse"), "token", "create", OWNER, "--name", "line-9 import"],
        env={**os.environ, "CURVEHOUSE_HOME": served.home},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return made.stdout.strip()


def on_node(home: str, cluster_name: str) -> dict[str, int]:
    """Curves per project label in the cluster's own database, asked of its node directly."""
    settings = Settings(home=home)
    store = open_metadata(settings)
    try:
        with store.sessions() as session:
            cluster = next(c for c in session.query(Cluster).all() if c.name == cluster_name)
            connection = provider_for(settings, cluster).connection(
                cluster.provider_config["handle"]
            )
            homed = [
                p.name for p in session.query(Project).all() if p.home_cluster_id == cluster.id
            ]
    finally:
        store.close()
    assert homed == ["line-9"]
    with connection.client() as client:
        rows = client.query("SELECT project, count() FROM curves GROUP BY project").result_rows
    return {project: int(n) for project, n in rows}


def test_the_wizard_makes_a_cluster_with_a_project_whose_curves_the_explorer_draws(served, page):
    page.goto(served.url + "clusters", wait_until="networkidle")
    page.get_by_text("No clusters yet").wait_for(timeout=WAIT)
    next_button = page.get_by_role("button", name="Next")
    page.get_by_placeholder("e.g. press-shop-dev").fill("line9-dev")
    page.get_by_role("radio", name="Development").check()
    for _ in range(3):
        next_button.click()
    page.get_by_text("Estimated monthly cost: $").wait_for()

    # The review step asks what happens after, and checks the project's name first.
    page.get_by_text("After creating it").wait_for()
    page.get_by_role("radio", name="Move projects I own onto it").check()
    page.get_by_text("Choose the projects to move.").wait_for()
    page.get_by_role("checkbox", name=f"{DEFAULT_PROJECT} (now on the built-in engine)").wait_for()
    screenshot(page, "cluster-home-review-move")
    page.get_by_role("radio", name="Create a new project on it").check()
    name = page.get_by_placeholder("e.g. line-9")
    name.fill(DEFAULT_PROJECT)  # the owner's first project, made at start
    name.press("Enter")
    page.get_by_role("button", name="Create cluster").click()
    taken = page.get_by_text(
        f"A project named '{DEFAULT_PROJECT}' exists already; choose another name."
    )
    taken.wait_for()
    name.fill("line-9")
    name.press("Enter")
    taken.wait_for(state="hidden")  # a refusal goes once the entry changes
    screenshot(page, "cluster-home-review")
    page.get_by_role("button", name="Create cluster").click()
    page.get_by_text("Project line-9 will live on cluster line9-dev").wait_for(timeout=WAIT)
    # The wizard starts over for the next cluster, its message kept.
    page.get_by_placeholder("e.g. press-shop-dev").wait_for()
    assert page.get_by_placeholder("e.g. press-shop-dev").input_value() == ""
    screenshot(page, "cluster-home-created")

    # The server's poller sees the node answer with the curve schema.
    page.locator(".ch-badge", has_text="running").last.wait_for(timeout=WAIT)

    # A CSV into the new project, through the REST API with a personal token.
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {a_token(served)}"
    with api:
        listed = api.get(served.url + "api/projects", timeout=60)
        assert listed.status_code == 200, listed.text
        body = listed.json()
        items = body["items"] if isinstance(body, dict) else body
        (project,) = [p for p in items if p["name"] == "line-9"]
        assert project["home"]["name"] == "line9-dev"
        made = api.post(
            f"{served.url}api/projects/{project['id']}/datasets?name=line9.csv",
            data=curves_csv("L9", count=CURVES),
            headers={"Content-Type": "text/csv"},
            timeout=60,
        )
        assert made.status_code == 201, made.text

    # The explorer draws it, and the curves are in the cluster's database.
    page.goto(served.url + "curves?project=line-9", wait_until="networkidle")
    shown, _, _ = status(page)
    assert shown == CURVES
    assert stat(page, "Curves shown") == f"{CURVES:,}"
    assert page.locator("canvas").count() >= 1
    screenshot(page, "cluster-home-explorer")
    assert on_node(served.home, "line9-dev") == {"line-9": CURVES}
    assert page.js_errors == []
