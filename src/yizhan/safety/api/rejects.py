"""Fire-safety API: rejects."""

from ninja import Router

router = Router(tags=["safety"])
