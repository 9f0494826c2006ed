"""Fire-safety API: dispatch."""

from ninja import Router

router = Router(tags=["safety"])
