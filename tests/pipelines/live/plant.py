"""A plant's own mosquitto, as its people would run it: Debian's defaults, their logins and
ACL, persistence, and no cap on the offline queue (what the README asks of a plant broker).
Curvehouse neither starts nor configures it; tests and benchmarks stand it up beside."""

from __future__ import annotations

import datetime as dt
import getpass
import ipaddress
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pipelines.live.broker import find_mosquitto, password_line


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class TlsFiles:
    ca: Path  # the plant's own CA certificate (what CURVEHOUSE_MQTT_CA_FILE names)
    cert: Path  # the broker's, for 127.0.0.1 and localhost, signed by the CA
    key: Path


def plant_ca(directory: Path) -> TlsFiles:
    """A plant's own CA and a broker certificate it signed, as PEM files in ``directory``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)

    def made(subject: str, key, issuer: str, signer, *, ca: bool, names=()) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = made("Plant CA", ca_key, "Plant CA", ca_key, ca=True)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = made("broker.plant.local", key, "Plant CA", ca_key, ca=False, names=names)
    files = TlsFiles(directory / "ca.pem", directory / "broker.pem", directory / "broker.key")
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    files.key.chmod(0o600)
    return files


class PlantBroker:
    """mosquitto on a free port with ``logins`` (username → password) and the ACL text
    ``acl`` (mosquitto's acl_file: ``user NAME`` then ``topic read|write FILTER`` lines);
    with ``tls``, only over TLS with that certificate; on each of ``addresses``."""

    def __init__(
        self,
        directory: Path,
        logins: dict[str, str],
        acl: str,
        tls: TlsFiles | None = None,
        addresses: tuple[str, ...] = ("127.0.0.1",),
    ) -> None:
        directory.mkdir(parents=True)
        self.directory, self.logins, self.port = directory, logins, free_port()
        self.tls = tls
        passwd, acl_file, conf = (directory / n for n in ("passwd", "acl", "mosquitto.conf"))
        passwd.write_text("".join(f"{password_line(u, p)}\n" for u, p in logins.items()))
        acl_file.write_text(acl)
        for path in (passwd, acl_file):
            path.chmod(0o600)
        secure = (
            f"cafile {tls.ca}\ncertfile {tls.cert}\nkeyfile {tls.key}\n" if tls is not None else ""
        )
        listeners = "".join(f"listener {self.port} {a}\n{secure}" for a in addresses)
        conf.write_text(
            f"{listeners}allow_anonymous false\n"
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
        scheme = "mqtts" if self.tls else "mqtt"
        return f"{scheme}://{username}:{self.logins[username]}@127.0.0.1:{self.port}"

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
