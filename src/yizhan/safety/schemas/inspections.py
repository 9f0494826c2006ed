"""Schemas of /api/v1/safety/inspections and /rejects."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Schema
from pydantic import Field


class PlaceRef(Schema):
    id: int
    code: str
    name: str


class InspectionIn(Schema):
    place: Any = Field(description="Place code or id")
    rooms: Any = Field(None, description='[{"room": "101", "extinguisher": true, "escape_rope": true, '
                                         '"smoke_mask": false, "emergency_light": true}]')
    flying_wire_charging: Any = False
    garage_sleeping: Any = False
    escape_routes_clear: Any = True
    findings: str = ""
    result: str | None = Field(None, description="failed forces a failure (a hazard in the findings)")
    follow_up_due: Any = Field(None, description="YYYY-MM-DD, 1–90 days after; default 7 days")
    inspected_at: Any = None


class RectifyIn(Schema):
    note: str = ""


class InspectionPhotoOut(Schema):
    url: str
    stage: str


class InspectionOut(Schema):
    id: int
    place: PlaceRef
    jurisdiction: str
    inspector: str | None
    inspected_at: datetime
    rooms: list[dict]
    missing_items: int
    flying_wire_charging: bool
    garage_sleeping: bool
    escape_routes_clear: bool
    result: str
    result_label: str
    state: str
    state_label: str
    findings: str
    follow_up_due: date | None
    rectified_at: datetime | None
    case: str | None = Field(description="Number of the reports hazard case")
    photos: list[InspectionPhotoOut]
    actions: list[str] = []


class InspectionListOut(Schema):
    items: list[InspectionOut]
    count: int


class RejectCount(Schema):
    channel: str
    reason: str
    count: int


class RejectOut(Schema):
    id: int
    channel: str
    reason: str
    device_code: str
    detail: str
    excerpt: str
    peer: str
    at: datetime


class RejectsOut(Schema):
    total: int
    counts: list[RejectCount]
    recent: list[RejectOut]
