"""PIPL export and erasure of the reports app (hooks in reports/privacy.py, run by
accounts.services.account_export / account_delete): cases stay as the city's work
orders but lose every path back to the person; counters stay exact."""

from __future__ import annotations

import json
from datetime import time
from types import SimpleNamespace

import pytest

from yizhan.accounts import services as accounts
from yizhan.core.models import AuditLog
from yizhan.core.testing.factories import (
    make_jurisdiction_tree,
    make_staff,
    make_superuser,
    make_worker,
)
from yizhan.core.testing.privacy import assert_no_path_back, identifiers_of
from yizhan.reports import services as svc
from yizhan.reports.models import (
    Case,
    CaseEvent,
    CasePhoto,
    CaseSupporter,
    DepartmentMember,
    GridDuty,
)
from yizhan.reports.privacy import DELETED_LABEL
from yizhan.reports.routing import routing_index_invalidate
from yizhan.reports.selectors.cases import case_public_view
from yizhan.reports.tests.factories import (
    drive_case,
    make_category,
    make_department,
    make_handler,
    photo_upload,
)

pytestmark = pytest.mark.django_db

MY_NAME = "张小骑"
MY_PHONE = "13912345678"


@pytest.fixture(autouse=True)
def _routing():
    routing_index_invalidate()
    yield
    routing_index_invalidate()


@pytest.fixture
def w():
    tree = make_jurisdiction_tree()
    cat = make_category(code="manhole_cover", name="井盖缺失")
    dept = make_department(jurisdiction=tree.district, code="urban")
    dispatcher = make_staff("community_admin", tree.community, display_name="王主任")
    handler = make_handler(dept, display_name="赵师傅")
    me = make_worker(MY_PHONE, display_name=MY_NAME)
    other = make_worker(display_name="李路人")
    lat, lng = tree.point(tree.grid)

    def submit(actor, description, **kw):
        return svc.case_submit(actor=actor, category=cat.code, lat=lat, lng=lng, description=description,
                               **kw).case

    # My closed and rated case, with my photo and the handler's after-photo.
    closed = submit(me, "我的上报：井盖缺失", address="科学城路 1 号", photos=[photo_upload(name="mine.jpg")],
                    idempotency_key="k-1", contact={"name": MY_NAME, "phone": MY_PHONE, "email": "me@example.cn"})
    drive_case(closed, "handled", dispatcher=dispatcher, handler=handler, department=dept)
    svc.case_confirm(actor=me, case=closed, note="确认已修好")
    svc.case_close(actor=dispatcher, case=closed)
    svc.case_evaluate(actor=me, case=closed, rating=4, note="赵师傅来得很快，我电话 13912345678")
    # My open case, anonymous, supported by the other person.
    mine_open = submit(me, "我的匿名上报：路灯不亮", is_anonymous=True)
    svc.case_support(actor=other, case=mine_open)
    # The other person's case, supported by me and by a third person.
    theirs = submit(other, "别人的上报：垃圾堆放", address="别人的地址 9 号")
    third = make_worker()
    svc.case_support(actor=me, case=theirs)
    svc.case_support(actor=third, case=theirs)
    return SimpleNamespace(tree=tree, cat=cat, dept=dept, dispatcher=dispatcher, handler=handler, me=me,
                           other=other, third=third, closed=Case.objects.get(pk=closed.pk),
                           mine_open=Case.objects.get(pk=mine_open.pk), theirs=Case.objects.get(pk=theirs.pk))


