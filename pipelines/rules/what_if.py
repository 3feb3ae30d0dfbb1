"""A rule tried on stored parts without storing anything (issue 19 §3, "what-if"): how many it
would pass and fail, and which, with their parts. The REST API's what-if and judge, and the
explorer's "try it" before a drawn rule is saved, read the same answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipelines.rules.judge import judge
from pipelines.rules.spec import Rule

if TYPE_CHECKING:
    from pipelines.curves import Curves

PART_COLUMNS = ("curve_id", "curve_key", "part_serial", "station", "program", "started_at")


@dataclass(frozen=True)
class WhatIf:
    judged: int
    passed: int
    codes: dict[str, int]  # failures by code
    failures: pd.DataFrame  # the first ones, lowest curve id first: PART_COLUMNS + verdict's

    @property
    def failed(self) -> int:
        return self.judged - self.passed


def what_if(curves: Curves, rule: Rule, limit: int = 50) -> WhatIf:
    """Judge ``curves`` (a filter's stored parts) with ``rule``: counts, and the first
    ``limit`` failures with their parts' metadata."""
    verdicts = judge(curves, [rule])
    failed = verdicts[~verdicts["passed"].to_numpy(bool)]
    shown = failed.head(limit)
    ids = [int(i) for i in shown["curve_id"]]
    parts = curves.metadata(None, columns=PART_COLUMNS, ids=ids) if ids else None
    columns = ["curve_id", "code", "reason", "x", "y"]
    failures = shown[columns].reset_index(drop=True)
    if parts is not None:
        meta = parts.astype({"curve_id": np.uint64}).drop_duplicates("curve_id")
        failures = failures.astype({"curve_id": np.uint64}).merge(meta, on="curve_id", how="left")
    codes = {str(k): int(v) for k, v in failed["code"].value_counts().sort_index().items()}
    return WhatIf(len(verdicts), int(verdicts["passed"].sum()), codes, failures)
