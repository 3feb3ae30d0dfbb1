"""Alembic revisions of the metadata store, run by :func:`models.store.migrate`.

Revisions are written by hand and frozen once released: they spell out their tables instead of
importing ``models.tables``, so a later change to a model cannot rewrite history. A new revision
goes in ``versions/`` with the next number; ``tests/models/test_migrations.py`` checks that the
chain ends exactly at the models and that it keeps the rows of an older database.
"""
