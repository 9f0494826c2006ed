"""Case services: submitting (validation, idempotency, "me too", photos, numbers), the
main path of the workflow, notifications, audit, the domain event, merge, bulk
dispatch, photo approval and the selectors built on them."""

import io
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from PIL import Image

from yizhan.core.errors import (
    AppError,
    InvalidTransition,
    NotAuthenticated,
    OutOfJurisdiction,
    PermissionDenied,
)
from yizhan.core.models import AuditLog, DomainEvent, Notification
from yizhan.core.testing.factories import make_jurisdiction_tree, make_staff, make_worker
from yizhan.reports import selectors as sel
from yizhan.reports import services as svc
from yizhan.reports.models import Case, CaseEvent, CasePhoto, CaseSupporter
from yizhan.reports.routing import routing_index_invalidate
from yizhan.reports.tests.factories import (
    make_case,
    make_case_in,
    make_category,
    make_department,
    make_grid_worker,
    make_handler,
    photo_upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    routing_index_invalidate()
    yield
    routing_index_invalidate()


@pytest.fixture
def cat(db):
    return make_category("manhole", name="井盖缺失", extra_fields=[
        {"name": "size", "label": "尺寸", "label_en": "Size", "required": True},
        {"name": "note", "label": "备注", "label_en": "Note"},
    ])


@pytest.fixture
def dispatcher(tree):
    return make_staff("community_admin", tree.community)


@pytest.fixture
def dept(tree):
    return make_department(jurisdiction=tree.district, code="urban")


@pytest.fixture
def reporter():
    return make_worker(display_name="张三")


def submit(tree, reporter, cat, **over):
    lat, lng = tree.point(tree.grid)
    args = {"actor": reporter, "category": cat.code, "lat": lat, "lng": lng, "description": "井盖不见了",
            "details": {"size": "60cm"}}
    args.update(over)
    return svc.case_submit(**args)


def code_of(excinfo):
    return excinfo.value.code, excinfo.value.field


# ---- submitting ------------------------------------------------------------------------


def test_submit_creates_a_routed_case_with_clock_event_audit_and_tells_dispatchers(tree, cat, dispatcher, reporter):
    street_admin = make_staff("street_admin", tree.street)  # not the nearest level: not told
    res = submit(tree, reporter, cat, photos=[photo_upload()], address="石阳路 1 号")
    case = res.case
    assert res.created and not res.supported
    assert case.state == "submitted" and case.jurisdiction == tree.grid
    assert case.number[8] == "-" and len(case.number) == 15 and len(case.token) == 32
    assert case.details == {"size": "60cm"} and case.cell and case.urgency == "normal"
    assert case.stage_started_at == case.submitted_at and case.stage_due_at > case.submitted_at
    ev = CaseEvent.objects.get(case=case)
    assert ev.action == "submit" and ev.to_state == "submitted" and ev.actor == reporter
    photo = CasePhoto.objects.get(case=case)
    assert photo.event == ev and photo.stage == "report" and photo.width == 64 and not photo.approved_at
    assert AuditLog.objects.filter(object_type="reports.case", object_id=str(case.pk), action="create").exists()
    assert Notification.objects.filter(user=dispatcher, kind="case_new").count() == 1
    assert not Notification.objects.filter(user=street_admin).exists()


def test_notifications_carry_the_case_jurisdiction_for_webhooks(tree, cat, dispatcher, reporter, settings):
    from yizhan.core.models import OutboundMessage

    settings.YIZHAN_NOTIFY_CHANNELS = ["console"]
    case = submit(tree, reporter, cat).case
    msg = OutboundMessage.objects.get(user=dispatcher, kind="case_new")
    assert msg.payload["jurisdiction"] == {"code": tree.grid.code, "path": tree.grid.path}
    svc.case_accept(actor=dispatcher, case=case)
    msg = OutboundMessage.objects.get(user=reporter, kind="case_accepted")
    assert msg.payload["jurisdiction"]["path"] == tree.grid.path


@pytest.mark.parametrize("over, code, field", [
    ({"category": "nope"}, "unknown_category", "category"),
    ({"lat": 95}, "invalid_coordinates", "lat"),
    ({"lat": 10.0, "lng": 10.0}, "location_outside", "lat"),
    ({"description": "x" * 4001}, "text_too_long", "description"),
    ({"details": {}}, "missing_field", "details.size"),
    ({"details": {"size": " "}}, "missing_field", "details.size"),
    ({"idempotency_key": "k" * 65}, "invalid_idempotency_key", "idempotency_key"),
    ({"contact": {"phone": "123"}}, "invalid_contact", "contact.phone"),
])
def test_submit_bad_input_changes_nothing(tree, cat, reporter, over, code, field):
    from yizhan.core.errors import AppError

    with pytest.raises(AppError) as exc:
        submit(tree, reporter, cat, **over)
    assert code_of(exc) == (code, field)
    assert not Case.objects.exists() and not Notification.objects.exists()


def test_submit_inactive_category_and_anonymous(tree, cat, reporter):
    from yizhan.core.errors import AppError

    cat.active = False
    cat.save()
    with pytest.raises(AppError) as exc:
        submit(tree, reporter, cat)
    assert exc.value.code == "unknown_category"
    with pytest.raises(NotAuthenticated):
        submit(tree, None, cat)


def test_description_of_exactly_4000_is_fine(tree, cat, reporter):
    assert submit(tree, reporter, cat, description="好" * 4000).case.description == "好" * 4000


# ---- photos ------------------------------------------------------------------------------


def _gif():
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, "GIF")
    return SimpleUploadedFile("looks.jpg", buf.getvalue(), content_type="image/jpeg")


