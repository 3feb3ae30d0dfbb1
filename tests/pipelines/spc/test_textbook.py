"""Our charts and capability on published worked examples, held to the figures the source prints.

Source: the R package qcc 3.0 (Luca Scrucca), repository luca-scr/qcc.
- Data, verbatim: ``data/pistonrings.txt`` (inside diameters of forged piston rings, 40 samples of
  5; the first 25 are phase I) and ``data/viscosity.txt`` (aircraft primer paint, one value a
  batch; the first 20 are phase I). qcc's help pages take them from Montgomery, *Introduction to
  Statistical Quality Control* (2nd ed. 1991, pp. 206-213; 5th ed. 2005, pp. 232-235). The
  piston rings are also Table 6.3 of the later editions, but transcriptions of that table give
  sample 21 as 73.982, 74.001, 74.015, 74.005, 73.996 (same mean, range 0.033 rather than
  0.021), so the figures below are qcc's for qcc's copy, not the book's.
- Expected figures, as printed: the vignette "A quick tour of qcc", ``docs/articles/qcc.html``
  (rendered 27 Nov 2025), and the "No. beyond limits" and marked points of its chart images
  (``docs/articles/qcc_files/figure-html/unnamed-chunk-{2-1,6-2,16-1,16-3}.png``).

Every figure is held to half a unit in its last printed digit. One more allowance, for what qcc's
own constants carry: it divides by d2 from a three-decimal table (1.128, 2.326: ``exp.R.unscaled``
in ``R/utilities.R``), where ours is exact (2/√π for n = 2), so its σ and every distance of a limit
from its centre line are good to ±0.0005/d2 relative, not to the 7 digits printed. The test
``test_qcc_sigma_is_the_mean_range_over_its_three_decimal_d2`` pins that this rounding is the
whole difference. Figures that do not go through d2 (centre lines, the S chart, Cp and Cpk at
their 3 printed decimals) get no allowance.
"""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.spc import individuals, subgroups
from pipelines.spc.capability import capability

# luca-scr/qcc data/pistonrings.txt: ``diameter`` (mm) by ``sample``, five per row; samples 1-25
# have ``trial`` TRUE (phase I, the baseline), 26-40 FALSE.
PISTON_RINGS = np.array(
    [
        [74.030, 74.002, 74.019, 73.992, 74.008],  # 1
        [73.995, 73.992, 74.001, 74.011, 74.004],  # 2
        [73.988, 74.024, 74.021, 74.005, 74.002],  # 3
        [74.002, 73.996, 73.993, 74.015, 74.009],  # 4
        [73.992, 74.007, 74.015, 73.989, 74.014],  # 5
        [74.009, 73.994, 73.997, 73.985, 73.993],  # 6
        [73.995, 74.006, 73.994, 74.000, 74.005],  # 7
        [73.985, 74.003, 73.993, 74.015, 73.988],  # 8
        [74.008, 73.995, 74.009, 74.005, 74.004],  # 9
        [73.998, 74.000, 73.990, 74.007, 73.995],  # 10
        [73.994, 73.998, 73.994, 73.995, 73.990],  # 11
        [74.004, 74.000, 74.007, 74.000, 73.996],  # 12
        [73.983, 74.002, 73.998, 73.997, 74.012],  # 13
        [74.006, 73.967, 73.994, 74.000, 73.984],  # 14
        [74.012, 74.014, 73.998, 73.999, 74.007],  # 15
        [74.000, 73.984, 74.005, 73.998, 73.996],  # 16
        [73.994, 74.012, 73.986, 74.005, 74.007],  # 17
        [74.006, 74.010, 74.018, 74.003, 74.000],  # 18
        [73.984, 74.002, 74.003, 74.005, 73.997],  # 19
        [74.000, 74.010, 74.013, 74.020, 74.003],  # 20
        [73.988, 74.001, 74.009, 74.005, 73.996],  # 21
        [74.004, 73.999, 73.990, 74.006, 74.009],  # 22
        [74.010, 73.989, 73.990, 74.009, 74.014],  # 23
        [74.015, 74.008, 73.993, 74.000, 74.010],  # 24
        [73.982, 73.984, 73.995, 74.017, 74.013],  # 25
        [74.012, 74.015, 74.030, 73.986, 74.000],  # 26
        [73.995, 74.010, 73.990, 74.015, 74.001],  # 27
        [73.987, 73.999, 73.985, 74.000, 73.990],  # 28
        [74.008, 74.010, 74.003, 73.991, 74.006],  # 29
        [74.003, 74.000, 74.001, 73.986, 73.997],  # 30
        [73.994, 74.003, 74.015, 74.020, 74.004],  # 31
        [74.008, 74.002, 74.018, 73.995, 74.005],  # 32
        [74.001, 74.004, 73.990, 73.996, 73.998],  # 33
        [74.015, 74.000, 74.016, 74.025, 74.000],  # 34
        [74.030, 74.005, 74.000, 74.016, 74.012],  # 35
        [74.001, 73.990, 73.995, 74.010, 74.024],  # 36
        [74.015, 74.020, 74.024, 74.005, 74.019],  # 37
        [74.035, 74.010, 74.012, 74.015, 74.026],  # 38
        [74.017, 74.013, 74.036, 74.025, 74.026],  # 39
        [74.010, 74.005, 74.029, 74.000, 74.020],  # 40
    ]
).ravel()
SAMPLES = np.repeat(np.arange(1, 41), 5)
PHASE_I = SAMPLES <= 25

