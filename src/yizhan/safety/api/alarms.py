"""Fire-safety API: alarms."""

from ninja import Router

router = Router(tags=["safety"])
