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
    parallel = "pytest --run=all -n 2 --dist loadfile"
    assert parallel in spec["commands"]["test"]["unix"]
    assert parallel in makefile
    assert "CURVEHOUSE_BENCH_SIZE=full" in spec["commands"]["bench"]["unix"]
    assert "CURVEHOUSE_BENCH_SIZE=full" in makefile
    assert "curvehouse demo --if-missing" in spec["commands"]["serve"]["unix"]
    assert re.search(r"^run:.*\n(\t.*\n)*\t.*curvehouse demo --if-missing", makefile, re.M)
    # The kernels are compiled before each, as make's targets do.
    for command in ("serve", "test", "bench"):
        assert spec["commands"][command]["unix"].startswith("python -m pipelines.warm && ")
    assert re.search(r"^kernels:.*\n\t.*python -m pipelines\.warm$", makefile, re.M)
    for target in ("run", "test", "bench"):
        assert re.search(rf"^{target}:.* kernels\b", makefile, re.M), target


def test_readme_opens_with_the_two_commands():
    head = (ROOT / "README.md").read_text()[:1500]
    assert head.index("make run") < head.index("make test")


def test_ci_runs_make_test():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "chromium" in ci


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# What a notebook promises to print, besides running without an error.
SAID = {
    "01_curve_overlay.ipynb": ("samples fetched", "most curves through one pixel"),
    "02_spc.ipynb": ("parts", "limits", "run-rule flags", "Cp ", "Ppk"),
}


@pytest.fixture(scope="module")
def notebook_home(tmp_path_factory):
    """A home with 300 demo curves, made by the real CLI."""
    import subprocess
    import sys

    home = tmp_path_factory.mktemp("notebook-home")
    subprocess.run(
        [str(Path(sys.executable).parent / "curvehouse"), "demo", "--curves", "300"],
        env={"CURVEHOUSE_HOME": str(home), "PATH": str(Path(sys.executable).parent)},
        check=True,
        capture_output=True,
        timeout=300,
    )
    return home


@pytest.mark.integration
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebooks_run(path, notebook_home, monkeypatch):
    monkeypatch.setenv("CURVEHOUSE_HOME", str(notebook_home))
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3").execute(cwd=str(ROOT))
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert "300" in str(outputs[0])  # every notebook starts by counting the curves
    printed = " ".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    for words in SAID.get(path.name, ()):
        assert words in printed, (words, printed[:2000])
