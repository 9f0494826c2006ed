from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import override_settings

from yizhan.core.testing.factories import make_jurisdiction_tree
from yizhan.stations import errors as E
from yizhan.stations.qr import qr_svg, qr_token_for, qr_token_verify, shanghai_today
from yizhan.stations.tests.factories import make_station

pytestmark = pytest.mark.django_db

DAY = date(2024, 5, 1)
NOON_SHANGHAI = datetime(2024, 5, 1, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.fixture
def station():
    tree = make_jurisdiction_tree()
    return make_station(tree.community, code="KX-001")


def test_token_verifies_on_its_day(station):
    token = qr_token_for(station=station, day=DAY)
    assert qr_token_verify(token=token, now=NOON_SHANGHAI) == station
    assert len(token) < 50 and "/" not in token and "=" not in token


def test_token_defaults_to_today(station):
    assert qr_token_verify(token=qr_token_for(station=station)) == station
    assert qr_token_for(station=station) == qr_token_for(station=station, day=shanghai_today())


def test_yesterdays_photo_fails(station):
    token = qr_token_for(station=station, day=DAY - timedelta(days=1))
    with pytest.raises(E.QrExpired) as exc:
        qr_token_verify(token=token, now=NOON_SHANGHAI)
    assert exc.value.code == "qr_expired" and exc.value.status == 400


def test_tomorrows_token_is_not_valid_today(station):
    with pytest.raises(E.QrExpired):
        qr_token_verify(token=qr_token_for(station=station, day=DAY + timedelta(days=1)), now=NOON_SHANGHAI)


def test_day_boundary_is_shanghai_midnight(station):
    token = qr_token_for(station=station, day=DAY)
    # 2024-05-01 23:59 in Shanghai is 15:59 UTC: still valid; 16:00 UTC is the next day there.
    assert qr_token_verify(token=token, now=datetime(2024, 5, 1, 15, 59, tzinfo=UTC)) == station
    with pytest.raises(E.QrExpired):
        qr_token_verify(token=token, now=datetime(2024, 5, 1, 16, 0, tzinfo=UTC))
    # and 00:30 Shanghai on May 1st (16:30 UTC April 30th) is already May 1st
    assert qr_token_verify(token=token, now=datetime(2024, 4, 30, 16, 30, tzinfo=UTC)) == station


def test_rotates_daily(station):
    assert qr_token_for(station=station, day=DAY) != qr_token_for(station=station, day=DAY + timedelta(days=1))


def test_signature_of_another_station_fails(station):
    other = make_station(station.jurisdiction, code="KX-002")
    code_a, day_a, _sig_a = qr_token_for(station=station, day=DAY).split(".")
    _code_b, _day_b, sig_b = qr_token_for(station=other, day=DAY).split(".")
    with pytest.raises(E.QrBadSignature) as exc:
        qr_token_verify(token=f"{code_a}.{day_a}.{sig_b}", now=NOON_SHANGHAI)
    assert exc.value.code == "qr_bad_signature"


def test_changing_the_day_breaks_the_signature(station):
    code, _day, sig = qr_token_for(station=station, day=DAY - timedelta(days=1)).split(".")
    with pytest.raises(E.QrBadSignature):
        qr_token_verify(token=f"{code}.{DAY:%y%m%d}.{sig}", now=NOON_SHANGHAI)


def test_other_secret_fails(station):
    token = qr_token_for(station=station, day=DAY)
    with override_settings(YIZHAN_QR_SECRET="another-secret"), pytest.raises(E.QrBadSignature):
        qr_token_verify(token=token, now=NOON_SHANGHAI)


@pytest.mark.parametrize("token", [
    "", "abc", "a.b.c", "S1gtMDAx.240501", "S1gtMDAx.240501.short",
    "S1gtMDAx.249999." + "A" * 22,  # impossible date
    "!!!.240501." + "A" * 22,
    "S1gtMDAx.240501." + "A" * 22 + ".extra",
    None,
])
def test_malformed(station, token):
    with pytest.raises(E.QrMalformed) as exc:
        qr_token_verify(token=token, now=NOON_SHANGHAI)
    assert exc.value.code == "qr_malformed" and exc.value.field == "token"


def test_unknown_and_removed_station(station):
    from yizhan.stations.models import Station

    ghost = Station(code="NOPE-1")
    with pytest.raises(E.QrUnknownStation) as exc:
        qr_token_verify(token=qr_token_for(station=ghost, day=DAY), now=NOON_SHANGHAI)
    assert exc.value.status == 404 and exc.value.code == "qr_unknown_station"
    Station.objects.filter(pk=station.pk).update(status="removed", status_reason="拆迁")
    with pytest.raises(E.QrUnknownStation):
        qr_token_verify(token=qr_token_for(station=station, day=DAY), now=NOON_SHANGHAI)


def test_non_ascii_code_round_trips():
    tree = make_jurisdiction_tree()
    from yizhan.stations.models import Station

    st = Station(code="驿站-1")  # codes are ASCII by rule, but the token does not care
    with pytest.raises(E.QrUnknownStation):
        qr_token_verify(token=qr_token_for(station=st, day=DAY), now=NOON_SHANGHAI)
    assert tree


def test_svg():
    svg = qr_svg(url="https://yizhan.example/c/abc/")
    assert svg.startswith("<svg") and "</svg>" in svg and "<?xml" not in svg
