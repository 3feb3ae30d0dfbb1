"""Curvehouse's own MQTT broker: Debian's mosquitto, run with a config Curvehouse writes.

Used when no plant broker is set (``CURVEHOUSE_MQTT_URL``), so a new user can publish with
``mosquitto_pub`` or a PLC gateway at once. Mosquitto, not a Python broker: it keeps a QoS 1
persistent session across a subscriber's SIGKILL and its own restart (amqtt 0.12 lost those
messages, see the design note of issue 18).

Everything lives under ``$CURVEHOUSE_HOME/broker`` (0600 files): ``mosquitto.conf``, the
password file (mosquitto 2's ``$7$`` PBKDF2-SHA512 lines, written here so no
``mosquitto_passwd`` is needed), the ACL (each publisher may write its project's topic only;
the listener's service login may read them all), ``data/`` (the persisted sessions and queues),
``mosquitto.log`` and ``mosquitto.pid``. Logins change by rewriting the files and a SIGHUP.

A broker left running by a listener that was killed is adopted by the next start (same config,
same data), never doubled: two brokers on one data directory would each lose the other's
queue.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from models.credentials import PBKDF2_ITERATIONS, mosquitto_hash
from models.ingest_tokens import LOGIN_PREFIX as TOKEN_LOGIN_PREFIX

# The listener's own login on the embedded broker.
SERVICE_USER = "curvehouse-listener"
INSTALL_HINT = "Install Mosquitto (apt install mosquitto) or set CURVEHOUSE_MQTT_URL"
# Debian puts the daemon in /usr/sbin, off a non-root account's PATH.
_CANDIDATES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


class BrokerMissingError(RuntimeError):
    """mosquitto is not installed."""


class BrokerError(RuntimeError):
    """mosquitto would not start or stop; the message quotes its log."""


@dataclass(frozen=True)
class Publisher:
    """A broker login that may publish the curves of one project: with its ``secret``, or
    (an ingest token, whose secret is not kept) with its password-file ``hashed`` secret."""

    username: str
    secret: str
    project: str
    hashed: str = ""

    def password_line(self) -> str:
        return (
            f"{self.username}:{self.hashed}"
            if self.hashed
            else password_line(self.username, self.secret)
        )


def find_mosquitto() -> str:
    """The mosquitto executable, or :class:`BrokerMissingError` saying how to get it."""
    found = shutil.which("mosquitto") or next(
        (p for p in _CANDIDATES if os.access(p, os.X_OK)), None
    )
    if found is None:
        raise BrokerMissingError(f"mosquitto is not installed. {INSTALL_HINT}.")
    return found


def password_line(username: str, secret: str, *, iterations: int = PBKDF2_ITERATIONS) -> str:
    """One mosquitto 2 password-file line: ``user:$7$<iterations>$<salt>$<PBKDF2-SHA512>``."""
    return f"{username}:{mosquitto_hash(secret, iterations=iterations)}"


def topic_of(prefix: str, project: str) -> str:
    """Where the curves of ``project`` are published."""
    return f"{prefix}/{project}/curves"


def _check_login(username: str, project: str | None = None) -> None:
    # A colon ends a password-file name; a newline or a wildcard would change the ACL's meaning.
    bad = [c for c in username if c in ":\n\r" or c.isspace()]
    if not username or bad:
        raise ValueError(f"broker login {username!r} may hold no spaces or colons")
    if project is not None and (not project or any(c in project for c in "/+#\n\r")):
        raise ValueError(f"project {project!r} cannot be an MQTT topic level")


def render_acl(prefix: str, publishers: Iterable[Publisher]) -> str:
    """The ACL: the listener reads every project's topic, each publisher writes its own."""
    lines = [f"user {SERVICE_USER}", f"topic read {topic_of(prefix, '+')}", ""]
    for p in publishers:
        _check_login(p.username, p.project)
        lines += [f"user {p.username}", f"topic write {topic_of(prefix, p.project)}", ""]
    return "\n".join(lines)