@pytest.mark.parametrize("photos, code", [
    (lambda: [photo_upload() for _ in range(4)], "too_many_photos"),
    (lambda: [_gif()], "photo_type"),
    (lambda: [SimpleUploadedFile("a.jpg", b"\xff\xd8\xff\xe0garbage", content_type="image/jpeg")], "photo_corrupt"),
    (lambda: [SimpleUploadedFile("big.jpg", b"\xff" * (10 * 1024 * 1024 + 1), content_type="image/jpeg")],
     "photo_too_large"),
])
def test_photo_limits(tree, cat, reporter, photos, code):
    from yizhan.core.errors import AppError

    with pytest.raises(AppError) as exc:
        submit(tree, reporter, cat, photos=photos())
    assert exc.value.code == code and exc.value.field == "photos"
    assert not Case.objects.exists() and not CasePhoto.objects.exists()


def test_three_photos_are_fine_and_png_kept(tree, cat, reporter):
    case = submit(tree, reporter, cat, photos=[photo_upload(), photo_upload(fmt="PNG", name="x.png"),
                                                photo_upload(color=(1, 2, 3))]).case
    assert case.photos.count() == 3
    assert sorted(p.image.name.rsplit(".", 1)[1] for p in case.photos.all()) == ["jpg", "jpg", "png"]


# ---- idempotency -------------------------------------------------------------------------


def test_replay_same_content_returns_the_same_case(tree, cat, reporter):
    first = submit(tree, reporter, cat, idempotency_key="abc-1", photos=[photo_upload()])
    again = submit(tree, reporter, cat, idempotency_key="abc-1", photos=[photo_upload()])
    assert first.created and not again.created and again.case.pk == first.case.pk
    assert Case.objects.count() == 1 and CasePhoto.objects.count() == 1


def test_replay_with_different_content_conflicts(tree, cat, reporter):
    from yizhan.core.errors import AppError

    submit(tree, reporter, cat, idempotency_key="abc-2")
    with pytest.raises(AppError) as exc:
        submit(tree, reporter, cat, idempotency_key="abc-2", description="另一件事")
    assert exc.value.code == "idempotency_key_reused" and exc.value.status == 409
    # another reporter may use the same key
    assert submit(tree, make_worker(), cat, idempotency_key="abc-2").created
    assert Case.objects.count() == 2


def test_case_numbers_are_sequential_per_day(tree, cat, reporter):
    a = submit(tree, reporter, cat).case
    b = submit(tree, reporter, cat).case
    assert a.number[:9] == b.number[:9] and int(b.number[9:]) == int(a.number[9:]) + 1


# ---- "me too" and duplicates -------------------------------------------------------------


def test_duplicates_within_50_m_and_support(tree, cat, reporter):
    lat, lng = tree.point(tree.grid)
    case = submit(tree, reporter, cat).case
    near = sel.case_duplicates(category=cat.code, lat=lat + 0.0003, lng=lng)  # ~33 m north
    assert [c.pk for c in near] == [case.pk] and 30 < near[0].distance_m < 36
    assert sel.case_duplicates(category=cat.code, lat=lat + 0.0006, lng=lng) == []  # ~67 m
    assert sel.case_duplicates(category="other", lat=lat, lng=lng) == []
    other = make_worker()
    res = submit(tree, other, cat, support=case.number)
    assert res.supported and not res.created and res.case.pk == case.pk
    submit(tree, other, cat, support=case.number)  # idempotent
    svc.case_support(actor=reporter, case=case)  # own case: nothing
    case.refresh_from_db()
    assert case.supporter_count == 1 and CaseSupporter.objects.filter(case=case).count() == 1
    assert Case.objects.count() == 1


def test_duplicates_skip_closed_cases(tree, cat):
    case = make_case_in("closed", category=cat, jurisdiction=tree.grid, details={"size": "1"})
    assert sel.case_duplicates(category=cat.code, lat=case.lat, lng=case.lng) == []
    with pytest.raises(InvalidTransition):
        svc.case_support(actor=make_worker(), case=case)


# ---- main path ---------------------------------------------------------------------------


