"""The demo district: built from the seeds, through the services, idempotent."""

import pytest
from django.db.models import F

from yizhan.accounts.models import RoleGrant, User
from yizhan.core.permissions import scope_paths
from yizhan.demo.services import DEMO_PASSWORD, demo_load
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.jurisdictions.selectors import jurisdiction_locate
from yizhan.stations.models import Station, StationSupply
from yizhan.stations.nearby import station_nearby

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(demo_world):
    return demo_world  # loaded once per session (core.testing.shared), rolled back after


# The read-only checks below run in one test; each check names what failed.
def test_demo_world(demo, client):
    check_seed_places()
    check_every_station_locates_to_its_own_community()
    check_demo_logins_work_and_are_scoped(demo, client)
    check_a_worker_near_the_hub_finds_it_first()


def check_seed_places():
    assert Jurisdiction.objects.filter(level="city").count() == 3
    names = set(Station.objects.values_list("name", flat=True))
    for expected in ["东渚街道为民服务中心“悦”新驿站", "普洛斯物流园示范点", "丰茂里商业街示范点", "苏高新软件园示范点",
                     "太湖光子科技园光子初心分站", "山湖湾社区驿站", "彭山社区驿站", "龙惠花园驿站",
                     "“温馨小站”暖心服务驿站", "淞南社区暖“新”驿站", "崇川“小蜜蜂”加油站", "狼山镇街道零工驿站",
                     "盘泗洲社区“红色巴士”"]:
        assert expected in names
    hub = Station.objects.get(type="hub")
    # Science City: 1 hub, 4 demo sites and 11 stations report to it (seed 002)
    assert hub.member_stations.filter(type="demo").count() == 4
    assert hub.member_stations.filter(type="station").count() == 11
    # Xian'an has 120 red stations including the red bus (seed 004)
    assert Station.objects.filter(jurisdiction__path__startswith="/XN/", type__in=["red", "bus"]).count() == 120
    # some stations start below their stock threshold, so keepers have alerts to act on
    assert StationSupply.objects.filter(quantity__lt=F("threshold")).exists()


def check_every_station_locates_to_its_own_community():
    for station in Station.objects.select_related("jurisdiction")[:60]:
        chain = jurisdiction_locate(lat=station.lat, lng=station.lng)
        assert chain, station.code
        assert station.jurisdiction in chain


def check_demo_logins_work_and_are_scoped(demo, client):
    logins = {login.username: login for login in demo.logins}
    assert "demo-district-sz-gx" in logins and "demo-auditor" in logins
    community_admin = User.objects.get(username="demo-community-sz-wz-cn-c01")
    assert scope_paths(community_admin, "stations.manage") == ["/SZ/SZ-WZ/SZ-WZ-CN/SZ-WZ-CN-C01/"]
    resp = client.post("/accounts/login/", {"username": "demo-keeper-st-sz-0001", "password": DEMO_PASSWORD})
    assert resp.status_code == 302
    assert RoleGrant.objects.filter(user__username="demo-auditor", role="auditor").exists()


def check_a_worker_near_the_hub_finds_it_first():
    hub = Station.objects.get(type="hub")
    items = station_nearby(lat=hub.lat, lng=hub.lng, limit=5)
    assert items[0]["code"] == hub.code


def test_loading_twice_changes_nothing(demo):
    counts = (Station.objects.count(), User.objects.count(), RoleGrant.objects.count())
    second = demo_load()
    assert second.stations_created == 0
    assert (Station.objects.count(), User.objects.count(), RoleGrant.objects.count()) == counts
