"""Which hosts project owners may point a "server" cluster at: the operator's allow-list.

A server cluster makes Curvehouse itself connect to a URL someone typed, from inside the
plant's network. So the installation decides where that may go: ``CURVEHOUSE_SERVER_CLUSTER_HOSTS``
is a comma-separated list of patterns, and an empty list (the default) allows no server cluster.

Patterns:

- ``clickhouse.plant.local`` or ``clickhouse.plant.local:8443``: that name (any port, or that
  port);
- ``*.ch.plant.local[:port]``: any name below ``ch.plant.local`` (not the name itself);
- ``10.20.0.7[:port]``, ``10.20.0.0/16[:port]``, ``[fd00::7]:8123``, ``[fd00::/8]:8123``: an
  address or a range. A name given in a URL is then resolved, and every address it resolves to
  must be in the range; the connection goes to the address that was checked, so a name that
  resolves elsewhere a moment later (DNS rebinding) does not get past the check.

A name pattern trusts the plant's DNS for that name: the operator named it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_NAME = re.compile(rf"(\*\.)?{_LABEL}(\.{_LABEL})*")


class HostPatternError(ValueError):
    """A pattern that is neither a host name, ``*.domain``, an address nor a range."""


@dataclass(frozen=True)
class HostPattern:
    """One allowed host: a name (``below``: any name under it) or a network, and a port or
    None for any port."""

    name: str | None
    below: bool
    network: Network | None
    port: int | None

    @classmethod
    def parse(cls, text: str) -> HostPattern:
        text = text.strip().lower()
        host, port = _split_port(text)
        try:
            return cls(None, False, ipaddress.ip_network(host, strict=False), port)
        except ValueError:
            pass
        if not _NAME.fullmatch(host) or len(host) > 253:
            raise HostPatternError(
                f"{text!r} is not a host[:port], *.domain[:port], address or address range "
                "(e.g. clickhouse.plant.local:8443, *.ch.plant.local, 10.20.0.0/16)."
            )
        below = host.startswith("*.")
        return cls(host[2:] if below else host, below, None, port)

    def admits_name(self, host: str, port: int) -> bool:
        """Whether the name ``host`` at ``port`` matches a name pattern."""
        if self.name is None or (self.port is not None and self.port != port):
            return False
        host = host.lower().rstrip(".")
        return host.endswith("." + self.name) if self.below else host == self.name

    def admits_address(self, address: str, port: int) -> bool:
        if self.network is None or (self.port is not None and self.port != port):
            return False
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return ip.version == self.network.version and ip in self.network


def _split_port(text: str) -> tuple[str, int | None]:
    """``host:port`` -> (host, port); ``[v6]:port`` and a bare IPv6 address or range work too."""
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise HostPatternError(f"{text!r}: a bracketed address is [address]:port.")
        return host, _port(text, rest[1:]) if rest else None
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, _port(text, port)
    return text, None


def _port(text: str, port: str) -> int:
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise HostPatternError(f"{text!r}: {port!r} is not a port number.")
    return int(port)


def parse_host_patterns(text: str) -> tuple[str, ...]:
    """The comma-separated patterns of ``text``, each checked."""
    patterns = tuple(p.strip() for p in text.split(",") if p.strip())
    for pattern in patterns:
        HostPattern.parse(pattern)
    return patterns


def is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def admitted(patterns: Iterable[str], host: str, port: int, addresses: Iterable[str]) -> bool:
    """Whether a connection to ``host:port``, which resolved to ``addresses``, is allowed: a
    name pattern names the host, or an address pattern holds every address."""
    parsed = [HostPattern.parse(p) for p in patterns]
    addresses = list(addresses)
    if not is_address(host) and any(p.admits_name(host, port) for p in parsed):
        return True
    return bool(addresses) and all(
        any(p.admits_address(a, port) for p in parsed) for a in addresses
    )