def test_main_path_with_milestones_timeline_notifications_and_event(tree, cat, dispatcher, dept, reporter):
    worker = make_grid_worker(tree.grid)
    case = submit(tree, reporter, cat).case
    svc.case_accept(actor=dispatcher, case=case, note="立案")
    assert case.state == "accepted" and case.accepted_at
    svc.case_dispatch(actor=dispatcher, case=case)
    assert case.state == "dispatched" and case.department == dept and case.assignee == worker
    assert case.dispatched_at and case.stage_due_at > case.dispatched_at
    due = case.stage_due_at
    svc.case_start(actor=worker, case=case)
    assert case.state == "in_progress" and case.stage_due_at == due  # the handle clock keeps running
    svc.case_progress(actor=worker, case=case, note="已联系养护单位")
    with pytest.raises(Exception) as exc:
        svc.case_handle(actor=worker, case=case, note="好了")
    assert exc.value.code == "photo_required"
    svc.case_handle(actor=worker, case=case, note="已更换井盖", photos=[photo_upload()])
    assert case.state == "handled" and case.handled_at
    assert case.photos.get(stage="after").uploaded_by == worker
    svc.case_confirm(actor=reporter, case=case)
    assert case.state == "verified" and case.verified_at
    svc.case_close(actor=dispatcher, case=case)
    assert case.state == "closed" and case.closed_at and case.stage_due_at is None
    svc.case_evaluate(actor=reporter, case=case, rating=4, note="很快")
    assert case.state == "evaluated" and case.rating == 4 and case.rating_comment == "很快"
    actions = list(case.events.values_list("action", flat=True))
    assert actions == ["submit", "accept", "dispatch", "start", "progress", "handle", "confirm", "close", "evaluate"]
    kinds = set(Notification.objects.filter(user=reporter).values_list("kind", flat=True))
    assert kinds == {"case_accepted", "case_handled", "case_closed"}
    assert Notification.objects.filter(user=worker, kind="case_dispatched").count() == 1
    ev = DomainEvent.objects.get(name="reports.case_verified")
    assert ev.payload["number"] == case.number and ev.payload["reporter_id"] == reporter.pk
    assert ev.payload["category"] == "manhole" and ev.aggregate_id == str(case.pk)
    assert AuditLog.objects.filter(object_type="reports.case", object_id=str(case.pk), action="update").count() == 8


def test_verify_by_community_and_event_once_after_reopen(tree, cat, dept):
    case = make_case_in("handled", category=cat, jurisdiction=tree.grid, details={"size": "1"})
    admin = make_staff("community_admin", tree.community)
    svc.case_verify(actor=admin, case=case, note="现场查看已修复", photos=[photo_upload()])
    svc.case_close(actor=admin, case=case)
    svc.case_reopen(actor=case.reporter, case=case, note="又坏了")
    assert case.state == "dispatched" and case.reopen_count == 1
    handler = case.assignee or make_handler(case.department)
    svc.case_start(actor=handler, case=case)
    svc.case_handle(actor=handler, case=case, photos=[photo_upload()])
    svc.case_verify(actor=admin, case=case)
    assert DomainEvent.objects.filter(name="reports.case_verified").count() == 1


def test_wrong_people_are_refused_and_nothing_changes(tree, cat, dept, reporter):
    case = submit(tree, reporter, cat).case
    before = Case.objects.values().get(pk=case.pk)
    with pytest.raises(NotAuthenticated):
        svc.case_accept(actor=None, case=case)
    with pytest.raises(OutOfJurisdiction):
        svc.case_accept(actor=make_staff("community_admin", tree.other_community), case=case)
    with pytest.raises(PermissionDenied):
        svc.case_accept(actor=reporter, case=case)
    with pytest.raises(PermissionDenied):
        svc.case_accept(actor=make_worker(), case=case)
    with pytest.raises(PermissionDenied):  # a grid worker there may view, not accept
        svc.case_accept(actor=make_grid_worker(tree.grid), case=case)
    assert Case.objects.values().get(pk=case.pk) == before
    assert case.events.count() == 1


def test_closed_case_cannot_be_edited(tree, cat):
    case = make_case_in("closed", category=cat, jurisdiction=tree.grid, details={"size": "1"})
    admin = make_staff("community_admin", tree.community)
    for action, kwargs in [("accept", {}), ("dispatch", {}), ("park", {"note": "x"}), ("close", {}),
                           ("handle", {"photos": [photo_upload()]})]:
        with pytest.raises(InvalidTransition) as exc:
            svc.case_act(actor=admin, case=case, action=action, **kwargs)
        assert exc.value.code == "invalid_transition"
    assert Case.objects.get(pk=case.pk).state == "closed"


# ---- selectors ---------------------------------------------------------------------------


def test_staff_list_and_get_are_scoped_and_the_read_is_audited(tree, cat, reporter):
    case = submit(tree, reporter, cat, contact={"phone": "13800138000"}).case
    admin = make_staff("community_admin", tree.community)
    other = make_staff("community_admin", tree.other_community)
    assert list(sel.case_staff_list(actor=admin)) == [case]
    assert list(sel.case_staff_list(actor=other)) == []
    assert list(sel.case_staff_list(actor=admin, filters={"state": "accepted"})) == []
    assert list(sel.case_staff_list(actor=admin, filters={"q": case.number[-4:]})) == [case]
    got = sel.case_staff_get(actor=admin, number=case.number)
    assert got.reporter == reporter and got.contact_phone == "13800138000"
    assert AuditLog.objects.filter(action="read", object_id=str(case.pk), actor=admin).count() == 1
    with pytest.raises(OutOfJurisdiction):
        sel.case_staff_get(actor=other, number=case.number)
    with pytest.raises(PermissionDenied):
        sel.case_staff_get(actor=reporter, number=case.number)
    with pytest.raises(PermissionDenied):
        sel.case_staff_list(actor=reporter)


