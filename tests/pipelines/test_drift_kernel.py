"""The one-pass CUSUM episodes against the slow, obvious reference: the tabular CUSUM run again
from the part after each signal (what station_drifts did), on random series with and without
drifts, flat ones, and the short edge cases; also as plain Python."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.kernels.drift import cusum_episodes
from pipelines.spc import cusum
from tests.plain_python import passes_without_jit


def restarted(z: np.ndarray, k: float, h: float) -> list[tuple[int, int, int]]:
    found, start = [], 0
    while start < len(z) - 1:
        drift = cusum(z[start:], target=0.0, sigma=1.0, k=k, h=h)
        if not drift.drifting:
            break
        way = 1 if drift.direction == "up" else -1
        found.append((start + drift.since, start + drift.signal, way))
        start = start + drift.signal + 1
    return found


def series(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, 3000)
    drifting = noise + np.linspace(0, 4, 3000)
    steps = noise + np.where(np.arange(3000) % 700 < 350, 2.0, -2.0)
    return [
        np.clip(s, -2, 2)
        for s in (noise, drifting, steps, np.zeros(50), np.full(40, 3.0), rng.normal(0, 3, 200))
    ] + [np.array([]), np.array([9.0]), np.array([9.0, 9.0]), np.array([0.0, 9.0, 9.0])]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("k", "h"), [(0.5, 5.0), (0.25, 2.0)])
def test_one_pass_finds_the_episodes_of_the_restarted_cusum(seed, k, h):
    for z in series(seed):
        got = [tuple(r) for r in cusum_episodes(z, k, h).tolist()]
        assert got == restarted(z, k, h)


def test_episodes_as_plain_python():
    passes_without_jit(__file__, "restarted_cusum and 0.25", 3)
