"""Metadata and pure domain functions: the bottom layer, imported by everything else."""
