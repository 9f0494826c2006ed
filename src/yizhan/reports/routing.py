"""Where a case goes: point → jurisdiction, category → department, grid → grid worker.

* the jurisdiction is the deepest node containing the point (``jurisdictions.locate``:
  a grid where there are grids);
* the department is the deepest *active* ``Department`` with the category's
  ``department_code`` whose jurisdiction is the case's node or one of its ancestors;
* the assignee is the grid worker on duty for the grid at that moment (``GridDuty``,
  weekday and times in Asia/Shanghai), else the grid's grid worker with the fewest
  open cases.

Everything but the "fewest open cases" fallback is answered from an in-process index
(no query per lookup), so routing alone runs well above 100,000 lookups/s per core.
As with ``locate.py`` the index is rebuilt lazily: at once after
``routing_index_invalidate`` (the setup services call it on commit), and otherwise
when a cheap stamp of the tables (count, max id, max updated_at) has changed — looked
at most every ``STAMP_CHECK_SECONDS`` on the fast path, and on every call when a
service asks for ``fresh=True``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Max
from django.utils import timezone

from yizhan.accounts.models import RoleGrant
from yizhan.core.process_cache import ProcessCache
from yizhan.core.tz import SHANGHAI
from yizhan.jurisdictions.locate import locate
from yizhan.jurisdictions.selectors import codes_deepest_first as _codes_deepest_first
from yizhan.reports.models import OPEN_STATES, Case, Category, Department, GridDuty
from yizhan.reports.selectors.setup import category_override_for

STAMP_CHECK_SECONDS = 5.0
GRID_WORKER_ROLE = "grid_worker"


@dataclass
class _Index:
    stamp: tuple
    # department_code -> {jurisdiction_code: department_id}
    departments: dict[str, dict[str, int]] = field(default_factory=dict)
    # category code -> department_code (active categories)
    categories: dict[str, str] = field(default_factory=dict)
    # grid id -> [(weekdays frozenset, start minute, end minute, user id)]
    duties: dict[int, list[tuple[frozenset, int, int, int]]] = field(default_factory=dict)
    # grid id -> user ids holding grid_worker on exactly that grid
    grid_workers: dict[int, tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Route:
    jurisdiction: object  # Jurisdiction (the deepest node)
    chain: tuple  # (node, parent, ..., root)
    department_id: int | None
    assignee_id: int | None


def _stamp() -> tuple:

    out = []
    for model in (Department, GridDuty, Category, RoleGrant):
        agg = model.objects.aggregate(n=Count("id"), m=Max("updated_at"), i=Max("id"))
        out.append((agg["n"], agg["m"], agg["i"]))
    return tuple(out)


def _minutes(t) -> int:
    return t.hour * 60 + t.minute


def _build(stamp) -> _Index:

    idx = _Index(stamp=stamp)
    for code, jcode, pk in Department.objects.filter(active=True).values_list("code", "jurisdiction__code", "id"):
        idx.departments.setdefault(code, {})[jcode] = pk
    idx.categories = dict(Category.objects.filter(active=True).values_list("code", "department_code"))
    for grid_id, user_id, weekdays, start, end in GridDuty.objects.filter(user__is_active=True).values_list(
        "grid_id", "user_id", "weekdays", "start_time", "end_time"
    ).order_by("grid_id", "start_time", "id"):
        days = frozenset(int(d) for d in (weekdays or []) if str(d).lstrip("-").isdigit())
        idx.duties.setdefault(grid_id, []).append((days, _minutes(start), _minutes(end), user_id))
    workers: dict[int, list[int]] = {}
    for jid, uid in RoleGrant.objects.filter(role=GRID_WORKER_ROLE, user__is_active=True).values_list(
        "jurisdiction_id", "user_id"
    ).order_by("jurisdiction_id", "user_id"):
        workers.setdefault(jid, []).append(uid)
    idx.grid_workers = {k: tuple(v) for k, v in workers.items()}
    return idx


_index = ProcessCache("reports.routing", build=_build, stamp=_stamp, refresh_default=STAMP_CHECK_SECONDS)


def _current(*, fresh: bool = False) -> _Index:
    return _index.get(fresh=fresh)


def routing_index_invalidate() -> None:
    """Forget the index; the next lookup rebuilds it (call on commit after changing
    departments, duty rosters, categories or grid-worker grants)."""
    _index.forget()


# ---- lookups -------------------------------------------------------------------------


def department_id_for(*, path: str, department_code: str, fresh: bool = False) -> int | None:
    """The deepest active department with ``department_code`` on the node of ``path``
    or one of its ancestors."""
    by_node = _current(fresh=fresh).departments.get(department_code)
    if not by_node:
        return None
    for code in _codes_deepest_first(path):
        pk = by_node.get(code)
        if pk is not None:
            return pk
    return None


def department_for(*, jurisdiction, department_code: str):

    pk = department_id_for(path=jurisdiction.path, department_code=department_code, fresh=True)
    return Department.objects.select_related("jurisdiction").filter(pk=pk).first() if pk else None


def _on_duty(duties, at_local: datetime) -> int | None:
    weekday, minute = at_local.weekday(), at_local.hour * 60 + at_local.minute
    yesterday = (weekday - 1) % 7
    for days, start, end, user_id in duties:
        if start < end:
            if weekday in days and start <= minute < end:
                return user_id
        elif start > end:  # overnight shift: from start on its day until end the next morning
            if (weekday in days and minute >= start) or (yesterday in days and minute < end):
                return user_id
        elif weekday in days:  # start == end: the whole day
            return user_id
    return None


def on_duty_id(*, grid_id: int, at: datetime | None = None, fresh: bool = False) -> int | None:
    duties = _current(fresh=fresh).duties.get(grid_id)
    if not duties:
        return None
    return _on_duty(duties, (at or timezone.now()).astimezone(SHANGHAI))


def _fewest_open(user_ids: tuple[int, ...]) -> int | None:
    if not user_ids:
        return None
    if len(user_ids) == 1:
        return user_ids[0]

    loads = dict(
        Case.objects.filter(assignee_id__in=user_ids, state__in=OPEN_STATES)
        .values_list("assignee_id").annotate(n=Count("id")).values_list("assignee_id", "n")
    )
    return min(user_ids, key=lambda uid: (loads.get(uid, 0), uid))


def assignee_id_for(*, grid, at: datetime | None = None, fresh: bool = False) -> int | None:
    """The grid worker on duty for ``grid`` at ``at``, else its grid worker with the
    fewest open cases (None when the grid has none)."""
    idx = _current(fresh=fresh)
    grid_id = grid if isinstance(grid, int) else grid.pk
    duties = idx.duties.get(grid_id)
    if duties:
        uid = _on_duty(duties, (at or timezone.now()).astimezone(SHANGHAI))
        if uid is not None:
            return uid
    return _fewest_open(idx.grid_workers.get(grid_id, ()))


def category_department_code(code: str, *, fresh: bool = False) -> str | None:
    return _current(fresh=fresh).categories.get(code)


def route(*, lat: float, lng: float, category: str, at: datetime | None = None, fresh: bool = False,
          with_assignee: bool = True) -> Route | None:
    """Point + category code → (deepest node, department id, assignee id); None when
    the point is outside every node. In memory except the "fewest open" fallback
    (skipped with ``with_assignee=False``: point → grid + department only)."""
    chain = locate(lat, lng)
    if not chain:
        return None
    node = chain[0]
    idx = _current(fresh=fresh)
    dept_code = idx.categories.get(category)
    if dept_code:  # a district's own department for the category (CategorySetting), deepest first

        override = category_override_for(code=category, path=node.path)
        if override is not None:
            dept_code = override[1]["department_code"]
    dept_id = None
    if dept_code:
        by_node = idx.departments.get(dept_code)
        if by_node:
            for n in chain:
                dept_id = by_node.get(n.code)
                if dept_id is not None:
                    break
    assignee = None
    duties = idx.duties.get(node.pk) if with_assignee else None
    if duties:
        assignee = _on_duty(duties, (at or timezone.now()).astimezone(SHANGHAI))
    if assignee is None and with_assignee and node.pk in idx.grid_workers:
        assignee = _fewest_open(idx.grid_workers[node.pk])
    return Route(jurisdiction=node, chain=tuple(chain), department_id=dept_id, assignee_id=assignee)


__all__ = [
    "Route",
    "assignee_id_for",
    "category_department_code",
    "department_for",
    "department_id_for",
    "on_duty_id",
    "route",
    "routing_index_invalidate",
]
