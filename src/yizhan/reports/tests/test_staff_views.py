"""Django test-client tests of the staff pages (/work/ and /dispatch/): status codes,
the actions offered, bad input kept beside its field, a transition someone else made
first, scoping (another community neither sees a case in its queue nor opens it, and
nothing changes), photos and redaction. Data is built through the services."""

from __future__ import annotations

import datetime as dt
import io
import re
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from yizhan.core.models import AuditLog
from yizhan.core.testing.factories import (
    make_jurisdiction_tree,
    make_staff,
    make_worker,
)
from yizhan.reports import services
from yizhan.reports.models import Case, CaseEvent, CasePhoto, ExtensionRequest, ReplyTemplate
from yizhan.reports.tests.factories import (
    make_category,
    make_department,
    make_grid_worker,
    make_handler,
)

pytestmark = pytest.mark.django_db


def jpeg(name="after.jpg", size=(64, 48), color="green") -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return SimpleUploadedFile(name, buf.getvalue(), "image/jpeg")


def text(resp) -> str:
    return resp.content.decode()


def snapshot():
    return (sorted(Case.objects.values_list("number", "state", "department_id", "assignee_id")),
            CaseEvent.objects.count(), CasePhoto.objects.count())


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def world():
    from yizhan.reports.routing import routing_index_invalidate

    tree = make_jurisdiction_tree()
    admin_a = make_staff("community_admin", tree.community, display_name="东渚派单员")
    admin_b = make_staff("community_admin", tree.other_community)
    gw = make_grid_worker(tree.grid, display_name="张网格")
    gw_b = make_grid_worker(tree.grids[2])
    dept = make_department(jurisdiction=tree.district, code="urban", name="城市管理局")
    cat = make_category("rubbish_exposed", name="暴露垃圾")
    cat2 = make_category("sign_askew", name="路牌歪斜")
    reporter = make_worker()
    routing_index_invalidate()
    lat, lng = tree.point(tree.grid)
    blat, blng = tree.point(tree.grids[2])
    return SimpleNamespace(tree=tree, admin_a=admin_a, admin_b=admin_b, gw=gw, gw_b=gw_b, dept=dept, cat=cat,
                           cat2=cat2, reporter=reporter, lat=lat, lng=lng, blat=blat, blng=blng,
                           worker=make_worker())


def submit(world, *, cat=None, lat=None, lng=None, description="路边垃圾堆了三天", n=[0]) -> Case:  # noqa: B006
    n[0] += 1
    return services.case_submit(actor=world.reporter, category=(cat or world.cat).code,
                                lat=lat if lat is not None else world.lat + n[0] * 1e-5,
                                lng=lng if lng is not None else world.lng,
                                description=description).case


def accepted(world, **kw) -> Case:
    case = submit(world, **kw)
    return services.case_accept(actor=world.admin_a, case=case, note="")


def dispatched(world, *, assignee=None, **kw) -> Case:
    case = accepted(world, **kw)
    return services.case_dispatch(actor=world.admin_a, case=case, department=world.dept,
                                  assignee=assignee or world.gw)


def fresh(case) -> Case:
    return Case.objects.get(pk=case.pk)


# ---------------------------------------------------------------- /work/


def test_inbox_needs_login_and_the_handle_role(client, world):
    resp = client.get("/work/")
    assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/?next=%2Fwork%2F")
    for user in (world.worker, world.admin_a):
        client.force_login(user)
        resp = client.get("/work/")
        assert resp.status_code == 403
        assert "您没有权限" in text(resp)


