"""``CURVEHOUSE_HOME`` is private: only the account that runs Curvehouse may read it.

The home holds the metadata store (password hashes, sealed cluster secrets), the cookie secret,
the key that seals cluster secrets, the embedded engine's data and the cluster nodes' data and
logs. Curvehouse's commands run with a umask of 077, so what they make is 0600/0700; a home made
by an older Curvehouse, or touched by hand, is put right whenever the store opens.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
log = logging.getLogger(__name__)


def private_umask() -> None:
    """Files and folders this process makes from now on are its account's only."""
    os.umask(PRIVATE_UMASK)


def private_home(home: Path) -> list[str]:
    """Make ``home`` (0700) if missing and take group and other bits off everything in it.

    Returns the warnings, also logged: paths another account owns, which that account could
    change back or read, are reported, not changed.
    """
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    me = os.geteuid()
    warnings = []
    for root, dirs, files in os.walk(home):
        for name in [".", *dirs, *files]:
            path = os.path.join(root, name)
            try:
                info = os.lstat(path)
            except FileNotFoundError:  # removed meanwhile (a node's temporary file)
                continue
            if stat.S_ISLNK(info.st_mode):
                continue
            if info.st_uid != me:
                warnings.append(
                    f"{path} belongs to another account (uid {info.st_uid}); it can read and "
                    "change Curvehouse's data. Give it to the account that runs Curvehouse."
                )
            mode = stat.S_IMODE(info.st_mode)
            if mode & 0o077:
                try:
                    os.chmod(path, mode & ~0o077)
                except FileNotFoundError:
                    continue
    for warning in warnings[:5]:
        log.warning(warning)
    return warnings
