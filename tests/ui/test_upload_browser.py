"""A file dropped on a project's page is uploaded in chunks, imported, and the page says what
was stored (issue 16). One browser test; the checks and messages are tested without a browser
in tests/app/projects/test_upload.py."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.app.projects.samples import GERMAN
from tests.ui.conftest import BIN, Served, screenshot

pytestmark = pytest.mark.ui


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A server of its own: the upload adds curves, which the demo's tests count."""
    server = Served(tmp_path_factory.mktemp("upload-home"), [str(BIN / "curvehouse"), "serve"])
    yield server
    server.stop()


def test_a_dropped_file_is_imported_and_the_page_says_so(served, page):
    page.goto(served.url + "projects")
    page.locator(".tabulator-row").first.click()
    page.get_by_text("Upload curves").wait_for()
    page.set_input_files(
        "input[type=file]",
        files=[{"name": "Prüfstand 1.csv", "mimeType": "text/csv", "buffer": GERMAN}],
    )
    page.get_by_text("Imported 2 curves (5 points) into").wait_for(timeout=30_000)
    screenshot(page, "project-upload")
    # Parquet has no type FilePond maps from ".parquet": the drop zone takes any type (it once
    # said "File is of invalid type") and the server reads the kind from the name.
    table = pa.table({"curve_key": ["A", "A", "B", "B"], "x": [0.0, 1, 0, 1], "y": [1.0, 2, 3, 4]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    page.set_input_files(
        "input[type=file]",
        files=[
            {
                "name": "s.parquet",
                "mimeType": "application/vnd.apache.parquet",
                "buffer": buffer.getvalue(),
            }
        ],
    )
    page.get_by_text("Imported 2 curves (4 points) into").wait_for(timeout=30_000)
    assert not page.js_errors
