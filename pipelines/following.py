"""Following the line: a held filter's picture over a sliding time window, kept up to date by
adding the counts of the curves that arrived and taking away those of the curves that left.

A distinct-curve picture is a sum over curves (each adds one to every pixel it draws), so the
picture of the window "since ``start``" changes exactly by the curves that entered it (new
commits, appended to the held filter by :class:`pipelines.hot.HotCache`) and the curves whose
start time fell behind ``start``. Drawing those few is what a live page costs each second,
whatever the number of curves in the window. One picture per filter, window start and view is
kept for every session of the process, so several pages following the same line share the
work (each update under the picture's own lock).

Coloured pictures (categories can appear as curves arrive) are drawn whole each time.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipelines.drawing import DensityImage, axis_labels, tally
from pipelines.views import CurveFilter, View

if TYPE_CHECKING:
    from pipelines.hot import HotCurves

KEPT = 16  # pictures followed at once in a process (each holds one canvas of counts)


@dataclass
class _Picture:
    """One followed picture: the held curves it was last brought up to, which of them are
    counted, which of those draw a pixel, and the counts."""

    curves: HotCurves
    start: pd.Timestamp
    counted: np.ndarray  # bool per held curve
    shows: np.ndarray  # bool per held curve
    counts: np.ndarray  # uint32 (height, width)


class Following:
    """Sliding-window pictures of held filters, shared by the sessions of a process."""

    def __init__(self) -> None:
        self._pictures: OrderedDict[tuple, _Picture] = OrderedDict()
        self._locks: dict[tuple, threading.Lock] = {}
        self._lock = threading.Lock()
        self.updates = 0  # pictures brought up to date by the curves that came and went
        self.redraws = 0  # pictures drawn whole

    def image(self, key: tuple, curves: HotCurves, start: pd.Timestamp, view: View) -> DensityImage:
        """The picture of ``curves`` (a held filter, perhaps narrowed) started at or after
        ``start``, on ``view`` (ranges set, not coloured). ``key`` names the filter and its
        home; a later call with the same key and view and a later ``start`` updates it."""
        began = time.perf_counter()
        full = (key, view)
        with self._lock:
            lock = self._locks.setdefault(full, threading.Lock())
        with lock:
            with self._lock:
                kept = self._pictures.get(full)
            picture = self._updated(kept, curves, start, view)
            with self._lock:
                self._pictures[full] = picture
                self._pictures.move_to_end(full)
                while len(self._pictures) > KEPT:
                    self._locks.pop(self._pictures.popitem(last=False)[0], None)
            return _image(picture, view, began)

    def _updated(
        self, kept: _Picture | None, curves: HotCurves, start: pd.Timestamp, view: View
    ) -> _Picture:
        wanted = np.zeros(len(curves.meta), bool)
        wanted[curves.overlapping(view.x_range, view.y_range)] = True
        wanted &= CurveFilter(start=start).matching(curves.meta)
        if kept is None or start < kept.start or not _extends(curves, kept.curves):
            self.redraws += 1
            counts, shows = _draw(curves, np.flatnonzero(wanted), view)
            return _Picture(curves, start, wanted, shows, counts)
        grown = len(curves.meta) - len(kept.counted)
        counted = np.concatenate([kept.counted, np.zeros(grown, bool)])
        shows = np.concatenate([kept.shows, np.zeros(grown, bool)])
        came, left = np.flatnonzero(wanted & ~counted), np.flatnonzero(counted & ~wanted)
        self.updates += 1
        if not len(came) and not len(left):  # the same picture: pages can tell it by identity
            return _Picture(curves, start, wanted, shows, kept.counts)
        counts = kept.counts.copy()  # a picture handed out never changes under its page
        if len(came):
            added, drawn = _draw(curves, came, view)
            counts += added
            shows[came] = drawn[came]
        if len(left):
            taken, _ = _draw(curves, left, view)
            counts -= taken
            shows[left] = False
        return _Picture(curves, start, wanted, shows, counts)


def _extends(curves: HotCurves, before: HotCurves) -> bool:
    """Whether ``curves`` are ``before``'s with others appended (the held filter grew)."""
    n = len(before.meta)
    if len(curves.meta) < n or not np.array_equal(curves.offsets[: n + 1], before.offsets):
        return False
    ids = curves.meta["curve_id"].to_numpy()
    return bool(np.array_equal(ids[:n], before.meta["curve_id"].to_numpy()))


def _draw(curves: HotCurves, picks: np.ndarray, view: View) -> tuple[np.ndarray, np.ndarray]:
    """Counts (height, width) of the curves ``picks``, and per held curve whether it drew."""
    from pipelines.density import density_and_drawn

    counts, shows = density_and_drawn(
        curves.x,
        curves.y,
        curves.offsets,
        steps=curves.steps,
        picks=picks.astype(np.int64),
        x_range=view.x_range,
        y_range=view.y_range,
        width=view.width,
        height=view.height,
    )
    return counts[..., 0], shows


def _image(picture: _Picture, view: View, began: float) -> DensityImage:
    meta = picture.curves.meta
    near, shown = meta[picture.counted], meta[picture.shows]
    points = picture.curves.offsets
    counted = np.flatnonzero(picture.counted)
    return DensityImage(
        counts=picture.counts,
        view=view,
        curves=len(shown),
        near=len(near),
        samples=int((points[counted + 1] - points[counted]).sum()),
        results=tally(shown, "result"),
        seconds={"engine": 0.0, "total": time.perf_counter() - began},
        **axis_labels(near),
    )