def test_inbox_lists_my_cases_by_deadline_with_overdue_in_red(client, world):
    late = dispatched(world, description="第一件")
    soon = dispatched(world, description="第二件")
    Case.objects.filter(pk=late.pk).update(stage_due_at=timezone.now() - dt.timedelta(hours=2, minutes=5))
    Case.objects.filter(pk=soon.pk).update(stage_due_at=timezone.now() + dt.timedelta(hours=3, minutes=30))
    other = submit(world, lat=world.blat, lng=world.blng)  # another community, another grid worker
    services.case_accept(actor=world.admin_b, case=other)
    services.case_dispatch(actor=world.admin_b, case=fresh(other), department=world.dept, assignee=world.gw_b)
    type(world.cat).objects.filter(pk=world.cat.pk).update(clock="natural")  # wall-clock time left
    client.force_login(world.gw)
    resp = client.get("/work/")
    assert resp.status_code == 200
    body = text(resp)
    numbers = re.findall(r'class="case-item[^"]*" data-number="([^"]+)"', body)
    assert numbers == [late.number, soon.number]
    assert other.number not in body
    assert f'case-item overdue" data-number="{late.number}"' in body
    assert "超时 2 小时 5 分" in body
    assert "剩 3 小时 29 分" in body or "剩 3 小时 30 分" in body
    assert "1 件超时" in body
    # the map toggle has the same cases as pins, each opening its case page
    cfg = _json_script(body, "work-map-config")
    assert [m["code"] for m in cfg["markers"]] == [late.number, soon.number]
    assert cfg["markers"][0]["url"] == f"/work/c/{late.number}/"


def _json_script(body: str, element_id: str) -> dict:
    import html
    import json

    m = re.search(f'<script id="{element_id}" type="application/json">(.*?)</script>', body, re.S)
    assert m, element_id
    return json.loads(html.unescape(m.group(1)))


def test_case_page_offers_exactly_the_allowed_actions(client, world):
    case = dispatched(world)
    client.force_login(world.gw)
    body = text(client.get(f"/work/c/{case.number}/"))
    offered = set(re.findall(r'id="act-([a-z_]+)"', body))
    from yizhan.reports import selectors

    assert offered == set(selectors.case_actions_for(actor=world.gw, case=case))
    assert {"start", "return"} <= offered and "accept" not in offered and "handle" not in offered
    assert "路边垃圾堆了三天" in body and "geo:" in body and "办理记录" in body
    # the timeline has who and when
    assert "立案" in body and "派遣" in body and "东渚派单员" in body


def test_grid_worker_starts_then_handles_with_an_after_photo(client, world):
    case = dispatched(world)
    client.force_login(world.gw)
    resp = client.post(f"/work/c/{case.number}/act/start/", {"start-note": "已到现场"})
    assert resp.status_code == 302 and resp["Location"] == f"/work/c/{case.number}/"
    assert fresh(case).state == "in_progress"
    body = text(client.get(resp["Location"]))
    assert "已办理：签收" in body and 'id="act-handle"' in body

    # no photo: the message beside the photo field, the note kept, nothing changed
    before = snapshot()
    resp = client.post(f"/work/c/{case.number}/act/handle/", {"handle-note": "已清运完毕"})
    assert resp.status_code == 400
    body = text(resp)
    assert 'id="id_handle-photos-error"' in body and "处置后照片" in body
    assert "已清运完毕</textarea>" in body
    assert snapshot() == before

    resp = client.post(f"/work/c/{case.number}/act/handle/",
                       {"handle-note": "已清运完毕", "handle-photos": [jpeg()]})
    assert resp.status_code == 302
    case = fresh(case)
    assert case.state == "handled"
    photo = case.photos.get(stage="after")
    body = text(client.get(f"/work/c/{case.number}/"))
    assert "已清运完毕" in body and f"/work/photos/{photo.pk}/" in body
    resp = client.get(f"/work/photos/{photo.pk}/")
    assert resp.status_code == 200 and resp["Content-Type"] == "image/jpeg"


def test_progress_return_and_extension_need_their_fields(client, world):
    case = dispatched(world)
    client.force_login(world.gw)
    before = snapshot()
    resp = client.post(f"/work/c/{case.number}/act/return/", {"return-note": "  "})
    assert resp.status_code == 400 and "请填写原因" in text(resp)
    resp = client.post(f"/work/c/{case.number}/act/request_extension/",
                       {"request_extension-minutes": "abc", "request_extension-note": "需要吊车"})
    assert resp.status_code == 400
    body = text(resp)
    assert "请输入整数" in body and 'value="abc"' in body and "需要吊车</textarea>" in body
    assert snapshot() == before
    resp = client.post(f"/work/c/{case.number}/act/request_extension/",
                       {"request_extension-minutes": "480", "request_extension-note": "需要吊车"})
    assert resp.status_code == 302
    ext = ExtensionRequest.objects.get(case=case)
    assert ext.minutes == 480 and ext.state == "pending"
    client.post(f"/work/c/{case.number}/act/start/", {})
    resp = client.post(f"/work/c/{case.number}/act/progress/",
                       {"progress-note": "已联系环卫", "progress-photos": [jpeg("p.jpg")]})
    assert resp.status_code == 302
    assert fresh(case).state == "in_progress" and case.photos.filter(stage="progress").count() == 1
    resp = client.post(f"/work/c/{case.number}/act/return/", {"return-note": "不属于本网格"})
    assert resp.status_code == 302 and fresh(case).state == "returned"


