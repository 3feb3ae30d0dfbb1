"""Following the line: a filter's picture over a sliding time window, kept up to date by adding
the counts of the curves committed since and taking away those of the curves that left.

A distinct-curve picture is a sum over curves (each adds one to every pixel it draws), so the
picture of the window "since ``start``" changes exactly by the curves of the commits that
landed since it was drawn (started at or after ``start``) and the curves whose start fell
behind ``start`` (committed by the time it was drawn). Both are read from the engine when they
come and go, so a page following a line that commits hundreds of curves a second holds one
picture, not the window's samples (holding them took 1.8 GB after 5 minutes at 500 curves/s of
3,000 samples, and slowed the line's commits). Drawing those few is what a live page costs each
second, whatever the number of curves in the window. One picture per filter, window start and
view is kept for every session of the process, so several pages following the same line share
the work (each update under the picture's own lock).

Which commits a picture has counted is the store's version it was brought up to
(:func:`pipelines.hot.store_version`); anything other than new commits (a deletion, a dataset
moved in) draws it whole again.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import pandas as pd

from pipelines.drawing import DensityImage
from pipelines.fetch import Commits
from pipelines.views import CurveFilter, View

KEPT = 16  # pictures followed at once in a process (each holds one canvas of counts)


class Store(Protocol):
    """The engine's side of a followed picture."""

    def version(self) -> tuple: ...

    def fitted(self, view: View) -> View: ...

    def additions(self, since: tuple) -> tuple[list | None, tuple]: ...

    def draw(self, where: CurveFilter, view: View, commits: Commits) -> DensityImage: ...


@dataclass(frozen=True)
class _Picture:
    """One followed picture: its window's start, the store's version it counts, the picture."""

    start: pd.Timestamp
    version: tuple
    image: DensityImage


class Following:
    """Sliding-window pictures of filters, shared by the sessions of a process."""

    def __init__(self) -> None:
        self._pictures: OrderedDict[tuple, _Picture] = OrderedDict()
        self._locks: dict[tuple, threading.Lock] = {}
        self._lock = threading.Lock()
        self.updates = 0  # pictures brought up to date by the curves that came and went
        self.redraws = 0  # pictures drawn whole

    def image(self, key: tuple, where: CurveFilter, view: View, store: Store) -> DensityImage:
        """The picture of ``where`` (a filter with a start and no end) on ``view`` (not
        coloured). ``key`` names the filter without its start, and its home; a later call with
        the same key and view and a later start updates the picture. Missing ranges are fitted
        when the picture is drawn whole and kept while it is updated: the axes stay put, and
        a part beyond them is not worth drawing the whole window again (at 500 curves/s each
        new extreme did that, and the line's commits fell behind)."""
        began = time.perf_counter()
        full = (key, view)
        with self._lock:
            lock = self._locks.setdefault(full, threading.Lock())
        with lock:
            with self._lock:
                kept = self._pictures.get(full)
            picture = self._updated(kept, where, view, store)
            with self._lock:
                self._pictures[full] = picture
                self._pictures.move_to_end(full)
                while len(self._pictures) > KEPT:
                    self._locks.pop(self._pictures.popitem(last=False)[0], None)
        image = picture.image
        return replace(image, seconds={**image.seconds, "total": time.perf_counter() - began})

    def _updated(
        self, kept: _Picture | None, where: CurveFilter, view: View, store: Store
    ) -> _Picture:
        start = where.start
        new, version = (None, store.version()) if kept is None else store.additions(kept.version)
        if kept is None or new is None or start < kept.start:
            self.redraws += 1
            whole = store.draw(where, store.fitted(view), Commits(by=version[2]))
            return _Picture(start, version, whole)
        self.updates += 1
        view = kept.image.view
        came = store.draw(where, view, Commits(datasets=tuple(new))) if new else None
        left = None
        if start > kept.start:  # counted when drawn, and started before the window does now
            gone = replace(where, start=kept.start, end=start)
            left = store.draw(gone, view, Commits(by=kept.version[2]))
        return _Picture(start, version, _changed(kept.image, came, left))


def _changed(
    image: DensityImage, came: DensityImage | None, left: DensityImage | None
) -> DensityImage:
    """``image`` with ``came``'s curves added and ``left``'s taken away; ``image`` itself when
    neither has a curve near the view, so pages can tell an unchanged picture by identity."""
    moved = [(d, sign) for d, sign in ((came, 1), (left, -1)) if d is not None and d.near]
    if not moved:
        return image
    counts = image.counts.astype(np.int64)
    results = dict(image.results)
    curves, near = image.curves, image.near
    for drawn, sign in moved:
        counts += sign * drawn.counts.astype(np.int64)
        curves += sign * drawn.curves
        near += sign * drawn.near
        for result, n in drawn.results.items():
            results[result] = results.get(result, 0) + sign * n
    labels = image if image.near else moved[0][0]  # a window that was empty has no units yet
    return replace(
        image,
        counts=counts.astype(np.uint32),
        curves=curves,
        near=near,
        samples=sum(d.samples for d, _ in moved),  # read for this update
        results={r: n for r, n in results.items() if n},
        x_label=labels.x_label,
        y_label=labels.y_label,
        seconds={
            part: sum(d.seconds.get(part, 0.0) for d, _ in moved) for part in ("engine", "kernel")
        },
    )
