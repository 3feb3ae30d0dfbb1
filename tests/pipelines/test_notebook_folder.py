"""``notebooks/00_getting_started.ipynb`` run from its own folder, as Jupyter starts it, with no
CURVEHOUSE_HOME: it opens the checkout's ``var/`` (not an empty ``notebooks/var``).

The checkout is a copy in a temporary folder (its ``pyproject.toml`` and the notebook), so the
real ``var/`` is never touched."""

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CURVES = 137


def test_the_getting_started_notebook_runs_from_its_folder(tmp_path, monkeypatch):
    checkout = tmp_path / "checkout"
    (checkout / "notebooks").mkdir(parents=True)
    shutil.copy(ROOT / "pyproject.toml", checkout / "pyproject.toml")
    notebook_path = checkout / "notebooks" / "00_getting_started.ipynb"
    shutil.copy(ROOT / "notebooks" / "00_getting_started.ipynb", notebook_path)
    subprocess.run(
        [str(Path(sys.executable).parent / "curvehouse"), "demo", "--curves", str(CURVES)],
        env={"CURVEHOUSE_HOME": str(checkout / "var"), "PATH": str(Path(sys.executable).parent)},
        check=True,
        capture_output=True,
        timeout=300,
    )
    monkeypatch.delenv("CURVEHOUSE_HOME", raising=False)
    notebook = nbformat.read(notebook_path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3").execute(
        cwd=str(checkout / "notebooks")
    )
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"], outputs
    assert str(CURVES) in str(outputs[0])  # the overview counts the demo's curves
    assert not (checkout / "notebooks" / "var").exists()


def test_an_empty_store_says_what_to_do_instead_of_a_raw_engine_error(tmp_path, monkeypatch):
    """Issue 16: before, the first cell failed with ClickHouse's UNKNOWN_DATABASE."""
    from nbclient.exceptions import CellExecutionError

    monkeypatch.setenv("CURVEHOUSE_HOME", str(tmp_path / "empty"))
    notebook = nbformat.read(ROOT / "notebooks" / "00_getting_started.ipynb", as_version=4)
    with pytest.raises(CellExecutionError) as failed:
        NotebookClient(notebook, timeout=300, kernel_name="python3").execute(cwd=str(tmp_path))
    said = str(failed.value)
    assert "No curves are stored in" in said and "curvehouse demo" in said
    assert "UNKNOWN_DATABASE" not in said