def test_htmx_action_returns_the_fragment(client, world):
    case = dispatched(world)
    client.force_login(world.gw)
    h = {"HX-Request": "true"}
    resp = client.post(f"/work/c/{case.number}/act/return/", {"return-note": ""}, headers=h)
    assert resp.status_code == 200 and "<html" not in text(resp) and "请填写原因" in text(resp)
    resp = client.post(f"/work/c/{case.number}/act/start/", {}, headers=h)
    assert resp.status_code == 200 and 'data-state="in_progress"' in text(resp) and "<html" not in text(resp)


def test_a_transition_someone_else_made_first_shows_the_fresh_state(client, world):
    case = dispatched(world)
    client.force_login(world.gw)
    client.get(f"/work/c/{case.number}/")  # the page was open with 签收 on it …
    services.case_start(actor=world.gw, case=fresh(case), note="另一台手机上签收了")  # … then another device
    before = snapshot()
    resp = client.post(f"/work/c/{case.number}/act/start/", {"start-note": "x"})
    assert resp.status_code == 409
    body = text(resp)
    assert 'id="conflict"' in body and 'data-state="in_progress"' in body and 'id="act-handle"' in body
    assert snapshot() == before
    # the same on the console: accept a case that is already accepted
    acc = accepted(world)
    client.force_login(world.admin_a)
    resp = client.post(f"/dispatch/c/{acc.number}/act/accept/", {"accept-note": ""})
    assert resp.status_code == 409 and 'data-state="accepted"' in text(resp)


def test_handler_of_another_grid_cannot_open_or_act(client, world):
    case = dispatched(world)
    client.force_login(world.gw_b)
    assert case.number not in text(client.get("/work/"))
    before = snapshot()
    assert client.get(f"/work/c/{case.number}/").status_code == 403
    resp = client.post(f"/work/c/{case.number}/act/start/", {})
    assert resp.status_code == 403 and "管辖范围" in text(resp)
    assert snapshot() == before
    # a grid worker has no console
    assert client.get("/dispatch/").status_code == 403
    assert client.get(f"/dispatch/c/{case.number}/").status_code == 403


def test_unknown_case_or_action(client, world):
    case = dispatched(world)
    client.force_login(world.gw)
    assert client.get("/work/c/20000101-999999/").status_code == 404
    assert client.post(f"/work/c/{case.number}/act/frobnicate/", {}).status_code == 404
    assert client.get(f"/work/c/{case.number}/act/start/").status_code == 405


# ---------------------------------------------------------------- /dispatch/


def test_console_queue_is_scoped_and_filtered(client, world):
    a1 = submit(world)
    a2 = accepted(world, cat=world.cat2, description="路牌被风吹歪")
    b1 = submit(world, lat=world.blat, lng=world.blng)
    Case.objects.filter(pk=a1.pk).update(stage_due_at=timezone.now() - dt.timedelta(minutes=30))
    client.force_login(world.admin_a)
    body = text(client.get("/dispatch/"))
    assert a1.number in body and a2.number in body and b1.number not in body
    assert body.index(a1.number) < body.index(a2.number)  # by deadline
    body = text(client.get("/dispatch/", {"category": world.cat2.code}))
    assert a2.number in body and a1.number not in body
    body = text(client.get("/dispatch/", {"state": "submitted"}))
    assert a1.number in body and a2.number not in body
    body = text(client.get("/dispatch/", {"overdue": "on"}))
    assert a1.number in body and a2.number not in body
    body = text(client.get("/dispatch/", {"q": "风吹"}))
    assert a2.number in body and a1.number not in body
    body = text(client.get("/dispatch/", {"jurisdiction": world.tree.grid.code}))
    assert a1.number in body
    # htmx asks for the queue only
    resp = client.get("/dispatch/", {"state": "submitted"}, headers={"HX-Request": "true", "HX-Target": "queue"})
    assert "<html" not in text(resp) and a1.number in text(resp)
    # community B sees its own case only and cannot open A's, nor act on it
    client.force_login(world.admin_b)
    body = text(client.get("/dispatch/"))
    assert b1.number in body and a1.number not in body
    before = snapshot()
    assert client.get(f"/dispatch/c/{a1.number}/").status_code == 403
    assert client.post(f"/dispatch/c/{a1.number}/act/accept/", {}).status_code == 403
    resp = client.post("/dispatch/bulk/", {"cases": [a2.number], "department": world.dept.pk})
    assert resp.status_code == 400 and "不在您的辖区" in text(resp)
    assert snapshot() == before


