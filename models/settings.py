"""One settings object for the whole product, read from ``CURVEHOUSE_*`` environment variables.

:meth:`Settings.from_env` is the one reader of the environment (pydantic-settings over a mapping,
``os.environ`` by default); ``Settings(...)`` built by hand reads nothing, so a test or a notebook
passes its own values down. The app reads them once per process and builds its services from
them (``app/services.py``). Each field's variable is ``CURVEHOUSE_`` plus its name in capitals;
the Cloud, OIDC and SMTP groups keep their flat names (``CURVEHOUSE_CLOUD_KEY_ID`` is
``cloud.key_id``). An empty variable counts as unset. Secrets are :class:`~pydantic.SecretStr`:
``repr`` never shows them, callers ask ``.get_secret_value()`` where they need the text.
"""

from __future__ import annotations

import base64
import binascii
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from models.host_patterns import HostPatternError, parse_host_patterns
from models.identifiers import InvalidIdentifierError, plain_name

PREFIX = "CURVEHOUSE_"
ENGINES = ("embedded", "server")
LOOPBACK = ("localhost", "127.0.0.1", "::1")
MIN_COOKIE_SECRET = 32
LEAST_HOT_CACHE_MB = 512


def machine_memory_mb() -> int | None:
    """This machine's memory, or a container's limit when lower; None when unknown."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
    try:  # cgroup v2: "max" or a byte count
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit.isdigit():
            total = min(total, int(limit))
    except OSError:
        pass
    return total // 2**20


def default_hot_cache_mb(memory_mb: int | None) -> int:
    """An eighth of the machine's memory, and at least 512 MB: on 24 GB that holds all of the
    100,000-curve demo (1.2 GB held; ``curvehouse serve`` then takes 2.2 GB before any
    session, see the README's 100k table)."""
    if memory_mb is None:
        return LEAST_HOT_CACHE_MB
    return max(LEAST_HOT_CACHE_MB, memory_mb // 8)


# The default memory for filters' samples held in the process (CURVEHOUSE_HOT_CACHE_MB).
HOT_CACHE_MB = default_hot_cache_mb(machine_memory_mb())


class SettingsError(ValueError):
    """A ``CURVEHOUSE_*`` variable holds a value the product cannot use."""


class CloudSettings(BaseModel):
    """ClickHouse Cloud API access for cloud clusters (``CURVEHOUSE_CLOUD_*``): all three
    credentials or none."""

    model_config = ConfigDict(frozen=True)

    organization_id: str | None = None
    key_id: str | None = None
    key_secret: SecretStr | None = None
    api_url: str = "https://api.clickhouse.cloud/v1"

    @property
    def configured(self) -> bool:
        return self.organization_id is not None

    @model_validator(mode="after")
    def _all_or_none(self) -> CloudSettings:
        given = (self.organization_id, self.key_id, self.key_secret)
        if any(given) and not all(given):
            raise SettingsError(
                f"ClickHouse Cloud needs all of {PREFIX}CLOUD_ORGANIZATION_ID, "
                f"{PREFIX}CLOUD_KEY_ID and {PREFIX}CLOUD_KEY_SECRET; some are missing."
            )
        return self


class OidcSettings(BaseModel):
    """Sign-in through the plant's identity provider (OIDC / OAuth2 authorization code) instead
    of passwords (``CURVEHOUSE_OIDC_*``): client id and secret, then the authorize, token and
    userinfo URLs; all or none."""

    model_config = ConfigDict(frozen=True)

    client_id: str | None = None
    client_secret: SecretStr | None = None
    authorize_url: str | None = None
    token_url: str | None = None
    user_url: str | None = None

    @property
    def configured(self) -> bool:
        return self.client_id is not None

    @model_validator(mode="after")
    def _all_or_none(self) -> OidcSettings:
        given = {name: getattr(self, name) for name in type(self).model_fields}
        if any(given.values()) and not all(given.values()):
            missing = ", ".join(f"{PREFIX}OIDC_{n.upper()}" for n, v in given.items() if not v)
            raise SettingsError(f"OIDC sign-in needs all of its settings; missing: {missing}.")
        return self


class SmtpSettings(BaseModel):
    """Outgoing mail for invitations (``CURVEHOUSE_SMTP_URL``); unset shows the link to the person
    who invited instead. The sender stays ``CURVEHOUSE_MAIL_FROM`` (:attr:`Settings.mail_from`)."""

    model_config = ConfigDict(frozen=True)

    # smtp[s]://user:password@host:port: a secret, it holds the password.
    url: SecretStr | None = None

    @property
    def configured(self) -> bool:
        return self.url is not None


# What a whole-number variable must be, by field: its least value (None: any) and the end of the
# message that refuses it.
_NUMBERS: dict[str, tuple[int | None, str]] = {
    "port": (None, "a port number."),
    "hot_cache_mb": (0, "a size in MB (0 turns it off)."),
    "upload_mb": (1, "a size in MB (a whole number, at least 1)."),
    "upload_seconds": (1, "a number of seconds (a whole number, at least 1)."),
    "import_workers": (1, "a number of threads (a whole number, at least 1)."),
    "imports_per_person": (1, "a number of imports (a whole number, at least 1)."),
    "endpoint_threads": (1, "a number of threads (a whole number, at least 1)."),
    "move_batch_mb": (1, "a size in MB (a whole number, at least 1)."),
    "mqtt_port": (0, "a port number."),
    "mqtt_batch_curves": (1, "a number of curves (a whole number, at least 1)."),
    "mqtt_max_message_kb": (1, "a size in KB (a whole number, at least 1)."),
    "mqtt_session_hours": (1, "a number of hours (a whole number, at least 1)."),
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=PREFIX,
        # CURVEHOUSE_CLOUD_KEY_ID -> cloud.key_id: one split after the group's name, so the
        # fields' own underscores stay.
        env_nested_delimiter="_",
        env_nested_max_split=1,
        env_ignore_empty=True,
        frozen=True,
    )

    home: Path = Path("var")
    engine: str = "embedded"
    # May hold a password (http://user:password@host:8123/db): kept out of repr.
    clickhouse_url: str | None = Field(default=None, repr=False)
    # The server's ClickHouse cluster (remote_servers) when it is one node of several: the curve
    # schema is then created ON CLUSTER, replicated and sharded.
    clickhouse_cluster: str | None = None
    database: str = "curvehouse"
    address: str = "localhost"
    port: int = 5006
    # The metadata store (users, projects, clusters...), not ClickHouse; None means SQLite in home.
    database_url: str | None = Field(default=None, repr=False)
    cloud: CloudSettings = CloudSettings()
    # Memory for filters' samples held by the explorer, so zooms draw without the engine.
    hot_cache_mb: int = HOT_CACHE_MB
    # Signs login cookies. None: a random one kept in home, allowed only when serving locally.
    cookie_secret: SecretStr | None = None
    # The first owner account, made on the first start of an empty store. Without a password,
    # one is generated and printed once.
    owner_email: str = "owner@localhost"
    owner_password: SecretStr | None = None
    smtp: SmtpSettings = SmtpSettings()
    mail_from: str = "curvehouse@localhost"
    # The address people reach the app at, for links in invitation mails and OIDC redirects.
    public_url: str | None = None
    # The Chromium that prints shift reports to PDF (providers/pdf.py): Debian's by default.
    chromium: Path = Path("/usr/bin/chromium")
    oidc: OidcSettings = OidcSettings()
    # Seals cluster passwords in the metadata store (models/sealing.py): Fernet keys, the
    # sealing one first, or None for the key file (default $CURVEHOUSE_HOME/secret.key).
    secret_key: SecretStr | None = None
    secret_key_file: Path | None = None
    # Where project owners may register "server" clusters: host[:port] patterns, *.domain or
    # CIDR ranges (models/host_patterns.py). Empty: nowhere, server clusters are off.
    server_cluster_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    # Imports through the API: the largest upload (MB, 10^6 bytes), the threads that run
    # imports (apart from those answering requests), and imports one person may run at once.
    upload_mb: int = 100
    # How long one upload's body may take to arrive: a stalled client holds an import slot
    # no longer than this.
    upload_seconds: int = 600
    import_workers: int = 2
    imports_per_person: int = 2
    # Threads per query of other processes (CLI, notebooks) reaching the built-in engine through
    # a running server's endpoint (providers/engines/endpoint.py); their queries run one at a time.
    endpoint_threads: int = 1
    # How much of a project's curves a move copies per batch (its progress and lease are
    # committed after each), in MB of ClickHouse's Native format.
    move_batch_mb: int = 32
    # Live ingest over MQTT (pipelines/live). The plant's broker, mqtt[s]://user:password@host
    # (may hold a password: kept out of repr); None: Curvehouse runs its own mosquitto on
    # localhost, on mqtt_port or the next free port.
    mqtt_url: str | None = Field(default=None, repr=False)
    # The CA certificate (PEM) that signed an mqtts:// broker's, for a plant's own CA; None: the
    # system's CAs. The broker's host name is checked against its certificate either way.
    mqtt_ca_file: Path | None = None
    mqtt_port: int = 1883
    # Curves arrive on <prefix>/<project>/curves.
    mqtt_topic_prefix: str = "curvehouse"
    # A commit holds at most this many curves, or what arrived within this many seconds.
    mqtt_batch_curves: int = 500
    mqtt_batch_seconds: float = 1.0
    # The largest message; bigger ones are refused unread.
    mqtt_max_message_kb: int = 16384
    # How long the broker keeps the listener's queue while it is away.
    mqtt_session_hours: int = 168
    # Whether `curvehouse serve` runs live ingest beside the pages (0: only `curvehouse listen`).
    mqtt_listen: bool = True
    # Whether `curvehouse serve` runs the demo plant (curvehouse simulate) on its own broker, and
    # how fast: `make run` turns it on, so a new user sees a line producing parts.
    simulate: bool = False
    simulate_rate: str = "5/s"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only from_env reads the environment: Settings(...) by hand takes its arguments as given.
        return (init_settings,)

    @field_validator("engine")
    @classmethod
    def _known_engine(cls, engine: str) -> str:
        if engine not in ENGINES:
            raise SettingsError(
                f"{PREFIX}ENGINE={engine!r} is not an engine; use one of {', '.join(ENGINES)}."
            )
        return engine

    @field_validator("clickhouse_cluster")
    @classmethod
    def _plain_cluster_name(cls, cluster: str | None) -> str | None:
        if cluster:
            try:
                plain_name(cluster)
            except InvalidIdentifierError as exc:
                raise SettingsError(f"{PREFIX}CLICKHOUSE_CLUSTER: {exc}") from None
        return cluster

    @field_validator(*_NUMBERS, mode="before")
    @classmethod
    def _whole_number(cls, value: Any, info: ValidationInfo) -> int:
        least, meaning = _NUMBERS[info.field_name]
        text = str(value)
        try:
            number = int(text)
        except ValueError:
            number = None
        if number is None or (least is not None and number < least):
            raise SettingsError(f"{PREFIX}{info.field_name.upper()}={text!r} is not {meaning}")
        return number

    @field_validator("mqtt_batch_seconds")
    @classmethod
    def _batch_seconds(cls, seconds: float) -> float:
        if not 0 < seconds <= 60:
            raise SettingsError(
                f"{PREFIX}MQTT_BATCH_SECONDS={seconds!r} is not a number of seconds between 0 "
                "and 60 (e.g. 1 or 0.5)."
            )
        return seconds

    @field_validator("mqtt_topic_prefix")
    @classmethod
    def _topic_prefix(cls, prefix: str) -> str:
        if not prefix or any(c in prefix for c in "+#\x00") or prefix.strip("/") != prefix:
            raise SettingsError(
                f"{PREFIX}MQTT_TOPIC_PREFIX={prefix!r} is not a topic prefix: use topic levels "
                "without + or #, not starting or ending with /, e.g. curvehouse or "
                "plant1/curvehouse."
            )
        return prefix

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url(cls, url: str | None) -> str | None:
        if url and urlsplit(url).scheme not in ("mqtt", "mqtts"):
            # Not echoed: the value may hold a password.
            raise SettingsError(
                f"{PREFIX}MQTT_URL must start with mqtt:// or mqtts://, e.g. "
                "mqtt://curvehouse:password@broker.plant.local:1883"
            )
        return url

    @field_validator("mqtt_ca_file")
    @classmethod
    def _mqtt_ca_file(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise SettingsError(
                f"{PREFIX}MQTT_CA_FILE is {str(path)!r}, which is not a file: give the PEM "
                "certificate of the CA that signed the plant broker's certificate."
            )
        return path

    @field_validator("database_url")
    @classmethod
    def _database_url_has_scheme(cls, url: str | None) -> str | None:
        if url and "://" not in url:
            # Not echoed: the value may hold a password.
            raise SettingsError(
                f"{PREFIX}DATABASE_URL has no scheme://, so it is not a database URL; "
                "e.g. postgresql+psycopg://user:password@localhost/curvehouse"
            )
        return url

    @field_validator("secret_key")
    @classmethod
    def _fernet_keys(cls, keys: SecretStr | None) -> SecretStr | None:
        if keys is not None and not all(
            _is_fernet_key(k.strip()) for k in keys.get_secret_value().split(",")
        ):
            raise SettingsError(
                f"{PREFIX}SECRET_KEY must be a Fernet key (or several, separated by commas), e.g. "
                "from python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            )
        return keys

    @field_validator("server_cluster_hosts", mode="before")
    @classmethod
    def _host_patterns(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return parse_host_patterns(value)
        except HostPatternError as exc:
            raise SettingsError(f"{PREFIX}SERVER_CLUSTER_HOSTS: {exc}") from None

    @field_validator("cookie_secret")
    @classmethod
    def _long_cookie_secret(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and len(secret.get_secret_value()) < MIN_COOKIE_SECRET:
            raise SettingsError(
                f"{PREFIX}COOKIE_SECRET is too short to sign logins: use at least "
                f"{MIN_COOKIE_SECRET} random characters, e.g. from "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return secret

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.engine == "server" and not self.clickhouse_url:
            raise SettingsError(
                f"{PREFIX}ENGINE=server needs {PREFIX}CLICKHOUSE_URL, "
                "e.g. http://default:password@localhost:8123/curvehouse"
            )
        if self.clickhouse_cluster and self.engine != "server":
            raise SettingsError(
                f"{PREFIX}CLICKHOUSE_CLUSTER names a cluster of ClickHouse servers; it needs "
                f"{PREFIX}ENGINE=server (the embedded engine is one node)."
            )
        if self.oidc.configured and not self.public_url:
            raise SettingsError(
                f"OIDC sign-in needs {PREFIX}PUBLIC_URL (where browsers reach Curvehouse): the "
                "identity provider sends people back to <PUBLIC_URL>/login."
            )
        return self

    @property
    def local(self) -> bool:
        """Served only to this machine: then a generated cookie secret is acceptable."""
        return self.address in LOOPBACK

    @property
    def key_file(self) -> Path:
        """The file holding the key that seals cluster secrets, when no key is set itself."""
        return self.secret_key_file or self.home / "secret.key"

    @property
    def mqtt_ca_path(self) -> str | None:
        """``mqtt_ca_file`` as the MQTT client takes it (absolute), or None."""
        return str(self.mqtt_ca_file.absolute()) if self.mqtt_ca_file else None

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

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with ``changes``, validated like the original (strings become secrets)."""
        return type(self)(**{**dict(self), **changes})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings in ``environ`` (default ``os.environ``); a value the product cannot use
        raises :class:`SettingsError` naming its variable."""
        values = _Environment(cls, os.environ if environ is None else environ)()
        # Paths are taken relative to where the process starts, so a later chdir moves nothing.
        for name in ("home", "secret_key_file"):
            if name in values:
                values[name] = Path(values[name]).expanduser().absolute()
        values.setdefault("home", default_home())
        # A server URL's path names the database, unless CURVEHOUSE_DATABASE says otherwise.
        url = values.get("clickhouse_url")
        if url and values.get("engine") == "server" and "database" not in values:
            url_database = urlsplit(url).path.strip("/")
            if url_database:
                values["database"] = url_database
        try:
            return cls(**values)
        except ValidationError as exc:
            raise _explained(exc) from None


class _Environment(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping instead of ``os.environ``.

    Only variables spelled as documented (``CURVEHOUSE_`` and capitals) count: the source itself
    matches names in any case."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = {k: v for k, v in environ.items() if k.startswith(PREFIX) and k.isupper()}
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {
            k.lower(): v
            for k, v in self._environ.items()
            if not (self.env_ignore_empty and v == "")
        }


def _explained(exc: ValidationError) -> SettingsError:
    """The first problem as the SettingsError a validator raised, or one naming the variable."""
    first = exc.errors()[0]
    raised = first.get("ctx", {}).get("error")
    if isinstance(raised, SettingsError):
        return raised
    variable = PREFIX + "_".join(str(part) for part in first["loc"]).upper()
    return SettingsError(f"{variable}: {first['msg']}")


def default_home(start: Path | None = None) -> Path:
    """``var/`` of the Curvehouse checkout the process runs in (the nearest folder upwards whose
    ``pyproject.toml`` names the project ``curvehouse``), so a notebook started in ``notebooks/``
    opens the home ``make run`` uses; outside a checkout, ``./var``."""
    here = (start or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        try:
            with (folder / "pyproject.toml").open("rb") as handle:
                name = tomllib.load(handle).get("project", {}).get("name")
        except (OSError, tomllib.TOMLDecodeError):
            continue
        if name == "curvehouse":
            return folder / "var"
    return here / "var"


def reveal(secret: SecretStr | None) -> str | None:
    """A secret setting's text, for the one call that needs it (None stays None)."""
    return None if secret is None else secret.get_secret_value()


def _is_fernet_key(text: str) -> bool:
    """32 bytes in URL-safe base64, as ``Fernet.generate_key()`` makes them."""
    try:
        return len(base64.urlsafe_b64decode(text.encode())) == 32 and len(text) == 44
    except (ValueError, binascii.Error):
        return False
