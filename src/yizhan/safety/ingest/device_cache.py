"""The ingest's in-process device index (owner: rules helper).

    facts = device_by_code("HZ-00001")               # DeviceFacts or None
    uitd = transmitter_by_gb(0x000012345678)          # the transmitter with that GB address
    point = gb_point(uitd.id, sys_type, sys_addr, comp_addr)   # a component in its point table

Built once per process from the ``Device`` table (a few columns per row: ~15 MB for
100,000 devices) and rebuilt when the stamp (row count, latest ``updated_at``, disabled
count) moves — checked at most every ``YIZHAN_SAFETY_DEVICE_REFRESH_SECONDS`` (5 s), so a
device registered in another process is known within that time; this process's own
writers call ``device_cache_forget()`` (now and on commit). Liveness (``last_seen_at``,
``status``) is not kept here: the pipeline writes it in batches.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.db.models import Count, Max, Q

from yizhan.core.process_cache import ProcessCache
from yizhan.safety.choices import DeviceStatus
from yizhan.safety.models import Device
from yizhan.safety.rules import rules_forget


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """What the ingest needs about a device, without a query."""

    id: int
    code: str
    kind: str
    place_id: int
    jurisdiction_id: int
    jurisdiction_path: str
    heartbeat_interval: int
    status: str
    battery: int | None
    transmitter_id: int | None
    gb_address: int | None
    gb_sys_type: int | None
    gb_sys_addr: int | None
    gb_comp_type: int | None
    gb_comp_addr: int | None

    @property
    def disabled(self) -> bool:
        return self.status == DeviceStatus.DISABLED


class DeviceIndex:
    __slots__ = ("by_code", "by_id", "by_gb", "points", "points_loose")

    def __init__(self, rows):
        self.by_code: dict[str, DeviceFacts] = {}
        self.by_id: dict[int, DeviceFacts] = {}
        self.by_gb: dict[int, DeviceFacts] = {}
        self.points: dict[tuple, DeviceFacts] = {}
        self.points_loose: dict[tuple, DeviceFacts] = {}  # (transmitter, comp_addr) when unique
        loose_seen: dict[tuple, int] = {}
        for row in rows:
            f = DeviceFacts(*row)
            self.by_code[f.code] = f
            self.by_id[f.id] = f
            if f.gb_address is not None:
                self.by_gb[f.gb_address] = f
            if f.transmitter_id is not None:
                self.points[(f.transmitter_id, f.gb_sys_type, f.gb_sys_addr, f.gb_comp_addr)] = f
                key = (f.transmitter_id, f.gb_comp_addr)
                loose_seen[key] = loose_seen.get(key, 0) + 1
                self.points_loose[key] = f
        for key, n in loose_seen.items():
            if n > 1:
                del self.points_loose[key]


_FIELDS = ("id", "code", "kind", "place_id", "jurisdiction_id", "jurisdiction__path", "heartbeat_interval", "status",
           "battery", "transmitter_id", "gb_address", "gb_sys_type", "gb_sys_addr", "gb_comp_type", "gb_comp_addr")


def _build(_stamp) -> DeviceIndex:
    return DeviceIndex(Device.objects.order_by().values_list(*_FIELDS).iterator(chunk_size=5000))


def _stamp():
    s = Device.objects.order_by().aggregate(n=Count("id"), u=Max("updated_at"),
                                            d=Count("id", filter=Q(status=DeviceStatus.DISABLED)))
    return (s["n"], s["u"], s["d"])


_index: ProcessCache[DeviceIndex] = ProcessCache(
    "safety.devices", build=_build, stamp=_stamp, refresh_setting="YIZHAN_SAFETY_DEVICE_REFRESH_SECONDS",
    refresh_default=5.0)


# the hot path (thousands of look-ups a second) asks the ProcessCache once a second
_FAST_SECONDS = 1.0
_fast: tuple[DeviceIndex, float] | None = None


def _current() -> DeviceIndex:
    global _fast
    fast = _fast
    now = time.monotonic()
    if fast is not None and now - fast[1] < _FAST_SECONDS:
        return fast[0]
    idx = _index.get()
    _fast = (idx, now)
    return idx


def device_index(*, fresh: bool = False) -> DeviceIndex:
    global _fast
    if fresh:
        _fast = None
    idx = _index.get(fresh=fresh)
    _fast = (idx, time.monotonic())
    return idx


def device_by_code(code: str) -> DeviceFacts | None:
    return _current().by_code.get(code)


def device_by_id(device_id: int) -> DeviceFacts | None:
    return _current().by_id.get(device_id)


def transmitter_by_gb(address: int) -> DeviceFacts | None:
    return _current().by_gb.get(address)


def gb_point(transmitter_id: int, sys_type, sys_addr, comp_addr) -> DeviceFacts | None:
    """The component registered behind the transmitter at this address (exact system type
    and address first; else the component address alone when only one point has it)."""
    idx = _current()
    return (idx.points.get((transmitter_id, sys_type, sys_addr, comp_addr))
            or idx.points_loose.get((transmitter_id, comp_addr)))


def device_cache_forget() -> None:
    """Drop the index (rebuilt on next use) and the rules' cache and per-device state."""
    global _fast
    _fast = None
    _index.forget()
    rules_forget()
