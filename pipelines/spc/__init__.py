"""Statistical process control on curve features: control charts with their limits from a
baseline, the Western Electric and Nelson run rules, process capability, and drift (EWMA and
CUSUM). Plain NumPy on a feature's values in time order; where the values come from (the
engine's ``curve_features``) and how they are drawn are not this package's business."""

from pipelines.spc.capability import Capability, capability
from pipelines.spc.charts import Chart, individuals, subgroups
from pipelines.spc.drift import Drift, cusum, ewma
from pipelines.spc.runs import RULES, Violation, violations

__all__ = [
    "RULES",
    "Capability",
    "Chart",
    "Drift",
    "Violation",
    "capability",
    "cusum",
    "ewma",
    "individuals",
    "subgroups",
    "violations",
]