def test_public_view_hides_people_and_unapproved_photos(tree, cat, reporter):
    case = submit(tree, reporter, cat, photos=[photo_upload()], contact={"phone": "13800138000"}).case
    view = sel.case_public_view(case=case)
    assert view["reporter"] == "热心市民" and view["photos"] == []
    assert "张" not in view["reporter"]  # not even a masked surname
    assert "13800138000" not in str(view) and reporter.username not in str(view)
    admin = make_staff("community_admin", tree.community)
    svc.case_photo_approve(actor=admin, photo=case.photos.get(), redactions=[[0.1, 0.1, 0.5, 0.5]])
    view = sel.case_public_view(case=case)
    assert len(view["photos"]) == 1 and "/cases/public/" in view["photos"][0]["url"]
    anon = submit(tree, make_worker(display_name="李四"), cat, is_anonymous=True).case
    assert sel.case_public_view(case=anon)["reporter"] == "匿名"


def test_public_timeline_shows_public_replies_never_internal_notes(tree, cat, dispatcher, dept, reporter):
    case = submit(tree, reporter, cat).case
    svc.case_accept(actor=dispatcher, case=case, note="内部：转城管科长", public_reply="已受理，我们会尽快处理")
    svc.case_dispatch(actor=dispatcher, case=case, note="内部：老王负责")
    worker = case.assignee or make_handler(dept)
    svc.case_act(actor=worker, case=case, action="start", note="内部：明早去", public_reply="")
    svc.case_act(actor=worker, case=case, action="handle", note="内部：换了新井盖", public_reply="已更换井盖",
                 photos=[photo_upload()])
    svc.case_confirm(actor=reporter, case=case, note="我的评论：谢谢老王")
    svc.case_close(actor=dispatcher, case=case, note="内部：结")
    svc.case_evaluate(actor=reporter, case=case, rating=4, note="我的评价文字")
    view = sel.case_public_view(case=case)
    text = str(view)
    for secret in ("内部", "老王", "我的评论", "我的评价文字"):
        assert secret not in text, secret
    notes = {e["action"]: e["note"] for e in view["events"]}
    assert notes["accept"] == "已受理，我们会尽快处理" and notes["handle"] == "已更换井盖"
    assert notes["dispatch"] == "" and "confirm" in notes and "evaluate" in notes
    assert view["rating"] == 4
    public = sel.case_timeline(case=case, public_only=True)
    assert not any("内部" in e.note or "我的" in e.note for e in public)
    assert [e.data for e in public if e.action == "evaluate"] == [{"rating": 4}]
    assert all(e.data == {} for e in public if e.action != "evaluate")
    staff = {e.action: e.note for e in sel.case_timeline(case=case)}
    assert staff["accept"] == "内部：转城管科长" and staff["confirm"] == "我的评论：谢谢老王"
    # a reject tells the reporter the public reply, not the internal reason
    other = submit(tree, reporter, cat).case
    svc.case_reject(actor=dispatcher, case=other, note="内部：刷单嫌疑", public_reply="不属于受理范围")
    body = Notification.objects.filter(user=reporter, kind="case_rejected").get()
    assert "刷单" not in str(body.__dict__) and "不属于受理范围" in str(body.__dict__)


def test_reopen_clears_rating_and_closing_milestones(tree, cat, dispatcher, dept, reporter):
    case = submit(tree, reporter, cat).case
    svc.case_accept(actor=dispatcher, case=case)
    svc.case_dispatch(actor=dispatcher, case=case)
    worker = case.assignee or make_handler(dept)
    svc.case_start(actor=worker, case=case)
    svc.case_handle(actor=worker, case=case, photos=[photo_upload()])
    svc.case_verify(actor=dispatcher, case=case)
    svc.case_close(actor=dispatcher, case=case)
    svc.case_evaluate(actor=reporter, case=case, rating=2, note="一般")
    closed_at = case.closed_at
    svc.case_reopen(actor=reporter, case=case, note="又坏了")
    case.refresh_from_db()
    assert case.state == "dispatched" and case.reopen_count == 1
    assert (case.rating, case.rating_comment, case.evaluated_at, case.closed_at, case.verified_at) == (
        None, "", None, None, None)
    ev = case.events.get(action="reopen")
    assert ev.data["previous"]["rating"] == 2 and ev.data["previous"]["rating_comment"] == "一般"
    assert ev.data["previous"]["closed_at"] == closed_at.isoformat()
    view = sel.case_public_view(case=case)
    assert view["closed_at"] is None and view["rating"] is None


