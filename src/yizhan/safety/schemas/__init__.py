"""In/Out schemas of the fire-safety API, one module per concept."""
