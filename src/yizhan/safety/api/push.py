"""Fire-safety API: push."""

from ninja import Router

router = Router(tags=["safety"])
