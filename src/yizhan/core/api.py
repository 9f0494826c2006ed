"""/api/v1/core: the audit log (auditors) and the inbox (everyone logged in)."""

from __future__ import annotations

from django.utils.translation import get_language
from ninja import Router

from yizhan.core import selectors, services
from yizhan.core.schemas import (
    AuditListOut,
    LimitQuery,
    MarkReadIn,
    MarkReadOut,
    NotificationListOut,
    OffsetQuery,
    UtcDateTime,
)

router = Router(tags=["core"])
MAX_PAGE = 100


def audit_dict(row) -> dict:
    return {
        "id": row.pk,
        "at": row.at,
        "actor": row.actor_label,
        "action": row.action,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "summary": row.summary,
        "changes": row.changes or {},
        "ip": row.ip,
        "jurisdiction_path": row.jurisdiction_path,
    }


def notification_dict(n, lang: str | None = None) -> dict:
    en = (lang or get_language() or "").startswith("en")
    return {
        "id": n.pk,
        "kind": n.kind,
        "title": (n.title_en or n.title_zh) if en else n.title_zh,
        "body": (n.body_en or n.body_zh) if en else n.body_zh,
        "url": n.url,
        "created_at": n.created_at,
        "read": n.read_at is not None,
    }


@router.get("/audit", response=AuditListOut, summary="Audit log (auditors only)")
def audit_list(
    request,
    action: str | None = None,
    actor: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    q: str | None = None,
    since: UtcDateTime | None = None,
    until: UtcDateTime | None = None,
    limit: int = LimitQuery(50, maximum=MAX_PAGE),
    offset: int = OffsetQuery(),
):
    qs = selectors.audit_list(
        actor=request.auth,
        filters={"action": action, "actor": actor, "object_type": object_type, "object_id": object_id,
                 "q": q, "since": since, "until": until},
    )
    return {"items": [audit_dict(r) for r in qs[offset : offset + limit]], "count": qs.count()}


@router.get("/notifications", response=NotificationListOut, summary="My inbox")
def notifications(
    request, unread: bool = False, limit: int = LimitQuery(50, maximum=MAX_PAGE), offset: int = OffsetQuery()
):
    qs = selectors.notifications_for(user=request.auth, unread_only=unread)
    return {
        "items": [notification_dict(n) for n in qs[offset : offset + limit]],
        "count": qs.count(),
        "unread": selectors.notifications_unread_count(user=request.auth),
    }


@router.post("/notifications/read", response=MarkReadOut, summary="Mark notifications read (all when no ids)")
def notifications_read(request, payload: MarkReadIn):
    return {"marked": services.notifications_mark_read(actor=request.auth, ids=payload.ids)}


@router.get("/ping", auth=None, include_in_schema=False)
def ping(request):
    """No-op, no auth, no database: a liveness probe and the benchmarks' framework ceiling."""
    return {"ok": True}
