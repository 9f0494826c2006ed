"""In/Out schemas of the stations API.

Numbers the domain must judge (quantities, thresholds, ratings) are accepted as
any JSON scalar so the service answers with its own code (``invalid_quantity``
rather than a generic schema error) — "5.5" and "-1" get the same clear error.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from yizhan.core.schemas import Id
from yizhan.core.text import CleanStr, CleanText

Scalar = int | float | str | bool | None


class StationIn(Schema):
    code: str
    name: CleanStr
    address: CleanStr
    lat: Any
    lng: Any
    jurisdiction: str = Field(description="Community or grid code")
    name_en: CleanStr = ""
    type: str = "station"
    host_type: str = "community"
    host_name: CleanStr = ""
    hub: str | None = Field(None, description="Code of the service hub")
    amenities: list[str] = []
    hours: dict[str, Any] = {}
    holidays: list[dict[str, Any]] | None = None
    description: CleanText = ""
    opened_on: date | None = None


class StationPatch(Schema):
    name: CleanStr | None = None
    address: CleanStr | None = None
    lat: Any = None
    lng: Any = None
    jurisdiction: str | None = None
    name_en: CleanStr | None = None
    type: str | None = None
    host_type: str | None = None
    host_name: CleanStr | None = None
    hub: str | None = None
    amenities: list[str] | None = None
    hours: dict[str, Any] | None = None
    holidays: list[dict[str, Any]] | None = None
    description: CleanText | None = None
    opened_on: date | None = None


class StatusIn(Schema):
    status: str
    reason: CleanStr = ""


class Ref(Schema):
    code: str
    name: str


class StationOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    type: str
    host_type: str
    host_name: str
    address: str
    lat: float
    lng: float
    status: str
    status_reason: str
    jurisdiction: Ref
    hub: Ref | None
    amenities: list[str]
    hours: dict[str, Any]
    rating: float | None
    rating_count: int
    visit_count: int
    last_confirmed_at: datetime | None


class StationListOut(Schema):
    items: list[StationOut]
    count: int


class StationDetailOut(Schema):
    """The public station page's data."""

    id: int
    code: str
    name: str
    name_en: str
    type: str
    type_label: str
    host_type: str
    host_type_label: str
    host_name: str
    address: str
    lat: float
    lng: float
    status: str
    status_reason: str
    jurisdiction: Ref
    hub: Ref | None
    description: str
    hours: dict[str, Any]
    holidays: list[dict[str, Any]]
    open_now: bool
    opens_at: datetime | None
    closes_at: datetime | None
    amenities: list[str]
    supplies: list[dict[str, Any]]
    keeper_name: str
    keeper_phone: str = Field(description="Masked (138****5678)")
    rating: float | None
    rating_count: int
    visit_count: int
    last_confirmed_at: datetime | None
    condition_reports: list[dict[str, Any]]
    reviews: list[dict[str, Any]]


class NearbyOut(Schema):
    items: list[dict[str, Any]]
    count: int


class QrOut(Schema):
    token: str
    url: str
    svg: str
    valid_on: date


class CheckInIn(Schema):
    token: str


class CheckInOut(Schema):
    station: Ref
    counted: bool
    visit_count: int
    checkin_id: int


class ConditionReportIn(Schema):
    kind: str
    note: CleanText = ""
    checkin_id: Id | None = None


class ConditionReportOut(Schema):
    id: int
    station: str
    kind: str
    note: str
    created_at: datetime
    resolved_at: datetime | None


class ReviewIn(Schema):
    rating: Scalar
    comment: CleanText = ""


class ReviewOut(Schema):
    id: int
    station: str
    rating: int
    comment: str
    station_rating: float | None
    station_rating_count: int


class SupplyOut(Schema):
    item: str
    label: str
    quantity: int
    threshold: int
    unit: str
    is_low: bool


class SupplyListOut(Schema):
    items: list[SupplyOut]
    count: int


class MovementIn(Schema):
    kind: str
    quantity: Scalar
    note: CleanStr = ""


class ThresholdIn(Schema):
    threshold: Scalar


class DonationIn(Schema):
    giver_kind: str
    giver_name: CleanStr
    description: CleanStr
    item: str = ""
    quantity: Scalar = 0
    received_on: date | None = None


class DonationOut(Schema):
    id: int
    giver_kind: str
    giver_name: str
    description: str
    item: str
    quantity: int
    received_on: date


class DonationListOut(Schema):
    items: list[DonationOut]
    count: int


class RowResultOut(Schema):
    row: int
    code: str
    action: str
    errors: list[dict[str, Any]]


class ImportReportOut(Schema):
    ok: bool
    created: int
    updated: int
    dry_run: bool
    rows: list[RowResultOut]


class PhotoOut(Schema):
    id: int
    url: str
    caption: str
    created_at: datetime


class PhotoListOut(Schema):
    items: list[PhotoOut]
    count: int
