"""Every read of cases other code may call.

Staff reads are scoped with ``core.permissions.restrict/require`` on the case's
jurisdiction path; a staff detail read (which shows the reporter's identity and
contact) writes an audit READ row (PIPL). Public reads never return personal data:
the reporter is "匿名" or a masked display name, photos only once staff approved
them (the redacted copy), and only the public lines of the timeline.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import h3
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from yizhan.core import permissions
from yizhan.core.audit import audit_record
from yizhan.core.errors import NotAuthenticated, OutOfJurisdiction, PermissionDenied
from yizhan.core.geo import haversine_m
from yizhan.core.models import AuditAction
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.jurisdictions.selectors import ancestor_paths
from yizhan.reports import errors as E
from yizhan.reports import workflow
from yizhan.reports.choices import Actor, CaseAction, CaseState, ExtensionState
from yizhan.reports.models import (
    FINISHED_STATES,
    OPEN_STATES,
    Case,
    CaseEvent,
    Category,
    DepartmentMember,
    ExtensionRequest,
    ReplyTemplate,
)

__all__ = [
    "case_actions_for",
    "case_duplicates",
    "case_inbox",
    "case_public_counts",
    "case_public_get",
    "case_public_list",
    "case_public_view",
    "case_staff_get",
    "case_staff_list",
    "case_timeline",
    "cases_of_reporter",
    "category_get",
    "category_list",
    "public_reporter_name",
    "reply_templates_for",
]

CASE_CELL_RES = 9
HIDDEN_FROM_PUBLIC = (CaseState.REJECTED, CaseState.MERGED)
# Actions offered to people (the clock's escalation and "me too" are not buttons).
NOT_OFFERED = {CaseAction.ESCALATE, CaseAction.SUPPORT}


# ---- categories ----------------------------------------------------------------------


def category_list(*, active_only: bool = True) -> QuerySet:
    qs = Category.objects.all()
    return qs.filter(active=True) if active_only else qs


def category_get(*, code) -> Category:
    cat = Category.objects.filter(code=str(code or "")).first()
    if cat is None:
        raise E.CategoryNotFound()
    return cat


# ---- duplicates ----------------------------------------------------------------------


# What the "already reported?" answer shows of a candidate (``brief=True``).
DUPLICATE_FIELDS = ("id", "number", "state", "lat", "lng", "address", "description", "supporter_count",
                    "submitted_at", "reporter_id", "category_id", "category__code", "category__name",
                    "category__name_en")


def case_duplicates(*, category: str, lat, lng, radius_m: float = 50, exclude_id=None,
                    brief: bool = False) -> list[Case]:
    """Open cases of ``category`` within ``radius_m`` metres, nearest first (at most 20).
    Each gets a ``distance_m`` attribute. ``brief``: one narrow query loading only
    ``DUPLICATE_FIELDS`` (the category joined, no jurisdiction), for the public
    "already reported?" step — reading any other field would cost a query per case."""
    try:
        lat, lng = float(lat), float(lng)
    except (TypeError, ValueError):
        return []
    if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
        return []
    radius_m = max(0.0, min(float(radius_m), 2000.0))
    # a res-9 hexagon's apothem is >= ~87 m (smallest cells), so k rings around the
    # point's cell reach at least k * 87 m in every direction
    k = 1 + int(radius_m // 80)
    cells = h3.grid_disk(h3.latlng_to_cell(lat, lng, CASE_CELL_RES), k)
    qs = Case.objects.filter(category__code=str(category or ""), cell__in=cells, state__in=OPEN_STATES)
    qs = qs.select_related("category").only(*DUPLICATE_FIELDS) if brief else \
        qs.select_related("category", "jurisdiction")
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    found = []
    for case in qs[:500]:
        d = haversine_m(lat, lng, case.lat, case.lng)
        if d <= radius_m:
            case.distance_m = round(d, 1)
            found.append(case)
    found.sort(key=lambda c: (c.distance_m, -c.pk))
    return found[:20]


# ---- public --------------------------------------------------------------------------


# "a resident": the public never sees a reporter's name, not even masked
PUBLIC_REPORTER = gettext_lazy("热心市民")


def public_reporter_name(case: Case) -> str:
    """"匿名" for anonymous or Open311 reports, else "热心市民" (a resident) — never a
    name; only the reporter themself and staff see who reported."""
    if case.is_anonymous or case.reporter_id is None:
        return gettext("匿名")
    return str(PUBLIC_REPORTER)


def case_public_get(*, number) -> Case:
    case = (
        Case.objects.select_related("category", "jurisdiction", "reporter", "department")
        .filter(number=str(number or "").strip())
        .exclude(state__in=HIDDEN_FROM_PUBLIC)
        .first()
    )
    if case is None:
        raise E.CaseNotFound()
    return case


def _bbox(value):
    if value in (None, ""):
        return None
    parts = value.split(",") if isinstance(value, str) else list(value)
    try:
        min_lng, min_lat, max_lng, max_lat = (float(p) for p in parts)
    except (TypeError, ValueError):
        return None
    return min_lng, min_lat, max_lng, max_lat


def case_public_list(*, filters: dict | None = None) -> QuerySet:
    """Cases the public may see (not rejected, not merged), newest first. Filters:
    category (code), state (one or a list), jurisdiction (code: that subtree), bbox
    ("min_lng,min_lat,max_lng,max_lat")."""
    f = filters or {}
    qs = Case.objects.exclude(state__in=HIDDEN_FROM_PUBLIC).select_related("category", "jurisdiction")
    if f.get("category"):
        qs = qs.filter(category__code=f["category"])
    if f.get("state"):
        states = f["state"] if isinstance(f["state"], (list, tuple)) else [f["state"]]
        qs = qs.filter(state__in=states)
    if f.get("jurisdiction"):

        node = Jurisdiction.objects.filter(code=f["jurisdiction"]).first()
        qs = qs.filter(jurisdiction__path__startswith=node.path) if node else qs.none()
    box = _bbox(f.get("bbox"))
    if box:
        qs = qs.filter(lng__gte=box[0], lat__gte=box[1], lng__lte=box[2], lat__lte=box[3])
    return qs


def _public_photos(photos) -> list[dict]:
    return [
        {"id": p.pk, "url": p.public_image.url, "stage": p.stage, "width": p.width, "height": p.height}
        for p in photos if p.approved_at and p.public_image
    ]


def case_public_view(*, case: Case) -> dict:
    """Everything the public case page shows, and nothing personal."""
    photos = list(case.photos.all())
    by_event: dict[int, list] = {}
    for p in photos:
        if p.event_id:
            by_event.setdefault(p.event_id, []).append(p)
    events = [
        {
            "action": e.action,
            "label": str(CaseAction(e.action).label) if e.action in CaseAction.values else e.action,
            "state": e.to_state,
            "state_label": str(CaseState(e.to_state).label) if e.to_state in CaseState.values else "",
            "at": e.at,
            # only the public reply: staff notes and the reporter's own comments stay internal
            "note": e.public_note,
            "photos": _public_photos(by_event.get(e.pk, [])),
        }
        for e in case.events.filter(is_public=True).order_by("at", "id")
    ]
    return {
        "number": case.number,
        "category": case.category.code,
        "category_name": case.category.name,
        "category_name_en": case.category.name_en,
        "icon": case.category.icon,
        "state": case.state,
        "label": str(case.get_state_display()),
        "lat": case.lat,
        "lng": case.lng,
        "address": case.address,
        "description": case.description,
        "submitted_at": case.submitted_at,
        # a reopened case is not closed: its old closing time was cleared when reopened
        "closed_at": case.closed_at if case.state in FINISHED_STATES else None,
        "jurisdiction": {"code": case.jurisdiction.code, "name": case.jurisdiction.name},
        "department": case.department.name if case.department_id else "",
        "reporter": public_reporter_name(case),
        "supporter_count": case.supporter_count,
        "rating": case.rating if case.state in FINISHED_STATES else None,
        "photos": _public_photos(photos),
        "events": events,
    }


def case_public_counts(*, jurisdiction=None, months: int = 12) -> dict:
    """Counts per category and per month (Asia/Shanghai months) of public cases."""
    qs = Case.objects.exclude(state__in=HIDDEN_FROM_PUBLIC)
    if jurisdiction:

        node = jurisdiction if isinstance(jurisdiction, Jurisdiction) else (
            Jurisdiction.objects.filter(code=str(jurisdiction)).first())
        qs = qs.filter(jurisdiction__path__startswith=node.path) if node else qs.none()
    done = Q(state__in=FINISHED_STATES)
    by_category = [
        {"code": r["category__code"], "name": r["category__name"], "count": r["n"], "open": r["n"] - r["closed"],
         "closed": r["closed"]}
        for r in qs.values("category__code", "category__name")
        .annotate(n=Count("id"), closed=Count("id", filter=done)).order_by("-n", "category__code")
    ]
    months = max(1, min(int(months or 12), 120))
    now = timezone.localtime(timezone.now())
    back = now.year * 12 + (now.month - 1) - (months - 1)
    first = now.replace(year=back // 12, month=back % 12 + 1, day=1, hour=0, minute=0, second=0, microsecond=0)
    rows = {
        timezone.localtime(r["m"]).strftime("%Y-%m") if isinstance(r["m"], datetime) else r["m"].strftime("%Y-%m"):
        (r["n"], r["closed"])
        for r in qs.filter(submitted_at__gte=first).annotate(m=TruncMonth("submitted_at"))
        .values("m").annotate(n=Count("id"), closed=Count("id", filter=done)).order_by("m")
    }
    by_month = []
    y, m = first.year, first.month
    for _ in range(months):
        key = f"{y:04d}-{m:02d}"
        n, closed = rows.get(key, (0, 0))
        by_month.append({"month": key, "count": n, "closed": closed})
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return {"by_category": by_category, "by_month": by_month}


def cases_of_reporter(*, actor) -> QuerySet:
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    return Case.objects.filter(reporter=actor).select_related("category", "jurisdiction")


# ---- staff ---------------------------------------------------------------------------


def _staff_qs() -> QuerySet:
    return Case.objects.select_related("category", "jurisdiction", "department", "assignee", "reporter")


def case_staff_list(*, actor, filters: dict | None = None) -> QuerySet:
    """Cases inside the actor's reports.view scope. Filters: state (one or a list),
    category (code), department (code or id), assignee ("me" or an id), overdue (bool),
    q (number, address or description), due_before (datetime), jurisdiction (code)."""
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    if not permissions.has_perm_anywhere(actor, "reports.view"):
        raise PermissionDenied()
    qs = permissions.restrict(_staff_qs(), actor, "reports.view", path_field="jurisdiction__path")
    f = filters or {}
    if f.get("state"):
        states = f["state"] if isinstance(f["state"], (list, tuple)) else str(f["state"]).split(",")
        qs = qs.filter(state__in=states)
    if f.get("category"):
        qs = qs.filter(category__code=f["category"])
    if f.get("department"):
        dept = str(f["department"])
        qs = qs.filter(department_id=int(dept)) if dept.isdigit() else qs.filter(department__code=dept)
    if f.get("assignee"):
        who = f["assignee"]
        if who == "me":
            qs = qs.filter(assignee=actor)
        elif str(who).isdigit():
            qs = qs.filter(assignee_id=int(who))
        else:
            qs = qs.none()
    if f.get("overdue") not in (None, ""):
        overdue = f["overdue"]
        if isinstance(overdue, str):
            overdue = overdue.lower() in ("1", "true", "yes", "on")
        now = timezone.now()
        late = Q(state__in=OPEN_STATES, stage_due_at__lte=now)
        qs = qs.filter(late) if overdue else qs.exclude(late)
    if f.get("q"):
        q = str(f["q"]).strip()
        qs = qs.filter(Q(number__icontains=q) | Q(address__icontains=q) | Q(description__icontains=q))
    if f.get("due_before"):
        qs = qs.filter(stage_due_at__lte=f["due_before"])
    if f.get("jurisdiction"):

        node = Jurisdiction.objects.filter(code=f["jurisdiction"]).first()
        qs = qs.filter(jurisdiction__path__startswith=node.path) if node else qs.none()
    return qs


def case_staff_get(*, actor, number) -> Case:
    """One case for staff (with the reporter's identity and contact): inside the
    actor's reports.view scope, else OutOfJurisdiction. The read is audited."""
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    if not permissions.has_perm_anywhere(actor, "reports.view"):
        raise PermissionDenied()
    case = _staff_qs().filter(number=str(number or "").strip()).first()
    if case is None:
        raise E.CaseNotFound()
    if not permissions.can(actor, "reports.view", case.jurisdiction):
        raise OutOfJurisdiction()
    audit_record(actor=actor, action=AuditAction.READ, obj=case, summary=f"case detail {case.number}",
                 jurisdiction_path=case.jurisdiction.path)
    return case


def case_inbox(*, actor) -> QuerySet:
    """Open cases assigned to the actor or to their departments (where they hold
    reports.handle), soonest deadline first."""
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    depts = DepartmentMember.objects.filter(user=actor).values("department_id")
    qs = _staff_qs().filter(state__in=OPEN_STATES).filter(Q(assignee=actor) | Q(department_id__in=depts))
    qs = permissions.restrict(qs, actor, "reports.handle", path_field="jurisdiction__path")
    return qs.order_by("stage_due_at", "submitted_at", "id")


def case_actions_for(*, actor, case: Case) -> list[str]:
    """The actions ``actor`` may take on ``case`` now (the table and their kinds)."""
    kinds = workflow.case_actor_kinds(actor, case)
    if not kinds:
        return []
    out = []
    pending = None
    for action in workflow.actions_from(case.state):
        if action in NOT_OFFERED:
            continue
        _to, allowed = workflow.TRANSITIONS[(case.state, action)]
        if kinds & allowed:
            if action in (CaseAction.REQUEST_EXTENSION, CaseAction.DECIDE_EXTENSION):
                if pending is None:
                    pending = ExtensionRequest.objects.filter(case=case, state=ExtensionState.PENDING).exists()
                if pending != (action == CaseAction.DECIDE_EXTENSION):
                    continue
            # the reporter's 7-day window; the centre may reopen after a follow-up call at any time
            if (action == CaseAction.REOPEN and case.state in FINISHED_STATES and case.closed_at
                    and Actor.DISPATCHER not in kinds):
                last = case.events.filter(action=CaseAction.CLOSE).order_by("-at").values_list("at", flat=True).first()
                if timezone.now() - (last or case.closed_at) > timedelta(days=workflow.REOPEN_DAYS):
                    continue
            out.append(str(action))
    return out


def case_timeline(*, case: Case, public_only: bool = False) -> list[CaseEvent]:
    """The case's timeline. ``public_only``: the public lines, each carrying only what the
    public may read — ``note`` is the public reply (never the internal note or a
    reporter's comment) and ``data`` only the rating (the instances are not saved)."""
    qs = case.events.select_related("actor").prefetch_related("photos").order_by("at", "id")
    if not public_only:
        return list(qs)
    events = list(qs.filter(is_public=True))
    for e in events:
        e.note = e.public_note
        data = e.data or {}
        e.data = {"rating": data["rating"]} if e.action == CaseAction.EVALUATE and "rating" in data else {}
    return events


def reply_templates_for(*, actor, action) -> QuerySet:
    """Templates for ``action``: the everywhere ones and those of nodes in the actor's
    scope or above it."""
    qs = ReplyTemplate.objects.filter(action=str(action))
    paths = permissions.scope_paths(actor, "reports.view")
    if not paths:
        return qs.filter(jurisdiction__isnull=True)
    cond = Q(jurisdiction__isnull=True)
    for p in paths:
        cond |= Q(jurisdiction__path__startswith=p)
        cond |= Q(jurisdiction__path__in=ancestor_paths(p))
    return qs.filter(cond)
