"""PIPL export and erasure of the stations app (hooks in stations/privacy.py, run by
accounts.services.account_export / account_delete)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from yizhan.accounts import services as accounts
from yizhan.core.models import AuditLog
from yizhan.core.testing.factories import make_superuser, make_worker
from yizhan.core.testing.privacy import assert_no_path_back, identifiers_of
from yizhan.stations import services as svc
from yizhan.stations.models import (
    CheckIn,
    ConditionReport,
    Donation,
    Station,
    StationKeeper,
    StationPhoto,
    StationReview,
    StockMovement,
)
from yizhan.stations.qr import qr_token_for
from yizhan.stations.tests.factories import make_keeper, make_station

pytestmark = pytest.mark.django_db


@pytest.fixture
def station(tree):
    return make_station(tree.community, code="KX-P01", name="科学城驿站")


@pytest.fixture
def other_station(tree):
    return make_station(tree.other_community, code="KX-P02", name="龙惠驿站")


def jpeg(name="station.jpg") -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(buf, "JPEG")
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/jpeg")


@pytest.fixture
def world(station, other_station):
    """``me`` and ``other`` both check in, report and review at both stations."""
    me = make_worker(display_name="张三")
    other = make_worker(display_name="李四")
    for who, note, comment in ((me, "我的反馈：没有热水", "我的评价：很干净"),
                               (other, "别人的反馈：门锁坏了", "别人的评价：太远")):
        for st in (station, other_station):
            ci = svc.checkin_create(actor=who, token=qr_token_for(station=st)).checkin
            svc.checkin_create(actor=who, token=qr_token_for(station=st))  # a repeat, not counted
            svc.condition_report_create(actor=who, station=st, kind="no_hot_water", note=note, checkin=ci)
            svc.review_upsert(actor=who, station=st, rating=4 if who is me else 2, comment=comment)
    return {"me": me, "other": other}


def test_export_has_my_rows_and_nothing_of_anyone_else(world, station, other_station):
    me = world["me"]
    data = accounts.account_export(actor=me, user=me)
    json.dumps(data, ensure_ascii=False)  # plain JSON

    checkins = data["stations_checkins"]
    assert len(checkins) == 4 == CheckIn.objects.filter(user=me).count()
    assert {c["station"] for c in checkins} == {"KX-P01", "KX-P02"}
    assert sorted(c["counted"] for c in checkins) == [False, False, True, True]
    assert all(c["at"].endswith("+00:00") for c in checkins)

    reports = data["stations_condition_reports"]
    assert [r["note"] for r in reports] == ["我的反馈：没有热水"] * 2
    assert all(r["checkin_at"] and r["created_at"].endswith("+00:00") for r in reports)

    reviews = data["stations_reviews"]
    assert {(r["station"], r["rating"], r["comment"]) for r in reviews} == {
        ("KX-P01", 4, "我的评价：很干净"), ("KX-P02", 4, "我的评价：很干净")}
    assert data["stations_staff_records"] == []

    blob = json.dumps({k: v for k, v in data.items() if k.startswith("stations_")}, ensure_ascii=False)
    for foreign in ("别人的", "李四", world["other"].username, world["other"].phone):
        assert foreign not in blob
    # account_export writes the audit row of the export.
    assert AuditLog.objects.filter(action="export", object_type="accounts.user", object_id=str(me.pk)).count() == 1


def test_keeper_export_lists_keeping_photos_stock_and_donations_without_the_donor(station):
    keeper = make_keeper(station, display_name="王站长")
    svc.supply_record(actor=keeper, station=station, item="water", kind="restock", quantity=12, note="周一补货")
    svc.donation_record(actor=keeper, station=station, giver_kind="resident", giver_name="赵六",
                        description="一箱矿泉水", item="water", quantity=24)
    svc.station_photo_add(actor=keeper, station=station, upload=jpeg(), caption="门口")
    rows = accounts.account_export(actor=keeper, user=keeper)["stations_staff_records"]
    types = sorted(r["type"] for r in rows)
    assert types == ["donation_recorded", "keeper", "photo", "stock_movement", "stock_movement"]
    photo = next(r for r in rows if r["type"] == "photo")
    assert photo["file"].endswith(".jpg") and "/" not in photo["file"] and photo["caption"] == "门口"
    assert any(r.get("note") == "周一补货" for r in rows)
    assert "赵六" not in json.dumps(rows, ensure_ascii=False)


def test_delete_drops_checkins_blanks_reviews_and_keeps_counts(world, station, other_station):
    me, other = world["me"], world["other"]
    before = {s.pk: (s.visit_count, s.rating_sum, s.rating_count) for s in Station.objects.all()}
    assert before[station.pk] == (2, 6, 2)
    my_reports = list(ConditionReport.objects.filter(user=me).values_list("pk", flat=True))
    my_reviews = list(StationReview.objects.filter(user=me).values_list("pk", flat=True))
    names = identifiers_of(me)

    accounts.account_delete(actor=me, user=me)

    # Check-ins gone; visit counts and ratings unchanged.
    assert not CheckIn.objects.filter(user=me).exists()
    after = {s.pk: (s.visit_count, s.rating_sum, s.rating_count) for s in Station.objects.all()}
    assert after == before
    # Condition reports stay as the station's record, unlinked from person and check-in.
    for report in ConditionReport.objects.filter(pk__in=my_reports):
        assert report.user_id is None and report.checkin_id is None and report.note == "我的反馈：没有热水"
    # Reviews stay, unlinked from the person, comment blank; sum/count = the rows.
    mine = StationReview.objects.filter(pk__in=my_reviews)
    assert mine.count() == 2 and set(mine.values_list("comment", "user")) == {("", None)}
    me.refresh_from_db()
    assert not me.is_active and me.phone is None and me.display_name == "" and me.username == f"deleted_{me.pk}"
    for st in Station.objects.all():
        rows = list(StationReview.objects.filter(station=st).values_list("rating", flat=True))
        assert (st.rating_sum, st.rating_count) == (sum(rows), len(rows))
    from yizhan.stations.selectors import station_public_detail

    detail = station_public_detail(station=Station.objects.get(pk=station.pk))
    assert {r["author"] for r in detail["reviews"]} == {"李*", "匿名用户"}
    assert "张" not in json.dumps([r["author"] for r in detail["reviews"]], ensure_ascii=False)

    # No row of any app points at them or names them (issue 8: the reviews did).
    assert_no_path_back(None, me, identifiers=names)

    # The other person's rows are untouched.
    assert CheckIn.objects.filter(user=other).count() == 4
    assert set(StationReview.objects.filter(user=other).values_list("comment", flat=True)) == {"别人的评价：太远"}
    assert ConditionReport.objects.filter(user=other, checkin__isnull=False).count() == 2

    # Nothing left in the shell's export.
    data = accounts.account_export(actor=make_superuser(), user=me)
    assert data["stations_checkins"] == [] and data["stations_condition_reports"] == []
    assert data["stations_reviews"] == []


def test_delete_keeper_unlinks_staff_traces(station):
    keeper = make_keeper(station)
    svc.supply_record(actor=keeper, station=station, item="water", kind="restock", quantity=5)
    svc.donation_record(actor=keeper, station=station, giver_kind="merchant", giver_name="便利店",
                        description="充电宝")
    photo = svc.station_photo_add(actor=keeper, station=station, upload=jpeg())
    report = svc.condition_report_create(actor=make_worker(), station=station, kind="closed_when_open")
    svc.condition_report_resolve(actor=keeper, report=report)
    names = identifiers_of(keeper)

    accounts.account_delete(actor=keeper, user=keeper)

    assert not StationKeeper.objects.filter(user=keeper).exists()
    assert StationPhoto.objects.get(pk=photo.pk).uploaded_by_id is None
    assert not StockMovement.objects.filter(actor=keeper).exists() and StockMovement.objects.count() == 1
    assert not Donation.objects.filter(recorded_by=keeper).exists() and Donation.objects.count() == 1
    report.refresh_from_db()
    assert report.resolved_by_id is None and report.resolved_at is not None
    assert_no_path_back(None, keeper, identifiers=names)