def test_staff_reopen_a_closed_open311_case_after_the_follow_up_call(tree, cat, dispatcher, dept):
    from yizhan.reports.models import Open311Client

    client = Open311Client.objects.create(name="hotline", prefix="hot", key_hash="1" * 64)
    lat, lng = tree.point(tree.grid)
    case = svc.case_submit(actor=None, open311_client=client, category=cat.code, lat=lat, lng=lng,
                           details={"size": "1"}).case
    svc.case_accept(actor=dispatcher, case=case)
    svc.case_dispatch(actor=dispatcher, case=case)
    worker = case.assignee or make_handler(dept)
    svc.case_start(actor=worker, case=case)
    svc.case_handle(actor=worker, case=case, photos=[photo_upload()])
    svc.case_verify(actor=dispatcher, case=case)
    svc.case_close(actor=dispatcher, case=case)
    svc.case_follow_up(actor=dispatcher, case=case, note="回访：市民说还在漏")
    assert "reopen" in sel.case_actions_for(actor=dispatcher, case=case)
    with pytest.raises(AppError) as exc:
        svc.case_reopen(actor=dispatcher, case=case, note="")
    assert exc.value.code == "reason_required"
    with pytest.raises(PermissionDenied):
        svc.case_reopen(actor=worker, case=case, note="我也觉得")
    svc.case_act(actor=dispatcher, case=case, action="reopen", note="回访未解决", public_reply="已重新派单")
    case.refresh_from_db()
    assert case.state == "dispatched" and case.closed_at is None and case.reopen_count == 1
    assert Notification.objects.filter(kind="case_dispatched", title_zh__contains="回访").exists()


# ---- merge, bulk dispatch, return, transfer ------------------------------------------------


def test_merge_moves_reporter_and_supporters(tree, cat, dispatcher, reporter):
    keep = submit(tree, reporter, cat).case
    dup_reporter, fan = make_worker(), make_worker()
    dup = submit(tree, dup_reporter, cat).case
    svc.case_support(actor=fan, case=dup)
    svc.case_support(actor=reporter, case=dup)  # keep's reporter: not a supporter of their own case
    svc.case_merge(actor=dispatcher, case=dup, into=keep, note="同一井盖")
    dup.refresh_from_db()
    keep.refresh_from_db()
    assert dup.state == "merged" and dup.merged_into == keep and dup.supporter_count == 0
    assert set(keep.supporters.values_list("user_id", flat=True)) == {dup_reporter.pk, fan.pk}
    assert keep.supporter_count == 2
    assert keep.events.filter(action="merge").exists()
    with pytest.raises(Exception) as exc:  # merged into itself / into a finished case
        svc.case_merge(actor=dispatcher, case=keep, into=keep)
    assert exc.value.code == "invalid_merge"
    other = make_case_in("closed", category=cat, jurisdiction=tree.grid, details={"size": "1"})
    third = submit(tree, make_worker(), cat).case
    with pytest.raises(Exception) as exc:
        svc.case_merge(actor=dispatcher, case=third, into=other)
    assert exc.value.code == "invalid_merge"
    assert Case.objects.get(pk=third.pk).state == "submitted"


def test_bulk_dispatch_is_all_or_nothing(tree, cat, dispatcher, dept, reporter):
    a, b, c = (submit(tree, reporter, cat).case for _ in range(3))
    for case in (a, b, c):
        svc.case_accept(actor=dispatcher, case=case)
    far = make_case(category=cat, jurisdiction=tree.far_grid, details={"size": "1"})
    far_admin = make_staff("community_admin", tree.far_community)
    svc.case_accept(actor=far_admin, case=far)
    with pytest.raises(OutOfJurisdiction):
        svc.case_bulk_dispatch(actor=dispatcher, cases=[a, b, far])
    assert set(Case.objects.filter(pk__in=[a.pk, b.pk, far.pk]).values_list("state", flat=True)) == {"accepted"}
    assert not CaseEvent.objects.filter(action="dispatch").exists()
    done = svc.case_bulk_dispatch(actor=dispatcher, cases=[c, a, b], note="批量派遣")
    assert [x.pk for x in done] == [c.pk, a.pk, b.pk]
    assert set(Case.objects.filter(pk__in=[a.pk, b.pk, c.pk]).values_list("state", flat=True)) == {"dispatched"}
    with pytest.raises(Exception) as exc:
        svc.case_bulk_dispatch(actor=dispatcher, cases=[])
    assert exc.value.code == "bulk_empty"


def test_return_then_redispatch_and_transfer(tree, cat, dispatcher, dept, reporter):
    case = make_case_in("dispatched", category=cat, jurisdiction=tree.grid, details={"size": "1"},
                        dispatcher=dispatcher)
    handler = make_handler(dept)
    svc.case_return(actor=handler, case=case, note="不是我们管的")
    assert case.state == "returned" and case.department is None and case.assignee is None
    assert Notification.objects.filter(user=dispatcher, kind="case_returned").count() == 1
    with pytest.raises(PermissionDenied):  # no longer theirs
        svc.case_start(actor=handler, case=case)
    police = make_department(jurisdiction=tree.district, code="police", name="公安")
    cop = make_handler(police)
    svc.case_dispatch(actor=dispatcher, case=case, department="police")
    assert case.state == "dispatched" and case.department == police
    assert Notification.objects.filter(user=cop, kind="case_dispatched").count() == 1
    svc.case_start(actor=cop, case=case)
    assert case.assignee == cop  # the member who signs for it takes it
    svc.case_transfer(actor=dispatcher, case=case, department=dept, note="回城管")
    assert case.state == "dispatched" and case.department == dept and case.assignee is None
    with pytest.raises(Exception) as exc:
        svc.case_transfer(actor=dispatcher, case=case, department=None, note="x")
    assert exc.value.code == "unknown_department"


