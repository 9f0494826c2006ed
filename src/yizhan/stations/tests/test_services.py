import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from yizhan.core.errors import NotAuthenticated, OutOfJurisdiction, PermissionDenied
from yizhan.core.models import AuditLog, Notification
from yizhan.core.testing.factories import make_jurisdiction_tree, make_staff, make_worker
from yizhan.stations import errors as E
from yizhan.stations import services as svc
from yizhan.stations.models import CheckIn, Station, StationKeeper, StationSupply, StockMovement
from yizhan.stations.qr import qr_token_for
from yizhan.stations.tests.factories import make_keeper, make_station, make_supply

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(tree):
    return make_staff("community_admin", tree.community)


@pytest.fixture
def station(tree):
    return make_station(tree.community, code="KX-001")


@pytest.fixture
def keeper(station):
    return make_keeper(station)


def station_data(tree, **over):
    lat, lng = tree.point(tree.community)
    data = {"code": "KX-100", "name": "东渚驿站", "address": "石阳路 18 号", "lat": lat, "lng": lng,
            "jurisdiction": tree.community.code, "amenities": ["wifi", "手机充电"],
            "hours": {"mon": [["08:00", "20:00"]]}}
    data.update(over)
    return data


# ---- stations ---------------------------------------------------------------------


def test_create_station_with_audit(tree, admin):
    st = svc.station_create(actor=admin, data=station_data(tree))
    assert st.status == "open" and st.cell and st.jurisdiction == tree.community
    assert st.amenities == ["phone_charging", "wifi"]  # label accepted, choices order
    log = AuditLog.objects.get(object_type="stations.station", object_id=str(st.pk))
    assert log.action == "create" and log.actor == admin and log.jurisdiction_path == tree.community.path


def test_create_denied(tree, admin):
    keeper_only = make_staff("keeper", tree.community)
    with pytest.raises(PermissionDenied) as exc:
        svc.station_create(actor=keeper_only, data=station_data(tree))
    assert exc.value.code == "permission_denied"
    with pytest.raises(OutOfJurisdiction):
        svc.station_create(actor=admin, data=station_data(tree, jurisdiction=tree.other_community.code))
    with pytest.raises(NotAuthenticated):
        svc.station_create(actor=None, data=station_data(tree))
    assert not Station.objects.exists() and not AuditLog.objects.filter(object_type="stations.station").exists()


@pytest.mark.parametrize("over, code, field", [
    ({"lat": 95}, "invalid_coordinates", "lat"),
    ({"lng": "east"}, "invalid_coordinates", "lat"),
    ({"amenities": ["jacuzzi"]}, "unknown_amenity", "amenities"),
    ({"code": "bad code!"}, "invalid_code", "code"),
    ({"name": "  "}, "required", "name"),
    ({"type": "castle"}, "invalid_type", "type"),
    ({"jurisdiction": "NOWHERE"}, "unknown_jurisdiction", "jurisdiction"),
    ({"hub": "KX-001"}, "invalid_hub", "hub"),  # KX-001 exists but is not a hub
])
def test_create_bad_input(tree, admin, station, over, code, field):
    with pytest.raises(E.ValidationError) as exc:
        svc.station_create(actor=admin, data=station_data(tree, **over))
    assert (exc.value.code, exc.value.field) == (code, field)
    assert Station.objects.count() == 1


def test_create_duplicate_code(tree, admin, station):
    with pytest.raises(E.StationCodeTaken) as exc:
        svc.station_create(actor=admin, data=station_data(tree, code="KX-001"))
    assert exc.value.status == 409 and exc.value.field == "code"


def test_update_partial_and_audited(tree, admin, station):
    hub = make_station(tree.community, code="HUB-1", type="hub")
    st = svc.station_update(actor=admin, station=station, data={"name": "新名字", "hub": "HUB-1", "code": "X"})
    assert (st.name, st.hub, st.code) == ("新名字", hub, "KX-001")
    log = AuditLog.objects.filter(action="update", object_id=str(station.pk)).get()
    assert log.changes["name"][1] == "新名字" and log.changes["hub"] == [None, "HUB-1"]


def test_update_cannot_move_out_of_scope(tree, admin, station):
    with pytest.raises(OutOfJurisdiction):
        svc.station_update(actor=admin, station=station, data={"jurisdiction": tree.other_community.code})
    station.refresh_from_db()
    assert station.jurisdiction == tree.community