def render_config(
    directory: Path, port: int, *, queue_mb: int = 2048, refusals: bool = False
) -> str:
    """mosquitto.conf: localhost only, logins required, persistent, no in-flight or queue cap
    (the listener acks a whole micro-batch after its commit, and a busy engine must not make
    the broker drop a queued QoS 1 message). ``refusals``: log at debug level too, where
    mosquitto says which publish it refused (for :mod:`pipelines.live.refusals`, which reads
    and empties the log; a broker nobody watches so keeps its log small)."""
    debug = ["log_type debug"] if refusals else []
    return "\n".join(
        [
            f"listener {port} 127.0.0.1",
            "allow_anonymous false",
            f"password_file {directory / 'passwd'}",
            f"acl_file {directory / 'acl'}",
            "persistence true",
            f"persistence_location {directory / 'data'}/",
            "autosave_interval 1",
            "max_inflight_messages 0",
            "max_queued_messages 0",
            f"max_queued_bytes {queue_mb << 20}",
            # Started as root, mosquitto would become `mosquitto` and could not save its data.
            f"user {getpass.getuser()}",
            f"log_dest file {directory / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            *debug,
            "connection_messages true",
            "",
        ]
    )


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` at once (a reload never reads half a file), readable by us only."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _port_free(port: int) -> bool:
    """Whether mosquitto could listen on ``port``: a bind with SO_REUSEADDR as its own, so a
    port whose last connections wait in TIME_WAIT (a broker just restarted) stays ours."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(pid: int, port: int) -> bool:
    """Whether process ``pid`` itself listens on TCP ``port``. A connection test is not
    enough: another program may take the free port between our pick and mosquitto's bind,
    and then answers while mosquitto is still failing; MQTT clients would then wait in vain
    for a CONNACK from it."""
    sockets = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # LISTEN
                sockets.add(f"socket:[{fields[9]}]")
    if not sockets:
        return False
    try:
        with os.scandir(f"/proc/{pid}/fd") as fds:
            return any(_link(fd.path) in sockets for fd in fds)
    except OSError:  # gone, or not ours to read
        return False


def _link(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:  # the descriptor closed meanwhile
        return ""


def kept_publishers(directory: Path, wanted: Iterable[tuple[str, str]]) -> list[Publisher]:
    """Publishers for ``(username, project)`` pairs, each with the secret kept for it in
    ``directory/publishers.json`` (made, 0600, the first time a name is asked for)."""
    path = Path(directory) / "publishers.json"
    kept: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    out = []
    for username, project in wanted:
        _check_login(username, project)
        secret = kept.setdefault(username, secrets.token_urlsafe(18))
        out.append(Publisher(username, secret, project))
    Path(directory).mkdir(mode=0o700, parents=True, exist_ok=True)
    _write_private(path, json.dumps(kept, indent=1))
    return out


class EmbeddedBroker:
    """Start, reload and stop Curvehouse's mosquitto under ``home/broker``."""

    def __init__(
        self,
        home: Path,
        *,
        port: int = 1883,
        prefix: str = "curvehouse",
        publishers: Iterable[Publisher] = (),
        queue_mb: int = 2048,
        log_refusals: bool = False,
    ) -> None:
        """``log_refusals``: for a server that records what the broker refuses
        (:class:`pipelines.live.refusals.RefusalWatch`)."""
        self.log_refusals = log_refusals
        self.directory = Path(home).absolute() / "broker"
        self.wanted_port, self.prefix, self.queue_mb = port, prefix, queue_mb
        self.publishers = list(publishers)
        self._written: set[str] = set()  # the publishers this object wrote last
        self.port: int | None = None
        self.pid: int | None = None
        self._process: subprocess.Popen | None = None

    # -- files -------------------------------------------------------------------------------

    @property
    def config_path(self) -> Path:
        return self.directory / "mosquitto.conf"

    @property
    def log_path(self) -> Path:
        return self.directory / "mosquitto.log"

    @property
    def _pid_path(self) -> Path:
        return self.directory / "mosquitto.pid"

    def service_secret(self) -> str:
        """The listener's password, made once and kept in ``broker/listener.secret``."""
        path = self.directory / "listener.secret"
        if not path.exists():
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            _write_private(path, secrets.token_urlsafe(32))
        return path.read_text().strip()

    @property
    def url(self) -> str:
        """The listener's URL, with its login, once started."""
        if self.port is None:
            raise BrokerError("the broker is not started")
        return f"mqtt://{SERVICE_USER}:{self.service_secret()}@127.0.0.1:{self.port}"

    def _file_logins(self) -> dict[str, Publisher]:
        """The publishers the broker's files hold now (written by any process of this home),
        with their hashed secrets."""
        try:
            passwd = (self.directory / "passwd").read_text().splitlines()
            acl = (self.directory / "acl").read_text().splitlines()
        except OSError:
            return {}
        hashed = dict(line.split(":", 1) for line in passwd if ":" in line)
        head, tail = f"topic write {self.prefix}/", "/curves"
        found, user = {}, None
        for line in acl:
            if line.startswith("user "):
                user = line[5:]
            elif user in hashed and line.startswith(head) and line.endswith(tail):
                project = line[len(head) : -len(tail)]
                found[user] = Publisher(user, "", project, hashed=hashed[user])
        return found

    def _write_logins(self, *, tokens_known: bool = False) -> None:
        """Write the password file and the ACL: the listener's login, this object's publishers,
        and those another process of this home added (``curvehouse simulate`` beside
        ``serve``), so none of them drops another's. A login this object wrote before and no
        longer has is removed; with ``tokens_known`` so is any ingest token it was not given
        (the caller read them all from the metadata store)."""
        mine = {p.username: p for p in self.publishers}
        for p in mine.values():
            _check_login(p.username, p.project)
            if p.username == SERVICE_USER:
                raise ValueError(f"{SERVICE_USER!r} is the listener's own login")
        others = [
            p
            for user, p in self._file_logins().items()
            if user not in mine
            and user not in self._written
            and user != SERVICE_USER
            and not (tokens_known and user.startswith(TOKEN_LOGIN_PREFIX))
        ]
        everyone = [*mine.values(), *others]
        lines = [password_line(SERVICE_USER, self.service_secret())]
        lines += [p.password_line() for p in everyone]
        _write_private(self.directory / "passwd", "\n".join(lines) + "\n")
        _write_private(self.directory / "acl", render_acl(self.prefix, everyone))
        self._written = set(mine)

    # -- process -----------------------------------------------------------------------------

    def _running_pid(self) -> int | None:
        """The pid of a mosquitto already running on this config (left by a killed listener)."""
        try:
            pid = int(self._pid_path.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        if str(self.config_path).encode() in cmdline and cmdline[0].endswith(b"mosquitto"):
            return pid
        return None

    def _configured_port(self) -> int | None:
        try:
            first = self.config_path.read_text().splitlines()[0].split()
        except (OSError, IndexError):
            return None
        return int(first[1]) if first[:1] == ["listener"] else None

    def _config(self, port: int, refusals: bool = False) -> str:
        return render_config(
            self.directory, port, queue_mb=self.queue_mb, refusals=self.log_refusals or refusals
        )

    def start(self, *, timeout: float = 10.0) -> EmbeddedBroker:
        """Run mosquitto (or adopt the one this home already runs) and wait until it listens."""
        executable = find_mosquitto()
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        (self.directory / "data").mkdir(mode=0o700, exist_ok=True)
        self._write_logins()
        running = self._running_pid()
        if running is not None and (port := self._configured_port()) and _listening(running, port):
            self.pid, self.port = running, port
            # This version's config and the logins just written. Refusals stay logged when
            # they were: a server that watches them may run beside this one (simulate).
            try:
                logged = "log_type debug" in self.config_path.read_text()
            except OSError:
                logged = False
            _write_private(self.config_path, self._config(port, logged))
            os.kill(running, signal.SIGHUP)
            return self
        for _attempt in range(3):
            port = self.wanted_port
            if port == 0 or not _port_free(port):
                port = _free_port()
            _write_private(self.config_path, self._config(port))
            with (self.directory / "mosquitto.stderr").open("wb") as stderr:
                process = subprocess.Popen(
                    [executable, "-c", str(self.config_path)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    start_new_session=True,  # a terminal's Ctrl-C reaches us, not the broker
                )
            deadline = time.monotonic() + timeout
            while process.poll() is None and not _listening(process.pid, port):
                if time.monotonic() > deadline:
                    process.kill()
                    process.wait()
                    raise BrokerError(f"mosquitto did not listen on port {port}: {self._tail()}")
                time.sleep(0.02)
            if process.poll() is None:
                self._process, self.pid, self.port = process, process.pid, port
                _write_private(self._pid_path, str(process.pid))
                return self
            said = (self.directory / "mosquitto.stderr").read_text(errors="replace").strip()
            if "in use" not in (said + self._tail()):  # lost a race for the port: retry
                raise BrokerError(f"mosquitto stopped at start: {said or self._tail()}")
        raise BrokerError("mosquitto found no free port on 127.0.0.1")

    @property
    def owned(self) -> bool:
        """Started by this object (not adopted from another process of the same home)."""
        return self._process is not None

    def _tail(self, lines: int = 5) -> str:
        try:
            with self.log_path.open("rb") as f:
                f.seek(max(0, self.log_path.stat().st_size - (64 << 10)))
                end = f.read().decode(errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(end.splitlines()[-lines:])

    def reload(
        self, publishers: Iterable[Publisher] | None = None, *, tokens_known: bool = False
    ) -> None:
        """Apply new publisher logins at once: rewrite the files, SIGHUP. A removed login's open
        connection is dropped by the broker."""
        if publishers is not None:
            self.publishers = list(publishers)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._write_logins(tokens_known=tokens_known)
        if self.pid is not None:
            os.kill(self.pid, signal.SIGHUP)

    def stop(self, *, timeout: float = 10.0) -> None:
        """SIGTERM and wait, so the sessions and queues are saved; SIGKILL if it hangs."""
        pid, self.pid, self.port = self.pid, None, None
        if pid is None:
            return
        process, self._process = self._process, None
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        if process is not None:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        else:  # adopted: not our child, so poll until it is gone
            deadline = time.monotonic() + timeout
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            if Path(f"/proc/{pid}").exists():
                os.kill(pid, signal.SIGKILL)
        self._pid_path.unlink(missing_ok=True)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
