"""Numba kernels. Only NumPy arrays and scalars cross into jitted code."""

import hashlib
from pathlib import Path

import numba


def _drop_stale_cache() -> None:
    """Numba's cache checks only each function's own file, so a kernel that inlines code from
    a sibling module would keep the old code after that module changes. Key the whole cache on
    the sources of this package instead: any change drops every cached kernel here."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for source in sorted(here.glob("*.py")):
        digest.update(source.read_bytes())
    cache = here / "__pycache__"
    marker = cache / "kernels.sha256"
    try:
        if marker.exists() and marker.read_text() == digest.hexdigest():
            return
        for stale in [*cache.glob("*.nbi"), *cache.glob("*.nbc")]:
            stale.unlink()
        cache.mkdir(exist_ok=True)
        marker.write_text(digest.hexdigest())
    except OSError:  # a read-only install: numba then compiles in memory
        pass


_drop_stale_cache()

# cache=True keeps compiled kernels in __pycache__, so only the first run pays for compiling.
# Never fastmath: fused multiply-adds would change ``x * s + t`` by an ulp, and the engine-side
# reduction (pipelines/overlay.py) computes pixel columns with that exact expression in SQL.
ngjit = numba.njit(nogil=True, cache=True)
ngjit_parallel = numba.njit(nogil=True, parallel=True, cache=True)
# Per-pixel helpers that never allocate: without NRT, passing arrays skips the atomic reference
# counting numba otherwise does on every call (measured: 13 ns -> 1.7 ns per call).
ngjit_leaf = numba.njit(nogil=True, cache=True, _nrt=False)


def leave_a_core() -> None:
    """Parallel kernels launched from the calling thread use one thread fewer than the machine
    has (at least one): for work computed beside a busy engine call, such as an import's
    features beside its samples' insert. On two cores their second thread only fought the
    insert: configured features added 18-27 % to the 10k demo's import, one thread 8 %."""
    numba.set_num_threads(max(1, numba.config.NUMBA_NUM_THREADS - 1))
