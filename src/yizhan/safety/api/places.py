"""Fire-safety API: places."""

from ninja import Router

router = Router(tags=["safety"])
