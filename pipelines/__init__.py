"""Data work on a ClickHouse client: storage, imports, demo data and density rasters.

No Panel here: these modules serve the app, notebooks and benchmarks alike. The density
functions are loaded on first use, so commands that never draw do not import numba.
"""

from __future__ import annotations

__all__ = ["curve_density", "curve_density_by_category"]


def __getattr__(name: str):
    if name in __all__:
        from pipelines import density

        return getattr(density, name)
    raise AttributeError(f"module 'pipelines' has no attribute {name!r}")
