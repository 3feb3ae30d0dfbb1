"""The statement gate of a cluster node: what chDB would run that ClickHouse's grants do not
stop (see :mod:`providers.clusters.node_access`) is refused here, before the engine sees it.

chDB is ``clickhouse-local`` underneath, which trusts its caller: it runs ``;``-chained
statements one after another, and the scalar ``file()``, ``INTO OUTFILE`` and ``FROM INFILE``
reach any path. So a node never runs the text it was sent. It asks its engine to parse the
statement (``formatQuerySingleLine``, which refuses more than one statement) and runs the
canonical text that comes back, which it checks token by token first:

- functions: ``file``, ``disk`` (ad-hoc disks, some of which fetch URLs) and every table
  function not known to stay inside the engine (``python`` reads the node process's own
  objects; new table functions of a newer chDB are refused until listed);
- table and database engines outside a short list (no ``Executable``, ``Filesystem``,
  ``QueryRunner``, ``EmbeddedRocksDB`` paths...);
- ``INTO OUTFILE``, ``FROM INFILE``, ``ATTACH``, ``BACKUP``, ``RESTORE``, ``SYSTEM``.

Insert data never becomes SQL text: data sent in the body, or written inline after
``VALUES``/``FORMAT``, is staged in a file of the node's and read with ``FROM INFILE``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

# Table functions that read only the engine's own data or generate data.
SAFE_TABLE_FUNCTIONS = frozenset(
    name.lower()
    for name in (
        "numbers",
        "numbers_mt",
        "zeros",
        "zeros_mt",
        "primes",
        "generateRandom",
        "generateSeries",
        "generate_series",
        "values",
        "format",
        "input",
        "null",
        "view",
        "merge",
        "loop",
        "mergeTreeIndex",
        "mergeTreeProjection",
        "mergeTreeAnalyzeIndexes",
        "mergeTreeTextIndex",
        "mergeTreeCodecBlockCounts",
    )
)
# Scalar functions and setting values that reach outside the engine.
REFUSED_FUNCTIONS = frozenset({"file", "disk"})
# Engines that keep their data inside the node's data directory.
SAFE_ENGINES = frozenset(
    name.lower()
    for name in (
        "MergeTree",
        "ReplacingMergeTree",
        "SummingMergeTree",
        "AggregatingMergeTree",
        "CollapsingMergeTree",
        "VersionedCollapsingMergeTree",
        "CoalescingMergeTree",
        "Memory",
        "Log",
        "TinyLog",
        "StripeLog",
        "Null",
        "Set",
        "Join",
        "Buffer",
        "Merge",
        "View",
        "MaterializedView",
        "Atomic",
    )
)
REFUSED_STATEMENTS = frozenset({"ATTACH", "BACKUP", "RESTORE", "SYSTEM"})
# Values data may hold expressions, and ClickHouse evaluates them (``((SELECT file(...)))``
# as a value, also inside ``format(Values, '...')``). The node keeps this off and turns it on
# only for inline VALUES it has checked; nobody else may touch these settings.
VALUES_EXPRESSIONS = (
    "input_format_values_interpret_expressions",
    "input_format_values_deduce_templates_of_expressions",
)
# Token pairs refused anywhere in a statement (keywords are upper case in canonical text).
REFUSED_PAIRS = {("INTO", "OUTFILE"), ("FROM", "INFILE")}

TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<string>'(?:[^'\\]|\\.)*')
      | (?P<quoted>`(?:[^`\\]|\\.)*`|"(?:[^"\\]|\\.)*")
      | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
      | (?P<number>\d[\w.]*(?:[eE][+-]?\d+)?)
      | (?P<param>\{[^{}]*\})
      | (?P<other>.)""",
    re.VERBOSE | re.DOTALL,
)
# Raw (not canonical) SQL also has comments and heredoc strings; used only to find where
# inline insert data starts.
RAW_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<comment>--[^\n]*|\#[^\n]*|/\*.*?\*/)
      | (?P<heredoc>\$(?P<tag>[A-Za-z_0-9]*)\$.*?\$(?P=tag)\$)
      | (?P<string>'(?:[^'\\]|\\.|'')*')
      | (?P<quoted>`(?:[^`\\]|\\.|``)*`|"(?:[^"\\]|\\.|"")*")
      | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
      | (?P<number>\d[\w.]*)
      | (?P<param>\{[^{}]*\})
      | (?P<other>.)""",
    re.VERBOSE | re.DOTALL,
)


class Refused(Exception):
    """A statement the node will not run; the message says why, in ClickHouse's manner."""


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int
    end: int

    @property
    def name(self) -> str:
        """An identifier's name without its quotes."""
        if self.kind == "quoted":
            return self.text[1:-1].replace("\\", "")
        return self.text


def tokens(sql: str, pattern: re.Pattern[str] = TOKEN) -> list[Token]:
    found = []
    for match in pattern.finditer(sql):
        kind = match.lastgroup or "other"
        if kind in ("space", "comment"):
            continue
        if kind == "tag":  # the heredoc's inner group
            kind = "heredoc"
        found.append(Token(kind, match.group(), match.start(), match.end()))
    return found


@dataclass(frozen=True)
class Statement:
    """What the node runs: ``sql`` as the engine formatted it; for an insert with data,
    ``insert_format`` names the data's format and ``inline_data`` holds data written in the
    statement itself (body data arrives separately)."""

    sql: str
    insert_format: str | None = None
    inline_data: bytes | None = None
    values_expressions: bool = False  # checked inline VALUES: let the engine evaluate them

    def with_infile(self, path: str) -> str:
        """The insert as run: its data read from ``path`` (a file the node wrote)."""
        words = tokens(self.sql)
        cut = next(
            (t.start for t in words if t.kind == "word" and t.text in ("SETTINGS", "FORMAT")),
            len(self.sql),
        )
        literal = "'" + path.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return f"{self.sql[:cut].rstrip()} FROM INFILE {literal} {self.sql[cut:]}"


class StatementGate:
    """Parses with the engine (``canonical``: text -> canonical single-line text, raising on
    a syntax error or on several statements) and checks what it gets back."""

    def __init__(self, canonical: Callable[[str], str], table_functions: set[str]) -> None:
        self._canonical = canonical
        self._refused_functions = REFUSED_FUNCTIONS | {
            name.lower() for name in table_functions if name.lower() not in SAFE_TABLE_FUNCTIONS
        }

    def check(self, text: str, *, has_body: bool) -> Statement:
        sql = self._canonical(text).strip()
        words = tokens(sql)
        self._check_tokens(words)
        fmt = _insert_format(words)
        if fmt is None:
            if has_body:
                raise Refused(
                    "This node takes a request body as data only for "
                    "'INSERT INTO ... FORMAT <format>'."
                )
            return Statement(sql)
        data = self._split_inline(text, sql)
        if has_body:
            if data.strip():
                raise Refused("Send insert data either in the statement or in the body, not both.")
            return Statement(sql, fmt)
        if not data.strip():
            raise Refused("This INSERT has no data: send it in the body or after VALUES.")
        if fmt.lower() != "values":
            return Statement(sql, fmt, data.encode())
        # The rows are expressions: read them as the engine will and check them like SQL.
        try:
            rows = self._canonical(f"SELECT {data}")
        except Exception as exc:
            raise Refused(
                "These VALUES could not be read as literals or expressions; send the rows in "
                "the request body ('INSERT INTO t FORMAT Values' as the query)."
            ) from exc
        self._check_tokens(tokens(rows))
        return Statement(sql, fmt, data.encode(), values_expressions=True)

    def _check_tokens(self, words: list[Token]) -> None:
        if words and words[0].kind == "word" and words[0].text.upper() in REFUSED_STATEMENTS:
            raise Refused(f"{words[0].text.upper()} statements are not allowed on this node.")
        for word in words:
            if word.name.lower() in VALUES_EXPRESSIONS:
                raise Refused(f"The setting {word.name} is the node's to set.")
        for before, after in itertools.pairwise(words):
            if (before.text, after.text) in REFUSED_PAIRS:
                raise Refused(f"{before.text} {after.text} is not allowed on this node.")
            called = before.kind in ("word", "quoted") and after.text == "("
            if called and before.name.lower() in self._refused_functions:
                raise Refused(
                    f"The function {before.name}() reaches outside this node's databases "
                    "and is not allowed here."
                )
        for i, word in enumerate(words[:-2]):
            if word.text == "ENGINE" and words[i + 1].text == "=":
                engine = words[i + 2].name
                if engine.lower() not in SAFE_ENGINES:
                    raise Refused(
                        f"The {engine} engine is not allowed on this node; use MergeTree "
                        "(or Memory, Log, Null, Buffer, Merge)."
                    )

    def _split_inline(self, text: str, sql: str) -> str:
        """The data written after an insert's statement in its raw text (may be empty).

        The split is confirmed by the engine: the statement part alone must format to the
        same canonical text, so no data can hide a second statement."""
        depth, start = 0, len(text)
        raw = tokens(text, RAW_TOKEN)
        for i, word in enumerate(raw):
            if word.kind == "other" and word.text in "([":
                depth += 1
            elif word.kind == "other" and word.text in ")]":
                depth -= 1
            elif depth == 0 and word.kind == "word" and word.text.upper() == "VALUES":
                head, start = text[: word.start] + " FORMAT Values", word.end
                break
            elif (
                depth == 0
                and word.kind == "word"
                and word.text.upper() == "FORMAT"
                and i + 1 < len(raw)
            ):
                head, start = text[: raw[i + 1].end], raw[i + 1].end
                break
        else:
            head = text
        data = text[start:]
        if start < len(text):
            data = re.sub(r"^[ \t]*(\r?\n)?", "", data, count=1)
        try:
            same = self._canonical(head).strip() == sql
        except Exception:
            same = False
        if not same:
            raise Refused(
                "Could not tell this INSERT's statement from its inline data; send the data "
                "in the request body ('INSERT INTO t FORMAT <format>' as the query)."
            )
        return data


def _insert_format(words: list[Token]) -> str | None:
    """The data format of an insert that takes data (``INSERT INTO t ... FORMAT f``); None for
    every other statement, ``INSERT ... SELECT`` included."""
    if len(words) < 4 or words[0].text != "INSERT" or words[-2].text != "FORMAT":
        return None
    if any(w.kind == "word" and w.text in ("SELECT", "WITH") for w in words):
        return None
    return words[-1].name
