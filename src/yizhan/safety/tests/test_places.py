"""Places: services (create / update / disable), the API and its permission matrix."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from yizhan.core.errors import AppError, NotAuthenticated, OutOfJurisdiction, PermissionDenied
from yizhan.core.models import AuditLog
from yizhan.core.testing.factories import bearer, make_staff
from yizhan.safety import errors as E
from yizhan.safety.models import Device, Place
from yizhan.safety.services.places import place_create, place_disable, place_update

pytestmark = pytest.mark.django_db

API = "/api/v1/safety/places"


def _data(st, **extra):
    lat, lng = st.tree.point(st.tree.grid)
    return {"code": "P-NEW-1", "kind": "rental_house", "name": "新出租房", "address": "东渚路 9 号",
            "lat": lat, "lng": lng, "floors": 3, "rooms": 8, "tenant_count": 12, "landlord_name": "李房东",
            "landlord_phone": "+86 139-0000-0002", **extra}


def test_create_locates_the_community_and_audits(safety_tree):
    st = safety_tree
    place = place_create(actor=st.manager, data=_data(st, parent="T-BLD-1"))
    assert place.jurisdiction == st.tree.community  # the community, not the grid it is in
    assert place.parent == st.building and place.landlord_phone == "13900000002" and place.cell
    log = AuditLog.objects.get(object_type="safety.place", object_id=str(place.pk), action="create")
    assert "13900000002" not in str(log.changes) and "李房东" not in str(log.changes)


def test_create_by_label_and_equipment_text(safety_tree):
    st = safety_tree
    place = place_create(actor=st.manager, data=_data(st, code="MS-9", kind="微型消防站",
                                                       equipment="灭火器×10、水带 x2、消防斧"))
    assert place.kind == "micro_station"
    assert place.equipment == [{"item": "灭火器", "count": 10}, {"item": "水带", "count": 2},
                               {"item": "消防斧", "count": 1}]


@pytest.mark.parametrize("change, code, field", [
    ({"kind": "castle"}, "invalid_place_kind", "kind"),
    ({"code": "a b"}, "invalid_code", "code"),
    ({"code": ""}, "required", "code"),
    ({"lat": 95}, "invalid_coordinates", "lat"),
    ({"lat": "x"}, "invalid_coordinates", "lat"),
    ({"floors": -1}, "invalid_number", "floors"),
    ({"floors": 2.5}, "invalid_number", "floors"),
    ({"landlord_phone": "12345"}, "invalid_phone", "landlord_phone"),
    ({"name": "x" * 121}, "text_too_long", "name"),
    ({"parent": "NOPE"}, "invalid_parent_place", "parent"),
    ({"jurisdiction": "NOPE"}, "unknown_jurisdiction", "jurisdiction"),
    ({"lat": 0.0, "lng": 0.0}, "required", "jurisdiction"),
])
def test_bad_input_is_refused_and_writes_nothing(safety_tree, change, code, field):
    st = safety_tree
    before = Place.objects.count()
    with pytest.raises(Exception) as exc:
        place_create(actor=st.manager, data=_data(st, **change))
    assert (exc.value.code, exc.value.field) == (code, field)
    assert Place.objects.count() == before


def test_code_taken(safety_tree):
    with pytest.raises(E.PlaceCodeTaken):
        place_create(actor=safety_tree.manager, data=_data(safety_tree, code="T-RH-1"))


def test_permissions(safety_tree, django_user_model):
    st = safety_tree
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotAuthenticated):
        place_create(actor=AnonymousUser(), data=_data(st))
    with pytest.raises(PermissionDenied):
        place_create(actor=st.grid_worker, data=_data(st))  # inspects, does not manage
    with pytest.raises(OutOfJurisdiction):
        place_create(actor=st.other_manager, data=_data(st))
    with pytest.raises(OutOfJurisdiction):
        place_update(actor=st.other_manager, place=st.rental_house, data={"name": "x"})
    # moving a place out of one's own jurisdiction is refused too
    with pytest.raises(OutOfJurisdiction):
        place_update(actor=st.manager, place=st.rental_house, data={"jurisdiction": st.tree.far_community.code})


def test_update_moves_devices_and_disable_disables_them(safety_tree):
    st = safety_tree
    street_admin = make_staff("street_admin", st.tree.street)
    place = place_update(actor=street_admin, place=st.rental_house,
                         data={"jurisdiction": st.tree.other_community.code, "code": "IGNORED", "tenant_count": 25})
    assert place.code == "T-RH-1" and place.tenant_count == 25
    assert set(Device.objects.filter(place=place).values_list("jurisdiction", flat=True)) == {st.tree.other_community.pk}
    assert place_update(actor=street_admin, place=place, data={"tenant_count": 25}) == place  # no change, no audit
    place = place_disable(actor=street_admin, place=place)
    assert not place.active
    assert set(Device.objects.filter(place=place).values_list("status", flat=True)) == {"disabled"}


# ---- API -------------------------------------------------------------------------------


def test_api_list_is_scoped_and_filters(safety_tree, client):
    st = safety_tree
    r = client.get(API, headers=bearer(st.manager))
    assert r.status_code == 200
    codes = {p["code"] for p in r.json()["items"]}
    assert "T-RH-1" in codes and "T-RH-B" not in codes
    r = client.get(API, {"kind": "rental_house", "q": "东渚"}, headers=bearer(st.manager))
    assert [p["code"] for p in r.json()["items"]] == ["T-RH-1"]
    item = r.json()["items"][0]
    assert item["device_count"] == 2 and item["kind_label"] == "出租房"
    assert client.get(API).status_code == 401
    assert client.get(API, headers=bearer(st.station_member)).status_code == 200  # safety.view


def test_api_detail_shows_devices_and_hides_landlord_from_responders(safety_tree, client):
    st = safety_tree
    r = client.get(f"{API}/{st.rental_house.pk}", headers=bearer(st.manager))
    assert r.status_code == 200
    body = r.json()
    assert body["landlord_phone"] == "13900000001"
    assert {d["code"] for d in body["devices"]} == {"T-SMOKE-1", "T-GAS-1"}
    r = client.get(f"{API}/{st.rental_house.pk}", headers=bearer(st.station_member))
    assert r.status_code == 200 and r.json()["landlord_phone"] == "139****0001"
    assert client.get(f"{API}/{st.other_place.pk}", headers=bearer(st.manager)).status_code == 404
    assert client.get(f"{API}/999999999", headers=bearer(st.manager)).status_code == 404


def test_api_create_update_and_errors(safety_tree, client):
    st = safety_tree
    data = _data(st)
    r = client.post(API, data, content_type="application/json", headers=bearer(st.manager))
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    r = client.patch(f"{API}/{pk}", {"name": "改名"}, content_type="application/json", headers=bearer(st.manager))
    assert r.status_code == 200 and r.json()["name"] == "改名"
    r = client.post(API, {**data, "code": "P-2", "lat": 91}, content_type="application/json",
                    headers=bearer(st.manager))
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_coordinates" and r.json()["field"] == "lat" and r.json()["message"]["en"]
    assert not Place.objects.filter(code="P-2").exists()
    r = client.post(API, {**data, "code": "P-3"}, content_type="application/json", headers=bearer(st.grid_worker))
    assert r.status_code == 403
    r = client.post(API, {**data, "code": "P-4"}, content_type="application/json", headers=bearer(st.other_manager))
    assert r.status_code == 403 and r.json()["code"] == "out_of_jurisdiction"
    r = client.patch(f"{API}/{st.other_place.pk}", {"name": "x"}, content_type="application/json",
                     headers=bearer(st.manager))
    assert r.status_code == 404
    r = client.post(f"{API}/{pk}/disable", content_type="application/json", headers=bearer(st.manager))
    assert r.status_code == 200 and r.json()["active"] is False


# ---- wide input ------------------------------------------------------------------------

VALUES = hs.one_of(hs.none(), hs.booleans(), hs.integers(), hs.floats(), hs.text(max_size=80),
                   hs.lists(hs.dictionaries(hs.text(max_size=5), hs.integers()), max_size=3))
KEYS = hs.sampled_from(["kind", "name", "address", "lat", "lng", "jurisdiction", "parent", "floors", "rooms",
                        "tenant_count", "landlord_name", "landlord_phone", "charging_points", "equipment", "phone",
                        "notes"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(hs.dictionaries(KEYS, VALUES, max_size=5))
def test_any_input_is_a_place_or_an_app_error(safety_tree, data):
    before = Place.objects.count()
    try:
        place = place_create(actor=safety_tree.manager, data={**_data(safety_tree), **data, "code": "HYP-1"})
    except AppError as err:
        assert err.message.zh and err.message.en and err.status < 500
        assert Place.objects.count() == before
    else:
        place.delete()
