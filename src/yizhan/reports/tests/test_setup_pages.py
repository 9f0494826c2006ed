"""Settings pages (/dispatch/settings/) through the Django test client — who gets in,
errors beside the field with what was typed kept, nothing changed on a denial —
the scoped admin, and one browser test at 360 px: a district admin edits a time
limit and adds a holiday, by keyboard."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django import forms

from yizhan.core.models import AuditLog
from yizhan.core.testing.factories import (
    DEFAULT_PASSWORD,
    make_jurisdiction_tree,
    make_staff,
    make_superuser,
)
from yizhan.reports import services
from yizhan.reports.calendar import DEFAULT_HOURS
from yizhan.reports.models import (
    CalendarDay,
    Case,
    Category,
    Department,
    DepartmentMember,
    GridDuty,
    ReplyTemplate,
    WorkCalendar,
)
from yizhan.reports.tests.factories import make_category, make_department, make_grid_worker
from yizhan.reports.views.setup import minutes_text, parse_intervals

PAGES = ["/dispatch/settings/", "/dispatch/settings/categories/", "/dispatch/settings/calendar/",
         "/dispatch/settings/departments/", "/dispatch/settings/duty/", "/dispatch/settings/templates/"]


@pytest.fixture
def admin(tree):
    return make_staff("district_admin", tree.district)


@pytest.fixture
def city_admin(tree):
    return make_staff("city_admin", tree.city)


@pytest.fixture
def cat(db):
    return make_category(code="exposed_rubbish", name="暴露垃圾", department_code="sanitation")


def html(resp) -> str:
    return resp.content.decode()


def category_post(cat, **over):
    data = {"icon": cat.icon, "name": cat.name, "name_en": cat.name_en, "department_code": cat.department_code,
            "urgency": cat.urgency, "clock": cat.clock, "accept_minutes": cat.accept_minutes,
            "dispatch_minutes": cat.dispatch_minutes, "handle_minutes": cat.handle_minutes,
            "verify_minutes": cat.verify_minutes, "close_minutes": cat.close_minutes, "active": "on",
            "filing_conditions": "", "closing_conditions": "", "description": "", "keywords": "",
            "extra_fields": ""}
    data.update(over)
    return data


# ---- helpers ---------------------------------------------------------------------------


def test_minutes_text_and_parse_intervals():
    assert minutes_text(240) == "4 工作小时"
    assert minutes_text(7200) == "15 个工作日"
    assert minutes_text(45) == "45 工作分钟"
    assert minutes_text(45, "natural") == "45 分钟"
    assert minutes_text(120, "natural") == "2 小时"
    assert parse_intervals("08:30-12:00，13:30~18:00") == [["08:30", "12:00"], ["13:30", "18:00"]]
    assert parse_intervals("") == []
    with pytest.raises(forms.ValidationError):
        parse_intervals("morning")


# ---- who gets in -----------------------------------------------------------------------


def test_anonymous_is_sent_to_log_in(client, db):
    for url in PAGES:
        resp = client.get(url)
        assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/?next="), url


def test_wrong_role_gets_403_and_changes_nothing(client, tree, cat):
    audits = AuditLog.objects.count()
    for user in (make_staff("community_admin", tree.community), make_grid_worker(tree.grid),
                 make_staff("duty_officer", tree.street)):
        client.force_login(user)
        for url in PAGES:
            resp = client.get(url)
            assert resp.status_code == 403 and "您没有权限" in html(resp), (user, url)
        resp = client.post(f"/dispatch/settings/categories/{cat.code}/", category_post(cat, handle_minutes=1))
        assert resp.status_code == 403
        resp = client.post(f"/dispatch/settings/calendar/{tree.district.code}/days/", {"date": "2026-10-01",
                                                                                    "kind": "holiday"})
        assert resp.status_code == 403
    assert Category.objects.get(pk=cat.pk).handle_minutes == 240
    assert not CalendarDay.objects.exists() and AuditLog.objects.count() == audits


def test_district_admin_sees_every_page(client, admin, cat):
    client.force_login(admin)
    for url in PAGES:
        assert client.get(url).status_code == 200, url
    body = html(client.get("/dispatch/settings/categories/"))
    assert "暴露垃圾" in body and "4 工作小时" in body


# ---- categories ------------------------------------------------------------------------


def test_edit_a_time_limit(client, city_admin, cat):
    admin = city_admin
    client.force_login(admin)
    resp = client.get(f"/dispatch/settings/categories/{cat.code}/")
    assert 'value="240"' in html(resp)
    resp = client.post(f"/dispatch/settings/categories/{cat.code}/", category_post(
        cat, handle_minutes="120", is_hazard="on",
        extra_fields='[{"name": "building", "label": "楼栋", "required": true}]'))
    assert resp.status_code == 302
    cat.refresh_from_db()
    assert (cat.handle_minutes, cat.is_hazard, cat.extra_fields[0]["name"]) == (120, True, "building")
    assert AuditLog.objects.filter(object_type="reports.category", actor=admin).count() == 1
    assert "已保存类别" in html(client.get(resp["Location"]))


@pytest.mark.parametrize("over, field, message", [
    ({"handle_minutes": "0"}, "handle_minutes", "时限至少 1 分钟"),
    ({"accept_minutes": "一小时"}, "accept_minutes", "请输入整数"),
    ({"extra_fields": "[{"}, "extra_fields", "不是有效的 JSON"),
    ({"extra_fields": '[{"name": "Floor", "label": "楼层"}]'}, "extra_fields", "附加字段格式有误"),
    ({"department_code": "nobody"}, "department_code", "nobody"),
])
def test_bad_category_input_is_shown_beside_the_field_and_kept(client, city_admin, cat, over, field, message):
    client.force_login(city_admin)
    before = list(Category.objects.values())
    resp = client.post(f"/dispatch/settings/categories/{cat.code}/", category_post(cat, keywords="typed", **over))
    assert resp.status_code == 400
    body = html(resp)
    assert f'id="id_{field}-error"' in body and message in body
    assert 'value="typed"' in body  # what was typed is kept
    assert list(Category.objects.values()) == before


def test_load_the_taxonomy_from_an_empty_list(client, admin, city_admin):
    client.force_login(admin)  # a district admin: platform-wide, not theirs
    assert "载入标准类别" not in html(client.get("/dispatch/settings/categories/"))
    client.post("/dispatch/settings/categories/load/")
    assert not Category.objects.exists()
    client.force_login(city_admin)
    assert "载入标准类别" in html(client.get("/dispatch/settings/categories/"))
    resp = client.post("/dispatch/settings/categories/load/")
    assert resp.status_code == 302 and Category.objects.filter(code="ground_lock").exists()


def test_district_admin_edits_their_own_district_and_resets_it(client, tree, admin, cat):
    from yizhan.reports.models import CategorySetting

    url = f"/dispatch/settings/categories/{cat.code}/"
    client.force_login(admin)
    body = html(client.get(url))
    assert 'value="240"' in body and "默认" in body and "4 工作小时" in body and "恢复默认设置" not in body
    resp = client.post(url, {**{k: v for k, v in category_post(cat).items()
                                if k in ("department_code", "urgency", "clock", "accept_minutes", "dispatch_minutes",
                                         "handle_minutes", "verify_minutes", "close_minutes", "active")},
                             "handle_minutes": "120", "name": "不能改名"})
    assert resp.status_code == 302
    cat.refresh_from_db()
    assert (cat.handle_minutes, cat.name) == (240, "暴露垃圾")  # the platform default is untouched
    row = CategorySetting.objects.get()
    assert (row.jurisdiction, row.handle_minutes) == (tree.district, 120)
    body = html(client.get(resp["Location"]))
    assert 'value="120"' in body and "4 工作小时" in body and "恢复默认设置" in body  # default beside the field
    # another district's admin cannot reach this district's settings
    client.force_login(make_staff("district_admin", tree.other_district))
    resp = client.post(url, {**category_post(cat), "j": tree.district.code, "handle_minutes": "5"})
    assert resp.status_code == 404
    resp = client.post(url, {"j": tree.district.code, "reset": "1"})
    assert resp.status_code == 404
    assert CategorySetting.objects.get().handle_minutes == 120
    client.force_login(admin)
    resp = client.post(url, {"j": tree.district.code, "reset": "1"})
    assert resp.status_code == 302 and not CategorySetting.objects.exists()


# ---- calendar --------------------------------------------------------------------------


def hours_post(**over):
    data = {f"hours_{d}": ", ".join(f"{a}-{b}" for a, b in DEFAULT_HOURS[d]) for d in DEFAULT_HOURS}
    data.update(over)
    return data


def test_calendar_hours_and_days(client, tree, admin):
    client.force_login(admin)
    body = html(client.get("/dispatch/settings/calendar/"))
    assert tree.district.name in body and 'value="08:30-12:00, 13:30-18:00"' in body
    resp = client.post("/dispatch/settings/calendar/", {"j": tree.district.code, **hours_post(hours_sat="09:00-12:00")})
    assert resp.status_code == 302
    cal = WorkCalendar.objects.get(jurisdiction=tree.district)
    assert cal.hours["sat"] == [["09:00", "12:00"]]
    resp = client.post(f"/dispatch/settings/calendar/{tree.district.code}/days/",
                       {"date": "2026-10-01", "kind": "holiday", "note": "国庆节"})
    assert resp.status_code == 302
    resp = client.post(f"/dispatch/settings/calendar/{tree.district.code}/days/",
                       {"date": "2026-10-10", "kind": "workday", "intervals": "", "note": "调休"})
    assert resp.status_code == 302
    days = {d.date: d for d in CalendarDay.objects.all()}
    assert days[date(2026, 10, 1)].is_workday is False
    assert days[date(2026, 10, 10)].intervals == DEFAULT_HOURS["mon"]
    body = html(client.get(f"/dispatch/settings/calendar/?j={tree.district.code}"))
    assert "国庆节" in body and "2026-10-10" in body
    resp = client.post(f"/dispatch/settings/calendar/{tree.district.code}/days/2026-10-01/remove/")
    assert resp.status_code == 302 and set(CalendarDay.objects.values_list("date", flat=True)) == {date(2026, 10, 10)}


def test_calendar_errors_beside_the_field(client, tree, admin):
    client.force_login(admin)
    resp = client.post("/dispatch/settings/calendar/", {"j": tree.district.code,
                                                        **hours_post(hours_tue="25:00-26:00")})
    assert resp.status_code == 400
    body = html(resp)
    assert 'id="id_hours_tue-error"' in body and 'value="25:00-26:00"' in body
    resp = client.post("/dispatch/settings/calendar/", {"j": tree.district.code, **hours_post(hours_wed="早上")})
    assert resp.status_code == 400 and 'id="id_hours_wed-error"' in html(resp)
    resp = client.post(f"/dispatch/settings/calendar/{tree.district.code}/days/",
                       {"date": "2026-02-30", "kind": "holiday", "note": "春节"})
    assert resp.status_code == 400
    body = html(resp)
    assert 'id="id_date-error"' in body and 'value="春节"' in body
    resp = client.post(f"/dispatch/settings/calendar/{tree.district.code}/days/",
                       {"date": "2026-02-14", "kind": "workday", "intervals": "18:00-18:00"})
    assert resp.status_code == 400 and 'id="id_intervals-error"' in html(resp)
    assert not WorkCalendar.objects.exists() and not CalendarDay.objects.exists()


def test_calendar_of_another_district_is_not_found(client, tree):
    other = make_staff("district_admin", tree.other_district)
    client.force_login(other)
    assert client.get(f"/dispatch/settings/calendar/?j={tree.district.code}").status_code == 404
    resp = client.post(f"/dispatch/settings/calendar/{tree.district.code}/days/", {"date": "2026-10-01",
                                                                                "kind": "holiday"})
    assert resp.status_code == 404
    resp = client.post("/dispatch/settings/calendar/", {"j": tree.district.code, **hours_post()})
    assert resp.status_code == 404
    assert not WorkCalendar.objects.exists() and not CalendarDay.objects.exists()
    body = html(client.get("/dispatch/settings/calendar/"))
    assert tree.other_district.name in body


# ---- departments -----------------------------------------------------------------------


def test_departments_create_defaults_members(client, tree, admin):
    client.force_login(admin)
    resp = client.post("/dispatch/settings/departments/", {"jurisdiction": tree.district.code, "code": "river",
                                                           "name": "河长办", "phone": "0512-1234", "active": "on"})
    assert resp.status_code == 302
    dept = Department.objects.get(code="river")
    resp = client.post("/dispatch/settings/departments/", {"jurisdiction": tree.district.code, "code": "river",
                                                           "name": "又一个", "active": "on"})
    assert resp.status_code == 400
    body = html(resp)
    assert 'id="id_code-error"' in body and 'value="又一个"' in body
    resp = client.post("/dispatch/settings/departments/defaults/", {"jurisdiction": tree.district.code})
    assert resp.status_code == 302 and Department.objects.filter(jurisdiction=tree.district).count() == 18
    handler = make_staff("handler", tree.district, username="wang_handler")
    resp = client.post(f"/dispatch/settings/departments/{dept.pk}/members/", {"who": "nobody_here"})
    assert resp.status_code == 400 and 'id="id_who-error"' in html(resp) and 'value="nobody_here"' in html(resp)
    resp = client.post(f"/dispatch/settings/departments/{dept.pk}/members/", {"who": "wang_handler",
                                                                              "is_lead": "on"})
    assert resp.status_code == 302
    assert DepartmentMember.objects.get(department=dept, user=handler).is_lead
    assert "wang_handler" in html(client.get(f"/dispatch/settings/departments/{dept.pk}/"))
    resp = client.post(f"/dispatch/settings/departments/{dept.pk}/", {"name": "河湖长办", "phone": "", "code": "x"})
    assert resp.status_code == 302
    dept.refresh_from_db()
    assert (dept.name, dept.code, dept.active) == ("河湖长办", "river", False)
    resp = client.post(f"/dispatch/settings/departments/{dept.pk}/members/{handler.pk}/remove/")
    assert resp.status_code == 302 and not DepartmentMember.objects.exists()


def test_department_of_another_district_is_not_found(client, tree):
    dept = make_department(jurisdiction=tree.district, code="urban")
    person = make_staff("handler", tree.district, username="li_handler")
    client.force_login(make_staff("district_admin", tree.other_district))
    assert client.get(f"/dispatch/settings/departments/{dept.pk}/").status_code == 404
    assert client.post(f"/dispatch/settings/departments/{dept.pk}/members/", {"who": "li_handler"}).status_code == 404
    assert client.post("/dispatch/settings/departments/", {"jurisdiction": tree.district.code, "code": "x",
                                                           "name": "X"}).status_code == 400
    assert client.post("/dispatch/settings/departments/defaults/",
                       {"jurisdiction": tree.district.code}).status_code == 404
    assert "城市管理局" not in html(client.get("/dispatch/settings/departments/"))
    assert Department.objects.count() == 1 and not DepartmentMember.objects.filter(user=person).exists()


# ---- duty and templates ----------------------------------------------------------------


def test_duty_roster(client, tree, admin):
    worker = make_grid_worker(tree.grid, username="grid_zhang")
    far = make_grid_worker(tree.far_grid, username="grid_far")
    client.force_login(admin)
    body = html(client.get("/dispatch/settings/duty/"))
    assert "grid_zhang" in body and "grid_far" not in body and far.username not in body
    resp = client.post("/dispatch/settings/duty/", {"user": f"{tree.grid.pk}:{worker.pk}", "weekdays": ["0", "1"],
                                                    "start_time": "18:00", "end_time": "18:00"})
    assert resp.status_code == 400 and 'id="id_end_time-error"' in html(resp)
    resp = client.post("/dispatch/settings/duty/", {"user": f"{tree.far_grid.pk}:{far.pk}", "weekdays": ["0"],
                                                    "start_time": "08:00", "end_time": "12:00"})
    assert resp.status_code == 400 and 'id="id_user-error"' in html(resp)
    resp = client.post("/dispatch/settings/duty/", {"user": f"{tree.grid.pk}:{worker.pk}", "weekdays": ["0", "1"],
                                                    "start_time": "18:00", "end_time": "08:00"})
    assert resp.status_code == 302
    duty = GridDuty.objects.get()
    assert (duty.weekdays, duty.user) == ([0, 1], worker)
    assert "周一、周二 18:00–08:00" in html(client.get("/dispatch/settings/duty/"))
    other = make_staff("district_admin", tree.other_district)
    client.force_login(other)
    assert client.post(f"/dispatch/settings/duty/{duty.pk}/remove/").status_code == 404
    client.force_login(admin)
    assert client.post(f"/dispatch/settings/duty/{duty.pk}/remove/").status_code == 302
    assert not GridDuty.objects.exists()


def test_reply_templates(client, tree, admin):
    client.force_login(admin)
    resp = client.post("/dispatch/settings/templates/", {"jurisdiction": tree.district.code, "action": "reject",
                                                         "title": "", "text": "请拨打 12345"})
    assert resp.status_code == 400 and 'id="id_title-error"' in html(resp) and "请拨打 12345" in html(resp)
    resp = client.post("/dispatch/settings/templates/", {"jurisdiction": tree.district.code, "action": "reject",
                                                         "title": "非受理范围", "text": "请拨打 12345"})
    assert resp.status_code == 302
    tpl = ReplyTemplate.objects.get()
    resp = client.post(f"/dispatch/settings/templates/{tpl.pk}/", {"jurisdiction": tree.district.code,
                                                                   "action": "close", "title": "已办结",
                                                                   "text": "问题已处理"})
    assert resp.status_code == 302
    tpl.refresh_from_db()
    assert (tpl.action, tpl.title) == ("close", "已办结")
    client.force_login(make_staff("district_admin", tree.other_district))
    assert client.get(f"/dispatch/settings/templates/{tpl.pk}/").status_code == 404
    assert client.post(f"/dispatch/settings/templates/{tpl.pk}/delete/").status_code == 404
    client.force_login(admin)
    assert client.post(f"/dispatch/settings/templates/{tpl.pk}/delete/").status_code == 302
    assert not ReplyTemplate.objects.exists()


# ---- admin -----------------------------------------------------------------------------


def test_admin_edits_categories_through_the_service(client, tree, city_admin, cat):
    admin = city_admin
    client.force_login(admin)
    assert client.get("/admin/reports/category/").status_code == 200
    form = {**category_post(cat), "group_name": cat.group_name, "group_name_en": cat.group_name_en,
            "description_en": "", "extra_fields": "[]", "sort": "0"}
    form.pop("active")
    resp = client.post(f"/admin/reports/category/{cat.pk}/change/", {**form, "handle_minutes": "0"})
    assert resp.status_code == 200 and "errorlist" in html(resp)
    assert Category.objects.get(pk=cat.pk).handle_minutes == 240
    resp = client.post(f"/admin/reports/category/{cat.pk}/change/", {**form, "handle_minutes": "90"})
    assert resp.status_code == 302, html(resp)[:2000]
    cat.refresh_from_db()
    assert cat.handle_minutes == 90 and cat.active is False
    assert AuditLog.objects.filter(object_type="reports.category", actor=admin).exists()
    # a community admin reads categories but cannot change them
    client.force_login(make_staff("community_admin", tree.community))
    assert client.get(f"/admin/reports/category/{cat.pk}/change/").status_code == 200
    resp = client.post(f"/admin/reports/category/{cat.pk}/change/", {**form, "handle_minutes": "1"})
    assert resp.status_code == 403
    assert Category.objects.get(pk=cat.pk).handle_minutes == 90


def test_admin_departments_scoped_and_cases_read_only(client, tree, admin):
    mine = make_department(jurisdiction=tree.district, code="urban", name="高新城管")
    make_department(jurisdiction=tree.other_district, code="urban", name="吴中城管")
    client.force_login(admin)
    body = html(client.get("/admin/reports/department/"))
    assert "高新城管" in body and "吴中城管" not in body
    resp = client.post("/admin/reports/department/add/", {
        "jurisdiction": str(tree.other_district.pk), "code": "x", "name": "X", "name_en": "", "phone": "",
        "active": "on", "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"})
    assert resp.status_code == 200 and not Department.objects.filter(code="x").exists()
    resp = client.post("/admin/reports/department/add/", {
        "jurisdiction": str(tree.district.pk), "code": "river", "name": "河长办", "name_en": "", "phone": "",
        "active": "on", "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"})
    assert resp.status_code == 302 and Department.objects.filter(code="river", jurisdiction=tree.district).exists()
    assert AuditLog.objects.filter(object_type="reports.department", action="create").exists()
    assert client.get(f"/admin/reports/department/{mine.pk}/change/").status_code == 200
    # cases: read-only (the state moves only through the workflow services), scoped, no contact details
    from yizhan.reports.tests.factories import make_case

    case = make_case(jurisdiction=tree.grid, contact={"name": "张三", "phone": "13900001111"})
    far_case = make_case(jurisdiction=tree.far_grid)
    body = html(client.get("/admin/reports/case/"))
    assert case.number in body and far_case.number not in body
    resp = client.get(f"/admin/reports/case/{case.pk}/change/")
    assert resp.status_code == 200
    body = html(resp)
    assert case.number in body and 'name="state"' not in body and "13900001111" not in body
    resp = client.post(f"/admin/reports/case/{case.pk}/change/", {"state": "closed"})
    assert resp.status_code == 403 and Case.objects.get(pk=case.pk).state == "submitted"
    assert client.get(f"/admin/reports/case/{far_case.pk}/change/").status_code == 302
    root = make_superuser()
    client.force_login(root)
    assert client.get("/admin/reports/case/add/").status_code == 403
    assert client.get("/admin/reports/case/").status_code == 200
    from yizhan.reports.admin import CaseAdmin

    assert not CaseAdmin.has_change_permission(CaseAdmin(Case, None), type("R", (), {"user": root})())


# ---- browser ---------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_admin_edits_a_time_limit_and_adds_a_holiday_at_360px(browser_page_factory, live_server):
    tree = make_jurisdiction_tree()
    make_staff("district_admin", tree.district, username="gx_admin")
    services.category_taxonomy_load()

    page = browser_page_factory()
    page.goto(live_server.url + "/dispatch/settings/categories/")
    assert "/accounts/login/" in page.url
    page.get_by_label("用户名").fill("gx_admin")
    page.get_by_label("密码").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(r"/dispatch/settings/categories/$"))
    card = page.locator("[data-code='exposed_rubbish']")
    assert "4 工作小时" in card.inner_text()
    assert _fits(page), "the category list scrolls sideways at 360 px"
    page.screenshot(path=_shot("categories"))
    card.get_by_role("link", name="暴露垃圾").click()
    page.wait_for_url(re.compile(r"/categories/exposed_rubbish/$"))

    # a bad value first: the message beside the field, what was typed kept
    field = page.get_by_label("处置时限")
    field.fill("0")
    field.press("Enter")  # submit by keyboard
    page.locator("#id_handle_minutes-error").wait_for()
    assert "至少 1 分钟" in page.locator("#id_handle_minutes-error").inner_text()
    assert page.get_by_label("处置时限").input_value() == "0"
    page.get_by_label("处置时限").fill("120")
    page.get_by_label("处置时限").press("Enter")
    page.get_by_text("已保存“暴露垃圾”在高新区的设置").wait_for()  # the district's own limit
    from yizhan.reports.models import CategorySetting

    assert CategorySetting.objects.get(category__code="exposed_rubbish", jurisdiction=tree.district).handle_minutes == 120
    assert Category.objects.get(code="exposed_rubbish").handle_minutes == 240  # the platform default stays
    assert _fits(page), "the category page scrolls sideways at 360 px"
    page.screenshot(path=_shot("category"), full_page=True)

    page.goto(live_server.url + "/dispatch/settings/calendar/")
    page.get_by_label("日期").fill("2026-10-01")
    page.get_by_label("放假（计时暂停）").check()
    page.get_by_label("说明").fill("国庆节")
    page.get_by_role("button", name="添加", exact=True).focus()
    page.keyboard.press("Enter")
    page.locator("[data-date='2026-10-01']").wait_for()
    assert "国庆节" in page.locator("[data-date='2026-10-01']").inner_text()
    assert CalendarDay.objects.get(calendar__jurisdiction=tree.district).date == date(2026, 10, 1)
    assert _fits(page), "the calendar page scrolls sideways at 360 px"
    # keyboard focus is visible
    page.keyboard.press("Tab")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.screenshot(path=_shot("calendar"), full_page=True)


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _shot(name: str) -> str:
    import os
    import tempfile

    folder = os.environ.get("YIZHAN_SCREENSHOTS") or os.path.join(tempfile.gettempdir(), "yizhan-shots")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, f"reports-setup-{name}.png")
