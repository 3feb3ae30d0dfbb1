"""The other processes of the sustained live-ingest benchmark (``test_live_ingest.py``).

``publish``: the plant's gateways, in a process of their own so the benchmark's own process
and the server do not pay for them: several MQTT v5 connections (the simulator's
:class:`pipelines.live.simulator.MqttPublisher`, QoS 1), each on a thread publishing its share
of the curves on a fixed schedule. A curve's ``started_at`` is the moment it was published (to
the millisecond), so the store itself says when each curve was sent. Prints one JSON line: how
many were sent and acknowledged, how late the schedule ran, and the CPU the publishing cost.

``stored``: after the run, with the server stopped, in a process that opens the home's
built-in engine: per curve the time from publish to its commit (the ``datasets`` row, which
is what makes it queryable), the commits, bytes per point of the live-ingested curves, and
of the same curves imported as one file would be (:func:`pipelines.ingest.assemble.build_batch`
and :meth:`pipelines.store.CurveStore.write` into another database), as stored and after
``OPTIMIZE ... FINAL``. Prints one JSON line.

The curves are press-fit-like force over displacement, 3,000 samples at a 5 µm encoder step
and a 10 N ADC step, from a pool of distinct shapes made from a seed, so ``stored`` can make
the same curves again.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson

POOL = 512  # distinct curve shapes; curve n has shape n % POOL
FIELDS = {
    "plant": "LEJ",
    "line": "LEJ-L1",
    "station": "ST010",
    "process": "press-fit",
    "program": "P-100",
    "result": "OK",
    "x_name": "displacement",
    "x_unit": "mm",
    "y_name": "force",
    "y_unit": "kN",
}


def press_curve(shape: int, samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Force (kN, 10 N steps) over displacement (mm, 5 µm steps): free travel, the press-fit
    ramp, a snap-in dip, then the block."""
    rng = np.random.default_rng([seed, shape])
    x = np.round(np.arange(samples) * 0.005, 3)
    end = x[-1]
    contact, block = rng.uniform(0.2, 0.3) * end, rng.uniform(0.85, 0.92) * end
    travel = np.clip(x - contact, 0.0, None)
    force = rng.uniform(0.9, 1.1) * 0.8 * travel**1.2
    snap = rng.uniform(0.6, 0.7) * end
    force -= 1.5 * np.exp(-(((x - snap) / 0.05) ** 2))
    force += np.where(x > block, 60.0 * (x - block), 0.0)
    force += rng.normal(0.0, 0.03, samples)
    return x, np.round(np.clip(force, 0.0, None), 2)


def body(shape: int, samples: int, seed: int) -> bytes:
    """A message without its key and time: ``{"plant": ..., "x": [...], "y": [...]}``."""
    x, y = press_curve(shape, samples, seed)
    return orjson.dumps({**FIELDS, "x": x, "y": y}, option=orjson.OPT_SERIALIZE_NUMPY)


def curve_key(label: str, n: int) -> str:
    return f"{label}-{n:07d}/ST010"


def message(label: str, n: int, started_at: str, tail: bytes) -> bytes:
    head = f'{{"curve_key":"{curve_key(label, n)}","part_serial":"{label}-{n:07d}",'
    return (head + f'"started_at":"{started_at}",').encode() + tail[1:]


