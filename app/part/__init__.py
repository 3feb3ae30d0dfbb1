"""A part's own page: the curves one serial left at its stations (``/part``)."""
