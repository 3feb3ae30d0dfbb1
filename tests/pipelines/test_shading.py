"""Colour levels decided on the server, against a slow, obvious reference per pixel, and the
colour bar's ticks."""

import math

import numpy as np
import pytest

from pipelines import shading
from pipelines.shading import BAR, LEVELS, CountScale, count_ticks


def reference_levels(counts: np.ndarray, how: str) -> np.ndarray:
    """Each pixel on its own: its place between the smallest and largest drawn count (linear,
    log), or the share of drawn pixels above the smallest count that are at or below it
    (eq_hist); then one of 255 levels."""
    drawn = [int(c) for c in counts.ravel() if c > 0]
    out = np.zeros(counts.shape, dtype=np.uint8)
    if not drawn:
        return out
    lo, hi = min(drawn), max(drawn)
    at_lo = sum(1 for d in drawn if d == lo)
    for index, c in np.ndenumerate(counts):
        c = int(c)
        if c == 0:
            continue
        if how == "eq_hist":
            rest = len(drawn) - at_lo
            where = (sum(1 for d in drawn if d <= c) - at_lo) / rest if rest else 1.0
        elif hi == lo:
            where = 1.0
        elif how == "log":
            where = math.log(c / lo) / math.log(hi / lo)
        else:
            where = (c - lo) / (hi - lo)
        out[index] = 1 + min(int(where * LEVELS), LEVELS - 1)
    return out


def random_counts(seed: int, top: int, shape=(24, 40)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    counts = (rng.pareto(1.2, size=shape) * top / 20).astype(np.uint32)
    counts[rng.random(shape) < 0.4] = 0
    counts.flat[rng.integers(counts.size)] = top
    return counts


@pytest.mark.parametrize("how", shading.NORMS)
@pytest.mark.parametrize("seed, top", [(1, 3), (2, 40), (3, 5_000), (4, 2**20)])
def test_levels_match_the_reference(how, seed, top):
    counts = random_counts(seed, top)
    levels = CountScale.of(counts, how).levels(counts)
    expected = reference_levels(counts, how)
    if how == "log":  # numpy's log and the C library's may differ in the last bit
        assert np.abs(levels.astype(int) - expected).max() <= 1
        assert (levels == expected).mean() > 0.99
    else:
        np.testing.assert_array_equal(levels, expected)
    assert levels.dtype == np.uint8
    assert (levels == 0).sum() == (counts == 0).sum()
    assert levels.max() == LEVELS  # the largest count gets the last colour


def test_eq_hist_of_huge_counts_searches_instead_of_a_table(monkeypatch):
    counts = random_counts(5, 40)
    by_table = CountScale.of(counts, "eq_hist").levels(counts)
    monkeypatch.setattr(shading, "_TABLE_LIMIT", 0)
    by_search = CountScale.of(counts, "eq_hist").levels(counts)
    np.testing.assert_array_equal(by_search, by_table)
    np.testing.assert_array_equal(by_search, reference_levels(counts, "eq_hist"))


@pytest.mark.parametrize("how", shading.NORMS)
def test_empty_and_flat_images(how):
    empty = np.zeros((3, 4), dtype=np.uint32)
    assert not CountScale.of(empty, how).levels(empty).any()
    flat = empty.copy()
    flat[1, 1:3] = 7
    levels = CountScale.of(flat, how).levels(flat)
    assert levels[1, 1] == levels[1, 2] == LEVELS and levels.sum() == 2 * LEVELS


def test_an_unknown_normalisation_is_refused():
    with pytest.raises(ValueError, match="normalisation must be one of"):
        CountScale.of(np.ones((2, 2)), "sqrt")


@pytest.mark.parametrize("how", shading.NORMS)
def test_bar_ticks_sit_at_their_counts_levels(how):
    counts = random_counts(6, 900)
    scale = CountScale.of(counts, how)
    ticks = count_ticks(counts.max(), how, counts)
    placed = scale.bar_ticks(ticks)
    assert [label for _, label in placed] == [f"{t:,}" for t in ticks]
    places = [p for p, _ in placed]
    assert places == sorted(places) and BAR[0] <= places[0] and places[-1] == BAR[1]
    # Each tick lies within the colour level its count is drawn with.
    levels = scale.levels(np.asarray(ticks))
    for (place, _), level, t in zip(placed, levels, ticks, strict=True):
        if t >= scale.low:
            assert level - 0.5 <= place <= level + 0.5 + 1e-9


@pytest.mark.parametrize("norm", ["eq_hist", "linear", "log"])
@pytest.mark.parametrize("top", [1, 2, 3, 4, 7, 9, 10, 11, 37, 99, 600, 1234, 10_000])
def test_count_ticks_are_whole_distinct_and_label_the_top(top, norm):
    ticks = count_ticks(top, norm)
    assert all(isinstance(t, int) for t in ticks)
    assert ticks == sorted(set(ticks))  # no repeats ("3,2,2,2,2,2,1,1,1,1")
    assert ticks[0] == 1 and ticks[-1] == top  # the top is labelled
    assert len(ticks) <= shading.MAX_COUNT_TICKS + 1


def test_count_ticks_on_small_counts_are_every_count():
    assert count_ticks(3) == [1, 2, 3]
    assert count_ticks(1) == [1]
    assert count_ticks(float("nan")) == [1]
    assert count_ticks(60, "log") == [1, 2, 5, 10, 20, 60]
    assert count_ticks(600, "log") == [1, 10, 100, 600]
    assert count_ticks(1234) == [1, 200, 400, 600, 800, 1000, 1234]
    assert count_ticks(10_000, "log") == [1, 10, 100, 1000, 10_000]


def test_eq_hist_ticks_are_the_counts_quantiles():
    counts = np.array([[0, 1, 1, 1, 1, 2, 2, 3, 5, 40]])
    ticks = count_ticks(40, "eq_hist", counts)
    assert ticks == sorted(set(ticks)) and ticks[0] == 1 and ticks[-1] == 40
    assert set(ticks) <= {1, 2, 3, 5, 40}  # counts that occur, evenly spaced by eq_hist
    assert count_ticks(40, "linear", counts) == count_ticks(40)
