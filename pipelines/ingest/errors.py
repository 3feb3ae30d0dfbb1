"""Import errors that point at the exact file, row and column."""

from __future__ import annotations

from pathlib import Path


class IngestError(ValueError):
    """Bad input. ``row`` is the 1-based data row; in a CSV the header is line 1, so row R is
    line R+1."""

    def __init__(
        self,
        path: str | Path,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        csv: bool = False,
    ) -> None:
        self.path = Path(path)
        self.row = row
        self.column = column
        self.reason = message
        where = [self.path.name]
        if row == 0 and csv:
            where.append("line 1 (header)")
        elif row is not None:
            where.append(f"line {row + 1} (data row {row})" if csv else f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}")
