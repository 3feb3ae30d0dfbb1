"""The home is private even when the process's umask is not (a notebook, a test)."""

import os
import stat

from models.home import private_home
from models.settings import Settings
from models.store import open_metadata


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_store_and_its_key_are_private_whatever_the_umask(tmp_path):
    home = tmp_path / "home"
    old = os.umask(0o022)
    try:
        with open_metadata(Settings(home=home)):
            pass
    finally:
        os.umask(old)
    assert mode(home) == 0o700
    assert mode(home / "curvehouse.db") == 0o600
    assert mode(home / "secret.key") == 0o600


def test_an_open_home_is_closed_and_nothing_else_changes(tmp_path):
    home = tmp_path / "home"
    (home / "chdb" / "data").mkdir(parents=True)
    (home / "chdb" / "data" / "part.bin").write_bytes(b"x")
    for path in (home, home / "chdb", home / "chdb" / "data"):
        os.chmod(path, 0o755)
    os.chmod(home / "chdb" / "data" / "part.bin", 0o664)
    assert private_home(home) == []  # all ours: no warning
    assert {mode(p) for p in (home, home / "chdb", home / "chdb" / "data")} == {0o700}
    assert mode(home / "chdb" / "data" / "part.bin") == 0o600
