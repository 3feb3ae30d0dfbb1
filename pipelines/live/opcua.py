"""OPC UA: curves read from machines that expose them as arrays, published over MQTT.

Many presses, nutrunners and weld controllers keep their last cycle's curve in OPC UA variables
(an array of x, an array of y, a result, a serial) and count cycles in another. Per station the
connector subscribes to the cycle counter; each new count reads the curve's variables in one
request and publishes the curve as one MQTT message, exactly as a gateway would. So OPC UA
curves go through the same listener, checks, micro-batch commits, permissions (an ingest
token) and dead letters as every other live curve, and nothing here writes to the engine.

The machine's handshake is the usual one: it writes the curve's variables first and counts the
cycle last. A count the connector sees again (after its own restart, or a reconnect) makes the
same ``curve_key`` and samples, which the listener skips; the first notification after a
connect is the machine's current cycle, published so that a curve made while the connector was
away is not lost when it is still on the machine.

A machine that holds only its last curve loses the ones made faster than they are read (the
counter is sampled every 100 ms, then the curve read in one round trip): such cycles are
logged and counted per station (:attr:`Connector.missed`), never hidden. A machine that makes
parts that fast needs a handshake or a curve buffer on its side.

The stations are a JSON file (``curvehouse opcua --config stations.json``)::

    {"stations": [{
        "endpoint": "opc.tcp://press-3.plant.local:4840",
        "project": "line-7", "station": "ST010",
        "counter": "ns=2;s=Press.CycleCounter",
        "x": "ns=2;s=Press.Displacement", "y": "ns=2;s=Press.Force",
        "serial": "ns=2;s=Press.PartSerial", "result": "ns=2;s=Press.Result",
        "fields": {"process": "press-fit", "line": "LEJ-L1", "x_unit": "mm", "y_unit": "kN"}
    }]}

``serial``, ``result``, ``fields``, ``username`` and ``password`` are optional. Without a serial
the key is ``<station>/<counter>``; with one, ``<serial>/<station>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from pipelines.ingest.columns import METADATA

log = logging.getLogger(__name__)

REQUIRED_KEYS = ("endpoint", "project", "station", "counter", "x", "y")
OPTIONAL_KEYS = ("serial", "result", "fields", "username", "password")
# Fields a station's configuration may fix for all its curves (the rest come from the machine).
FIXED_FIELDS = frozenset(METADATA) - {"station", "part_serial", "result", "started_at", "ended_at"}
# How often the server samples the counter and how soon it reports a change, in ms.
PUBLISHING_MS = 100
# Waits between reconnect attempts to a machine that went away, in seconds.
RECONNECT_SECONDS = (1, 2, 5, 10, 30)


class StationConfigError(ValueError):
    """The stations file is not what the connector needs; the message says what to change."""


@dataclass(frozen=True)
class StationSource:
    """Where one station's curves are read."""

    endpoint: str
    project: str
    station: str
    counter: str
    x: str
    y: str
    serial: str | None = None
    result: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    username: str | None = None
    password: str | None = None


def load_stations(path: Path) -> list[StationSource]:
    """The stations of a JSON file, or :class:`StationConfigError` naming what is wrong."""
    try:
        document = json.loads(Path(path).read_text())
    except OSError as exc:
        raise StationConfigError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise StationConfigError(f"{path} is not JSON: {exc}") from None
    stations = document.get("stations") if isinstance(document, dict) else None
    if not isinstance(stations, list) or not stations:
        raise StationConfigError(f'{path} needs {{"stations": [...]}} with at least one station')
    return [_station(entry, f"{path}, station {i + 1}") for i, entry in enumerate(stations)]


def _station(entry: object, where: str) -> StationSource:
    if not isinstance(entry, dict):
        raise StationConfigError(f"{where}: write it as an object")
    missing = [k for k in REQUIRED_KEYS if not isinstance(entry.get(k), str) or not entry[k]]
    if missing:
        raise StationConfigError(f"{where}: missing {', '.join(missing)} (text)")
    unknown = sorted(set(entry) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        raise StationConfigError(
            f"{where}: unknown {', '.join(unknown)}; known: "
            + ", ".join((*REQUIRED_KEYS, *OPTIONAL_KEYS))
        )
    fixed = entry.get("fields", {})
    if not isinstance(fixed, dict) or not all(isinstance(v, str) for v in fixed.values()):
        raise StationConfigError(f"{where}: fields must map names to text")
    wrong = sorted(set(fixed) - FIXED_FIELDS)
    if wrong:
        raise StationConfigError(
            f"{where}: fields may not set {', '.join(wrong)}; they may set "
            + ", ".join(sorted(FIXED_FIELDS))
        )
    if not entry["endpoint"].startswith("opc.tcp://"):
        raise StationConfigError(f"{where}: the endpoint is an opc.tcp:// address")
    return StationSource(**{**entry, "fields": dict(fixed)})


def curve_message(
    source: StationSource,
    count: int,
    x: list[float],
    y: list[float],
    *,
    serial: str | None = None,
    result: str | None = None,
    at: datetime | None = None,
) -> bytes:
    """One cycle's curve as the MQTT payload a gateway would send."""
    key = f"{serial}/{source.station}" if serial else f"{source.station}/{count}"
    body: dict[str, object] = {**source.fields, "curve_key": key, "station": source.station}
    if serial:
        body["part_serial"] = serial
    if result:
        body["result"] = result
    if at is not None:
        body["ended_at"] = at.astimezone(UTC).isoformat()
    body["x"], body["y"] = list(x), list(y)
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)


