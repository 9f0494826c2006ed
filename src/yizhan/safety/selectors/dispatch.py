"""Reads of dispatch: the lists a duty officer and a responder see, and the monthly report.

Scoping: dispatches by ``safety.view`` on their jurisdiction (duty officers, grid
workers and station members of the community, managers); an assignment by its own
responder, or ``safety.duty`` on the dispatch's jurisdiction; the monthly report by
``safety.duty`` (duty officers and the admins above them).
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from django.db.models import Prefetch

from yizhan.core import permissions
from yizhan.core.errors import NotAuthenticated, OutOfJurisdiction, PermissionDenied
from yizhan.core.tz import SHANGHAI
from yizhan.safety import errors as E
from yizhan.safety.choices import AssignmentState, DispatchOutcome, DispatchState
from yizhan.safety.models import Assignment, Dispatch, Responder

ON_SITE_TARGET_SECONDS = 180  # on site within 3 minutes (Hongzhuang's promise)
OPEN_ASSIGNMENT_STATES = (AssignmentState.NOTIFIED, AssignmentState.ACKNOWLEDGED, AssignmentState.EN_ROUTE,
                          AssignmentState.ARRIVED)
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def _login(user) -> None:
    if not getattr(user, "is_authenticated", False):
        raise NotAuthenticated()


def _with_related(qs):
    return qs.select_related("alarm__device__place", "jurisdiction", "case").prefetch_related(
        Prefetch("assignments", queryset=Assignment.objects.select_related("responder__user")))


def dispatch_list(*, user, state: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list, int]:
    _login(user)
    if not permissions.has_perm_anywhere(user, "safety.view"):
        raise PermissionDenied()
    qs = permissions.restrict(Dispatch.objects.all(), user, "safety.view")
    if state == "active":
        qs = qs.exclude(state=DispatchState.RESOLVED)
    elif state:
        if state not in DispatchState.values:
            raise E.InvalidFilter(field="state")
        qs = qs.filter(state=state)
    count = qs.count()
    return list(_with_related(qs.order_by("-created_at_alarm", "-id"))[offset:offset + limit]), count


def dispatch_get(*, user, dispatch_id: int) -> Dispatch:
    _login(user)
    d = _with_related(Dispatch.objects.filter(pk=dispatch_id)).first()
    if d is None:
        raise E.DispatchNotFound()
    mine = any(a.responder.user_id == user.pk for a in d.assignments.all())
    if not mine and not permissions.can(user, "safety.view", d.jurisdiction):
        if permissions.has_perm_anywhere(user, "safety.view"):
            raise OutOfJurisdiction()
        raise PermissionDenied()
    return d


def responder_of(user) -> Responder | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Responder.objects.filter(user=user).select_related("station", "jurisdiction").first()


def my_assignments(*, user, open_only: bool = True, limit: int = 20) -> list[Assignment]:
    """The user's own assignments, newest first (open ones only by default)."""
    _login(user)
    qs = Assignment.objects.filter(responder__user=user)
    if open_only:
        qs = qs.filter(state__in=OPEN_ASSIGNMENT_STATES)
    return list(qs.select_related("dispatch__alarm__device__place", "dispatch__jurisdiction")
                .order_by("-notified_at", "-id")[:limit])


def assignment_get(*, user, assignment_id: int) -> Assignment:
    """An assignment its responder, or a duty officer of its jurisdiction, may see."""
    _login(user)
    a = (Assignment.objects.select_related("dispatch__alarm__device__place", "dispatch__jurisdiction",
                                           "dispatch__case", "responder__user")
         .filter(pk=assignment_id).first())
    if a is None:
        raise E.AssignmentNotFound()
    if a.responder.user_id == user.pk or permissions.can(user, "safety.duty", a.dispatch.jurisdiction):
        return a
    if permissions.has_perm_anywhere(user, "safety.respond") or permissions.has_perm_anywhere(user, "safety.duty"):
        raise OutOfJurisdiction()  # another responder's: not theirs
    raise PermissionDenied()


