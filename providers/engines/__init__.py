"""Engines: the ClickHouse deployment the product's curves live in (embedded chDB or a server)."""

from providers.engines.base import Engine, engine_from_settings, engine_types, get_engine

__all__ = ["Engine", "engine_from_settings", "engine_types", "get_engine"]
