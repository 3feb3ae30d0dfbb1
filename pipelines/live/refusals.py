"""What Curvehouse's own broker refused, made dead letters: a publish to a project's topic by a
login that may not write there never reaches the listener, so it is read from the broker's log.

mosquitto 2 logs a refused publish only at debug level ("Denied PUBLISH from press3 (d0, q1,
r0, m1, 'curvehouse/b/curves', ... (7 bytes))"), naming the client id; its login comes from the
client's connect line ("New client connected from … as press3 (p2, c1, k60, u'ing-…')"). The
payload itself is not logged, so such a dead letter keeps the size only. A refused login names
no project (mosquitto logs "Sending CONNACK to 127.0.0.1 (0, 5)", no username): it is logged by
the server as a warning, not filed under a project.

The log is read from where the last look ended (``refusals.json`` beside it keeps the offset),
so a restart neither repeats nor skips a refusal; a refusal's dead letter is keyed by where its
line stands in the log, so one recorded just before a crash is not recorded again. Debug
logging (only on a broker started for a watching server: ``EmbeddedBroker(log_refusals=True)``)
writes four lines per message received, so the log is emptied once it passes
:data:`MAX_LOG_BYTES` right after it was read to its end (a line written in that instant is
lost: the one gap, stated in the README).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipelines.live.commit import DeadLetterNote, project_of
from pipelines.live.payload import NOT_ALLOWED, Refusal

log = logging.getLogger(__name__)

MAX_LOG_BYTES = 64 << 20
POLL_SECONDS = 2.0
MAX_CLIENTS = 10_000  # client ids whose login is remembered
READ_BYTES = 8 << 20  # read at most this much of the log per look (a backlog: in turns)

_CONNECTED = re.compile(r"^(\d+): New client connected from \S+ as (\S+) \(.*?u'([^']*)'\)")
_DENIED = re.compile(r"^(\d+): Denied PUBLISH from (\S+) \(.*?'(.*)', \.\.\. \((\d+) bytes\)\)$")
_WORDS = (b"New client connected", b"Denied PUBLISH", b"Sending CONNACK")
_LOGIN_REFUSED = re.compile(r"^\d+: Sending CONNACK to (\S+) \(\d+, (?:4|5|134|135)\)$")


@dataclass(frozen=True)
class RefusedPublish:
    """One publish the broker denied: who sent it, where to, how big, when."""

    client: str
    login: str
    topic: str
    size: int
    at: datetime
    key: str  # where its line stands in the log: one dead letter per line

    def note(self, prefix: str, project_id: Callable[[str], int | None]) -> DeadLetterNote:
        project = project_of(self.topic, prefix) or ""
        who = f"login {self.login!r}" if self.login else "a login"
        return DeadLetterNote(
            project=project,
            project_id=project_id(project) if project else None,
            topic=self.topic,
            refusal=Refusal(
                NOT_ALLOWED,
                f"The broker refused this message: {who} (client {self.client!r}) may not "
                f"publish to {self.topic!r}. Make an ingest token in project {project!r} for "
                "this gateway, or publish to its own project's topic. The broker does not "
                "keep the payload.",
            ),
            payload_head="",
            payload_bytes=self.size,
            payload_sha256=hashlib.sha256(self.key.encode()).hexdigest(),
            received_at=self.at,
        )


class BrokerLog:
    """Reads new lines of the broker's log since the last :meth:`commit`."""

    def __init__(self, path: Path, *, max_bytes: int = MAX_LOG_BYTES) -> None:
        self.path, self.max_bytes = path, max_bytes
        self.state_path = path.with_name("refusals.json")
        # client id -> login, from the connect lines; kept across restarts, since a gateway
        # stays connected far longer than a server runs
        self.clients: dict[str, str] = {}
        self.inode, self.offset, self.generation = 0, 0, 0
        try:
            state = json.loads(self.state_path.read_text())
            self.inode, self.offset = int(state["inode"]), int(state["offset"])
            self.generation = int(state["generation"])
            self.clients = {str(k): str(v) for k, v in state.get("clients", {}).items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
        self._read_to = self.offset
        self._saved = (self.inode, self.offset, self.generation)
        self._clients_changed = False

    def read(self) -> tuple[list[RefusedPublish], list[str]]:
        """The publishes denied and the logins refused (their addresses) in the lines written
        since the last commit; only whole lines."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return [], []
        if stat.st_ino != self.inode or stat.st_size < self.offset:  # a new or emptied log
            self.inode, self.offset = stat.st_ino, 0
            self.generation += 1
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read(READ_BYTES)
        end = data.rfind(b"\n") + 1
        denied, refused = [], []
        position = self.offset
        for raw in data[:end].splitlines(keepends=True):
            if not any(word in raw for word in _WORDS):  # most lines: a message passing
                position += len(raw)
                continue
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            if m := _CONNECTED.match(line):
                self.clients.pop(m.group(2), None)  # newest last, for the bound below
                self.clients[m.group(2)] = m.group(3)
                self._clients_changed = True
            elif m := _DENIED.match(line):
                client = m.group(2)
                denied.append(
                    RefusedPublish(
                        client=client,
                        login=self.clients.get(client, ""),
                        topic=m.group(3),
                        size=int(m.group(4)),
                        at=datetime.fromtimestamp(int(m.group(1)), UTC),
                        key=f"{self.inode}:{self.generation}:{position}:{line}",
                    )
                )
            elif m := _LOGIN_REFUSED.match(line):
                refused.append(m.group(1))
            position += len(raw)
        self._read_to = self.offset + end
        return denied, refused

    def commit(self) -> None:
        """What :meth:`read` gave is recorded: the next read starts after it. A log grown past
        ``max_bytes`` and read to its end is emptied now."""
        self.offset = self._read_to
        if self.offset >= self.max_bytes and self.offset >= self.path.stat().st_size:
            os.truncate(self.path, 0)
            self.offset = self._read_to = 0
            self.generation += 1
        if len(self.clients) > MAX_CLIENTS:  # the longest unseen go first
            self.clients = dict(list(self.clients.items())[-MAX_CLIENTS:])
        where = (self.inode, self.offset, self.generation)
        if where == self._saved and not self._clients_changed:
            return  # nothing new: the file stays as it is (a look every 2 s)
        self._saved, self._clients_changed = where, False
        state = {
            "inode": self.inode,
            "offset": self.offset,
            "generation": self.generation,
            "clients": self.clients,
        }
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.state_path)


class RefusalWatch:
    """The broker's new refusals at each :meth:`look`: denied publishes become dead letters
    (``record``), refused logins warnings in the server's log. The server looks every
    :data:`POLL_SECONDS` (``app.live``)."""

    def __init__(
        self,
        broker_log: BrokerLog,
        *,
        prefix: str,
        record: Callable[[list[DeadLetterNote]], None],
        project_id: Callable[[str], int | None],
    ) -> None:
        self.log, self.prefix, self.record, self.project_id = broker_log, prefix, record, project_id

    def look(self) -> int:
        """Record what the broker refused since the last look; how many dead letters."""
        denied, refused = self.log.read()
        for address in refused:
            log.warning("the MQTT broker refused a login from %s (wrong login or secret)", address)
        if denied:
            self.record([d.note(self.prefix, self.project_id) for d in denied])
        self.log.commit()
        return len(denied)
