"""Reads of the reports set-up: departments, working calendars, the grid duty roster,
reply templates and the categories as admins see them (inactive ones included)."""

from __future__ import annotations

from datetime import datetime
from functools import reduce
from operator import or_

from django.db.models import Count, Max, Q, QuerySet

from yizhan.accounts.models import RoleGrant, User
from yizhan.core import permissions
from yizhan.core.errors import AppError
from yizhan.core.pii import normalize_phone
from yizhan.core.process_cache import ProcessCache
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.jurisdictions.selectors import ancestor_paths
from yizhan.reports import errors as E
from yizhan.reports.calendar import DEFAULT_HOURS
from yizhan.reports.models import (
    Category,
    CategorySetting,
    Department,
    GridDuty,
    ReplyTemplate,
    WorkCalendar,
)
from yizhan.stations.hours import SHANGHAI

__all__ = [
    "department_list",
    "department_get",
    "calendar_get",
    "calendar_jurisdictions",
    "grid_duty_list",
    "grid_duty_users_at",
    "category_settings_list",
    "reply_template_list",
    "setup_jurisdictions",
    "setup_user_find",
    "grid_workers_for",
    "category_effective",
    "category_override_for",
    "category_settings_forget",
    "EffectiveCategory",
    "OVERRIDE_FIELDS",
]

CONFIGURE = "reports.configure"


def department_list(*, actor, perm: str = "reports.view", include_ancestors: bool = True,
                    jurisdiction=None, active_only: bool = False) -> QuerySet:
    """Departments the actor works with: those inside their scope for ``perm`` and,
    with ``include_ancestors``, those of the nodes above it (a community dispatcher
    dispatches to the district's departments). Annotated with ``member_count``."""
    paths = permissions.scope_paths(actor, perm)
    qs = Department.objects.select_related("jurisdiction").annotate(member_count=Count("memberships"))
    if not paths:
        return qs.none()
    conds = [Q(jurisdiction__path__startswith=p) for p in paths]
    if include_ancestors:
        conds.append(Q(jurisdiction__path__in={a for p in paths for a in ancestor_paths(p)}))
    qs = qs.filter(reduce(or_, conds))
    if jurisdiction is not None:
        qs = qs.filter(jurisdiction=jurisdiction)
    if active_only:
        qs = qs.filter(active=True)
    return qs.order_by("jurisdiction__path", "code")


def department_get(*, actor, pk, perm: str = CONFIGURE) -> Department:
    """One department the actor may configure (NotFound otherwise: no leak of which exist)."""
    dept = department_list(actor=actor, perm=perm, include_ancestors=False).filter(pk=pk).first()
    if dept is None:
        raise E.DepartmentNotFound()
    return dept


def calendar_get(*, jurisdiction) -> dict:
    """The calendar that applies to ``jurisdiction``: ``{"jurisdiction": code, "source":
    code of the node whose calendar it is (None: the default), "own": bool, "hours",
    "days": [{"date", "is_workday", "intervals", "note"}]}``."""

    codes = [c for c in jurisdiction.path.split("/") if c]
    cal = (WorkCalendar.objects.filter(jurisdiction__code__in=codes).select_related("jurisdiction")
           .order_by("-jurisdiction__depth").first())
    if cal is None:
        return {"jurisdiction": jurisdiction.code, "source": None, "own": False, "hours": DEFAULT_HOURS, "days": []}
    return {
        "jurisdiction": jurisdiction.code,
        "source": cal.jurisdiction.code,
        "own": cal.jurisdiction_id == jurisdiction.pk,
        "hours": cal.hours,
        "days": [{"date": d.date.isoformat(), "is_workday": d.is_workday, "intervals": d.intervals, "note": d.note}
                 for d in cal.days.all()],
    }


def setup_jurisdictions(*, actor, levels=None) -> list:
    """Nodes the actor configures (``reports.configure``), optionally of some levels."""

    qs = permissions.restrict(Jurisdiction.objects.all(), actor, CONFIGURE, path_field="path")
    if levels:
        qs = qs.filter(level__in=levels)
    return list(qs.order_by("path"))


def calendar_jurisdictions(*, actor) -> list:
    """Where the actor may set a working calendar: their cities and districts."""
    return setup_jurisdictions(actor=actor, levels=("city", "district"))


def grid_duty_list(*, actor, grid=None) -> QuerySet:
    qs = permissions.restrict(GridDuty.objects.select_related("grid", "user"), actor, "reports.view",
                              path_field="grid__path")
    if grid is not None:
        qs = qs.filter(grid=grid)
    return qs.order_by("grid__path", "start_time", "user__username")


def _minute(t) -> int:
    return t.hour * 60 + t.minute


def grid_duty_users_at(*, grid, at: datetime) -> list:
    """Users on duty for ``grid`` at ``at`` (weekday and time of day in Asia/Shanghai;
    a shift whose end is before its start runs past midnight into the next day)."""

    local = at.astimezone(SHANGHAI)
    now, weekday = local.hour * 60 + local.minute, local.weekday()
    users = []
    for duty in GridDuty.objects.filter(grid=grid).select_related("user").order_by("start_time", "pk"):
        start, end = _minute(duty.start_time), _minute(duty.end_time)
        days = set(duty.weekdays or [])
        if start < end:
            on = weekday in days and start <= now < end
        else:  # overnight: the evening of a duty day, or the small hours after one
            on = (weekday in days and now >= start) or ((weekday - 1) % 7 in days and now < end)
        if on and duty.user.is_active:
            users.append(duty.user)
    return users


