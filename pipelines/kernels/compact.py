"""Held codes in fewer bytes: x as one-byte steps, y relative to the middle of each curve.

The memory cache holds whole processes (1.26 GB at 100,000 demo curves as int16/int32 codes).
Most curves' x rises by small steps (displacement, angle, time), so each sample's difference
from the previous one fits int8; and a curve's y codes may need int32 only because of where its
range lies, while the range itself fits int16. The density kernel reads both forms directly
(:func:`pipelines.kernels.density.accumulate`), with the same values, so the pixels are the same.
"""

from __future__ import annotations

import numpy as np

from pipelines.kernels import ngjit


@ngjit
def to_deltas(codes, offsets, out, firsts, lasts):
    """Each curve's codes as differences from the sample before (its first as 0) into ``out``
    (int8), its first and last codes into ``firsts``/``lasts``. False, leaving ``out`` partly
    written, as soon as a difference does not fit int8."""
    for ci in range(len(offsets) - 1):
        s, e = offsets[ci], offsets[ci + 1]
        if e == s:
            firsts[ci] = lasts[ci] = 0
            continue
        firsts[ci] = codes[s]
        lasts[ci] = codes[e - 1]
        out[s] = 0
        for j in range(s + 1, e):
            step = np.int64(codes[j]) - np.int64(codes[j - 1])
            if step < -128 or step > 127:
                return False
            out[j] = step
    return True


@ngjit
def from_deltas(deltas, offsets, firsts, out):
    """The codes :func:`to_deltas` was given, back into ``out``."""
    for ci in range(len(offsets) - 1):
        s, e = offsets[ci], offsets[ci + 1]
        code = firsts[ci]
        for j in range(s, e):
            if j > s:
                code += deltas[j]
            out[j] = code


@ngjit
def middles(codes, offsets):
    """Per curve, the middle of its codes' range (int64; 0 for an empty curve) and the widest
    distance of a code from it: relative codes fit int16 when that is below 2**15."""
    n = len(offsets) - 1
    mids = np.zeros(n, dtype=np.int64)
    widest = 0
    for ci in range(n):
        s, e = offsets[ci], offsets[ci + 1]
        if e == s:
            continue
        low = high = np.int64(codes[s])
        for j in range(s + 1, e):
            c = np.int64(codes[j])
            low = min(low, c)
            high = max(high, c)
        mid = (low + high) // 2
        mids[ci] = mid
        widest = max(widest, high - mid, mid - low)
    return mids, widest


@ngjit
def relative(codes, offsets, bases, out):
    """``codes`` minus their curve's base, into ``out`` (whose type the caller chose to fit)."""
    for ci in range(len(offsets) - 1):
        base = bases[ci]
        for j in range(offsets[ci], offsets[ci + 1]):
            out[j] = codes[j] - base
