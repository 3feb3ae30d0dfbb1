"""What a cluster node's users may do, in ClickHouse's own terms: grants, settings constraints
and paths, written as the ClickHouse configuration its chDB engine starts with.

A node's password is handed to engineers. Whoever holds it must reach the node's own
databases and nothing else: not the host's files, not the network, not the node process.
ClickHouse enforces most of that itself once the engine's user is not all-powerful:

- **Grants.** The engine's only user gets data and table privileges on its own engine and
  no ``SOURCES`` (``FILE``, ``URL``, ``REMOTE``, ``S3``, ``MYSQL``, ``POSTGRES``, ``HDFS``,
  ``JDBC``, ``ODBC``, ``SQLITE``, ...), so table functions and engines that read or write
  outside the engine (``file``, ``url``, ``remote``, ``s3``, the ``File`` and ``URL`` engines,
  ``filesystem``...) are refused with ``ACCESS_DENIED``; no ``CREATE DICTIONARY``, ``CREATE
  FUNCTION``, ``BACKUP``, ``SYSTEM``, ``INTROSPECTION`` or access management either.
- **Constraints.** Settings that name files (format schemas and templates, the error-record
  file, profiler output) are read-only, and the node's size (threads, memory per query) is a
  ceiling a request cannot raise.
- **Paths.** ``user_files_path`` and ``user_scripts_path`` are empty folders of the node's own,
  and no base directory for ad-hoc local disks is configured.

What chDB does not enforce (it is ``clickhouse-local`` underneath: the scalar ``file()``
function and ``INTO OUTFILE``/``FROM INFILE`` reach any path, statements can be chained with
``;``, ``python()`` reads the node process's objects) is refused before the engine sees it, by
:mod:`providers.clusters.node_gate`.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

CONFIG_FILE = "clickhouse.xml"
USERS_FILE = "users.xml"

# Everything a cluster's users need for curves, and nothing that leaves the engine.
GRANTS = (
    "SHOW, SELECT, INSERT, ALTER, CREATE DATABASE, CREATE TABLE, CREATE VIEW, "
    "CREATE TEMPORARY TABLE, DROP DATABASE, DROP TABLE, DROP VIEW, TRUNCATE, OPTIMIZE, "
    "KILL QUERY ON *.*"
)
# Settings whose values are paths on the node's machine: nobody may change them.
PATH_SETTINGS = (
    "format_schema",
    "format_schema_source",
    "output_format_schema",
    "format_template_resultset",
    "format_template_row",
    "input_format_record_errors_file_path",
    "allow_introspection_functions",
    "allow_experimental_eval_table_function",
    "jemalloc_enable_profiler",
    "s3_allow_server_credentials_in_user_queries",
)


def write_engine_config(data: Path, *, max_threads: int = 0, max_memory_usage: int = 0) -> Path:
    """Write the engine's configuration into the node's data directory and return the path
    of the main file (for chDB's ``config-file`` start argument)."""
    for folder in ("user_files", "user_scripts"):
        (data / folder).mkdir(mode=0o700, exist_ok=True)
    users = data / USERS_FILE
    _write(users, _users_xml(max_threads, max_memory_usage))
    config = data / CONFIG_FILE
    _write(
        config,
        "<clickhouse>\n"
        f"  <users_config>{escape(str(users))}</users_config>\n"
        f"  <user_files_path>{escape(str(data / 'user_files'))}/</user_files_path>\n"
        f"  <user_scripts_path>{escape(str(data / 'user_scripts'))}/</user_scripts_path>\n"
        # Nothing may be reached by host name from url()-like functions, should a grant slip.
        "  <remote_url_allow_hosts><host>localhost.invalid</host></remote_url_allow_hosts>\n"
        "</clickhouse>\n",
    )
    return config


def engine_path(data: Path) -> str:
    """chDB's connection string for a node: its engine folder, started under its config."""
    return f"{data / 'engine'}?config-file={data / CONFIG_FILE}"


def _users_xml(max_threads: int, max_memory_usage: int) -> str:
    # A floor of 1 as well: 0 means "unlimited" to ClickHouse, and so would `= DEFAULT`.
    limits, ceilings = [], []
    for name, value in (("max_threads", max_threads), ("max_memory_usage", max_memory_usage)):
        if value:
            limits.append(f"<{name}>{int(value)}</{name}>")
            ceilings.append(f"<{name}><min>1</min><max>{int(value)}</max></{name}>")
    frozen = [f"<{name}><readonly/></{name}>" for name in PATH_SETTINGS]
    return (
        "<clickhouse>\n"
        "  <profiles><default>\n"
        f"    {''.join(limits)}\n"
        f"    <constraints>{''.join(ceilings + frozen)}</constraints>\n"
        "  </default></profiles>\n"
        "  <users><default>\n"
        "    <password></password>\n"
        "    <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>\n"
        "    <profile>default</profile><quota>default</quota>\n"
        f"    <grants><query>GRANT {GRANTS}</query></grants>\n"
        "  </default></users>\n"
        "  <quotas><default/></quotas>\n"
        "</clickhouse>\n"
    )


def _write(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)
