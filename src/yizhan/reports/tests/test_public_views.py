"""Django test-client tests of the public and reporter pages of snap-and-report (随手拍):
reporting (with the "already reported?" step and "me too"), bad input kept beside its
field, idempotent retries, the public case page (reporter's confirm / reopen / rate,
nobody else's), my reports, and the public map and list. Data goes through the services."""

from __future__ import annotations

import io
import re
import uuid
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from yizhan.core.testing.factories import make_jurisdiction_tree, make_staff, make_worker
from yizhan.reports import services
from yizhan.reports.models import Case, CasePhoto, CaseSupporter
from yizhan.reports.tests.factories import make_category, make_department

pytestmark = pytest.mark.django_db

GPS_IFD = 0x8825
REPORTER_NAME = "张小骑"


def jpeg_with_gps(size=(64, 48), color=(200, 30, 30)) -> bytes:
    img = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    exif[GPS_IFD] = {1: "N", 2: (31.0, 20.0, 0.0), 3: "E", 4: (120.0, 25.0, 0.0)}
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def upload(data: bytes | None = None, name="photo.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, data if data is not None else jpeg_with_gps(), content_type=content_type)


def gif() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, "GIF")
    return buf.getvalue()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def world():
    tree = make_jurisdiction_tree()
    cover = make_category(code="manhole_cover", name="井盖缺失", icon="🕳️", kind="component",
                          group="public_facility", group_name="公用设施", is_hazard=True)
    rubbish = make_category(code="exposed_rubbish", name="暴露垃圾", icon="🗑️")
    fire = make_category(code="fire_exit_blocked", name="消防通道堵塞", icon="🔥", extra_fields=[
        {"name": "floor", "label": "楼层", "label_en": "Floor", "required": True}])
    dept = make_department(jurisdiction=tree.district, code="urban")
    dispatcher = make_staff("community_admin", tree.community)
    grid_worker = make_staff("grid_worker", tree.grid)
    from yizhan.reports.models import DepartmentMember

    DepartmentMember.objects.get_or_create(department=dept, user=grid_worker)
    rider = make_worker(display_name=REPORTER_NAME)
    other = make_worker(display_name="李路人")
    lat, lng = tree.point(tree.grid)
    return SimpleNamespace(tree=tree, cover=cover, rubbish=rubbish, fire=fire, dept=dept, dispatcher=dispatcher,
                           grid_worker=grid_worker, rider=rider, other=other, lat=lat, lng=lng)


def text(resp) -> str:
    return resp.content.decode()


def submit(w, *, actor=None, category="manhole_cover", lat=None, lng=None, photos=(), **kw):
    return services.case_submit(actor=actor or w.rider, category=category, lat=w.lat if lat is None else lat,
                                lng=w.lng if lng is None else lng, photos=list(photos), **kw).case


def drive(w, case, to: str) -> Case:
    """Move a case through the real services: accepted → dispatched → in progress → handled
    → (reporter confirms) verified → closed."""
    order = ["accepted", "dispatched", "in_progress", "handled", "verified", "closed"]
    for step in order[: order.index(to) + 1]:
        case.refresh_from_db()
        if step == "accepted":
            services.case_accept(actor=w.dispatcher, case=case)
        elif step == "dispatched":
            services.case_dispatch(actor=w.dispatcher, case=case, department=w.dept, assignee=w.grid_worker)
        elif step == "in_progress":
            services.case_start(actor=w.grid_worker, case=case)
        elif step == "handled":
            services.case_handle(actor=w.grid_worker, case=case, note="已盖好",
                                 photos=[upload(jpeg_with_gps(color=(30, 200, 30)), "after.jpg")])
        elif step == "verified":
            services.case_verify(actor=w.dispatcher, case=case)
        elif step == "closed":
            services.case_close(actor=w.dispatcher, case=case)
    case.refresh_from_db()
    assert case.state == to
    return case


