"""How a CSV file writes its values: ``,`` or ``;`` between them, ``.`` or ``,`` as decimal mark.

Excel saves CSV with the list separator of its locale: ``,`` with decimal points in English,
``;`` with decimal commas in German or French (and ``;`` with points where a plant set it so).
The separator is read from the header line (or given); in a ``;`` file the decimal mark is
given or decided by the first x/y value that holds a mark, and a later value with the other
mark is refused rather than guessed (``1.234`` is 1234 to German eyes, 1.234 to English ones).
A ``,`` file cannot hold decimal commas: ``1,5`` there is two values, so it is refused, never
read as 1.5 or as 1 and 5.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.ingest.errors import IngestError

DELIMITERS = (",", ";")
DECIMALS = (".", ",")
NUMBER = r"[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|nan|NaN|inf|Inf|-?infinity)"
# A number written with a decimal comma (what a ',' file cannot hold).
DECIMAL_COMMA = r"^\s*[+-]?\d*,\d+([eE][+-]?\d+)?\s*$"
COMMA_FILE_HINT = (
    "a comma-separated file cannot hold decimal commas (1,5 would be two values); save it "
    "with ';' between values (Excel does so where the decimal mark is a comma), or write "
    "decimal points"
)


@dataclass(frozen=True)
class Dialect:
    """A file's separator and decimal mark. ``None`` means "read it from the file": the
    separator from the header line, the decimal mark from the first x/y value with one."""

    delimiter: str | None = None
    decimal: str | None = None

    def __post_init__(self) -> None:
        if self.delimiter not in (None, *DELIMITERS):
            raise ValueError(f"the separator is ',' or ';', not {self.delimiter!r}")
        if self.decimal not in (None, *DECIMALS):
            raise ValueError(f"the decimal mark is '.' or ',', not {self.decimal!r}")


def first_line(path: Path, encoding: str) -> str:
    """Line 1 without its end and a byte-order mark (the file was checked by ``check_text``)."""
    with path.open(encoding=encoding, newline="") as handle:
        line = handle.readline()
    return line.lstrip("\ufeff").rstrip("\r\n")


def resolve(path: Path, header: str, given: Dialect, looks_right) -> Dialect:
    """The file's dialect: what was given, the rest read from the ``header`` line.
    ``looks_right(names)`` says whether a header split one way names columns an import knows;
    it decides only when the line holds both ``;`` and ``,``."""
    delimiter = given.delimiter
    if delimiter is None:
        semi, comma = ";" in header, "," in header
        if semi and comma:
            fits = [d for d in DELIMITERS if looks_right([n.strip() for n in header.split(d)])]
            if len(fits) != 1:
                raise IngestError(
                    path,
                    "the header holds both ';' and ',', so which one separates the columns "
                    "cannot be told; give the separator (for example --delimiter ';')",
                    row=0,
                    csv=True,
                )
            delimiter = fits[0]
        else:
            delimiter = ";" if semi else ","
    if delimiter == ",":
        if given.decimal == ",":
            raise IngestError(path, COMMA_FILE_HINT, row=0, csv=True)
        return Dialect(",", ".")
    return Dialect(";", given.decimal)


class NumberReader:
    """Turns the text of x/y values into float64, holding the file's decimal mark once one
    value decided it. Empty values become nulls (reported by the assembler with their line)."""

    def __init__(self, path: Path, dialect: Dialect) -> None:
        self.path = path
        self.delimiter = dialect.delimiter
        self.decimal = dialect.decimal
        self.decided: str = "as given" if dialect.decimal else ""

    def read(self, values: pa.Array, first_row: int, column: str) -> pa.Array:
        """``values`` (text of data rows ``first_row``...) as numbers, or an error naming the
        line and column of the first one that is not a number in this file's writing."""
        text = pc.utf8_trim_whitespace(values)
        empty = pc.equal(text, "")
        if self.decimal is None:
            marks = pc.match_substring_regex(text, r"[.,]")
            if pc.any(marks).as_py():
                i = pc.index(marks, True).as_py()
                self.decimal = "," if "," in text[i].as_py() else "."
                self.decided = f"as at line {first_row + i + 1}, column {column!r}"
        decimal = self.decimal or "."
        other = "." if decimal == "," else ","
        wrong = pc.match_substring(text, other)
        if pc.any(wrong).as_py():
            i = pc.index(wrong, True).as_py()
            raise IngestError(
                self.path,
                self._mixed(text[i].as_py(), other, decimal),
                row=first_row + i,
                column=column,
                csv=True,
            )
        if decimal == ",":
            text = pc.replace_substring(text, ",", ".")
        ok = pc.or_(pc.match_substring_regex(text, f"^{NUMBER}$"), empty)
        if not pc.all(ok).as_py():
            i = pc.index(ok, False).as_py()
            raise IngestError(
                self.path,
                f"{values[i].as_py().strip()!r} is not a number",
                row=first_row + i,
                column=column,
                csv=True,
            )
        return pc.cast(pc.if_else(empty, pa.scalar(None, pa.string()), text), pa.float64())

    def _mixed(self, value: str, mark: str, decimal: str) -> str:
        if self.delimiter == ",":
            return f"{value!r} is written with a decimal comma: {COMMA_FILE_HINT}"
        return (
            f"{value!r} holds a '{mark}', but this file writes decimals with '{decimal}' "
            f"({self.decided}); numbers with thousands separators cannot be read, write them "
            "without"
        )
