from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from ninja import Query, Schema
from pydantic import AfterValidator, Field

from yizhan.core.tz import SHANGHAI

# A database id sent by a client: 1 to the largest 64-bit integer (a larger one is a 400,
# not an overflow in the database driver).
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def _to_utc(value: datetime) -> datetime:

    if value.tzinfo is None:  # a wall-clock time in China
        value = value.replace(tzinfo=SHANGHAI)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("date out of range") from None


# A point in time from a client, in UTC: an offset PostgreSQL cannot store (+19:01) or a
# year that overflows once moved to UTC is a 400, not a database error.
UtcDateTime = Annotated[datetime, AfterValidator(_to_utc)]


class AuditOut(Schema):
    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    summary: str
    changes: dict
    ip: str | None
    jurisdiction_path: str


class AuditListOut(Schema):
    items: list[AuditOut]
    count: int


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    url: str
    created_at: datetime
    read: bool


class NotificationListOut(Schema):
    items: list[NotificationOut]
    count: int
    unread: int


class MarkReadIn(Schema):
    ids: list[Id] | None = Field(None, max_length=1000)


class MarkReadOut(Schema):
    marked: int


# ---- paging: one rule for every list ---------------------------------------------------------------

MAX_PAGE = 200
MAX_OFFSET = 1_000_000  # far inside a 64-bit integer: offset 2**63 is a 400, not a database overflow


def LimitQuery(default: int = 50, *, maximum: int = MAX_PAGE):  # noqa: N802 (used like Query)
    """``limit: int = LimitQuery(100)`` — at least 1, at most ``maximum`` (≤ MAX_PAGE); else 400."""

    return Query(default, ge=1, le=min(maximum, MAX_PAGE), description=f"Page size, 1–{min(maximum, MAX_PAGE)}")


def OffsetQuery():  # noqa: N802
    """``offset: int = OffsetQuery()`` — 0 to MAX_OFFSET; else 400."""

    return Query(0, ge=0, le=MAX_OFFSET, description=f"Items to skip, 0–{MAX_OFFSET}")


def page(qs, *, limit: int, offset: int) -> tuple[list, int]:
    """One page of a queryset (or list) and the total count."""
    count = qs.count() if hasattr(qs, "count") and not isinstance(qs, list) else len(qs)
    return list(qs[offset:offset + limit]), count


# ---- the error shape ------------------------------------------------------------------------------


class ErrorMessage(Schema):
    zh: str
    en: str


class ErrorOut(Schema):
    """Every error: ``{"code", "message": {"zh", "en"}, "field"}``; a server error adds ``error_id``
    (quote it to the operator: the same id is in the log with the traceback)."""

    code: str
    message: ErrorMessage
    field: str | None = None
    error_id: str | None = None