# luca-scr/qcc data/viscosity.txt: ``viscosity`` by ``batch`` 1-35; batches 1-20 have ``trial``
# TRUE.
VISCOSITY = np.array([
    34.05, 34.40, 33.59, 35.96, 34.70, 33.51, 33.79, 34.04, 34.52, 33.75,
    33.27, 33.71, 34.03, 34.58, 34.02, 33.97, 34.05, 34.04, 33.73, 34.05,
    34.39, 33.75, 33.40, 33.27, 34.65, 34.80, 34.55, 35.40, 34.75, 34.50,
    34.70, 34.29, 34.61, 34.49, 35.03,
])  # fmt: skip
BATCH_PHASE_I = np.arange(1, 36) <= 20

# qcc's d2 for subgroups of 2 and 5 (R/utilities.R, ``exp.R.unscaled``), printed to 3 decimals.
QCC_D2 = {2: 1.128, 5: 2.326}


def _half_unit(figure: str) -> float:
    decimals = len(figure.partition(".")[2])
    return 0.5 * 10.0**-decimals * (1 + 1e-9)  # a hair over: a tie is within


def assert_printed(ours: float, figure: str, *, d2_of: int | None = None, centre: str = "0"):
    """``ours`` rounds to ``figure``; with ``d2_of``, the figure's distance from ``centre`` (σ
    itself when the centre is 0) may also be off by qcc's three-decimal d2 of that size."""
    tol = _half_unit(figure)
    if d2_of is not None:
        tol += abs(float(figure) - float(centre)) * 0.0005 / QCC_D2[d2_of]
    assert float(ours) == pytest.approx(float(figure), abs=tol), f"printed {figure}"


def test_piston_rings_mean_and_range_charts():
    # qcc(diameter[1:25,], type = "xbar", newdata = diameter[26:40,]) and type = "R":
    # Center 74.00118, StdDev 0.009785039, LCL 73.98805, UCL 74.0143; R chart Center 0.02276,
    # LCL 0, UCL 0.04812533. Plots: samples 37-39 beyond the mean's UCL (No. beyond limits =
    # 3), none beyond the range's limits.
    mean_chart, range_chart = subgroups(PISTON_RINGS, SAMPLES, PHASE_I)
    assert mean_chart.sizes.tolist() == [5] * 40
    centre = "74.00118"
    assert_printed(mean_chart.center[0], centre)
    assert_printed(mean_chart.sigma[0] * np.sqrt(5), "0.009785039", d2_of=5)
    assert_printed(mean_chart.lower[0], "73.98805", d2_of=5, centre=centre)
    assert_printed(mean_chart.upper[0], "74.0143", d2_of=5, centre=centre)
    assert_printed(range_chart.center[0], "0.02276")
    assert range_chart.lower[0] == 0.0
    assert_printed(range_chart.upper[0], "0.04812533", d2_of=5, centre="0.02276")
    assert mean_chart.outside().tolist() == [36, 37, 38]  # samples 37, 38, 39
    assert range_chart.outside().tolist() == []


