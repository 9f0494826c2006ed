"""services/open311 of the reports app (see the package docstring)."""

__all__: list[str] = []