def category_settings_list(*, actor) -> QuerySet:
    """Every category, inactive ones too, for the settings page (configure anywhere)."""
    permissions.require(actor, CONFIGURE)
    return Category.objects.order_by("kind", "sort", "code")  # the taxonomy's own order (sort is global)


def reply_template_list(*, actor) -> QuerySet:
    """Templates the actor may edit: of nodes in their configure scope, plus the
    everywhere ones (listed for all, editable by city admins)."""
    paths = permissions.scope_paths(actor, CONFIGURE)
    if not paths:
        return ReplyTemplate.objects.none()
    cond = reduce(or_, (Q(jurisdiction__path__startswith=p) for p in paths)) | Q(jurisdiction__isnull=True)
    return ReplyTemplate.objects.filter(cond).select_related("jurisdiction").order_by("action", "title")


def setup_user_find(*, actor, identifier: str):
    """The active user with this username or phone, for adding to a department
    (configure anywhere); NotFound otherwise."""

    permissions.require(actor, CONFIGURE)
    text = (identifier or "").strip()
    cond = Q(username=text)
    try:
        cond |= Q(phone=normalize_phone(text))
    except AppError:  # not a phone number: the username alone
        pass
    user = User.objects.filter(cond, is_active=True).first() if text else None
    if user is None:
        raise E.UserNotFound()
    return user


def grid_workers_for(*, actor) -> list[tuple]:
    """(user, grid) pairs: grid workers granted on grids the actor configures."""

    paths = permissions.scope_paths(actor, CONFIGURE)
    if not paths:
        return []
    grants = (RoleGrant.objects.filter(role="grid_worker", user__is_active=True)
              .filter(reduce(or_, (Q(jurisdiction__path__startswith=p) for p in paths)))
              .select_related("user", "jurisdiction").order_by("jurisdiction__path", "user__username"))
    return [(g.user, g.jurisdiction) for g in grants]


# ---- a category as it applies in one place (district overrides) ---------------------

OVERRIDE_FIELDS = ("department_code", "urgency", "clock", "accept_minutes", "dispatch_minutes", "handle_minutes",
                   "verify_minutes", "close_minutes", "active")
OVERRIDE_STAMP_SECONDS = 5.0


class EffectiveCategory:
    """A category with a node's overrides applied: the attributes of ``OVERRIDE_FIELDS``
    come from the deepest ``CategorySetting`` on the node or its ancestors (``source``,
    the overriding node's id; None = the platform default), every other attribute from
    the category itself."""

    def __init__(self, category: Category, values: dict, source: int | None = None):
        self.category = category
        self.source = source
        self.overridden = source is not None
        self.__dict__.update(values)

    def __getattr__(self, name):  # only for what the override does not carry
        if name == "category":
            raise AttributeError(name)
        return getattr(self.category, name)


def _override_stamp() -> tuple:


    agg = CategorySetting.objects.aggregate(n=Count("id"), m=Max("updated_at"), i=Max("id"))
    return agg["n"], agg["m"], agg["i"]


def _override_build(stamp) -> dict[str, list]:
    """{category code: [(path, node id, values)], deepest first}."""

    by_code: dict[str, list] = {}
    rows = CategorySetting.objects.values_list("category__code", "jurisdiction__path", "jurisdiction_id",
                                               *OVERRIDE_FIELDS)
    for code, path, node_id, *values in rows:
        by_code.setdefault(code, []).append((path, node_id, dict(zip(OVERRIDE_FIELDS, values, strict=True))))
    for entries in by_code.values():
        entries.sort(key=lambda e: -len(e[0]))  # deepest first
    return by_code


# The overrides by category code, kept per process; the table's stamp is checked at most
# every few seconds and the setup services forget it on every change.
_override_index = ProcessCache("reports.category_settings", build=_override_build, stamp=_override_stamp,
                               refresh_default=OVERRIDE_STAMP_SECONDS)


def _overrides() -> dict[str, list]:
    return _override_index.get()


def category_settings_forget() -> None:
    _override_index.forget()


def category_override_for(*, code: str, path: str) -> tuple[int, dict] | None:
    """(node id, values) of the deepest override of category ``code`` on the node of
    ``path`` or an ancestor, else None."""
    for p, node_id, values in _overrides().get(code, ()):
        if path.startswith(p):
            return node_id, values
    return None


def category_effective(*, category: Category, jurisdiction=None) -> EffectiveCategory:
    """``category`` as it applies at ``jurisdiction`` (a node or a path; None = the
    platform default): department, urgency, clock, stage limits and active from the
    deepest override among the node and its ancestors, else from the category."""
    path = getattr(jurisdiction, "path", jurisdiction)
    found = category_override_for(code=category.code, path=path) if path else None
    if found is None:
        return EffectiveCategory(category, {f: getattr(category, f) for f in OVERRIDE_FIELDS})
    return EffectiveCategory(category, dict(found[1]), source=found[0])
