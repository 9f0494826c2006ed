"""Fire-safety API (/api/v1/safety/...): one router per concept, joined here."""

from ninja import Router

from yizhan.safety.api import (
    alarms,
    devices,
    dispatch,
    inspections,
    places,
    push,
    rejects,
    responders,
)

router = Router(tags=["safety"])
for _module in (alarms, devices, places, responders, dispatch, inspections, push, rejects):
    router.add_router("", _module.router)
