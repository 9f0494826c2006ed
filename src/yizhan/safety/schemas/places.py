"""Schemas of /api/v1/safety/places. Values the domain judges (kinds, numbers, phones,
coordinates) are accepted loosely so the service answers with its own code and field."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field


class Ref(Schema):
    code: str
    name: str


class ParentRef(Schema):
    id: int
    code: str
    name: str


class PlaceIn(Schema):
    code: str = Field(description="Stable id (letters, digits, - and _), used by imports")
    kind: str = Field(description="building | rental_house | charging_shed | micro_station | centre | small_venue")
    name: str
    address: str
    lat: Any = None
    lng: Any = None
    jurisdiction: str | None = Field(None, description="Community code; default: the one containing the point")
    parent: str | None = Field(None, description="Code of the building a rental house is in")
    floors: Any = None
    rooms: Any = None
    tenant_count: Any = None
    landlord_name: str | None = None
    landlord_phone: str | None = None
    charging_points: Any = None
    equipment: Any = Field(None, description='[{"item": "灭火器", "count": 10}] or "灭火器×10、水带×2"')
    phone: str | None = None
    notes: str | None = None


class PlacePatch(Schema):
    kind: str | None = None
    name: str | None = None
    address: str | None = None
    lat: Any = None
    lng: Any = None
    jurisdiction: str | None = None
    parent: str | None = None
    floors: Any = None
    rooms: Any = None
    tenant_count: Any = None
    landlord_name: str | None = None
    landlord_phone: str | None = None
    charging_points: Any = None
    equipment: Any = None
    phone: str | None = None
    notes: str | None = None


class DeviceBrief(Schema):
    id: int
    code: str
    kind: str
    kind_label: str
    status: str
    status_label: str
    location_text: str
    floor: str
    room: str
    battery: int | None
    last_seen_at: datetime | None
    open_alarms: list[str]


class PlaceOut(Schema):
    id: int
    code: str
    kind: str
    kind_label: str
    name: str
    address: str
    lat: float
    lng: float
    jurisdiction: Ref
    parent: ParentRef | None
    floors: int | None
    rooms: int | None
    tenant_count: int | None
    landlord_name: str = Field(description="In full for managers of the place; masked for others")
    landlord_phone: str = Field(description="In full for managers of the place; masked for others")
    charging_points: int | None
    equipment: list[dict]
    phone: str
    notes: str
    active: bool
    device_count: int | None = None
    updated_at: datetime


class PlaceDetailOut(PlaceOut):
    devices: list[DeviceBrief]
    device_states: dict[str, int]


class PlaceListOut(Schema):
    items: list[PlaceOut]
    count: int


class SafetyImportRowOut(Schema):
    sheet: str
    row: int
    code: str
    action: str = Field(description="create | update | unchanged | error")
    errors: list[dict]


class SafetyImportReportOut(Schema):
    ok: bool
    places_created: int
    places_updated: int
    devices_created: int
    devices_updated: int
    rows: list[SafetyImportRowOut]
    dry_run: bool