def test_other_community_admin_cannot_update(tree, station):
    other = make_staff("community_admin", tree.other_community)
    with pytest.raises(OutOfJurisdiction):
        svc.station_update(actor=other, station=station, data={"name": "x"})
    street = make_staff("street_admin", tree.street)
    assert svc.station_update(actor=street, station=station, data={"name": "街道改名"}).name == "街道改名"


def test_set_status(tree, admin, station):
    with pytest.raises(E.ReasonRequired):
        svc.station_set_status(actor=admin, station=station, status="removed")
    with pytest.raises(E.InvalidStatus):
        svc.station_set_status(actor=admin, station=station, status="gone")
    st = svc.station_set_status(actor=admin, station=station, status="closed", reason="装修")
    assert (st.status, st.status_reason) == ("closed", "装修")
    st = svc.station_set_status(actor=admin, station=st, status="open")
    assert (st.status, st.status_reason) == ("open", "")
    with pytest.raises(E.StatusUnchanged):
        svc.station_set_status(actor=admin, station=st, status="open")


def test_keeper_assign_grants_role_and_remove_revokes(tree, admin, station):
    from yizhan.accounts.models import RoleGrant
    from yizhan.core.testing.factories import make_user

    user = make_user(phone="13912340000")
    link = svc.station_keeper_assign(actor=admin, station=station, user=user)
    assert link.is_primary
    assert RoleGrant.objects.filter(user=user, role="keeper", jurisdiction=tree.community).exists()
    svc.station_keeper_remove(actor=admin, station=station, user=user)
    assert not StationKeeper.objects.filter(user=user).exists()
    assert not RoleGrant.objects.filter(user=user, role="keeper").exists()
    with pytest.raises(E.KeeperNotFound):
        svc.station_keeper_remove(actor=admin, station=station, user=user)


# ---- stock --------------------------------------------------------------------------


def test_take_and_restock(station, keeper):
    supply = svc.supply_record(actor=keeper, station=station, item="water", kind="restock", quantity=12)
    assert supply.quantity == 12
    supply = svc.supply_record(actor=keeper, station=station, item="water", kind="take", quantity=5, note="高温")
    assert supply.quantity == 7
    moves = list(StockMovement.objects.filter(supply=supply).order_by("id").values_list("kind", "delta", "quantity_after"))
    assert moves == [("restock", 12, 12), ("take", -5, 7)]
    assert AuditLog.objects.filter(object_type="stations.stationsupply", action="update").count() == 2


def test_adjust_sets_absolute_count(station, keeper):
    make_supply(station, "masks", quantity=30)
    supply = svc.supply_record(actor=keeper, station=station, item="masks", kind="adjust", quantity=22)
    assert supply.quantity == 22
    assert StockMovement.objects.get(supply=supply).delta == -8
    # counting the same again writes nothing
    svc.supply_record(actor=keeper, station=station, item="masks", kind="adjust", quantity=22)
    assert StockMovement.objects.filter(supply=supply).count() == 1


def test_stock_cannot_go_negative(station, keeper):
    make_supply(station, "water", quantity=3)
    with pytest.raises(E.InsufficientStock) as exc:
        svc.supply_record(actor=keeper, station=station, item="water", kind="take", quantity=4)
    assert exc.value.status == 409 and exc.value.code == "insufficient_stock"
    assert StationSupply.objects.get(station=station, item="water").quantity == 3
    assert not StockMovement.objects.exists()


