"""Reads of alarms (owner: rules helper), scoped with ``core.permissions.restrict``.

    items, count = alarm_list(user=u, state="open", device="HZ-00001", kind="smoke", limit=50, offset=0)
    alarm = alarm_get(user=u, alarm_id=7)          # AlarmNotFound outside the user's scope
    alarm_counts(user=u) -> {"online", "offline", "alarm", "total", "active_alarms"}

``state``: an ``AlarmState`` value (exact), or ``"open"`` (active or acknowledged: not
cleared). Order: rank (fire first), then newest.
"""

from __future__ import annotations

from django.db.models import Count, Q

from yizhan.core import permissions
from yizhan.safety.choices import AlarmState, DeviceStatus
from yizhan.safety.errors import AlarmNotFound
from yizhan.safety.models import Alarm, Device

VIEW = "safety.view"


def _scoped(user, perm: str = VIEW):
    return permissions.restrict(Alarm.objects.all(), user, perm)


def alarm_list(*, user, state: str | None = None, device=None, kind: str | None = None, limit: int = 50,
               offset: int = 0, perm: str = VIEW) -> tuple[list[Alarm], int]:
    qs = _scoped(user, perm)
    if state == "open":
        qs = qs.filter(open=True)
    elif state:
        qs = qs.filter(state=state)
    if device is not None:
        qs = qs.filter(device=device) if isinstance(device, Device) else qs.filter(device__code=device)
    if kind:
        qs = qs.filter(kind=kind)
    count = qs.count()
    items = list(qs.select_related("device", "place", "jurisdiction").order_by("rank", "-started_at", "-id")
                 [offset:offset + limit])
    return items, count


def alarm_get(*, user, alarm_id: int, perm: str = VIEW) -> Alarm:
    alarm = _scoped(user, perm).select_related("device", "place", "jurisdiction").filter(pk=alarm_id).first()
    if alarm is None:
        raise AlarmNotFound()
    return alarm


def alarm_counts(*, user, perm: str = VIEW) -> dict:
    """Devices by liveness and alarms in scope: ``online``, ``offline``, ``alarm`` (devices
    with an open alarm), ``total`` devices, ``active_alarms`` (open alarms)."""
    devices = permissions.restrict(Device.objects.all(), user, perm).aggregate(
        total=Count("id"),
        online=Count("id", filter=Q(status=DeviceStatus.ONLINE)),
        offline=Count("id", filter=Q(status=DeviceStatus.OFFLINE)),
    )
    alarms = _scoped(user, perm).filter(open=True).aggregate(
        active_alarms=Count("id"), alarm=Count("device", distinct=True),
        unacknowledged=Count("id", filter=Q(state=AlarmState.ACTIVE)))
    return {**devices, **alarms}
