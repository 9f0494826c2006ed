"""The responder's pages without a browser: who may open them, the duty switch, a
refused step re-rendered with its message (400) and nothing written, and a hazard
filed from the page with a photo."""

from __future__ import annotations

import pytest

from yizhan.core.testing.factories import make_staff, make_worker
from yizhan.safety.choices import AlarmKind
from yizhan.safety.models import Assignment, Responder
from yizhan.safety.services import dispatch as svc
from yizhan.safety.tests.dispatch_kit import fire_hazard_category, make_alarm, png

pytestmark = pytest.mark.django_db


@pytest.fixture
def call(safety_tree):
    st = safety_tree
    d = svc.dispatch_start(alarm=make_alarm(st.smoke, kind=AlarmKind.SMOKE))
    return st, d, Assignment.objects.get(dispatch=d, responder__user=st.grid_worker)


def test_who_may_open_the_pages(call, client):
    st, d, a = call
    url = f"/safety/respond/{a.pk}/"
    assert client.get("/safety/respond/").status_code == 302  # to the login
    client.force_login(make_worker())
    assert client.get("/safety/respond/").status_code == 403
    client.force_login(st.station_member)  # another responder on the same call
    assert client.get(url).status_code == 403
    client.force_login(make_staff("duty_officer", st.tree.other_community))
    assert client.get(url).status_code == 403
    client.force_login(st.duty_officer)  # the community's duty officer may look (and stand down)
    resp = client.get(url)
    assert resp.status_code == 200 and "撤回此人员" in resp.content.decode()
    client.force_login(st.grid_worker)
    resp = client.get("/safety/respond/")
    html = resp.content.decode()
    assert resp.status_code == 200 and f'data-assignment="{a.pk}"' in html and "东渚出租房1" in html
    resp = client.get(url)
    html = resp.content.decode()
    assert "接警" in html and "出发" in html and "到场" in html and "处置" in html and "撤回此人员" not in html


def test_duty_switch(call, client):
    st, d, a = call
    client.force_login(st.grid_worker)
    resp = client.post("/safety/respond/duty/", {"on_duty": "0"})
    assert resp.status_code == 302 and not Responder.objects.get(user=st.grid_worker).on_duty
    resp = client.post("/safety/respond/duty/", {"on_duty": "1"}, follow=True)
    assert "请提供您当前的位置" in resp.content.decode()  # no position, no station: refused with the message
    assert not Responder.objects.get(user=st.grid_worker).on_duty
    client.post("/safety/respond/duty/", {"on_duty": "1", "lat": "31.326", "lng": "120.375"})
    assert Responder.objects.get(user=st.grid_worker).on_duty
    client.force_login(make_worker())
    assert client.post("/safety/respond/duty/", {"on_duty": "1"}).status_code == 403


def test_a_refused_step_is_shown_and_writes_nothing(call, client):
    st, d, a = call
    h = st.rental_house
    client.force_login(st.grid_worker)
    resp = client.post(f"/safety/respond/{a.pk}/act/", {"action": "arrive", "lat": h.lat + 0.01, "lng": h.lng})
    assert resp.status_code == 400
    html = resp.content.decode()
    assert 'data-code="too_far_from_place"' in html and "无法确认到场" in html
    assert f'value="{h.lat + 0.01}"' in html  # the typed position is kept
    a.refresh_from_db()
    assert a.state == "notified"


def test_hazard_from_the_page_with_a_photo(call, client):
    from yizhan.reports.models import CasePhoto

    st, d, a = call
    fire_hazard_category()
    h = st.rental_house
    client.force_login(st.grid_worker)
    client.post(f"/safety/respond/{a.pk}/act/", {"action": "arrive", "lat": h.lat, "lng": h.lng})
    resp = client.get(f"/safety/respond/{a.pk}/")
    assert "处置结果" in resp.content.decode() and "消防设施缺失损坏" in resp.content.decode()
    resp = client.post(f"/safety/respond/{a.pk}/act/", {"action": "resolve", "outcome": "hazard",
                                                          "category": "fire_equipment", "note": "飞线充电",
                                                          "photos": png()})
    assert resp.status_code == 302
    d.refresh_from_db()
    assert d.outcome == "hazard" and d.case is not None
    assert CasePhoto.objects.filter(case=d.case).count() == 1
    assert d.case.number in client.get(f"/safety/respond/{a.pk}/").content.decode()