def test_reject_and_park_keep_their_reason(tree, cat, dispatcher, reporter):
    case = submit(tree, reporter, cat).case
    svc.case_reject(actor=dispatcher, case=case, note="位于小区内部，由物业处理")
    assert case.state == "rejected" and case.reject_reason.startswith("位于小区")
    assert Notification.objects.filter(user=reporter, kind="case_rejected").count() == 1
    with pytest.raises(Exception) as exc:
        sel.case_public_get(number=case.number)
    assert exc.value.code == "case_not_found"


def test_evaluate_rating_is_checked(tree, cat):
    case = make_case_in("closed", category=cat, jurisdiction=tree.grid, details={"size": "1"})
    for bad in (0, 6, "x", None, 4.5, True):
        with pytest.raises(Exception) as exc:
            svc.case_evaluate(actor=case.reporter, case=case, rating=bad)
        assert (exc.value.code, exc.value.field) == ("invalid_rating", "rating")
    svc.case_act(actor=case.reporter, case=case, action="evaluate", rating="5", note="好")
    assert case.rating == 5 and case.state == "evaluated"
    svc.case_follow_up(actor=make_staff("community_admin", tree.community), case=case, note="电话回访满意")
    assert case.events.filter(action="follow_up", is_public=False).exists()


# ---- photos: approval with redaction ---------------------------------------------------


def test_photo_approve_blurs_only_the_rectangles_and_unpublish(tree, cat, dispatcher, reporter):
    buf = io.BytesIO()
    img = Image.new("RGB", (100, 100), (255, 255, 255))
    for x in range(0, 100, 2):  # a sharp pattern that a blur must change
        for y in range(100):
            img.putpixel((x, y), (0, 0, 0))
    img.save(buf, "PNG")
    upload = SimpleUploadedFile("p.png", buf.getvalue(), content_type="image/png")
    case = submit(tree, reporter, cat, photos=[upload]).case
    photo = case.photos.get()
    with pytest.raises(OutOfJurisdiction):
        svc.case_photo_approve(actor=make_staff("community_admin", tree.other_community), photo=photo)
    with pytest.raises(PermissionDenied):
        svc.case_photo_approve(actor=make_grid_worker(tree.grid), photo=photo)
    for bad in ([[0.5, 0.5, 0.6, 0.1]], [[0, 0, 0, 0.1]], [[0, 0, "a", 1]], [[0, 0, 1]]):
        with pytest.raises(Exception) as exc:
            svc.case_photo_approve(actor=dispatcher, photo=photo, redactions=bad)
        assert (exc.value.code, exc.value.field) == ("invalid_redaction", "redactions")
    photo = svc.case_photo_approve(actor=dispatcher, photo=photo, redactions=[[0.0, 0.0, 0.5, 0.5]])
    assert photo.approved_at and photo.approved_by == dispatcher and photo.redactions == [[0.0, 0.0, 0.5, 0.5]]
    photo.public_image.open("rb")
    pub = Image.open(io.BytesIO(photo.public_image.read())).convert("RGB")
    photo.public_image.close()
    assert pub.size == (100, 100)
    # inside the rectangle the stripes are gone (greyish), outside they are intact
    inside = [pub.getpixel((x, 20))[0] for x in range(10, 40)]
    assert max(inside) - min(inside) < 60
    assert pub.getpixel((60, 80)) == (0, 0, 0) and pub.getpixel((61, 80)) == (255, 255, 255)
    assert AuditLog.objects.filter(object_type="reports.casephoto", object_id=str(photo.pk)).exists()
    photo = svc.case_photo_unpublish(actor=dispatcher, photo=photo)
    assert not photo.approved_at and not photo.public_image
    assert sel.case_public_view(case=case)["photos"] == []


# ---- Open311 submissions, case_act ----------------------------------------------------------


def test_open311_submission_without_a_user(tree, cat):
    from yizhan.reports.models import Open311Client

    client = Open311Client.objects.create(name="fms", prefix="abc", key_hash="0" * 64)
    lat, lng = tree.point(tree.grid)
    res = svc.case_submit(actor=None, open311_client=client, category=cat.code, lat=lat, lng=lng,
                          details={"size": "1"}, contact={"name": "Ann", "email": "ann@example.org",
                                                          "phone": "13800138000"}, idempotency_key="x1")
    case = res.case
    assert case.source == "open311" and case.reporter is None and case.open311_client == client
    assert case.contact_phone == "13800138000" and case.contact_email == "ann@example.org"
    again = svc.case_submit(actor=None, open311_client=client, category=cat.code, lat=lat, lng=lng,
                            details={"size": "1"}, contact={"name": "Ann", "email": "ann@example.org",
                                                            "phone": "13800138000"}, idempotency_key="x1")
    assert again.case.pk == case.pk and not again.created
    assert sel.case_public_view(case=case)["reporter"] == "匿名"
    log = AuditLog.objects.get(object_type="reports.case", action="create")
    assert "13800138000" not in str(log.changes) and "138****8000" in str(log.changes)