def test_export_has_my_rows_and_nothing_of_anyone_else(w):
    me = w.me
    data = accounts.account_export(actor=me, user=me)
    json.dumps(data, ensure_ascii=False)  # plain JSON

    cases = {c["number"]: c for c in data["reports_cases"]}
    assert set(cases) == {w.closed.number, w.mine_open.number}
    closed = cases[w.closed.number]
    assert closed["category"] == "manhole_cover" and closed["state"] == "evaluated"
    assert closed["description"] == "我的上报：井盖缺失" and closed["address"] == "科学城路 1 号"
    assert (closed["lat"], closed["lng"]) == (w.closed.lat, w.closed.lng) and closed["is_anonymous"] is False
    assert closed["submitted_at"].endswith("+00:00") and closed["closed_at"].endswith("+00:00")
    assert closed["rating"] == 4 and closed["rating_comment"].startswith("赵师傅来得很快")
    assert len(closed["photos"]) == 1 and closed["photos"][0].endswith(".jpg") and "/" not in closed["photos"][0]
    assert [s["action"] for s in closed["my_steps"]] == ["submit", "confirm", "evaluate"]
    assert cases[w.mine_open.number]["is_anonymous"] is True

    assert data["reports_supported_cases"] == [
        {"number": w.theirs.number, "at": CaseSupporter.objects.get(user=me).created_at.isoformat()}]
    photos = data["reports_case_photos"]
    assert [(p["case"], p["stage"]) for p in photos] == [(w.closed.number, "report")]
    assert data["reports_evaluations"] == [
        {"number": w.closed.number, "rating": 4, "comment": w.closed.rating_comment,
         "at": w.closed.evaluated_at.isoformat()}]
    assert data["reports_staff_records"] == []

    blob = json.dumps({k: v for k, v in data.items() if k.startswith("reports_")}, ensure_ascii=False)
    for foreign in ("别人的上报", "别人的地址", "李路人", w.other.username, w.other.phone, "王主任",
                    w.dispatcher.username, w.handler.username, "现场核查通过"):
        assert foreign not in blob
    handler_photo = CasePhoto.objects.get(case=w.closed, stage="after")
    assert handler_photo.image.name.rsplit("/", 1)[-1] not in blob
    # account_export writes the audit row of the export.
    assert AuditLog.objects.filter(action="export", object_type="accounts.user", object_id=str(me.pk)).count() == 1


def test_delete_keeps_cases_and_cuts_every_path_back(w):
    me = w.me
    old_username = me.username
    my_photo = CasePhoto.objects.get(case=w.closed, uploaded_by=me)
    names = identifiers_of(me)

    accounts.account_delete(actor=me, user=me)

    # Both cases stay (the city keeps its work orders), anonymous, no contact, no key.
    for number, description in ((w.closed.number, "我的上报：井盖缺失"), (w.mine_open.number, "我的匿名上报：路灯不亮")):
        case = Case.objects.get(number=number)
        assert case.reporter_id is None and case.is_anonymous
        assert (case.contact_name, case.contact_phone, case.contact_email) == ("", "", "")
        assert case.idempotency_key == "" and case.content_hash == ""
        assert case.description == description  # kept: describes the problem, not the person
        assert case_public_view(case=case)["reporter"] == "匿名"
    closed = Case.objects.get(pk=w.closed.pk)
    assert closed.state == "evaluated" and closed.rating == 4 and closed.rating_comment == ""
    assert closed.address == "科学城路 1 号"
    # The photo stays (EXIF-free), without its uploader.
    my_photo.refresh_from_db()
    assert my_photo.uploaded_by_id is None and my_photo.image.name

    # Timeline: my lines lose their author; the evaluation note (it repeats the comment) is blank.
    mine = CaseEvent.objects.filter(case=w.closed, action__in=["submit", "confirm", "evaluate"])
    assert mine.count() == 3
    assert all(e.actor_id is None and e.actor_label == DELETED_LABEL for e in mine)
    assert CaseEvent.objects.get(case=w.closed, action="evaluate").note == ""
    assert CaseEvent.objects.get(case=w.closed, action="evaluate").data.get("rating") == 4
    assert not CaseEvent.objects.filter(actor_label__in=[old_username, MY_NAME]).exists()
    # Staff lines are untouched.
    assert CaseEvent.objects.get(case=w.closed, action="close").actor_id == w.dispatcher.pk

    # No FK in the app still points at me; no row carries my name or phone.
    for row in Case.objects.values("description", "address", "contact_name", "contact_phone", "rating_comment"):
        assert MY_PHONE not in json.dumps(row, ensure_ascii=False) and MY_NAME not in json.dumps(row, ensure_ascii=False)
    for note in CaseEvent.objects.values_list("note", flat=True):
        assert MY_PHONE not in note

    assert_no_path_back("reports", me, kept_on_shell=set())
    assert_no_path_back(None, me, identifiers=names)  # every app, and no text names me

    # Counters: my support is gone from their case, theirs on my case stays; count = rows everywhere.
    theirs = Case.objects.get(pk=w.theirs.pk)
    assert theirs.supporter_count == 1 and not CaseSupporter.objects.filter(user=me).exists()
    assert Case.objects.get(pk=w.mine_open.pk).supporter_count == 1
    for case in Case.objects.all():
        assert case.supporter_count == CaseSupporter.objects.filter(case=case).count(), case.number

    # The other person's case is untouched.
    assert theirs.reporter_id == w.other.pk and not theirs.is_anonymous

    # Nothing of it left in the shell's export.
    data = accounts.account_export(actor=make_superuser(), user=me)
    for key in ("reports_cases", "reports_supported_cases", "reports_case_photos", "reports_evaluations"):
        assert data[key] == [], key


