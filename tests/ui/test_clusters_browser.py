"""A Development cluster made through the wizard, used from Python, stopped and deleted.

Everything is real: `curvehouse serve` in a subprocess, its poller, an embedded node process
serving ClickHouse's HTTP interface, and the snippet copied from the page run by a separate
Python process.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from playwright.sync_api import expect

from tests.ui.conftest import screenshot, serving_clusters

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.ui
WAIT = 60_000


@pytest.fixture
def served(tmp_path):
    with serving_clusters(tmp_path) as server:
        yield server


def title_state(page, state: str) -> None:
    page.locator(".ch-badge", has_text=state).last.wait_for(timeout=WAIT)


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def run_in_notebook(cell: str) -> str:
    """Execute ``cell`` in a Jupyter kernel; returns the cell's displayed result."""
    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    NotebookClient(book, timeout=120, kernel_name="python3").execute(cwd=str(ROOT))
    (output,) = [o for o in book.cells[0].outputs if o.output_type == "execute_result"]
    return output["data"]["text/plain"]


def test_wizard_to_a_queryable_cluster_then_stop_and_delete(served, page, tmp_path):
    page.goto(served.url + "clusters", wait_until="networkidle")
    page.get_by_text("No clusters yet").wait_for(timeout=WAIT)
    next_button = page.get_by_role("button", name="Next")

    # Step 1: a name is required, and the error says how to write one.
    next_button.click()
    page.get_by_text("Name the cluster with 3-40 lower-case letters").wait_for()
    page.get_by_placeholder("e.g. press-shop-dev").fill("line-4-dev")
    page.get_by_role("radio", name="Development").check()
    next_button.click()
    # Step 2: where it runs.
    page.get_by_text("2. Where it runs").wait_for()
    next_button.click()
    # Step 3: limits per type are checked.
    nodes = page.get_by_label("Nodes")
    nodes.fill("3")
    nodes.press("Enter")
    next_button.click()
    page.get_by_text("Development clusters have 1–2 nodes; got 3.").wait_for()
    nodes.fill("1")
    nodes.press("Enter")
    next_button.click()
    # Step 4: review with the cost estimate; Back keeps what was entered.
    page.get_by_text("Estimated monthly cost: $").wait_for()
    page.get_by_role("button", name="Back").click()
    assert page.get_by_label("Nodes").input_value() == "1"
    next_button.click()
    priced = page.get_by_text(re.compile(r"Estimated monthly cost: \$[\d,]+\.\d\d"))
    priced.wait_for()
    amount = re.search(r"\$([\d,]+\.\d\d)", priced.inner_text()).group(1)
    assert float(amount.replace(",", "")) > 0
    # Issue 16: data transfer is an input, as the README prices it, and a unit is defined.
    egress = page.get_by_label("Data transfer out to the internet (GB per month)")
    assert egress.input_value() == "20"
    page.get_by_text("A compute unit is how ClickHouse Cloud bills compute").wait_for()
    screenshot(page, "clusters-wizard-review")
    page.get_by_role("button", name="Create cluster").click()

    # It reaches running only when the node answers and has the curve schema.
    title_state(page, "running")
    page.get_by_text("Measured", exact=True).wait_for(timeout=WAIT)
    python = next(t for t in page.locator("pre").all_inner_texts() if "get_client" in t)
    assert "********" in python  # masked until revealed
    page.get_by_role("button", name="Reveal secret").click()
    page.get_by_role("button", name="Hide secret").wait_for()
    # The snippet is drawn again beside the button: wait for the revealed one, not the button.
    snippet = page.locator("pre").filter(has_text="get_client").first
    expect(snippet).not_to_contain_text("********", timeout=WAIT)
    python = snippet.inner_text()
    screenshot(page, "clusters-running")

    # The copied snippet runs as pasted, and the curve schema is there.
    ran = run_python(python + "print(client.query('SELECT count() FROM curves').result_rows)\n")
    assert ran.returncode == 0, ran.stderr
    assert "[(0,)]" in ran.stdout
    # The notebook snippet, run as a cell in a real Jupyter kernel.
    notebook = next(t for t in page.locator("pre").all_inner_texts() if "open_curves" in t)
    assert run_in_notebook(notebook) == "0"
    page.get_by_text(re.compile(r"p50 [\d.]+ ms")).wait_for(timeout=WAIT)

    # Stop asks first, then the node really stops: the snippet no longer connects.
    page.get_by_role("button", name="Stop").click()
    page.get_by_role("button", name="Yes, stop line-4-dev").click()
    title_state(page, "stopped")
    assert run_python(python).returncode != 0

    page.get_by_role("button", name="Delete").click()
    page.get_by_text("Delete it and all its data?").wait_for()
    page.get_by_role("button", name="Yes, delete line-4-dev").click()
    page.get_by_text("No clusters yet").wait_for(timeout=WAIT)
    assert not any((tmp_path / "clusters").iterdir())
    screenshot(page, "clusters-deleted")
    assert page.js_errors == []