def test_console_refuses_workers_and_handlers(client, world):
    assert client.get("/dispatch/").status_code == 302
    for user in (world.worker, world.gw):
        client.force_login(user)
        resp = client.get("/dispatch/")
        assert resp.status_code == 403 and "无法完成" in text(resp)


def test_bulk_dispatch_is_all_or_nothing(client, world):
    c1, c2 = accepted(world), accepted(world)
    c3 = submit(world)  # not accepted yet: cannot be dispatched
    client.force_login(world.admin_a)
    before = snapshot()
    resp = client.post("/dispatch/bulk/", {"cases": [c1.number, c3.number], "department": world.dept.pk,
                                           "note": "请尽快"})
    assert resp.status_code == 400
    body = text(resp)
    assert 'id="bulk-error"' in body and "全部未派遣" in body
    assert 'value="请尽快"' in body and f'value="{c1.number}" id="cb-{c1.number}" checked' in body
    assert snapshot() == before
    resp = client.post("/dispatch/bulk/", {"cases": [], "department": world.dept.pk})
    assert resp.status_code == 400 and "请至少勾选一件案件" in text(resp)
    resp = client.post("/dispatch/bulk/", {"cases": [c1.number, c2.number], "department": world.dept.pk,
                                           "back": "state=accepted"})
    assert resp.status_code == 302 and resp["Location"] == "/dispatch/?state=accepted"
    assert {fresh(c).state for c in (c1, c2)} == {"dispatched"}
    assert fresh(c1).department_id == world.dept.pk
    assert "已派遣 2 件案件" in text(client.get(resp["Location"]))


def test_console_case_shows_masked_contact_and_every_allowed_action(client, world):
    case = submit(world)
    client.force_login(world.admin_a)
    audits = AuditLog.objects.count()
    body = text(client.get(f"/dispatch/c/{case.number}/"))
    phone = world.reporter.phone
    assert phone not in body and f"{phone[:3]}****{phone[-4:]}" in body
    assert AuditLog.objects.count() > audits  # the selector audits the staff read
    from yizhan.reports import selectors

    offered = set(re.findall(r'id="act-([a-z_]+)"', body))
    assert offered == set(selectors.case_actions_for(actor=world.admin_a, case=case)) - {"support"}
    assert {"accept", "reject"} <= offered


def test_reject_needs_a_reason_then_accept_dispatch_with_assignee(client, world):
    case = submit(world)
    client.force_login(world.admin_a)
    resp = client.post(f"/dispatch/c/{case.number}/act/reject/", {"reject-note": ""})
    assert resp.status_code == 400 and "请填写原因" in text(resp)
    assert fresh(case).state == "submitted"
    resp = client.post(f"/dispatch/c/{case.number}/act/accept/", {"accept-note": "符合立案条件"})
    assert resp.status_code == 302 and fresh(case).state == "accepted"
    body = text(client.get(f"/dispatch/c/{case.number}/"))
    assert f'<option value="{world.gw.pk}">' in body and f'<option value="{world.dept.pk}">' in body
    resp = client.post(f"/dispatch/c/{case.number}/act/dispatch/",
                       {"dispatch-department": world.dept.pk, "dispatch-assignee": world.gw.pk,
                        "dispatch-note": "请今天处理"})
    assert resp.status_code == 302
    case = fresh(case)
    assert case.state == "dispatched" and case.assignee_id == world.gw.pk and case.department_id == world.dept.pk
    body = text(client.get(f"/dispatch/c/{case.number}/"))
    assert "请今天处理" in body and "符合立案条件" in body and "派往：城市管理局" in body


