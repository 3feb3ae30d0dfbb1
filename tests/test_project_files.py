"""The project's own files agree with each other: Makefile, anaconda-project, CI, notebooks."""

import re
from pathlib import Path

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def test_anaconda_project_mirrors_the_makefile():
    spec = yaml.safe_load((ROOT / "anaconda-project.yml").read_text())
    assert set(spec["commands"]) == {"serve", "notebook", "test", "bench"}
    assert (ROOT / spec["commands"]["notebook"]["notebook"]).exists()
    pip = next(p["pip"] for p in spec["packages"] if isinstance(p, dict))
    assert pip == [".[test]"]
    makefile = (ROOT / "Makefile").read_text()
    assert "pytest --run=all" in spec["commands"]["test"]["unix"]
    assert "pytest --run=all" in makefile
    assert "CURVEHOUSE_BENCH_SIZE=full" in spec["commands"]["bench"]["unix"]
    assert "CURVEHOUSE_BENCH_SIZE=full" in makefile
    assert "curvehouse demo --if-missing" in spec["commands"]["serve"]["unix"]
    assert re.search(r"^run:.*\n(\t.*\n)*\t.*curvehouse demo --if-missing", makefile, re.M)


def test_readme_opens_with_the_two_commands():
    head = (ROOT / "README.md").read_text()[:1500]
    assert head.index("make run") < head.index("make test")


def test_ci_runs_make_test():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "chromium" in ci


@pytest.mark.integration
def test_getting_started_notebook_runs(tmp_path, monkeypatch):
    import subprocess
    import sys

    home = tmp_path / "home"
    subprocess.run(
        [str(Path(sys.executable).parent / "curvehouse"), "demo", "--curves", "90"],
        env={"CURVEHOUSE_HOME": str(home), "PATH": str(Path(sys.executable).parent)},
        check=True,
        capture_output=True,
        timeout=300,
    )
    monkeypatch.setenv("CURVEHOUSE_HOME", str(home))
    notebook = nbformat.read(ROOT / "notebooks" / "00_getting_started.ipynb", as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3").execute(cwd=str(ROOT))
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert "curves=90" in str(outputs[0])