def form_data(w, **over) -> dict:
    data = {"category": "manhole_cover", "lat": f"{w.lat:.6f}", "lng": f"{w.lng:.6f}", "address": "青山路口东侧",
            "description": "井盖不见了，电动车很危险", "idempotency_key": uuid.uuid4().hex, "dup_checked": "1"}
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


# ---------------------------------------------------------------- report


def test_report_page_sends_anonymous_users_to_the_phone_login(client, world):
    resp = client.get("/reports/new/")
    assert resp.status_code == 302
    assert resp["Location"] == "/accounts/otp/?next=%2Freports%2Fnew%2F"
    assert client.get("/reports/mine/")["Location"].startswith("/accounts/otp/?next=")


def test_report_page_shows_the_category_grid_camera_and_a_fresh_key(client, world):
    client.force_login(world.rider)
    body = text(client.get("/reports/new/"))
    assert "井盖缺失" in body and "暴露垃圾" in body and "公用设施" in body
    assert body.count('type="radio" name="category"') == 3
    assert 'accept="image/*"' in body and 'capture="environment"' in body and "multiple" in body
    assert "leaflet.js" in body and "htmx.min.js" in body and "report.js" in body
    key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', body)
    assert key
    assert key.group(1) not in text(client.get("/reports/new/"))  # a new key per form shown
    assert world.tree.community.name in body  # the place picker (no location, keyboard)
    assert 'name="is_anonymous"' in body


def test_report_with_a_photo_creates_the_case_without_gps_and_shows_it(client, world):
    client.force_login(world.rider)
    data = form_data(world, is_anonymous="on")
    resp = client.post("/reports/new/", {**data, "photos": [upload()]})
    assert resp.status_code == 302, text(resp)[:2000]
    case = Case.objects.get()
    assert resp["Location"] == f"/reports/c/{case.number}/"
    assert case.reporter == world.rider and case.is_anonymous and case.category.code == "manhole_cover"
    assert case.description == "井盖不见了，电动车很危险" and case.address == "青山路口东侧"
    assert case.state == "submitted"
    photo = CasePhoto.objects.get(case=case)
    stored = Image.open(photo.image.path)
    assert not stored.getexif().get(GPS_IFD) and not stored.getexif()
    page = text(client.get(resp["Location"]))
    assert "已提交" in page and case.number in page
    assert "照片经工作人员审核后公开" in page  # the reporter's own photo waits for approval


