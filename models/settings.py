"""One settings object for the whole product, read from ``CURVEHOUSE_*`` environment variables.

Every module asks :func:`get_settings` instead of reading the environment itself, so a test or a
notebook can build a :class:`Settings` by hand and pass it down.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from models.host_patterns import HostPatternError, parse_host_patterns
from models.identifiers import InvalidIdentifierError, plain_name

PREFIX = "CURVEHOUSE_"
ENGINES = ("embedded", "server")
LOOPBACK = ("localhost", "127.0.0.1", "::1")
MIN_COOKIE_SECRET = 32


class SettingsError(ValueError):
    """A ``CURVEHOUSE_*`` variable holds a value the product cannot use."""


@dataclass(frozen=True)
class Settings:
    home: Path = Path("var")
    engine: str = "embedded"
    clickhouse_url: str | None = None
    # The server's ClickHouse cluster (remote_servers) when it is one node of several: the curve
    # schema is then created ON CLUSTER, replicated and sharded.
    clickhouse_cluster: str | None = None
    database: str = "curvehouse"
    address: str = "localhost"
    port: int = 5006
    # The metadata store (users, projects, clusters...), not ClickHouse; None means SQLite in home.
    database_url: str | None = None
    # ClickHouse Cloud API access for cloud clusters: organisation id, key id, key secret.
    cloud_api: tuple[str, str, str] | None = field(default=None, repr=False)
    cloud_api_url: str = "https://api.clickhouse.cloud/v1"
    # Memory for filters' samples held by the explorer, so zooms draw without the engine.
    hot_cache_mb: int = 512
    # Signs login cookies. None: a random one kept in home, allowed only when serving locally.
    cookie_secret: str | None = field(default=None, repr=False)
    # The first owner account, made on the first start of an empty store. Without a password,
    # one is generated and printed once.
    owner_email: str = "owner@localhost"
    owner_password: str | None = field(default=None, repr=False)
    # Outgoing mail for invitations; None shows the link to the person who invited instead.
    smtp_url: str | None = field(default=None, repr=False)
    mail_from: str = "curvehouse@localhost"
    # The address people reach the app at, for links in invitation mails and OIDC redirects.
    public_url: str | None = None
    # Sign-in through the plant's identity provider (OIDC / OAuth2 authorization code) instead
    # of passwords: client id and secret, then the authorize, token and userinfo URLs.
    oidc: tuple[str, str, str, str, str] | None = field(default=None, repr=False)
    # Seals cluster passwords in the metadata store (models/sealing.py): Fernet keys, the
    # sealing one first, or None for the key file (default $CURVEHOUSE_HOME/secret.key).
    secret_key: str | None = field(default=None, repr=False)
    key_path: Path | None = None
    # Where project owners may register "server" clusters: host[:port] patterns, *.domain or
    # CIDR ranges (models/host_patterns.py). Empty: nowhere, server clusters are off.
    server_cluster_hosts: tuple[str, ...] = ()
    # Imports through the API: the largest upload (MB, 10^6 bytes), the threads that run
    # imports (apart from those answering requests), and imports one person may run at once.
    upload_mb: int = 100
    # How long one upload's body may take to arrive: a stalled client holds an import slot
    # no longer than this.
    upload_seconds: int = 600
    import_workers: int = 2
    imports_per_person: int = 2

    @property
    def local(self) -> bool:
        """Served only to this machine: then a generated cookie secret is acceptable."""
        return self.address in LOOPBACK

    @property
    def key_file(self) -> Path:
        """The file holding the key that seals cluster secrets, when no key is set itself."""
        return self.key_path or self.home / "secret.key"

    @property
    def chdb_path(self) -> Path:
        """Where the embedded engine keeps its data: always under ``home``."""
        return self.home / "chdb"

    @property
    def metadata_url(self) -> str:
        """The metadata store's SQLAlchemy URL: ``database_url``, else a SQLite file in ``home``.

        The path is made absolute so the store does not move when the working directory does.
        """
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home.absolute() / 'curvehouse.db'}"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str, default: str | None = None) -> str | None:
            value = env.get(PREFIX + name)
            return default if value is None or value == "" else value

        engine = get("ENGINE", "embedded")
        if engine not in ENGINES:
            raise SettingsError(
                f"{PREFIX}ENGINE={engine!r} is not an engine; use one of {', '.join(ENGINES)}."
            )
        url = get("CLICKHOUSE_URL")
        if engine == "server" and not url:
            raise SettingsError(
                f"{PREFIX}ENGINE=server needs {PREFIX}CLICKHOUSE_URL, "
                "e.g. http://default:password@localhost:8123/curvehouse"
            )
        cluster = get("CLICKHOUSE_CLUSTER")
        if cluster and engine != "server":
            raise SettingsError(
                f"{PREFIX}CLICKHOUSE_CLUSTER names a cluster of ClickHouse servers; it needs "
                f"{PREFIX}ENGINE=server (the embedded engine is one node)."
            )
        if cluster:
            try:
                plain_name(cluster)
            except InvalidIdentifierError as exc:
                raise SettingsError(f"{PREFIX}CLICKHOUSE_CLUSTER: {exc}") from None
        port_text = get("PORT", "5006")
        try:
            port = int(port_text)
        except ValueError:
            raise SettingsError(f"{PREFIX}PORT={port_text!r} is not a port number.") from None
        cache_text = get("HOT_CACHE_MB", str(cls.hot_cache_mb))
        try:
            hot_cache_mb = int(cache_text)
            if hot_cache_mb < 0:
                raise ValueError
        except ValueError:
            raise SettingsError(
                f"{PREFIX}HOT_CACHE_MB={cache_text!r} is not a size in MB (0 turns it off)."
            ) from None
        counts = {}
        for name, least, meaning in (
            ("UPLOAD_MB", 1, "a size in MB"),
            ("UPLOAD_SECONDS", 1, "a number of seconds"),
            ("IMPORT_WORKERS", 1, "a number of threads"),
            ("IMPORTS_PER_PERSON", 1, "a number of imports"),
        ):
            text = get(name, str(getattr(cls, name.lower())))
            try:
                counts[name.lower()] = int(text)
                if counts[name.lower()] < least:
                    raise ValueError
            except ValueError:
                raise SettingsError(
                    f"{PREFIX}{name}={text!r} is not {meaning} (a whole number, at least {least})."
                ) from None
        database_url = get("DATABASE_URL")
        if database_url and "://" not in database_url:
            # Not echoed: the value may hold a password.
            raise SettingsError(
                f"{PREFIX}DATABASE_URL has no scheme://, so it is not a database URL; "
                "e.g. postgresql+psycopg://user:password@localhost/curvehouse"
            )
        cloud = tuple(get(f"CLOUD_{n}") for n in ("ORGANIZATION_ID", "KEY_ID", "KEY_SECRET"))
        if any(cloud) and not all(cloud):
            raise SettingsError(
                f"ClickHouse Cloud needs all of {PREFIX}CLOUD_ORGANIZATION_ID, "
                f"{PREFIX}CLOUD_KEY_ID and {PREFIX}CLOUD_KEY_SECRET; some are missing."
            )
        oidc_names = ("CLIENT_ID", "CLIENT_SECRET", "AUTHORIZE_URL", "TOKEN_URL", "USER_URL")
        oidc = tuple(get(f"OIDC_{n}") for n in oidc_names)
        if any(oidc) and not all(oidc):
            missing = ", ".join(
                f"{PREFIX}OIDC_{n}" for n, v in zip(oidc_names, oidc, strict=True) if not v
            )
            raise SettingsError(f"OIDC sign-in needs all of its settings; missing: {missing}.")
        if all(oidc) and not get("PUBLIC_URL"):
            raise SettingsError(
                f"OIDC sign-in needs {PREFIX}PUBLIC_URL (where browsers reach Curvehouse): the "
                "identity provider sends people back to <PUBLIC_URL>/login."
            )
        secret_key = get("SECRET_KEY")
        if secret_key is not None and not all(
            _is_fernet_key(k.strip()) for k in secret_key.split(",")
        ):
            raise SettingsError(
                f"{PREFIX}SECRET_KEY must be a Fernet key (or several, separated by commas), e.g. "
                "from python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            )
        key_file = get("SECRET_KEY_FILE")
        try:
            server_hosts = parse_host_patterns(get("SERVER_CLUSTER_HOSTS", ""))
        except HostPatternError as exc:
            raise SettingsError(f"{PREFIX}SERVER_CLUSTER_HOSTS: {exc}") from None
        cookie_secret = get("COOKIE_SECRET")
        if cookie_secret is not None and len(cookie_secret) < MIN_COOKIE_SECRET:
            raise SettingsError(
                f"{PREFIX}COOKIE_SECRET is too short to sign logins: use at least "
                f"{MIN_COOKIE_SECRET} random characters, e.g. from "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        # A server URL's path names the database, unless CURVEHOUSE_DATABASE says otherwise.
        url_database = urlsplit(url).path.strip("/") if url and engine == "server" else ""
        return cls(
            home=Path(get("HOME", "var")).expanduser().absolute(),
            engine=engine,
            clickhouse_url=url,
            clickhouse_cluster=cluster,
            database=get("DATABASE", url_database or "curvehouse"),
            address=get("ADDRESS", "localhost"),
            port=port,
            database_url=database_url,
            cloud_api=cloud if all(cloud) else None,
            cloud_api_url=get("CLOUD_API_URL", cls.cloud_api_url),
            hot_cache_mb=hot_cache_mb,
            cookie_secret=cookie_secret,
            owner_email=get("OWNER_EMAIL", cls.owner_email),
            owner_password=get("OWNER_PASSWORD"),
            smtp_url=get("SMTP_URL"),
            mail_from=get("MAIL_FROM", cls.mail_from),
            public_url=get("PUBLIC_URL"),
            oidc=oidc if all(oidc) else None,
            secret_key=secret_key,
            key_path=Path(key_file).expanduser().absolute() if key_file else None,
            server_cluster_hosts=server_hosts,
            **counts,
        )


def _is_fernet_key(text: str) -> bool:
    """32 bytes in URL-safe base64, as ``Fernet.generate_key()`` makes them."""
    try:
        return len(base64.urlsafe_b64decode(text.encode())) == 32 and len(text) == 44
    except (ValueError, binascii.Error):
        return False


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings.from_env()
