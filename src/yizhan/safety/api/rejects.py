"""Fire-safety API: refused ingest messages, for managers.

    GET /rejects?channel&reason&hours&limit -> {"total", "counts": [{"channel", "reason", "count"}], "recent": [...]}
"""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router

from yizhan.core.schemas import LimitQuery
from yizhan.safety.schemas import inspections as S
from yizhan.safety.selectors import rejects as selectors

router = Router(tags=["safety"])


def reject_view(r) -> dict:
    return {"id": r.pk, "channel": r.channel, "reason": r.reason, "device_code": r.device_code, "detail": r.detail,
            "excerpt": r.excerpt[:400], "peer": r.peer, "at": r.at}


@router.get("/rejects", response=S.RejectsOut,
            summary="Refused messages (bad JSON, unknown device, bad signature, replay, bad frame, impossible value)")
def rejects(request: HttpRequest, channel: str = "", reason: str = "",
            hours: int = Query(24 * 7, ge=1, le=24 * 366), limit: int = LimitQuery(50)):
    since = timezone.now() - timedelta(hours=hours)
    counts = selectors.reject_counts(user=request.user, since=since, channel=channel)
    recent = selectors.reject_recent(user=request.user, channel=channel, reason=reason, limit=limit)
    return {"total": sum(c["count"] for c in counts), "counts": counts, "recent": [reject_view(r) for r in recent]}
