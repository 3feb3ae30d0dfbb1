"""Dashboards (issue 20): a project's grids of saved views drawn live, KPI tiles and trends."""
