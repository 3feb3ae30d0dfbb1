"""Compile the numba kernels once, on two cores, into numba's on-disk cache.

A fresh install compiles each kernel the first time it runs: 23 s for the drawing kernels
alone on a 2-core machine, in the first visitor's wait, and 55 s for the rules'. The test
suite's parallel workers and servers each compiled the same kernels at once: a clean clone's
tests took 28:54, and 27:01 after this step's 67 s. ``make run``, ``make test`` and
``make bench`` call ``python -m pipelines.warm`` first; with a warm cache it takes about 4 s.

The inputs are the forms the app hands the kernels: float64 values; the store's integer codes
as the memory cache holds them (int16 or int32, writable) and as Arrow answers them (read-only
int32, which numba compiles apart).
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
import pandas as pd


def _forms(mixed: bool = True) -> list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    """(x, y, steps) for two short curves in each form the app passes; steps None for values.
    ``mixed``: with the memory cache's int16 x and int32 y, which only the drawing reads."""
    codes = np.array([0, 2, 4, 1, 3, 5], np.int32)
    steps = np.full((2, 2), 0.5)
    frozen_codes, frozen_steps = codes.copy(), steps.copy()
    frozen_codes.flags.writeable = frozen_steps.flags.writeable = False
    return [
        (codes.astype(np.float64) / 2, codes.astype(np.float64) / 2, None),
        (codes, codes, steps),
        (codes.astype(np.int16), codes.astype(np.int16), steps),
        *([(codes.astype(np.int16), codes, steps)] if mixed else []),
        (frozen_codes, frozen_codes, frozen_steps),
        (frozen_codes, frozen_codes, steps),
        (codes, codes, frozen_steps),
    ]


OFFSETS = np.array([0, 3, 6], np.int64)


def warm_drawing() -> None:
    """The density kernels of every view (the largest: parallel, many forms)."""
    from pipelines.density import curves_through, density_and_drawn

    view = dict(x_range=(0.0, 3.0), y_range=(0.0, 3.0), width=4, height=4)
    # Colours or none: the kernel gets a writable int32 copy either way (one form).
    categories = np.array([0, 1], np.int32)
    for x, y, steps in _forms():
        density_and_drawn(x, y, OFFSETS, steps=steps, categories=categories, n_categories=2, **view)
        curves_through(x, y, OFFSETS, box=(0, 3, 0, 3), steps=steps, **view)
    # The engine's drawing answers narrowed to int16 (pipelines.fetch._code_type), read-only.
    narrowed = np.array([0, 2, 4, 1, 3, 5], np.int16)
    narrowed.flags.writeable = False
    density_and_drawn(narrowed, narrowed, OFFSETS, steps=np.full((2, 2), 0.5), **view)
    # The memory cache's compact form: x as byte steps, y relative to each curve (int16, int32).
    steps = np.full((2, 2), 0.5)
    compact = dict(x_first=np.zeros(2, np.int64), y_base=np.zeros(2, np.int64), steps=steps)
    for y in (np.zeros(6, np.int16), np.zeros(6, np.int32)):
        x = np.ones(6, np.int8)
        density_and_drawn(x, y, OFFSETS, categories=categories, n_categories=2, **compact, **view)
        curves_through(x, y, OFFSETS, box=(0, 3, 0, 3), **compact, **view)


def warm_rules() -> None:
    """Rules of every kind over each form of curves."""
    from pipelines.rules.judge import judge_set
    from pipelines.rules.spec import rule_from_stored
    from pipelines.samples import CurveSet

    checks = [
        ("window", {"x0": 0.5, "x1": 1.5, "y0": 0.5, "y1": 1.5}),
        ("line", {"x0": 0.0, "y0": 2.0, "x1": 3.0, "y1": 2.0}),
        (
            "envelope",
            {"x_min": 0, "x_max": 2, "lower": [[0, -1], [2, -1]], "upper": [[0, 3], [2, 3]]},
        ),
        ("threshold", {"level": 1.0, "low": 0.0, "high": 2.0}),
        ("threshold", {"level": 1.0, "low": 0.0, "high": 2.0, "axis": "x"}),
        ("feature", {"feature": "peak_y", "low": 0.0, "high": 9.0}),
        ("feature", {"feature": "y_at_x", "low": 0.0, "high": 9.0, "a": 1.0}),
    ]
    rules = [
        rule_from_stored(name=f"warm {i}", project="p", process="q", kind=kind, params=params)
        for i, (kind, params) in enumerate(checks)
    ]
    meta = pd.DataFrame({"curve_id": np.array([1, 2], np.uint64)})
    for x, y, steps in _forms(mixed=False):
        coded = {} if steps is None else {"x_step": steps[0], "y_step": steps[1]}
        judge_set(CurveSet(meta, OFFSETS, x, y, **coded), rules)


