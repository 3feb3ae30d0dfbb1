"""A component's results as read-only parameters: ``constant=True``, set only through
:func:`publish`, so the page and the tests read them and cannot change them.

Results arrive from background runners: on a served page in the session's own tick, in tests
and benchmarks on the runners' threads. ``param.edit_constant`` lifts ``constant`` on the
class's parameter objects for the duration, so one lock serialises every publication; the
watchers it triggers run inside it and must not wait for other threads.
"""

from __future__ import annotations

import threading
from typing import Any

import param

_LOCK = threading.RLock()


def publish(owner: param.Parameterized, **values: Any) -> None:
    """Set ``owner``'s constant parameters ``values`` in one update (watchers see them
    together)."""
    with _LOCK, param.edit_constant(owner):
        owner.param.update(**values)
