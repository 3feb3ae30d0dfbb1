"""The default home: ``var/`` of the Curvehouse checkout the process runs in, from any of its
folders (a notebook in ``notebooks/`` included), else ``./var``; CURVEHOUSE_HOME always wins."""

from pathlib import Path

import pytest

from models.settings import Settings, default_home

ROOT = Path(__file__).resolve().parents[2]


def project(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(f'[project]\nname = "{name}"\nversion = "0"\n')
    return folder


def test_a_subfolder_of_the_checkout_finds_its_var(tmp_path):
    checkout = project(tmp_path / "curvehouse", "curvehouse")
    deep = checkout / "notebooks" / "drafts"
    deep.mkdir(parents=True)
    assert default_home(deep) == checkout / "var"
    assert default_home(checkout) == checkout / "var"


def test_another_projects_pyproject_is_not_a_checkout(tmp_path):
    other = project(tmp_path / "plant-scripts", "plant-scripts")
    (other / "notebooks").mkdir()
    assert default_home(other / "notebooks") == other / "notebooks" / "var"


def test_the_nearest_checkout_wins(tmp_path):
    outer = project(tmp_path / "outer", "curvehouse")
    inner = project(outer / "vendored" / "curvehouse", "curvehouse")
    assert default_home(inner / "notebooks") == inner / "var"


def test_an_unreadable_pyproject_is_skipped(tmp_path):
    checkout = project(tmp_path / "c", "curvehouse")
    (checkout / "notebooks").mkdir()
    (checkout / "notebooks" / "pyproject.toml").write_text("not [ toml")
    assert default_home(checkout / "notebooks") == checkout / "var"


def test_from_env_in_the_notebooks_folder_uses_the_checkouts_var(monkeypatch):
    monkeypatch.chdir(ROOT / "notebooks")
    assert Settings.from_env({}).home == ROOT / "var"
    assert Settings.from_env({"CURVEHOUSE_HOME": "elsewhere"}).home == (
        ROOT / "notebooks" / "elsewhere"
    )


@pytest.mark.parametrize("folder", ["notebooks", "app/pages"])
def test_every_folder_of_this_checkout_shares_one_home(monkeypatch, folder):
    monkeypatch.chdir(ROOT / folder)
    assert Settings.from_env({}).chdb_path == ROOT / "var" / "chdb"
