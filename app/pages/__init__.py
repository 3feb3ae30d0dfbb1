"""One module per page; each exposes a factory that builds a fresh page per session."""