def test_reply_templates_fill_the_note(client, world):
    case = submit(world)
    tpl = ReplyTemplate.objects.create(action="reject", title="不属于受理范围",
                                       text="经核实，该问题不属于城市管理受理范围。", text_en="Not ours.")
    client.force_login(world.admin_a)
    body = text(client.get(f"/dispatch/c/{case.number}/"))
    assert 'class="reply-tpl"' in body and "经核实，该问题不属于城市管理受理范围。" in body
    # without JavaScript: picking a template and leaving the note empty uses the template
    resp = client.post(f"/dispatch/c/{case.number}/act/reject/", {"reject-template": tpl.pk, "reject-note": ""})
    assert resp.status_code == 302
    case = fresh(case)
    assert case.state == "rejected" and case.reject_reason == "经核实，该问题不属于城市管理受理范围。"
    assert case.events.get(action="reject").public_note == "经核实，该问题不属于城市管理受理范围。"


def test_actions_take_an_internal_note_and_a_public_reply(client, world):
    case = submit(world)
    tpl = ReplyTemplate.objects.create(action="accept", title="已受理", text="已受理，将尽快处理。")
    client.force_login(world.admin_a)
    body = text(client.get(f"/dispatch/c/{case.number}/"))
    assert 'name="accept-public_reply"' in body and "公开回复" in body
    assert 'data-note="id_accept-public_reply"' in body  # templates fill the public reply
    resp = client.post(f"/dispatch/c/{case.number}/act/accept/",
                       {"accept-note": "内部：交老张", "accept-public_reply": "", "accept-template": tpl.pk})
    assert resp.status_code == 302
    ev = fresh(case).events.get(action="accept")
    assert (ev.note, ev.public_note) == ("内部：交老张", "已受理，将尽快处理。")
    body = text(client.get(f"/dispatch/c/{case.number}/"))
    assert "内部：交老张" in body and "已受理，将尽快处理。" in body
    public = text(client.get(f"/reports/c/{case.number}/"))
    assert "已受理，将尽快处理。" in public and "内部：交老张" not in public


def test_console_offers_reopen_of_a_closed_case(client, world):
    case = dispatched(world)
    services.case_start(actor=world.gw, case=fresh(case))
    services.case_handle(actor=world.gw, case=fresh(case), note="好了", photos=[jpeg()])
    services.case_verify(actor=world.admin_a, case=fresh(case))
    services.case_close(actor=world.admin_a, case=fresh(case))
    client.force_login(world.admin_a)
    body = text(client.get(f"/dispatch/c/{case.number}/"))
    assert 'id="act-reopen"' in body
    resp = client.post(f"/dispatch/c/{case.number}/act/reopen/", {"reopen-note": "回访：还是没修好"})
    assert resp.status_code == 302 and fresh(case).state == "dispatched"


def test_inbox_shows_working_time_left_on_working_clock_stages(client, world, monkeypatch):
    from zoneinfo import ZoneInfo

    sh = ZoneInfo("Asia/Shanghai")
    now = dt.datetime(2026, 11, 23, 14, 0, tzinfo=sh)  # a Monday afternoon
    case = dispatched(world)
    Case.objects.filter(pk=case.pk).update(stage_due_at=dt.datetime(2026, 11, 24, 10, 0, tzinfo=sh))
    monkeypatch.setattr(timezone, "now", lambda: now.astimezone(dt.UTC))
    client.force_login(world.gw)
    body = text(client.get("/work/"))
    # 14:00-18:00 Monday + 08:30-10:00 Tuesday = 5 h 30 of working time (20 h on the wall clock)
    assert "剩 5 小时 30 分（工作时间）" in body and "20 小时" not in body
    body = text(client.get(f"/work/c/{case.number}/"))
    assert "剩 5 小时 30 分（工作时间）" in body
    # a natural-clock category counts the wall clock
    type(world.cat).objects.filter(pk=world.cat.pk).update(clock="natural")
    body = text(client.get("/work/"))
    assert "剩 20 小时 0 分" in body