def responder_list(*, user, on_duty: bool | None = None, limit: int = 100, offset: int = 0) -> tuple[list, int]:
    _login(user)
    if not (permissions.has_perm_anywhere(user, "safety.duty") or permissions.has_perm_anywhere(user, "safety.manage")):
        raise PermissionDenied()
    perm = "safety.duty" if permissions.has_perm_anywhere(user, "safety.duty") else "safety.manage"
    qs = permissions.restrict(Responder.objects.all(), user, perm)
    if on_duty is not None:
        qs = qs.filter(on_duty=on_duty)
    count = qs.count()
    return list(qs.select_related("user", "station", "jurisdiction").order_by("id")[offset:offset + limit]), count


# ---- the monthly report -----------------------------------------------------------------------


def parse_month(month) -> tuple[datetime, datetime, str]:
    """``"2026-11"`` → (start, end) in Asia/Shanghai, and the label."""
    text = str(month or "").strip()
    m = MONTH_RE.match(text)
    if not m:
        raise E.InvalidMonth()
    year, mon = int(m.group(1)), int(m.group(2))
    if not (2000 <= year <= 2100 and 1 <= mon <= 12):
        raise E.InvalidMonth()
    start = datetime(year, mon, 1, tzinfo=SHANGHAI)
    end = datetime(year + (mon == 12), 1 if mon == 12 else mon + 1, 1, tzinfo=SHANGHAI)
    return start, end, f"{year:04d}-{mon:02d}"


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (the value at rank ⌈p/100 · n⌉ of the sorted values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _community(j, cache: dict):
    """The community a dispatch's node belongs to (a grid's parent; itself otherwise)."""
    if j.pk in cache:
        return cache[j.pk]
    node = j
    if j.level == "grid" and j.parent_id:
        node = j.parent
    cache[j.pk] = node
    return node


def _row(name: str, code: str, rows: list[Dispatch]) -> dict:
    arrival = [(d.first_arrived_at - d.created_at_alarm).total_seconds() for d in rows if d.first_arrived_at]
    ack = [(d.first_ack_at - d.notified_at).total_seconds() for d in rows if d.first_ack_at and d.notified_at]
    within = sum(1 for s in arrival if s <= ON_SITE_TARGET_SECONDS)
    outcomes = {o: 0 for o in DispatchOutcome.values}
    for d in rows:
        if d.outcome in outcomes:
            outcomes[d.outcome] += 1
    count = len(rows)
    return {
        "community": {"code": code, "name": name},
        "count": count,
        "arrived": len(arrival),
        "on_site_3min": within,
        "on_site_3min_share": round(within / count, 4) if count else None,
        "arrival_p50_s": percentile(arrival, 50),
        "arrival_p90_s": percentile(arrival, 90),
        "ack_p50_s": percentile(ack, 50),
        "ack_p90_s": percentile(ack, 90),
        "escalated": sum(1 for d in rows if d.wave > 1),
        "forwarded_119": sum(1 for d in rows if d.forwarded_119_at),
        "outcomes": outcomes,
    }


def monthly_report(*, user, month) -> dict:
    """Per community, the month's dispatches (alarm start in the month, China time): how
    many, the share on site within 3 minutes of the alarm (of all dispatches: one nobody
    reached counts as missed), p50/p90 of alarm → first arrival and of notification →
    first acknowledgement (nearest rank), escalations, 119 forwards and outcomes."""
    _login(user)
    if not permissions.has_perm_anywhere(user, "safety.duty"):
        raise PermissionDenied()
    start, end, label = parse_month(month)
    qs = (permissions.restrict(Dispatch.objects.all(), user, "safety.duty")
          .filter(created_at_alarm__gte=start, created_at_alarm__lt=end)
          .select_related("jurisdiction__parent")
          .only("created_at_alarm", "notified_at", "first_ack_at", "first_arrived_at", "outcome", "wave",
                "forwarded_119_at", "jurisdiction__code", "jurisdiction__name", "jurisdiction__level",
                "jurisdiction__path", "jurisdiction__parent_id", "jurisdiction__parent__code",
                "jurisdiction__parent__name", "jurisdiction__parent__path"))
    groups: dict[str, tuple[str, list]] = {}
    cache: dict = {}
    everything = []
    for d in qs:
        node = _community(d.jurisdiction, cache)
        groups.setdefault(node.code, (node.name, []))[1].append(d)
        everything.append(d)
    communities = [_row(name, code, rows) for code, (name, rows) in sorted(groups.items())]
    return {"month": label, "target_seconds": ON_SITE_TARGET_SECONDS, "communities": communities,
            "total": _row("合计", "", everything)}
