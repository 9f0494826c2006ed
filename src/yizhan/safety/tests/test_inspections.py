"""331 inspections: the result, the follow-up deadline and the hazard case, the
INSPECTION workflow (table, rectify, overdue job), the API and the pages."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from yizhan.core.errors import NotAuthenticated, OutOfJurisdiction, PermissionDenied
from yizhan.core.models import Notification
from yizhan.core.testing.factories import bearer
from yizhan.reports.models import Case
from yizhan.reports.services.setup import category_taxonomy_load
from yizhan.safety import errors as E
from yizhan.safety.models import Inspection
from yizhan.safety.services.inspections import (
    inspection_create,
    inspection_overdue_sweep,
    inspection_rectify,
)
from yizhan.safety.workflow import INSPECTION, INSPECTION_TRANSITIONS

pytestmark = pytest.mark.django_db

ALL = {"extinguisher": True, "escape_rope": True, "smoke_mask": True, "emergency_light": True}
API = "/api/v1/safety/inspections"


@pytest.fixture
def hazards(db):
    category_taxonomy_load(actor=None)


def photo(name="p.jpg", color=(200, 30, 30)) -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buf, "JPEG")
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/jpeg")


def test_all_present_passes_and_is_finished(safety_tree):
    st = safety_tree
    ins = inspection_create(actor=st.grid_worker, place=st.rental_house,
                            rooms=[{"room": "101", **ALL}, {"room": "102", **ALL}], follow_up_due="2099-01-01")
    assert (ins.result, ins.state, ins.follow_up_due, ins.case) == ("passed", "passed", None, None)
    with pytest.raises(E.InvalidInspectionTransition):
        inspection_rectify(actor=st.grid_worker, inspection=ins)


def test_failed_gets_a_deadline_and_a_hazard_case_with_photos(safety_tree, hazards):
    st = safety_tree
    ins = inspection_create(actor=st.grid_worker, place=st.rental_house, flying_wire_charging=True,
                            rooms=[{"room": "101", **ALL, "smoke_mask": False}, {"room": "102", **ALL}],
                            findings="楼道私拉电线", photos=[photo(), photo("q.png")])
    assert ins.result == "failed" and ins.state == "rectifying"
    assert ins.follow_up_due == timezone.localdate() + dt.timedelta(days=7)
    case = Case.objects.get(pk=ins.case_id)
    assert case.category.code == "flying_wire_charging" and case.source == "staff"
    assert (case.lat, case.lng) == (st.rental_house.lat, st.rental_house.lng)
    assert "防烟面罩" in case.description and "飞线充电" in case.description and case.photos.count() == 2
    assert ins.photos.count() == 2 and case.details["building"] == st.building.name
    assert ins.rooms[0] == {"room": "101", **ALL, "smoke_mask": False}


def test_failed_without_a_category_still_stands(safety_tree):
    ins = inspection_create(actor=safety_tree.grid_worker, place=safety_tree.rental_house, garage_sleeping=True)
    assert ins.result == "failed" and ins.case is None and ins.follow_up_due


@pytest.mark.parametrize("kwargs, error", [
    ({"rooms": "101"}, E.InvalidRooms),
    ({"rooms": [{"room": ""}]}, E.InvalidRooms),
    ({"rooms": [{"room": "1"}, {"room": "1"}]}, E.InvalidRooms),
    ({"rooms": [{"room": "1", "extinguisher": "maybe"}]}, E.InvalidRooms),
    ({"rooms": [{"room": str(i)} for i in range(201)]}, E.InvalidRooms),
    ({"garage_sleeping": True, "follow_up_due": "2000-01-01"}, E.InvalidFollowUp),
    ({"garage_sleeping": True, "follow_up_due": "soon"}, E.InvalidFollowUp),
    ({"inspected_at": "2099-01-01T00:00:00"}, E.InvalidInspectionTime),
    ({"findings": "x" * 2001}, E.TextTooLong),
    ({"photos": [SimpleUploadedFile("x.jpg", b"not an image")]}, Exception),
    ({"photos": [photo() for _ in range(10)]}, E.InspectionTooManyPhotos),
    ({"result": "meh"}, E.InvalidRooms),
])
def test_bad_input_writes_nothing(safety_tree, kwargs, error):
    with pytest.raises(error):
        inspection_create(actor=safety_tree.grid_worker, place=safety_tree.rental_house, **kwargs)
    assert not Inspection.objects.exists()


def test_who_may_inspect(safety_tree):
    st = safety_tree
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotAuthenticated):
        inspection_create(actor=AnonymousUser(), place=st.rental_house)
    with pytest.raises(PermissionDenied):
        inspection_create(actor=st.station_member, place=st.rental_house)  # fire_responder: no inspect
    with pytest.raises(OutOfJurisdiction):
        inspection_create(actor=st.grid_worker, place=st.other_place)


def test_workflow_table_is_complete():
    states = {s for s, _a in INSPECTION_TRANSITIONS} | {t.to for t in INSPECTION_TRANSITIONS.values()}
    assert states == {"rectifying", "rectified", "overdue"}
    assert INSPECTION.actions_for("passed", {"inspector", "manager"}) == []
    assert INSPECTION.actions_for("rectifying", {"system"}) == ["expire"]
    assert INSPECTION.actions_for("overdue", {"inspector"}) == ["rectify"]


def test_overdue_job_then_rectify(safety_tree):
    st = safety_tree
    ins = inspection_create(actor=st.grid_worker, place=st.rental_house, escape_routes_clear=False,
                            follow_up_due=timezone.localdate() + dt.timedelta(days=2))
    assert inspection_overdue_sweep(today=timezone.localdate()) == 0
    assert inspection_overdue_sweep(today=ins.follow_up_due + dt.timedelta(days=1)) == 1
    ins.refresh_from_db()
    assert ins.state == "overdue"
    assert Notification.objects.filter(user=st.grid_worker, kind="safety_inspection_overdue").count() == 1
    assert inspection_overdue_sweep(today=ins.follow_up_due + dt.timedelta(days=2)) == 0  # once
    with pytest.raises(OutOfJurisdiction):
        inspection_rectify(actor=st.other_manager, inspection=ins)
    ins = inspection_rectify(actor=st.manager, inspection=ins, note="已清理通道", photos=[photo()])
    assert ins.state == "rectified" and ins.rectified_at and ins.photos.filter(stage="rectified").count() == 1


def test_api(safety_tree, client, hazards):
    st = safety_tree
    body = {"place": "T-RH-1", "rooms": [{"room": "101", **ALL, "extinguisher": False}]}
    r = client.post(API, body, content_type="application/json", headers=bearer(st.grid_worker))
    assert r.status_code == 201, r.content
    out = r.json()
    assert out["result"] == "failed" and out["state"] == "rectifying" and out["case"] and out["missing_items"] == 1
    assert out["actions"] == ["rectify"]
    assert client.post(API, body, content_type="application/json",
                       headers=bearer(st.station_member)).status_code == 403
    r = client.post(API, {**body, "place": "T-RH-B"}, content_type="application/json",
                    headers=bearer(st.grid_worker))
    assert r.status_code == 404 and r.json()["code"] == "place_not_found"  # outside scope: not even named
    r = client.post(API, {**body, "rooms": [{"room": "1", "extinguisher": 7}]}, content_type="application/json",
                    headers=bearer(st.grid_worker))
    assert r.status_code == 400 and r.json()["field"] == "rooms[0].extinguisher"
    assert Inspection.objects.count() == 1
    r = client.get(API, {"state": "rectifying"}, headers=bearer(st.duty_officer))
    assert r.status_code == 200 and r.json()["count"] == 1
    assert client.get(API, {"state": "x"}, headers=bearer(st.duty_officer)).status_code == 400
    assert client.get(API, headers=bearer(st.other_manager)).json()["count"] == 0
    assert client.get(f"{API}/{out['id']}", headers=bearer(st.other_manager)).status_code == 404
    r = client.post(f"{API}/{out['id']}/rectify", {"note": "补齐灭火器"}, content_type="application/json",
                    headers=bearer(st.grid_worker))
    assert r.status_code == 200 and r.json()["state"] == "rectified"
    r = client.post(f"{API}/{out['id']}/rectify", {"note": ""}, content_type="application/json",
                    headers=bearer(st.grid_worker))
    assert r.status_code == 409


def test_pages(safety_tree, client, hazards):
    st = safety_tree
    client.force_login(st.grid_worker)
    r = client.get("/safety/inspections/new/", {"place": "T-RH-1"})
    text = r.content.decode()
    assert r.status_code == 200 and text.count('name="room-') >= 12 * 5  # 12 rooms, label + 4 items
    r = client.post("/safety/inspections/new/", {"place": "T-RH-1", "room_count": "2", "room-0": "101",
                                                 **{f"room-0-{k}": "1" for k in ALL}, "room-1": "102",
                                                 "room-1-extinguisher": "1", "photos": [photo()]})
    assert r.status_code == 302
    ins = Inspection.objects.get()
    assert ins.result == "failed" and [r["room"] for r in ins.rooms] == ["101", "102"] and ins.photos.count() == 1
    text = client.get(r["Location"]).content.decode()
    assert "不合格" in text and "已整改" in text
    r = client.post("/safety/inspections/new/", {"place": "T-RH-1", "room_count": "1", "room-0": "101",
                                                 "follow_up_due": "1999-01-01", "garage_sleeping": "1"})
    assert r.status_code == 400 and "整改期限" in r.content.decode() and Inspection.objects.count() == 1
    r = client.post(f"/safety/inspections/{ins.pk}/rectify/", {"note": "ok"})
    assert r.status_code == 302
    ins.refresh_from_db()
    assert ins.state == "rectified"
    client.force_login(st.station_member)
    assert client.get("/safety/inspections/new/").status_code == 403
    assert client.get(f"/safety/inspections/{ins.pk}/").status_code == 200
