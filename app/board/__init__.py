"""The station board: one tile per station of a project, for a TV at the line and a phone."""
