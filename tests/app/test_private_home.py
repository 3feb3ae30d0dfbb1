"""Issue 13, item 13: the home is private, and secrets sent in URLs never reach the log.

``curvehouse.db`` was 0644 in a 0755 home, so any local account could read the password hashes
and (then) the cluster passwords; a token sent in a query string was written to the server log.
These run the real ``curvehouse`` command, as an operator would.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "curvehouse")
SECRET = "chp_QUERYSTRINGSECRET0123456789abcdefXYZ"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(home: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "CURVEHOUSE_HOME": str(home), **extra}


def open_to_others(home: Path) -> list[str]:
    """Every path under ``home`` (and home itself) that its group or others may use."""
    found = []
    for path in [home, *home.rglob("*")]:
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            found.append(f"{oct(mode)} {path.relative_to(home.parent)}")
    return found


def test_a_fresh_home_from_demo_and_serve_is_private_and_the_log_has_no_secrets(tmp_path):
    home = tmp_path / "home"
    made = subprocess.run(
        [CLI, "demo", "--curves", "60"],
        env=environment(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stderr
    assert open_to_others(home) == []

    port = free_port()
    server = subprocess.Popen(
        [CLI, "serve", "--port", str(port), "--address", "127.0.0.1"],
        env=environment(home, CURVEHOUSE_OWNER_PASSWORD="a long owner password 42"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stdout.read()
            try:
                requests.get(f"{base}/login", timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.3)
        refused = requests.get(f"{base}/api/me?token={SECRET}", timeout=30)
        assert refused.status_code in (400, 401)
        assert "not accepted in the URL" in refused.json()["error"]["message"]
        requests.get(f"{base}/invite?token={SECRET}", timeout=30)
        requests.get(f"{base}/login?next=/&password={SECRET}&api_key={SECRET}", timeout=30)
    finally:
        server.terminate()
        log, _ = server.communicate(timeout=30)
    assert "/api/me?token=" in log, log[-3000:]  # the request was logged, redacted
    assert SECRET not in log
    assert open_to_others(home) == []


def test_an_older_home_is_made_private_when_a_command_opens_it(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    made = subprocess.run(
        [CLI, "user", "list"], env=environment(home), capture_output=True, text=True, timeout=120
    )
    assert made.returncode == 0, made.stderr
    for path in [home, *home.rglob("*")]:  # as an older Curvehouse left it
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    (home / "notes").mkdir(mode=0o755)
    (home / "notes" / "old.log").write_text("x")
    os.chmod(home / "notes" / "old.log", 0o644)
    assert open_to_others(home)
    again = subprocess.run(
        [CLI, "user", "list"], env=environment(home), capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stderr
    assert open_to_others(home) == []
