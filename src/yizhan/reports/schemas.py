"""In/Out schemas of the reports API (``/api/v1/reports``).

As in the stations API, values the domain must judge (coordinates, ratings, minutes,
time limits) are accepted as any JSON scalar so the service answers with its own
code (``invalid_coordinates``, ``invalid_rating`` …) rather than a generic schema
error. Submitting a case and acting on one also take multipart forms (photos), so
those endpoints read their body themselves; the schemas below document and
validate the JSON form.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from yizhan.core.schemas import Id
from yizhan.core.text import CleanStr, CleanText

Scalar = int | float | str | bool | None


class Ref(Schema):
    code: str
    name: str


class UserRef(Schema):
    id: int
    name: str


# ---- categories -------------------------------------------------------------------------


class CaseCategoryOut(Schema):
    code: str
    kind: str
    group: str
    group_name: str
    group_name_en: str
    name: str
    name_en: str
    icon: str
    description: str
    description_en: str
    filing_conditions: str
    closing_conditions: str
    department_code: str
    urgency: str
    clock: str
    accept_minutes: int
    dispatch_minutes: int
    handle_minutes: int
    verify_minutes: int
    close_minutes: int
    extra_fields: list[dict[str, Any]]
    keywords: str
    is_hazard: bool
    active: bool


class CategoryListOut(Schema):
    items: list[CaseCategoryOut]
    count: int


class CategoryPatch(Schema):
    """Only the keys sent are changed (``category_update`` judges the values)."""

    name: CleanStr | None = None
    name_en: CleanStr | None = None
    icon: str | None = None
    description: CleanText | None = None
    description_en: CleanText | None = None
    filing_conditions: CleanText | None = None
    closing_conditions: CleanText | None = None
    department_code: str | None = None
    urgency: str | None = None
    clock: str | None = None
    accept_minutes: Scalar = None
    dispatch_minutes: Scalar = None
    handle_minutes: Scalar = None
    verify_minutes: Scalar = None
    close_minutes: Scalar = None
    extra_fields: list[dict[str, Any]] | None = None
    keywords: CleanStr | None = None
    is_hazard: bool | None = None
    active: bool | None = None
    sort: Scalar = None


# ---- cases: reporting -----------------------------------------------------------------------


class CaseIn(Schema):
    """A report (JSON form). As multipart: the same fields, ``details`` as a JSON string
    (or ``details[name]`` fields) and up to 3 files in ``photos``."""

    category: str = Field(description="Category code (GET /categories)")
    lat: Any = Field(None, description="WGS-84")
    lng: Any = None
    description: CleanText = Field("", description="At most 4,000 characters")
    details: dict[str, Any] = Field(default_factory=dict, description="Values of the category's extra_fields")
    is_anonymous: bool = False
    address: CleanStr = ""
    idempotency_key: str = Field("", description="Or the Idempotency-Key header (<= 64 characters)")
    support: str | None = Field(None, description="Number of an open case from /duplicates: 'me too' instead")


class CasePhotoOut(Schema):
    id: int
    stage: str
    url: str
    width: int
    height: int
    approved: bool
    created_at: datetime


class CaseOut(Schema):
    """A case as its reporter sees it."""

    number: str
    state: str
    state_label: str
    category: Ref
    lat: float
    lng: float
    address: str
    description: str
    details: dict[str, Any]
    is_anonymous: bool
    supporter_count: int
    submitted_at: datetime
    closed_at: datetime | None
    rating: int | None
    photos: list[CasePhotoOut]


class SubmitOut(CaseOut):
    created: bool = Field(description="A new case (201); false for a replayed idempotency key or a 'me too'")
    supported: bool = Field(description="The reporter was added as a supporter of an existing case")


class SubmitSupportedOut(Schema):
    """The answer to ``support=<number>``: the 'me too' was counted; nothing of the other
    person's case beyond what the public map shows."""

    number: str
    supporter_count: int
    supported: bool = Field(description="Always true: the reporter was added as a supporter of an existing case")


class CaseListOut(Schema):
    items: list[CaseOut]
    count: int


class DuplicateOut(Schema):
    number: str
    category: Ref
    state: str
    state_label: str
    lat: float
    lng: float
    address: str
    description: str
    distance_m: float
    supporter_count: int
    submitted_at: datetime


class DuplicateListOut(Schema):
    items: list[DuplicateOut]
    count: int


