"""Database clusters: the lifecycle service and its pages."""