def test_work_and_dispatch_queues_are_paged(client, world, monkeypatch):
    from yizhan.reports.views import staff as staff_views

    monkeypatch.setattr(staff_views, "PAGE_SIZE", 2)
    cases = [dispatched(world, description=f"第{i}件") for i in range(3)]
    client.force_login(world.gw)
    first = text(client.get("/work/"))
    second = text(client.get("/work/?page=2"))
    shown = re.findall(r'class="case-item[^"]*" data-number="([^"]+)"', first + second)
    assert sorted(shown) == sorted(c.number for c in cases) and 'rel="next"' in first
    assert "3 件" in first
    client.force_login(world.admin_a)
    first = text(client.get("/dispatch/?state=all"))
    assert 'rel="next"' in first and "page=2" in first and "state=all" in first
    last = text(client.get("/dispatch/?state=all&page=2"))
    assert 'rel="prev"' in last


def test_merge_offers_nearby_duplicates(client, world):
    first = submit(world, lat=world.lat, lng=world.lng)
    dup = submit(world, lat=world.lat + 0.0001, lng=world.lng)
    client.force_login(world.admin_a)
    body = text(client.get(f"/dispatch/c/{dup.number}/"))
    assert 'id="act-merge"' in body and f'value="{first.number}"' in body
    resp = client.post(f"/dispatch/c/{dup.number}/act/merge/", {"merge-into": ""})
    assert resp.status_code == 400 and "请选择要合并到的案件" in text(resp)
    resp = client.post(f"/dispatch/c/{dup.number}/act/merge/", {"merge-into": "20000101-999999"})
    assert resp.status_code == 400 and fresh(dup).state == "submitted"
    resp = client.post(f"/dispatch/c/{dup.number}/act/merge/", {"merge-into": first.number, "merge-note": "同一处"})
    assert resp.status_code == 302 and resp["Location"] == f"/dispatch/c/{first.number}/"
    dup = fresh(dup)
    assert dup.state == "merged" and dup.merged_into_id == first.pk


def test_photo_approve_with_redactions_then_unpublish(client, world):
    case = services.case_submit(actor=world.reporter, category=world.cat.code, lat=world.lat, lng=world.lng,
                                description="有车牌", photos=[jpeg("r.jpg", (200, 100), "blue")]).case
    photo = case.photos.get()
    client.force_login(world.admin_a)
    body = text(client.get(f"/dispatch/c/{case.number}/"))
    assert f'id="photo-{photo.pk}"' in body and 'name="cell" value="7,7"' in body
    resp = client.post(f"/dispatch/photos/{photo.pk}/approve/", {"rects": "0.1,0.2,nan,0.1"})
    assert resp.status_code == 302
    photo.refresh_from_db()
    assert photo.approved_at is None
    assert "遮挡区域无效" in text(client.get(resp["Location"].split("#")[0]))
    resp = client.post(f"/dispatch/photos/{photo.pk}/approve/", {"rects": "0.1,0.2,0.3,0.25", "cell": ["0,0"]})
    assert resp.status_code == 302 and resp["Location"].endswith(f"#photo-{photo.pk}")
    photo.refresh_from_db()
    assert photo.approved_at is not None and photo.public_image
    assert photo.redactions == [[0.1, 0.2, 0.3, 0.25], [0.0, 0.0, 0.125, 0.125]]
    body = text(client.get(f"/dispatch/c/{case.number}/"))
    assert "已公开" in body and "遮挡 2 处" in body
    resp = client.post(f"/dispatch/photos/{photo.pk}/unpublish/")
    assert resp.status_code == 302
    photo.refresh_from_db()
    assert photo.approved_at is None
    # another community: cannot see, approve or unpublish the photo
    client.force_login(world.admin_b)
    assert client.get(f"/dispatch/photos/{photo.pk}/").status_code == 403
    assert client.post(f"/dispatch/photos/{photo.pk}/approve/", {"rects": ""}).status_code == 403
    photo.refresh_from_db()
    assert photo.approved_at is None
    # a grid worker may look at photos in scope but not publish them
    client.force_login(world.gw)
    assert client.get(f"/work/photos/{photo.pk}/").status_code == 200
    assert client.post(f"/dispatch/photos/{photo.pk}/approve/", {}).status_code == 403