def iso_ms(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def publish(args: argparse.Namespace) -> dict:
    from pipelines.live.simulator import MqttPublisher

    made = time.perf_counter()
    tails = [body(s, args.samples, args.seed) for s in range(min(POOL, args.curves))]
    made = time.perf_counter() - made
    gateways = [
        MqttPublisher(args.host, args.port, args.username, args.password)
        for _ in range(args.threads)
    ]
    acked = [0] * len(gateways)
    for i, gw in enumerate(gateways):
        if not gw.connected.wait(30) or gw.refused:
            return {"error": f"gateway {i} could not connect: {gw.refused or 'timed out'}"}

        def on_publish(client, userdata, mid, reason, properties, i=i) -> None:
            acked[i] += 1

        gw.client.on_publish = on_publish
    late: list[list[float]] = [[] for _ in gateways]
    sent_bytes = [0] * len(gateways)
    cpu0, began = _cpu(), time.time() + 0.2

    def work(i: int) -> None:
        gw = gateways[i]
        for n in range(i, args.curves, len(gateways)):
            due = began + n / args.rate
            wait = due - time.time()
            if wait > 0:
                time.sleep(wait)
            now = time.time()
            late[i].append(now - due)
            payload = message(args.label, n, iso_ms(now), tails[n % len(tails)])
            sent_bytes[i] += len(payload)
            gw.publish(args.topic, payload)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(gateways))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    published = time.time() - began
    deadline = time.monotonic() + 300
    while sum(acked) < args.curves and time.monotonic() < deadline:
        time.sleep(0.05)
    cpu = _cpu() - cpu0
    for gw in gateways:
        gw.close()
    lateness = np.concatenate([np.asarray(v) for v in late]) if args.curves else np.zeros(1)
    return {
        "sent": args.curves,
        "acked": sum(acked),
        "seconds": published,
        "rate": args.curves / published,
        "bytes": sum(sent_bytes),
        "late_p95_ms": float(np.percentile(lateness, 95) * 1e3),
        "late_max_ms": float(lateness.max() * 1e3),
        "cpu_seconds": cpu,
        "pool_seconds": made,
    }


def _samples_bytes(client, database: str) -> tuple[int, int]:
    """Compressed bytes and active parts of a database's ``curve_samples``."""
    row = client.query(
        "SELECT sum(data_compressed_bytes), count() FROM system.parts "
        "WHERE database = {d:String} AND table = 'curve_samples' AND active",
        parameters={"d": database},
    ).result_rows[0]
    return int(row[0] or 0), int(row[1])


def _optimize(client, database: str) -> None:
    for table in ("curve_samples", "curves"):
        client.command(f"OPTIMIZE TABLE `{database}`.{table} FINAL")


def file_batches(keyed: list[tuple[str, int]], samples: int, seed: int):
    """The curves of ``(curve_key, started_at in ms)`` as a file import assembles them
    (:func:`pipelines.ingest.assemble.build_batch`), 1,000 curves a batch."""
    import pandas as pd

    from pipelines.ingest.assemble import Curve, build_batch, finish_curve

    shapes: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for start in range(0, len(keyed), 1000):
        chunk = []
        for key, started in keyed[start : start + 1000]:
            serial = key.split("/")[0]
            n = int(serial.rsplit("-", 1)[1])
            if n % POOL not in shapes:
                shapes[n % POOL] = press_curve(n % POOL, samples, seed)
            x, y = shapes[n % POOL]
            meta = {**FIELDS, "part_serial": serial, "started_at": iso_ms(started / 1e3)}
            chunk.append(finish_curve(Curve(key, 0, [x.copy()], [y.copy()], meta)))
        yield build_batch(chunk, ingested_at=pd.Timestamp.now(tz="UTC"))


def write(store, project: str, keyed: list[tuple[str, int]], samples: int, seed: int):
    """Import the curves of ``keyed`` into ``store`` as one dataset, as a file would be."""
    from pipelines.store import DatasetSpec

    spec = DatasetSpec(project, "import", f"bench file {len(keyed)} curves")
    return store.write(file_batches(keyed, samples, seed), spec)


def seed(args: argparse.Namespace) -> dict:
    """A line's history before the run: a few curves of the same press, imported as a file,
    started hours ago (so a live page of the last 15 min starts empty but knows the process)."""
    from pipelines.store import CurveStore
    from providers.engines import get_engine

    client = get_engine("embedded", path=Path(args.home) / "chdb").client()
    store = CurveStore.open(client, args.database)
    past = int((time.time() - 3 * 3600) * 1e3)
    keyed = [(curve_key("SEED", n), past + n) for n in range(args.curves)]
    written = write(store, args.project, keyed, args.samples, args.seed)
    client.close()
    return {"curves": written.curves_added}


