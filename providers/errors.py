"""The errors of the providers layer: what went wrong reaching or running a deployment."""


class ProviderError(RuntimeError):
    """A deployment cannot be reached or used; the message says what to do about it."""


class EngineLimitError(ProviderError):
    """The embedded engine is already bound to another data path in this process."""


class EngineBusyError(ProviderError):
    """Another process holds the embedded engine's data directory."""
