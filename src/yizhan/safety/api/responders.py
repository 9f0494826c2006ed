"""Fire-safety API: responders."""

from ninja import Router

router = Router(tags=["safety"])
