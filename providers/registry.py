"""One registry of lazily imported classes, for engines and for cluster providers alike.

Backends are named ``"module:Class"`` and imported only when asked for, so a missing optional
package (chDB, say) matters only to whoever asks for that backend.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

from providers.errors import ProviderError

T = TypeVar("T")


class Registry(Mapping[str, str], Generic[T]):
    """Kind name → ``"module:Class"``; :meth:`load` imports the class, :meth:`build` makes one."""

    def __init__(self, what: str, targets: dict[str, str], *, install_hint: str = "") -> None:
        self.what = what  # how errors name the things registered, e.g. "engine"
        self._targets = dict(targets)
        self._install_hint = install_hint

    def __getitem__(self, kind: str) -> str:
        return self._targets[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._targets)

    def __len__(self) -> int:
        return len(self._targets)

    def load(self, kind: str) -> type[T]:
        """The class registered under ``kind``, without building one (building may need a
        home, a URL or an API key; the class alone tells its label and regions)."""
        try:
            module_name, class_name = self._targets[kind].split(":")
        except KeyError:
            known = ", ".join(self._targets)
            raise ProviderError(f"Unknown {self.what} {kind!r}; known: {known}.") from None
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            hint = f"; install it with: {self._install_hint}" if self._install_hint else ""
            raise ProviderError(
                f"The {kind} {self.what} needs the package {exc.name!r}{hint}"
            ) from exc
        return getattr(module, class_name)

    def build(self, kind: str, **options: Any) -> T:
        """A new instance of the class registered under ``kind``."""
        return self.load(kind)(**options)
