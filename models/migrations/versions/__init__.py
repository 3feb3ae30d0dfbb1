"""Numbered revisions: ``0001`` creates the store, each later one changes it in place."""
