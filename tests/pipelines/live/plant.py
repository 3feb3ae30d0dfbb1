"""A plant's own mosquitto, as its people would run it: Debian's defaults, their logins and
ACL, persistence, and no cap on the offline queue (what the README asks of a plant broker).
Curvehouse neither starts nor configures it; tests and benchmarks stand it up beside."""

from __future__ import annotations

import getpass
import socket
import subprocess
import time
from pathlib import Path

from pipelines.live.broker import find_mosquitto, password_line


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PlantBroker:
    """mosquitto on a free port with ``logins`` (username → password) and the ACL text
    ``acl`` (mosquitto's acl_file: ``user NAME`` then ``topic read|write FILTER`` lines)."""

    def __init__(self, directory: Path, logins: dict[str, str], acl: str) -> None:
        directory.mkdir(parents=True)
        self.directory, self.logins, self.port = directory, logins, free_port()
        passwd, acl_file, conf = (directory / n for n in ("passwd", "acl", "mosquitto.conf"))
        passwd.write_text("".join(f"{password_line(u, p)}\n" for u, p in logins.items()))
        acl_file.write_text(acl)
        for path in (passwd, acl_file):
            path.chmod(0o600)
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous false\n"
            f"password_file {passwd}\nacl_file {acl_file}\n"
            f"persistence true\npersistence_location {directory}/\n"
            f"max_queued_messages 0\nuser {getpass.getuser()}\n"
            f"log_dest file {directory / 'mosquitto.log'}\n"
        )
        self.process = subprocess.Popen(
            [find_mosquitto(), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                assert self.process.poll() is None, "the plant's mosquitto stopped at start"
                assert time.monotonic() < deadline, "the plant's mosquitto did not listen"
                time.sleep(0.05)

    def url(self, username: str) -> str:
        """``mqtt://`` with ``username``'s login, as CURVEHOUSE_MQTT_URL takes it."""
        return f"mqtt://{username}:{self.logins[username]}@127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(20)


def map_feed(home: Path, project: str, topic: str, username: str, password: str) -> None:
    """A broker feed of ``project`` in the store under ``home``, as its owner maps one on the
    project's page (the login is the plant's; the page would try it on the broker first)."""
    from models.access import operator
    from models.broker_feeds import create_broker_feed
    from models.settings import Settings
    from models.store import open_metadata
    from models.tables import Project

    with open_metadata(Settings(home=home)) as store, store.sessions() as session:
        create_broker_feed(
            session=session,
            actor=operator(),
            project=session.query(Project).filter_by(name=project).one(),
            name=f"{project} line",
            topic=topic,
            username=username,
            password=password,
        )
        session.commit()