def stored(args: argparse.Namespace) -> dict:
    from pipelines.store import CurveStore
    from providers.engines import get_engine

    client = get_engine("embedded", path=Path(args.home) / "chdb").client()
    db, p = args.database, {"p": args.project}
    rows = client.query(
        f"SELECT c.curve_key, toUnixTimestamp64Milli(c.started_at), "
        f"toUnixTimestamp64Milli(d.created_at), c.point_count FROM `{db}`.curves AS c "
        f"INNER JOIN `{db}`.datasets AS d ON c.dataset_id = d.dataset_id "
        "WHERE c.project = {p:String}",
        parameters=p,
    ).result_rows
    keys = [r[0] for r in rows]
    ours = [r for r in rows if r[0].startswith(args.label + "-")]
    latency = np.asarray([(r[2] - r[1]) / 1e3 for r in ours]) if ours else np.zeros(0)
    commits, points = client.query(
        f"SELECT countIf(startsWith(source, 'mqtt:')), sum(point_count) FROM `{db}`.datasets "
        "WHERE project = {p:String}",
        parameters=p,
    ).result_rows[0]
    points = int(points or 0)
    live_bytes, live_parts = _samples_bytes(client, db)
    out = {
        "rows": len(rows),
        "keys": len(set(keys)),
        "ours": len(ours),
        "ours_keys": sorted(set(r[0] for r in ours))
        == [curve_key(args.label, n) for n in range(args.curves)],
        "ours_points": sum(r[3] for r in ours),
        "first_publish_ms": min(r[1] for r in ours) if ours else None,
        "last_commit_ms": max(r[2] for r in ours) if ours else None,
        "commit_p50": float(np.percentile(latency, 50)) if ours else None,
        "commit_p95": float(np.percentile(latency, 95)) if ours else None,
        "commit_max": float(latency.max()) if ours else None,
        "commits": int(commits),  # the live ones: one per micro-batch
        "points": points,
        "live_parts": live_parts,
        "live_bpp": live_bytes / points if points else None,
    }
    if ours:  # by 30 s of commits: curves per second, mean and worst publish-to-commit
        first, buckets = min(r[2] for r in ours), {}
        span = (max(r[2] for r in ours) - first) / 1e3
        for r in ours:
            buckets.setdefault((r[2] - first) // 30_000, []).append((r[2] - r[1]) / 1e3)
        out["series"] = [
            (
                int(b) * 30,
                len(v) / max(min(30.0, span - b * 30), 1.0),
                float(np.mean(v)),
                float(np.max(v)),
            )
            for b, v in sorted(buckets.items())
        ]
    if args.compare:
        file_db = db + "_file"
        store = CurveStore.open(client, file_db)
        every = sorted(((r[0], r[1]) for r in rows), key=lambda r: r[1])
        began = time.perf_counter()
        written = write(store, args.project, every, args.samples, args.seed)
        out["file_seconds"] = time.perf_counter() - began
        file_bytes, out["file_parts"] = _samples_bytes(client, file_db)
        out["file_bpp"] = file_bytes / written.points_added
        out["file_points"] = written.points_added
        for name in (db, file_db):
            _optimize(client, name)
        out["live_bpp_optimized"] = _samples_bytes(client, db)[0] / points
        out["file_bpp_optimized"] = _samples_bytes(client, file_db)[0] / written.points_added
        client.command(f"DROP DATABASE `{file_db}`")
    return out


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="live_ingest_tools")
    sub = parser.add_subparsers(dest="command", required=True)
    pub = sub.add_parser("publish")
    for name in ("host", "username", "password", "topic", "label"):
        pub.add_argument(f"--{name}", required=True)
    pub.add_argument("--port", type=int, required=True)
    pub.add_argument("--curves", type=int, required=True)
    pub.add_argument("--rate", type=float, required=True)
    pub.add_argument("--threads", type=int, default=4)
    pub.add_argument("--samples", type=int, default=3000)
    pub.add_argument("--seed", type=int, default=18)
    for command in ("seed", "stored"):
        st = sub.add_parser(command)
        for name in ("home", "project"):
            st.add_argument(f"--{name}", required=True)
        st.add_argument("--label", default="SEED")
        st.add_argument("--database", default="curvehouse")
        st.add_argument("--curves", type=int, required=True)
        st.add_argument("--samples", type=int, default=3000)
        st.add_argument("--seed", type=int, default=18)
        st.add_argument("--compare", action="store_true")
    args = parser.parse_args(argv)
    result = {"publish": publish, "seed": seed, "stored": stored}[args.command](args)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
