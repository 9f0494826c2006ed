"""Fire-safety API: devices."""

from ninja import Router

router = Router(tags=["safety"])
