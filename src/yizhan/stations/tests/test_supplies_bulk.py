"""stations.services.supplies_bulk_set (the demo loader's bulk path) writes the same rows as
supply_set_threshold then supply_record(kind="adjust") one by one."""

import pytest

from yizhan.core.models import AuditLog, Notification
from yizhan.stations import errors as E
from yizhan.stations import services as svc
from yizhan.stations.models import StationSupply, StockMovement
from yizhan.stations.tests.factories import make_keeper, make_station, make_supply


def _rows(station):
    supplies = list(StationSupply.objects.filter(station=station).order_by("item")
                    .values_list("item", "quantity", "threshold"))
    moves = sorted(StockMovement.objects.filter(supply__station=station)
                   .values_list("supply__item", "kind", "delta", "quantity_after", "note"))
    audits = sorted(AuditLog.objects.filter(summary__startswith=station.code).values_list("summary", "changes"),
                    key=str)
    return supplies, moves, audits


def test_bulk_equals_one_by_one(tree):
    entries = [("water", 5, 12), ("masks", 0, 0), ("umbrellas", 3, 0), ("chargers", 2, 1)]
    one = make_station(tree.community, code="KX-101")
    keeper_one = make_keeper(one)
    for item, threshold, quantity in entries:
        svc.supply_set_threshold(actor=keeper_one, station=one, item=item, threshold=threshold)
        if quantity:
            svc.supply_record(actor=keeper_one, station=one, item=item, kind="adjust", quantity=quantity, note="盘点")
    bulk = make_station(tree.community, code="KX-102")
    keeper_bulk = make_keeper(bulk)
    svc.supplies_bulk_set(actor=keeper_bulk, station=bulk, note="盘点", supplies=[
        {"item": i, "threshold": t, "quantity": q or None} for i, t, q in entries])
    a, b = _rows(one), _rows(bulk)
    assert a[:2] == b[:2]
    assert [(s.replace("KX-101", "KX-102"), c) for s, c in a[2]] == b[2]


def test_bulk_alerts_on_crossing_and_checks_everything_first(tree):
    station = make_station(tree.community, code="KX-103")
    keeper = make_keeper(station)
    make_supply(station, "water", quantity=10, threshold=5)
    with pytest.raises(E.InvalidThreshold):  # all-or-nothing: the valid first entry is not written
        svc.supplies_bulk_set(actor=keeper, station=station, supplies=[
            {"item": "water", "quantity": 2}, {"item": "masks", "threshold": -1}])
    assert StationSupply.objects.get(station=station, item="water").quantity == 10
    assert not StockMovement.objects.exists()
    svc.supplies_bulk_set(actor=keeper, station=station, supplies=[{"item": "water", "quantity": 2}])
    assert StationSupply.objects.get(station=station, item="water").quantity == 2
    assert Notification.objects.get().kind == "stock_low"