def test_piston_rings_standard_deviation_chart():
    # qcc(diameter[1:25,], type = "S"): Center 0.009240037, StdDev 0.009829977, LCL 0,
    # UCL 0.01930242. σ = mean(s/c4) and c4 is exact in both: no d2, no allowance.
    mean_chart, std_chart = subgroups(PISTON_RINGS, SAMPLES, PHASE_I, spread="std")
    assert_printed(std_chart.center[0], "0.009240037")
    assert_printed(mean_chart.sigma[0] * np.sqrt(5), "0.009829977")
    assert std_chart.lower[0] == 0.0
    assert_printed(std_chart.upper[0], "0.01930242")


@pytest.mark.parametrize(
    ("lower", "upper", "cp", "cpk"),
    [
        # processCapability(q, spec.limits = c(73.95, 74.05), target = 74.02): Cp 1.703,
        # Cp_k 1.663 (the run without a target prints them to 2 decimals: 1.70, 1.66)
        (73.95, 74.05, "1.703", "1.663"),
        (73.99, 74.01, "0.341", "0.301"),  # spec.limits = c(73.99, 74.01)
        (73.99, 74.1, "1.874", "0.381"),  # spec.limits = c(73.99, 74.1)
    ],
)
def test_piston_rings_capability(lower, upper, cp, cpk):
    # q <- qcc(diameter[1:25,], type = "xbar"): the within σ is the X̄-R chart's.
    # Printed with each: Number of obs = 125, Center = 74.00118, StdDev = 0.009785039.
    mean_chart, _ = subgroups(PISTON_RINGS, SAMPLES, PHASE_I)
    sigma = mean_chart.sigma[0] * np.sqrt(5)
    result = capability(PISTON_RINGS[PHASE_I], lower=lower, upper=upper, sigma_within=sigma)
    assert result.n == 125
    assert_printed(result.mean, "74.00118")
    assert_printed(result.cp, cp)
    assert_printed(result.cpk, cpk)


@pytest.mark.parametrize(
    ("drop", "centre", "sigma", "lcl", "ucl", "beyond"),
    [
        # qcc(viscosity[trial], type = "xbar.one"): Center 34.088, StdDev 0.5076521,
        # LCL 32.56504, UCL 35.61096; the plot marks batch 4 (No. beyond limits = 1).
        (None, "34.088", "0.5076521", "32.56504", "35.61096", [3]),
        # viscosity <- viscosity[-4,], then with newdata = viscosity[!trial]: Center 33.98947,
        # StdDev 0.4117415, LCL 32.75425, UCL 35.2247; the plot marks the 27th point (batch 28,
        # 35.40) of the 34 (No. beyond limits = 1).
        (3, "33.98947", "0.4117415", "32.75425", "35.2247", [26]),
    ],
)
def test_viscosity_individuals(drop, centre, sigma, lcl, ucl, beyond):
    values, phase_i = VISCOSITY, BATCH_PHASE_I
    if drop is not None:  # qcc drops the row: batches 3 and 5 become neighbours
        values, phase_i = np.delete(values, drop), np.delete(phase_i, drop)
    i_chart, _ = individuals(values, phase_i)
    assert_printed(i_chart.center[0], centre)
    assert_printed(i_chart.sigma[0], sigma, d2_of=2)
    assert_printed(i_chart.lower[0], lcl, d2_of=2, centre=centre)
    assert_printed(i_chart.upper[0], ucl, d2_of=2, centre=centre)
    assert i_chart.outside().tolist() == beyond


def test_qcc_sigma_is_the_mean_range_over_its_three_decimal_d2():
    # Where qcc's σ and ours part: it is R̄/2.326 and MR̄/1.128, ours R̄/d2(5) and MR̄/d2(2)
    # with d2 exact. Our mean ranges over qcc's table d2 give its printed σ to every digit.
    _, range_chart = subgroups(PISTON_RINGS, SAMPLES, PHASE_I)
    _, mr_chart = individuals(VISCOSITY, BATCH_PHASE_I)
    assert_printed(range_chart.center[0] / QCC_D2[5], "0.009785039")
    assert_printed(mr_chart.center[0] / QCC_D2[2], "0.5076521")