# ---- selectors ------------------------------------------------------------------------------


def test_inbox_actions_public_list_counts_and_mine(tree, cat, dispatcher, dept, reporter):
    worker = make_grid_worker(tree.grid)
    a = submit(tree, reporter, cat).case
    b = submit(tree, reporter, cat).case
    for case in (a, b):
        svc.case_accept(actor=dispatcher, case=case)
        svc.case_dispatch(actor=dispatcher, case=case)
    assert {c.pk for c in sel.case_inbox(actor=worker)} == {a.pk, b.pk}
    member = make_handler(dept)
    assert {c.pk for c in sel.case_inbox(actor=member)} == {a.pk, b.pk}
    assert list(sel.case_inbox(actor=make_grid_worker(tree.grids[1]))) == []
    assert sel.case_actions_for(actor=worker, case=a) == ["start", "return", "request_extension"]
    assert sel.case_actions_for(actor=dispatcher, case=a) == ["transfer", "park"]
    svc.case_request_extension(actor=worker, case=a, minutes=30, note="等配件")
    assert sel.case_actions_for(actor=dispatcher, case=a) == ["transfer", "decide_extension", "park"]
    assert sel.case_actions_for(actor=worker, case=a) == ["start", "return"]
    svc.case_decide_extension(actor=dispatcher, case=a, approve=False)
    assert sel.case_actions_for(actor=reporter, case=a) == []
    assert sel.case_actions_for(actor=None, case=a) == []
    c = submit(tree, reporter, cat).case
    svc.case_reject(actor=dispatcher, case=c, note="重复")
    public = sel.case_public_list()
    assert {x.pk for x in public} == {a.pk, b.pk}
    assert sel.case_public_list(filters={"jurisdiction": tree.other_community.code}).count() == 0
    assert sel.case_public_list(filters={"bbox": "120.35,31.30,120.40,31.35"}).count() == 2
    assert sel.case_public_list(filters={"state": ["submitted"]}).count() == 0
    counts = sel.case_public_counts()
    assert counts["by_category"] == [{"code": "manhole", "name": "井盖缺失", "count": 2, "open": 2, "closed": 0}]
    assert len(counts["by_month"]) == 12 and counts["by_month"][-1]["count"] == 2
    assert sel.cases_of_reporter(actor=reporter).count() == 3
    assert list(sel.case_staff_list(actor=dispatcher, filters={"assignee": str(worker.pk)})) != []
    assert sel.case_staff_list(actor=worker, filters={"assignee": "me"}).count() == 2
    assert sel.case_staff_list(actor=dispatcher, filters={"overdue": "1"}).count() == 0
    timeline = sel.case_timeline(case=a)
    assert [e.action for e in timeline] == ["submit", "accept", "dispatch", "request_extension", "decide_extension"]


# ---- concurrency (PostgreSQL: real row locks) -----------------------------------------------

pg_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")


def _in_threads(n, fn):
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        from django.db import connection as conn

        try:
            barrier.wait()
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            results[i] = exc
        finally:
            conn.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pg_only
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_accepting_at_once_one_wins():
    tree = make_jurisdiction_tree()
    cat = make_category("manhole")
    case = make_case(category=cat, jurisdiction=tree.grid)
    admins = [make_staff("community_admin", tree.community) for _ in range(2)]
    results = _in_threads(2, lambda i: svc.case_accept(actor=admins[i], case=Case.objects.get(pk=case.pk)))
    wins = [r for r in results if isinstance(r, Case)]
    losses = [r for r in results if isinstance(r, Exception)]
    assert len(wins) == 1 and len(losses) == 1 and losses[0].code == "invalid_transition"
    assert CaseEvent.objects.filter(case_id=case.pk, action="accept").count() == 1


@pg_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_and_submissions():
    tree = make_jurisdiction_tree()
    cat = make_category("manhole")
    reporter = make_worker()
    lat, lng = tree.point(tree.grid)

    def replay(i):
        return svc.case_submit(actor=reporter, category=cat.code, lat=lat, lng=lng, description="同一次上报",
                               idempotency_key="retry-1")

    results = _in_threads(4, replay)
    assert all(not isinstance(r, Exception) for r in results), results
    assert len({r.case.pk for r in results}) == 1 and sum(r.created for r in results) == 1
    assert Case.objects.count() == 1
    others = [make_worker() for _ in range(6)]
    results = _in_threads(6, lambda i: svc.case_submit(actor=others[i], category=cat.code, lat=lat, lng=lng))
    assert all(not isinstance(r, Exception) for r in results), results
    numbers = list(Case.objects.values_list("number", flat=True))
    assert len(numbers) == 7 == len(set(numbers))


