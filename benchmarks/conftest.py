"""Benchmark sizes: toy under `make test` (so the suites never rot), full under `make bench`."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

FULL = os.environ.get("CURVEHOUSE_BENCH_SIZE", "toy") == "full"
DEMO_CURVES = 10_000 if FULL else 300  # the served suites' demo: the issues' "10k demo"


def size(toy: int, full: int) -> int:
    return full if FULL else toy


def best_of(fn, rounds: int = 3) -> float:
    """The fastest of ``rounds`` calls of ``fn``, in seconds."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def report(title: str, rows: list[dict], columns: list[str]) -> None:
    """Print a results table at the end of a suite (visible with -s, which `make bench` uses)."""
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    print(f"\n\n{title}")
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns))


def compressed_bytes(client, database: str, table: str) -> int:
    """A table's bytes on disk, as the engine reports its active parts."""
    return int(
        client.query(
            "SELECT sum(data_compressed_bytes) FROM system.parts "
            "WHERE database = {d:String} AND table = {t:String} AND active",
            parameters={"d": database, "t": table},
        ).result_rows[0][0]
    )


def parent_and_cpu(pid: int) -> tuple[int, float]:
    """A process's parent and its CPU seconds so far (user + system), from /proc; OSError
    when it is gone."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kb(field: str) -> int:
    """A field of this process's /proc status (VmRSS, VmHWM), in kB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory) -> Path:
    """A home with ``curvehouse demo --curves DEMO_CURVES``, written once (12-16 s at full
    size) for the suites that serve it, one server at a time (each module stops its own). A
    suite may add to it (the dashboard suite saves views), never take away. Not copied: the
    engine's tables link to their data by absolute paths."""
    from tests.ui.conftest import BIN

    home = tmp_path_factory.mktemp("demo-home")
    subprocess.run(
        [str(BIN / "curvehouse"), "demo", "--curves", str(DEMO_CURVES)],
        env={**os.environ, "CURVEHOUSE_HOME": str(home)},
        check=True,
        capture_output=True,
        timeout=600,
    )
    return home
