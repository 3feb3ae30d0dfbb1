"""What the built-in engine's endpoint costs: the same ``Curves`` reads in-process (the explorer's
path) and through the endpoint (a notebook's or the CLI's path while ``curvehouse serve`` runs),
and what a notebook looping on the endpoint costs the explorer.

The endpoint answers one query at a time with ``CURVEHOUSE_ENDPOINT_THREADS`` threads (default
1), copies each result whole, and the client parses it from HTTP; in-process reads take Arrow
buffers from the engine with all cores. Both read the same stored curves here.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import uuid

import clickhouse_connect
import pytest

from benchmarks.conftest import FULL, report
from benchmarks.test_density_views import best_of, stored_batches
from models.identifiers import identifier
from pipelines.curves import Curves
from pipelines.store import CurveStore, DatasetSpec
from pipelines.views import CurveFilter, View
from providers.engines.endpoint import EngineEndpoint

SIZES = [(10_000, 1_000)] if FULL else [(300, 300)]
THREADS = (1, 2)
RESULTS: list[dict] = []
WHERE = CurveFilter.of(project="bench")
# A notebook in another process, reading every sample through the endpoint until stopped.
NOTEBOOK = """
import sys, clickhouse_connect
from pipelines.curves import Curves
from pipelines.views import CurveFilter
port, password, database = sys.argv[1:4]
client = clickhouse_connect.get_client(
    host="127.0.0.1", port=int(port), username="curvehouse", password=password
)
curves = Curves(client, database, CurveFilter.of(project="bench"))
print("ready", flush=True)
loops = 0
import select
while not select.select([sys.stdin], [], [], 0)[0]:
    curves.samples()
    loops += 1
print(loops, flush=True)
"""


@pytest.fixture(scope="module", params=SIZES, ids=[f"{c}x{n}" for c, n in SIZES])
def stored(request, embedded_provider):
    curves, samples = request.param
    client = embedded_provider.client()
    database = f"bench_{uuid.uuid4().hex[:8]}"
    store = CurveStore.open(client, database)
    store.write(stored_batches(curves, samples), DatasetSpec("bench", "demo", "bench"))
    yield embedded_provider, client, database, curves, samples
    client.command(f"DROP DATABASE {identifier(database)}")
    client.close()


@pytest.mark.benchmark(group="endpoint")
@pytest.mark.parametrize("threads", THREADS)
def test_reads_in_process_against_the_endpoint(benchmark, stored, threads):
    engine, client, database, curves, samples = stored
    here = Curves(client, database, WHERE)
    here.density(View(width=8, height=8))  # compile
    with EngineEndpoint(engine, database=database, threads=threads) as endpoint:
        info = endpoint.info
        remote_client = clickhouse_connect.get_client(
            host="127.0.0.1", port=info.port, username=info.user, password=info.password
        )
        there = Curves(remote_client, database, WHERE)
        fetched = benchmark.pedantic(there.samples, rounds=3, iterations=1)
        assert len(fetched.offsets) == curves + 1 and len(fetched.x) == curves * samples
        rounds = 3
        samples_here, _ = best_of(here.samples, rounds)
        samples_there, _ = best_of(there.samples, rounds)
        density_here, image = best_of(lambda: here.density(View()), rounds)
        density_there, remote_image = best_of(lambda: there.density(View()), rounds)
        assert (remote_image.counts == image.counts).all()
        remote_client.close()
    RESULTS.append(
        {
            "stored": f"{curves:,} x {samples:,}",
            "endpoint threads": threads,
            "samples() here ms": f"{samples_here * 1e3:.0f}",
            "via endpoint ms": f"{samples_there * 1e3:.0f}",
            "samples ×": f"{samples_there / samples_here:.1f}",
            "density() here ms": f"{density_here * 1e3:.0f}",
            "density via endpoint ms": f"{density_there * 1e3:.0f}",
            "density ×": f"{density_there / density_here:.1f}",
        }
    )


@pytest.mark.benchmark(group="endpoint")
def test_the_explorer_while_a_notebook_loops_on_the_endpoint(stored):
    engine, client, database, curves, samples = stored
    here = Curves(client, database, WHERE)
    here.density(View(width=8, height=8))
    idle, _ = best_of(lambda: here.density(View()), 3)
    with EngineEndpoint(engine, database=database, threads=1) as endpoint:
        notebook = subprocess.Popen(
            [
                sys.executable,
                "-c",
                textwrap.dedent(NOTEBOOK),
                str(endpoint.info.port),
                endpoint.info.password,
                database,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert notebook.stdout.readline().strip() == "ready"
            time.sleep(0.5)  # the loop is under way
            times = []
            for _ in range(3):
                started = time.perf_counter()
                here.density(View())
                times.append(time.perf_counter() - started)
        finally:
            loops, _ = notebook.communicate("stop\n", timeout=300)
    busy = sorted(times)[1]
    RESULTS.append(
        {
            "stored": f"{curves:,} x {samples:,}",
            "endpoint threads": 1,
            "explorer density idle ms": f"{idle * 1e3:.0f}",
            "while notebook loops ms": f"{busy * 1e3:.0f}",
            "explorer ×": f"{busy / idle:.1f}",
            "notebook reads": loops.strip(),
        }
    )


def test_report_endpoint_table():
    if not RESULTS:
        pytest.skip("endpoint benchmarks did not run")
    columns = list(dict.fromkeys(key for row in RESULTS for key in row))
    report("The built-in engine in-process vs through its endpoint (800x400)", RESULTS, columns)
