"""``curvehouse token``: the operator makes, lists and revokes tokens on the machine; the token
works against the running API at once (the command reads only the metadata store)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "curvehouse")


def run(world, *args, ok=True):
    env = {**os.environ, "CURVEHOUSE_HOME": str(world.home)}
    result = subprocess.run([CLI, *args], capture_output=True, text=True, env=env, timeout=120)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def test_create_list_revoke(world):
    made = run(world, "token", "create", "Viewer@plant.example", "--name", "curl", "--days", "3")
    token = made.stdout.strip()
    assert token.startswith("chp_") and "\n" not in token  # alone on stdout, for $(...)
    assert "shown only now" in made.stderr
    headers = {"Authorization": f"Bearer {token}"}
    me = world.call("GET", "/api/me", who=None, headers=headers)
    assert me.status_code == 200 and me.json()["email"] == "viewer@plant.example"

    listed = run(world, "token", "list", "viewer@plant.example").stdout
    line = next(row for row in listed.splitlines() if row.endswith("  curl"))
    assert "active" in line and token not in listed and token[:10] in line
    token_id = line.split()[0]

    assert "Revoked token" in run(world, "token", "revoke", "viewer@plant.example", token_id).stdout
    assert world.call("GET", "/api/me", who=None, headers=headers).status_code == 401
    assert "revoked" in run(world, "token", "list", "viewer@plant.example").stdout


def test_refusals(world):
    result = run(world, "token", "create", "nobody@plant.example", "--name", "x", ok=False)
    assert result.returncode == 2 and "no account" in result.stderr
    result = run(
        world, "token", "create", "viewer@plant.example", "--name", "x", "--days", "400", ok=False
    )
    assert result.returncode == 2 and "1 to 365 days" in result.stderr
    result = run(world, "token", "revoke", "viewer@plant.example", "99999", ok=False)
    assert result.returncode == 2 and "You have no token 99999" in result.stderr
