"""A part: the curves one serial left at its stations, with each curve's key values.

A part is a ``part_serial`` within its project (see :data:`pipelines.curves.PART_KEY`); it
passes several stations with one curve at each. Key values are computed inside the engine from
the stored integer codes (``value = code * step``, :mod:`pipelines.quantize`), so a part's page
reads a few numbers per curve, never its samples:

* peak: the highest y and the x of its first sample at that height;
* final: the last sample as recorded (the end of the stroke, the final torque);
* work: the area under the curve by the trapezoid rule over the samples in recorded order, in
  the units of y times x (``kN·mm``); a stroke that runs back subtracts.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

# What the page and the API show of each of a part's curves, before the key values.
PART_CURVE_COLUMNS = (
    "curve_id",
    "curve_key",
    "dataset_id",
    "project",
    "plant",
    "line",
    "station",
    "process",
    "program",
    "shift",
    "part_serial",
    "started_at",
    "ended_at",
    "result",
    "defect",
    "point_count",
    "x_min",
    "x_max",
    "y_min",
    "y_max",
    "x_step",
    "y_step",
    "x_name",
    "x_unit",
    "y_name",
    "y_unit",
)
KEY_COLUMNS = ("peak_x", "peak_y", "final_x", "final_y", "work")

# One row per curve of ``ids``: its key values in engineering units (NaN without samples).
# Products are taken in Float64: Int32 codes multiplied in Int32 would overflow.
KEY_VALUES_SQL = """
SELECT curve_id,
       if(empty(y), nan, toFloat64(x[indexOf(y, arrayMax(y))]) * x_step) AS peak_x,
       if(empty(y), nan, toFloat64(arrayMax(y)) * y_step) AS peak_y,
       if(empty(x), nan, toFloat64(x[-1]) * x_step) AS final_x,
       if(empty(y), nan, toFloat64(y[-1]) * y_step) AS final_y,
       arraySum((xa, xb, ya, yb) -> (toFloat64(xb) - xa) * (toFloat64(ya) + yb),
                arrayPopBack(x), arrayPopFront(x), arrayPopBack(y), arrayPopFront(y))
           * x_step * y_step / 2 AS work
FROM {db}.curve_samples
WHERE project IN {{projects:Array(String)}} AND curve_id IN {{ids:Array(UInt64)}}
"""


@dataclass(frozen=True)
class Part:
    """One serial's curves, oldest first, each with its key values (:data:`KEY_COLUMNS`)."""

    serial: str
    curves: pd.DataFrame

    @property
    def found(self) -> bool:
        return not self.curves.empty

    @property
    def result(self) -> str:
        """NOK when any station said NOK, OK when every one said OK, else UNKNOWN (also for a
        serial without curves)."""
        results = set(self.curves["result"].astype(str)) if self.found else set()
        if "NOK" in results:
            return "NOK"
        return "OK" if results == {"OK"} else "UNKNOWN"


def work_unit(x_unit: str, y_unit: str) -> str:
    """The unit of the area under a curve of ``y_unit`` over ``x_unit`` ("" if either is
    unknown)."""
    return f"{y_unit}·{x_unit}" if x_unit and y_unit else ""