def warm_features() -> None:
    """The fixed and configured curve features, as imports and rules compute them."""
    from pipelines.features import Configured, configured_rows
    from pipelines.kernels.features import curve_features

    configured = [
        Configured(1, "q", "y_at_x", 1.0),
        Configured(2, "q", "x_at_y", 1.0),
        Configured(3, "q", "slope", 0.0, 2.0),
    ]
    for x, y, steps in _forms(mixed=False):
        xs, ys = (steps[0], steps[1]) if steps is not None else (np.ones(2), np.ones(2))
        curve_features(x, y, OFFSETS, xs, ys)
        for feature in configured:
            feature.values(x, y, OFFSETS, xs, ys)
        configured_rows(
            configured,
            x,
            y,
            OFFSETS,
            xs,
            ys,
            project=["p", "p"],
            process=["q", "q"],
            ids=np.array([1, 2], np.uint64),
            dataset_id=["d", "d"],
            computed_at=pd.Timestamp("2026-01-01", tz="UTC"),
        )


def warm_reading() -> None:
    """The small kernels around importing, fetching, trimming and ranking curves."""
    from pipelines.kernels.bins import average_in_bins
    from pipelines.kernels.compact import from_deltas, middles, relative, to_deltas
    from pipelines.kernels.drift import cusum_episodes
    from pipelines.kernels.scale import scaled
    from pipelines.kernels.trim import gather, kept_deltas, kept_ranges
    from pipelines.levels import compute_levels
    from pipelines.quantize import choose_step

    for x, _, steps in _forms(mixed=False):
        if steps is None:
            continue
        scaled(x, steps[0], OFFSETS)
        starts, stops = kept_ranges(x, OFFSETS, steps[0], np.arange(2), 0.0, 2.0)
        if x.flags.writeable:
            gather(x, starts, stops, np.concatenate([[0], np.cumsum(stops - starts)]))
    # The memory cache's compact form (pipelines.hot), from Arrow's read-only answers.
    firsts, lasts = np.zeros(2, np.int64), np.zeros(2, np.int64)
    for dtype in (np.int16, np.int32):
        codes = np.arange(6, dtype=dtype)
        codes.flags.writeable = False
        to_deltas(codes, OFFSETS, np.empty(6, np.int8), firsts, lasts)
        bases, _ = middles(codes, OFFSETS)
        relative(codes, OFFSETS, bases, np.empty(6, np.int16))
        relative(codes, OFFSETS, bases, np.empty(6, np.int32))
    held = np.ones(6, np.int8)
    from_deltas(held, OFFSETS, firsts, np.empty(6, np.int64))
    starts, stops, _ = kept_deltas(held, OFFSETS, np.ones(2), firsts, lasts, np.arange(2), 0.0, 2.0)
    for values in (held, np.zeros(6, np.int16), np.zeros(6, np.int32)):
        gather(values, starts, stops, np.concatenate([[0], np.cumsum(stops - starts)]))
    # Each commit's per-curve levels (pipelines.stored_levels), on codes.
    codes = np.arange(6, dtype=np.int32)
    compute_levels(codes, codes.copy(), OFFSETS, [0, 1], steps=np.ones((2, 2)), runs=False)
    values = np.arange(6, dtype=np.float64)
    choose_step(values / 4)
    average_in_bins(values, values, OFFSETS, np.zeros(2), np.ones(2), 4)
    cusum_episodes(values, 0.5, 4.0)


# Longest first: two processes take them in this order.
GROUPS = {
    "drawing": warm_drawing,
    "rules": warm_rules,
    "features": warm_features,
    "reading": warm_reading,
}


def _run(name: str) -> tuple[str, float]:
    began = time.perf_counter()
    GROUPS[name]()
    return name, time.perf_counter() - began


def main() -> int:
    """Each group in a process of its own (numba compiles on one thread), two at a time."""
    began = time.perf_counter()
    print("Compiling the curve kernels (once per install; cached after)...", flush=True)
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        for name, seconds in pool.map(_run, GROUPS):
            print(f"  {name}: {seconds:.1f} s", flush=True)
    print(f"Kernels ready in {time.perf_counter() - began:.1f} s.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
