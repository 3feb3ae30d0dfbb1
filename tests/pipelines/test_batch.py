import numpy as np
import pandas as pd
import pytest

from pipelines.batch import TEXT_COLUMNS, CurveBatch, curve_ids, fingerprints


def make_batch(keys=("a", "b", "c"), counts=(3, 2, 4)):
    n = len(keys)
    meta = pd.DataFrame(
        {
            "curve_key": list(keys),
            **{c: [""] * n for c in TEXT_COLUMNS},
            "started_at": pd.Timestamp("2026-01-01", tz="UTC"),
            "ended_at": pd.Timestamp("2026-01-01", tz="UTC"),
            "result": "OK",
            "x_step": 0.5,
            "y_step": 0.25,
        }
    )
    offsets = np.concatenate([[0], np.cumsum(counts)])
    total = int(offsets[-1])
    return CurveBatch(
        meta, offsets, np.arange(total, dtype=np.int32), np.arange(total, dtype=np.int32) * 2
    )


def test_take_keeps_samples_with_their_curves():
    batch = make_batch()
    kept = batch.take(np.array([True, False, True]))
    assert kept.meta["curve_key"].tolist() == ["a", "c"]
    assert kept.offsets.tolist() == [0, 3, 7]
    assert kept.x.tolist() == [0, 1, 2, 5, 6, 7, 8]
    assert kept.y.tolist() == [0, 2, 4, 10, 12, 14, 16]


def test_offsets_must_match_samples():
    batch = make_batch()
    with pytest.raises(ValueError, match="offsets"):
        CurveBatch(batch.meta, np.array([0, 3, 5, 99]), batch.x, batch.y)


def test_curve_ids_are_stable_and_scoped_by_project():
    assert curve_ids("p", ["a", "b"]).tolist() == curve_ids("p", ["a", "b"]).tolist()
    assert curve_ids("p", ["a"])[0] != curve_ids("q", ["a"])[0]
    assert curve_ids("p", ["a"])[0] != curve_ids("p", ["b"])[0]


def test_fingerprints_change_with_samples_and_steps():
    base = fingerprints(make_batch())
    changed = make_batch()
    changed.y[0] += 1
    assert fingerprints(changed)[0] != base[0]
    assert fingerprints(changed)[1] == base[1]
    rescaled = make_batch()
    rescaled.meta.loc[2, "y_step"] = 0.5
    assert fingerprints(rescaled)[2] != base[2]
