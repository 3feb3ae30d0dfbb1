"""Kernel tests run again as plain Python (``NUMBA_DISABLE_JIT=1``), so coverage and a debugger
see the kernels' own logic, in a process of its own (numba reads the variable at import)."""

from __future__ import annotations

import os
import subprocess
import sys


def passes_without_jit(test_file: str, keyword: str, passed: int, timeout: int = 600) -> None:
    """The tests of ``test_file`` that ``keyword`` (pytest's ``-k``) selects pass without the
    JIT, ``passed`` of them."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test_file, "-k", keyword],
        env={**os.environ, "NUMBA_DISABLE_JIT": "1"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{passed} passed" in result.stdout, result.stdout
