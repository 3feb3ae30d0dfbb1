"""One function per process: a part's curve in engineering units, given its program and defect.

The shapes follow the physics a process engineer would recognise, so the demo exercises the same
features real data has: vertical segments where a press dwells on its block, controller
shut-off at a target torque, MFDC ripple on weld current, and ADC quantisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFECTS = {
    "press-fit": ("early_peak", "late_peak", "missing_snap_in", "overshoot", "noise_burst"),
    "screwdriving": ("early_peak", "late_peak", "overshoot", "noise_burst"),
    "spot-weld": ("early_peak", "late_peak", "overshoot", "noise_burst"),
}


@dataclass(frozen=True)
class Axis:
    name: str
    unit: str
    step: float  # sensor resolution: one ADC count or encoder increment


@dataclass(frozen=True)
class Process:
    name: str
    x: Axis
    y: Axis
    drift_limit: float  # sensor offset (y units) beyond which a part is rejected


PROCESSES = {
    "press-fit": Process(
        "press-fit", Axis("displacement", "mm", 0.001), Axis("force", "kN", 50 / 65536), 0.6
    ),
    "screwdriving": Process(
        "screwdriving", Axis("angle", "deg", 0.1), Axis("torque", "Nm", 40 / 4096), 0.8
    ),
    "spot-weld": Process(
        "spot-weld", Axis("time", "ms", 0.025), Axis("current", "kA", 20 / 4096), 0.5
    ),
}


@dataclass(frozen=True)
class PressFitProgram:
    stroke: float  # mm to the block
    contact: float  # mm where the interference starts
    stiffness: float  # kN per mm of engagement
    snap_at: float  # mm where the retaining ring snaps in
    block_force: float  # kN added while the press dwells on the block
    spacing: float  # mm between samples


@dataclass(frozen=True)
class ScrewProgram:
    rundown: float  # deg until the head seats (snug)
    target: float  # Nm shut-off torque
    slope: float  # Nm per deg after snug
    prevailing: float  # Nm during rundown
    spacing: float  # deg between samples
    thread_forming: bool


@dataclass(frozen=True)
class WeldProgram:
    squeeze: float  # ms before current flows
    pulses: int
    weld: float  # ms per pulse
    cool: float  # ms between pulses
    hold: float  # ms after the last pulse
    current: float  # kA
    rate_khz: float


PROGRAMS: dict[str, PressFitProgram | ScrewProgram | WeldProgram] = {
    "PF-6204-bearing": PressFitProgram(12.0, 1.5, 1.10, 10.2, 9.0, 0.02),
    "PF-6205-bearing": PressFitProgram(15.0, 2.0, 1.40, 13.0, 11.0, 0.005),
    "PF-pin-8mm": PressFitProgram(6.0, 0.8, 0.90, 4.6, 6.0, 0.02),
    "SD-M6-10Nm": ScrewProgram(1440.0, 10.0, 0.045, 0.35, 0.5, False),
    "SD-M8-25Nm": ScrewProgram(2520.0, 25.0, 0.080, 0.60, 1.0, True),
    "SW-1.5mm-DP600": WeldProgram(30.0, 1, 180.0, 0.0, 40.0, 9.5, 10.0),
    "SW-2.0mm-DP800": WeldProgram(40.0, 2, 150.0, 30.0, 50.0, 10.5, 40.0),
}


def _burst(rng: np.random.Generator, y: np.ndarray, scale: float) -> None:
    """Electrical interference: a short window of heavy noise, in place."""
    width = max(5, y.size // 25)
    start = int(rng.integers(0, max(1, y.size - width)))
    y[start : start + width] += rng.normal(0.0, scale, width)


def press_fit(rng: np.random.Generator, p: PressFitProgram, defect: str, drift: float):
    """Force (kN) over displacement (mm); returns x, y and the cycle time in seconds."""
    stroke = p.stroke + {"early_peak": -1.2, "late_peak": 0.9}.get(defect, 0.0)
    stroke += rng.normal(0.0, 0.03)
    stiffness = p.stiffness * rng.normal(1.0, 0.04) * (1.5 if defect == "overshoot" else 1.0)
    contact = p.contact + rng.normal(0.0, 0.05)
    x = np.arange(0.0, stroke, p.spacing)
    engaged = np.clip(x - contact, 0.0, None)
    y = 0.04 + 0.02 * np.sin(3.0 * x) + stiffness * engaged * (1.0 + 0.08 * engaged / stroke)
    if defect != "missing_snap_in":
        s = p.snap_at + (stroke - p.stroke) + rng.normal(0.0, 0.04)
        rise = (x >= s - 0.6) & (x < s)
        y[rise] += 0.8 * (x[rise] - (s - 0.6)) / 0.6
        drop = (x >= s) & (x < s + 0.25)
        y[drop] -= 0.5 * (1.0 - (x[drop] - s) / 0.25)
    # Dwell on the block: displacement barely moves while force climbs steeply.
    dwell = 120
    ramp = np.linspace(0.0, 1.0, dwell)
    x = np.concatenate([x, stroke + 0.05 * ramp])
    y = np.concatenate([y, y[-1] + p.block_force * rng.normal(1.0, 0.02) * ramp**0.7])
    x += rng.normal(0.0, 0.0015, x.size)
    y += rng.normal(0.0, 0.015, y.size) + drift
    if defect == "noise_burst":
        _burst(rng, y, 0.8)
    return x, np.clip(y, 0.0, None), 2.0 + stroke / 10.0


def screwdriving(rng: np.random.Generator, p: ScrewProgram, defect: str, drift: float):
    """Torque (Nm) over angle (deg); the controller stops at the target torque."""
    snug = p.rundown + rng.normal(0.0, 20.0)
    if defect == "early_peak":  # cross-threaded: binds long before the head seats
        snug *= 0.35
    elif defect == "late_peak":  # missing washer or long thread
        snug += 300.0
    target = p.target * (1.3 if defect == "overshoot" else 1.0)
    slope = p.slope * rng.normal(1.0, 0.05)
    end = snug + (target - p.prevailing) / slope + 8.0
    a = np.arange(0.0, end, p.spacing)
    torque = p.prevailing * (1.0 + 0.15 * np.sin(2.0 * np.pi * a / 360.0))
    if p.thread_forming:
        torque += 1.2 * np.exp(-(((a - 200.0) / 120.0) ** 2))
    past = np.clip(a - snug, 0.0, None)
    torque += slope * (past - 8.0 * (1.0 - np.exp(-past / 8.0)))
    stop = int(np.searchsorted(torque, target)) if torque[-1] >= target else a.size
    stop = max(stop, 2)
    a, torque = a[:stop], torque[:stop]
    # Shut-off: a few samples at the final angle while the tool relaxes.
    relax = 12
    a = np.concatenate([a, np.full(relax, a[-1])])
    torque = np.concatenate([torque, torque[-1] * (1.0 - 0.04 * np.linspace(0.0, 1.0, relax))])
    torque += rng.normal(0.0, 0.03, torque.size) + drift
    if defect == "noise_burst":
        _burst(rng, torque, 1.5)
    return a, np.clip(torque, 0.0, None), 0.8 + a[-1] / 1500.0


def spot_weld(rng: np.random.Generator, p: WeldProgram, defect: str, drift: float):
    """Secondary current (kA) over time (ms) of a mid-frequency DC weld."""
    dt = 1.0 / p.rate_khz
    squeeze = p.squeeze + {"early_peak": -15.0, "late_peak": 20.0}.get(defect, 0.0)
    squeeze += rng.normal(0.0, 0.5)
    total = squeeze + p.pulses * p.weld + (p.pulses - 1) * p.cool + p.hold
    t = np.arange(0.0, total, dt)
    current = np.zeros_like(t)
    level = p.current * rng.normal(1.0, 0.015) + drift
    start = squeeze
    for _ in range(p.pulses):
        on = (t >= start) & (t < start + p.weld)
        since = t[on] - start
        upslope = np.clip(since / 5.0, 0.0, 1.0)
        kick = (3.0 if defect == "overshoot" else 0.3) * np.exp(-since / 8.0)
        ripple = 1.0 + 0.03 * np.sin(2.0 * np.pi * since)  # 1 kHz inverter ripple
        current[on] = level * upslope * ripple + kick * upslope
        start += p.weld + p.cool
    if defect == "noise_burst":  # expulsion: spike, collapse, then turbulence
        hit = int(np.searchsorted(t, squeeze + rng.uniform(0.3, 0.8) * p.weld))
        span = int(5.0 / dt)
        current[hit : hit + span] += np.linspace(4.0, -3.0, len(current[hit : hit + span]))
        current[hit : hit + span] += rng.normal(0.0, 1.0, len(current[hit : hit + span]))
    current += rng.normal(0.0, 0.03, t.size)
    return t, np.clip(current, 0.0, None), (total + 400.0) / 1000.0


SHAPES = {"press-fit": press_fit, "screwdriving": screwdriving, "spot-weld": spot_weld}