Publish = Callable[[StationSource, bytes], None]


class _CounterHandler:
    """asyncua's subscription callback: hands each new count to the station's reader."""

    def __init__(self, queue: asyncio.Queue) -> None:
        self.queue = queue

    def datachange_notification(self, node, value, data) -> None:
        stamp = data.monitored_item.Value.SourceTimestamp
        self.queue.put_nowait((value, stamp))


async def follow_station(
    source: StationSource,
    publish: Publish,
    stop: asyncio.Event,
    missed: Callable[[StationSource, int], None] = lambda source, cycles: None,
) -> None:
    """Follow one station until ``stop``: connect, subscribe to its counter, read and publish
    each cycle's curve; after a lost connection or a refusal, try again, waiting longer each
    time (an OPC UA error, such as a node id the machine does not have, is logged as it is)."""
    attempt = 0
    while not stop.is_set():
        try:
            await _session(source, publish, stop, missed)
            attempt = 0
            continue
        except Exception as exc:  # the machine away, or an OPC UA refusal
            wait = RECONNECT_SECONDS[min(attempt, len(RECONNECT_SECONDS) - 1)]
            log.warning("%s at %s: %s; again in %s s", source.station, source.endpoint, exc, wait)
            attempt += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)


async def _session(
    source: StationSource,
    publish: Publish,
    stop: asyncio.Event,
    missed: Callable[[StationSource, int], None],
) -> None:
    from asyncua import Client

    client = Client(source.endpoint, timeout=10)
    if source.username:
        client.set_user(source.username)
        client.set_password(source.password or "")
    async with client:
        names = ["x", "y", "serial", "result"]
        nodes = [client.get_node(getattr(source, n)) for n in names if getattr(source, n)]
        wanted = [n for n in names if getattr(source, n)]
        counts: asyncio.Queue = asyncio.Queue()
        subscription = await client.create_subscription(PUBLISHING_MS, _CounterHandler(counts))
        await subscription.subscribe_data_change(client.get_node(source.counter))
        log.info("%s: following %s", source.station, source.endpoint)
        last = None
        while not stop.is_set():
            try:
                count, stamp = await asyncio.wait_for(counts.get(), 1.0)
            except TimeoutError:
                await client.check_connection()  # raises once the machine is gone
                continue
            if count == last or not count:  # 0: no cycle made yet
                continue
            values = dict(zip(wanted, await client.read_values(nodes), strict=True))
            if last is not None and 0 < count - last - 1 < 2**31:
                # Parts made faster than their curves were read: the machine's variables hold
                # the last one only. Said, and counted, never hidden.
                log.warning(
                    "%s: %d cycle(s) before %s were not read",
                    source.station,
                    count - last - 1,
                    count,
                )
                missed(source, count - last - 1)
            last = count
            if not values["x"] or not values["y"]:
                log.warning("%s: cycle %s has no curve; skipped", source.station, count)
                continue
            publish(
                source,
                curve_message(
                    source,
                    int(count),
                    values["x"],
                    values["y"],
                    serial=str(values["serial"]) if values.get("serial") else None,
                    result=str(values["result"]) if values.get("result") else None,
                    at=stamp.replace(tzinfo=UTC) if stamp and stamp.tzinfo is None else stamp,
                ),
            )


def run_loop(loop: asyncio.AbstractEventLoop, main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on ``loop`` (a thread's own), then end what asyncua left running (its
    subscription loops) and close the loop."""
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(main)
    finally:
        left = asyncio.all_tasks(loop)
        for task in left:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


class Connector:
    """Every station followed on one thread with its own event loop."""

    def __init__(self, stations: list[StationSource], publish: Publish) -> None:
        self.stations, self.publish = stations, publish
        self.missed: dict[str, int] = {}  # station -> cycles made but not read
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="curvehouse-opcua", daemon=True)
        self._ready = threading.Event()

    def start(self) -> Connector:
        self._thread.start()
        self._ready.wait(10)
        return self

    def _run(self) -> None:
        run_loop(self._loop, self._main())

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        self._ready.set()
        await asyncio.gather(
            *(follow_station(s, self.publish, self._stop, self._missed) for s in self.stations)
        )

    def _missed(self, source: StationSource, cycles: int) -> None:
        self.missed[source.station] = self.missed.get(source.station, 0) + cycles

    def stop(self, timeout: float = 10.0) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