class PublicItemOut(Schema):
    number: str
    category: Ref
    state: str
    state_label: str
    lat: float
    lng: float
    address: str
    supporter_count: int
    submitted_at: datetime


class PublicListOut(Schema):
    items: list[PublicItemOut]
    count: int


class CaseSupportOut(Schema):
    number: str
    supporter_count: int


# ---- cases: staff -------------------------------------------------------------------------------


class StaffItemOut(Schema):
    number: str
    category: Ref
    state: str
    state_label: str
    urgency: str
    source: str
    jurisdiction: Ref
    department: Ref | None
    assignee: UserRef | None
    address: str
    lat: float
    lng: float
    supporter_count: int
    submitted_at: datetime
    stage_due_at: datetime | None
    overdue: bool
    escalation_level: int


class CaseStaffListOut(Schema):
    items: list[StaffItemOut]
    count: int


class EventOut(Schema):
    id: int
    action: str
    action_label: str
    from_state: str
    to_state: str
    actor: str
    at: datetime
    note: str
    data: dict[str, Any]
    is_public: bool
    photos: list[int]


class StaffDetailOut(StaffItemOut):
    description: str
    details: dict[str, Any]
    reporter: str = Field(description="Display name (or 匿名); phone masked")
    reporter_phone: str = Field(description="Masked (138****5678)")
    contact_name: str
    contact_phone: str = Field(description="Masked")
    is_anonymous: bool
    rating: int | None
    rating_comment: str
    parked_reason: str
    reject_reason: str
    merged_into: str | None
    photos: list[CasePhotoOut]
    timeline: list[EventOut]
    actions: list[str] = Field(description="What the caller may do now (POST .../actions/{action})")


class ActionIn(Schema):
    """Arguments of an action (JSON form; multipart takes the same names + ``photos``)."""

    note: CleanText = Field("", description="Internal note (staff only)")
    public_reply: CleanText = Field("", description="Public reply: shown to the public and the reporter")
    department: str | None = Field(None, description="Department code (dispatch, transfer)")
    assignee: Id | None = Field(None, description="User id (dispatch, transfer)")
    rating: Scalar = Field(None, description="1..5 (evaluate)")
    minutes: Scalar = Field(None, description="Extra minutes (request_extension)")
    approve: bool | None = Field(None, description="decide_extension")
    into: str | None = Field(None, description="Case number to merge into (merge)")


class BulkDispatchIn(Schema):
    numbers: list[str]
    department: str | None = None
    note: CleanText = ""


class PhotoApproveIn(Schema):
    redactions: list[list[Any]] = Field(default_factory=list, description="[[x, y, w, h], ...] in 0..1, blurred")


# ---- setup ----------------------------------------------------------------------------------------


class CalendarIn(Schema):
    hours: dict[str, Any]
    days: list[dict[str, Any]] | None = None


class CalendarOut(Schema):
    jurisdiction: Ref
    source: str | None = Field(description="Code of the node whose calendar applies (none: the default)")
    own: bool = Field(description="False when inherited from an ancestor or the default")
    hours: dict[str, Any]
    days: list[dict[str, Any]]


class DepartmentIn(Schema):
    jurisdiction: str = Field(description="Jurisdiction code (district or street)")
    code: str
    name: CleanStr
    name_en: CleanStr = ""
    phone: str = ""


class DepartmentOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    phone: str
    jurisdiction: Ref
    active: bool
    members: list[UserRef]


class DepartmentListOut(Schema):
    items: list[DepartmentOut]
    count: int


class ReplyTemplateIn(Schema):
    id: Id | None = Field(None, description="Edit this template instead of adding one")
    jurisdiction: str | None = Field(None, description="Jurisdiction code; none = everywhere")
    action: str
    title: CleanStr
    text: CleanText
    text_en: CleanText = ""


class ReplyTemplateOut(Schema):
    id: int
    jurisdiction: str | None
    action: str
    title: str
    text: str
    text_en: str


class ReplyTemplateListOut(Schema):
    items: list[ReplyTemplateOut]
    count: int


class Open311ClientIn(Schema):
    name: CleanStr


class Open311ClientOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class Open311ClientCreatedOut(Open311ClientOut):
    key: str = Field(description="The raw api_key: shown once, only its SHA-256 is kept")


class Open311ClientListOut(Schema):
    items: list[Open311ClientOut]
    count: int


class FiguresQuery(Schema):
    since: date | None = None
    until: date | None = None
    jurisdiction: str | None = None