def test_a_retry_with_the_same_key_does_not_create_a_second_case(client, world):
    client.force_login(world.rider)
    data = form_data(world)
    first = client.post("/reports/new/", data)
    second = client.post("/reports/new/", data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Case.objects.count() == 1


def test_htmx_submit_redirects_with_hx_redirect(client, world):
    client.force_login(world.rider)
    resp = client.post("/reports/new/", form_data(world), headers={"HX-Request": "true"})
    case = Case.objects.get()
    assert resp["HX-Redirect"] == f"/reports/c/{case.number}/"


def _assert_kept(body: str, data: dict):
    assert f'value="{data["category"]}" checked' in body
    assert f'value="{data["idempotency_key"]}"' in body
    assert f'value="{data["address"]}"' in body
    assert f'value="{data["lat"]}"' in body and f'value="{data["lng"]}"' in body


def test_text_over_4000_characters_is_refused_and_everything_typed_is_kept(client, world):
    client.force_login(world.rider)
    data = form_data(world, description="长" * 4001)
    resp = client.post("/reports/new/", data)
    assert resp.status_code == 400
    body = text(resp)
    assert "4000" in body and 'id="id_description-error"' in body
    _assert_kept(body, data)
    assert "长" * 4001 in body
    assert Case.objects.count() == 0


@pytest.mark.parametrize(("photos", "message"), [
    (lambda: [upload(gif(), "looks-fine.jpg")], "只支持 JPEG、PNG 或 WebP"),
    (lambda: [upload(b"not an image", "x.jpg")], "无法识别的图片"),
    (lambda: [upload(name=f"p{i}.jpg") for i in range(4)], None),
])
def test_bad_photos_get_the_message_beside_the_photo_field(client, world, photos, message):
    client.force_login(world.rider)
    data = form_data(world)
    resp = client.post("/reports/new/", {**data, "photos": photos()})
    assert resp.status_code == 400
    body = text(resp)
    error = re.search(r'<p class="error" id="id_photos-error" role="alert">([^<]+)</p>', body)
    assert error, body[:3000]
    if message:
        assert message in error.group(1)
    else:
        assert "3" in error.group(1)
    assert "请重新选择照片" in body  # a file input cannot be refilled by the server
    _assert_kept(body, data)
    assert Case.objects.count() == 0 and CasePhoto.objects.count() == 0


def test_a_point_outside_every_jurisdiction_is_refused_beside_the_location(client, world):
    client.force_login(world.rider)
    data = form_data(world, lat="39.908700", lng="116.397500")  # Beijing
    resp = client.post("/reports/new/", data)
    assert resp.status_code == 400
    body = text(resp)
    assert 'id="id_lat-error"' in body
    _assert_kept(body, data)
    assert Case.objects.count() == 0


def test_no_location_and_no_category_get_their_messages(client, world):
    client.force_login(world.rider)
    resp = client.post("/reports/new/", form_data(world, category=None, lat="", lng=""))
    assert resp.status_code == 400
    body = text(resp)
    assert "请选择问题类别" in body
    resp = client.post("/reports/new/", form_data(world, lat="", lng=""))
    assert resp.status_code == 400
    assert "请用手机定位、在地图上选点或选择所在街道/社区" in text(resp)
    assert Case.objects.count() == 0


def test_a_picked_place_stands_in_for_the_location(client, world):
    client.force_login(world.rider)
    resp = client.post("/reports/new/", form_data(world, lat="", lng="", place=world.tree.community.code))
    assert resp.status_code == 302, text(resp)[:2000]
    case = Case.objects.get()
    assert (case.lat, case.lng) == (world.tree.community.center_lat, world.tree.community.center_lng)


def test_the_category_extra_fields_are_swapped_in_and_required_ones_checked(client, world):
    part = text(client.get("/reports/new/fields/", {"category": "fire_exit_blocked"},
                           headers={"HX-Request": "true"}))
    assert "<html" not in part and 'name="details.floor"' in part and "楼层" in part
    assert 'name="details' not in text(client.get("/reports/new/fields/", {"category": "manhole_cover"}))
    client.force_login(world.rider)
    data = form_data(world, category="fire_exit_blocked")
    resp = client.post("/reports/new/", data)
    assert resp.status_code == 400
    body = text(resp)
    assert 'id="id_details_floor-error"' in body
    _assert_kept(body, data)
    resp = client.post("/reports/new/", {**data, "details.floor": "3 楼"})
    assert resp.status_code == 302
    assert Case.objects.get().details == {"floor": "3 楼"}


# ---------------------------------------------------------------- already reported? / me too


def test_duplicates_step_lists_open_cases_of_the_category_within_50_m(client, world):
    near = submit(world, actor=world.other, lat=world.lat + 0.0002)  # ~22 m
    submit(world, actor=world.other, lat=world.lat + 0.0018)  # ~200 m
    submit(world, actor=world.other, category="exposed_rubbish")  # other category
    resp = client.get("/reports/new/duplicates/", {"category": "manhole_cover", "lat": world.lat, "lng": world.lng},
                      headers={"HX-Request": "true"})
    body = text(resp)
    assert resp.status_code == 200 and "<html" not in body
    assert body.count('class="dup-item"') == 1 and near.number in body
    assert f'name="support" value="{near.number}"' in body and "我也遇到" in body
    assert "李路人" not in body
    empty = text(client.get("/reports/new/duplicates/", {"category": "fire_exit_blocked",
                                                         "lat": world.lat, "lng": world.lng}))
    assert "没有同类问题" in empty
    assert text(client.get("/reports/new/duplicates/", {"category": "manhole_cover"})).strip() == ""


def test_submit_without_seeing_duplicates_shows_the_step_first(client, world):
    near = submit(world, actor=world.other)
    client.force_login(world.rider)
    data = form_data(world, dup_checked=None)
    resp = client.post("/reports/new/", data)
    assert resp.status_code == 200
    body = text(resp)
    assert near.number in body and "我也遇到" in body
    _assert_kept(body, data)
    assert Case.objects.count() == 1
    resp = client.post("/reports/new/", {**data, "dup_checked": "1"})  # "not the same: submit"
    assert resp.status_code == 302
    assert Case.objects.count() == 2


def test_me_too_adds_a_supporter_instead_of_a_case(client, world):
    near = submit(world, actor=world.other)
    client.force_login(world.rider)
    resp = client.post("/reports/new/", {**form_data(world), "support": near.number})
    assert resp.status_code == 302 and resp["Location"] == f"/reports/c/{near.number}/"
    assert Case.objects.count() == 1
    assert CaseSupporter.objects.filter(case=near, user=world.rider).exists()
    near.refresh_from_db()
    assert near.supporter_count == 1
    assert "我也遇到" in text(client.get(resp["Location"]))


# ---------------------------------------------------------------- case page


def test_public_case_page_hides_the_reporter_and_unapproved_photos(client, world):
    case = submit(world, photos=[upload()], description="井盖缺失，晚上看不见")
    photo = case.photos.get()
    body = text(client.get(f"/reports/c/{case.number}/"))
    assert "井盖缺失" in body and "晚上看不见" in body and "待受理" in body
    assert REPORTER_NAME not in body and world.rider.phone not in body
    assert "热心市民" in body and "张**" not in body  # not anonymous, yet no name, not even masked
    assert photo.image.name not in body and "/media/" not in body
    assert 'aria-current="step"' in body
    assert "已解决，确认" not in body
    services.case_photo_approve(actor=world.dispatcher, photo=photo)
    photo.refresh_from_db()
    body = text(client.get(f"/reports/c/{case.number}/"))
    assert photo.public_image.url in body and photo.image.url not in body
    assert client.get("/reports/c/20990101-999999/").status_code == 404


def test_timeline_times_are_shown_in_shanghai_time(client, world):
    case = submit(world)
    import zoneinfo

    local = case.submitted_at.astimezone(zoneinfo.ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert local in text(client.get(f"/reports/c/{case.number}/"))


def test_reporter_confirms_a_handled_case(client, world):
    case = drive(world, submit(world), "handled")
    client.force_login(world.rider)
    body = text(client.get(f"/reports/c/{case.number}/"))
    assert "已解决，确认" in body and "没解决" in body
    resp = client.post(f"/reports/c/{case.number}/", {"action": "confirm"})
    assert resp.status_code == 302
    case.refresh_from_db()
    assert case.state == "verified"
    assert "谢谢确认" in text(client.get(resp["Location"]))


def test_reporter_reopens_a_handled_case_with_a_reason(client, world):
    case = drive(world, submit(world), "handled")
    client.force_login(world.rider)
    resp = client.post(f"/reports/c/{case.number}/", {"action": "reopen", "reopen-note": ""})
    assert resp.status_code == 400
    assert "请写明没有解决的原因" in text(resp)
    case.refresh_from_db()
    assert case.state == "handled"
    resp = client.post(f"/reports/c/{case.number}/", {"action": "reopen", "reopen-note": "井盖还是松的"})
    assert resp.status_code == 302
    case.refresh_from_db()
    assert case.state == "in_progress"


def test_someone_else_cannot_confirm_or_rate(client, world):
    case = drive(world, submit(world), "handled")
    client.force_login(world.other)
    body = text(client.get(f"/reports/c/{case.number}/"))
    assert "已解决，确认" not in body
    resp = client.post(f"/reports/c/{case.number}/", {"action": "confirm"})
    assert resp.status_code == 403
    case.refresh_from_db()
    assert case.state == "handled"


def test_reporter_rates_a_closed_case_and_nobody_else_can(client, world):
    case = submit(world)
    drive(world, case, "handled")
    services.case_confirm(actor=world.rider, case=case)
    case.refresh_from_db()
    services.case_close(actor=world.dispatcher, case=case)
    client.force_login(world.other)
    resp = client.post(f"/reports/c/{case.number}/", {"action": "evaluate", "rate-rating": "1"})
    assert resp.status_code == 403
    case.refresh_from_db()
    assert case.state == "closed" and case.rating is None
    client.force_login(world.rider)
    body = text(client.get(f"/reports/c/{case.number}/"))
    assert 'name="rate-rating"' in body and "没解决，重新办理" in body
    resp = client.post(f"/reports/c/{case.number}/", {"action": "evaluate", "rate-note": "很快"})
    assert resp.status_code == 400
    assert "请选择 1–5 星" in text(resp) and "很快" in text(resp)
    resp = client.post(f"/reports/c/{case.number}/", {"action": "evaluate", "rate-rating": "5", "rate-note": "很快"})
    assert resp.status_code == 302
    case.refresh_from_db()
    assert case.state == "evaluated" and case.rating == 5
    assert "您的评价" in text(client.get(resp["Location"]))


def test_anonymous_post_on_a_case_goes_to_login(client, world):
    case = submit(world)
    resp = client.post(f"/reports/c/{case.number}/", {"action": "confirm"})
    assert resp.status_code == 302 and resp["Location"].startswith("/accounts/otp/")


# ---------------------------------------------------------------- my reports


def test_my_reports_list_mine_and_what_waits_for_me(client, world):
    handled = drive(world, submit(world), "handled")
    submit(world, category="exposed_rubbish", description="我的第二条")
    theirs = submit(world, actor=world.other, category="fire_exit_blocked", details={"floor": "2"})
    client.force_login(world.rider)
    body = text(client.get("/reports/mine/"))
    assert body.count('class="case-item"') == 2 and theirs.number not in body
    assert "请确认是否已解决" in body and f"/reports/c/{handled.number}/#reporter-actions" in body
    assert "我的第二条" in body


# ---------------------------------------------------------------- public map and list


def test_public_map_lists_cases_with_state_and_counts_without_reporters(client, world):
    a = submit(world, photos=[upload()])
    b = submit(world, category="exposed_rubbish", lat=world.lat + 0.003)
    drive(world, b, "accepted")
    rejected = submit(world, category="exposed_rubbish", lat=world.lat + 0.006)
    services.case_reject(actor=world.dispatcher, case=rejected, note="重复上报")
    resp = client.get("/reports/")
    body = text(resp)
    assert resp.status_code == 200
    assert a.number in body and b.number in body and rejected.number not in body
    assert "待受理" in body and "已立案" in body
    assert REPORTER_NAME not in body and "/media/" not in body
    assert 'class="bars"' in body and "暴露垃圾" in body
    assert "echarts" not in body
    resp = client.get("/reports/", {"category": "exposed_rubbish"}, headers={"HX-Request": "true"})
    part = text(resp)
    assert "<html" not in part and b.number in part and a.number not in part
    part = text(client.get("/reports/", {"state": "submitted"}))
    assert a.number in part and b.number not in part.split('id="public-list"')[1].split("counts")[0]


def test_report_pages_transfer_under_200_kb_compressed(client, world):
    """Like the finder: each page with every CSS/JS file it loads, gzip-compressed, before tiles."""
    import gzip

    case = submit(world)
    client.force_login(world.rider)
    for url in ("/reports/new/", "/reports/", f"/reports/c/{case.number}/", "/reports/mine/"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        html = resp.content
        total = len(gzip.compress(html))
        assets = set(re.findall(rb'(?:src|href)="(/static/[^"]+\.(?:js|css))"', html))
        assert not re.search(rb'(?:src|href)="https?://', html), "nothing from a CDN"
        for asset_url in assets:
            asset = client.get(asset_url.decode())
            assert asset.status_code == 200, asset_url
            content = b"".join(asset.streaming_content) if asset.streaming else asset.content
            total += len(gzip.compress(content))
        assert total < 200 * 1024, f"{url} transfers {total / 1024:.0f} KB compressed"


def test_the_seeded_taxonomy_fills_the_grid_by_class_with_its_extra_fields(client):
    make_jurisdiction_tree()
    count = services.category_taxonomy_load()
    client.force_login(make_worker())
    body = text(client.get("/reports/new/"))
    assert body.count('type="radio" name="category"') == count
    assert body.count('class="cat-group"') >= 8  # 部件 and 事件 classes
    assert "公用设施" in body and "井盖缺失破损" in body
    part = text(client.get("/reports/new/fields/", {"category": "manhole_cover"}))
    assert '<select name="details.cover_type"' in part and "燃气" in part


def test_english_pages_use_the_english_category_names(client, world):
    from yizhan.reports.models import Category

    Category.objects.filter(code="manhole_cover").update(name_en="Missing manhole cover")
    case = submit(world)
    client.cookies["django_language"] = "en"
    assert "Missing manhole cover" in text(client.get(f"/reports/c/{case.number}/"))
    assert "Missing manhole cover" in text(client.get("/reports/"))
    client.force_login(world.rider)
    assert "Missing manhole cover" in text(client.get("/reports/new/"))


def test_the_same_key_with_different_content_is_refused_and_creates_nothing(client, world):
    client.force_login(world.rider)
    data = form_data(world)
    assert client.post("/reports/new/", data).status_code == 302
    resp = client.post("/reports/new/", {**data, "description": "改了内容"})
    assert resp.status_code == 400
    body = text(resp)
    assert 'class="alert alert-error"' in body and "改了内容" in body
    assert Case.objects.count() == 1


def test_approved_after_photos_show_on_their_timeline_line(client, world):
    case = drive(world, submit(world), "handled")
    after = case.photos.get(stage="after")
    services.case_photo_approve(actor=world.dispatcher, photo=after)
    after.refresh_from_db()
    body = text(client.get(f"/reports/c/{case.number}/"))
    timeline = body.split('class="timeline"')[1]
    assert after.public_image.url in timeline
    assert "已盖好" not in timeline  # the handler's note is internal: only public replies are shown


def test_the_reporter_still_sees_a_rejected_case_with_the_reason(client, world):
    case = submit(world)
    services.case_reject(actor=world.dispatcher, case=case, note="不在城市管理范围")
    assert client.get(f"/reports/c/{case.number}/").status_code == 404
    client.force_login(world.rider)
    body = text(client.get(f"/reports/c/{case.number}/"))
    assert "不予立案" in body and "不在城市管理范围" in body


def test_a_second_confirm_tap_says_why_on_top(client, world):
    case = drive(world, submit(world), "handled")
    client.force_login(world.rider)
    assert client.post(f"/reports/c/{case.number}/", {"action": "confirm"}).status_code == 302
    resp = client.post(f"/reports/c/{case.number}/", {"action": "confirm"})
    assert resp.status_code == 409
    assert 'class="alert alert-error" role="alert"' in text(resp)
    case.refresh_from_db()
    assert case.state == "verified"


def test_me_too_on_a_case_closed_meanwhile_keeps_the_form_and_says_why(client, world):
    near = submit(world, actor=world.other)
    services.case_reject(actor=world.dispatcher, case=near, note="重复")
    client.force_login(world.rider)
    data = form_data(world)
    resp = client.post("/reports/new/", {**data, "support": near.number})
    assert resp.status_code == 400
    body = text(resp)
    assert 'class="alert alert-error"' in body
    _assert_kept(body, data)
    assert not CaseSupporter.objects.exists()
