"""API tests for every reports endpoint (/api/v1/reports): happy path, the issue's bad
input, wrong role, wrong jurisdiction, anonymous — with the exact error shape and, on a
denial or a refusal, proof that nothing changed."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from yizhan.core.models import AuditLog
from yizhan.core.testing.factories import make_staff, make_worker
from yizhan.core.testing.matrix import api_json, assert_error, assert_not_listed, check_matrix
from yizhan.reports.models import (
    Case,
    CaseEvent,
    CasePhoto,
    CaseSupporter,
    Category,
    Department,
    Open311Client,
    ReplyTemplate,
    WorkCalendar,
)
from yizhan.reports.tests.factories import (
    case_department,
    case_dispatcher,
    case_handler,
    make_case,
    make_case_in,
    make_category,
    make_department,
    make_handler,
    photo_upload,
)

pytestmark = pytest.mark.django_db

BASE = "/api/v1/reports"
FLOOR = {"name": "floor", "label": "楼层", "label_en": "Floor", "required": True}


@pytest.fixture
def cat(tree):
    make_department(jurisdiction=tree.district, code="urban")
    return make_category("manhole", name="井盖缺失")


@pytest.fixture
def floor_cat(tree):
    return make_category("fire_exit", name="消防通道堵塞", extra_fields=[FLOOR])


@pytest.fixture
def admin(tree):
    return make_staff("community_admin", tree.community)


@pytest.fixture
def other_admin(tree):
    return make_staff("community_admin", tree.other_community)


@pytest.fixture
def district_admin(tree):
    return make_staff("district_admin", tree.district)


def cases_snapshot():
    return (list(Case.objects.order_by("pk").values()), CaseEvent.objects.count(), CasePhoto.objects.count(),
            CaseSupporter.objects.count())


def report(tree, cat, **over):
    lat, lng = tree.point(tree.grid)
    data = {"category": cat.code, "lat": lat, "lng": lng, "description": "井盖不见了", "address": "科学城大道 1 号"}
    data.update(over)
    return data


def jpeg_with_gps() -> bytes:
    img = Image.new("RGB", (80, 60), (120, 120, 120))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (31.0, 20.0, 10.0), 3: "E", 4: (120.0, 22.0, 5.0)}
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes())
    assert Image.open(io.BytesIO(buf.getvalue())).getexif().get_ifd(0x8825)
    return buf.getvalue()


# ---- categories ---------------------------------------------------------------------------------


def test_categories_public(client, cat, floor_cat):
    make_category("retired", active=False)
    body = client.get(f"{BASE}/categories").json()
    assert body["count"] == 2 and {c["code"] for c in body["items"]} == {"manhole", "fire_exit"}
    one = client.get(f"{BASE}/categories/fire_exit").json()
    assert one["name"] == "消防通道堵塞" and one["extra_fields"] == [FLOOR] and one["accept_minutes"] == 60
    assert_error(client.get(f"{BASE}/categories/nope"), 404, "unknown_category")


def test_category_patch_matrix(client, tree, cat, admin, district_admin):
    def snap():
        return list(Category.objects.order_by("pk").values())

    city_admin = make_staff("city_admin", tree.city)
    # platform-wide: configure on every root; a district admin is refused and changes nothing
    resp = check_matrix(client, "patch", f"{BASE}/categories/manhole", {"handle_minutes": 120, "name": "井盖丢失"},
                        wrong_role=[make_worker(), admin], wrong_jurisdiction=district_admin, allowed=city_admin,
                        snapshot=snap)
    assert resp.json()["handle_minutes"] == 120 and resp.json()["name"] == "井盖丢失"
    before = snap()
    for bad in (0, -5, "x", 1.5):
        resp = api_json(client, "patch", f"{BASE}/categories/manhole", {"accept_minutes": bad})
        assert_error(resp, 400, field="accept_minutes")
    assert snap() == before
    assert_error(api_json(client, "patch", f"{BASE}/categories/nope", {"name": "x"}), 404, "unknown_category")


def test_category_patch_of_one_district(client, tree, cat, admin, district_admin):
    from yizhan.reports.models import CategorySetting

    def snap():
        return (list(Category.objects.order_by("pk").values()),
                list(CategorySetting.objects.order_by("pk").values()))

    url = f"{BASE}/categories/manhole?jurisdiction={tree.district.code}"
    resp = check_matrix(client, "patch", url, {"handle_minutes": 30},
                        wrong_role=[make_worker(), admin],
                        wrong_jurisdiction=make_staff("district_admin", tree.other_district),
                        allowed=district_admin, snapshot=snap)
    assert resp.json()["handle_minutes"] == 30
    assert Category.objects.get(code="manhole").handle_minutes == 240  # the platform default stays
    assert CategorySetting.objects.get().jurisdiction == tree.district
    assert client.get(f"{BASE}/categories/manhole").json()["handle_minutes"] == 240
    before = snap()
    assert_error(api_json(client, "patch", url, {"name": "x"}), 400, "not_overridable", "name")
    assert_error(api_json(client, "patch", f"{BASE}/categories/manhole?jurisdiction=NOPE", {"handle_minutes": 5}),
                 400, "unknown_jurisdiction", "jurisdiction")
    assert snap() == before


# ---- duplicates --------------------------------------------------------------------------------------


def test_duplicates(client, tree, cat):
    case = make_case(category=cat, jurisdiction=tree.grid)
    make_case(category=make_category("other"), jurisdiction=tree.grid)
    lat, lng = tree.point(tree.grid)
    body = client.get(f"{BASE}/duplicates?category=manhole&lat={lat + 0.0002}&lng={lng}").json()
    assert [d["number"] for d in body["items"]] == [case.number]
    assert 15 < body["items"][0]["distance_m"] < 30 and body["items"][0]["state"] == "submitted"
    assert client.get(f"{BASE}/duplicates?category=manhole&lat={lat + 0.01}&lng={lng}").json()["count"] == 0
    assert_error(client.get(f"{BASE}/duplicates?category=manhole&lat=91&lng={lng}"), 400, "invalid_coordinates")
    assert_error(client.get(f"{BASE}/duplicates?category=nope&lat={lat}&lng={lng}"), 404, "unknown_category")


# ---- submitting ----------------------------------------------------------------------------------------


def test_submit_json_and_idempotency(client, tree, cat, admin):
    assert_error(api_json(client, "post", f"{BASE}/cases", report(tree, cat)), 401, "not_authenticated")
    worker = make_worker()
    client.force_login(worker)
    resp = api_json(client, "post", f"{BASE}/cases", report(tree, cat), headers={"Idempotency-Key": "k-1"})
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["created"] is True and body["supported"] is False and body["state"] == "submitted"
    assert body["category"] == {"code": "manhole", "name": "井盖缺失"}
    case = Case.objects.get()
    assert case.reporter == worker and case.idempotency_key == "k-1" and case.jurisdiction == tree.grid
    # a retry on a bad network: same key, same content -> the same case, 200
    again = api_json(client, "post", f"{BASE}/cases", report(tree, cat), headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 200 and again.json()["number"] == body["number"] and again.json()["created"] is False
    # the key as a field works the same
    again = api_json(client, "post", f"{BASE}/cases", report(tree, cat, idempotency_key="k-1"))
    assert again.status_code == 200 and again.json()["number"] == body["number"]
    # same key, different content -> 409, nothing changes
    before = cases_snapshot()
    resp = api_json(client, "post", f"{BASE}/cases", report(tree, cat, description="别的问题"),
                    headers={"Idempotency-Key": "k-1"})
    assert_error(resp, 409, "idempotency_key_reused", "idempotency_key")
    assert cases_snapshot() == before


def test_submit_multipart_with_photos_exif_removed(client, tree, cat):
    client.force_login(make_worker())
    data = {**report(tree, cat), "is_anonymous": "true", "idempotency_key": "m-1",
            "photos": [SimpleUploadedFile("a.jpg", jpeg_with_gps(), content_type="image/jpeg"),
                       photo_upload(color=(1, 2, 3))]}
    resp = client.post(f"{BASE}/cases", data)
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert len(body["photos"]) == 2 and body["is_anonymous"] is True
    photo = CasePhoto.objects.order_by("pk").first()
    with photo.image.open("rb") as f:
        stored = Image.open(io.BytesIO(f.read()))
        assert not stored.getexif().get_ifd(0x8825) and 0x010F not in stored.getexif()


def test_submit_details_as_form_fields(client, tree, floor_cat):
    client.force_login(make_worker())
    resp = client.post(f"{BASE}/cases", {**report(tree, floor_cat), "details[floor]": "3"})
    assert resp.status_code == 201, resp.content
    assert Case.objects.get().details == {"floor": "3"}
    resp = client.post(f"{BASE}/cases", {**report(tree, floor_cat), "details": json.dumps({"floor": "5"})})
    assert resp.status_code == 201 and resp.json()["details"] == {"floor": "5"}


def _gif_named_jpg():
    buf = io.BytesIO()
    Image.new("RGB", (20, 20), (0, 0, 255)).save(buf, "GIF")
    return SimpleUploadedFile("a.jpg", buf.getvalue(), content_type="image/jpeg")


BAD_PHOTOS = [
    ("wrong type by content", lambda: [_gif_named_jpg()], "photo_type"),
    ("not an image", lambda: [SimpleUploadedFile("a.jpg", b"%PDF-1.4 " * 50, content_type="image/jpeg")],
     "photo_corrupt"),
    ("corrupt", lambda: [SimpleUploadedFile("c.jpg", photo_upload().read()[:120], content_type="image/jpeg")],
     "photo_corrupt"),
    ("over 10 MB", lambda: [SimpleUploadedFile("big.jpg", b"\xff\xd8" + b"0" * (10 * 1024 * 1024 + 10),
                                               content_type="image/jpeg")], "photo_too_large"),
    ("over 3", lambda: [photo_upload() for _ in range(4)], "too_many_photos"),
]


@pytest.mark.parametrize("label, files, code", BAD_PHOTOS, ids=[b[0] for b in BAD_PHOTOS])
def test_submit_bad_photos_change_nothing(client, tree, cat, label, files, code):
    client.force_login(make_worker())
    before = cases_snapshot()
    resp = client.post(f"{BASE}/cases", {**report(tree, cat), "photos": files()})
    body = assert_error(resp, 400, code)
    assert body["field"] and body["field"].startswith("photos")
    assert cases_snapshot() == before


@pytest.mark.parametrize("over, status, code, field", [
    ({"lat": 31.2, "lng": 121.9}, 400, "location_outside", "lat"),  # outside every jurisdiction we serve
    ({"lat": 123}, 400, "invalid_coordinates", "lat"),
    ({"category": "nope"}, 400, "unknown_category", "category"),
    ({"description": "长" * 4001}, 400, "text_too_long", "description"),
    ({"category": "fire_exit"}, 400, "missing_field", "details.floor"),  # a required category field
    ({"category": None}, 400, "invalid", "category"),  # schema-level
])
def test_submit_bad_input_changes_nothing(client, tree, cat, floor_cat, over, status, code, field):
    client.force_login(make_worker())
    before = cases_snapshot()
    assert_error(api_json(client, "post", f"{BASE}/cases", report(tree, cat, **over)), status, code, field)
    assert cases_snapshot() == before


def test_submit_me_too(client, tree, cat):
    case = make_case(category=cat, jurisdiction=tree.grid)
    client.force_login(make_worker())
    resp = api_json(client, "post", f"{BASE}/cases", report(tree, cat, support=case.number))
    assert resp.status_code == 200, resp.content
    assert resp.json()["supported"] is True and resp.json()["number"] == case.number
    assert Case.objects.count() == 1 and Case.objects.get().supporter_count == 1
    # nothing of the other person's case: no description, details or photos
    assert resp.json() == {"number": case.number, "supporter_count": 1, "supported": True}


def test_reporter_sees_approved_and_own_photos_only_never_originals_by_media_url(client, tree, cat, admin):
    reporter = make_worker()
    case = make_case(category=cat, jurisdiction=tree.grid, reporter=reporter, photos=[photo_upload()])
    own = case.photos.get()
    handler = make_staff("grid_worker", tree.grid)
    after = CasePhoto.objects.create(case=case, stage="after", image=photo_upload(color=(0, 9, 9)),
                                     uploaded_by=handler)
    client.force_login(reporter)
    photos = client.get(f"{BASE}/cases/mine").json()["items"][0]["photos"]
    assert [(p["id"], p["url"]) for p in photos] == [(own.pk, f"/reports/mine/photos/{own.pk}/")]
    assert client.get(photos[0]["url"]).status_code == 200
    assert client.get(f"/reports/mine/photos/{after.pk}/").status_code == 404  # a handler's photo
    client.force_login(make_worker())
    assert client.get(f"/reports/mine/photos/{own.pk}/").status_code == 404  # someone else's report
    client.logout()
    assert client.get(f"/reports/mine/photos/{own.pk}/").status_code == 302  # to the login
    # once approved, the handler's photo is listed by its public (redacted) copy
    client.force_login(admin)
    assert api_json(client, "post", f"{BASE}/photos/{after.pk}/approve", {}).status_code == 200
    staff_urls = {p["id"]: p["url"] for p in client.get(f"{BASE}/cases/{case.number}").json()["photos"]}
    assert staff_urls == {own.pk: f"/work/photos/{own.pk}/", after.pk: f"/work/photos/{after.pk}/"}
    assert client.get(staff_urls[after.pk]).status_code == 200
    client.force_login(reporter)
    after.refresh_from_db()
    urls = {p["id"]: p["url"] for p in client.get(f"{BASE}/cases/mine").json()["items"][0]["photos"]}
    assert urls[after.pk] == after.public_image.url and "/public/" in urls[after.pk]
    assert all(after.image.name not in u and own.image.name not in u for u in urls.values())


# ---- public ----------------------------------------------------------------------------------------------


def test_public_list_detail_counts_hide_reporter(client, tree, cat):
    worker = make_worker(display_name="张三丰")
    case = make_case(category=cat, jurisdiction=tree.grid, reporter=worker)
    rejected = make_case_in("rejected", category=cat, jurisdiction=tree.grid)
    body = client.get(f"{BASE}/cases/public").json()
    assert [c["number"] for c in body["items"]] == [case.number] and body["count"] == 1
    resp = client.get(f"{BASE}/cases/public/{case.number}")
    assert resp.status_code == 200 and resp.json()["reporter"] == "热心市民"  # no name, not even masked
    text = resp.content.decode()
    assert "张三丰" not in text and worker.phone not in text
    assert_error(client.get(f"{BASE}/cases/public/{rejected.number}"), 404, "case_not_found")
    assert client.get(f"{BASE}/cases/public?category=other").json()["count"] == 0
    counts = client.get(f"{BASE}/counts").json()
    assert counts["by_category"][0]["code"] == "manhole" and counts["by_category"][0]["count"] == 1
    assert len(counts["by_month"]) == 12
    assert len(client.get(f"{BASE}/counts?months=3&jurisdiction={tree.community.code}").json()["by_month"]) == 3
    assert_error(client.get(f"{BASE}/counts?jurisdiction=NOPE"), 400, "unknown_jurisdiction", "jurisdiction")


def test_mine(client, tree, cat):
    me = make_worker()
    mine = make_case(category=cat, reporter=me)
    make_case(category=cat)
    assert_error(client.get(f"{BASE}/cases/mine"), 401, "not_authenticated")
    client.force_login(me)
    body = client.get(f"{BASE}/cases/mine").json()
    assert [c["number"] for c in body["items"]] == [mine.number] and body["count"] == 1


# ---- staff list / detail -----------------------------------------------------------------------------------


def test_staff_list_scoped(client, tree, cat, admin, other_admin):
    a = make_case(category=cat, jurisdiction=tree.grid)
    b = make_case(category=cat, jurisdiction=tree.grids[2])  # community B
    check_matrix(client, "get", f"{BASE}/cases", wrong_role=make_worker())
    client.force_login(admin)
    resp = client.get(f"{BASE}/cases")
    assert [c["number"] for c in resp.json()["items"]] == [a.number]
    assert_not_listed(resp, field="number", value=b.number)
    client.force_login(other_admin)
    assert_not_listed(client.get(f"{BASE}/cases"), field="number", value=a.number)
    client.force_login(make_staff("street_admin", tree.street))
    body = client.get(f"{BASE}/cases?state=submitted&category=manhole").json()
    assert {c["number"] for c in body["items"]} == {a.number, b.number}
    assert client.get(f"{BASE}/cases?state=closed").json()["count"] == 0
    assert client.get(f"{BASE}/cases?state=closed,submitted&jurisdiction={tree.community.code}").json()["count"] == 1
    assert client.get(f"{BASE}/cases?overdue=true").json()["count"] == 0
    assert client.get(f"{BASE}/cases?overdue=false&q={a.number}").json()["items"][0]["number"] == a.number
    assert client.get(f"{BASE}/cases?assignee=me").json()["count"] == 0


def test_staff_detail_matrix_audited_masked(client, tree, cat, admin, other_admin):
    worker = make_worker(phone="13912345678", display_name="张三丰")
    case = make_case(category=cat, jurisdiction=tree.grid, reporter=worker)
    url = f"{BASE}/cases/{case.number}"
    check_matrix(client, "get", url, wrong_role=make_worker(), wrong_jurisdiction=other_admin)
    client.force_login(admin)
    before = AuditLog.objects.filter(action="read").count()
    resp = client.get(url)
    assert resp.status_code == 200
    body = resp.json()
    assert body["reporter"] == "张三丰" and body["reporter_phone"] == "139****5678"
    assert "13912345678" not in resp.content.decode()
    assert [e["action"] for e in body["timeline"]][0] == "submit"
    assert set(body["actions"]) >= {"accept", "reject"}
    assert AuditLog.objects.filter(action="read").count() == before + 1
    assert_error(client.get(f"{BASE}/cases/19990101-000000"), 404, "case_not_found")


# ---- actions -------------------------------------------------------------------------------------------------


def test_accept_matrix(client, tree, cat, admin, other_admin):
    case = make_case(category=cat, jurisdiction=tree.grid)
    resp = check_matrix(
        client, "post", f"{BASE}/cases/{case.number}/actions/accept", {"note": "立案"},
        wrong_role=[make_worker(), make_staff("grid_worker", tree.grid)], wrong_jurisdiction=other_admin,
        allowed=admin, wrong_role_status=(403, 404), snapshot=cases_snapshot,
    )
    assert resp.json()["state"] == "accepted" and "dispatch" in resp.json()["actions"]


def test_action_bad_input_changes_nothing(client, tree, cat, admin):
    case = make_case(category=cat, jurisdiction=tree.grid)
    client.force_login(admin)
    url = f"{BASE}/cases/{case.number}/actions"
    before = cases_snapshot()
    assert_error(api_json(client, "post", f"{url}/reject", {}), 400, "reason_required", "note")
    assert_error(api_json(client, "post", f"{url}/handle", {"note": "x"}), 409, "invalid_transition")
    assert_error(api_json(client, "post", f"{url}/fly", {}), 400, "unknown_action", "action")
    assert_error(api_json(client, "post", f"{url}/escalate", {}), 400, "unknown_action", "action")
    assert_error(api_json(client, "post", f"{url}/accept", {"assignee": 999999}), 400, "invalid_assignee")
    assert_error(api_json(client, "post", f"{BASE}/cases/19990101-000000/actions/accept", {}), 404, "case_not_found")
    assert cases_snapshot() == before


def test_handler_flow_with_after_photo(client, tree, cat):
    case = make_case_in("dispatched", category=cat, jurisdiction=tree.grid)
    handler = case_handler(case)
    url = f"{BASE}/cases/{case.number}/actions"
    # a grid worker of another grid cannot act on this case
    outsider = make_staff("grid_worker", tree.grids[1])
    client.force_login(outsider)
    before = cases_snapshot()
    assert_error(api_json(client, "post", f"{url}/start", {}), (403, 404))
    assert cases_snapshot() == before
    client.force_login(handler)
    assert api_json(client, "post", f"{url}/start", {"note": "已签收"}).json()["state"] == "in_progress"
    before = cases_snapshot()
    assert_error(client.post(f"{url}/handle", {"note": "修好了"}), 400, "photo_required", "photos")
    assert cases_snapshot() == before
    resp = client.post(f"{url}/handle", {"note": "修好了", "photos": [photo_upload()]})
    assert resp.status_code == 200, resp.content
    assert resp.json()["state"] == "handled" and any(p["stage"] == "after" for p in resp.json()["photos"])


def test_reporter_confirms_and_rates_closed_case_locked(client, tree, cat):
    reporter = make_worker()
    case = make_case_in("handled", category=cat, jurisdiction=tree.grid, reporter=reporter)
    url = f"{BASE}/cases/{case.number}/actions"
    client.force_login(make_worker())  # not the reporter, not staff
    assert_error(api_json(client, "post", f"{url}/confirm", {}), (403, 404))
    client.force_login(reporter)
    resp = api_json(client, "post", f"{url}/confirm", {"note": "已修好"})
    assert resp.status_code == 200 and resp.json()["state"] == "verified"
    body = resp.json()  # the reporter sees no staff names and only the public timeline
    assert body["assignee"] is None and body["actions"] == []
    assert {e["actor"] for e in body["timeline"] if e["action"] not in ("submit", "confirm")} == {""}
    assert all(e["is_public"] for e in body["timeline"])
    dispatcher = case_dispatcher(case)
    client.force_login(dispatcher)
    assert api_json(client, "post", f"{url}/close", {}).json()["state"] == "closed"
    client.force_login(reporter)
    before = cases_snapshot()
    for bad in (0, 6, 4.5, "x"):
        assert_error(api_json(client, "post", f"{url}/evaluate", {"rating": bad}), 400, "invalid_rating", "rating")
    assert cases_snapshot() == before
    resp = api_json(client, "post", f"{url}/evaluate", {"rating": 5, "note": "很快"})
    assert resp.json()["state"] == "evaluated" and resp.json()["rating"] == 5
    # a closed case cannot be edited
    client.force_login(dispatcher)
    before = cases_snapshot()
    assert_error(api_json(client, "post", f"{url}/accept", {}), 409, "invalid_transition")
    assert_error(api_json(client, "post", f"{url}/park", {"note": "x"}), 409, "invalid_transition")
    assert cases_snapshot() == before


def test_dispatch_and_merge(client, tree, cat, admin):
    case = make_case_in("accepted", category=cat, jurisdiction=tree.grid)
    dept = case_department(case)
    make_handler(dept)
    client.force_login(admin)
    resp = api_json(client, "post", f"{BASE}/cases/{case.number}/actions/dispatch", {"department": dept.code})
    assert resp.status_code == 200, resp.content
    assert resp.json()["state"] == "dispatched" and resp.json()["department"]["code"] == dept.code
    dup = make_case(category=cat, jurisdiction=tree.grid)
    resp = api_json(client, "post", f"{BASE}/cases/{dup.number}/actions/merge", {"into": case.number})
    assert resp.status_code == 200 and resp.json()["state"] == "merged" and resp.json()["merged_into"] == case.number


def test_support(client, tree, cat):
    case = make_case(category=cat, jurisdiction=tree.grid)
    url = f"{BASE}/cases/{case.number}/support"
    assert_error(api_json(client, "post", url, {}), 401, "not_authenticated")
    client.force_login(make_worker())
    assert api_json(client, "post", url, {}).json() == {"number": case.number, "supporter_count": 1}
    assert api_json(client, "post", url, {}).json()["supporter_count"] == 1  # idempotent
    assert_error(api_json(client, "post", f"{BASE}/cases/19990101-000000/support", {}), 404, "case_not_found")


def test_bulk_dispatch_all_or_nothing(client, tree, cat, admin):
    a = make_case_in("accepted", category=cat, jurisdiction=tree.grid)
    b = make_case_in("accepted", category=cat, jurisdiction=tree.grids[1])
    outside = make_case_in("accepted", category=cat, jurisdiction=tree.grids[2])  # community B
    dept = case_department(a)
    make_handler(dept)
    url = f"{BASE}/cases/bulk-dispatch"
    check_matrix(client, "post", url, {"numbers": [a.number]}, wrong_role=make_worker(), snapshot=cases_snapshot)
    client.force_login(admin)
    before = cases_snapshot()
    resp = api_json(client, "post", url, {"numbers": [a.number, outside.number], "department": dept.code})
    assert_error(resp, 403, "out_of_jurisdiction")
    assert_error(api_json(client, "post", url, {"numbers": []}), 400, "bulk_empty")
    assert cases_snapshot() == before
    resp = api_json(client, "post", url, {"numbers": [a.number, b.number], "department": dept.code})
    assert resp.status_code == 200, resp.content
    assert resp.json()["count"] == 2 and {c["state"] for c in resp.json()["items"]} == {"dispatched"}


def test_inbox(client, tree, cat):
    case = make_case_in("dispatched", category=cat, jurisdiction=tree.grid)
    handler = case_handler(case)
    check_matrix(client, "get", f"{BASE}/inbox", wrong_role=make_worker())
    client.force_login(handler)
    assert [c["number"] for c in client.get(f"{BASE}/inbox").json()["items"]] == [case.number]
    client.force_login(make_staff("grid_worker", tree.grids[2]))
    assert client.get(f"{BASE}/inbox").json()["count"] == 0


# ---- photos ---------------------------------------------------------------------------------------------------


def test_photo_approve_unpublish_matrix(client, tree, cat, admin, other_admin):
    case = make_case(category=cat, jurisdiction=tree.grid, photos=[photo_upload()])
    photo = case.photos.get()

    def snap():
        return list(CasePhoto.objects.values("pk", "approved_at", "public_image", "redactions"))

    resp = check_matrix(client, "post", f"{BASE}/photos/{photo.pk}/approve", {"redactions": [[0.1, 0.1, 0.2, 0.2]]},
                        wrong_role=[make_worker(), make_staff("grid_worker", tree.grid)],
                        wrong_jurisdiction=other_admin, allowed=admin, snapshot=snap)
    assert resp.json()["approved"] is True
    body = client.get(f"{BASE}/cases/public/{case.number}").json()
    assert len(body["photos"]) == 1
    client.force_login(admin)
    before = snap()
    resp = api_json(client, "post", f"{BASE}/photos/{photo.pk}/approve", {"redactions": [[0.5, 0.5, 0.9, 0.9]]})
    assert_error(resp, 400, "invalid_redaction")
    assert snap() == before
    resp = check_matrix(client, "post", f"{BASE}/photos/{photo.pk}/unpublish", {}, wrong_role=make_worker(),
                        wrong_jurisdiction=other_admin, allowed=admin, snapshot=snap)
    assert resp.json()["approved"] is False
    assert_error(api_json(client, "post", f"{BASE}/photos/999999/approve", {}), 404, "photo_not_found")


# ---- setup ------------------------------------------------------------------------------------------------------


HOURS = {"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]], "wed": [["09:00", "17:00"]],
         "thu": [["09:00", "17:00"]], "fri": [["09:00", "17:00"]], "sat": [], "sun": []}


def test_calendar_matrix(client, tree, admin, district_admin):
    url = f"{BASE}/calendars/{tree.district.code}"
    body = check_matrix(client, "get", url, wrong_role=make_worker(),
                        wrong_jurisdiction=make_staff("community_admin", tree.far_community), allowed=admin).json()
    assert body["own"] is False and body["source"] is None and body["hours"]["sat"] == []

    def snap():
        return list(WorkCalendar.objects.values()), list(WorkCalendar.objects.values("days__date"))

    data = {"hours": HOURS, "days": [{"date": "2026-10-01", "is_workday": False, "intervals": [], "note": "国庆节"}]}
    resp = check_matrix(client, "put", url, data, wrong_role=[make_worker(), admin],
                        wrong_jurisdiction=make_staff("district_admin", tree.other_district),
                        allowed=district_admin, snapshot=snap)
    body = resp.json()
    assert body["own"] is True and body["hours"]["mon"] == [["09:00", "17:00"]]
    assert body["days"][0]["date"] == "2026-10-01"
    client.force_login(admin)  # a community inherits its district's calendar
    body = client.get(f"{BASE}/calendars/{tree.community.code}").json()
    assert body["own"] is False and body["source"] == tree.district.code
    client.force_login(district_admin)
    assert_error(api_json(client, "put", url, {"hours": {"mon": [["25:00", "26:00"]]}}), 400)
    assert_error(client.get(f"{BASE}/calendars/NOPE"), 400, "unknown_jurisdiction", "jurisdiction")


def test_departments_matrix(client, tree, admin, district_admin):
    make_department(jurisdiction=tree.district, code="urban")
    make_department(jurisdiction=tree.other_district, code="water", name="水务局")
    check_matrix(client, "get", f"{BASE}/departments", wrong_role=make_worker())
    client.force_login(admin)  # a community dispatcher sees its district's departments, not another district's
    body = client.get(f"{BASE}/departments").json()
    assert [d["code"] for d in body["items"]] == ["urban"]

    def snap():
        return list(Department.objects.order_by("pk").values())

    data = {"jurisdiction": tree.district.code, "code": "greening", "name": "园林绿化局", "phone": "051266668888"}
    resp = check_matrix(client, "post", f"{BASE}/departments", data, wrong_role=[make_worker(), admin],
                        wrong_jurisdiction=make_staff("district_admin", tree.other_district),
                        allowed=district_admin, allowed_status=201, snapshot=snap)
    assert resp.json()["code"] == "greening" and resp.json()["jurisdiction"]["code"] == tree.district.code
    before = snap()
    assert_error(api_json(client, "post", f"{BASE}/departments", data), 409)
    assert_error(api_json(client, "post", f"{BASE}/departments", {**data, "code": "Bad Code!"}), 400)
    assert snap() == before


def test_reply_templates(client, tree, admin, district_admin):
    def snap():
        return list(ReplyTemplate.objects.order_by("pk").values())

    data = {"action": "reject", "title": "非本辖区", "text": "该问题不属于本辖区，已转交。", "jurisdiction": tree.district.code}
    resp = check_matrix(client, "post", f"{BASE}/reply-templates", data, wrong_role=[make_worker(), admin],
                        wrong_jurisdiction=make_staff("district_admin", tree.other_district),
                        allowed=district_admin, allowed_status=201, snapshot=snap)
    tid = resp.json()["id"]
    resp = api_json(client, "post", f"{BASE}/reply-templates", {**data, "id": tid, "title": "不属于本辖区"})
    assert resp.status_code == 200 and resp.json()["title"] == "不属于本辖区" and ReplyTemplate.objects.count() == 1
    check_matrix(client, "get", f"{BASE}/reply-templates?action=reject", wrong_role=make_worker())
    client.force_login(admin)
    assert [t["id"] for t in client.get(f"{BASE}/reply-templates?action=reject").json()["items"]] == [tid]
    assert client.get(f"{BASE}/reply-templates?action=accept").json()["count"] == 0
    client.force_login(make_staff("community_admin", tree.far_community))
    assert client.get(f"{BASE}/reply-templates?action=reject").json()["count"] == 0
    assert_error(client.get(f"{BASE}/reply-templates?action=fly"), 400, "unknown_action")


# ---- figures ----------------------------------------------------------------------------------------------------


def test_figures_matrix(client, tree, cat, admin):
    make_case_in("closed", category=cat, jurisdiction=tree.grid)
    body = check_matrix(client, "get", f"{BASE}/figures", wrong_role=[make_worker(),
                        make_staff("grid_worker", tree.grid)], allowed=admin).json()
    assert body["totals"]["cases"] == 1 and body["rows"][0]["category"] == "manhole"
    client.force_login(make_staff("community_admin", tree.far_community))
    assert client.get(f"{BASE}/figures").json()["totals"]["cases"] == 0
    check_matrix(client, "get", f"{BASE}/figures.xlsx", wrong_role=make_worker())
    client.force_login(admin)
    resp = client.get(f"{BASE}/figures.xlsx?since=2026-01-01")
    assert resp.status_code == 200 and resp.content[:2] == b"PK"
    assert_error(client.get(f"{BASE}/figures?since=yesterday"), 400, field="since")


def test_figures_xlsx_export_is_audited(client, tree, cat, admin):
    make_case_in("closed", category=cat, jurisdiction=tree.grid)
    client.force_login(admin)
    assert not AuditLog.objects.filter(action="export").exists()
    client.get(f"{BASE}/figures")  # viewing the figures is not an export
    assert not AuditLog.objects.filter(action="export").exists()
    resp = client.get(f"{BASE}/figures.xlsx?since=2026-01-01")
    assert resp.status_code == 200 and resp.content[:2] == b"PK"
    log = AuditLog.objects.get(action="export")
    assert log.object_type == "reports.figures" and log.actor_id == admin.pk
    assert log.changes["since"] == "2026-01-01" and log.changes["cases"] == 1
    # refused downloads write nothing
    client.force_login(make_worker())
    assert client.get(f"{BASE}/figures.xlsx").status_code == 403
    assert AuditLog.objects.filter(action="export").count() == 1


# ---- Open311 clients ----------------------------------------------------------------------------------------------


def test_open311_clients_matrix(client, tree, admin, district_admin):
    def snap():
        return list(Open311Client.objects.order_by("pk").values())

    city_admin = make_staff("city_admin", tree.city)  # keys reach every district: configure on every root
    check_matrix(client, "get", f"{BASE}/open311-clients", wrong_role=[make_worker(), admin],
                 wrong_jurisdiction=district_admin)
    resp = check_matrix(client, "post", f"{BASE}/open311-clients", {"name": "12345热线"},
                        wrong_role=[make_worker(), admin], wrong_jurisdiction=district_admin, allowed=city_admin,
                        allowed_status=201, snapshot=snap)
    body = resp.json()
    assert body["key"].startswith("o311_") and body["name"] == "12345热线" and body["revoked_at"] is None
    assert body["key"] not in json.dumps(snap(), default=str)
    listed = client.get(f"{BASE}/open311-clients").json()
    assert listed["count"] == 1 and "key" not in listed["items"][0]
    assert_error(api_json(client, "post", f"{BASE}/open311-clients", {"name": ""}), 400, "invalid_name", "name")
    url = f"{BASE}/open311-clients/{body['id']}/revoke"
    resp = check_matrix(client, "post", url, {}, wrong_role=[make_worker(), admin], wrong_jurisdiction=district_admin,
                        allowed=city_admin, snapshot=snap)
    assert resp.json()["revoked_at"]
    lat, lng = tree.point(tree.grid)
    make_category("manhole")
    resp = client.post("/open311/v2/requests.json", {"api_key": body["key"], "service_code": "manhole",
                                                      "lat": lat, "long": lng})
    assert resp.status_code == 403 and resp.json()[0]["code"] == 403
    assert_error(api_json(client, "post", f"{BASE}/open311-clients/99999/revoke", {}), 404)


def test_staff_list_due_before_is_a_datetime(client, tree, cat, admin):
    case = make_case(category=cat, jurisdiction=tree.grid)
    client.force_login(admin)
    assert_error(client.get(f"{BASE}/cases?due_before=xyz"), 400, "invalid", "due_before")
    later = (case.stage_due_at + timedelta(minutes=1)).isoformat()
    assert client.get(f"{BASE}/cases", {"due_before": later}).json()["count"] == 1
    assert client.get(f"{BASE}/cases", {"due_before": "2000-01-01T08:00:00"}).json()["count"] == 0