def test_verify_and_close_from_the_console(client, world):
    case = dispatched(world)
    services.case_start(actor=world.gw, case=fresh(case))
    services.case_handle(actor=world.gw, case=fresh(case), note="好了", photos=[jpeg()])
    client.force_login(world.admin_a)
    resp = client.post(f"/dispatch/c/{case.number}/act/verify_fail/", {"verify_fail-note": ""})
    assert resp.status_code == 400 and "请填写原因" in text(resp)
    resp = client.post(f"/dispatch/c/{case.number}/act/verify/", {"verify-note": "现场已核实"})
    assert resp.status_code == 302 and fresh(case).state == "verified"
    resp = client.post(f"/dispatch/c/{case.number}/act/close/", {"close-note": ""})
    assert resp.status_code == 302 and fresh(case).state == "closed"
    body = text(client.get(f"/dispatch/c/{case.number}/"))
    assert 'id="act-follow_up"' in body and 'id="act-close"' not in body


def test_staff_pages_switch_to_english(client, world):
    case = dispatched(world)
    client.force_login(world.gw)
    client.post("/i18n/setlang/", {"language": "en", "next": "/work/"})
    resp = client.get("/work/")
    assert resp.status_code == 200 and '<html lang="en">' in text(resp)
    resp = client.get(f"/work/c/{case.number}/")
    assert resp.status_code == 200


@pytest.mark.parametrize("url_name", ["work", "dispatch"])
def test_staff_pages_weigh_under_200_kb_gzipped_and_use_no_cdn(client, world, url_name):
    import gzip

    from django.contrib.staticfiles import finders

    case = dispatched(world)
    client.force_login(world.gw if url_name == "work" else world.admin_a)
    pages = [f"/{url_name}/", f"/{url_name}/c/{case.number}/"]
    for url in pages:
        html = client.get(url).content
        refs = set(re.findall(r'(?:src|href)="(/static/[^"#?]+)', html.decode()))
        assert not re.search(r'<(?:script|link)[^>]+(?:src|href)="(?:https?:)?//', html.decode())
        total = len(gzip.compress(html))
        for ref in sorted(refs):
            path = finders.find(ref.removeprefix("/static/"))
            assert path, f"{ref} is linked but not found"
            with open(path, "rb") as fh:
                total += len(gzip.compress(fh.read()))
        assert total < 200 * 1024, (url, total)


def test_console_decides_extension_transfers_parks_and_unparks(client, world):
    municipal = make_department(jurisdiction=world.tree.district, code="municipal", name="市政公用局")
    case = dispatched(world)
    services.case_request_extension(actor=world.gw, case=fresh(case), minutes=120, note="等材料")
    client.force_login(world.admin_a)
    body = text(client.get(f"/dispatch/c/{case.number}/"))
    assert 'id="act-decide_extension"' in body and "申请延长 120 分钟" in body and "等材料" in body
    resp = client.post(f"/dispatch/c/{case.number}/act/decide_extension/", {"decide_extension-note": "同意"})
    assert resp.status_code == 400 and "请选择是否同意" in text(resp)
    due = fresh(case).stage_due_at
    resp = client.post(f"/dispatch/c/{case.number}/act/decide_extension/", {"decide_extension-approve": "yes"})
    assert resp.status_code == 302
    assert ExtensionRequest.objects.get(case=case).state == "approved" and fresh(case).stage_due_at > due
    # transfer needs a department and a reason
    resp = client.post(f"/dispatch/c/{case.number}/act/transfer/", {"transfer-note": "属市政"})
    assert resp.status_code == 400 and "请选择转派部门" in text(resp)
    resp = client.post(f"/dispatch/c/{case.number}/act/transfer/",
                       {"transfer-department": municipal.pk, "transfer-assignee": world.gw.pk,
                        "transfer-note": "属市政"})
    assert resp.status_code == 302 and fresh(case).department_id == municipal.pk
    resp = client.post(f"/dispatch/c/{case.number}/act/park/", {"park-note": ""})
    assert resp.status_code == 400 and fresh(case).state == "dispatched"
    resp = client.post(f"/dispatch/c/{case.number}/act/park/", {"park-note": "待拆迁统一处理"})
    assert resp.status_code == 302 and fresh(case).state == "parked"
    body = text(client.get(f"/dispatch/c/{case.number}/"))
    assert "待拆迁统一处理" in body and 'id="act-unpark"' in body
    resp = client.post(f"/dispatch/c/{case.number}/act/unpark/", {})
    assert resp.status_code == 302 and fresh(case).state == "accepted"
    # parked cases are on the default queue; "all states" shows finished ones too
    assert case.number in text(client.get("/dispatch/"))


