"""Places, devices and rejects pages: who sees what, filters, the detail with devices."""

from __future__ import annotations

import pytest
from django.utils import timezone

from yizhan.safety.models import IngestReject

pytestmark = pytest.mark.django_db


def test_anonymous_goes_to_login(client):
    for url in ("/safety/places/", "/safety/devices/", "/safety/rejects/", "/safety/inspections/"):
        r = client.get(url)
        assert r.status_code == 302 and "login" in r["Location"]


def test_places_list_and_detail(safety_tree, client):
    st = safety_tree
    client.force_login(st.manager)
    r = client.get("/safety/places/", {"kind": "rental_house"})
    text = r.content.decode()
    assert r.status_code == 200 and "东渚出租房1" in text and "龙惠出租房" not in text and "批量导入" in text
    r = client.get(f"/safety/places/{st.rental_house.pk}/")
    text = r.content.decode()
    assert r.status_code == 200 and "T-SMOKE-1" in text and "13900000001" in text
    assert client.get(f"/safety/places/{st.other_place.pk}/").status_code == 404


def test_responders_see_places_without_landlord_phone(safety_tree, client):
    st = safety_tree
    client.force_login(st.station_member)
    text = client.get(f"/safety/places/{st.rental_house.pk}/").content.decode()
    assert "139****0001" in text and "13900000001" not in text and "批量导入" not in text
    assert client.get("/safety/places/import/").status_code == 403
    assert client.get("/safety/rejects/").status_code == 403


def test_devices_page_filters(safety_tree, client):
    client.force_login(safety_tree.duty_officer)
    text = client.get("/safety/devices/", {"kind": "transmitter"}).content.decode()
    assert "T-UITD-1" in text and "T-SMOKE-1" not in text
    text = client.get(f"/safety/devices/{safety_tree.transmitter.pk}/").content.decode()
    assert "000012345678" in text and "T-POINT-1" in text


def test_rejects_page_and_api(safety_tree, client):
    st = safety_tree
    now = timezone.now()
    IngestReject.objects.bulk_create([
        IngestReject(channel="mqtt", reason="malformed_message", device_code="HZ-1", at=now),
        IngestReject(channel="mqtt", reason="malformed_message", device_code="HZ-2", at=now),
        IngestReject(channel="gb26875", reason="bad_checksum", excerpt="4040", at=now),
    ])
    client.force_login(st.manager)
    text = client.get("/safety/rejects/").content.decode()
    assert "malformed_message" in text and "bad_checksum" in text
    from yizhan.core.testing.factories import bearer

    r = client.get("/api/v1/safety/rejects", headers=bearer(st.manager))
    body = r.json()
    assert r.status_code == 200 and body["total"] == 3
    assert body["counts"][0] == {"channel": "mqtt", "reason": "malformed_message", "count": 2}
    assert len(body["recent"]) == 3
    assert client.get("/api/v1/safety/rejects", headers=bearer(st.duty_officer)).status_code == 403
    assert client.get("/api/v1/safety/rejects", {"hours": 0}, headers=bearer(st.manager)).status_code == 400
