"""The fire-safety demo (seed 000: Hongzhuang's network): counts, HZ-00001, the transmitter,
the responders' logins, the history behind the monthly report, idempotency."""

import pytest

from yizhan.demo.services import DEMO_PASSWORD
from yizhan.jurisdictions.selectors import jurisdiction_locate
from yizhan.safety.choices import DeviceKind, PlaceKind, ResponderKind
from yizhan.safety.demo import GB_ADDRESS, HONGZHUANG, load_demo
from yizhan.safety.models import (
    AlarmEvent,
    AlarmRule,
    AssignmentEvent,
    Device,
    Dispatch,
    Inspection,
    Place,
    Responder,
)
from yizhan.safety.rules_defaults import DEFAULT_RULES

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(demo_world):
    return demo_world  # loaded once per session (core.testing.shared), rolled back after


def test_hongzhuang_network(demo):
    summary = demo.loaded["safety"]
    assert summary.devices >= 11810 and summary.places == Place.objects.count()
    # 11,810 sensors HZ-00001 … HZ-11810 (seed 000), a mix of kinds
    sensors = Device.objects.filter(code__regex=r"^HZ-\d{5}$")
    assert sensors.count() == 11810
    assert Device.objects.filter(code="HZ-11810").exists() and not Device.objects.filter(code="HZ-11811").exists()
    kinds = set(sensors.values_list("kind", flat=True))
    assert kinds == {DeviceKind.SMOKE, DeviceKind.GAS, DeviceKind.ELECTRICAL, DeviceKind.SHED_TEMPERATURE}
    # HZ-00001 is a smoke detector in a rental house (floors, rooms, landlord, tenants)
    first = Device.objects.select_related("place").get(code="HZ-00001")
    assert first.kind == DeviceKind.SMOKE and first.place.kind == PlaceKind.RENTAL_HOUSE
    house = first.place
    assert house.floors and house.rooms and house.tenant_count and house.landlord_name and house.landlord_phone
    # the 24-hour centre, 11 charging sheds, micro fire stations with equipment
    assert Place.objects.filter(kind=PlaceKind.CENTRE).count() == 1
    assert Place.objects.filter(kind=PlaceKind.CHARGING_SHED).count() == 11
    stations = Place.objects.filter(kind=PlaceKind.MICRO_STATION)
    assert stations.count() >= 1 and all(s.equipment for s in stations)
    # the transmitter at the centre with its GB/T 26875.3 address and a few points
    uitd = Device.objects.get(gb_address=GB_ADDRESS)
    assert uitd.kind == DeviceKind.TRANSMITTER and uitd.place.kind == PlaceKind.CENTRE
    assert uitd.components.filter(kind=DeviceKind.COMPONENT).count() >= 3
    # every place lies inside Hongzhuang, and its point locates there
    assert set(Place.objects.values_list("jurisdiction__code", flat=True)) == {HONGZHUANG}
    for place in Place.objects.order_by("code")[::40]:
        chain = jurisdiction_locate(lat=place.lat, lng=place.lng)
        assert chain and HONGZHUANG in [n.code for n in chain], place.code
    # the default rules
    assert AlarmRule.objects.count() == len(DEFAULT_RULES)


def test_responders_on_duty_and_their_logins_work(demo, client):
    members = Responder.objects.filter(kind=ResponderKind.MICRO_STATION).select_related("user", "station")
    assert members.count() >= 4
    for r in members:
        assert r.on_duty and r.lat is not None and r.station.kind == PlaceKind.MICRO_STATION
        assert r.user.role_grants.filter(role="fire_responder", jurisdiction__code=HONGZHUANG).exists()
    logins = {login.username: login for login in demo.logins}
    assert "demo-responder-hz-01" in logins and "demo-duty-sz-wz-cn-c01" in logins
    assert logins["demo-responder-hz-01"].role == "微型消防站队员"
    resp = client.post("/accounts/login/", {"username": "demo-responder-hz-01", "password": DEMO_PASSWORD})
    assert resp.status_code == 302
    assert client.get("/safety/respond/").status_code == 200
    client.logout()
    resp = client.post("/accounts/login/", {"username": "demo-duty-sz-wz-cn-c01", "password": DEMO_PASSWORD})
    assert resp.status_code == 302


def test_history_for_the_monthly_report(demo):
    from yizhan.accounts.models import User
    from yizhan.safety.selectors.dispatch import monthly_report

    dispatches = Dispatch.objects.all()
    assert dispatches.count() >= 30
    for d in dispatches.prefetch_related("assignments"):
        assert d.notified_at <= d.first_ack_at <= d.first_arrived_at <= d.resolved_at, d.pk
        assert d.outcome and d.state == "resolved"
        assert AssignmentEvent.objects.filter(assignment__dispatch=d, action="arrive").exists()
    assert AlarmEvent.objects.filter(action="raise").count() == AlarmEvent.objects.values("alarm").distinct().count()
    latest = dispatches.order_by("-created_at_alarm").first().created_at_alarm
    from yizhan.core.tz import SHANGHAI

    month = latest.astimezone(SHANGHAI).strftime("%Y-%m")
    report = monthly_report(user=User.objects.get(username="demo-duty-sz-wz-cn-c01"), month=month)
    total = report["total"]
    assert total["count"] > 0 and total["on_site_3min_share"] >= 0.8  # seed 000: on site within 3 minutes
    # 331 checks: passed ones, and one failed with a follow-up deadline and its hazard case
    failed = Inspection.objects.get(result="failed")
    assert failed.follow_up_due and failed.case is not None and failed.state == "rectifying"
    assert failed.case.state == "parked"  # 挂账督办 until the follow-up check: no escalation meanwhile
    assert Inspection.objects.filter(result="passed").count() >= 3


def test_loading_again_writes_nothing(demo):
    from yizhan.accounts.models import User

    counts = (Place.objects.count(), Device.objects.count(), Dispatch.objects.count(), AlarmRule.objects.count())
    again = load_demo(admin=User.objects.get(username="admin"))
    assert again.created is False
    assert (Place.objects.count(), Device.objects.count(), Dispatch.objects.count(), AlarmRule.objects.count()) == counts