def test_follow_up_needs_its_record(client, world):
    case = dispatched(world)
    services.case_start(actor=world.gw, case=fresh(case))
    services.case_handle(actor=world.gw, case=fresh(case), photos=[jpeg()])
    services.case_verify(actor=world.admin_a, case=fresh(case))
    services.case_close(actor=world.admin_a, case=fresh(case))
    client.force_login(world.admin_a)
    assert case.number not in text(client.get("/dispatch/"))  # finished: off the default queue
    assert case.number in text(client.get("/dispatch/", {"state": "all"}))
    resp = client.post(f"/dispatch/c/{case.number}/act/follow_up/", {"follow_up-note": ""})
    assert resp.status_code == 400 and "请填写回访记录" in text(resp)
    resp = client.post(f"/dispatch/c/{case.number}/act/follow_up/", {"follow_up-note": "电话回访，满意"})
    assert resp.status_code == 302
    assert CaseEvent.objects.filter(case=case, action="follow_up", note="电话回访，满意").exists()


def test_every_staff_url_needs_login_and_the_right_role(client, world):
    case = services.case_submit(actor=world.reporter, category=world.cat.code, lat=world.lat + 0.001,
                                lng=world.lng, photos=[jpeg()]).case
    photo = case.photos.get()
    gets = ["/work/", f"/work/c/{case.number}/", f"/work/photos/{photo.pk}/", "/dispatch/",
            f"/dispatch/c/{case.number}/", f"/dispatch/photos/{photo.pk}/"]
    posts = [f"/work/c/{case.number}/act/start/", "/dispatch/bulk/", f"/dispatch/c/{case.number}/act/accept/",
             f"/dispatch/photos/{photo.pk}/approve/", f"/dispatch/photos/{photo.pk}/unpublish/"]
    before = snapshot()
    for url in gets + posts:
        resp = client.post(url, {"cases": [case.number]}) if url in posts else client.get(url)
        assert resp.status_code == 302 and resp["Location"].startswith("/accounts/login/"), url
    client.force_login(world.worker)  # logged in, no staff role
    for url in gets + posts:
        resp = client.post(url, {"cases": [case.number]}) if url in posts else client.get(url)
        assert resp.status_code == 403, url
        assert "无法完成" in text(resp)
    client.force_login(world.admin_b)  # the right role, another community
    assert f'data-number="{case.number}"' not in text(client.get("/dispatch/", {"state": "all", "q": case.number}))
    for url in gets[4:] + posts[1:]:
        resp = client.post(url, {"cases": [case.number]}) if url in posts else client.get(url)
        assert resp.status_code in (400, 403), url
    assert snapshot() == before
    assert CasePhoto.objects.get(pk=photo.pk).approved_at is None


def test_department_handler_sees_the_departments_cases_and_acts(client, world):
    handler = make_handler(world.dept, display_name="城管李队")
    case = dispatched(world)  # to the department, assigned to the grid worker
    other_dept = make_department(jurisdiction=world.tree.district, code="water", name="水务局")
    elsewhere = accepted(world)
    services.case_dispatch(actor=world.admin_a, case=elsewhere, department=other_dept, assignee=world.gw)
    client.force_login(handler)
    body = text(client.get("/work/"))
    assert f'data-number="{case.number}"' in body and f'data-number="{elsewhere.number}"' not in body
    resp = client.post(f"/work/c/{case.number}/act/start/", {"start-note": "部门已接单"})
    assert resp.status_code == 302 and fresh(case).state == "in_progress"
    # not a member of 水务局: may look (in scope) but not act
    before = snapshot()
    assert client.post(f"/work/c/{elsewhere.number}/act/start/", {}).status_code == 403
    assert snapshot() == before