def test_delete_after_a_merge_keeps_counters_exact(w):
    """A merged duplicate's reporter and supporters become supporters of the target."""
    lat, lng = w.tree.point(w.tree.grid)
    dup = svc.case_submit(actor=w.third, category=w.cat.code, lat=lat, lng=lng, description="重复").case
    svc.case_support(actor=w.me, case=dup)
    svc.case_merge(actor=w.dispatcher, case=dup, into=w.theirs)
    target = Case.objects.get(pk=w.theirs.pk)
    assert target.supporter_count == CaseSupporter.objects.filter(case=target).count()
    before = target.supporter_count

    accounts.account_delete(actor=w.me, user=w.me)

    target.refresh_from_db()
    assert target.supporter_count == before - 1 == CaseSupporter.objects.filter(case=target).count()


def test_delete_staff_unlinks_assignments_photos_and_rosters(w):
    handler = w.handler
    GridDuty.objects.create(grid=w.tree.grid, user=handler, weekdays=[0, 1, 2, 3, 4, 5, 6],
                            start_time=time(0, 0), end_time=time(23, 59))
    lat, lng = w.tree.point(w.tree.grid)
    open_case = svc.case_submit(actor=w.other, category=w.cat.code, lat=lat, lng=lng, description="待处理").case
    drive_case(open_case, "in_progress", dispatcher=w.dispatcher, handler=handler, department=w.dept)
    open_case.refresh_from_db()
    assert open_case.assignee_id == handler.pk
    ext = svc.case_request_extension(actor=handler, case=open_case, minutes=60, note="等待配件")
    svc.case_decide_extension(actor=w.dispatcher, case=open_case, approve=True)
    export = accounts.account_export(actor=handler, user=handler)
    assert {r["type"] for r in export["reports_staff_records"]} == {"department_member", "grid_duty"}
    assert any(p["stage"] == "after" for p in export["reports_case_photos"])
    names = identifiers_of(handler)

    accounts.account_delete(actor=handler, user=handler)

    open_case.refresh_from_db()
    assert open_case.assignee_id is None and open_case.department_id == w.dept.pk and open_case.state == "in_progress"
    assert not DepartmentMember.objects.filter(user=handler).exists()
    assert not GridDuty.objects.filter(user=handler).exists()
    assert not CaseEvent.objects.filter(actor=handler).exists()
    assert CasePhoto.objects.filter(stage="after", uploaded_by__isnull=True).count() == 1
    # The extension request stays as the case's record, without its requester (issue 8).
    ext.refresh_from_db()
    assert ext.requested_by_id is None and ext.minutes == 60 and ext.state == "approved"
    handler.refresh_from_db()
    assert not handler.is_active and handler.display_name == "" and handler.phone is None
    assert_no_path_back(None, handler, identifiers=names)
    # Deleting the dispatcher unlinks the extension decision.
    names = identifiers_of(w.dispatcher)
    accounts.account_delete(actor=w.dispatcher, user=w.dispatcher)
    ext.refresh_from_db()
    assert ext.decided_by_id is None
    assert_no_path_back(None, w.dispatcher, identifiers=names)
