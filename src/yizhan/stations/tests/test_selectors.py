import pytest

from yizhan.core.errors import NotAuthenticated, OutOfJurisdiction, PermissionDenied
from yizhan.core.testing.factories import make_staff, make_worker
from yizhan.stations import selectors as sel
from yizhan.stations.models import Station
from yizhan.stations.tests.factories import make_keeper, make_station, make_supply

pytestmark = pytest.mark.django_db


def test_staff_get_scoped(tree):
    st = make_station(tree.grid, code="KX-G1")  # a station in a grid of community A
    admin_a = make_staff("community_admin", tree.community)
    assert sel.station_staff_get(actor=admin_a, code="KX-G1") == st
    with pytest.raises(OutOfJurisdiction):
        sel.station_staff_get(actor=make_staff("community_admin", tree.other_community), code="KX-G1")
    with pytest.raises(PermissionDenied):
        sel.station_staff_get(actor=make_worker(), code="KX-G1")
    with pytest.raises(NotAuthenticated):
        sel.station_staff_get(actor=None, code="KX-G1")


def test_staff_list_filters(tree):
    admin = make_staff("street_admin", tree.street)
    make_station(tree.community, code="A-1", amenities=["wifi"])
    make_station(tree.other_community, code="B-1", type="hub")
    gone = make_station(tree.community, code="A-GONE")
    Station.objects.filter(pk=gone.pk).update(status="removed", status_reason="拆除")
    codes = lambda **f: [s.code for s in sel.station_staff_list(actor=admin, filters=f)]  # noqa: E731
    assert codes() == ["A-1", "B-1"]
    assert codes(status="removed") == ["A-GONE"]
    assert codes(type="hub") == ["B-1"]
    assert codes(amenity="wifi") == ["A-1"]
    assert codes(jurisdiction=tree.other_community.code) == ["B-1"]
    assert codes(jurisdiction="NOPE") == []


def test_supplies_low_scoped(tree):
    a, b = make_station(tree.community), make_station(tree.other_community)
    keeper = make_keeper(a)
    low_a = make_supply(a, "water", quantity=1, threshold=5)
    make_supply(a, "masks", quantity=9, threshold=5)
    low_b = make_supply(b, "water", quantity=0, threshold=2)
    assert list(sel.supplies_low(actor=keeper)) == [low_a]
    assert list(sel.supplies_low(actor=make_staff("community_admin", tree.other_community))) == [low_b]
    assert set(sel.supplies_low(actor=make_staff("street_admin", tree.street))) == {low_a, low_b}
    assert list(sel.supplies_low(actor=make_worker())) == []


def test_kept_by(tree):
    a = make_station(tree.community)
    keeper = make_keeper(a)
    make_station(tree.community)
    assert list(sel.stations_kept_by(user=keeper)) == [a]


def test_public_detail_shape(tree):
    st = make_station(tree.community, code="KX-D", hours={"mon": [["08:00", "20:00"]]})
    make_keeper(st, phone="13900001111", display_name="赵站长")
    info = sel.station_public_detail(station=st)
    assert info["keeper_phone"] == "139****1111" and info["keeper_name"] == "赵站长"
    assert [d["day"] for d in info["week"]] == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert info["week"][0]["intervals"] == [["08:00", "20:00"]] and sum(d["today"] for d in info["week"]) == 1


def test_osm_opening_hours():
    week = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    week["sat"] = [["10:00", "16:00"]]
    assert sel.osm_opening_hours(week) == "Mo-Fr 09:00-18:00; Sa 10:00-16:00"
    assert sel.osm_opening_hours({}) == "off"
