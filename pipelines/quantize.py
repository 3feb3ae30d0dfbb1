"""Sensor-resolution storage: floats become integer codes on a per-curve grid.

``value = code * step``. Real measurement chains deliver ADC counts or fixed-decimal exports,
and integer codes compress about 2x better than ``Float32`` in ClickHouse (see the README's
storage notes). :func:`choose_step` prefers the coarsest decimal grid that holds every value
exactly (``12.345`` → 0.001, epoch seconds → 1); only data on no decimal grid that fits Int32
is kept to within ``2**-24`` of the column's largest magnitude, the resolution ``float32`` gives.
"""

from __future__ import annotations

import math

import numpy as np

from pipelines.kernels.grid import first_fitting_step

INT32_LIMIT = 2**31 - 1
# Relative tolerance for values that lie on no decimal grid: float32's resolution.
RELATIVE_TOLERANCE = 2.0**-24
# "Exact": equal to the decimal value up to float64 rounding of code * step.
EXACT_TOLERANCE = 2.0**-50


def _decimal_steps(magnitude: float):
    """Decimal steps from coarse to the finest whose codes still fit Int32."""
    top = math.floor(math.log10(magnitude))
    for exponent in range(top, top - 20, -1):
        step = 10.0**exponent
        if step == 0.0 or magnitude / step > INT32_LIMIT:
            return
        yield step


def choose_step(values: np.ndarray) -> float:
    """The grid for ``values``: exact decimal if one fits, else float32-precise.

    The first decimal step, coarse to fine, whose rounding error is within the tolerance for
    every value, first exact, then float32's. The search is a kernel that stops at a step's
    first miss (:func:`pipelines.kernels.grid.first_fitting_step`); done in NumPy, reading the
    whole column for every step, it was a sixth of live ingest's time.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return 1.0
    magnitude = float(np.max(np.abs(values)))
    if magnitude == 0.0:
        return 1.0
    steps = np.array(list(_decimal_steps(magnitude)), dtype=np.float64)
    for tolerance in (magnitude * EXACT_TOLERANCE, magnitude * RELATIVE_TOLERANCE):
        k = first_fitting_step(values, steps, tolerance)
        if k >= 0:
            return float(steps[k])
    # No decimal grid: the finest power of two that keeps codes inside Int32.
    return math.ldexp(1.0, max(-1074, math.ceil(math.log2(magnitude) - math.log2(INT32_LIMIT))))


def to_codes(values: np.ndarray, step: float) -> np.ndarray:
    """Integer codes for ``values`` on the grid ``step`` (see :func:`choose_step`)."""
    codes = np.rint(np.asarray(values, dtype=np.float64) / step)
    if codes.size and np.max(np.abs(codes)) > INT32_LIMIT:
        raise OverflowError(f"values exceed the Int32 code range at step {step:g}")
    return codes.astype(np.int32)


def codes_fit_int16(meta, axis: str) -> bool:
    """Whether every code of ``axis`` (``"x"`` or ``"y"``) of the curves in ``meta`` fits int16,
    from their stored extents (``{axis}_min``, ``{axis}_max``, ``{axis}_step``; a value is code x
    step, so code = value / step, with two codes of margin for the rounding). Such codes can
    leave the engine as int16: half the bytes to move."""
    with np.errstate(divide="ignore", invalid="ignore"):
        step = meta[f"{axis}_step"].to_numpy()
        codes = np.abs(np.concatenate([meta[f"{axis}_min"] / step, meta[f"{axis}_max"] / step]))
    return bool(np.isfinite(codes).all() and codes.max(initial=0.0) < 2**15 - 2)
