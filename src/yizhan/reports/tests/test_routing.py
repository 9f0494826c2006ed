"""Routing: point → deepest node, category → deepest active department covering it,
grid → worker on duty (Asia/Shanghai) else the one with the fewest open cases; the
in-process index, its invalidation and its speed."""

import time as _time
from datetime import UTC, datetime, time

import pytest

from yizhan.core.testing.factories import make_staff
from yizhan.reports import routing
from yizhan.reports import services as svc
from yizhan.reports.models import GridDuty
from yizhan.reports.tests.factories import (
    make_case,
    make_category,
    make_department,
    make_grid_worker,
)

pytestmark = pytest.mark.django_db

# Monday 2026-11-23 09:00 and 20:00 in Shanghai (UTC+8)
MON_9 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
MON_20 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TUE_3 = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)  # Tuesday 03:00 Shanghai
SUN_9 = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fast(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    routing.routing_index_invalidate()
    yield
    routing.routing_index_invalidate()


@pytest.fixture
def cat(db):
    return make_category("litter", department_code="sanitation")


def test_point_goes_to_the_deepest_node_and_the_deepest_active_department(tree, cat):
    district = make_department(jurisdiction=tree.district, code="sanitation", name="区环卫所")
    make_department(jurisdiction=tree.other_district, code="sanitation", name="吴中环卫")
    lat, lng = tree.point(tree.grids[1])
    r = routing.route(lat=lat, lng=lng, category="litter", fresh=True)
    assert r.jurisdiction == tree.grids[1] and r.department_id == district.pk
    assert [n.code for n in r.chain][:2] == [tree.grids[1].code, tree.community.code]
    street = make_department(jurisdiction=tree.street, code="sanitation", name="街道环卫")
    assert routing.route(lat=lat, lng=lng, category="litter", fresh=True).department_id == street.pk
    street.active = False
    street.save()
    assert routing.route(lat=lat, lng=lng, category="litter", fresh=True).department_id == district.pk
    # the other district's point gets the other district's department
    far = routing.route(lat=tree.far_grid.center_lat, lng=tree.far_grid.center_lng, category="litter", fresh=True)
    assert far.jurisdiction == tree.far_grid and far.department_id != district.pk
    # no department with the code anywhere above: none
    make_category("fire", department_code="fire")
    assert routing.route(lat=lat, lng=lng, category="fire", fresh=True).department_id is None
    assert routing.route(lat=lat, lng=lng, category="unknown", fresh=True).department_id is None
    assert routing.route(lat=10.0, lng=10.0, category="litter") is None
    assert routing.department_for(jurisdiction=tree.grids[1], department_code="sanitation") == district


def test_duty_roster_in_shanghai_time_else_fewest_open_cases(tree, cat):
    day = make_grid_worker(tree.grid)
    night = make_grid_worker(tree.grid)
    GridDuty.objects.create(grid=tree.grid, user=day, weekdays=[0, 1, 2, 3, 4], start_time=time(8, 30),
                            end_time=time(18, 0))
    GridDuty.objects.create(grid=tree.grid, user=night, weekdays=[0], start_time=time(22, 0), end_time=time(6, 0))
    assert routing.assignee_id_for(grid=tree.grid, at=MON_9, fresh=True) == day.pk
    assert routing.assignee_id_for(grid=tree.grid, at=TUE_3, fresh=True) == night.pk  # Monday's night shift
    # nobody on duty: the grid worker with the fewest open cases
    dispatcher = make_staff("community_admin", tree.community)
    make_department(jurisdiction=tree.district, code="sanitation")
    for _ in range(2):
        case = make_case(category=cat, jurisdiction=tree.grid)
        svc.case_accept(actor=dispatcher, case=case)
        svc.case_dispatch(actor=dispatcher, case=case, assignee=day)
    assert routing.assignee_id_for(grid=tree.grid, at=MON_20, fresh=True) == night.pk
    assert routing.assignee_id_for(grid=tree.grid, at=SUN_9, fresh=True) == night.pk
    # a grid with no grid worker: nobody
    assert routing.assignee_id_for(grid=tree.grids[2], at=MON_9, fresh=True) is None
    lat, lng = tree.point(tree.grid)
    assert routing.route(lat=lat, lng=lng, category="litter", at=MON_9, fresh=True).assignee_id == day.pk
    assert routing.route(lat=lat, lng=lng, category="litter", at=MON_9, with_assignee=False).assignee_id is None


def test_dispatch_without_a_department_uses_routing_and_the_grid_worker_on_duty(tree, cat):
    from yizhan.core.errors import AppError

    dispatcher = make_staff("community_admin", tree.community)
    case = make_case(category=cat, jurisdiction=tree.grid)
    svc.case_accept(actor=dispatcher, case=case)
    with pytest.raises(AppError) as exc:  # no sanitation department yet
        svc.case_dispatch(actor=dispatcher, case=case)
    assert (exc.value.code, exc.value.field) == ("no_department", "department")
    dept = make_department(jurisdiction=tree.district, code="sanitation")
    worker = make_grid_worker(tree.grid)
    svc.case_dispatch(actor=dispatcher, case=case)
    assert case.department == dept and case.assignee == worker
    # a department that does not cover the case, or an assignee without the right there, is refused
    case2 = make_case(category=cat, jurisdiction=tree.grid)
    svc.case_accept(actor=dispatcher, case=case2)
    far = make_department(jurisdiction=tree.other_district, code="far")
    with pytest.raises(AppError) as exc:
        svc.case_dispatch(actor=dispatcher, case=case2, department=far)
    assert exc.value.code == "unknown_department"
    with pytest.raises(AppError) as exc:
        svc.case_dispatch(actor=dispatcher, case=case2, assignee=make_grid_worker(tree.grids[3]))
    assert exc.value.code == "invalid_assignee"
    case2.refresh_from_db()
    assert case2.state == "accepted"


def test_index_sees_changes_after_invalidation_or_stamp(tree, cat):
    lat, lng = tree.point(tree.grid)
    assert routing.route(lat=lat, lng=lng, category="litter").department_id is None
    dept = make_department(jurisdiction=tree.district, code="sanitation")
    # the fast path looks at the stamp at most every STAMP_CHECK_SECONDS ...
    assert routing.route(lat=lat, lng=lng, category="litter").department_id is None
    # ... a service asks for a fresh answer, and invalidation forgets at once
    assert routing.route(lat=lat, lng=lng, category="litter", fresh=True).department_id == dept.pk
    routing.routing_index_invalidate()
    assert routing.route(lat=lat, lng=lng, category="litter").department_id == dept.pk


def test_routing_speed(tree, cat):
    """Point → grid + department in process. The goal is >= 100,000 lookups/s on one
    core; the assertion leaves room for a loaded shared CI machine."""
    make_department(jurisdiction=tree.district, code="sanitation")
    w = make_grid_worker(tree.grid)
    GridDuty.objects.create(grid=tree.grid, user=w, weekdays=list(range(7)), start_time=time(0), end_time=time(0))
    import random

    rnd = random.Random(7)
    pts = [(31.30 + rnd.random() * 0.10, 120.35 + rnd.random() * 0.10) for _ in range(2000)]
    routing.route(lat=pts[0][0], lng=pts[0][1], category="litter", fresh=True)
    n = 0
    start = _time.perf_counter()
    while _time.perf_counter() - start < 0.5:
        for lat, lng in pts:
            routing.route(lat=lat, lng=lng, category="litter", with_assignee=False)
        n += len(pts)
    rate = n / (_time.perf_counter() - start)
    print(f"routing: {rate:,.0f} lookups/s")
    assert rate > 20_000


def test_a_district_override_sets_deadline_urgency_and_department_of_its_cases_only(tree, cat):
    from datetime import timedelta

    from yizhan.reports.models import Department

    district_admin = make_staff("district_admin", tree.district)
    dispatcher = make_staff("community_admin", tree.community)
    make_department(jurisdiction=tree.district, code="sanitation", name="区环卫所")
    urban = make_department(jurisdiction=tree.district, code="urban", name="城管")
    far_sanitation = make_department(jurisdiction=tree.other_district, code="sanitation", name="吴中环卫")
    make_department(jurisdiction=tree.other_district, code="urban", name="吴中城管")
    before = make_case(category=cat, jurisdiction=tree.grid)
    svc.category_update(actor=district_admin, category=cat, jurisdiction=tree.district, data={
        "accept_minutes": 7, "clock": "natural", "urgency": "urgent", "department_code": "urban"})
    here = make_case(category=cat, jurisdiction=tree.grid)
    there = make_case(category=cat, jurisdiction=tree.far_grid)
    assert here.stage_due_at - here.stage_started_at == timedelta(minutes=7) and here.urgency == "urgent"
    assert there.urgency == cat.urgency == "normal"
    assert there.stage_due_at - there.stage_started_at != timedelta(minutes=7)
    assert (there.stage_due_at, there.urgency) != (here.stage_due_at, here.urgency)
    assert before.stage_due_at - before.stage_started_at != timedelta(minutes=7)  # existing cases keep theirs
    lat, lng = tree.point(tree.grid)
    assert routing.route(lat=lat, lng=lng, category="litter", fresh=True).department_id == urban.pk
    lat, lng = tree.point(tree.far_grid)
    assert routing.route(lat=lat, lng=lng, category="litter", fresh=True).department_id == far_sanitation.pk
    svc.case_accept(actor=dispatcher, case=here)
    make_grid_worker(tree.grid)
    svc.case_dispatch(actor=dispatcher, case=here)
    assert here.department == urban
    # reset: back to the platform default for new cases
    svc.category_override_reset(actor=district_admin, category=cat, jurisdiction=tree.district)
    again = make_case(category=cat, jurisdiction=tree.grid)
    assert again.urgency == "normal" and again.stage_due_at - again.stage_started_at != timedelta(minutes=7)
    assert Department.objects.count() == 4
