"""Schemas of /api/v1/safety/devices."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Schema
from pydantic import Field


class PlaceRef(Schema):
    id: int
    code: str
    name: str


class DeviceIn(Schema):
    code: str = Field(description="e.g. HZ-00001: the MQTT topic's device code")
    kind: str = Field(description="smoke | gas | electrical | shed_temperature | transmitter | component")
    place: Any = Field(description="Place code (or id)")
    floor: str | None = None
    room: str | None = None
    location_text: str | None = None
    model_name: str | None = None
    firmware: str | None = None
    heartbeat_interval: Any = Field(None, description="Seconds, 10 – 604800 (default 300)")
    battery: Any = None
    gb_address: Any = Field(None, description="Transmitters: 12 hex digits as text, or an integer")
    transmitter: str | None = Field(None, description="Component points: the transmitter's device code")
    gb_sys_type: Any = None
    gb_sys_addr: Any = None
    gb_comp_type: Any = None
    gb_comp_addr: Any = None
    installed_on: Any = None


class DevicePatch(Schema):
    place: Any = None
    floor: str | None = None
    room: str | None = None
    location_text: str | None = None
    model_name: str | None = None
    firmware: str | None = None
    heartbeat_interval: Any = None
    battery: Any = None
    gb_address: Any = None
    transmitter: str | None = None
    gb_sys_type: Any = None
    gb_sys_addr: Any = None
    gb_comp_type: Any = None
    gb_comp_addr: Any = None
    installed_on: Any = None


class BulkIn(Schema):
    items: list[dict] = Field(description="DeviceIn objects; all are checked first, nothing is written if one is bad")


class DeviceOut(Schema):
    id: int
    code: str
    kind: str
    kind_label: str
    place: PlaceRef
    jurisdiction: str
    floor: str
    room: str
    location_text: str
    model_name: str
    firmware: str
    heartbeat_interval: int
    battery: int | None
    status: str
    status_label: str
    last_seen_at: datetime | None
    installed_on: date | None
    gb_address: str | None = Field(description="12 upper-case hex digits")
    transmitter: str | None
    gb_sys_type: int | None
    gb_sys_addr: int | None
    gb_comp_type: int | None
    gb_comp_addr: int | None
    open_alarms: list[str]


class DeviceListOut(Schema):
    items: list[DeviceOut]
    count: int


class DeviceBulkOut(Schema):
    created: int
    codes: list[str]