@pg_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_open311_retries_make_one_case():
    from yizhan.reports.models import Open311Client

    tree = make_jurisdiction_tree()
    cat = make_category("manhole")
    client = Open311Client.objects.create(name="fms", prefix="abc", key_hash="0" * 64)
    lat, lng = tree.point(tree.grid)

    def retry(i):
        return svc.case_submit(actor=None, open311_client=client, category=cat.code, lat=lat, lng=lng,
                               description="同一次上报", idempotency_key="o311-retry")

    results = _in_threads(4, retry)
    assert all(not isinstance(r, Exception) for r in results), results
    assert len({r.case.pk for r in results}) == 1 and sum(r.created for r in results) == 1
    assert Case.objects.count() == 1


def test_open311_idempotency_key_is_unique_per_client_in_the_database(tree, cat):
    from django.db import IntegrityError, transaction

    from yizhan.reports.models import Open311Client

    client = Open311Client.objects.create(name="fms", prefix="abc", key_hash="0" * 64)
    lat, lng = tree.point(tree.grid)
    case = svc.case_submit(actor=None, open311_client=client, category=cat.code, lat=lat, lng=lng,
                           details={"size": "1"}, idempotency_key="k1").case
    clone = Case.objects.values().get(pk=case.pk)
    clone.pop("id")
    clone.update(number="20990101-000001", token="f" * 32)
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.create(**clone)


def test_stored_and_public_copies_carry_no_exif_gps(tree, cat, dispatcher, reporter):
    img = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    exif[0x8825] = {1: "N", 2: (31.0, 20.0, 0.0), 3: "E", 4: (120.0, 25.0, 0.0)}
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    case = submit(tree, reporter, cat, photos=[SimpleUploadedFile("gps.jpg", buf.getvalue())]).case
    photo = svc.case_photo_approve(actor=dispatcher, photo=case.photos.get())
    for f in (photo.image, photo.public_image):
        f.open("rb")
        assert not Image.open(io.BytesIO(f.read())).getexif()
        f.close()


def test_reply_templates_for_scope(tree, dispatcher):
    from yizhan.reports.models import ReplyTemplate

    everywhere = ReplyTemplate.objects.create(action="reject", title="非公共区域", text="……")
    district = ReplyTemplate.objects.create(jurisdiction=tree.district, action="reject", title="区", text="……")
    mine = ReplyTemplate.objects.create(jurisdiction=tree.community, action="reject", title="社区", text="……")
    ReplyTemplate.objects.create(jurisdiction=tree.other_community, action="reject", title="别的社区", text="……")
    ReplyTemplate.objects.create(action="close", title="结案", text="……")
    got = set(sel.reply_templates_for(actor=dispatcher, action="reject"))
    assert got == {everywhere, district, mine}
    assert set(sel.reply_templates_for(actor=make_worker(), action="reject")) == {everywhere}


def test_case_act_refuses_strangers_before_looking_at_their_form(tree, cat, dispatcher, dept):
    from yizhan.core.errors import AppError

    case = make_case_in("closed", category=cat, jurisdiction=tree.grid, details={"size": "1"},
                        dispatcher=dispatcher)
    with pytest.raises(NotAuthenticated):
        svc.case_act(actor=None, case=case, action="evaluate", rating=9)
    with pytest.raises(NotAuthenticated):
        svc.case_act(actor=None, case=case, action="nonsense")
    with pytest.raises(PermissionDenied):
        svc.case_act(actor=make_worker(), case=case, action="evaluate")
    with pytest.raises(AppError) as exc:
        svc.case_act(actor=case.reporter, case=case, action="evaluate")
    assert exc.value.code == "invalid_rating"
    with pytest.raises(PermissionDenied):
        svc.case_evaluate(actor=dispatcher, case=case, rating=99)
    with pytest.raises(AppError) as exc:
        svc.case_follow_up(actor=dispatcher, case=case, note=" ")
    assert exc.value.code == "reason_required"
    with pytest.raises(AppError) as exc:
        svc.case_follow_up(actor=dispatcher, case=case, note="长" * 2001)
    assert (exc.value.code, exc.value.field) == ("text_too_long", "note")
    case = make_case_in("in_progress", category=cat, jurisdiction=tree.grid, details={"size": "1"},
                        dispatcher=dispatcher)
    with pytest.raises(AppError) as exc:
        svc.case_act(actor=dispatcher, case=case, action="transfer", note="x")
    assert exc.value.code == "unknown_department"
    with pytest.raises(AppError) as exc:
        svc.case_act(actor=dispatcher, case=case, action="decide_extension")
    assert exc.value.field == "approve"


def test_duplicates_with_a_wider_radius_reach_further_rings(tree, cat, reporter):
    lat, lng = tree.point(tree.grid)
    case = submit(tree, reporter, cat).case
    assert sel.case_duplicates(category=cat.code, lat=lat + 0.00225, lng=lng) == []  # ~250 m
    got = sel.case_duplicates(category=cat.code, lat=lat + 0.00225, lng=lng, radius_m=300)
    assert [c.pk for c in got] == [case.pk]
    assert sel.case_duplicates(category=cat.code, lat=lat, lng=lng, exclude_id=case.pk) == []
    assert sel.case_duplicates(category=cat.code, lat="x", lng=lng) == []