def test_database_check_forbids_negative_stock(station):
    supply = make_supply(station, "water", quantity=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        StationSupply.objects.filter(pk=supply.pk).update(quantity=-1)


@pytest.mark.parametrize("quantity", [-1, 0, 1.5, "3", True, None, 10**9])
def test_bad_quantities_rejected(station, keeper, quantity):
    make_supply(station, "water", quantity=10)
    with pytest.raises(E.InvalidQuantity) as exc:
        svc.supply_record(actor=keeper, station=station, item="water", kind="take", quantity=quantity)
    assert exc.value.field == "quantity"
    assert StationSupply.objects.get(station=station, item="water").quantity == 10


def test_unknown_item_and_kind(station, keeper):
    with pytest.raises(E.UnknownItem):
        svc.supply_record(actor=keeper, station=station, item="beer", kind="restock", quantity=1)
    with pytest.raises(E.InvalidMovementKind):
        svc.supply_record(actor=keeper, station=station, item="water", kind="steal", quantity=1)
    assert not StationSupply.objects.exists()


def test_threshold_alert_fires_once_on_crossing(station, keeper):
    make_supply(station, "water", quantity=10, threshold=5)
    svc.supply_record(actor=keeper, station=station, item="water", kind="take", quantity=5)  # 5: not below
    assert not Notification.objects.exists()
    svc.supply_record(actor=keeper, station=station, item="water", kind="take", quantity=1)  # 4: crossed
    note = Notification.objects.get()
    assert (note.user, note.kind) == (keeper, "stock_low")
    assert "饮用水" in note.title_zh and "water" in note.title_en
    svc.supply_record(actor=keeper, station=station, item="water", kind="take", quantity=1)  # 3: still below
    assert Notification.objects.count() == 1
    svc.supply_record(actor=keeper, station=station, item="water", kind="restock", quantity=10)
    svc.supply_record(actor=keeper, station=station, item="water", kind="take", quantity=10)  # crosses again
    assert Notification.objects.count() == 2


def test_set_threshold(station, keeper):
    supply = svc.supply_set_threshold(actor=keeper, station=station, item="umbrellas", threshold=3)
    assert (supply.quantity, supply.threshold) == (0, 3)
    for bad in (-1, 2.5, "4"):
        with pytest.raises(E.InvalidThreshold):
            svc.supply_set_threshold(actor=keeper, station=station, item="umbrellas", threshold=bad)


def test_keeper_permissions(tree, station, keeper):
    make_supply(station, "water", quantity=10)
    other_station = make_station(tree.other_community)
    other_keeper = make_keeper(other_station)
    with pytest.raises(OutOfJurisdiction):  # keeper of another community
        svc.supply_record(actor=other_keeper, station=station, item="water", kind="take", quantity=1)
    same_community_not_listed = make_keeper(make_station(tree.community))
    with pytest.raises(OutOfJurisdiction):
        svc.supply_record(actor=same_community_not_listed, station=station, item="water", kind="take", quantity=1)
    with pytest.raises(PermissionDenied):
        svc.supply_record(actor=make_worker(), station=station, item="water", kind="take", quantity=1)
    with pytest.raises(OutOfJurisdiction):
        svc.supply_record(actor=make_staff("community_admin", tree.other_community), station=station,
                          item="water", kind="take", quantity=1)
    assert StationSupply.objects.get(station=station).quantity == 10
    admin = make_staff("community_admin", tree.community)  # an admin needs no keeper link
    assert svc.supply_record(actor=admin, station=station, item="water", kind="take", quantity=1).quantity == 9


def test_donation_goes_into_stock(station, keeper):
    d = svc.donation_record(actor=keeper, station=station, giver_kind="merchant", giver_name="好邻居超市",
                            description="矿泉水两箱", item="water", quantity=24)
    assert d.received_on == timezone.localdate() and d.recorded_by == keeper
    supply = StationSupply.objects.get(station=station, item="water")
    assert supply.quantity == 24 and supply.movements.get().kind == "donation"
    with pytest.raises(E.InvalidDonation) as exc:
        svc.donation_record(actor=keeper, station=station, giver_kind="alien", giver_name="x", description="y")
    assert exc.value.field == "giver_kind"
    with pytest.raises(E.InvalidQuantity):
        svc.donation_record(actor=keeper, station=station, giver_kind="resident", giver_name="李阿姨",
                            description="雨伞", item="umbrellas", quantity=0)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="real row locks need PostgreSQL")
def test_concurrent_takes_never_go_negative():
    tree = make_jurisdiction_tree(prefix="CC")
    station = make_station(tree.community)
    keeper = make_keeper(station)
    make_supply(station, "water", quantity=5)
    results = []

    def take():
        try:
            svc.supply_record(actor=keeper, station=station, item="water", kind="take", quantity=1)
            results.append("ok")
        except E.InsufficientStock:
            results.append("short")
        finally:
            connection.close()

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 5 and results.count("short") == 3
    assert StationSupply.objects.get(station=station).quantity == 0


