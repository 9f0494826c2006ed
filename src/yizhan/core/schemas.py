from __future__ import annotations

from datetime import datetime

from ninja import Schema


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
    ids: list[int] | None = None


class MarkReadOut(Schema):
    marked: int
