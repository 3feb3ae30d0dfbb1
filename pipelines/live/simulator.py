"""The demo plant running: each part's curves published over MQTT the moment the part is made,
as a line's gateway publishes them (``curvehouse simulate``, and ``curvehouse serve`` under
``make run``).

The parts are the demo generator's (:mod:`pipelines.synthetic`: its three processes, programs,
defects and the sensor drift that builds up over some shifts) on one timeline that starts at
:data:`EPOCH`, with as many parts per line as the rate asks. A curve is due at its ``ended_at``;
a restart picks up the timeline at the current time, and a curve published twice has the same
key and samples (the listener skips it), so nothing conflicts.
"""

from __future__ import annotations

import heapq
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import orjson
import pandas as pd

from pipelines.synthetic.generator import DemoSpec, demo_curve
from pipelines.synthetic.plant import LINES

if TYPE_CHECKING:
    from pipelines.live.client import Tls

log = logging.getLogger(__name__)

EPOCH = pd.Timestamp("2026-01-01", tz="UTC")  # the timeline's origin: a restart continues it
HORIZON_DAYS = 3650  # how far the timeline reaches
LOOKAHEAD_S = 90.0  # curves are made this far ahead (a part's last station ends ~60 s in)
_RATE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*/\s*(s|sec|second|min|minute|h|hour)\s*", re.I)
_PER = {"s": 1, "sec": 1, "second": 1, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
STATIONS = tuple(s for line in LINES for s in line)


def parse_rate(text: str) -> float:
    """Curves per second from ``5/s``, ``300/min`` or ``2/h``; ValueError in words otherwise."""
    found = _RATE.fullmatch(text)
    if found is None or float(found[1]) <= 0:
        raise ValueError(f"a rate looks like 5/s, 300/min or 2/h, not {text!r}")
    return float(found[1]) / _PER[found[2].lower()]


def pick_stations(names: list[str] | None) -> tuple[int, ...]:
    """Positions in :data:`STATIONS` of ``names`` (``ST010`` means that station of every
    line, ``LEJ-L1-ST010`` one station); all without names. ValueError names the known ones."""
    if not names:
        return tuple(range(len(STATIONS)))
    chosen = []
    for name in names:
        hits = [
            i
            for i, s in enumerate(STATIONS)
            if name in (s.station, f"{s.code}-{s.line}-{s.station}")
        ]
        if not hits:
            known = sorted({s.station for s in STATIONS} | {_full(s) for s in STATIONS})
            raise ValueError(f"no station {name!r}; the plant has {', '.join(known)}")
        chosen += hits
    return tuple(sorted(set(chosen)))


def _full(station) -> str:
    return f"{station.code}-{station.line}-{station.station}"


@dataclass(frozen=True)
class Due:
    """A curve ready to publish: when it is due (UTC ns), its key, and the message."""

    at_ns: int
    curve_key: str
    payload: bytes


class PlantSimulator:
    """The plant's curves of ``stations`` at ``rate`` curves per second in all, for
    ``project``; :meth:`due` hands out those whose time has come."""

    def __init__(self, *, rate: float, stations: tuple[int, ...], project: str, seed: int = 7):
        self.rate = rate
        self.stations = frozenset(stations)
        # The timeline runs every station; only the chosen ones are published, at ``rate``.
        plant_rate = rate * len(STATIONS) / len(self.stations)
        self.spec = DemoSpec(
            curves=max(3, int(plant_rate * HORIZON_DAYS * 86_400)),
            seed=seed,
            start=EPOCH,
            days=HORIZON_DAYS,
            project=project,
        )
        self.cycle_ns = int(3 * len(LINES) / plant_rate * 1e9)  # one part per line per cycle
        self._heap: list[tuple[int, int, str, bytes]] = []
        self._next: int | None = None
        self._from_ns = 0

    def start(self, now_ns: int) -> None:
        """Publish from ``now_ns`` on (what was due before is the past: not sent)."""
        # Parts that entered their line up to a lookahead ago are still at later stations.
        back = int(LOOKAHEAD_S * 1e9)
        k = max(0, (now_ns - back - EPOCH.value) // self.cycle_ns)
        self._next, self._from_ns, self._heap = k * len(LINES) * 3, now_ns, []

    def due(self, now_ns: int) -> list[Due]:
        """The curves due by ``now_ns``, in time order."""
        if self._next is None:
            self.start(now_ns)
        made_until = now_ns + int(LOOKAHEAD_S * 1e9)
        while self._next_start_ns() <= made_until:
            index = self._next
            self._next += 1
            if (index // 3) % len(LINES) * 3 + index % 3 not in self.stations:
                continue  # the station's place in STATIONS: its line's three, in order
            row, x, y = demo_curve(self.spec, index)
            if row["ended_at"] >= self._from_ns:
                entry = (row["ended_at"], index, row["curve_key"], _message(row, x, y))
                heapq.heappush(self._heap, entry)
        out = []
        while self._heap and self._heap[0][0] <= now_ns:
            at, _, key, payload = heapq.heappop(self._heap)
            out.append(Due(at, key, payload))
        return out

    def _next_start_ns(self) -> int:
        part = self._next // 3
        return EPOCH.value + (part // len(LINES)) * self.cycle_ns


def _message(row: dict, x: np.ndarray, y: np.ndarray) -> bytes:
    """The curve as the contract's JSON: CSV field names, values at the quantity's step."""
    body = {k: v for k, v in row.items() if k not in ("started_at", "ended_at", "x_step", "y_step")}
    for name in ("started_at", "ended_at"):
        body[name] = pd.Timestamp(row[name], tz="UTC").isoformat()
    body["x"] = np.round(x, _decimals(row["x_step"])).tolist()
    body["y"] = np.round(y, _decimals(row["y_step"])).tolist()
    return orjson.dumps(body)


def _decimals(step: float) -> int:
    return max(0, -int(np.floor(np.log10(step)))) if step > 0 else 6


def run(
    simulator: PlantSimulator,
    publish: Callable[[Due], None],
    stop: threading.Event,
    *,
    report: Callable[[int], None] | None = None,
    report_every: int = 100,
) -> int:
    """Publish what is due until ``stop``; returns how many were sent. It wakes every 50 ms at
    the rates of a line, less often when parts are rarer (at most once a second)."""
    sent = 0
    wake = min(1.0, max(0.05, 0.5 / simulator.rate))
    while not stop.is_set():
        for item in simulator.due(time.time_ns()):
            publish(item)
            sent += 1
            if report is not None and sent % report_every == 0:
                report(sent)
        stop.wait(wake)
    return sent


class MqttPublisher:
    """A gateway's side: one MQTT v5 connection publishing at QoS 1 (paho keeps up to 1,000
    messages in flight, resends them after a reconnect, and never blocks the caller)."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str,
        *,
        tls: Tls | None = None,
        name: str = "curvehouse-simulator",
    ) -> None:
        import paho.mqtt.client as mqtt

        from pipelines.live.client import MqttClient

        self.refused: str | None = None
        self.connected = threading.Event()
        self.client = MqttClient(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"{name}-{time.time_ns() % 10**9}",
            protocol=mqtt.MQTTv5,
        )
        self.client.username_pw_set(username, password)
        self.client.use_tls(tls)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.connect_async(host, port)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            self.refused = str(reason)
        self.connected.set()

    def publish(self, topic: str, payload: bytes) -> None:
        self._last = self.client.publish(topic, payload, qos=1)

    def close(self, timeout: float = 10.0) -> None:
        """Wait (up to ``timeout``) for the broker to take the last message, then go."""
        last = getattr(self, "_last", None)
        if last is not None and self.refused is None:
            last.wait_for_publish(timeout)
        self.client.disconnect()
        self.client.loop_stop()