# ---- check-ins ----------------------------------------------------------------------


def test_checkin_counts_once_within_window(station):
    worker = make_worker()
    token = qr_token_for(station=station)
    first = svc.checkin_create(actor=worker, token=token)
    assert first.counted and first.station.visit_count == 1
    again = svc.checkin_create(actor=worker, token=token)
    assert not again.counted and again.station.visit_count == 1
    assert CheckIn.objects.filter(user=worker).count() == 2
    # 31 minutes later it counts again
    CheckIn.objects.filter(user=worker).update(at=timezone.now() - timedelta(minutes=31))
    later = svc.checkin_create(actor=worker, token=token)
    assert later.counted and later.station.visit_count == 2
    # another worker is counted independently
    assert svc.checkin_create(actor=make_worker(), token=token).counted


def test_checkin_rejects_bad_tokens_and_anonymous(station):
    from django.contrib.auth.models import AnonymousUser

    yesterday = qr_token_for(station=station, day=timezone.localdate() - timedelta(days=1))
    with pytest.raises(E.QrExpired):
        svc.checkin_create(actor=make_worker(), token=yesterday)
    with pytest.raises(NotAuthenticated):
        svc.checkin_create(actor=AnonymousUser(), token=qr_token_for(station=station))
    assert not CheckIn.objects.exists()
    station.refresh_from_db()
    assert station.visit_count == 0


# ---- condition reports ----------------------------------------------------------


def test_condition_report_alerts_keeper_and_confirms(station, keeper):
    worker = make_worker()
    ci = svc.checkin_create(actor=worker, token=qr_token_for(station=station)).checkin
    report = svc.condition_report_create(actor=worker, station=station, kind="no_hot_water", note="热水器坏了",
                                         checkin=ci)
    station.refresh_from_db()
    assert station.last_confirmed_at is not None and report.checkin == ci
    note = Notification.objects.get(user=keeper)
    assert note.kind == "station_condition" and "没有热水" in note.title_zh
    svc.condition_report_create(actor=worker, station=station, kind="all_good")
    assert Notification.objects.count() == 1  # "all good" confirms without alerting


def test_condition_report_bad_input(station):
    worker, other = make_worker(), make_worker()
    with pytest.raises(E.UnknownConditionKind):
        svc.condition_report_create(actor=worker, station=station, kind="aliens")
    ci = svc.checkin_create(actor=other, token=qr_token_for(station=station)).checkin
    with pytest.raises(E.InvalidCheckIn):
        svc.condition_report_create(actor=worker, station=station, kind="dirty", checkin=ci)
    with pytest.raises(E.TextTooLong):
        svc.condition_report_create(actor=worker, station=station, kind="other", note="长" * 301)
    assert not station.condition_reports.exists()


def test_resolve_report_once(tree, station, keeper):
    report = svc.condition_report_create(actor=make_worker(), station=station, kind="dirty")
    with pytest.raises(OutOfJurisdiction):
        svc.condition_report_resolve(actor=make_keeper(make_station(tree.other_community)), report=report)
    done = svc.condition_report_resolve(actor=keeper, report=report)
    assert done.resolved_at and done.resolved_by == keeper
    with pytest.raises(E.ReportAlreadyResolved):
        svc.condition_report_resolve(actor=keeper, report=report)


# ---- reviews ----------------------------------------------------------------------


def test_review_averages_on_insert_and_update(station):
    a, b = make_worker(), make_worker()
    svc.review_upsert(actor=a, station=station, rating=5, comment="很好")
    svc.review_upsert(actor=b, station=station, rating=2)
    station.refresh_from_db()
    assert (station.rating_sum, station.rating_count, station.rating) == (7, 2, 3.5)
    svc.review_upsert(actor=b, station=station, rating=4, comment="修好了")
    station.refresh_from_db()
    assert (station.rating_sum, station.rating_count, station.rating) == (9, 2, 4.5)
    assert station.reviews.count() == 2


@pytest.mark.parametrize("rating", [0, 6, 2.5, "5", None, True])
def test_review_bad_rating(station, rating):
    with pytest.raises(E.InvalidRating):
        svc.review_upsert(actor=make_worker(), station=station, rating=rating)
    station.refresh_from_db()
    assert station.rating_count == 0
