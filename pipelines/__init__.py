"""Data work on a ClickHouse client: storage, imports, demo data and (soon) density rasters.

No Panel here: these modules serve the app, notebooks and benchmarks alike.
"""
