"""``python -m pipelines.warm`` compiles the forms the app hands the kernels, so a fresh
install's first views and test processes load them from numba's cache."""

from __future__ import annotations

import json
import subprocess
import sys

# Run in a process of its own: this worker's other tests have compiled forms of their own.
FORMS_AFTER_WARMING = """
import json
from pipelines import warm
from pipelines.kernels import density, features, levels, rules

for group in warm.GROUPS.values():
    group()
print(json.dumps({
    kernel.__name__: sorted(
        " ".join(f"{a.dtype}{'' if a.mutable else '(read-only)'}" for a in signature[:2])
        for signature in kernel.signatures
    )
    for kernel in (density.density, rules.judge_window, rules.judge_envelope,
                   features.curve_features, features.measures, levels.level_runs)
}))
"""


def test_each_group_compiles_the_forms_the_app_passes():
    done = subprocess.run(
        [sys.executable, "-c", FORMS_AFTER_WARMING], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    compiled = json.loads(done.stdout.splitlines()[-1])
    forms = {
        "float64 float64",
        "int32 int32",
        "int16 int16",
        "int32(read-only) int32(read-only)",
    }
    assert forms | {"int16 int32"} <= set(compiled.pop("density"))
    assert "int32 int32" in compiled.pop("level_runs")  # each commit's levels, on codes
    for kernel, signatures in compiled.items():
        assert forms <= set(signatures), kernel
