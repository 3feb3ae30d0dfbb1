"""Unusual parts: made-up programs with a few odd parts, and the demo plant's defects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.curves import Curves
from pipelines.kernels.features import FEATURES
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from pipelines.unusual import unusual_parts, unusual_words


def programs() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for program, level in (("A", 100.0), ("B", 10.0)):
        for _ in range(50):
            row = {f: rng.normal(level, level / 100) for f in FEATURES}
            rows.append({"curve_id": len(rows), "program": program, **row})
    frame = pd.DataFrame(rows)
    frame.loc[7, "area"] = 130.0  # far out in A: 30 σ
    frame.loc[60, "peak_y"] = 9.0  # in B, low: 10 σ
    frame.loc[61, "duration"] = np.nan  # a missing feature is no evidence
    return frame


def test_the_odd_parts_rank_first_with_the_feature_that_makes_them_odd():
    ranked = unusual_parts(programs(), limit=5)
    assert ranked["curve_id"].tolist()[:2] == [7, 60]
    assert (ranked.loc[0, "feature"], ranked.loc[1, "feature"]) == ("area", "peak_y")
    assert 20 < ranked.loc[0, "z"] < 40  # 30 σ, as far as 50 parts' MAD can tell
    assert unusual_words(ranked.loc[0]).endswith("σ above its program's median")
    assert "below" in unusual_words(ranked.loc[1])
    assert 61 not in ranked["curve_id"].tolist()[:2]


def test_small_programs_are_not_judged_and_program_is_needed():
    few = programs().head(10)
    assert unusual_parts(few).empty
    with pytest.raises(ValueError, match="program"):
        unusual_parts(programs().drop(columns="program"))


@pytest.mark.integration
def test_the_demo_plants_defective_parts_are_among_the_most_unusual(store):
    store.write(generate_demo(DemoSpec(curves=3000)), DatasetSpec("demo", "demo", "d"))
    features = Curves(store.client, store.database).features(("program", "defect"))
    top = unusual_parts(features, limit=50)
    share = (top["defect"] != "").mean()
    base = (features["defect"] != "").mean()
    assert share > 4 * base, (share, base)  # defects are rare overall, common at the top
