"""The Curvehouse application: Panel pages, the CLI and the glue that wires the lower layers."""
