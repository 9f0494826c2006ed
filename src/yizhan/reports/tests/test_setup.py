"""Set-up services and selectors: the seeded taxonomy and departments, category edits,
departments and members, the working calendar, the duty roster, reply templates.
Each write is checked against the permission matrix (anonymous / wrong role / wrong
district / allowed) and, on a denial or bad input, that nothing changed."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from django.contrib.auth.models import AnonymousUser

from yizhan.accounts.models import RoleGrant
from yizhan.core.errors import (
    AppError,
    NotAuthenticated,
    NotFound,
    OutOfJurisdiction,
    PermissionDenied,
)
from yizhan.core.models import AuditLog
from yizhan.core.testing.factories import make_staff, make_superuser
from yizhan.reports import selectors, services
from yizhan.reports.calendar import DEFAULT_HOURS, calendar_spec_for, deadline_add
from yizhan.reports.models import (
    CalendarDay,
    Category,
    Department,
    DepartmentMember,
    GridDuty,
    ReplyTemplate,
    WorkCalendar,
)
from yizhan.reports.services.setup import (
    clean_extra_fields,
    default_departments_data,
    taxonomy_data,
)
from yizhan.reports.tests.factories import make_category, make_department, make_grid_worker
from yizhan.stations.hours import SHANGHAI

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(tree):
    return make_staff("district_admin", tree.district)


@pytest.fixture
def city_admin(tree):
    """Configure on the only root: may change platform-wide settings."""
    return make_staff("city_admin", tree.city)


def denied_callers(tree):
    """(caller, the error it must get) for the three denied rows of the matrix."""
    return [
        (AnonymousUser(), NotAuthenticated),
        (make_staff("community_admin", tree.community), PermissionDenied),  # admin, but not configure
        (make_grid_worker(tree.grid), PermissionDenied),
        (make_staff("district_admin", tree.other_district), OutOfJurisdiction),
    ]


def assert_denied(tree, call, snapshot, *, skip_wrong_district=False):
    for caller, error in denied_callers(tree):
        if skip_wrong_district and error is OutOfJurisdiction:
            continue
        before = snapshot()
        audits = AuditLog.objects.count()
        with pytest.raises(error) as info:
            call(caller)
        assert type(info.value) is error, (caller, info.value)
        assert snapshot() == before, f"{caller} changed data although denied"
        assert AuditLog.objects.count() == audits


def rows(model):
    return lambda: sorted(map(repr, model.objects.values()))


# ---- shipped data ----------------------------------------------------------------------


def test_taxonomy_file_is_complete_and_valid():
    cats = taxonomy_data()
    assert 30 <= len(cats) <= 45
    codes = [c["code"] for c in cats]
    assert len(set(codes)) == len(codes)
    dept_codes = {d["code"] for d in default_departments_data()}
    groups = {c["group"] for c in cats}
    assert {"public_facility", "road_traffic", "greenery", "building", "environment", "advertising",
            "construction", "street_order", "emergency", "fire_hazard"} <= groups
    for c in cats:
        assert c["department_code"] in dept_codes, c["code"]
        assert c["name"] and c["name_en"] and c["icon"] and c["filing_conditions"] and c["closing_conditions"]
        assert all(c[k] > 0 for k in services.LIMIT_FIELDS), c["code"]
        assert clean_extra_fields(c["extra_fields"]) == c["extra_fields"], c["code"]
        if c["clock"] == "natural":  # emergencies: accepted, dispatched and handled within the hour
            assert c["urgency"] == "emergency"
            assert c["accept_minutes"] + c["dispatch_minutes"] + c["handle_minutes"] <= 60, c["code"]
    by_code = {c["code"]: c for c in cats}
    assert by_code["exposed_rubbish"]["handle_minutes"] == 4 * 60
    assert by_code["illegal_structure"]["handle_minutes"] == 15 * 480  # 15 working days of 8 h
    for code in ("manhole_cover", "electric_box", "street_sign", "street_lamp", "elevator", "fire_hydrant",
                 "ground_lock", "blocked_fire_exit", "flying_wire_charging", "electric_box_fire"):
        assert code in by_code
    assert {f["name"]: f["required"] for f in by_code["elevator"]["extra_fields"]} == {"building": True,
                                                                                       "unit": True}
    assert by_code["blocked_fire_exit"]["is_hazard"] and by_code["flying_wire_charging"]["is_hazard"]
    assert by_code["electric_box_fire"]["clock"] == "natural"


def test_taxonomy_load_is_idempotent_and_keeps_admin_edits(city_admin):
    admin = city_admin
    n = len(taxonomy_data())
    assert services.category_taxonomy_load() == n
    assert Category.objects.count() == n
    assert services.category_taxonomy_load() == 0
    cat = Category.objects.get(code="exposed_rubbish")
    assert (cat.kind, cat.group_name, cat.icon, cat.handle_minutes) == ("event", "市容环境", "🚮", 240)
    services.category_update(actor=admin, category=cat, data={"handle_minutes": 120})
    assert services.category_taxonomy_load(actor=admin) == 0
    assert Category.objects.get(code="exposed_rubbish").handle_minutes == 120
    assert services.category_taxonomy_load(actor=admin, overwrite=True) == 1
    assert Category.objects.get(code="exposed_rubbish").handle_minutes == 240


def test_taxonomy_load_denied_for_non_configurers(tree):
    with pytest.raises(PermissionDenied):
        services.category_taxonomy_load(actor=make_staff("community_admin", tree.community))
    with pytest.raises(OutOfJurisdiction):  # platform-wide: a district admin is not enough
        services.category_taxonomy_load(actor=make_staff("district_admin", tree.district))
    assert Category.objects.count() == 0


def test_department_defaults_create_is_idempotent(tree, admin):
    depts = services.department_defaults_create(actor=admin, jurisdiction=tree.district)
    assert [d.code for d in depts] == [d["code"] for d in default_departments_data()]
    assert {"urban", "municipal", "sanitation", "greenery", "fire", "market", "police", "housing",
            "community"} <= {d.code for d in depts}
    urban = next(d for d in depts if d.code == "urban")
    assert (urban.name, urban.jurisdiction) == ("城市管理局", tree.district)
    assert AuditLog.objects.filter(object_type="reports.department").count() == 1
    again = services.department_defaults_create(actor=admin, jurisdiction=tree.district)
    assert [d.pk for d in again] == [d.pk for d in depts]
    assert Department.objects.count() == len(depts)
    assert AuditLog.objects.filter(object_type="reports.department").count() == 1
    assert_denied(tree, lambda a: services.department_defaults_create(actor=a, jurisdiction=tree.district),
                  rows(Department))


# ---- categories ------------------------------------------------------------------------


def test_category_update_changes_limits_and_audits(tree, city_admin):
    admin = city_admin
    cat = make_category(code="exposed_rubbish")
    make_department(jurisdiction=tree.district, code="sanitation", name="环卫处")
    out = services.category_update(actor=admin, category=cat, data={
        "handle_minutes": "120", "accept_minutes": 15, "department_code": "sanitation", "urgency": "urgent",
        "clock": "natural", "is_hazard": True, "filing_conditions": "暴露垃圾",
        "extra_fields": [{"name": "building", "label": "楼栋", "required": True}],
        "code": "ignored",
    })
    cat.refresh_from_db()
    assert out == cat and cat.code == "exposed_rubbish"
    assert (cat.handle_minutes, cat.accept_minutes, cat.department_code, cat.urgency, cat.clock, cat.is_hazard) == (
        120, 15, "sanitation", "urgent", "natural", True)
    assert cat.extra_fields == [{"name": "building", "label": "楼栋", "label_en": "", "required": True,
                                 "type": "text"}]
    log = AuditLog.objects.get(object_type="reports.category", object_id=str(cat.pk))
    assert log.actor == admin and log.action == "update"
    assert log.changes["handle_minutes"] == [240, 120]
    # unchanged data: no audit row
    services.category_update(actor=admin, category=cat, data={"handle_minutes": 120})
    assert AuditLog.objects.filter(object_type="reports.category").count() == 1


def test_category_update_platform_wide_needs_configure_on_every_root(tree, city_admin):
    cat = make_category()
    for district_admin in (make_staff("district_admin", tree.district),
                           make_staff("district_admin", tree.other_district)):
        before = rows(Category)()
        with pytest.raises(OutOfJurisdiction):
            services.category_update(actor=district_admin, category=cat, data={"verify_minutes": 90})
        assert rows(Category)() == before
    services.category_update(actor=city_admin, category=cat, data={"verify_minutes": 90})
    assert Category.objects.get(pk=cat.pk).verify_minutes == 90
    services.category_update(actor=make_superuser(), category=cat, data={"verify_minutes": 91})
    assert Category.objects.get(pk=cat.pk).verify_minutes == 91


def test_category_update_denied(tree):
    cat = make_category()
    assert_denied(tree, lambda a: services.category_update(actor=a, category=cat, data={"handle_minutes": 1}),
                  rows(Category))


def test_category_override_of_a_district_matrix(tree, admin):
    from yizhan.reports.models import CategorySetting

    cat = make_category(code="exposed_rubbish")
    snap = rows(CategorySetting)
    assert_denied(tree, lambda a: services.category_update(actor=a, category=cat, data={"handle_minutes": 30},
                                                           jurisdiction=tree.district), snap)
    before = rows(Category)()
    row = services.category_update(actor=admin, category=cat, data={"handle_minutes": 30, "urgency": "urgent"},
                                   jurisdiction=tree.district)
    assert rows(Category)() == before  # the platform default is untouched
    assert (row.jurisdiction, row.handle_minutes, row.urgency, row.accept_minutes) == (
        tree.district, 30, "urgent", cat.accept_minutes)
    eff = selectors.category_effective(category=cat, jurisdiction=tree.grid)
    assert (eff.handle_minutes, eff.urgency, eff.source, eff.name) == (30, "urgent", tree.district.pk, cat.name)
    other = selectors.category_effective(category=cat, jurisdiction=tree.other_street)
    assert (other.handle_minutes, other.source) == (cat.handle_minutes, None)
    assert AuditLog.objects.filter(object_type="reports.categorysetting", action="create").count() == 1
    # the wrong district admin changes nothing, even on a district it cannot see
    wrong = make_staff("district_admin", tree.other_district)
    before = snap()
    with pytest.raises(OutOfJurisdiction):
        services.category_update(actor=wrong, category=cat, data={"handle_minutes": 1}, jurisdiction=tree.district)
    with pytest.raises(OutOfJurisdiction):
        services.category_override_reset(actor=wrong, category=cat, jurisdiction=tree.district)
    assert snap() == before
    # names and conditions stay platform-wide
    with pytest.raises(AppError) as info:
        services.category_update(actor=admin, category=cat, data={"name": "改名"}, jurisdiction=tree.district)
    assert (info.value.code, info.value.field) == ("not_overridable", "name")
    assert snap() == before
    # reset: back to the platform default
    assert services.category_override_reset(actor=admin, category=cat, jurisdiction=tree.district) is True
    assert not CategorySetting.objects.exists()
    assert selectors.category_effective(category=cat, jurisdiction=tree.grid).handle_minutes == cat.handle_minutes
    assert services.category_override_reset(actor=admin, category=cat, jurisdiction=tree.district) is False


@pytest.mark.parametrize("data, code, field", [
    ({"handle_minutes": 0}, "invalid_limit", "handle_minutes"),
    ({"accept_minutes": -5}, "invalid_limit", "accept_minutes"),
    ({"verify_minutes": "abc"}, "invalid_limit", "verify_minutes"),
    ({"close_minutes": 1.5}, "invalid_limit", "close_minutes"),
    ({"dispatch_minutes": None}, "invalid_limit", "dispatch_minutes"),
    ({"dispatch_minutes": True}, "invalid_limit", "dispatch_minutes"),
    ({"handle_minutes": 10**9}, "invalid_limit", "handle_minutes"),
    ({"department_code": "nobody"}, "unknown_department", "department_code"),
    ({"department_code": "Bad Code"}, "invalid_code", "department_code"),
    ({"clock": "lunar"}, "invalid_clock", "clock"),
    ({"urgency": "whenever"}, "invalid_urgency", "urgency"),
    ({"name": "  "}, "required", "name"),
    ({"name": "长" * 61}, "text_too_long", "name"),
    ({"extra_fields": {"name": "x"}}, "invalid_extra_fields", "extra_fields"),
    ({"extra_fields": [{"name": "Floor", "label": "楼层"}]}, "invalid_extra_fields", "extra_fields"),
    ({"extra_fields": [{"name": "floor"}]}, "invalid_extra_fields", "extra_fields"),
    ({"extra_fields": [{"name": "a", "label": "A"}, {"name": "a", "label": "B"}]}, "invalid_extra_fields",
     "extra_fields"),
    ({"extra_fields": [{"name": "a", "label": "A", "required": "yes"}]}, "invalid_extra_fields", "extra_fields"),
    ({"extra_fields": [{"name": "a", "label": "A", "type": "select"}]}, "invalid_extra_fields", "extra_fields"),
    ({"extra_fields": [{"name": "a", "label": "A", "colour": "red"}]}, "invalid_extra_fields", "extra_fields"),
    ({"extra_fields": "[not json"}, "invalid_extra_fields", "extra_fields"),
])
def test_category_update_rejects_bad_values(city_admin, data, code, field):
    admin = city_admin
    cat = make_category()
    before = rows(Category)()
    with pytest.raises(AppError) as info:
        services.category_update(actor=admin, category=cat, data={"keywords": "changed", **data})
    assert (info.value.code, info.value.field) == (code, field)
    assert info.value.message.zh and info.value.message.en
    assert rows(Category)() == before
    assert not AuditLog.objects.filter(object_type="reports.category").exists()


def test_department_code_from_the_shipped_list_or_the_database_is_accepted(tree, city_admin):
    admin = city_admin
    cat = make_category()
    services.category_update(actor=admin, category=cat, data={"department_code": "fire"})  # in departments.json
    make_department(jurisdiction=tree.district, code="river_chief", name="河长办")
    services.category_update(actor=admin, category=cat, data={"department_code": "river_chief"})
    assert Category.objects.get(pk=cat.pk).department_code == "river_chief"


# ---- departments -----------------------------------------------------------------------


def test_department_create_and_update(tree, admin):
    dept = services.department_create(actor=admin, jurisdiction=tree.district, code="river_chief", name="河长办",
                                      name_en="River chief office", phone="0512-6888 1234")
    assert (dept.code, dept.name, dept.jurisdiction) == ("river_chief", "河长办", tree.district)
    assert AuditLog.objects.filter(object_type="reports.department", action="create").count() == 1
    with pytest.raises(AppError) as info:
        services.department_create(actor=admin, jurisdiction=tree.district, code="river_chief", name="x")
    assert (info.value.code, info.value.field, info.value.status) == ("department_code_taken", "code", 409)
    with pytest.raises(AppError) as info:
        services.department_create(actor=admin, jurisdiction=tree.district, code="河长", name="x")
    assert (info.value.code, info.value.field) == ("invalid_code", "code")
    with pytest.raises(AppError) as info:
        services.department_create(actor=admin, jurisdiction=tree.district, code="ok", name="x", phone="call me")
    assert info.value.field == "phone"
    # the same code in another district is fine (for its own admin)
    other = make_staff("district_admin", tree.other_district)
    services.department_create(actor=other, jurisdiction=tree.other_district, code="river_chief", name="河长办")
    dept = services.department_update(actor=admin, department=dept, name="河湖长制办公室", phone="", active=False)
    assert (dept.name, dept.active) == ("河湖长制办公室", False)
    assert Department.objects.count() == 2


def test_department_create_denied(tree):
    assert_denied(tree, lambda a: services.department_create(actor=a, jurisdiction=tree.district, code="x",
                                                             name="X"), rows(Department))


def test_department_members_get_and_lose_the_handler_role(tree, admin):
    dept = make_department(jurisdiction=tree.district, code="urban")
    fire = make_department(jurisdiction=tree.district, code="fire", name="消防")
    person = make_staff("community_admin", tree.community)
    link = services.department_member_add(actor=admin, department=dept, user=person, is_lead=True)
    assert link.is_lead
    assert RoleGrant.objects.filter(user=person, role="handler", jurisdiction=tree.district).exists()
    services.department_member_add(actor=admin, department=fire, user=person)
    services.department_member_add(actor=admin, department=dept, user=person, is_lead=False)  # update
    assert DepartmentMember.objects.get(department=dept, user=person).is_lead is False
    services.department_member_remove(actor=admin, department=dept, user=person)
    assert RoleGrant.objects.filter(user=person, role="handler").exists()  # still in fire
    services.department_member_remove(actor=admin, department=fire, user=person)
    assert not RoleGrant.objects.filter(user=person, role="handler").exists()
    assert not DepartmentMember.objects.exists()
    with pytest.raises(NotFound):
        services.department_member_remove(actor=admin, department=fire, user=person)


def test_department_member_denied(tree):
    dept = make_department(jurisdiction=tree.district, code="urban")
    person = make_staff("handler", tree.district)

    def snapshot():
        return rows(DepartmentMember)(), rows(RoleGrant)()

    assert_denied(tree, lambda a: services.department_member_add(actor=a, department=dept, user=person), snapshot)
    DepartmentMember.objects.create(department=dept, user=person)
    assert_denied(tree, lambda a: services.department_member_remove(actor=a, department=dept, user=person),
                  snapshot)


def test_department_list_scopes_and_includes_the_departments_above(tree, admin):
    mine = make_department(jurisdiction=tree.district, code="urban")
    far = make_department(jurisdiction=tree.other_district, code="urban")
    street = make_department(jurisdiction=tree.street, code="street_office", name="街道办")
    dispatcher = make_staff("community_admin", tree.community)
    assert set(selectors.department_list(actor=dispatcher)) == {mine, street}
    assert set(selectors.department_list(actor=dispatcher, include_ancestors=False)) == set()
    assert set(selectors.department_list(actor=admin, perm="reports.configure", include_ancestors=False)) == {
        mine, street}
    assert far not in selectors.department_list(actor=admin)
    assert list(selectors.department_list(actor=AnonymousUser())) == []
    assert selectors.department_get(actor=admin, pk=mine.pk) == mine
    with pytest.raises(NotFound):
        selectors.department_get(actor=admin, pk=far.pk)


# ---- working calendar ------------------------------------------------------------------

GUOQING_DAYS = [
    {"date": "2026-10-01", "is_workday": False, "note": "国庆节"},
    *[{"date": f"2026-10-0{d}", "note": "国庆节"} for d in range(2, 8)],
    {"date": "2026-09-20", "is_workday": True, "intervals": [], "note": "国庆调休上班"},
    {"date": "2026-10-10", "is_workday": True, "intervals": [["09:00", "12:00"]], "note": "国庆调休上班"},
]


def test_calendar_set_and_the_clock_follows_it(tree, admin):
    hours = {**DEFAULT_HOURS, "sat": [["9:00", "12:00"]]}
    cal = services.calendar_set(actor=admin, jurisdiction=tree.district, hours=hours, days=GUOQING_DAYS)
    assert cal.hours["sat"] == [["09:00", "12:00"]] and cal.hours["sun"] == []
    days = {d.date: d for d in CalendarDay.objects.filter(calendar=cal)}
    assert len(days) == 9
    assert days[date(2026, 10, 1)].is_workday is False and days[date(2026, 10, 1)].intervals == []
    assert days[date(2026, 9, 20)].intervals == DEFAULT_HOURS["mon"]  # make-up day: usual hours
    assert days[date(2026, 10, 10)].intervals == [["09:00", "12:00"]]
    spec = calendar_spec_for(jurisdiction=tree.grid)
    start = datetime(2026, 9, 30, 17, tzinfo=SHANGHAI)
    assert deadline_add(spec=spec, start=start, minutes=240) == datetime(2026, 10, 8, 11, 30, tzinfo=SHANGHAI)
    assert selectors.calendar_get(jurisdiction=tree.grid)["source"] == tree.district.code
    assert selectors.calendar_get(jurisdiction=tree.district)["own"] is True
    got = selectors.calendar_get(jurisdiction=tree.far_grid)
    assert got["source"] is None and got["hours"] == DEFAULT_HOURS
    log = AuditLog.objects.get(object_type="reports.workcalendar")
    assert log.action == "create" and log.jurisdiction_path == tree.district.path
    # hours only: days stay; days [] clears them
    services.calendar_set(actor=admin, jurisdiction=tree.district, hours=DEFAULT_HOURS)
    assert CalendarDay.objects.count() == 9
    services.calendar_set(actor=admin, jurisdiction=tree.district, hours=DEFAULT_HOURS, days=[])
    assert CalendarDay.objects.count() == 0
    assert WorkCalendar.objects.count() == 1


@pytest.mark.parametrize("hours, days, code, field", [
    ({"mon": [["25:00", "26:00"]]}, None, "invalid_hours", "hours.mon"),
    ({"tue": [["08:00", "12:00"], ["11:00", "14:00"]]}, None, "invalid_hours", "hours.tue"),
    ({"someday": [["08:00", "12:00"]]}, None, "invalid_hours", "hours.someday"),
    ({}, None, "calendar_empty", "hours"),
    (DEFAULT_HOURS, [{"date": "2026-13-01"}], "invalid_date", "days.date"),
    (DEFAULT_HOURS, ["2026-10-01"], "invalid_calendar", "days"),
    (DEFAULT_HOURS, {"2026-10-01": []}, "invalid_calendar", "days"),
    (DEFAULT_HOURS, [{"date": "2026-10-10", "is_workday": True, "intervals": [["9", "12"]]}], "invalid_hours",
     "days.2026-10-10"),
])
def test_calendar_set_rejects_bad_input(tree, admin, hours, days, code, field):
    services.calendar_set(actor=admin, jurisdiction=tree.district, hours=DEFAULT_HOURS, days=GUOQING_DAYS[:2])

    def snapshot():
        return rows(WorkCalendar)(), rows(CalendarDay)()

    before = snapshot()
    with pytest.raises(AppError) as info:
        services.calendar_set(actor=admin, jurisdiction=tree.district, hours=hours, days=days)
    assert (info.value.code, info.value.field) == (code, field)
    assert snapshot() == before


def test_calendar_set_denied(tree):
    def snapshot():
        return rows(WorkCalendar)(), rows(CalendarDay)()

    assert_denied(tree, lambda a: services.calendar_set(actor=a, jurisdiction=tree.district, hours=DEFAULT_HOURS,
                                                        days=GUOQING_DAYS), snapshot)
    assert_denied(tree, lambda a: services.calendar_day_set(actor=a, jurisdiction=tree.district,
                                                            date="2026-10-01"), snapshot)


def test_calendar_day_set_and_remove(tree, admin):
    day = services.calendar_day_set(actor=admin, jurisdiction=tree.district, date="2026-10-01", note="国庆节")
    cal = WorkCalendar.objects.get(jurisdiction=tree.district)
    assert cal.hours == DEFAULT_HOURS  # created with the inherited hours
    assert (day.date, day.is_workday, day.note) == (date(2026, 10, 1), False, "国庆节")
    day = services.calendar_day_set(actor=admin, jurisdiction=tree.district, date=date(2026, 10, 1),
                                    is_workday=True, intervals=[["09:00", "11:00"]])
    assert CalendarDay.objects.count() == 1 and day.intervals == [["09:00", "11:00"]]
    with pytest.raises(AppError) as info:
        services.calendar_day_set(actor=admin, jurisdiction=tree.district, date="yesterday")
    assert info.value.field == "date"
    with pytest.raises(AppError) as info:
        services.calendar_day_set(actor=admin, jurisdiction=tree.district, date="2026-10-02", is_workday=True,
                                  intervals=[["12:00", "12:00"]])
    assert info.value.field == "intervals"
    services.calendar_day_remove(actor=admin, jurisdiction=tree.district, date="2026-10-01")
    assert not CalendarDay.objects.exists()
    with pytest.raises(NotFound):
        services.calendar_day_remove(actor=admin, jurisdiction=tree.district, date="2026-10-01")


# ---- duty roster -----------------------------------------------------------------------


def test_grid_duty_set_replaces_and_who_is_on_duty(tree, admin):
    worker = make_grid_worker(tree.grid)
    duty = services.grid_duty_set(actor=admin, grid=tree.grid, user=worker, weekdays=[0, 1, 2, 3, 4],
                                  start_time="08:30", end_time="17:30")
    assert (duty.weekdays, duty.start_time, duty.end_time) == ([0, 1, 2, 3, 4], time(8, 30), time(17, 30))
    night = make_grid_worker(tree.grid)
    services.grid_duty_set(actor=admin, grid=tree.grid, user=night, weekdays="4", start_time="22:00",
                           end_time="06:00")
    # Monday 2026-11-23 10:00 and Saturday 02:00 (after Friday's night shift)
    assert selectors.grid_duty_users_at(grid=tree.grid, at=datetime(2026, 11, 23, 2, tzinfo=UTC)) == [worker]
    assert selectors.grid_duty_users_at(grid=tree.grid, at=datetime(2026, 11, 28, 2, tzinfo=SHANGHAI)) == [night]
    assert selectors.grid_duty_users_at(grid=tree.grid, at=datetime(2026, 11, 27, 23, tzinfo=SHANGHAI)) == [night]
    assert selectors.grid_duty_users_at(grid=tree.grid, at=datetime(2026, 11, 29, 2, tzinfo=SHANGHAI)) == []
    again = services.grid_duty_set(actor=admin, grid=tree.grid, user=worker, weekdays=[5, 6],
                                   start_time=time(9), end_time=time(12))
    assert again.pk == duty.pk and GridDuty.objects.filter(user=worker).count() == 1
    assert list(selectors.grid_duty_list(actor=admin, grid=tree.grid)) == [again, GridDuty.objects.get(user=night)]
    assert list(selectors.grid_duty_list(actor=make_staff("community_admin", tree.other_community))) == []
    services.grid_duty_remove(actor=admin, duty=again)
    assert GridDuty.objects.count() == 1


@pytest.mark.parametrize("change, code, field", [
    ({"weekdays": []}, "invalid_weekdays", "weekdays"),
    ({"weekdays": [7]}, "invalid_weekdays", "weekdays"),
    ({"weekdays": ["x"]}, "invalid_weekdays", "weekdays"),
    ({"start_time": "8点"}, "invalid_time", "start_time"),
    ({"end_time": "24:00"}, "invalid_time", "end_time"),
    ({"end_time": "08:00"}, "invalid_time", "end_time"),
    ({"user": "other_grid"}, "not_a_grid_worker", "user"),
    ({"user": "handler"}, "not_a_grid_worker", "user"),
    ({"grid": "community"}, "not_a_grid", "grid"),
])
def test_grid_duty_rejects_bad_input(tree, admin, change, code, field):
    users = {"other_grid": make_grid_worker(tree.grids[1]), "handler": make_staff("handler", tree.district)}
    args = {"grid": tree.grid, "user": make_grid_worker(tree.grid), "weekdays": [0], "start_time": "08:00",
            "end_time": "12:00", **change}
    args["user"] = users.get(args["user"], args["user"]) if isinstance(args["user"], str) else args["user"]
    if args["grid"] == "community":
        args["grid"] = tree.community
    with pytest.raises(AppError) as info:
        services.grid_duty_set(actor=admin, **args)
    assert (info.value.code, info.value.field) == (code, field)
    assert not GridDuty.objects.exists()


def test_grid_duty_denied(tree):
    worker = make_grid_worker(tree.grid)
    assert_denied(tree, lambda a: services.grid_duty_set(actor=a, grid=tree.grid, user=worker, weekdays=[0],
                                                         start_time="08:00", end_time="12:00"), rows(GridDuty))


# ---- reply templates -------------------------------------------------------------------


def test_reply_templates(tree, admin):
    tpl = services.reply_template_save(actor=admin, jurisdiction=tree.district, action="reject", title="不属于受理范围",
                                       text="您好，该问题不属于城市管理受理范围，请拨打 12345。")
    assert (tpl.action, tpl.jurisdiction) == ("reject", tree.district)
    tpl = services.reply_template_save(actor=admin, template=tpl, jurisdiction=tree.district, action="reject",
                                       title="非受理范围", text="请拨打 12345。", text_en="Please call 12345.")
    assert ReplyTemplate.objects.get().title == "非受理范围"
    with pytest.raises(AppError) as info:
        services.reply_template_save(actor=admin, jurisdiction=tree.district, action="fly", title="x", text="y")
    assert info.value.field == "action"
    with pytest.raises(AppError) as info:
        services.reply_template_save(actor=admin, jurisdiction=tree.district, action="close", title="x", text="")
    assert (info.value.code, info.value.field) == ("required", "text")
    # templates for everywhere: only who configures every root (city admin)
    with pytest.raises(OutOfJurisdiction):
        services.reply_template_save(actor=admin, action="close", title="已结案", text="问题已处理完毕。")
    city = make_staff("city_admin", tree.city)
    everywhere = services.reply_template_save(actor=city, action="close", title="已结案", text="问题已处理完毕。")
    assert set(selectors.reply_template_list(actor=admin)) == {tpl, everywhere}
    assert list(selectors.reply_template_list(actor=make_staff("district_admin", tree.other_district))) == [
        everywhere]
    with pytest.raises(OutOfJurisdiction):
        services.reply_template_delete(actor=admin, template=everywhere)
    services.reply_template_delete(actor=admin, template=tpl)
    assert list(ReplyTemplate.objects.all()) == [everywhere]


def test_reply_template_denied(tree):
    tpl = ReplyTemplate.objects.create(jurisdiction=tree.district, action="close", title="t", text="x")
    assert_denied(tree, lambda a: services.reply_template_save(actor=a, jurisdiction=tree.district, action="close",
                                                               title="新", text="新"), rows(ReplyTemplate))
    assert_denied(tree, lambda a: services.reply_template_save(actor=a, template=tpl, jurisdiction=tree.district,
                                                               action="close", title="改", text="改"),
                  rows(ReplyTemplate))


# ---- the per-process calendar cache (perf helper) ---------------------------------------


def test_calendar_cache_reads_once_and_setup_services_invalidate_it(tree, admin, settings,
                                                                    django_assert_num_queries):
    settings.YIZHAN_CALENDAR_REFRESH_SECONDS = 3600  # as in production: no stamp check in between
    services.calendar_set(actor=admin, jurisdiction=tree.district, hours=DEFAULT_HOURS, days=GUOQING_DAYS[:1])
    spec = calendar_spec_for(jurisdiction=tree.grid)
    assert spec.days == {date(2026, 10, 1): []}
    with django_assert_num_queries(0):  # cached: a transition reads no calendar table
        assert calendar_spec_for(jurisdiction=tree.grid) is spec
        assert calendar_spec_for(jurisdiction=tree.far_grid).days == {}
    services.calendar_day_set(actor=admin, jurisdiction=tree.district, date="2026-10-02", note="国庆节")
    assert set(calendar_spec_for(jurisdiction=tree.grid).days) == {date(2026, 10, 1), date(2026, 10, 2)}
    services.calendar_day_set(actor=admin, jurisdiction=tree.district, date="2026-10-02", is_workday=True,
                              intervals=[["09:00", "11:00"]])
    assert calendar_spec_for(jurisdiction=tree.grid).days[date(2026, 10, 2)] == [["09:00", "11:00"]]
    services.calendar_day_remove(actor=admin, jurisdiction=tree.district, date="2026-10-01")
    assert set(calendar_spec_for(jurisdiction=tree.grid).days) == {date(2026, 10, 2)}
    services.calendar_set(actor=admin, jurisdiction=tree.district, hours={**DEFAULT_HOURS, "sat": [["09:00", "12:00"]]})
    assert calendar_spec_for(jurisdiction=tree.grid).hours["sat"] == [["09:00", "12:00"]]
    # a street's own calendar takes over for the grids below it at once
    services.calendar_set(actor=admin, jurisdiction=tree.street, hours=DEFAULT_HOURS, days=[])
    assert calendar_spec_for(jurisdiction=tree.grid).days == {}


def test_calendar_cache_notices_other_processes_by_stamp(tree, admin, settings):
    settings.YIZHAN_CALENDAR_REFRESH_SECONDS = 0  # check the stamp on every call
    assert calendar_spec_for(jurisdiction=tree.grid).days == {}
    cal = WorkCalendar.objects.create(jurisdiction=tree.district, hours=DEFAULT_HOURS)  # written elsewhere
    CalendarDay.objects.create(calendar=cal, date=date(2026, 5, 1), is_workday=False)
    assert calendar_spec_for(jurisdiction=tree.grid).days == {date(2026, 5, 1): []}
